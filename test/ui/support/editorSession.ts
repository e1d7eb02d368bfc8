// One UI scenario's editor: a fresh churn example, code-server with the
// packaged extension (the VSIX `npm run package` wrote) installed, and
// headless Chromium showing the workbench with the example open.
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { launchBrowser, openWorkbench } from '../../e2e/browser';
import { startCodeServer } from '../../e2e/codeServer';
import { createEditorProfile, createScratchFolder, TEST_SETTINGS } from '../../e2e/editorProfile';
import { createExampleWorkspace, MANIFEST } from '../../e2e/exampleWorkspace';
import { vsixPath } from '../../e2e/paths';
import { installVsix, packageExtension } from '../../e2e/vsix';
import { SCREENSHOT_DIR, Workbench } from './workbench';

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
  // Undone in reverse order by close(), or as far as the opening got when it fails.
  const cleanups: (() => Promise<void> | void)[] = [
    () => {
      scratch.remove();
    },
  ];
  const close = async (): Promise<void> => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };
  try {
    const profile = createEditorProfile(join(scratch.path, 'editor'), TEST_SETTINGS);
    const workspace = createExampleWorkspace(join(scratch.path, 'churn'));
    installVsix(profile, vsix);
    const server = await startCodeServer({ profile, workspaceTrust: options.trust === 'prompt' });
    const workbenchOutput = join(SCREENSHOT_DIR, options.scenario);
    cleanups.push(async () => {
      await server.stop();
      if (existsSync(workbenchOutput)) copyFileSync(server.logFile, join(workbenchOutput, 'code-server.log'));
    });
    const browser = await launchBrowser(profile);
    cleanups.push(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const workbench = new Workbench(page, options.scenario);
    await workbench.step('workbench-open', () => openWorkbench(page, server, { folder: workspace }));
    return { workbench, workspace, manifestPath: join(workspace, MANIFEST), close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * For a describe() block: opens the editor before its tests and closes it
 * after them. Returns the session's getter (the session exists once `before` ran).
 */
export function editorSessionForSuite(options: EditorSessionOptions): () => EditorSession {
  let session: EditorSession | undefined;
  before(async () => {
    session = await openExampleInEditor(options);
  });
  after(async () => {
    await session?.close();
  });
  return () => {
    if (session === undefined) throw new Error(`The editor for ${options.scenario} did not open.`);
    return session;
  };
}
