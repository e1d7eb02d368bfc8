// One editor session's private folders: VS Code's user data (with its
// settings), the extensions folder, and a home and temp folder for the server
// and the browser, so nothing is written into the real home.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface EditorProfile {
  readonly root: string;
  readonly userData: string;
  readonly extensions: string;
  readonly home: string;
  readonly codeServerConfig: string;
  /** This process's environment with HOME, XDG_* and TMPDIR pointing inside the profile. */
  environment(): NodeJS.ProcessEnv;
}

/** Settings every session gets: no welcome page, no tips, nothing that phones home or updates itself. */
const QUIET_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
};

/**
 * What tests add: VS Code in a browser saves edits after a delay by default;
 * tests save when they mean to, so the disk changes only when a step says so.
 */
export const TEST_SETTINGS = { 'files.autoSave': 'off' };

/** Lays out a profile in `root` (created if missing), with QUIET_SETTINGS plus `settings`. */
export function createEditorProfile(
  root: string,
  settings: Readonly<Record<string, unknown>> = {},
): EditorProfile {
  const profile = {
    root,
    userData: join(root, 'user-data'),
    extensions: join(root, 'extensions'),
    home: join(root, 'home'),
    codeServerConfig: join(root, 'code-server.yaml'),
    environment(): NodeJS.ProcessEnv {
      const home = profile.home;
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        HOME: home,
        XDG_CONFIG_HOME: join(home, '.config'),
        XDG_DATA_HOME: join(home, '.local/share'),
        XDG_CACHE_HOME: join(home, '.cache'),
        XDG_STATE_HOME: join(home, '.local/state'),
        TMPDIR: join(home, 'tmp'),
      };
      // Sockets would go to the real runtime folder; without it they go to TMPDIR.
      delete env['XDG_RUNTIME_DIR'];
      return env;
    },
  };
  for (const folder of [join(profile.userData, 'User'), profile.extensions, join(profile.home, 'tmp')]) {
    mkdirSync(folder, { recursive: true });
  }
  writeFileSync(
    join(profile.userData, 'User', 'settings.json'),
    JSON.stringify({ ...QUIET_SETTINGS, ...settings }, null, 2) + '\n',
  );
  // Its defaults are a password and a port of its own; the command line sets both, so the file stays empty.
  writeFileSync(profile.codeServerConfig, '');
  return profile;
}

/**
 * A scratch folder for one test session, in the system temp folder: a short
 * path keeps the sockets VS Code creates in it under the 108-byte limit.
 */
export function createScratchFolder(prefix: string): { readonly path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return {
    path,
    remove() {
      rmSync(path, { recursive: true, force: true });
    },
  };
}
