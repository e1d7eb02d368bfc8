// The stat cache of a dataset: every folder as last scanned (folder.ts), so
// a file whose stat identity (inode, mtime, ctime, size, mode) is unchanged
// is not read again, and a folder whose entries are all unchanged keeps its
// listing digest without a single hash or string being built. Stored in one
// binary file per dataset that loads as a handful of typed-array views.
import { readFileSync } from 'node:fs';
import { writeFileAtomicAsync } from '../fs/atomicWrite';
import { ID_FIELDS } from '../store/workerJobs';
import { Folder, HASH_BYTES } from './folder';

const MAGIC = Buffer.from('sluice-state 2\n');
const HEADER_BYTES = 32;

/**
 * Files modified this close to when the cache was written may have changed
 * again within the same timestamp tick ("racy" entries): they are re-hashed.
 */
export const RACY_WINDOW_MS = 10;

function align8(offset: number): number {
  return (offset + 7) & ~7;
}

export class DatasetState {
  constructor(
    private readonly file: string,
    readonly folders: ReadonlyMap<string, Folder>,
    /** When the identities were taken (ms): entries changed since the window before this are not trusted. */
    readonly writtenAtMs: number,
  ) {}

  static empty(file: string): DatasetState {
    return new DatasetState(file, new Map(), 0);
  }

  /** The cache in `file`; an empty one when it is missing, unreadable or of another format. */
  static load(file: string): DatasetState {
    let data: Buffer;
    try {
      data = readFileSync(file);
    } catch {
      return DatasetState.empty(file);
    }
    try {
      return decode(file, data);
    } catch {
      return DatasetState.empty(file); // damaged or foreign: start afresh
    }
  }

  /** The file stat identities `racyAfterMs` or later are not trusted. */
  get racyAfterMs(): number {
    return this.writtenAtMs - RACY_WINDOW_MS;
  }

  /** Writes `folders` as the new cache, atomically. `takenAtMs` is when the scan that read them started. */
  async save(folders: ReadonlyMap<string, Folder>, takenAtMs: number): Promise<void> {
    await writeFileAtomicAsync(this.file, encode(folders, takenAtMs));
  }
}

function encode(folders: ReadonlyMap<string, Folder>, takenAtMs: number): Buffer {
  const parts = [...folders.values()].map((folder) => {
    const path = Buffer.from(folder.path);
    const names = Buffer.from(folder.names);
    const targets = Buffer.from(folder.targets.join('\0'));
    return { folder, path, names, targets };
  });
  let size = HEADER_BYTES;
  for (const { folder, path, names, targets } of parts) {
    size = align8(size + 16 + path.length + names.length + targets.length + 64 + folder.count);
    size += folder.count * (ID_FIELDS * 8 + HASH_BYTES);
  }
  const data = Buffer.alloc(size);
  MAGIC.copy(data, 0);
  data.writeDoubleLE(takenAtMs, 16);
  data.writeUInt32LE(parts.length, 24);
  let at = HEADER_BYTES;
  for (const { folder, path, names, targets } of parts) {
    data.writeUInt32LE(path.length, at);
    data.writeUInt32LE(folder.count, at + 4);
    data.writeUInt32LE(names.length, at + 8);
    data.writeUInt32LE(targets.length, at + 12);
    at += 16;
    at += path.copy(data, at);
    at += names.copy(data, at);
    at += targets.copy(data, at);
    // 64 characters: the digest, or zeros when it is not known.
    at += data.write(folder.digest.padEnd(64, '0'), at, 64, 'latin1');
    data.set(folder.kinds, at);
    at = align8(at + folder.count);
    data.set(new Uint8Array(folder.ids.buffer, folder.ids.byteOffset, folder.count * ID_FIELDS * 8), at);
    at += folder.count * ID_FIELDS * 8;
    data.set(folder.hashes.subarray(0, folder.count * HASH_BYTES), at);
    at += folder.count * HASH_BYTES;
  }
  return data;
}

const UNKNOWN_DIGEST = '0'.repeat(64);

function decode(file: string, loaded: Buffer): DatasetState {
  if (loaded.length < HEADER_BYTES || !loaded.subarray(0, MAGIC.length).equals(MAGIC))
    throw new Error('format');
  // Float64Array views need 8-byte alignment within their ArrayBuffer.
  const data = loaded.byteOffset % 8 === 0 ? loaded : Buffer.from(loaded);
  const writtenAtMs = data.readDoubleLE(16);
  const count = data.readUInt32LE(24);
  const folders = new Map<string, Folder>();
  let at = HEADER_BYTES;
  for (let f = 0; f < count; f++) {
    const pathBytes = data.readUInt32LE(at);
    const entries = data.readUInt32LE(at + 4);
    const nameBytes = data.readUInt32LE(at + 8);
    const targetBytes = data.readUInt32LE(at + 12);
    at += 16;
    const path = data.toString('utf8', at, (at += pathBytes));
    const names = data.toString('utf8', at, (at += nameBytes));
    const targetText = data.toString('utf8', at, (at += targetBytes));
    const digestText = data.toString('latin1', at, (at += 64));
    if (at + entries > data.length) throw new Error('truncated');
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
    folders.set(path, new Folder(path, names, entries, kinds, ids, targets, hashes, digest));
  }
  return new DatasetState(file, folders, writtenAtMs);
}
