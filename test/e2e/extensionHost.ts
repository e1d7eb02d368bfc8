// Runs the extension-host suite (test/extension/) offline, inside code-server:
// `node out/test/e2e/extensionHost.js [FILTER…]` (test/run.mjs does). The
// workbench is told through its `payload` parameter to load this repository as
// the extension under development and out/test/extension/index.js as the
// tests; the suite's end arrives as a call to codeAutomationExit or as the
// result file index.ts writes, whichever comes first. The server's whole
// process group is killed afterwards, whatever happened.
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { format } from 'node:util';
import { SluiceError } from '../../src/core/errors';
import { writeFileAtomic } from '../../src/core/fs/atomicWrite';
import { FILTER_VARIABLE, RESULT_FILE_VARIABLE, type SuiteResult } from '../extension/support/suiteResult';
import { launchBrowser, remoteUri, workbenchUrl } from './browser';
import { startCodeServer, withTimeout } from './codeServer';
import { createEditorProfile, createScratchFolder, TEST_SETTINGS } from './editorProfile';
import { createExampleWorkspace } from './exampleWorkspace';
import { ROOT, TEST_OUTPUT_DIR } from './paths';
import { runTool } from './tool';

/** What test/run.mjs reads: the suite's counts, or nothing when the run broke before an outcome. */
export const SUMMARY_FILE = join(ROOT, 'out/test-results/extension-host.json');
const SUITE_ENTRY = join(ROOT, 'out/test/extension/index.js');
/**
 * A whole run took 11–18 s; this is for a machine under load, not a test
 * budget, plus the wait of the Slurm tests for the machine's one test cluster
 * (test/support/services/slurm.ts waits up to 20 minutes while another test
 * process has it up).
 */
const SUITE_TIMEOUT_MS = 25 * 60_000;

type Outcome =
  | { readonly kind: 'exit'; readonly code: number }
  | { readonly kind: 'result' }
  | { readonly kind: 'server-exit'; readonly code: number | null };

async function runSuite(filters: readonly string[]): Promise<SuiteResult> {
  if (!existsSync(SUITE_ENTRY)) {
    throw new SluiceError(`${SUITE_ENTRY} is missing.`, 'failed', 'Run `npm run build:tests` first.');
  }
  const scratch = createScratchFolder('sluice-exthost-');
  try {
    return await runSuiteIn(scratch.path, filters);
  } finally {
    scratch.remove();
  }
}

async function runSuiteIn(scratch: string, filters: readonly string[]): Promise<SuiteResult> {
  const resultFile = join(scratch, 'result.json');
  const workbenchLog = join(scratch, 'workbench.log');
  const profile = createEditorProfile(join(scratch, 'editor'), TEST_SETTINGS);
  const workspace = createExampleWorkspace(join(scratch, 'churn'));
  let ok = false;
  const server = await startCodeServer({
    profile,
    workspaceTrust: false,
    env: { [RESULT_FILE_VARIABLE]: resultFile, [FILTER_VARIABLE]: JSON.stringify(filters) },
  });
  try {
    const browser = await launchBrowser(profile);
    try {
      const page = await browser.newPage();
      let reportExit: (code: number) => void = () => undefined;
      const exited = new Promise<number>((resolve) => (reportExit = resolve));
      await page.exposeFunction('codeAutomationExit', (code: number) => {
        reportExit(code);
      });
      await page.exposeFunction('codeAutomationLog', (type: string, args: unknown[]) => {
        appendToLog(workbenchLog, type, args);
      });
      await page.goto(
        workbenchUrl(server, {
          folder: workspace,
          payload: [
            ['extensionDevelopmentPath', remoteUri(server, ROOT)],
            ['extensionTestsPath', remoteUri(server, SUITE_ENTRY)],
          ],
        }),
      );
      let settle: () => void = () => undefined;
      const settled = new Promise<void>((resolve) => (settle = resolve));
      const outcome = await withTimeout<Outcome>(
        Promise.race([
          exited.then((code) => ({ kind: 'exit', code }) as const),
          fileAppears(resultFile, settled).then(() => ({ kind: 'result' }) as const),
          server.exited.then((code) => ({ kind: 'server-exit', code }) as const),
        ]),
        SUITE_TIMEOUT_MS,
        `The extension-host suite did not finish within ${String(SUITE_TIMEOUT_MS / 60_000)} minutes.`,
      ).finally(settle);
      const result = readResult(resultFile, outcome);
      ok = result.failed === 0;
      return result;
    } finally {
      await browser.close();
    }
  } finally {
    await server.stop();
    if (!ok) keepLogs(workbenchLog, server.logFile);
  }
}

function readResult(resultFile: string, outcome: Outcome): SuiteResult {
  if (existsSync(resultFile)) return JSON.parse(readFileSync(resultFile, 'utf8')) as SuiteResult;
  const why =
    outcome.kind === 'exit'
      ? `the extension host ended the tests with code ${String(outcome.code)} without a result: the test module did not load (see the workbench log)`
      : `code-server exited (code ${String(outcome.kind === 'server-exit' ? outcome.code : null)}) during the suite`;
  return {
    passed: 0,
    failed: 1,
    pending: 0,
    failures: [{ title: 'the extension-host suite', message: why }],
    report: [],
  };
}

/** Resolves once `path` exists; polling stops when `until` settles, so nothing keeps the process alive. */
function fileAppears(path: string, until: Promise<unknown>): Promise<void> {
  return new Promise((resolve) => {
    const poll = setInterval(() => {
      if (existsSync(path)) {
        clearInterval(poll);
        resolve();
      }
    }, 100);
    void until.finally(() => {
      clearInterval(poll);
    });
  });
}

/** Everything the workbench logs through codeAutomationLog (its own chatter and the runner's), for a failure's post-mortem. */
function appendToLog(logFile: string, type: string, args: unknown[]): void {
  appendFileSync(logFile, `[${type}] ${format(...args)}\n`);
}

/** Copies the run's logs where a person can read them after the scratch folder is gone. */
function keepLogs(...logFiles: string[]): void {
  const kept = join(TEST_OUTPUT_DIR, 'extension-host');
  mkdirSync(kept, { recursive: true });
  for (const logFile of logFiles) {
    if (existsSync(logFile)) copyFileSync(logFile, join(kept, basename(logFile)));
  }
  console.log(`The workbench and code-server logs are in ${kept}.`);
}

runTool('extension-host tests', async () => {
  const started = Date.now();
  const result = await runSuite(process.argv.slice(2));
  writeFileAtomic(SUMMARY_FILE, JSON.stringify(result, null, 2) + '\n');
  for (const line of result.report) console.log(line);
  if (result.report.length === 0) {
    for (const failure of result.failures) console.log(`not ok - ${failure.title}: ${failure.message}`);
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(
    `extension host: ${String(result.passed)} passed, ${String(result.failed)} failed (${seconds}s)`,
  );
  return result.failed === 0 ? 0 : 1;
});
