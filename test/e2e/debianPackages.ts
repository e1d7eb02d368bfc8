// The Debian packages the editor tooling needs: installed with apt when we run
// as root (CI, containers), otherwise named in one line for the user to install.
import { spawnSync } from 'node:child_process';
import { SluiceError } from '../../src/core/errors';

/** Debian packages that are not installed, in the order given. Empty where dpkg is absent (not Debian). */
export function missingDebianPackages(names: readonly string[]): string[] {
  const query = spawnSync('dpkg-query', ['-W', '-f=${Package} ${db:Status-Abbrev}\n', ...names], {
    encoding: 'utf8',
  });
  if (query.error !== undefined) return [];
  const installed = new Set(
    query.stdout
      .split('\n')
      .map((line) => line.split(' '))
      .filter(([, status]) => status === 'ii')
      .map(([name]) => name),
  );
  return names.filter((name) => !installed.has(name));
}

/**
 * Makes sure `names` are installed. As root it runs apt-get; as anyone else it
 * throws one line naming exactly what to install, since only the user can.
 */
export function ensureDebianPackages(names: readonly string[], purpose: string): void {
  const missing = missingDebianPackages(names);
  if (missing.length === 0) return;
  const install = `apt-get install -y ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) {
    throw new SluiceError(
      `${purpose} needs the Debian packages ${missing.join(', ')}, which are not installed.`,
      'failed',
      `Install them with \`sudo ${install}\`, then run this again.`,
    );
  }
  console.log(`Installing ${missing.join(', ')} for ${purpose} (apt-get, as root).`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const argv of [
    ['update', '-qq'],
    ['install', '-y', '-qq', ...missing],
  ]) {
    const apt = spawnSync('apt-get', argv, { stdio: ['ignore', 'inherit', 'inherit'], env });
    if (apt.status !== 0) {
      throw new SluiceError(
        `apt-get ${argv.join(' ')} failed (${apt.error?.message ?? `exit code ${String(apt.status)}`}).`,
        'failed',
        `Install the packages by hand with \`${install}\`, then run this again.`,
      );
    }
  }
  const stillMissing = missingDebianPackages(missing);
  if (stillMissing.length > 0) {
    throw new SluiceError(
      `apt-get did not install ${stillMissing.join(', ')}.`,
      'failed',
      `Try \`${install}\`.`,
    );
  }
}
