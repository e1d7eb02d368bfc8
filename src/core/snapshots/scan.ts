// Reading a dataset from disk: every folder's entries with their stat
// identities, the hash of every file, and every folder's listing digest.
// A file whose identity matches the stat cache is not read; a folder whose
// entries all match keeps its digest without building anything. Folders are
// read by the main thread in short slices and, when the dataset is large, by
// worker threads beside it; files are hashed (and copied into the store) on
// worker threads when there are enough of them.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { basename, join } from 'node:path';
import { fromSystemError, SluiceError } from '../errors';
import type { ObjectStore } from '../store/objectStore';
import { usefulThreads, WorkerFailure, WorkerPool } from '../store/workerPool';
import {
  ID_CTIME,
  ID_FIELDS,
  ID_INO,
  ID_MODE,
  ID_MTIME,
  ID_SIZE,
  KIND_FILE,
  KIND_FOLDER,
  KIND_LINK,
  readFolders,
  UNREADABLE_NAME,
  type FolderRead,
  type FolderReadError,
  type FolderSplit,
  type ReadUnit,
} from '../fs/folderReads';
import {
  hashFiles,
  HASHED_NUMBERS,
  type HashedFiles,
  type HashFailure,
  type HashJob,
} from '../store/hashJobs';
import { RACY_WINDOW_MS, type DatasetState, type StateChanges } from './datasetState';
import { Folder, HASH_BYTES } from './folder';
import { childPath, depthOf } from './listing';
import { printableName, unreadableName } from '../fs/unreadableNames';
import { asError, type Slicer } from './slices';
import { phaseClock } from './debugTimes';

export interface ScanStats {
  readonly files: number;
  readonly bytes: number;
  /** Files read and hashed this time (not found unchanged in the stat cache). */
  readonly hashed: number;
  readonly hashedBytes: number;
}

export interface DatasetScan {
  /** Every folder of the dataset by path ('' is the root, also for a dataset that is one file). */
  readonly folders: ReadonlyMap<string, Folder>;
  /** The root listing's digest: equal digests mean equal content. */
  readonly digest: string;
  readonly stats: ScanStats;
  /** What differs from the stat cache the scan started from: what to save. */
  readonly stateChanges: StateChanges;
}

export function hasChanges(changes: StateChanges): boolean {
  return changes.set.length + changes.remove.length > 0;
}

export interface ScanOptions {
  /** Bytes not yet in the store are copied into it while hashing; without a store files are only hashed. */
  readonly store: ObjectStore | undefined;
  /** When the scan started (ms, Date.now()), taken before the first stat: the stamp of its identities. */
  readonly takenAtMs: number;
  readonly slicer: Slicer;
  /** Threads to use, the main thread included (default: one per core, at most four). */
  readonly threads?: number;
}

/** Units (folders or chunks) per request to a worker: enough to cover the round trip, few enough to share the work. */
const UNITS_PER_REQUEST = 16;
/** A folder with more entries than this is read in chunks of this many, by whichever threads are free. */
const ENTRIES_PER_UNIT = 2048;
/**
 * Helpers are started once the main thread, reading alone, can tell that the
 * rest of the walk would take it longer than this (a worker costs 50 to
 * 150 ms of a core to start). Workers already started are used at once.
 */
const HELPERS_WORTH_MS = 150;
/** Hashing below these amounts stays on the main thread: a worker costs more to start. */
const MAIN_THREAD_HASH_BYTES = 4 << 20;
const MAIN_THREAD_HASH_FILES = 256;
const HASH_REQUEST_BYTES = 16 << 20;
const HASH_REQUEST_FILES = 256;
/** From this many new files (or bytes), blobs are flushed together rather than one by one. */
const FLUSH_TOGETHER_FILES = 64;
const FLUSH_TOGETHER_BYTES = 64 << 20;
/** While many blobs are written, the file system is told to start writing them out every this many bytes. */
const EARLY_FLUSH_BYTES = 128 << 20;

/**
 * Reads and hashes the dataset at `absolute` (a folder, a file or a link),
 * against the stat cache `state`.
 */
export async function scanDataset(
  absolute: string,
  state: DatasetState,
  options: ScanOptions,
): Promise<DatasetScan> {
  const { slicer } = options;
  const threads = options.threads ?? usefulThreads();
  const pool = new WorkerPool(threads);
  const lap = phaseClock('scan');
  try {
    const reads = await readDatasetFolders(absolute, state, pool, threads, slicer);
    lap(`${reads.length} folders read`);
    const compared = await compareWithState(reads, state, options.takenAtMs, slicer);
    lap('compared with the stat cache');
    const hashedBytes = await hashChanged(absolute, compared.jobs, pool, threads, options);
    lap('hashing, all told');
    const digestChanged = await computeDigests(compared.folders, state, slicer);
    lap('digests');
    let files = 0;
    let bytes = 0;
    for (const folder of compared.folders.values()) {
      for (let i = 0; i < folder.count; i++) {
        if (folder.kinds[i] !== KIND_FILE) continue;
        files++;
        bytes += folder.ids[i * ID_FIELDS + ID_SIZE]!;
      }
    }
    const set: Folder[] = [];
    for (const [path, folder] of compared.folders)
      if (compared.changed.has(path) || digestChanged.has(path)) set.push(folder);
    const remove = [...state.folders.keys()].filter((path) => !compared.folders.has(path));
    return {
      folders: compared.folders,
      digest: compared.folders.get('')!.digest,
      stats: { files, bytes, hashed: compared.jobs.length, hashedBytes },
      stateChanges: { set, remove },
    };
  } finally {
    await pool.close();
  }
}

// ---------------------------------------------------------------------------
// Reading folders

/** Every folder under `absolute` (or the one entry `absolute` is), read from disk. */
async function readDatasetFolders(
  absolute: string,
  state: DatasetState,
  pool: WorkerPool,
  threads: number,
  slicer: Slicer,
): Promise<FolderRead[]> {
  const top = fs.lstatSync(absolute, { throwIfNoEntry: false });
  if (top === undefined)
    return [
      { path: '', names: '', count: 0, kinds: new Uint8Array(0), ids: new Float64Array(0), targets: [] },
    ];
  if (top.isDirectory()) return readTree(absolute, state, pool, threads, slicer);
  // A dataset that is one file (or a link) is a root holding one entry named ''.
  let kind: number;
  const targets: string[] = [];
  if (top.isFile()) kind = KIND_FILE;
  else if (top.isSymbolicLink()) {
    kind = KIND_LINK;
    targets.push(fs.readlinkSync(absolute));
  } else
    return [
      { path: '', names: '', count: 0, kinds: new Uint8Array(0), ids: new Float64Array(0), targets: [] },
    ];
  const ids = new Float64Array([top.ino, top.size, top.mtimeMs, top.ctimeMs, top.mode]);
  return [{ path: '', names: '', count: 1, kinds: new Uint8Array([kind]), ids, targets }];
}

/**
 * Reads every folder under `root`. Work is handed out in units (a folder, or
 * a chunk of a large folder's entries); the main thread takes units too, one
 * slice at a time, and helpers join when the walk proves long enough.
 *
 * A folder whose own stat identity (inode, mtime, ctime) is what the cache
 * saw is not listed again: creating, removing or renaming an entry changes
 * its folder's mtime, so the cached names are its names, and only each
 * entry's lstat is needed (a folder changed within the racy window is listed).
 */
async function readTree(
  root: string,
  state: DatasetState,
  pool: WorkerPool,
  threads: number,
  slicer: Slicer,
): Promise<FolderRead[]> {
  const reads: FolderRead[] = [];
  const queue: ReadUnit[] = [{ path: '' }];
  /** Large folders being read in chunks: each chunk's result, in order, until all are in. */
  const assembling = new Map<string, (FolderRead | undefined)[]>();
  const chunkIndex = new Map<readonly string[], number>();
  let inFlight = 0;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  /** Queues the entries `names` of the folder at `path` (sorted), in chunks if there are many. */
  const queueNames = (path: string, names: readonly string[]): void => {
    if (names.length <= ENTRIES_PER_UNIT) {
      queue.push({ path, names });
      return;
    }
    const chunks: string[][] = [];
    for (let at = 0; at < names.length; at += ENTRIES_PER_UNIT)
      chunks.push(names.slice(at, at + ENTRIES_PER_UNIT));
    assembling.set(path, new Array<FolderRead | undefined>(chunks.length));
    chunks.forEach((chunk, index) => {
      chunkIndex.set(chunk, index);
      queue.push({ path, names: chunk });
    });
  };
  /** Queues the subfolders of `read`: by their cached names when their identity is unchanged. */
  const queueSubfolders = (read: FolderRead): void => {
    const names = read.names.split('\0');
    const cachedParent = state.folders.get(read.path);
    // Same names as cached: entry k is entry k there; else matched by name.
    const cachedIndex =
      cachedParent === undefined || cachedParent.names === read.names ? undefined : indexByName(cachedParent);
    const racyAfter = cachedParent ? cachedParent.takenAtMs - RACY_WINDOW_MS : 0;
    for (let k = 0; k < read.count; k++) {
      if (read.kinds[k] !== KIND_FOLDER) continue;
      const path = childPath(read.path, names[k]!);
      const cached = state.folders.get(path);
      const j = cachedIndex ? cachedIndex.get(names[k]!) : k;
      if (
        cachedParent &&
        cached &&
        cached.count > 0 &&
        j !== undefined &&
        sameFolderIdentity(read, k, cachedParent, j, racyAfter)
      )
        queueNames(path, cached.nameList());
      else queue.push({ path });
    }
  };
  const accept = (
    results: readonly (FolderRead | FolderReadError | FolderSplit)[],
    units: readonly ReadUnit[],
  ): void => {
    results.forEach((result, i) => {
      if ('error' in result) throw folderError(root, result);
      if ('split' in result) {
        queueNames(result.path, result.split);
        return;
      }
      const unit = units[i]!;
      let read: FolderRead = result;
      if (unit.names !== undefined && chunkIndex.has(unit.names)) {
        const parts = assembling.get(unit.path)!;
        parts[chunkIndex.get(unit.names)!] = result;
        chunkIndex.delete(unit.names);
        if (parts.includes(undefined)) return;
        assembling.delete(unit.path);
        read = joinChunks(parts as FolderRead[]);
      }
      reads.push(read);
      if (read.kinds.includes(KIND_FOLDER)) queueSubfolders(read);
    });
  };
  const helpers = threads - 1;
  pool.adoptPrestarted(helpers);
  const started = performance.now();
  let unitsRead = 0;
  while (queue.length > 0 || inFlight > 0) {
    if (failure !== undefined) throw failure;
    if (pool.size === 0 && helpers > 0 && unitsRead > 0) {
      const perUnitMs = (performance.now() - started) / unitsRead;
      if (perUnitMs * queue.length > HELPERS_WORTH_MS) pool.grow(helpers);
    }
    // Keep every helper two requests deep, so none waits for the main thread between them.
    for (let worker = pool.idleWorker(2); worker && queue.length > 1; worker = pool.idleWorker(2)) {
      const share = Math.ceil(queue.length / (pool.size + 1));
      const batch = queue.splice(-Math.min(UNITS_PER_REQUEST, share));
      inFlight++;
      pool.readFolders(worker, root, batch, ENTRIES_PER_UNIT).then(
        (results) => {
          inFlight--;
          try {
            accept(results, batch);
          } catch (error) {
            failure ??= asError(error);
          }
          wake?.();
        },
        (error: unknown) => {
          inFlight--;
          failure ??= asError(error);
          wake?.();
        },
      );
    }
    if (queue.length > 0) {
      do {
        const unit = queue.pop()!;
        accept(readFolders(fs, root, [unit], ENTRIES_PER_UNIT), [unit]);
        unitsRead++;
      } while (queue.length > 0 && !slicer.due);
      await slicer.yield();
    } else if (inFlight > 0) {
      await slicer.race(
        new Promise<void>((resolve) => {
          wake = resolve;
        }),
      );
      wake = undefined;
    }
  }
  if (failure !== undefined) throw failure;
  return reads;
}

/** One folder from the reads of its chunks, in order. */
function joinChunks(parts: readonly FolderRead[]): FolderRead {
  const count = parts.reduce((sum, part) => sum + part.count, 0);
  const kinds = new Uint8Array(count);
  const ids = new Float64Array(count * ID_FIELDS);
  let at = 0;
  for (const part of parts) {
    kinds.set(part.kinds, at);
    ids.set(part.ids, at * ID_FIELDS);
    at += part.count;
  }
  return {
    path: parts[0]!.path,
    names: parts
      .filter((part) => part.count > 0)
      .map((part) => part.names)
      .join('\0'),
    count,
    kinds,
    ids,
    targets: parts.flatMap((part) => part.targets),
  };
}

function folderError(root: string, failed: FolderReadError): SluiceError {
  const path = failed.path === '' ? root : join(root, failed.path);
  const { code, message, syscall, name } = failed.error;
  if (code === UNREADABLE_NAME && name !== undefined) return unreadableName(join(path, printableName(name)));
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new SluiceError(
      `${path} changed while it was being read.`,
      'failed',
      'Let whatever writes it finish, then try again.',
    );
  }
  return systemFailure(message, code, syscall ?? 'scandir', path);
}

/** A failure a worker reported (as plain data) as the one-line error the CLI prints. */
function systemFailure(
  message: string,
  code: string | undefined,
  syscall: string,
  path: string,
): SluiceError {
  const error = Object.assign(new Error(message), { code, syscall, path });
  return (
    fromSystemError(error) ??
    new SluiceError(
      `Cannot read ${path}: ${message}.`,
      'failed',
      'Check the path, then run the command again.',
    )
  );
}

// ---------------------------------------------------------------------------
// Comparing with the stat cache

interface PendingHash {
  readonly folder: Folder;
  readonly index: number;
  readonly path: string;
}

/**
 * Each folder read, with the hashes the cache vouches for. A folder whose
 * entries all match the cache shares its cached hashes; in the others, each
 * file with an unchanged identity keeps its hash and the rest are to be hashed.
 */
async function compareWithState(
  reads: readonly FolderRead[],
  state: DatasetState,
  takenAtMs: number,
  slicer: Slicer,
): Promise<{ folders: Map<string, Folder>; jobs: PendingHash[]; changed: Set<string> }> {
  const folders = new Map<string, Folder>();
  const jobs: PendingHash[] = [];
  const changed = new Set<string>();
  for (const read of reads) {
    const cached = state.folders.get(read.path);
    const racyAfter = cached ? cached.takenAtMs - RACY_WINDOW_MS : 0;
    // A folder found unchanged is stamped with this scan's time: none of its entries is
    // within its old stamp's racy window, so none is within the new one's.
    if (cached && sameEntries(read, cached, racyAfter)) {
      // Same content; if a subfolder's own times moved (an entry made and removed again), the
      // cache learns them, or that subfolder would be listed again on every scan.
      if (subfolderTimesMoved(read, cached)) changed.add(read.path);
      folders.set(read.path, Folder.fromRead(read, takenAtMs, cached));
    } else {
      changed.add(read.path);
      const folder = Folder.fromRead(read, takenAtMs);
      folders.set(read.path, folder);
      const byName = cached ? indexByName(cached) : undefined;
      const names = folder.nameList();
      for (let i = 0; i < read.count; i++) {
        if ((i & 4095) === 4095) await slicer.maybeYield();
        if (read.kinds[i] !== KIND_FILE) continue;
        const j = byName?.get(names[i]!);
        if (cached && j !== undefined && sameEntry(read, i, cached, j, racyAfter)) {
          folder.hashes.set(cached.hashes.subarray(j * HASH_BYTES, (j + 1) * HASH_BYTES), i * HASH_BYTES);
          if (folder.hashAt(i) !== undefined) continue;
        }
        jobs.push({ folder, index: i, path: childPath(read.path, names[i]!) });
      }
    }
    await slicer.maybeYield();
  }
  return { folders, jobs, changed };
}

function indexByName(folder: Folder): Map<string, number> {
  const map = new Map<string, number>();
  folder.nameList().forEach((name, index) => map.set(name, index));
  return map;
}

/** Same names, kinds, identities and link targets, and no entry changed within the racy window. */
function sameEntries(read: FolderRead, cached: Folder, racyAfter: number): boolean {
  if (read.count !== cached.count || read.names !== cached.names) return false;
  for (let i = 0; i < read.count; i++) {
    if (read.kinds[i] !== cached.kinds[i]) return false;
    const at = i * ID_FIELDS;
    if (read.kinds[i] === KIND_FOLDER) {
      // A subfolder's own times change with its contents, which its own entry covers.
      if (read.ids[at + ID_MODE] !== cached.ids[at + ID_MODE]) return false;
      continue;
    }
    for (let k = 0; k < ID_FIELDS; k++) if (read.ids[at + k] !== cached.ids[at + k]) return false;
    if (read.ids[at + ID_MTIME]! >= racyAfter || read.ids[at + ID_CTIME]! >= racyAfter) return false;
  }
  if (read.targets.length !== cached.targets.length) return false;
  for (let i = 0; i < read.targets.length; i++) if (read.targets[i] !== cached.targets[i]) return false;
  return true;
}

function subfolderTimesMoved(read: FolderRead, cached: Folder): boolean {
  for (let i = 0; i < read.count; i++) {
    if (read.kinds[i] !== KIND_FOLDER) continue;
    const at = i * ID_FIELDS;
    for (const k of [ID_INO, ID_MTIME, ID_CTIME]) if (read.ids[at + k] !== cached.ids[at + k]) return true;
  }
  return false;
}

/** Whether subfolder entry `i` of `read` has the identity (inode, mtime, ctime) of entry `j` of `cached`, outside the racy window. */
function sameFolderIdentity(
  read: FolderRead,
  i: number,
  cached: Folder,
  j: number,
  racyAfter: number,
): boolean {
  if (cached.kinds[j] !== KIND_FOLDER) return false;
  const a = i * ID_FIELDS;
  const b = j * ID_FIELDS;
  for (const k of [ID_INO, ID_MTIME, ID_CTIME]) if (read.ids[a + k] !== cached.ids[b + k]) return false;
  return read.ids[a + ID_MTIME]! < racyAfter && read.ids[a + ID_CTIME]! < racyAfter;
}

function sameEntry(read: FolderRead, i: number, cached: Folder, j: number, racyAfter: number): boolean {
  if (cached.kinds[j] !== read.kinds[i]) return false;
  const a = i * ID_FIELDS;
  const b = j * ID_FIELDS;
  for (let k = 0; k < ID_FIELDS; k++) if (read.ids[a + k] !== cached.ids[b + k]) return false;
  return read.ids[a + ID_MTIME]! < racyAfter && read.ids[a + ID_CTIME]! < racyAfter;
}

// ---------------------------------------------------------------------------
// Hashing

/**
 * Hashes the files of `pending` (copying them into the store, if any), on
 * worker threads when there are enough of them, and puts each hash into its
 * folder. Returns how many bytes were read.
 */
async function hashChanged(
  root: string,
  pending: readonly PendingHash[],
  pool: WorkerPool,
  threads: number,
  options: ScanOptions,
): Promise<number> {
  if (pending.length === 0) return 0;
  const { store, slicer } = options;
  const lap = phaseClock('scan', false);
  const prefix = store
    ? `${store.scratchFolder()}/blob-${process.pid}-${randomBytes(6).toString('hex')}-`
    : '';
  const objects = store?.objects ?? '';
  // Many new blobs: folders made up front (not one by one amid the writes), temporary files spread out.
  const shards = store && pending.length >= 256 ? store.scratchShards() : undefined;
  if (shards) store?.makeFanOut();
  const temporaryOf = (n: number): string =>
    shards ? `${shards[n & 255]!}/${basename(prefix)}${n}` : `${prefix}${n}`;
  const jobsOf = (start: number, end: number): HashJob[] =>
    pending.slice(start, end).map((job, offset) => ({
      path: job.path === '' ? root : `${root}/${job.path}`,
      temporary: store ? temporaryOf(start + offset) : undefined,
    }));
  let total = 0;
  for (const job of pending) total += job.folder.size(job.index);
  // Many new blobs are made durable together after they are written (one flush of the file
  // system); a few are fsynced one by one as they are written, which costs less than the flush.
  const flushLater =
    store !== undefined && (pending.length >= FLUSH_TOGETHER_FILES || total >= FLUSH_TOGETHER_BYTES);
  const unflushed: { temporary: string; hash: string }[] = [];
  let bytes = 0;
  let unflushedBytes = 0;
  /** Puts a batch's hashes into their folders, after checking no file changed while it was read. */
  const collect = (start: number, outcome: HashedFiles | HashFailure): void => {
    if (!('digests' in outcome)) {
      const { message, code, path, writing } = outcome.error;
      throw systemFailure(message, code, writing ? 'write' : 'read', path);
    }
    const count = outcome.numbers.length / HASHED_NUMBERS;
    for (let k = 0; k < count; k++) {
      const { folder, index, path } = pending[start + k]!;
      const at = index * ID_FIELDS;
      const size = outcome.numbers[k * HASHED_NUMBERS]!;
      const mtimeAfter = outcome.numbers[k * HASHED_NUMBERS + 1];
      const sizeAfter = outcome.numbers[k * HASHED_NUMBERS + 2];
      if (mtimeAfter !== folder.ids[at + ID_MTIME] || sizeAfter !== folder.ids[at + ID_SIZE]) {
        throw new SluiceError(
          `${path === '' ? root : join(root, path)} changed while it was being read.`,
          'failed',
          'Let whatever writes it finish, then try again.',
        );
      }
      const digest = outcome.digests.subarray(k * HASH_BYTES, (k + 1) * HASH_BYTES);
      folder.hashes.set(digest, index * HASH_BYTES);
      if (outcome.unflushed[k] === 1) {
        unflushed.push({ temporary: temporaryOf(start + k), hash: Buffer.from(digest).toString('hex') });
        unflushedBytes += size;
      }
      bytes += size;
    }
    // Give the disk a head start every so often, so it is not idle until the end.
    if (unflushedBytes >= EARLY_FLUSH_BYTES) {
      store?.flushSoon();
      unflushedBytes = 0;
    }
  };

  try {
    if (threads <= 1 || (total < MAIN_THREAD_HASH_BYTES && pending.length < MAIN_THREAD_HASH_FILES)) {
      const buffer = Buffer.allocUnsafe(1 << 20);
      for (const [start, end] of batchesOf(pending, 1 << 20, 32)) {
        const jobs = jobsOf(start, end);
        collect(start, await slicer.race(hashFiles(fs, createHash, buffer, objects, jobs, flushLater)));
        await slicer.maybeYield();
      }
    } else {
      const batches = batchesOf(pending, HASH_REQUEST_BYTES, HASH_REQUEST_FILES);
      pool.grow(threads);
      let next = 0;
      let failure: Error | undefined;
      const runWorker = async (): Promise<void> => {
        while (next < batches.length && failure === undefined) {
          const worker = pool.idleWorker(Infinity, false)!;
          const [start, end] = batches[next++]!;
          try {
            collect(start, await pool.hashFiles(worker, objects, jobsOf(start, end), flushLater));
          } catch (error) {
            failure ??= asError(error);
          }
        }
      };
      // Two requests per worker in flight, so a worker flushing one batch's blobs is already reading the next.
      await slicer.race(Promise.all(Array.from({ length: pool.size * 2 }, runWorker)));
      if (failure !== undefined) throw failure;
    }
    lap(`${pending.length} files hashed${store ? ' and copied' : ''}`);
    if (store) await store.adoptDurably(unflushed, () => slicer.maybeYield());
    if (store) lap(`${unflushed.length} blobs flushed together and renamed`);
  } catch (error) {
    // Cancelled or failed: the temporary files of this scan go (the workers are stopped first).
    await pool.close();
    if (store) for (let n = 0; n < pending.length; n++) fs.rmSync(temporaryOf(n), { force: true });
    if (error instanceof WorkerFailure)
      throw new SluiceError(
        `Cannot hash the files of ${root}: a worker thread failed (${error.message}).`,
        'failed',
        'Run the command again; if it fails again, report it with this message.',
      );
    throw error;
  }
  return bytes;
}

/** [start, end) ranges of `pending` of about `bytes` bytes or `files` files each. */
function batchesOf(pending: readonly PendingHash[], bytes: number, files: number): [number, number][] {
  const batches: [number, number][] = [];
  let start = 0;
  let size = 0;
  for (let n = 0; n < pending.length; n++) {
    size += pending[n]!.folder.size(pending[n]!.index);
    if (size >= bytes || n + 1 - start >= files) {
      batches.push([start, n + 1]);
      start = n + 1;
      size = 0;
    }
  }
  if (start < pending.length) batches.push([start, pending.length]);
  return batches;
}

// ---------------------------------------------------------------------------
// Digests

/**
 * Every folder's listing digest, deepest first. A folder that matched the
 * cache keeps its cached digest unless a subfolder's digest changed. Returns
 * the folders whose digest differs from the cached one.
 */
async function computeDigests(
  folders: Map<string, Folder>,
  state: DatasetState,
  slicer: Slicer,
): Promise<Set<string>> {
  const paths = [...folders.keys()].sort((a, b) => depthOf(b) - depthOf(a));
  const changed = new Set<string>();
  for (const path of paths) {
    const folder = folders.get(path)!;
    const cached = state.folders.get(path);
    const keep =
      folder.digest !== '' &&
      folder.digest === cached?.digest &&
      folder.subfolders().every((child) => !changed.has(child));
    if (!keep) {
      await folder.computeDigest(folders, slicer);
      if (folder.digest !== cached?.digest) {
        changed.add(path);
        folder.tree = '';
      } else folder.tree = cached.tree;
    }
    await slicer.maybeYield();
  }
  return changed;
}
