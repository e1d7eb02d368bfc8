// The one way Sluice writes a file that matters: a temporary file beside the
// target, fsync, rename(2). Readers see the old content or the new, never half.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { withPath } from '../errors';
import { makeFolder, makeFolderAsync } from './makeFolder';

export function writeFileAtomic(target: string, content: string | Buffer, mode = 0o644): void {
  makeFolder(dirname(target));
  const temporary = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  const descriptor = openSync(temporary, 'wx', mode);
  try {
    try {
      writeSync(descriptor, typeof content === 'string' ? Buffer.from(content) : content);
      fsyncSync(descriptor);
    } finally {
      closeSync(descriptor);
    }
    renameSync(temporary, target);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw withPath(error, target);
  }
}

/** The same, without blocking the event loop while the bytes reach the disk. */
export async function writeFileAtomicAsync(
  target: string,
  content: string | Buffer,
  mode = 0o644,
): Promise<void> {
  await makeFolderAsync(dirname(target));
  const temporary = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  const file = await open(temporary, 'wx', mode);
  try {
    try {
      await file.writeFile(content);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw withPath(error, target);
  }
}
