// code-server: a full VS Code (1.100.3) served to a browser, which is how the
// demo, the extension-host suite and the UI tests get a real editor on a
// machine that cannot download VS Code. It is installed once into
// .vscode-test/, outside the extension's own dependencies (300 MB, ~80 s).
// ../shared/E2E.md has the facts behind each step.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { arch } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { SluiceError } from '../../src/core/errors';
import { writeFileAtomic } from '../../src/core/fs/atomicWrite';
import { ensureDebianPackages } from './debianPackages';
import type { EditorProfile } from './editorProfile';
import { VSCODE_TEST_DIR } from './paths';
import { spawnGroup, type EndingSignal } from './processGroup';

/** The last code-server on Node.js 20 (4.103 and later need 22); package.json's engines.vscode follows it. */
export const CODE_SERVER_VERSION = '4.100.3';

/** Its `kerberos` addon builds against libkrb5-dev; its search runs ripgrep, which it cannot download here. */
export const CODE_SERVER_DEBIAN_PACKAGES = ['libkrb5-dev', 'ripgrep'] as const;

const INSTALL_DIR = join(VSCODE_TEST_DIR, `code-server-${CODE_SERVER_VERSION}`);
const ENTRY = join(INSTALL_DIR, 'node_modules/code-server/out/node/entry.js');
/** Written last: a folder without it is an interrupted install. */
const COMPLETE_MARKER = join(INSTALL_DIR, 'installed.json');

/**
 * Installs code-server into .vscode-test/ unless it is there, and returns its
 * entry script. Fast when installed (two stats). The install goes to a fresh
 * folder that is renamed into place at the end, so an interrupted one is never
 * mistaken for a finished one.
 */
export function ensureCodeServer(): string {
  if (existsSync(COMPLETE_MARKER) && existsSync(ENTRY)) return ENTRY;
  const nodeMajor = process.versions.node.split('.')[0];
  if (nodeMajor !== '20') {
    throw new SluiceError(
      `code-server ${CODE_SERVER_VERSION} installs only under Node.js 20; this is Node.js ${process.versions.node}.`,
      'failed',
      'Run this with Node.js 20.',
    );
  }
  ensureDebianPackages(CODE_SERVER_DEBIAN_PACKAGES, `code-server ${CODE_SERVER_VERSION}`);

  mkdirSync(VSCODE_TEST_DIR, { recursive: true });
  const staging = mkdtempSync(`${INSTALL_DIR}.partial-`);
  try {
    console.log(
      `Installing code-server ${CODE_SERVER_VERSION} into ${INSTALL_DIR} (once; about two minutes).`,
    );
    writeFileSync(
      join(staging, 'package.json'),
      JSON.stringify(
        {
          private: true,
          description: 'code-server for Sluice demo and editor tests, installed by test/e2e/codeServer.ts',
          dependencies: { 'code-server': CODE_SERVER_VERSION },
        },
        null,
        2,
      ),
    );
    const downloads = join(staging, 'tmp');
    seedRipgrepDownload(downloads);
    const install = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: staging,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: {
        ...process.env,
        TMPDIR: downloads,
        // The postinstall refuses to run as root without it, and runs `npx node-gyp`, which would ask.
        npm_config_unsafe_perm: 'true',
        npm_config_yes: 'true',
      },
    });
    if (install.status !== 0) {
      throw new SluiceError(
        `npm install code-server@${CODE_SERVER_VERSION} failed (${install.error?.message ?? `exit code ${String(install.status)}`}).`,
        'failed',
        'Its output is above; fix the cause and run this again.',
      );
    }
    rmSync(downloads, { recursive: true, force: true });
    if (existsSync(COMPLETE_MARKER)) {
      // Another process finished the same install meanwhile; its copy may be in use.
      rmSync(staging, { recursive: true, force: true });
      return ENTRY;
    }
    rmSync(INSTALL_DIR, { recursive: true, force: true });
    // mkdtemp made it private; it is an ordinary install folder.
    chmodSync(staging, 0o755);
    renameSync(staging, INSTALL_DIR);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  writeFileAtomic(
    COMPLETE_MARKER,
    JSON.stringify({ version: CODE_SERVER_VERSION, installed: new Date().toISOString() }) + '\n',
  );
  return ENTRY;
}

/**
 * VS Code's ripgrep package downloads a prebuilt binary from GitHub in its
 * postinstall, which cannot work here. It looks in a cache under $TMPDIR first;
 * a tarball of Debian's `rg` under the expected name satisfies it.
 */
function seedRipgrepDownload(downloads: string): void {
  const targets: Partial<Record<string, string>> = {
    x64: 'x86_64-unknown-linux-musl',
    arm64: 'aarch64-unknown-linux-musl',
  };
  const target = targets[arch()];
  if (target === undefined) {
    throw new SluiceError(`code-server's ripgrep cannot be provided on ${arch()} here.`, 'failed');
  }
  const ripgrep = findOnPath('rg');
  if (ripgrep === undefined) {
    throw new SluiceError('ripgrep (`rg`) is not on PATH.', 'failed', 'Install the Debian package ripgrep.');
  }
  // Versions pinned by code-server 4.100.3's shrinkwrap (@vscode/ripgrep 1.15.11).
  const cache = join(downloads, 'vscode-ripgrep-cache-1.15.11');
  mkdirSync(cache, { recursive: true });
  const tarball = join(cache, `ripgrep-v13.0.0-10-${target}.tar.gz`);
  const tar = spawnSync('tar', ['-czf', tarball, '-C', dirname(ripgrep), 'rg'], { encoding: 'utf8' });
  if (tar.status !== 0) {
    throw new SluiceError(`Could not pack ${ripgrep} for code-server: ${tar.stderr.trim()}`, 'failed');
  }
}

function findOnPath(command: string): string | undefined {
  return (process.env['PATH'] ?? '')
    .split(delimiter)
    .map((folder) => join(folder, command))
    .find((candidate) => existsSync(candidate));
}

export interface CodeServerOptions {
  /** Where its settings, extensions, home and temp files go. */
  readonly profile: EditorProfile;
  /** false starts it with --disable-workspace-trust: every folder is trusted, no prompt. */
  readonly workspaceTrust: boolean;
  /** Extra variables for the server and so for its extension host. */
  readonly env?: Readonly<Record<string, string>>;
  /** Defaults to a free port chosen by the system. */
  readonly port?: number;
  /** Called when a signal (SIGINT, SIGTERM, SIGHUP) stopped the server, before this process exits. */
  readonly onSignal?: (signal: EndingSignal) => void;
}

export interface RunningCodeServer {
  /** `http://127.0.0.1:PORT`, without a trailing slash. */
  readonly url: string;
  /** `127.0.0.1:PORT`: the authority of vscode-remote:// URIs the workbench resolves on this server. */
  readonly authority: string;
  /** Where its output goes. */
  readonly logFile: string;
  /** Resolves when the server process exits, whoever stopped it. */
  readonly exited: Promise<number | null>;
  /** Stops the server and everything it started (the extension host survives the server otherwise). */
  stop(): Promise<void>;
  /** The signal that is ending this process (and so the server), if one is. */
  signalled(): EndingSignal | undefined;
}

/** How long code-server may take to listen and answer /healthz (it takes about a second). */
const START_TIMEOUT_MS = 30_000;
/** How long it may take to leave after SIGTERM before the whole group gets SIGKILL. */
const STOP_TIMEOUT_MS = 5_000;

/**
 * Starts code-server on 127.0.0.1 in its own session and process group
 * (spawn's `detached` calls setsid), so stop() can end the whole group.
 * Resolves once it answers /healthz.
 */
export async function startCodeServer(options: CodeServerOptions): Promise<RunningCodeServer> {
  const entry = ensureCodeServer();
  const { profile } = options;
  const args = [
    entry,
    '--bind-addr',
    `127.0.0.1:${String(options.port ?? 0)}`,
    '--auth',
    'none',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-getting-started-override',
    '--user-data-dir',
    profile.userData,
    '--extensions-dir',
    profile.extensions,
    '--config',
    profile.codeServerConfig,
    ...(options.workspaceTrust ? [] : ['--disable-workspace-trust']),
  ];
  const logFile = join(profile.root, 'code-server.log');
  const log = createWriteStream(logFile, { flags: 'a' });
  // Whatever ends this process (a signal, Ctrl-C, a closed terminal, an exit), the editor must not outlive it.
  const group = spawnGroup(process.execPath, args, {
    env: { ...profile.environment(), ...options.env },
    graceMs: STOP_TIMEOUT_MS,
    ...(options.onSignal === undefined ? {} : { onSignal: options.onSignal }),
  });
  const { child, exited } = group;
  // Read until the line that names the port; after that the output only goes to the log.
  let startOutput: string | undefined = '';
  const listening = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      log.write(chunk);
      if (startOutput === undefined) return;
      startOutput += chunk.toString('utf8');
      const address = /HTTP server listening on http:\/\/(127\.0\.0\.1:\d+)\//.exec(startOutput)?.[1];
      if (address !== undefined) {
        startOutput = undefined;
        resolve(address);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => {
      reject(
        new SluiceError(
          `code-server exited (code ${String(code)}) before it listened; its log is ${logFile}.`,
          'failed',
        ),
      );
    });
  });

  const stop = async (): Promise<void> => {
    // The extension host and the language server may linger after the server leaves: the whole group goes.
    await group.stop();
    await new Promise<void>((resolve) => log.end(resolve));
  };

  try {
    const authority = await withTimeout(
      listening,
      START_TIMEOUT_MS,
      `code-server did not listen within 30 s; its log is ${logFile}.`,
    );
    const url = `http://${authority}`;
    await waitForHealth(url, () => child.exitCode === null && child.signalCode === null);
    return { url, authority, logFile, exited, stop, signalled: () => group.signalled() };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitForHealth(url: string, running: () => boolean): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (running() && Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      // Not answering yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new SluiceError(`code-server at ${url} did not answer /healthz.`, 'failed');
}

export function withTimeout<T>(promise: Promise<T>, milliseconds: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new SluiceError(message, 'failed'));
    }, milliseconds);
  });
  return Promise.race([promise, timeout]).finally(() => {
    clearTimeout(timer);
  });
}
