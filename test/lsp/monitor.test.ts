// Issue 19 in the editor: the language server validates and completes an
// environment's `monitor:` (every, on_failure, after, checks), speaking the
// protocol to the real server over stdio.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CodeActionRequest,
  CompletionRequest,
  HoverRequest,
  type CompletionItem,
  type Diagnostic,
  type Position,
} from 'vscode-languageserver-protocol/node';
import { LspClient, messageOf, TempWorkspace } from './support/lspClient';

const MANIFEST = `version: 1
pipelines:
  train:
    stages:
      fit:
        run: node fit.js
        outs: [model.json]
        metrics: [metrics.json]
environments:
  production:
    from: workspace
    deploy:
      path: deploy/production
    monitor:
      every: 15m
      on_failure: rollback
      after: 3
      checks:
        - name: probe
          run: node probe.js
          metrics: [monitor/live.json]
          timeout: 30
        - name: latency
          metric: monitor/live.json#p95_ms
          max: 250
        - name: accuracy holds
          metric: monitor/live.json#accuracy
          no_regression: 0.02
          baseline: metrics.json#accuracy
`;

let client: LspClient;
let ws: TempWorkspace;

before(async () => {
  client = await LspClient.start();
  ws = new TempWorkspace();
  ws.write('metrics.json', '{"accuracy": 0.9}\n');
});

after(async () => {
  await client.shutdown();
  ws.cleanup();
});

async function diagnose(text: string): Promise<Diagnostic[]> {
  const uri = ws.uri();
  const diagnostics = await client.openAndWait(uri, text);
  await client.close(uri);
  return diagnostics;
}

function positionOf(text: string, offset: number): Position {
  const before = text.slice(0, offset);
  return { line: before.split('\n').length - 1, character: offset - before.lastIndexOf('\n') - 1 };
}

/** Completion where `|` stands in `replacement`, which replaces `search` in MANIFEST. */
async function completeAt(search: string, replacement: string): Promise<string[]> {
  const text = MANIFEST.replace(search, replacement.replace('|', ''));
  const offset = MANIFEST.indexOf(search) + replacement.indexOf('|');
  const uri = ws.uri();
  await client.openAndWait(uri, text);
  const result = await client.request(CompletionRequest.type, {
    textDocument: { uri },
    position: positionOf(text, offset),
  });
  await client.close(uri);
  const items: CompletionItem[] = Array.isArray(result) ? result : (result?.items ?? []);
  return items.map((item) => item.label).sort();
}

void describe('issue 19: monitor: in the language server', () => {
  void test('a whole monitor section is clean', async () => {
    assert.deepEqual(await diagnose(MANIFEST), []);
  });

  void test('`every: 15 minutes` proposes `15m`, with a quick fix', async () => {
    const text = MANIFEST.replace('every: 15m', 'every: 15 minutes');
    const diagnostics = await diagnose(text);
    assert.equal(diagnostics.length, 1, JSON.stringify(diagnostics));
    const [problem] = diagnostics;
    assert.equal(problem!.code, 'invalid-duration');
    assert.equal(
      messageOf(problem!),
      '`every: 15 minutes` is not a duration: write a number and one of s, m, h, d, here `15m`.',
    );
    const at = text.indexOf('15 minutes');
    assert.deepEqual(problem!.range, {
      start: positionOf(text, at),
      end: positionOf(text, at + '15 minutes'.length),
    });
    const uri = ws.uri();
    await client.openAndWait(uri, text);
    const actions = await client.request(CodeActionRequest.type, {
      textDocument: { uri },
      range: problem!.range,
      context: { diagnostics: [problem!] },
    });
    await client.close(uri);
    const titles = (actions ?? []).map((action) => action.title);
    assert.ok(titles.includes('Change to `15m`'), titles.join(', '));
  });

  void test('`on_failure: revert` lists the choices', async () => {
    const diagnostics = await diagnose(MANIFEST.replace('on_failure: rollback', 'on_failure: revert'));
    assert.equal(diagnostics.length, 1, JSON.stringify(diagnostics));
    assert.match(messageOf(diagnostics[0]!), /`rollback` or `alert`, not `revert`/);
  });

  void test('a metric rule on a file no monitor command writes, and a baseline no stage declares', async () => {
    const diagnostics = await diagnose(
      MANIFEST.replace('metric: monitor/live.json#p95_ms', 'metric: monitor/lve.json#p95_ms').replace(
        'baseline: metrics.json#accuracy',
        'baseline: scores.json#accuracy',
      ),
    );
    const messages = diagnostics.map(messageOf);
    assert.deepEqual(
      diagnostics.map((d) => d.code),
      ['unknown-metric-file', 'unknown-metric-file'],
      messages.join('\n'),
    );
    assert.equal(
      messages[0],
      'No monitor command of environment `production` writes `monitor/lve.json`. Did you mean `monitor/live.json`?',
    );
    assert.match(messages[1]!, /No stage of pipeline `train` declares the metrics file `scores.json`/);
  });

  void test('a monitor metrics file may not leave the workspace; `after: 0` is refused', async () => {
    const diagnostics = await diagnose(
      MANIFEST.replace('metrics: [monitor/live.json]', 'metrics: [../live.json]').replace(
        'after: 3',
        'after: 0',
      ),
    );
    const codes = diagnostics.map((d) => d.code);
    assert.ok(codes.includes('path-escapes-workspace'), codes.join(', '));
    assert.ok(codes.includes('invalid-value'), codes.join(', '));
  });

  void test('completion: the keys of monitor:, the choices of on_failure, the keys of a monitor check', async () => {
    assert.deepEqual(await completeAt('      after: 3\n', '      |\n'), ['after']);
    assert.deepEqual(await completeAt('on_failure: rollback', 'on_failure: |'), ['alert', 'rollback']);
    assert.deepEqual(await completeAt('          timeout: 30\n', '          |\n'), [
      'description',
      'timeout',
    ]);
    assert.deepEqual(
      await completeAt('    monitor:\n', '    |\n    monitor:\n'),
      ['executor', 'gates', 'health', 'pipeline', 'description'].sort(),
    );
  });

  void test('hover documents the keys', async () => {
    const uri = ws.uri();
    await client.openAndWait(uri, MANIFEST);
    const hover = await client.request(HoverRequest.type, {
      textDocument: { uri },
      position: positionOf(MANIFEST, MANIFEST.indexOf('on_failure') + 2),
    });
    await client.close(uri);
    const contents = hover?.contents;
    const text = typeof contents === 'object' && 'value' in contents ? contents.value : '';
    assert.match(text, /rolls back|rollback/);
  });
});
