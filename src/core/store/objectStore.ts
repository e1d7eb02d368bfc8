// The data plane: content-addressed blobs under .sluice/objects/sha256/ab/cdef…
// Every blob is written to a temporary file, fsynced, made read-only and
// renamed into place, so a blob that exists is always complete.
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  constants,
  copyFileSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { chmod, copyFile, open, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export const SHA256 = /^[0-9a-f]{64}$/;

export class ObjectStore {
  readonly objects: string;
  readonly scratch: string;

  constructor(readonly root: string) {
    this.objects = join(root, 'objects', 'sha256');
    this.scratch = join(root, 'tmp');
  }

  pathOf(hash: string): string {
    return join(this.objects, hash.slice(0, 2), hash.slice(2));
  }

  has(hash: string): boolean {
    return existsSync(this.pathOf(hash));
  }

  /** The folder for temporary files (made if missing), on the store's disk so renames into place are atomic. */
  scratchFolder(): string {
    mkdirSync(this.scratch, { recursive: true });
    return this.scratch;
  }

  /**
   * Makes all 256 fan-out folders at once, before many blobs are written:
   * made one by one in the middle of the writes, each would wait for the
   * journal commits the blobs' fsyncs force.
   */
  makeFanOut(): void {
    for (let i = 0; i < 256; i++)
      mkdirSync(join(this.objects, i.toString(16).padStart(2, '0')), { recursive: true });
  }

  /** A fresh temporary file name in the scratch folder. */
  temporaryPath(): string {
    return join(this.scratchFolder(), `blob-${process.pid}-${randomBytes(8).toString('hex')}`);
  }

  /**
   * Moves a complete, fsynced temporary file into place as blob `hash`. When
   * the blob already exists (another snapshot had the same bytes) the
   * temporary file is dropped instead.
   */
  adopt(temporary: string, hash: string): void {
    const target = this.pathOf(hash);
    if (existsSync(target)) {
      rmSync(temporary, { force: true });
      // Freshly used again: gc keeps young blobs, so it cannot remove this one
      // between now and the moment the new record is written.
      const now = new Date();
      utimesSync(target, now, now);
      return;
    }
    chmodSync(temporary, 0o444);
    mkdirSync(dirname(target), { recursive: true });
    renameSync(temporary, target);
  }

  /** Copies a file into the store (hashing as it reads) and returns its hash. */
  importFile(path: string): { hash: string; size: number } {
    const temporary = this.temporaryPath();
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(1 << 20);
    const input = openSync(path, 'r');
    const output = openSync(temporary, 'wx', 0o644);
    let size = 0;
    try {
      for (;;) {
        const read = readSync(input, buffer, 0, buffer.length, null);
        if (read === 0) break;
        hash.update(buffer.subarray(0, read));
        writeSync(output, buffer, 0, read);
        size += read;
      }
      fsyncSync(output);
    } finally {
      closeSync(input);
      closeSync(output);
    }
    const digest = hash.digest('hex');
    this.adopt(temporary, digest);
    return { hash: digest, size };
  }

  /**
   * Writes blob `hash` to `target` atomically: a copy (a reflink where the
   * file system can) into a temporary file, fsync, then rename. Never a hard
   * link, which would let an edit in place change the stored blob.
   */
  async materialize(hash: string, target: string, mode: number): Promise<void> {
    // The temporary copy lives in the store's scratch folder, not beside the
    // target: a crash must not leave a stray file inside a dataset.
    const temporary = this.temporaryPath();
    try {
      await copyFile(this.pathOf(hash), temporary, constants.COPYFILE_FICLONE);
      await chmod(temporary, mode);
      const file = await open(temporary, 'r');
      try {
        await file.sync();
      } finally {
        await file.close();
      }
      moveIntoPlace(temporary, target);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }

  /** Every blob hash in the store. */
  *list(): Generator<string> {
    let fans: string[];
    try {
      fans = readdirSync(this.objects);
    } catch {
      return;
    }
    for (const fan of fans) {
      if (!/^[0-9a-f]{2}$/.test(fan)) continue;
      for (const rest of readdirSync(join(this.objects, fan))) {
        const hash = fan + rest;
        if (SHA256.test(hash)) yield hash;
      }
    }
  }

  /** Re-reads a blob and tells whether its content still has its name's hash. */
  verify(hash: string): boolean {
    const digest = createHash('sha256');
    const buffer = Buffer.allocUnsafe(1 << 20);
    const descriptor = openSync(this.pathOf(hash), 'r');
    try {
      for (;;) {
        const read = readSync(descriptor, buffer, 0, buffer.length, null);
        if (read === 0) break;
        digest.update(buffer.subarray(0, read));
      }
    } finally {
      closeSync(descriptor);
    }
    return digest.digest('hex') === hash;
  }

  /** Removes a blob; returns its size. */
  remove(hash: string): number {
    const path = this.pathOf(hash);
    const size = statSync(path).size;
    rmSync(path, { force: true });
    return size;
  }

  /** Removes temporary files older than `ageMs`, left by interrupted writers. */
  removeStaleTemporaries(ageMs: number): number {
    let removed = 0;
    let names: string[];
    try {
      names = readdirSync(this.scratch);
    } catch {
      return 0;
    }
    const now = Date.now();
    for (const name of names) {
      const path = join(this.scratch, name);
      try {
        if (now - statSync(path).mtimeMs > ageMs) {
          rmSync(path, { force: true });
          removed++;
        }
      } catch {
        // Gone already: another process cleaned it.
      }
    }
    return removed;
  }
}

/**
 * rename(2) into place; when the target is on another file system (a dataset
 * on a mount), copy beside it first, then rename there.
 */
export function moveIntoPlace(temporary: string, target: string): void {
  try {
    renameSync(temporary, target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    const beside = join(dirname(target), `.sluice-${randomBytes(6).toString('hex')}`);
    try {
      copyFileSync(temporary, beside);
      renameSync(beside, target);
    } finally {
      rmSync(beside, { force: true });
      rmSync(temporary, { force: true });
    }
  }
}
