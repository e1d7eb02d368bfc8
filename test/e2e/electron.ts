// `npm run test:electron [-- FILTER…]`: the extension-host suite in desktop VS
// Code through @vscode/test-electron, for contributors whose machine can
// download VS Code (it needs a display, or xvfb-run, on Linux). CI and
// machines without internet run the same suite in code-server instead
// (extensionHost.ts, part of `npm test`).
import { runTests } from '@vscode/test-electron';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SluiceError } from '../../src/core/errors';
import { FILTER_VARIABLE, RESULT_FILE_VARIABLE, type SuiteResult } from '../extension/support/suiteResult';
import { createScratchFolder } from './editorProfile';
import { createExampleWorkspace } from './exampleWorkspace';
import { ROOT } from './paths';
import { runTool } from './tool';

/** The VS Code that code-server 4.100.3 carries, so both launchers test against the same editor. */
const VSCODE_VERSION = '1.100.3';

runTool('test:electron', async () => {
  const scratch = createScratchFolder('sluice-electron-');
  try {
    const workspace = createExampleWorkspace(join(scratch.path, 'churn'));
    const resultFile = join(scratch.path, 'result.json');
    try {
      await runTests({
        version: VSCODE_VERSION,
        extensionDevelopmentPath: ROOT,
        extensionTestsPath: join(ROOT, 'out/test/extension/index.js'),
        extensionTestsEnv: {
          [RESULT_FILE_VARIABLE]: resultFile,
          [FILTER_VARIABLE]: JSON.stringify(process.argv.slice(2)),
        },
        launchArgs: [
          workspace,
          '--disable-extensions',
          '--disable-workspace-trust',
          '--user-data-dir',
          join(scratch.path, 'user-data'),
        ],
      });
    } catch (error) {
      // A failing suite rejects too; the result file tells the two apart.
      if (!existsSync(resultFile)) {
        throw new SluiceError(`VS Code did not run the suite: ${String(error)}`, 'failed');
      }
    }
    const result = JSON.parse(readFileSync(resultFile, 'utf8')) as SuiteResult;
    // Mocha's own reporter printed the run live on VS Code's output; the failures are repeated last.
    for (const failure of result.failures) console.log(`not ok - ${failure.title}: ${failure.message}`);
    console.log(
      `extension host (electron): ${String(result.passed)} passed, ${String(result.failed)} failed`,
    );
    return result.failed === 0 ? 0 : 1;
  } finally {
    scratch.remove();
  }
});
