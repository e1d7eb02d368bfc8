// One UI scenario's editor: a fresh churn example, code-server with the
// packaged extension (the VSIX `npm run package` wrote) installed, and
// headless Chromium showing the workbench with the example open.
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowser, openWorkbench } from '../../e2e/browser';
import { startCodeServer } from '../../e2e/codeServer';
import { createEditorProfile, createScratchFolder, TEST_SETTINGS } from '../../e2e/editorProfile';
import { createExampleWorkspace, MANIFEST } from '../../e2e/exampleWorkspace';
import { vsixPath } from '../../e2e/paths';
import { installVsix, packageExtension } from '../../e2e/vsix';
import { Workbench } from './workbench';

export interface EditorSessionOptions {
  /** Names the scenario's output folder, test-output/ui/<scenario>/. */
  readonly scenario: string;
  /**
   * 'trusted': every folder is trusted (code-server's --disable-workspace-trust).
   * 'prompt': VS Code asks whether to trust the folder, and the test answers.
   */
  readonly trust: 'trusted' | 'prompt';
}

export interface EditorSession {
  readonly workbench: Workbench;
  /** The example workspace's folder on disk, to check what commands did to it. */
  readonly workspace: string;
  readonly manifestPath: string;
  /** Closes the browser and stops the server's whole process group; keeps the server log beside the screenshots. */
  close(): Promise<void>;
}

export async function openExampleInEditor(options: EditorSessionOptions): Promise<EditorSession> {
  // test/run.mjs packages before this level; packaging here too makes one file runnable alone.
  const vsix = existsSync(vsixPath()) ? vsixPath() : packageExtension();
  const scratch = createScratchFolder(`sluice-ui-${options.scenario}-`);
  const profile = createEditorProfile(join(scratch.path, 'editor'), TEST_SETTINGS);
  const workspace = createExampleWorkspace(join(scratch.path, 'churn'));
  installVsix(profile, vsix);
  const server = await startCodeServer({ profile, workspaceTrust: options.trust === 'prompt' });
  const browser = await launchBrowser(profile).catch(async (error: unknown) => {
    await server.stop();
    throw error;
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const workbench = new Workbench(page, options.scenario);
  const close = async (): Promise<void> => {
    await browser.close();
    await server.stop();
    copyFileSync(server.logFile, join(workbench.outputDir, 'code-server.log'));
    scratch.remove();
  };
  try {
    await workbench.step('workbench-open', () => openWorkbench(page, server, { folder: workspace }));
  } catch (error) {
    await close();
    throw error;
  }
  return { workbench, workspace, manifestPath: join(workspace, MANIFEST), close };
}
