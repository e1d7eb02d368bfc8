// Robustness in `npm test`: a fixed-seed sample of the fuzz run (see
// test/robustness/fuzz.ts for the large one) through one long-lived server and
// the CLI, plus the inputs behind bugs it found, pinned as todo tests.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  aliasBomb,
  cliProblems,
  diagnosticProblems,
  fuzzDocument,
  fuzzWorkspace,
  RICH_MANIFEST,
  runFuzz,
  SEEDS,
  type FuzzFailure,
} from '../robustness/fuzzManifests';
import { LspClient, range, type TempWorkspace } from './support/lspClient';
import { seededRandom } from '../../src/core/seededRandom';

const SEED = 20240611;

function explain(failures: readonly FuzzFailure[]): string {
  return failures
    .slice(0, 5)
    .map(
      (f) =>
        `document ${f.index} of seed ${SEED} (${f.recipe.join(' → ')}):\n${f.problem}\n${JSON.stringify(f.document.slice(0, 2000))}`,
    )
    .join('\n\n');
}

let client: LspClient;
let workspace: TempWorkspace;
let cleanup: () => void;

before(async () => {
  client = await LspClient.start();
  ({ workspace, cleanup } = fuzzWorkspace());
});

after(async () => {
  await client.shutdown();
  cleanup();
});

void describe('robustness', () => {
  void test('the generator is deterministic: the same seed and index give the same document', () => {
    const next = seededRandom(1);
    assert.deepEqual(
      [next(), next(), next()].map((x) => Math.floor(x * 1e6)),
      [627073, 2735, 527447],
    );
    for (const index of [0, 1, 77, 4999]) {
      assert.deepEqual(fuzzDocument(7, index), fuzzDocument(7, index));
    }
    assert.notEqual(fuzzDocument(7, 1).text, fuzzDocument(8, 1).text);
  });

  void test('the seeds are valid manifests (mutations start from something meaningful)', async () => {
    const uri = workspace.uri();
    for (const text of SEEDS) {
      const diagnostics = await client.openAndWait(uri, text);
      assert.deepEqual(diagnosticProblems(text, diagnostics), []);
      assert.deepEqual(
        diagnostics.filter((d) => d.severity === 1).map((d) => d.message),
        [],
        text.slice(0, 200),
      );
      await client.close(uri);
    }
    // The rich manifest is entirely clean: not even a warning.
    assert.deepEqual(await client.openAndWait(uri, RICH_MANIFEST), []);
    await client.close(uri);
  });

  void test('300 random and mutated manifests through one server, 20 through the CLI', async () => {
    const report = await runFuzz({
      seed: SEED,
      count: 300,
      cliCount: 20,
      timeoutMs: 10_000,
    });
    assert.equal(report.documents, 300);
    assert.equal(report.cliRuns, 20);
    assert.ok(report.requests > 50, `requests at random positions: ${report.requests}`);
    assert.deepEqual(report.failures.length, 0, explain(report.failures));
    assert.equal(report.restarts, 0);
  });

  void test('a lone carriage return ends a line, as LSP counts lines', async () => {
    const uri = workspace.uri();
    // Classic Mac line ends. An LSP client (and YAML 1.2) sees lines `datasets:`, `  events:`, `    path: data/e`.
    const text = 'version: 1\ndatasets:\r  events:\r    path: data/e\r';
    const diagnostics = await client.openAndWait(uri, text);
    await client.close(uri);
    assert.deepEqual(diagnosticProblems(text, diagnostics), []);
    assert.deepEqual(
      diagnostics.map((d) => [d.range, d.code]),
      [[range(2, 2, 2, 8), 'unused-dataset']],
    );
  });

  void test('with CRLF line ends, no range ends inside the line break', async () => {
    const uri = workspace.uri();
    const text =
      'version: 1\r\nenvironments:\r\n  e:\r\n    from: workspace\r\n    gates:\r\n ..     - checks\r\n';
    const diagnostics = await client.openAndWait(uri, text);
    await client.close(uri);
    const syntax = diagnostics.find(
      (d) => d.message === 'YAML syntax: All mapping items must start at the same column',
    );
    assert.ok(syntax, JSON.stringify(diagnostics));
    // Line 4 is `    gates:` (10 characters): a range there ends at character 10 at most.
    assert.deepEqual(syntax.range.start, { line: 4, character: 10 });
    assert.deepEqual(diagnosticProblems(text, diagnostics), []);
  });

  void test('an alias that expands exponentially is diagnosed in time, by the server and the CLI', async () => {
    const text = aliasBomb(6);
    assert.ok(text.length < 500);
    // A server of its own: a stuck one is killed, not reused.
    const own = await LspClient.start({ timeoutMs: 2000 });
    try {
      const diagnostics = await own.openAndWait(workspace.uri(), text);
      assert.ok(diagnostics.length > 0);
    } finally {
      own.kill();
    }
    // The CLI is stopped after 2 s.
    assert.deepEqual(cliProblems(workspace, text, undefined, 2000), []);
  });
});
