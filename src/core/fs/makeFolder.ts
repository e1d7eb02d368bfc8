// mkdir -p that says why it failed. Node's recursive mkdir reports ENOENT
// when a missing parent cannot be created (a read-only file system, a full
// disk, a folder it may not write): the user would be told a path does not
// exist when the truth is that the disk refused it.
import { existsSync, mkdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

export function makeFolder(path: string, mode?: number): void {
  try {
    mkdirSync(path, { recursive: true, ...(mode === undefined ? {} : { mode }) });
  } catch (error) {
    throw realCause(path, error);
  }
}

export async function makeFolderAsync(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true });
  } catch (error) {
    throw realCause(path, error);
  }
}

/**
 * For an ENOENT: the error of creating the first missing folder on its own,
 * which names the real reason. For an EEXIST ("it already exists"): a file is
 * where the folder should be, which ENOTDIR says in words.
 */
function realCause(path: string, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EEXIST')
    return Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${path}'`), {
      code: 'ENOTDIR',
      syscall: 'mkdir',
      path,
    });
  if (code !== 'ENOENT') return error;
  let missing = path;
  for (let parent = dirname(missing); parent !== missing && !existsSync(parent); parent = dirname(parent))
    missing = parent;
  try {
    mkdirSync(missing);
  } catch (cause) {
    return cause;
  }
  return error;
}
