// Reading folders: every entry's name, kind and stat identity, the first step
// of every scan. Runs on worker threads (store/scanWorker.ts) for large
// folders and on the main thread, through the same function, for small ones.
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

type RawLstat = (path: string) => Float64Array | undefined;
/** Per `fs` module: Node's internal lstat binding where it agrees with lstatSync, or null. */
const rawLstatDecided = new WeakMap<object, RawLstat | null>();

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
  // Decided once per thread and `fs` (null: not trusted), on the first root read.
  let rawLstat = rawLstatDecided.get(fs);
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
    rawLstatDecided.set(fs, rawLstat);
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
            const error = { message: 'the name is not valid UTF-8', code: UNREADABLE_NAME };
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
      const ids = new Float64Array(all.length * ID_FIELDS);
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
          if (type === 0o100000) kind = KIND_FILE;
          else if (type === 0o040000) kind = KIND_FOLDER;
          else if (type === 0o120000) kind = KIND_LINK;
          else continue;
          ids[at * ID_FIELDS + ID_INO] = values[7]!;
          ids[at * ID_FIELDS + ID_SIZE] = values[8]!;
          ids[at * ID_FIELDS + ID_MTIME] = values[12]! * 1e3 + values[13]! / 1e6;
          ids[at * ID_FIELDS + ID_CTIME] = values[14]! * 1e3 + values[15]! / 1e6;
          ids[at * ID_FIELDS + ID_MODE] = values[1]!;
        } else {
          const stat = fs.lstatSync(full, { throwIfNoEntry: false });
          if (stat === undefined) continue;
          if (stat.isFile()) kind = KIND_FILE;
          else if (stat.isDirectory()) kind = KIND_FOLDER;
          else if (stat.isSymbolicLink()) kind = KIND_LINK;
          else continue;
          ids[at * ID_FIELDS + ID_INO] = stat.ino;
          ids[at * ID_FIELDS + ID_SIZE] = stat.size;
          ids[at * ID_FIELDS + ID_MTIME] = stat.mtimeMs;
          ids[at * ID_FIELDS + ID_CTIME] = stat.ctimeMs;
          ids[at * ID_FIELDS + ID_MODE] = stat.mode;
        }
        if (kind === KIND_LINK) targets.push(fs.readlinkSync(full));
        kinds[at] = kind;
        names.push(name);
      }
      results.push({
        path,
        names: names.join('\0'),
        count: names.length,
        kinds: kinds.slice(0, names.length),
        ids: ids.slice(0, names.length * ID_FIELDS),
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
