// The extension-host suite's entry: VS Code loads this module (its
// extensionTestsPath) inside a real extension host and awaits run(). Two
// launchers use it: test/e2e/extensionHost.ts runs it offline inside
// code-server (what `npm test` and CI do), and test/e2e/electron.ts through
// @vscode/test-electron for contributors who can download VS Code.
//
// How to write a test here (later view and command tests follow the same rules):
// - One file per subject, named `<subject>.test.ts` in test/extension/; every
//   such file is found and run. Mocha 10, BDD: `import { describe, it } from
//   'mocha'` (never the globals), and node:assert/strict.
// - `import * as vscode from 'vscode'`: the real API, no mocks. esbuild keeps
//   `vscode` and `mocha` external, so every file shares the host's module and
//   this one mocha instance.
// - The workspace that is open is a fresh copy of `sluice init --example churn`
//   (one folder), shared by every file of a run: a test that changes it puts it
//   back (support/workspace.ts has revertAndCloseEditors for editor changes).
// - Helpers live in test/extension/support/: waitFor() polls a condition with
//   a deadline instead of sleeping; activatedApi() waits until VS Code has
//   activated the extension by itself and returns its exported API.
// - A test may take TEST_TIMEOUT_MS; a slow language server start counts
//   against it, as it would for a user.
import Mocha from 'mocha';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describeError } from '../../src/core/errors';
import { writeFileAtomic } from '../../src/core/fs/atomicWrite';
import { FILTER_VARIABLE, RESULT_FILE_VARIABLE, type SuiteResult } from './support/suiteResult';

const TEST_TIMEOUT_MS = 30_000;

/** The repository root: this file runs as out/test/extension/index.js. */
const ROOT = join(__dirname, '../../..');

export async function run(): Promise<void> {
  const files = testFiles(__dirname).filter(matchesFilter);
  const report: string[] = [];
  const failures: { title: string; message: string }[] = [];
  let result: SuiteResult;
  try {
    // The reporter runs alongside the lines collected here, which reach the launcher in the result file.
    const mocha = new Mocha({ ui: 'bdd', color: false, timeout: TEST_TIMEOUT_MS, reporter: 'spec' });
    for (const file of files) mocha.addFile(file);
    const stats = await new Promise<Mocha.Stats>((resolve) => {
      const runner = mocha.run(() => {
        resolve(runner.stats!);
      });
      collectReport(runner, report, failures);
    });
    result = { passed: stats.passes, failed: stats.failures, pending: stats.pending, failures, report };
  } catch (error) {
    // A test file that does not load (a syntax or import error) fails the whole suite.
    const failure = { title: 'loading the suite', message: describeError(error) };
    result = { passed: 0, failed: 1, pending: 0, failures: [failure], report };
  }
  if (files.length === 0) {
    result = {
      ...result,
      failed: result.failed + 1,
      failures: [{ title: 'the suite', message: 'no test file matched' }],
    };
  }

  const resultFile = process.env[RESULT_FILE_VARIABLE] ?? join(ROOT, 'out/test-results/extension-host.json');
  writeFileAtomic(resultFile, JSON.stringify(result, null, 2) + '\n');
  if (result.failed > 0) {
    throw new Error(
      `${String(result.failed)} of ${String(result.failed + result.passed)} extension-host tests failed.`,
    );
  }
}

/** A spec-style account of the run, kept as lines for the launcher to print. */
function collectReport(
  runner: Mocha.Runner,
  report: string[],
  failures: { title: string; message: string }[],
): void {
  let depth = 0;
  const indent = (): string => '  '.repeat(depth);
  runner.on('suite', (suite) => {
    if (suite.title !== '') report.push(`${indent()}${suite.title}`);
    depth++;
  });
  runner.on('suite end', () => {
    depth--;
  });
  runner.on('pass', (test) => {
    report.push(`${indent()}✔ ${test.title} (${String(test.duration ?? 0)} ms)`);
  });
  runner.on('pending', (test) => {
    report.push(`${indent()}- ${test.title} (skipped)`);
  });
  runner.on('fail', (test, error: unknown) => {
    failures.push({ title: test.fullTitle(), message: describeError(error) });
    report.push(
      `${indent()}✘ ${test.title}`,
      ...describeError(error)
        .split('\n')
        .map((line) => `${indent()}    ${line}`),
    );
  });
}

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith('.test.js') ? [path] : [];
  });
}

function matchesFilter(file: string): boolean {
  const filter = process.env[FILTER_VARIABLE];
  if (filter === undefined || filter === '') return true;
  const patterns = JSON.parse(filter) as string[];
  const path = relative(ROOT, file);
  return patterns.length === 0 || patterns.some((pattern) => path.includes(pattern));
}
