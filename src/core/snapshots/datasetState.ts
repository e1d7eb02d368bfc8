// The stat cache of a dataset: every folder as last scanned (folder.ts), so
// a file whose stat identity (inode, mtime, ctime, size, mode) is unchanged
// is not read again, and a folder whose entries are all unchanged keeps its
// listing digest without a single hash or string being built.
//
// On disk: a base file that loads as a handful of typed-array views per
// folder, and beside it a log of the folders changed since, appended one
// checksummed record per update. A snapshot after a change of ten files
// appends ten folders instead of rewriting 100,000 entries; the base is
// rewritten (atomically) once the log has grown to a quarter of it. A record
// that did not reach the disk whole fails its checksum and is ignored with
// everything after it: the cache is then older, which costs re-reading files,
// never a wrong hash.
import { createHash, randomBytes } from 'node:crypto';
import { rmSync, statSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { writeFileAtomicAsync } from '../fs/atomicWrite';
import { CancelledError, withPath } from '../errors';
import { ID_FIELDS } from '../fs/folderReads';
import { Folder, HASH_BYTES } from './folder';
import type { Slicer } from './slices';

// 5: scans before it left out (silently) a file whose name is not valid UTF-8; a folder
// cached then would not be listed again, so such caches are not read.
const BASE_MAGIC = Buffer.from('sluice-state 5\n\0');
const BASE_HEADER_BYTES = 40;
const LOG_MAGIC = 0x474f4c53; // "SLOG"
const LOG_HEADER_BYTES = 48;
/** A folder record starts with four counts (u32) and its scan's time (f64). */
const FOLDER_HEADER_BYTES = 24;
/** The log may grow to a quarter of the base, or this much for a small base, before it is folded in. */
const LOG_FLOOR_BYTES = 64 << 10;

/**
 * Files modified this close to (or after) the start of the scan that took
 * their identities may have changed again within the same clock tick ("racy"
 * entries): they are hashed again. Each folder keeps the time of its scan, so
 * folders saved by different scans (two processes at once) are each judged
 * by their own.
 */
export const RACY_WINDOW_MS = 10;

function align8(offset: number): number {
  return (offset + 7) & ~7;
}

/** What a scan learnt: folders new or changed, and folders gone. */
export interface StateChanges {
  readonly set: readonly Folder[];
  readonly remove: readonly string[];
}

export class DatasetState {
  private constructor(
    private readonly file: string,
    private readonly current: Map<string, Folder>,
    /** Identifies the base file; log records name it, so a log left beside another base is ignored. */
    private generation: Buffer,
    private baseBytes: number,
    private logBytes: number,
  ) {}

  get folders(): ReadonlyMap<string, Folder> {
    return this.current;
  }

  /** The cache in `file`; an empty one when it is missing, unreadable or of another format. */
  static async load(file: string, slicer: Slicer): Promise<DatasetState> {
    const state = new DatasetState(file, new Map(), Buffer.alloc(8), 0, 0);
    let base: Buffer;
    try {
      base = aligned(await readFile(file));
    } catch {
      return state;
    }
    try {
      if (base.length < BASE_HEADER_BYTES || !base.subarray(0, BASE_MAGIC.length).equals(BASE_MAGIC))
        throw new Error('format');
      await decodeFolders(base, BASE_HEADER_BYTES, base.readUInt32LE(24), state.current, slicer);
      state.generation = Buffer.from(base.subarray(32, 40));
      state.baseBytes = base.length;
    } catch (error) {
      if (error instanceof CancelledError) throw error;
      return new DatasetState(file, new Map(), Buffer.alloc(8), 0, 0); // damaged or foreign: start afresh
    }
    state.logBytes = await state.replayLog(slicer);
    return state;
  }

  /** Applies the log's whole records; returns how many bytes of it are valid. */
  private async replayLog(slicer: Slicer): Promise<number> {
    let log: Buffer;
    try {
      log = aligned(await readFile(`${this.file}.log`));
    } catch {
      return 0;
    }
    let at = 0;
    while (at + LOG_HEADER_BYTES <= log.length) {
      if (log.readUInt32LE(at) !== LOG_MAGIC) break;
      const length = log.readUInt32LE(at + 4);
      const body = at + LOG_HEADER_BYTES;
      if (body + length > log.length) break;
      if (!log.subarray(at + 8, at + 16).equals(this.generation)) break;
      const digest = createHash('sha256')
        .update(log.subarray(body, body + length))
        .digest();
      if (!digest.equals(log.subarray(at + 16, at + 48))) break;
      try {
        const changes = new Map<string, Folder>();
        const end = await decodeFolders(log, body + 16, log.readUInt32LE(body + 8), changes, slicer);
        const removed = decodePaths(log, end, log.readUInt32LE(body + 12));
        for (const path of removed) this.current.delete(path);
        for (const [path, folder] of changes) this.current.set(path, folder);
      } catch (error) {
        if (error instanceof CancelledError) throw error;
        break;
      }
      at = body + length;
    }
    return at;
  }

  /**
   * Records what a scan learnt: appended to the log, or folded into a new base
   * when the log has grown large.
   */
  async update(changes: StateChanges, slicer: Slicer): Promise<void> {
    for (const path of changes.remove) this.current.delete(path);
    for (const folder of changes.set) this.current.set(folder.path, folder);
    const prepared = prepare(changes.set);
    const removed = changes.remove.map((path) => Buffer.from(path));
    const recordBytes = logRecordBytes(prepared.bytes, removed);
    if (this.baseBytes > 0 && this.logBytes + recordBytes <= Math.max(LOG_FLOOR_BYTES, this.baseBytes / 4)) {
      const record = await encodeLogRecord(prepared, removed, this.generation, slicer);
      this.logBytes = await appendDurably(`${this.file}.log`, record, this.logBytes);
      return;
    }
    this.generation = randomBytes(8);
    const base = await encodeBase(this.current, this.generation, slicer);
    await writeFileAtomicAsync(this.file, base);
    this.baseBytes = base.length;
    // The old log names the old generation: ignored from now on, and removed.
    rmSync(`${this.file}.log`, { force: true });
    this.logBytes = 0;
  }
}

/**
 * Appends `record` after the `validBytes` of the log this process read, and
 * returns the log's valid length after it. What
 * follows them (a torn record, or one another process appended since) is cut
 * off: the cache then misses that process's findings, which costs re-reading
 * files, never a wrong hash. A log shorter than that is not the one read (a
 * new base replaced it): the record starts a new log, and the base's
 * generation, which it does not name, makes it ignored.
 */
async function appendDurably(file: string, record: Buffer, validBytes: number): Promise<number> {
  let size = 0;
  try {
    size = statSync(file).size;
  } catch {
    // No log yet.
  }
  const at = size < validBytes ? 0 : validBytes;
  const handle = await open(file, size === 0 ? 'w' : 'r+');
  try {
    if (size !== at) await handle.truncate(at);
    await handle.write(record, 0, record.length, at);
    await handle.sync();
  } catch (error) {
    // A write on a descriptor names no path (a full disk): this says which file.
    throw withPath(error, file);
  } finally {
    await handle.close();
  }
  return at + record.length;
}

/** Typed-array views need 8-byte alignment within their ArrayBuffer. */
function aligned(data: Buffer): Buffer {
  return data.byteOffset % 8 === 0 ? data : Buffer.from(data);
}

interface EncodedFolder {
  readonly folder: Folder;
  readonly path: Buffer;
  readonly names: Buffer;
  readonly targets: Buffer;
}

function prepare(folders: Iterable<Folder>): { parts: EncodedFolder[]; bytes: number } {
  const parts: EncodedFolder[] = [];
  let bytes = 0;
  for (const folder of folders) {
    const part = {
      folder,
      path: Buffer.from(folder.path),
      names: Buffer.from(folder.names),
      targets: Buffer.from(folder.targets.join('\0')),
    };
    parts.push(part);
    bytes = align8(
      bytes +
        FOLDER_HEADER_BYTES +
        part.path.length +
        part.names.length +
        part.targets.length +
        128 +
        folder.count,
    );
    bytes += folder.count * (ID_FIELDS * 8 + HASH_BYTES);
  }
  return { parts, bytes };
}

/** Writes folder records at `at` (8-aligned); returns the offset after them. */
async function encodeFolders(
  data: Buffer,
  at: number,
  parts: readonly EncodedFolder[],
  slicer: Slicer,
): Promise<number> {
  for (const { folder, path, names, targets } of parts) {
    await slicer.maybeYield();
    data.writeUInt32LE(path.length, at);
    data.writeUInt32LE(folder.count, at + 4);
    data.writeUInt32LE(names.length, at + 8);
    data.writeUInt32LE(targets.length, at + 12);
    data.writeDoubleLE(folder.takenAtMs, at + 16);
    at += FOLDER_HEADER_BYTES;
    at += path.copy(data, at);
    at += names.copy(data, at);
    at += targets.copy(data, at);
    // 64 characters: the digest, or zeros when it is not known; then the git tree id, if any, NUL-padded.
    at += data.write(folder.digest.padEnd(64, '0'), at, 64, 'latin1');
    data.fill(0, at, at + 64);
    data.write(folder.tree, at, 64, 'latin1');
    at += 64;
    data.set(folder.kinds.subarray(0, folder.count), at);
    at = align8(at + folder.count);
    data.set(new Uint8Array(folder.ids.buffer, folder.ids.byteOffset, folder.count * ID_FIELDS * 8), at);
    at += folder.count * ID_FIELDS * 8;
    data.set(folder.hashes.subarray(0, folder.count * HASH_BYTES), at);
    at += folder.count * HASH_BYTES;
  }
  return at;
}

const UNKNOWN_DIGEST = '0'.repeat(64);

/** Reads `count` folder records from `at` into `into`; returns the offset after them. */
async function decodeFolders(
  data: Buffer,
  at: number,
  count: number,
  into: Map<string, Folder>,
  slicer: Slicer,
): Promise<number> {
  for (let f = 0; f < count; f++) {
    if ((f & 63) === 63) await slicer.maybeYield();
    if (at + FOLDER_HEADER_BYTES > data.length) throw new Error('truncated');
    const pathBytes = data.readUInt32LE(at);
    const entries = data.readUInt32LE(at + 4);
    const nameBytes = data.readUInt32LE(at + 8);
    const targetBytes = data.readUInt32LE(at + 12);
    const takenAtMs = data.readDoubleLE(at + 16);
    at += FOLDER_HEADER_BYTES;
    if (at + pathBytes + nameBytes + targetBytes + 128 + entries > data.length) throw new Error('truncated');
    const path = data.toString('utf8', at, (at += pathBytes));
    const names = data.toString('utf8', at, (at += nameBytes));
    const targetText = data.toString('utf8', at, (at += targetBytes));
    const digestText = data.toString('latin1', at, (at += 64));
    const treeText = data.toString('latin1', at, (at += 64));
    const kinds = new Uint8Array(data.buffer, data.byteOffset + at, entries);
    at = align8(at + entries);
    const idsEnd = at + entries * ID_FIELDS * 8;
    const hashesEnd = idsEnd + entries * HASH_BYTES;
    if (hashesEnd > data.length) throw new Error('truncated');
    const ids = new Float64Array(data.buffer, data.byteOffset + at, entries * ID_FIELDS);
    const hashes = new Uint8Array(data.buffer, data.byteOffset + idsEnd, entries * HASH_BYTES);
    at = hashesEnd;
    const targets = targetBytes === 0 ? [] : targetText.split('\0');
    const digest = digestText === UNKNOWN_DIGEST ? '' : digestText;
    const tree = treeText.replace(/\0+$/, '');
    into.set(path, new Folder(path, names, entries, kinds, ids, targets, hashes, digest, takenAtMs, tree));
  }
  return at;
}

function decodePaths(data: Buffer, at: number, count: number): string[] {
  const paths: string[] = [];
  for (let i = 0; i < count; i++) {
    const length = data.readUInt32LE(at);
    paths.push(data.toString('utf8', at + 4, at + 4 + length));
    at += 4 + length;
  }
  return paths;
}

async function encodeBase(
  folders: ReadonlyMap<string, Folder>,
  generation: Buffer,
  slicer: Slicer,
): Promise<Buffer> {
  const { parts, bytes } = prepare(folders.values());
  const data = Buffer.alloc(BASE_HEADER_BYTES + bytes);
  BASE_MAGIC.copy(data, 0);
  data.writeUInt32LE(parts.length, 24);
  generation.copy(data, 32);
  await encodeFolders(data, BASE_HEADER_BYTES, parts, slicer);
  return data;
}

function logRecordBytes(folderBytes: number, removed: readonly Buffer[]): number {
  const removedBytes = removed.reduce((sum, path) => sum + 4 + path.length, 0);
  return LOG_HEADER_BYTES + align8(16 + folderBytes + removedBytes);
}

async function encodeLogRecord(
  { parts, bytes }: { parts: EncodedFolder[]; bytes: number },
  removed: readonly Buffer[],
  generation: Buffer,
  slicer: Slicer,
): Promise<Buffer> {
  // Header: magic, body length, generation, sha256 of the body. Body: 8 bytes kept free, the number
  // of folders and of removed paths, the folders (as in the base), the removed paths.
  const data = Buffer.alloc(logRecordBytes(bytes, removed));
  const length = data.length - LOG_HEADER_BYTES;
  const body = LOG_HEADER_BYTES;
  data.writeUInt32LE(parts.length, body + 8);
  data.writeUInt32LE(removed.length, body + 12);
  let at = await encodeFolders(data, body + 16, parts, slicer);
  for (const path of removed) {
    data.writeUInt32LE(path.length, at);
    at += 4 + path.copy(data, at + 4);
  }
  data.writeUInt32LE(LOG_MAGIC, 0);
  data.writeUInt32LE(length, 4);
  generation.copy(data, 8);
  createHash('sha256').update(data.subarray(body)).digest().copy(data, 16);
  return data;
}
