// Issue 12 through the real server: outputs and deploy folders that would
// unmake the repository are errors on the entry itself, and a manifest past
// the size or depth limits gets one diagnostic within a couple of seconds,
// after which edits, completion and hover stay responsive.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CompletionRequest, HoverRequest, type Diagnostic } from 'vscode-languageserver-protocol/node';
import { BASE, FILES } from './support/fixtures';
import { endOf, LspClient, messageOf, rangeOf, TempWorkspace } from './support/lspClient';

let client: LspClient;
const workspaces: TempWorkspace[] = [];

function workspace(): TempWorkspace {
  const ws = new TempWorkspace();
  workspaces.push(ws);
  for (const [path, content] of Object.entries(FILES)) ws.write(path, content);
  return ws;
}

before(async () => {
  client = await LspClient.start({ timeoutMs: 20_000 });
});

after(async () => {
  await client.shutdown();
  for (const ws of workspaces) ws.cleanup();
});

function codes(diagnostics: readonly Diagnostic[]): string[] {
  return diagnostics.map((d) => String(d.code));
}

/** Milliseconds `work` takes. */
async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await work();
  return [result, performance.now() - started];
}

void describe('protected paths in the editor', () => {
  for (const [search, replacement, value, code] of [
    ['outs: [models/model.json]', 'outs: [.git/hooks]', '.git/hooks', 'protected-output'],
    ['outs: [models/model.json]', 'outs: [./.GIT]', './.GIT', 'protected-output'],
    ['metrics: [metrics.json]', 'metrics: [params.yaml]', 'params.yaml', 'protected-output'],
    ['outs: [models/model.json]', 'outs: [src/train.js]', 'src/train.js', 'output-overlaps-dep'],
    ['path: deploy/production', 'path: .sluice/deploy', '.sluice/deploy', 'protected-deploy-path'],
    ['path: deploy/production', 'path: src', 'src', 'protected-deploy-path'],
  ] as const) {
    void test(`${replacement}: ${code} on the entry`, async () => {
      const ws = workspace();
      const uri = ws.uri();
      assert.deepEqual(await client.openAndWait(uri, BASE), [], 'BASE is clean');
      const diagnostics = await client.replaceAndWait(uri, search, replacement);
      const found = diagnostics.filter((d) => d.code === code);
      assert.equal(found.length, 1, JSON.stringify(diagnostics));
      const entry = rangeOf(client.text(uri), replacement);
      const character = entry.start.character + replacement.indexOf(value);
      assert.deepEqual(found[0]!.range, {
        start: { line: entry.start.line, character },
        end: { line: entry.start.line, character: character + value.length },
      });
      await client.close(uri);
    });
  }
});

void describe('manifests past the limits', () => {
  // The bound on the first diagnostics: 50 MB must first cross the pipe as JSON
  // and be parsed by the protocol library (seconds on a loaded machine), which
  // no limit of ours can shorten; just past the limit it is the analysis alone.
  const cases: [string, () => string, RegExp, number][] = [
    [
      'a 5 MB manifest',
      () => `version: 1\n${'# padding padding padding padding padding padding padding\n'.repeat(90_000)}`,
      /The manifest (is|holds) .*at most 4\.0 MB/,
      2000,
    ],
    [
      'a 50 MB manifest',
      () => `version: 1\n${'# padding padding padding padding padding padding padding\n'.repeat(900_000)}`,
      /The manifest (is|holds) .*at most 4\.0 MB/,
      10_000,
    ],
    [
      '20,000 levels of nesting',
      () => `version: 1\nx:\n  ${'- '.repeat(20_000)}v\n`,
      /nests 20,002 levels deep; Sluice reads at most 64/,
      2000,
    ],
  ];
  for (const [what, make, message, bound] of cases) {
    void test(`${what}: one diagnostic within a couple of seconds, and edits stay responsive`, async () => {
      const ws = workspace();
      const uri = ws.uri();
      const text = make();
      // Timed from the moment the text is sent: the test client's own work on 50 MB
      // (serializing it, finding lines for its copy of the edits) is not the server's.
      let from = client.cursor;
      await client.open(uri, text);
      const [diagnostics, opened] = await timed(() => client.waitForDiagnostics(uri, 1, { from }));
      assert.deepEqual(codes(diagnostics), ['manifest-too-large']);
      assert.deepEqual(diagnostics[0]!.range.start, { line: 0, character: 0 });
      assert.match(messageOf(diagnostics[0]!), message);
      // Before: nothing was published within 60 s for 50 MB.
      assert.ok(opened < bound, `first diagnostics ${opened.toFixed(0)} ms after the text was sent`);

      for (let i = 0; i < 3; i++) {
        from = client.cursor;
        const version = await client.change(uri, [
          {
            range: { start: { line: 0, character: 0 }, end: { line: 0, character: 10 } },
            newText: 'version: 1 ',
          },
        ]);
        const [again, edited] = await timed(() => client.waitForDiagnostics(uri, version, { from }));
        assert.deepEqual(codes(again), ['manifest-too-large']);
        // The first edit makes the protocol library index the lines of 50 MB (1.3 s on a loaded machine).
        assert.ok(edited < (i === 0 ? 5000 : 1500), `edit ${i} → diagnostics in ${edited.toFixed(0)} ms`);
      }
      const [, asked] = await timed(async () => {
        await client.request(CompletionRequest.type, {
          textDocument: { uri },
          position: { line: 1, character: 0 },
        });
        await client.request(HoverRequest.type, {
          textDocument: { uri },
          position: { line: 0, character: 1 },
        });
      });
      assert.ok(asked < 1000, `completion and hover took ${asked.toFixed(0)} ms`);

      // Back to a real manifest: analyzed as ever.
      const clean = await client.changeAndWait(uri, [
        { range: { start: { line: 0, character: 0 }, end: endOf(client.text(uri)) }, newText: BASE },
      ]);
      assert.deepEqual(clean, []);
      await client.close(uri);
    });
  }
});
