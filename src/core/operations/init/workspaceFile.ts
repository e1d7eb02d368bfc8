// Writing the files `sluice init` creates. Each file is written to a temporary
// name, flushed, then put in place in one step, so a crash or a full disk never
// leaves a half-written manifest, and an existing file is only ever replaced
// when the caller asked for it.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  copyFileSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SluiceError } from '../../errors';

/** A file of a workspace: a path relative to the workspace root, with `/` separators, and its text. */
export interface WorkspaceFile {
  readonly path: string;
  readonly content: string;
}

/** Errors of `link(2)` that mean the file system has no hard links, not that the target exists. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'ENOSYS']);

/**
 * Writes `file` under `root`. With `replace: false` it fails with a usage error
 * if the file already exists, even when another process creates it meanwhile.
 */
export function writeWorkspaceFile(root: string, file: WorkspaceFile, options: { replace: boolean }): void {
  const target = join(root, ...file.path.split('/'));
  mkdirSync(dirname(target), { recursive: true });
  const temporary = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  const descriptor = openSync(temporary, 'wx');
  try {
    try {
      writeSync(descriptor, file.content);
      fsyncSync(descriptor);
    } finally {
      closeSync(descriptor);
    }
    if (options.replace) renameSync(temporary, target);
    else placeWithoutReplacing(temporary, target);
  } finally {
    rmSync(temporary, { force: true });
  }
}

/** link(2) is atomic and refuses an existing target, unlike rename(2), which would replace it. */
function placeWithoutReplacing(temporary: string, target: string): void {
  try {
    linkSync(temporary, target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') throw alreadyExists(target);
    if (!NO_HARD_LINKS.has(code)) throw error;
    try {
      copyFileSync(temporary, target, constants.COPYFILE_EXCL);
    } catch (copyError) {
      if ((copyError as NodeJS.ErrnoException).code === 'EEXIST') throw alreadyExists(target);
      throw copyError;
    }
  }
}

function alreadyExists(target: string): SluiceError {
  return new SluiceError(`${target} already exists.`, 'usage', 'Sluice does not overwrite it.');
}
