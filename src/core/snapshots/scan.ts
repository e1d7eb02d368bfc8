// Reading a dataset from disk: every file, link and empty folder, with the
// hash of every file. Hashes come from the stat cache when a file's identity
// is unchanged; the rest are hashed in parallel (and copied into the store).
import { lstatSync, readdirSync, readlinkSync, realpathSync, type BigIntStats } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { SluiceError } from '../errors';
import { hashFiles, HashError } from '../store/hashPool';
import type { ObjectStore } from '../store/objectStore';
import type { StatCache } from './statCache';

/** One entry of a snapshot; `path` is relative to the dataset path ('' when the dataset is one file). */
export type FileEntry =
  | {
      readonly path: string;
      readonly type: 'file';
      readonly size: number;
      readonly sha256: string;
      readonly mode: number;
    }
  | { readonly path: string; readonly type: 'link'; readonly target: string }
  | { readonly path: string; readonly type: 'dir'; readonly mode: number };

export interface ScanStats {
  readonly files: number;
  readonly bytes: number;
  /** Files read and hashed this time (not found unchanged in the stat cache). */
  readonly hashed: number;
  readonly hashedBytes: number;
}

interface Found {
  readonly path: string;
  readonly stat: BigIntStats;
}

/** Permission bits kept in snapshots: read-only and executable files come back as they were. */
const MODE_BITS = 0o777;

/**
 * Lists and hashes the dataset at `absolute` (a file or a folder). With
 * `store`, bytes not yet in the store are copied into it while hashing.
 */
export async function scanDataset(
  absolute: string,
  cache: StatCache,
  store: ObjectStore | undefined,
): Promise<{ entries: FileEntry[]; stats: ScanStats }> {
  let top: BigIntStats;
  try {
    top = lstatSync(absolute, { bigint: true });
  } catch {
    return { entries: [], stats: { files: 0, bytes: 0, hashed: 0, hashedBytes: 0 } };
  }
  const files: Found[] = [];
  const others: FileEntry[] = [];
  if (top.isDirectory()) walk(absolute, '', files, others);
  else if (top.isSymbolicLink()) others.push({ path: '', type: 'link', target: readlinkSync(absolute) });
  else if (top.isFile()) files.push({ path: '', stat: top });

  const hashes = new Array<string | undefined>(files.length);
  const toHash: { index: number; path: string; size: number; copyTo: string | undefined }[] = [];
  files.forEach((file, index) => {
    // A remembered hash is trusted without asking the store: that would cost a
    // stat per file. The snapshot checks the blobs of what is new (snapshots.ts).
    const known = cache.lookup(file.path, file.stat);
    if (known !== undefined) hashes[index] = known;
    else {
      toHash.push({
        index,
        path: file.path === '' ? absolute : join(absolute, file.path),
        size: Number(file.stat.size),
        copyTo: store ? store.temporaryPath() : undefined,
      });
    }
  });
  let results;
  try {
    results = await hashFiles(toHash);
  } catch (error) {
    if (error instanceof HashError) {
      throw new SluiceError(
        `Cannot read ${error.path ?? 'a file'}: ${error.message}`,
        'failed',
        'Check its permissions.',
      );
    }
    throw error;
  }
  let hashedBytes = 0;
  results.forEach((result, i) => {
    const job = toHash[i]!;
    const file = files[job.index]!;
    if (result.mtimeNs !== file.stat.mtimeNs.toString() || result.sizeAfter !== Number(file.stat.size)) {
      throw new SluiceError(
        `${job.path} changed while it was being read.`,
        'failed',
        'Let whatever writes it finish, then snapshot again.',
      );
    }
    if (job.copyTo && store) store.adopt(job.copyTo, result.hash);
    hashes[job.index] = result.hash;
    hashedBytes += result.size;
    cache.remember(file.path, file.stat, result.hash);
  });

  let bytes = 0;
  const entries: FileEntry[] = [...others];
  files.forEach((file, index) => {
    const size = Number(file.stat.size);
    bytes += size;
    entries.push({
      path: file.path,
      type: 'file',
      size,
      sha256: hashes[index]!,
      mode: Number(file.stat.mode) & MODE_BITS,
    });
  });
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  cache.retainOnly(new Set(files.map((file) => file.path)));
  return { entries, stats: { files: files.length, bytes, hashed: toHash.length, hashedBytes } };
}

function walk(absolute: string, prefix: string, files: Found[], others: FileEntry[]): void {
  const stack = [prefix];
  while (stack.length > 0) {
    const relativeDir = stack.pop()!;
    const dir = relativeDir === '' ? absolute : join(absolute, relativeDir);
    const names = readdirSync(dir);
    if (names.length === 0 && relativeDir !== '') {
      // Empty folders are part of a dataset too.
      others.push({ path: relativeDir, type: 'dir', mode: lstatSync(dir).mode & MODE_BITS });
    }
    for (const name of names) {
      const path = relativeDir === '' ? name : `${relativeDir}/${name}`;
      const stat = lstatSync(join(dir, name), { bigint: true });
      if (stat.isDirectory()) stack.push(path);
      else if (stat.isFile()) files.push({ path, stat });
      else if (stat.isSymbolicLink())
        others.push({ path, type: 'link', target: readlinkSync(join(dir, name)) });
      // Sockets, FIFOs and devices are not data: skipped.
    }
  }
}

/**
 * Throws unless `path` (relative to `root`) is inside the workspace, following
 * links on the way: a dataset path must not lead out through a link.
 */
export function requireInside(root: string, path: string, what: string): string {
  const absolute = join(root, path);
  let real: string;
  try {
    real = realpathSync(absolute);
  } catch {
    return absolute; // does not exist (yet): nothing to escape through
  }
  const rel = relative(realpathSync(root), real);
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new SluiceError(
      `${what} (${path}) leads outside the workspace through a link.`,
      'manifest',
      'Fix the path or the link.',
    );
  }
  return absolute;
}
