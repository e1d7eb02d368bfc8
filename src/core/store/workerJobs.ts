// The two kinds of work that run on worker threads: reading folders (names
// and stat identities) and hashing files (copying them into the store while
// reading). Small amounts run on the main thread instead, through the same
// functions. workerPool.ts evaluates each function's source text inside the
// workers, so a function here may use only its parameters and globals: no
// imports, no module constants, no calls to other functions of this file.

/** What a folder entry is; anything else (sockets, FIFOs, devices) is not data and is skipped. */
export const KIND_FILE = 1;
export const KIND_LINK = 2;
export const KIND_FOLDER = 3;

/** Numbers kept per entry, in this order: inode, size, mtime and ctime in ms, st_mode. */
export const ID_FIELDS = 5;
export const ID_INO = 0;
export const ID_SIZE = 1;
export const ID_MTIME = 2;
export const ID_CTIME = 3;
export const ID_MODE = 4;

/** One folder as read from disk: entries sorted by name, with their kinds and stat identities. */
export interface FolderRead {
  /** Relative to the dataset root, '/'-separated; '' is the root. */
  readonly path: string;
  /** Entry names joined by NUL (which no name can hold): comparing two folders is one string compare. */
  readonly names: string;
  readonly count: number;
  readonly kinds: Uint8Array;
  /** ID_FIELDS numbers per entry. Times are ms as doubles: finer than a quarter µs, far finer than any file system's clock tick. */
  readonly ids: Float64Array;
  /** The target of each link, in entry order. */
  readonly targets: string[];
}

export interface FolderReadError {
  readonly path: string;
  readonly error: {
    readonly message: string;
    readonly code: string | undefined;
    readonly syscall?: string | undefined;
    /** With code UNREADABLE_NAME: the raw bytes of the entry's name, which are not valid UTF-8. */
    readonly name?: Uint8Array;
  };
}

/** The code of a FolderReadError for an entry whose name is not valid UTF-8 (and so cannot be recorded). */
export const UNREADABLE_NAME = 'unreadable-name';

/** A folder too large to read in one piece: its sorted names, to be read in chunks (`names` of a ReadUnit). */
export interface FolderSplit {
  readonly path: string;
  readonly split: string[];
}

/** A folder to read: all of it, or only the entries `names` (a chunk of a large folder, in order). */
export interface ReadUnit {
  readonly path: string;
  readonly names?: readonly string[];
}

type FsModule = typeof import('node:fs');

/**
 * Reads folders (relative to `root`): every entry's name, kind and stat
 * identity. A whole folder with more than `chunk` entries comes back split:
 * its names only, to be read in chunks by several threads. An entry that
 * vanishes between the listing and its lstat is left out, as if the listing
 * had come a moment later.
 */
export function readFolders(
  fs: FsModule,
  root: string,
  units: readonly ReadUnit[],
  chunk: number,
): (FolderRead | FolderReadError | FolderSplit)[] {
  // Node 20's lstatSync builds a Stats object holding four Dates for every
  // call, which here costs about as much as the system call (100,000 files:
  // 0.40 s against 0.34 s through the binding below, and less garbage). Its
  // native binding fills one shared array instead. That binding is internal,
  // so it is used only where it agrees with lstatSync on the root; otherwise
  // (another Node, another layout) lstatSync reads every entry.
  // Layout of the array: mode 1, ino 7, size 8, mtime 12/13 and ctime 14/15 (seconds, nanoseconds).
  // Decided once per thread and `fs` (null: not trusted), on the first root read: a global,
  // since this function may not use module state (see the top of this file).
  type RawLstat = (path: string) => Float64Array | undefined;
  const decided = ((globalThis as { sluiceRawLstat?: WeakMap<object, RawLstat | null> }).sluiceRawLstat ??=
    new WeakMap());
  let rawLstat = decided.get(fs);
  if (rawLstat === undefined) {
    rawLstat = null;
    try {
      const binding = (process as unknown as { binding(name: string): Record<string, unknown> }).binding(
        'fs',
      );
      const lstat = binding['lstat'];
      if (typeof lstat === 'function') {
        const probe: RawLstat = (path) =>
          (lstat as (...args: unknown[]) => Float64Array | undefined).call(
            binding,
            path,
            false,
            undefined,
            false,
          );
        const expected = fs.lstatSync(root);
        const got = probe(root);
        if (
          got instanceof Float64Array &&
          got[1] === expected.mode &&
          got[7] === expected.ino &&
          got[8] === expected.size &&
          got[12]! * 1e3 + got[13]! / 1e6 === expected.mtimeMs &&
          got[14]! * 1e3 + got[15]! / 1e6 === expected.ctimeMs
        )
          rawLstat = probe;
      }
    } catch {
      rawLstat = null;
    }
    decided.set(fs, rawLstat);
  }
  const results: (FolderRead | FolderReadError | FolderSplit)[] = [];
  for (const unit of units) {
    const path = unit.path;
    const dir = path === '' ? root : `${root}/${path}`;
    try {
      let all = unit.names;
      if (all === undefined) {
        const listed = fs.readdirSync(dir);
        // A name that is not valid UTF-8 comes back with U+FFFD in place of its bad bytes: a path
        // that does not exist, so the entry would vanish from the snapshot. Such a folder is read
        // again as bytes to find it (a name may hold a real U+FFFD); the scan is then refused.
        if (listed.some((name) => name.includes('\ufffd'))) {
          for (const raw of fs.readdirSync(dir, { encoding: 'buffer' })) {
            if (Buffer.compare(Buffer.from(raw.toString('utf8')), raw) === 0) continue;
            const error = { message: 'the name is not valid UTF-8', code: 'unreadable-name' };
            throw Object.assign(new Error(error.message), { ...error, rawName: new Uint8Array(raw) });
          }
        }
        // One canonical order (UTF-16 code units), whatever order the file system lists in.
        listed.sort();
        if (listed.length > chunk) {
          results.push({ path, split: listed });
          continue;
        }
        all = listed;
      }
      const kinds = new Uint8Array(all.length);
      const ids = new Float64Array(all.length * 5);
      const names: string[] = [];
      const targets: string[] = [];
      for (const name of all) {
        const full = `${dir}/${name}`;
        const at = names.length;
        let kind;
        if (rawLstat) {
          const values = rawLstat(full);
          if (values === undefined) continue;
          const type = values[1]! & 0o170000;
          if (type === 0o100000) kind = 1;
          else if (type === 0o040000) kind = 3;
          else if (type === 0o120000) kind = 2;
          else continue;
          ids[at * 5] = values[7]!;
          ids[at * 5 + 1] = values[8]!;
          ids[at * 5 + 2] = values[12]! * 1e3 + values[13]! / 1e6;
          ids[at * 5 + 3] = values[14]! * 1e3 + values[15]! / 1e6;
          ids[at * 5 + 4] = values[1]!;
        } else {
          const stat = fs.lstatSync(full, { throwIfNoEntry: false });
          if (stat === undefined) continue;
          if (stat.isFile()) kind = 1;
          else if (stat.isDirectory()) kind = 3;
          else if (stat.isSymbolicLink()) kind = 2;
          else continue;
          ids[at * 5] = stat.ino;
          ids[at * 5 + 1] = stat.size;
          ids[at * 5 + 2] = stat.mtimeMs;
          ids[at * 5 + 3] = stat.ctimeMs;
          ids[at * 5 + 4] = stat.mode;
        }
        if (kind === 2) targets.push(fs.readlinkSync(full));
        kinds[at] = kind;
        names.push(name);
      }
      results.push({
        path,
        names: names.join('\0'),
        count: names.length,
        kinds: kinds.slice(0, names.length),
        ids: ids.slice(0, names.length * 5),
        targets,
      });
    } catch (error) {
      const { message, code, syscall, rawName } = error as {
        message: string;
        code?: string;
        syscall?: string;
        rawName?: unknown;
      };
      results.push({
        path,
        error: { message, code, syscall, ...(rawName instanceof Uint8Array ? { name: rawName } : {}) },
      });
    }
  }
  return results;
}

export interface HashJob {
  readonly path: string;
  /** Copy the bytes into the store through this temporary file, or only hash when undefined. */
  readonly temporary: string | undefined;
}

/**
 * The results of a list of hash jobs, packed (no object per file): 32 bytes
 * of sha256 per job, and per job the bytes read, then the modification time
 * (ms) and size seen after reading, to detect a file changing underneath.
 */
export interface HashedFiles {
  readonly digests: Uint8Array;
  readonly numbers: Float64Array;
  /** With flushing left to the caller: 1 for each job whose bytes wait in its temporary file. */
  readonly unflushed: Uint8Array;
}

export const HASHED_NUMBERS = 3;

export interface HashFailure {
  readonly error: {
    readonly message: string;
    readonly code: string | undefined;
    readonly path: string;
    /** Whether reading the file failed, or writing its copy into the store. */
    readonly writing: boolean;
  };
}

/**
 * Hashes files, reading each once in blocks of `buffer`'s size. With a
 * temporary path, the bytes also go into the store under `objects`: written
 * to the temporary file, fsynced, made read-only and renamed to their hash,
 * so a blob that exists is always complete. Small files are hashed first and
 * written only when the store lacks them; large ones are copied while read.
 * The fsyncs run in the background (libuv's thread pool), many at a time, so
 * the disk flushes one file while the next is read and the journal commits
 * several at once; the function returns when every blob is in place.
 *
 * With `flushLater`, the temporary files are only written and closed: the
 * caller makes them durable all at once, then renames them (ObjectStore.adoptDurably).
 */
export async function hashFiles(
  fs: FsModule,
  createHash: typeof import('node:crypto').createHash,
  buffer: Buffer,
  objects: string,
  jobs: readonly HashJob[],
  flushLater: boolean,
): Promise<HashedFiles | HashFailure> {
  const digests = new Uint8Array(jobs.length * 32);
  const numbers = new Float64Array(jobs.length * 3);
  const unflushed = new Uint8Array(jobs.length);
  let done = 0;
  const record = (digest: Buffer, size: number, after: { mtimeMs: number; size: number }): string => {
    digests.set(digest, done * 32);
    numbers[done * 3] = size;
    numbers[done * 3 + 1] = after.mtimeMs;
    numbers[done * 3 + 2] = after.size;
    done++;
    return digest.toString('hex');
  };
  const pending = new Set<Promise<void>>();
  let failure: HashFailure | undefined;
  const fail = (error: unknown, path: string, writing: boolean): void => {
    const { message, code } = error as { message: string; code?: string };
    failure ??= { error: { message, code, path, writing } };
  };
  const madeFolders = new Set<string>();
  /** Moves a complete temporary file into place as blob `hash`, or drops it if the store has the blob. */
  const adopt = (temporary: string, hash: string): void => {
    const folder = `${objects}/${hash.slice(0, 2)}`;
    const target = `${folder}/${hash.slice(2)}`;
    if (fs.existsSync(target)) {
      fs.rmSync(temporary, { force: true });
      // Freshly used again: gc keeps young blobs, so it cannot remove this one
      // between now and the moment the new record is written.
      const now = new Date();
      fs.utimesSync(target, now, now);
      return;
    }
    if (!madeFolders.has(folder)) {
      fs.mkdirSync(folder, { recursive: true });
      madeFolders.add(folder);
    }
    fs.renameSync(temporary, target);
  };
  /** fsyncs and closes `descriptor` in the background, then adopts the file (or leaves both to the caller). */
  const flushThenAdopt = (descriptor: number, temporary: string, hash: string): void => {
    if (flushLater) {
      fs.closeSync(descriptor);
      unflushed[done - 1] = 1;
      return;
    }
    const flushed = new Promise<void>((resolve) => {
      fs.fsync(descriptor, (syncError) => {
        fs.close(descriptor, (closeError) => {
          try {
            const error = syncError ?? closeError;
            if (error) throw error;
            adopt(temporary, hash);
          } catch (error) {
            fail(error, temporary, true);
            fs.rmSync(temporary, { force: true });
          }
          resolve();
        });
      });
    });
    pending.add(flushed);
    void flushed.then(() => pending.delete(flushed));
  };

  for (const job of jobs) {
    if (failure) break;
    // Bound the flushes in flight: each holds a descriptor.
    while (pending.size >= 64) await Promise.race(pending);
    let input: number | undefined;
    let output: number | undefined;
    let writing = false;
    try {
      input = fs.openSync(job.path, 'r');
      const hash = createHash('sha256');
      let size = 0;
      let read = fs.readSync(input, buffer, 0, buffer.length, null);
      if (read < buffer.length) {
        // The whole file fits in the buffer: hash it, and write it only if the store lacks it.
        hash.update(buffer.subarray(0, read));
        size = read;
        const digest = record(hash.digest(), size, fs.fstatSync(input));
        if (job.temporary !== undefined) {
          const target = `${objects}/${digest.slice(0, 2)}/${digest.slice(2)}`;
          if (fs.existsSync(target)) {
            const now = new Date();
            fs.utimesSync(target, now, now);
          } else {
            writing = true;
            output = fs.openSync(job.temporary, 'wx', 0o444);
            fs.writeSync(output, buffer, 0, read);
            flushThenAdopt(output, job.temporary, digest);
            output = undefined;
          }
        }
        continue;
      }
      if (job.temporary !== undefined) {
        writing = true;
        output = fs.openSync(job.temporary, 'wx', 0o444);
        writing = false;
      }
      while (read > 0) {
        hash.update(buffer.subarray(0, read));
        if (output !== undefined) {
          writing = true;
          fs.writeSync(output, buffer, 0, read);
          writing = false;
        }
        size += read;
        read = fs.readSync(input, buffer, 0, buffer.length, null);
      }
      const digest = record(hash.digest(), size, fs.fstatSync(input));
      if (output !== undefined && job.temporary !== undefined) {
        flushThenAdopt(output, job.temporary, digest);
        output = undefined;
      }
    } catch (error) {
      fail(error, writing ? (job.temporary ?? job.path) : job.path, writing);
      if (output !== undefined) {
        fs.closeSync(output);
        if (job.temporary !== undefined) fs.rmSync(job.temporary, { force: true });
      }
    } finally {
      if (input !== undefined) fs.closeSync(input);
    }
  }
  await Promise.all(pending);
  return failure ?? { digests, numbers, unflushed };
}
