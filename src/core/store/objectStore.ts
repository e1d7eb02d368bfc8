// The data plane: content-addressed blobs under .sluice/objects/sha256/ab/cdef…
// Every blob is written to a temporary file, fsynced, made read-only and
// renamed into place, so a blob that exists is always complete. Small blobs
// that came from a remote in packs may stay packed (localPacks.ts): `has`,
// `readVerified`, `list` and `verify` answer for both, and `loosePath` unpacks
// a blob for the callers that need it as a file of its own.
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  constants,
  copyFileSync,
  existsSync,
  fsyncSync,
  linkSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { execFile } from 'node:child_process';
import { copyFile, open, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SluiceError, withPath } from '../errors';
import { hashFile } from '../fs/hashFile';
import { makeFolder } from '../fs/makeFolder';
import { LocalPacks, type StagedPack } from './localPacks';
import { usefulThreads, WorkerPool } from './workerPool';

export const SHA256 = /^[0-9a-f]{64}$/;

/** Hashes a file elsewhere (in a worker thread) and returns its sha256. */
export type FileHasher = (path: string) => Promise<string>;

/**
 * A FileHasher on worker threads: `run` gets it, and the threads stop when
 * `run` settles. Worth it when many bytes leave the cache (starting a thread
 * costs tens of ms).
 */
export async function withHashThreads<T>(run: (hasher: FileHasher) => Promise<T>): Promise<T> {
  // As many as the cores: this thread mostly waits on the copies and flushes meanwhile.
  const pool = new WorkerPool(usefulThreads());
  pool.grow(pool.maxWorkers);
  const hasher: FileHasher = async (path) => {
    const worker = pool.idleWorker(Number.MAX_SAFE_INTEGER, false)!;
    const reply = await pool.hashFiles(worker, '', [{ path, temporary: undefined }], false);
    if ('error' in reply) {
      const error = new Error(reply.error.message) as NodeJS.ErrnoException;
      if (reply.error.code !== undefined) error.code = reply.error.code;
      throw error;
    }
    return Buffer.from(reply.digests.subarray(0, 32)).toString('hex');
  };
  try {
    return await run(hasher);
  } finally {
    await pool.close();
  }
}

/** From how many blobs asked about lacking() lists fan-out folders rather than look for each file. */
const LIST_FAN_OUT_FROM = 2048;

/** The names in `folder`; none when it does not exist. */
function readNames(folder: string): string[] {
  try {
    return readdirSync(folder);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Temporary names: this process's id and a random prefix, then a counter (one random draw per process, not per file). */
const TEMPORARY_PREFIX = `blob-${process.pid}-${randomBytes(6).toString('hex')}`;
let temporaryCounter = 0;

export class ObjectStore {
  readonly objects: string;
  readonly scratch: string;
  readonly packs: LocalPacks;
  /** Whether this process made (or found) the scratch folder already: one mkdir, not one per file. */
  #scratchMade = false;

  constructor(readonly root: string) {
    this.objects = join(root, 'objects', 'sha256');
    this.scratch = join(root, 'tmp');
    this.packs = new LocalPacks(join(root, 'objects'));
  }

  /** Where blob `hash` is (or would be) as a file of its own; a packed blob is not there (see loosePath). */
  pathOf(hash: string): string {
    return join(this.objects, hash.slice(0, 2), hash.slice(2));
  }

  has(hash: string): boolean {
    return this.lacking([hash]).length === 0;
  }

  /**
   * The blobs of `hashes` the cache has neither loose nor packed. Asked about
   * many, it lists the fan-out folders they fall in (one read each) instead
   * of looking for each file: 100,000 misses in an empty cache cost 256 reads,
   * not 100,000 stat calls.
   */
  lacking(hashes: Iterable<string>): string[] {
    const unpacked = [...hashes].filter((hash) => this.packs.known(hash) === undefined);
    let loose: (hash: string) => boolean = (hash) => existsSync(this.pathOf(hash));
    if (unpacked.length >= LIST_FAN_OUT_FROM) {
      const listed = new Map<string, Set<string>>();
      loose = (hash) => {
        const prefix = hash.slice(0, 2);
        let names = listed.get(prefix);
        if (names === undefined) {
          names = new Set(readNames(join(this.objects, prefix)));
          listed.set(prefix, names);
        }
        return names.has(hash.slice(2));
      };
    }
    // A pack another process added since the first look is found by locate's second look.
    return unpacked.filter((hash) => !loose(hash) && this.packs.locate(hash) === undefined);
  }

  /** Whether blob `hash` is stored as a file of its own. */
  hasLoose(hash: string): boolean {
    return existsSync(this.pathOf(hash));
  }

  /** A blob's size, or undefined when the cache does not have it. */
  sizeOf(hash: string): number | undefined {
    const known = this.packs.known(hash);
    if (known) return known.length;
    try {
      return statSync(this.pathOf(hash)).size;
    } catch {
      return this.packs.locate(hash)?.length;
    }
  }

  /**
   * A blob's bytes, whole, after checking they still hash to its name (a
   * `damaged-blob` error otherwise, `missing-blob` when the cache lacks it).
   * For small blobs: the bytes are held in memory.
   */
  readVerified(hash: string): Buffer {
    const path = this.pathOf(hash);
    // A blob known packed is read there; else the file, read without a look first (a missing
    // file costs an exception, rare here); only then are the packs looked at again (another
    // process may have added one).
    let place = this.packs.known(hash);
    let packed = place && this.packs.read(place);
    if (packed !== undefined && digestOf(packed) === hash) return packed;
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      if (place === undefined) {
        place = this.packs.locate(hash);
        packed = place && this.packs.read(place);
        if (packed !== undefined && digestOf(packed) === hash) return packed;
      }
      if (place === undefined) throw missingBlob(hash, path);
      // Gone or damaged in its pack, and no loose copy to answer instead (as fsck's verify does).
      const pack = this.packs.pathOf(place.pack);
      throw packed === undefined ? missingBlob(hash, pack) : damagedBlob(hash, pack);
    }
    if (digestOf(bytes) !== hash) throw damagedBlob(hash, path);
    return bytes;
  }

  /**
   * The path of blob `hash` as a file of its own, unpacking it (checked,
   * durable, read-only) when it is only packed. A blob the cache lacks gets
   * its would-be path: reading it fails with ENOENT, as for any missing blob.
   */
  loosePath(hash: string): string {
    const path = this.pathOf(hash);
    if (existsSync(path) || this.packs.locate(hash) === undefined) return path;
    const bytes = this.readVerified(hash);
    const temporary = this.temporaryPath();
    const output = openSync(temporary, 'wx', 0o444);
    try {
      for (let written = 0; written < bytes.length;)
        written += writeSync(output, bytes, written, bytes.length - written);
      fsyncSync(output);
    } catch (error) {
      rmSync(temporary, { force: true });
      throw withPath(error, temporary);
    } finally {
      closeSync(output);
    }
    this.adopt(temporary, hash);
    return path;
  }

  /** The folder for temporary files (made if missing), on the store's disk so renames into place are atomic. */
  scratchFolder(): string {
    if (!this.#scratchMade) {
      makeFolder(this.scratch);
      this.#scratchMade = true;
    }
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
    return join(this.scratchFolder(), `${TEMPORARY_PREFIX}-${String(temporaryCounter++)}`);
  }

  /**
   * Moves a complete, fsynced temporary file into place as blob `hash`. When
   * the blob exists already (another snapshot had the same bytes), the fresh
   * copy replaces it all the same: its bytes were just hashed, the old file's
   * may have been damaged since, and a rename costs no more than a removal.
   */
  adopt(temporary: string, hash: string): void {
    const target = this.pathOf(hash);
    chmodSync(temporary, 0o444);
    // Also freshly dated: gc keeps young blobs, so it cannot remove this one
    // between now and the moment the new record is written. The fan-out folder
    // is made only when the rename says it is missing: a mkdir per blob cost
    // a sixth of a pull of 10,000 small files.
    try {
      renameSync(temporary, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || !existsSync(temporary)) throw error;
      makeFolder(dirname(target));
      renameSync(temporary, target);
    }
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
    packs: readonly StagedPack[] = [],
  ): Promise<void> {
    if (pending.length === 0 && packs.length === 0) return;
    // A flush started before the last writes does not cover them: this one starts after it ends.
    await this.earlyFlush;
    await flushFiles(this.scratch, [
      ...pending.map((file) => file.temporary),
      ...packs.flatMap((pack) => [pack.packTemporary, pack.indexTemporary]),
    ]);
    for (const pack of packs) this.packs.adopt(pack);
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
    } catch (error) {
      rmSync(temporary, { force: true });
      throw withPath(error, temporary);
    } finally {
      closeSync(input);
      closeSync(output);
    }
    const digest = hash.digest('hex');
    this.adopt(temporary, digest);
    return { hash: digest, size };
  }

  /**
   * Takes blob `hash` out of the cache as a new file at `target`, atomically:
   * its bytes are hashed as they are copied into a temporary file, which is
   * fsynced and renamed into place only if they still have the blob's hash.
   * Every copy that leaves the cache goes through here (or placeVerified), so
   * a damaged blob stops the operation (a `damaged-blob` error) and never
   * lands anywhere. Never a hard link, which would let an edit in place change
   * the stored blob.
   */
  async materialize(hash: string, target: string, mode: number, hasher?: FileHasher): Promise<void> {
    // The temporary copy lives in the store's scratch folder, not beside the
    // target: a crash must not leave a stray file inside a dataset.
    const temporary = this.temporaryPath();
    try {
      if (UNVERIFIED_FOR_BENCHMARK) await this.copyUnverified(hash, temporary, mode);
      else await this.copyVerified(hash, temporary, mode, hasher);
      moveIntoPlace(temporary, target);
    } catch (error) {
      await rm(temporary, { force: true });
      // A failed fsync or write on the copy (ENOSPC) carries no path: name the file being restored.
      throw withPath(error, target);
    }
  }

  /**
   * Copies blob `hash` into the new file `temporary` (mode `mode`) and fsyncs
   * it; throws `damaged-blob` (the file removed by the caller) when the bytes
   * written do not have the blob's hash. The copy is the kernel's (a reflink
   * where it can); the copied file is then hashed here, from the page cache,
   * while libuv's threads flush it to the disk: the hashing costs CPU that the
   * flush leaves idle, and it checks exactly the bytes that will land. With
   * `hasher` (worker threads, for large restores) the hashing leaves this
   * thread free to start the next copies.
   */
  private async copyVerified(
    hash: string,
    temporary: string,
    mode: number,
    hasher: FileHasher | undefined,
  ): Promise<void> {
    const source = this.loosePath(hash);
    try {
      await copyFile(source, temporary, constants.COPYFILE_FICLONE);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !existsSync(source))
        throw missingBlob(hash, source);
      throw error;
    }
    const file = await open(temporary, 'r');
    try {
      await file.chmod(mode);
      const flushed = file.sync();
      let digest: string;
      try {
        digest = hasher ? await hasher(temporary) : hashDescriptor(file.fd);
      } finally {
        await flushed;
      }
      if (digest !== hash) throw damagedBlob(hash, source);
    } finally {
      await file.close();
    }
  }

  /**
   * Takes many small blobs out of the cache at once: each is copied into a
   * temporary file and hashed (a damaged blob stops it all, before anything
   * is placed), then one flush of the file system makes every copy durable,
   * then each is renamed into place. Every file is still whole, old or new,
   * whatever happens; what a file-per-fsync costs (a journal commit each,
   * 10,000 small files taking seconds) is paid once.
   */
  async materializeMany(
    items: readonly { readonly hash: string; readonly target: string; readonly mode: number }[],
    maybeYield: () => Promise<void>,
  ): Promise<void> {
    if (items.length === 0) return;
    const staged: { temporary: string; target: string }[] = [];
    let placed = 0;
    // Whether the umask narrows each mode, learnt from the first file given it: most modes survive it.
    const narrowed = new Map<number, boolean>();
    try {
      for (const { hash, target, mode } of items) {
        const temporary = this.temporaryPath();
        staged.push({ temporary, target });
        // Small: read whole (from its file or its pack), hashed in memory, written once.
        const bytes = this.readVerified(hash);
        try {
          writeFileSync(temporary, bytes, { mode, flag: 'wx' });
          let narrows = narrowed.get(mode);
          if (narrows === undefined) {
            narrows = (statSync(temporary).mode & 0o7777) !== mode;
            narrowed.set(mode, narrows);
          }
          if (narrows) chmodSync(temporary, mode);
        } catch (error) {
          throw withPath(error, target);
        }
        await maybeYield();
      }
      await flushFiles(
        this.scratch,
        staged.map((file) => file.temporary),
      );
      for (const { temporary, target } of staged) {
        moveIntoPlace(temporary, target);
        placed++;
      }
    } catch (error) {
      for (const { temporary } of staged.slice(placed)) rmSync(temporary, { force: true });
      throw error;
    }
  }

  /** The copy before verification (a reflink where it can), kept only for test/bench/restore.ts to compare with. */
  private async copyUnverified(hash: string, temporary: string, mode: number): Promise<void> {
    await copyFile(this.pathOf(hash), temporary, constants.COPYFILE_FICLONE);
    const file = await open(temporary, 'r');
    try {
      await file.chmod(mode);
      await file.sync();
    } finally {
      await file.close();
    }
  }

  /**
   * Places blob `hash` at `target` (which must not exist) by `method`,
   * synchronously, after checking its bytes: a copy is hashed while it is
   * written, a reflink is hashed after cloning (it shares the blob's bytes), a
   * hard link's blob is hashed before linking. On a mismatch nothing is left at
   * `target` and a `damaged-blob` error is thrown. Copies and reflinks get
   * `mode`; a hard link shares the blob's read-only inode.
   */
  placeVerified(hash: string, target: string, mode: number, method: 'reflink' | 'hardlink' | 'copy'): void {
    const source = this.loosePath(hash);
    if (!existsSync(source)) throw missingBlob(hash, source);
    try {
      if (method === 'hardlink') {
        if (hashFile(source) !== hash) throw damagedBlob(hash, source);
        linkSync(source, target);
        return;
      }
      if (method === 'reflink') {
        copyFileSync(source, target, constants.COPYFILE_FICLONE_FORCE);
        if (hashFile(target) !== hash) throw damagedBlob(hash, source);
      } else if (copyHashing(source, target) !== hash) {
        throw damagedBlob(hash, source);
      }
      chmodSync(target, mode);
    } catch (error) {
      // Whatever this call wrote goes; a file that was there already (EEXIST) is not its to remove.
      if (method !== 'hardlink' && (error as NodeJS.ErrnoException).code !== 'EEXIST')
        rmSync(target, { force: true });
      throw error;
    }
  }

  /** Every blob hash in the store, loose or packed, once each. */
  *list(): Generator<string> {
    yield* this.listLoose();
    for (const hash of this.packs.hashes()) if (!existsSync(this.pathOf(hash))) yield hash;
  }

  /** The hashes of the blobs stored as files of their own. */
  *listLoose(): Generator<string> {
    let fans: string[];
    try {
      fans = readdirSync(this.objects);
    } catch (error) {
      // No blob yet. Any other failure (a folder that cannot be read) is not
      // "no blobs": fsck would call it intact and gc would keep counting on it.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const fan of fans) {
      if (!/^[0-9a-f]{2}$/.test(fan)) continue;
      for (const rest of readdirSync(join(this.objects, fan))) {
        const hash = fan + rest;
        if (SHA256.test(hash)) yield hash;
      }
    }
  }

  /** Re-reads a blob (its file, else its place in a pack) and tells whether its content still has its name's hash. */
  verify(hash: string): boolean {
    const path = this.pathOf(hash);
    if (existsSync(path)) return hashFile(path) === hash;
    const place = this.packs.locate(hash);
    const bytes = place && this.packs.read(place);
    return bytes !== undefined && createHash('sha256').update(bytes).digest('hex') === hash;
  }

  /** Removes a blob stored as a file of its own; returns its size. */
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
 * Set only by test/bench/restore.ts, to measure what verifying costs: blobs
 * are then copied out without being hashed. Never set it otherwise.
 */
const UNVERIFIED_FOR_BENCHMARK = process.env['SLUICE_BENCH_UNVERIFIED_COPY'] === '1';

/** Bytes per read when a blob is copied out of the cache: large enough that the hashing, not the calls, costs. */
const COPY_BUFFER = 1 << 20;

export function damagedBlob(hash: string, path: string): SluiceError {
  return new SluiceError(
    `Blob ${hash} in the cache is damaged (its bytes no longer hash to its name): ${path}. Run \`sluice fsck\` to list every damaged blob.`,
    'failed',
    'Then fetch it again from a teammate or re-snapshot the data it holds, and delete the damaged file.',
    { code: 'damaged-blob', data: { hash, path } },
  );
}

export function missingBlob(hash: string, path: string): SluiceError {
  return new SluiceError(
    `Blob ${hash} is missing from the cache (${path}).`,
    'failed',
    'Run `sluice fsck` to see what is missing.',
    { code: 'missing-blob', data: { hash, path } },
  );
}

function digestOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The sha256 of an open file's bytes, read from its start. */
function hashDescriptor(descriptor: number): string {
  const digest = createHash('sha256');
  const buffer = Buffer.allocUnsafe(COPY_BUFFER);
  for (let position = 0; ;) {
    const read = readSync(descriptor, buffer, 0, buffer.length, position);
    if (read === 0) break;
    digest.update(buffer.subarray(0, read));
    position += read;
  }
  return digest.digest('hex');
}

/** Copies `source` to the new file `target` (synchronously) and returns the sha256 of the bytes written. */
function copyHashing(source: string, target: string): string {
  const digest = createHash('sha256');
  const buffer = Buffer.allocUnsafe(COPY_BUFFER);
  const input = openSync(source, 'r');
  try {
    const output = openSync(target, 'wx', 0o600);
    try {
      for (;;) {
        const read = readSync(input, buffer, 0, buffer.length, null);
        if (read === 0) break;
        digest.update(buffer.subarray(0, read));
        for (let at = 0; at < read;) at += writeSync(output, buffer, at, read - at);
      }
    } catch (error) {
      throw withPath(error, target);
    } finally {
      closeSync(output);
    }
  } finally {
    closeSync(input);
  }
  return digest.digest('hex');
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
