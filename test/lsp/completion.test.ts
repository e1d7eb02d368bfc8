// Completion over LSP: what an editor offers at the cursor, with the range
// each item replaces and the text it inserts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CompletionItemKind,
  CompletionRequest,
  InsertTextFormat,
  type CompletionItem,
  type Position,
  type Range,
} from 'vscode-languageserver-protocol/node';
import { LspClient, range, TempWorkspace } from './support/lspClient';

const MANIFEST = `version: 1
name: churn-model

datasets:
  events:
    path: data/raw/events
    description: Raw click events
  labels:
    path: data/labels

pipelines:
  train:
    description: Prepare features and train the model
    stages:
      prepare:
        run: node src/prepare.js
        datasets: [events, labels]
        deps: [src/prepare.js]
        outs: [data/prepared]
      train:
        run: node src/train.js
        needs: [prepare]
        deps: [src/train.js, data/prepared]
        outs: [models/model.json]
        metrics: [metrics.json]
      evaluate:
        run: node src/evaluate.js
        needs: [train]
        outs: [reports/eval.html]
    checks:
      - name: enough rows
        run: node checks/rows.js data/prepared
  report:
    description: Weekly report
    stages:
      render:
        run: node src/report.js
        outs: [reports/weekly.html]

environments:
  staging:
    description: Where candidates are tried
    from: workspace
    pipeline: train
  production:
    from: staging
    gates:
      - checks
`;

const FILES: Readonly<Record<string, string>> = {
  'src/prepare.js': '',
  'src/train.js': '',
  'src/lib/util.js': '',
  'data/raw/events/part-0.csv': 'id\n',
  'data/labels/labels.csv': 'id\n',
  'metrics.json': '{"accuracy": 0.91, "loss": {"val": 0.12}, "model": "gbm"}\n',
  'README.md': '# churn\n',
};

let client: LspClient;
let ws: TempWorkspace;

before(async () => {
  client = await LspClient.start();
  ws = new TempWorkspace();
  for (const [path, content] of Object.entries(FILES)) ws.write(path, content);
});

after(async () => {
  await client.shutdown();
  ws.cleanup();
});

/**
 * Opens MANIFEST with `search` replaced by `replacement` (the cursor goes where
 * `|` is in the replacement), waits for its diagnostics and asks for completion.
 */
async function completeAt(
  search: string,
  replacement: string,
): Promise<{ items: CompletionItem[]; at: Position }> {
  assert.ok(MANIFEST.includes(search), `${search} is in the manifest`);
  const cursor = replacement.indexOf('|');
  assert.ok(cursor >= 0, 'the replacement marks the cursor with |');
  const text = MANIFEST.replace(search, replacement.replace('|', ''));
  const offset = MANIFEST.indexOf(search) + cursor;
  const before = text.slice(0, offset);
  const at: Position = {
    line: before.split('\n').length - 1,
    character: offset - before.lastIndexOf('\n') - 1,
  };
  const uri = ws.uri();
  await client.openAndWait(uri, text);
  const result = await client.request(CompletionRequest.type, { textDocument: { uri }, position: at });
  await client.close(uri);
  const items = Array.isArray(result) ? result : (result?.items ?? []);
  return { items, at };
}

function labels(items: readonly CompletionItem[]): string[] {
  return items.map((item) => item.label);
}

function item(items: readonly CompletionItem[], label: string): CompletionItem {
  const found = items.find((i) => i.label === label);
  assert.ok(found, `${label} is offered among ${labels(items).join(', ')}`);
  return found;
}

function documentation(completion: CompletionItem): string | undefined {
  const doc = completion.documentation;
  return typeof doc === 'string' ? doc : doc?.value;
}

function edit(completion: CompletionItem): { range: Range; newText: string } {
  const textEdit = completion.textEdit;
  assert.ok(textEdit && 'range' in textEdit, `${completion.label} has a TextEdit`);
  return { range: textEdit.range, newText: textEdit.newText };
}

const emptyAt = (at: Position): Range => ({ start: at, end: at });

void describe('completion', () => {
  void test('keys of a stage, without those it already has, with their docs', async () => {
    const { items, at } = await completeAt(
      '        outs: [data/prepared]\n',
      '        outs: [data/prepared]\n        |\n',
    );
    assert.deepEqual(at, { line: 19, character: 8 });
    assert.deepEqual(labels(items).sort(), [
      'always_changed',
      'description',
      'executor',
      'frozen',
      'matrix',
      'metrics',
      'needs',
      'params',
      'plots',
      'resources',
      'wdir',
    ]);
    const needs = item(items, 'needs');
    assert.equal(needs.kind, CompletionItemKind.Property);
    assert.equal(
      documentation(needs),
      "Stages of the same pipeline that must run first. Also inferred when a dep lies inside another stage's outs.",
    );
    assert.deepEqual(edit(needs), { range: emptyAt(at), newText: 'needs: [$0]' });
    assert.equal(needs.insertTextFormat, InsertTextFormat.Snippet);
    const description = item(items, 'description');
    assert.deepEqual(edit(description), { range: emptyAt(at), newText: 'description: ' });
    assert.equal(documentation(description), 'What this stage does.');
    for (const offered of items) assert.ok(documentation(offered), `${offered.label} is documented`);
  });

  void test('a partly typed key is replaced, not appended to', async () => {
    const { items, at } = await completeAt(
      '        outs: [data/prepared]\n',
      '        outs: [data/prepared]\n        ne|\n',
    );
    assert.deepEqual(edit(item(items, 'needs')).range, range(19, 8, at.line, at.character));
  });

  void test('keys at the top level, without those present', async () => {
    const { items, at } = await completeAt('name: churn-model\n', 'name: churn-model\n|\n');
    assert.deepEqual(at, { line: 2, character: 0 });
    assert.deepEqual(labels(items).sort(), ['description', 'params', 'remotes', 'vars']);
    const params = item(items, 'params');
    assert.equal(
      documentation(params),
      'The default params file (YAML, JSON or TOML), whose values stages read by dotted key (for example `train.epochs`) and `${…}` templates name (`${train.lr}`).',
    );
    assert.deepEqual(edit(params), { range: emptyAt(at), newText: 'params: ' });
  });

  void test('keys of an environment, a mapping key inserting its block', async () => {
    const { items, at } = await completeAt('    pipeline: train\n', '    pipeline: train\n    |\n');
    assert.deepEqual(at, { line: 44, character: 4 });
    assert.deepEqual(labels(items).sort(), ['deploy', 'executor', 'gates', 'health', 'monitor']);
    assert.deepEqual(edit(item(items, 'deploy')), { range: emptyAt(at), newText: 'deploy:\n  ' });
    assert.deepEqual(edit(item(items, 'gates')), { range: emptyAt(at), newText: 'gates:\n  - ' });
    assert.equal(documentation(item(items, 'health')), 'A check run after each deployment.');
  });

  void test('keys of a new check list item: both forms, `name` and its other half marked required', async () => {
    const { items, at } = await completeAt(
      '        run: node checks/rows.js data/prepared\n',
      '        run: node checks/rows.js data/prepared\n      - |\n',
    );
    assert.deepEqual(at, { line: 32, character: 8 });
    assert.deepEqual(labels(items).sort(), ['description', 'max', 'metric', 'min', 'name', 'run', 'timeout']);
    for (const required of ['name', 'run', 'metric']) assert.equal(item(items, required).detail, 'required');
    assert.equal(
      documentation(item(items, 'name')),
      'The name of the check, shown in results and in release records.',
    );
  });

  void test('keys of a check list item, without those it already has', async () => {
    const { items, at } = await completeAt(
      '        run: node checks/rows.js data/prepared\n',
      '        run: node checks/rows.js data/prepared\n        |\n',
    );
    assert.deepEqual(at, { line: 32, character: 8 });
    const offered = labels(items);
    assert.ok(!offered.includes('name') && !offered.includes('run'), offered.join(', '));
    assert.ok(offered.includes('timeout') && offered.includes('description'), offered.join(', '));
    assert.equal(
      documentation(item(items, 'timeout')),
      'Seconds after which a command check is stopped and counted inconclusive.',
    );
  });

  void test('a command check is not offered the keys of a metric check', async () => {
    const { items } = await completeAt(
      '        run: node checks/rows.js data/prepared\n',
      '        run: node checks/rows.js data/prepared\n        |\n',
    );
    assert.deepEqual(labels(items).sort(), ['description', 'timeout']);
  });

  void test('dataset names in a flow list', async () => {
    const { items, at } = await completeAt(
      '        datasets: [events, labels]',
      '        datasets: [events, |',
    );
    assert.deepEqual(at, { line: 16, character: 27 });
    assert.deepEqual(labels(items), ['events', 'labels']);
    const events = item(items, 'events');
    assert.equal(events.kind, CompletionItemKind.Reference);
    assert.equal(events.detail, 'dataset');
    assert.equal(documentation(events), '`data/raw/events` — Raw click events');
    assert.deepEqual(edit(events), { range: emptyAt(at), newText: 'events' });
  });

  void test('dataset names in a flow list, replacing what was typed', async () => {
    const { items, at } = await completeAt('        datasets: [events, labels]', '        datasets: [ev|');
    assert.deepEqual(at, { line: 16, character: 21 });
    assert.deepEqual(edit(item(items, 'events')), { range: range(16, 19, 16, 21), newText: 'events' });
  });

  void test('dataset names in a block list item', async () => {
    const { items, at } = await completeAt(
      '        datasets: [events, labels]',
      '        datasets:\n          - events\n          - |',
    );
    assert.deepEqual(at, { line: 18, character: 12 });
    assert.deepEqual(labels(items), ['events', 'labels']);
    assert.deepEqual(edit(item(items, 'labels')), { range: emptyAt(at), newText: 'labels' });
  });

  void test('stage names of the same pipeline in `needs`, without the stage itself', async () => {
    const { items, at } = await completeAt('        needs: [train]', '        needs: [|]');
    assert.deepEqual(at, { line: 27, character: 16 });
    assert.deepEqual(labels(items), ['prepare', 'train']);
    const train = item(items, 'train');
    assert.equal(train.detail, 'stage of train');
    assert.equal(documentation(train), 'node src/train.js');
    assert.deepEqual(edit(train), { range: emptyAt(at), newText: 'train' });
  });

  void test('environment names and `workspace` in `from:`, without the environment itself', async () => {
    const { items, at } = await completeAt('    from: staging', '    from: |');
    assert.deepEqual(at, { line: 45, character: 10 });
    assert.deepEqual(labels(items), ['workspace', 'staging']);
    assert.equal(documentation(item(items, 'staging')), 'Where candidates are tried');
    assert.equal(
      documentation(item(items, 'workspace')),
      'The working tree: releases are built by `sluice stage`.',
    );
    assert.deepEqual(edit(item(items, 'staging')), { range: emptyAt(at), newText: 'staging' });
  });

  void test('pipeline names in `pipeline:`', async () => {
    const { items, at } = await completeAt('    pipeline: train', '    pipeline: tr|');
    assert.deepEqual(at, { line: 43, character: 16 });
    assert.deepEqual(labels(items), ['train', 'report']);
    assert.equal(documentation(item(items, 'report')), 'Weekly report');
    assert.deepEqual(edit(item(items, 'train')), { range: range(43, 14, 43, 16), newText: 'train' });
  });

  void test('`checks` and the keys of a metric rule in a gate list item', async () => {
    const { items, at } = await completeAt('      - checks\n', '      - checks\n      - |\n');
    assert.deepEqual(at, { line: 48, character: 8 });
    assert.deepEqual(labels(items), ['checks', 'metric', 'min', 'max', 'no_regression']);
    const checks = item(items, 'checks');
    assert.equal(checks.kind, CompletionItemKind.Value);
    assert.deepEqual(edit(checks), { range: emptyAt(at), newText: 'checks' });
  });

  void test('workspace paths in deps: files and folders at the root, folders ending in `/`', async () => {
    const { items, at } = await completeAt('        deps: [src/prepare.js]', '        deps: [|]');
    assert.deepEqual(at, { line: 17, character: 15 });
    assert.deepEqual(labels(items).sort(), ['README.md', 'data/', 'metrics.json', 'src/']);
    const src = item(items, 'src/');
    assert.equal(src.kind, CompletionItemKind.Folder);
    assert.deepEqual(edit(src), { range: emptyAt(at), newText: 'src/' });
    assert.equal(
      src.command?.command,
      'editor.action.triggerSuggest',
      'completion reopens inside the folder',
    );
    const readme = item(items, 'README.md');
    assert.equal(readme.kind, CompletionItemKind.File);
    assert.equal(readme.command, undefined);
  });

  void test('workspace paths in deps: inside a folder, replacing only the last component', async () => {
    const { items, at } = await completeAt('        deps: [src/prepare.js]', '        deps: [src/pr|]');
    assert.deepEqual(at, { line: 17, character: 21 });
    assert.deepEqual(labels(items).sort(), ['lib/', 'prepare.js', 'train.js']);
    assert.deepEqual(edit(item(items, 'prepare.js')), {
      range: range(17, 19, 17, 21),
      newText: 'prepare.js',
    });
  });

  void test('workspace paths never lead out of the workspace: nothing is offered after `../`', async () => {
    const { items } = await completeAt('        deps: [src/prepare.js]', '        deps: [../|]');
    assert.deepEqual(labels(items), []);
  });

  void test('`plots` among a stage’s keys, documented from the schema, opening a block list', async () => {
    const { items, at } = await completeAt(
      '        metrics: [metrics.json]\n',
      '        metrics: [metrics.json]\n        pl|\n',
    );
    const plots = item(items, 'plots');
    assert.equal(plots.kind, CompletionItemKind.Property);
    assert.match(documentation(plots) ?? '', /^Charts and images of what this stage writes/);
    assert.deepEqual(edit(plots), { range: range(at.line, 8, at.line, 10), newText: 'plots:\n  - ' });
  });

  void test('the templates of a plot in `template:`, and the keys of a plot mapping', async () => {
    const templates = await completeAt(
      '        metrics: [metrics.json]\n',
      '        metrics: [metrics.json]\n        plots:\n          - path: metrics.json\n            template: |\n',
    );
    assert.deepEqual(labels(templates.items), ['line', 'scatter', 'bar', 'confusion']);
    assert.equal(item(templates.items, 'confusion').kind, CompletionItemKind.Value);
    assert.deepEqual(edit(item(templates.items, 'scatter')), {
      range: emptyAt(templates.at),
      newText: 'scatter',
    });
    const keys = await completeAt(
      '        metrics: [metrics.json]\n',
      '        metrics: [metrics.json]\n        plots:\n          - path: metrics.json\n            template: bar\n            |\n',
    );
    assert.deepEqual(labels(keys.items).sort(), [
      'actual',
      'predicted',
      'title',
      'x',
      'x_label',
      'y',
      'y_label',
    ]);
    assert.match(documentation(item(keys.items, 'actual')) ?? '', /template: confusion/);
  });

  void test('workspace paths in a plot list item and in a plot’s `path:`', async () => {
    const plain = await completeAt(
      '        metrics: [metrics.json]\n',
      '        metrics: [metrics.json]\n        plots:\n          - me|\n',
    );
    assert.ok(labels(plain.items).includes('metrics.json'), labels(plain.items).join(', '));
    assert.ok(labels(plain.items).includes('template'), 'a new item may be a mapping too');
    const mapped = await completeAt(
      '        metrics: [metrics.json]\n',
      '        metrics: [metrics.json]\n        plots:\n          - path: |\n',
    );
    assert.deepEqual(labels(mapped.items).sort(), ['README.md', 'data/', 'metrics.json', 'src/']);
  });

  void test('`metric:` offers FILE#key for every number in the metrics file on disk', async () => {
    const { items, at } = await completeAt(
      '        run: node checks/rows.js data/prepared\n',
      '        run: node checks/rows.js data/prepared\n      - name: accuracy floor\n        metric: |\n',
    );
    assert.deepEqual(at, { line: 33, character: 16 });
    assert.deepEqual(labels(items), ['metrics.json#accuracy', 'metrics.json#loss.val']);
    const accuracy = item(items, 'metrics.json#accuracy');
    assert.equal(accuracy.detail, '0.91 now');
    assert.equal(documentation(accuracy), 'Written by stage `train`.');
    assert.deepEqual(edit(accuracy), { range: emptyAt(at), newText: 'metrics.json#accuracy' });
  });
});
