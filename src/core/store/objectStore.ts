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
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { execFile } from 'node:child_process';
import { chmod, copyFile, open, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { hashFile } from '../fs/hashFile';
import { makeFolder } from '../fs/makeFolder';

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
    makeFolder(this.scratch);
    return this.scratch;
  }

  /**
   * Makes all 256 fan-out folders at once, before many blobs are written:
   * made one by one in the middle of the writes, each would wait for the
   * journal commits the blobs' fsyncs force.
   */
  makeFanOut(): void {
    for (let i = 0; i < 256; i++) makeFolder(join(this.objects, i.toString(16).padStart(2, '0')));
  }

  /**
   * 256 scratch subfolders for the temporary files of many blobs: creating
   * thousands of files in one folder from two threads makes each wait for the
   * other (and for a folder index that keeps growing); spread out, a create
   * costs a third as much here.
   */
  scratchShards(): string[] {
    const shards = Array.from({ length: 256 }, (_, i) => join(this.scratch, i.toString(16).padStart(2, '0')));
    for (const shard of shards) makeFolder(shard);
    return shards;
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
    makeFolder(dirname(target));
    renameSync(temporary, target);
  }

  /**
   * Makes the temporary files `pending` durable all at once, then moves each
   * into place as its blob (a blob that exists is still always complete). One
   * flush of the file system replaces an fsync per file: on ext4 every fsync
   * waits for a journal commit, and creating the next temporary file waits
   * behind it, so for thousands of blobs one flush is several times faster.
   * `maybeYield` gives the event loop its turns between renames.
   */
  async adoptDurably(
    pending: readonly { readonly temporary: string; readonly hash: string }[],
    maybeYield: () => Promise<void>,
  ): Promise<void> {
    if (pending.length === 0) return;
    // A flush started before the last writes does not cover them: this one starts after it ends.
    await this.earlyFlush;
    await flushFiles(
      this.scratch,
      pending.map((file) => file.temporary),
    );
    for (const { temporary, hash } of pending) {
      this.adopt(temporary, hash);
      await maybeYield();
    }
  }

  private earlyFlush: Promise<void> | undefined;

  /**
   * Starts writing what is written so far to the disk, without waiting (while
   * blobs are still being written, so the disk works meanwhile): only a head
   * start for adoptDurably's flush, which alone vouches for the blobs.
   */
  flushSoon(): void {
    if (this.earlyFlush || process.platform !== 'linux') return;
    this.earlyFlush = new Promise<void>((resolve) => {
      execFile('sync', ['-f', this.scratch], () => {
        this.earlyFlush = undefined;
        resolve();
      });
    });
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
    return hashFile(this.pathOf(hash)) === hash;
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
    const now = Date.now();
    const sweep = (folder: string, depth: number): number => {
      let removed = 0;
      let names: string[];
      try {
        names = readdirSync(folder);
      } catch {
        return 0;
      }
      for (const name of names) {
        const path = join(folder, name);
        try {
          const stat = statSync(path);
          // The scratch subfolders (scratchShards) stay; what is in them is swept like the rest.
          if (stat.isDirectory()) {
            if (depth === 0) removed += sweep(path, 1);
          } else if (now - stat.mtimeMs > ageMs) {
            rmSync(path, { force: true });
            removed++;
          }
        } catch {
          // Gone already: another process cleaned it.
        }
      }
      return removed;
    };
    return sweep(this.scratch, 0);
  }
}

/**
 * Makes `files` durable (all on the file system of `folder`). On Linux, `sync
 * -f` (syncfs(2), which Node does not offer) flushes that file system once;
 * elsewhere, or if it cannot run, each file is fsynced, many at a time.
 */
async function flushFiles(folder: string, files: readonly string[]): Promise<void> {
  if (process.platform === 'linux') {
    try {
      await new Promise<void>((resolve, reject) => {
        execFile('sync', ['-f', folder], (error) => {
          if (error) reject(new Error(error.message));
          else resolve();
        });
      });
      return;
    } catch {
      // No coreutils sync with -f here: one fsync per file below.
    }
  }
  let next = 0;
  const flushOne = async (): Promise<void> => {
    while (next < files.length) {
      const file = await open(files[next++]!, 'r');
      try {
        await file.sync();
      } finally {
        await file.close();
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, flushOne));
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
