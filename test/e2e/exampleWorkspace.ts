// The workspace every editor session opens: the churn example, made the way a
// user makes it, by the built `sluice init DIR --example churn`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SluiceError } from '../../src/core/errors';
import { CLI } from './paths';

export const EXAMPLE = 'churn';
export const MANIFEST = 'sluice.yaml';

/** Creates the example in `dir` (new or empty) with dist/cli.js; returns `dir`. */
export function createExampleWorkspace(dir: string): string {
  if (!existsSync(CLI)) {
    throw new SluiceError(`${CLI} is missing.`, 'failed', 'Run `npm run build` first.');
  }
  const init = spawnSync(process.execPath, [CLI, 'init', dir, '--example', EXAMPLE], { encoding: 'utf8' });
  if (init.status !== 0) {
    throw new SluiceError(`sluice init ${dir} --example ${EXAMPLE} failed: ${init.stderr.trim()}`, 'failed');
  }
  if (!existsSync(join(dir, MANIFEST))) {
    throw new SluiceError(`sluice init left no ${MANIFEST} in ${dir}.`, 'failed');
  }
  return dir;
}
