// `npm run demo`: Sluice in a real VS Code, in one command. Packages the
// extension, makes sure code-server is installed (.vscode-test/), creates the
// churn example with `sluice init --example churn` (kept between runs), and
// serves VS Code with the VSIX installed and the example open on 127.0.0.1.
// Ctrl-C, a SIGTERM, closing the terminal (SIGHUP) or any other end of this
// command stops the server and everything it started (processGroup.ts).
//
// `npm run demo -- --desktop` installs the VSIX into the desktop VS Code (the
// `code` command) and opens the example there instead.
// `--fresh` recreates the example; `--port N` serves on port N (default: a free one).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { SluiceError } from '../../src/core/errors';
import { startCodeServer } from './codeServer';
import { createEditorProfile } from './editorProfile';
import { createExampleWorkspace, EXAMPLE } from './exampleWorkspace';
import { ROOT, VSCODE_TEST_DIR } from './paths';
import { runTool } from './tool';
import { installVsix, packageExtension } from './vsix';

const DEMO_DIR = join(VSCODE_TEST_DIR, 'demo');
const WORKSPACE = join(DEMO_DIR, EXAMPLE);

interface DemoOptions {
  readonly desktop: boolean;
  readonly fresh: boolean;
  readonly port: number | undefined;
}

function parseOptions(argv: readonly string[]): DemoOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        desktop: { type: 'boolean', default: false },
        fresh: { type: 'boolean', default: false },
        port: { type: 'string' },
      },
    }).values;
  } catch (error) {
    throw new SluiceError(
      error instanceof Error ? error.message : String(error),
      'usage',
      'Usage: npm run demo [-- --desktop] [--fresh] [--port N]',
    );
  }
  const port = parsed.port === undefined ? undefined : Number(parsed.port);
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
    throw new SluiceError(`--port ${String(parsed.port)} is not a port number.`, 'usage', 'Give 1–65535.');
  }
  return { desktop: parsed.desktop, fresh: parsed.fresh, port };
}

/** The example workspace, created on the first run (or with --fresh) and kept with the user's changes after. */
function prepareWorkspace(fresh: boolean): void {
  if (fresh) rmSync(WORKSPACE, { recursive: true, force: true });
  if (existsSync(WORKSPACE)) {
    console.log(`Using the example in ${relative(ROOT, WORKSPACE)} (--fresh starts over).`);
    return;
  }
  createExampleWorkspace(WORKSPACE);
  console.log(`Created the ${EXAMPLE} example in ${relative(ROOT, WORKSPACE)}.`);
}

function requireDesktopCode(): void {
  const hasCode = spawnSync('code', ['--version'], { encoding: 'utf8' });
  if (hasCode.error !== undefined || hasCode.status !== 0) {
    throw new SluiceError(
      'No desktop VS Code here: the `code` command is not on PATH.',
      'failed',
      'Run `npm run demo` without --desktop to use VS Code in the browser.',
    );
  }
}

function openInDesktop(vsix: string, fresh: boolean): number {
  const install = spawnSync('code', ['--install-extension', vsix, '--force'], { stdio: 'inherit' });
  if (install.status !== 0) throw new SluiceError(`code --install-extension ${vsix} failed.`, 'failed');
  prepareWorkspace(fresh);
  // Detached: the editor outlives this command.
  spawn('code', [WORKSPACE], { detached: true, stdio: 'ignore' }).unref();
  console.log(`Opened ${WORKSPACE} in VS Code with Sluice installed.`);
  return 0;
}

/**
 * The editor's HOME is a folder of its own (VS Code writes there); git in it
 * should still know who the user is, so snapshots and releases name them.
 */
function userGitConfig(): Record<string, string> {
  const config = join(homedir(), '.gitconfig');
  return existsSync(config) && process.env['GIT_CONFIG_GLOBAL'] === undefined
    ? { GIT_CONFIG_GLOBAL: config }
    : {};
}

async function serveInBrowser(vsix: string, options: DemoOptions): Promise<number> {
  prepareWorkspace(options.fresh);
  const profile = createEditorProfile(join(DEMO_DIR, 'editor'));
  installVsix(profile, vsix);
  // The example was made by this command, so its folder is trusted: no Restricted Mode prompt.
  const server = await startCodeServer({
    profile,
    workspaceTrust: false,
    env: userGitConfig(),
    ...(options.port === undefined ? {} : { port: options.port }),
    onSignal: () => {
      console.log('Stopped.');
    },
  });
  // Readable rather than fully encoded: code-server takes the path as it is.
  const url = `${server.url}/?folder=${encodeURI(WORKSPACE)}`;
  console.log(`\nSluice is running in VS Code at\n\n  ${url}\n\nPress Ctrl-C to stop.`);

  // A signal (Ctrl-C, SIGTERM, SIGHUP) stops the server's whole group and exits (onSignal above).
  await server.exited;
  await server.stop();
  if (server.signalled() !== undefined) return 0;
  throw new SluiceError(`code-server stopped by itself; its log is ${server.logFile}.`, 'failed');
}

runTool('demo', async () => {
  const options = parseOptions(process.argv.slice(2));
  if (options.desktop) requireDesktopCode();
  const vsix = packageExtension();
  return options.desktop ? openInDesktop(vsix, options.fresh) : serveInBrowser(vsix, options);
});
