// The packaged extension: `npm run package` builds it (bundles without source
// maps, then vsce with .vscodeignore), and code-server installs it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import yauzl from 'yauzl';
import { SluiceError } from '../../src/core/errors';
import { ensureCodeServer } from './codeServer';
import type { EditorProfile } from './editorProfile';
import { ROOT, vsixPath } from './paths';

/** Runs `npm run package` in the repository and returns the VSIX it wrote. */
export function packageExtension(): string {
  const result = spawnSync('npm', ['run', '--silent', 'package'], { cwd: ROOT, stdio: 'inherit' });
  const vsix = vsixPath();
  if (result.status !== 0 || !existsSync(vsix)) {
    throw new SluiceError(
      `npm run package failed (exit code ${String(result.status)}).`,
      'failed',
      'Its output is above.',
    );
  }
  return vsix;
}

/** Installs `vsix` into the profile's extensions folder with code-server's own installer. */
export function installVsix(profile: EditorProfile, vsix: string): void {
  const install = spawnSync(
    process.execPath,
    [
      ensureCodeServer(),
      '--user-data-dir',
      profile.userData,
      '--extensions-dir',
      profile.extensions,
      '--config',
      profile.codeServerConfig,
      '--install-extension',
      vsix,
      '--force',
    ],
    { encoding: 'utf8', env: profile.environment(), timeout: 120_000 },
  );
  if (install.status !== 0) {
    throw new SluiceError(
      `code-server --install-extension ${vsix} failed: ${(install.stderr || install.stdout).trim()}`,
      'failed',
    );
  }
}

/** Every file in the VSIX (a zip) by its path inside it, with its uncompressed bytes. */
export function readVsix(vsix: string): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.open(vsix, { lazyEntries: true }, (openError, zip) => {
      if (openError !== null) {
        reject(openError);
        return;
      }
      const files = new Map<string, Buffer>();
      zip.on('error', reject);
      zip.on('end', () => {
        resolve(files);
      });
      zip.on('entry', (entry: yauzl.Entry) => {
        if (entry.fileName.endsWith('/')) {
          zip.readEntry();
          return;
        }
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError !== null) {
            reject(streamError);
            return;
          }
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('error', reject);
          stream.on('end', () => {
            files.set(entry.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}
