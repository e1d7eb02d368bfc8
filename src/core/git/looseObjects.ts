// Git objects read and written by Sluice itself, as git stores them: a loose
// object is `TYPE SIZE\0CONTENT`, named by its SHA-1, zlib-deflated into
// objects/ab/cdef…, written to a temporary file in its fan-out folder,
// fsynced and renamed into place, so an object that exists is always
// complete. A git process costs 5 to 30 ms to start here; a record of a few
// objects costs less than one of them this way. Only for repositories whose
// objects are plain SHA-1 files (gitFacts.ts decides); packed objects are
// found through the packs' indexes, and read by git.
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fdatasync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { constants, deflateSync, inflateSync } from 'node:zlib';
import { withPath } from '../errors';

export type ObjectType = 'blob' | 'tree' | 'commit' | 'tag';

export interface LooseObject {
  readonly type: ObjectType;
  readonly content: Buffer;
}

const TYPES = new Set<string>(['blob', 'tree', 'commit', 'tag']);
const SHA1 = /^[0-9a-f]{40}$/;

/** The id git gives an object of `type` holding `content`. */
export function objectId(type: ObjectType, content: Buffer): string {
  return createHash('sha1').update(`${type} ${content.length}\0`).update(content).digest('hex');
}

/**
 * A tree's content as git writes it: `MODE NAME\0` and the binary id per
 * entry, sorted by name as bytes, folders compared as if their name ended in
 * '/'. Written into one buffer: a buffer per entry cost 15 ms for a folder of
 * 1,000 subfolders.
 */
export function treeContent(entries: Iterable<readonly [name: string, mode: string, id: string]>): Buffer {
  const list = [...entries].map(([name, mode, id]) => ({
    name,
    mode,
    id,
    key: mode === '40000' ? `${name}/` : name,
  }));
  // UTF-16 order is UTF-8 byte order for names without characters beyond the BMP's surrogates.
  if (list.every(({ name }) => !/[\ud800-\udfff]/.test(name)))
    list.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  else list.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
  let length = 0;
  for (const { name, mode, id } of list) length += mode.length + 2 + Buffer.byteLength(name) + id.length / 2;
  const content = Buffer.allocUnsafe(length);
  let at = 0;
  for (const { name, mode, id } of list) {
    at += content.write(mode, at, 'latin1');
    content[at++] = 0x20;
    at += content.write(name, at, 'utf8');
    content[at++] = 0;
    at += content.write(id, at, 'hex');
  }
  return content;
}

/**
 * Contents already worked out, by the map of entries they came from: a
 * record's trees are first named (treeIdOf) and then written (treeContentOf),
 * and the root of a dataset of 1,000 folders costs milliseconds each time.
 * The maps are not changed once named.
 */
const contents = new WeakMap<ReadonlyMap<string, readonly [string, string]>, Buffer>();

/** A tree's content from its entries (name → mode and id). */
export function treeContentOf(entries: ReadonlyMap<string, readonly [mode: string, id: string]>): Buffer {
  let content = contents.get(entries);
  if (content === undefined) {
    content = treeContent([...entries].map(([name, [mode, id]]) => [name, mode, id] as const));
    contents.set(entries, content);
  }
  return content;
}

/** A tree's id, from its entries (name → mode and id), as git computes it. */
export function treeIdOf(
  entries: ReadonlyMap<string, readonly [mode: string, id: string]>,
  algorithm: 'sha1' | 'sha256' = 'sha1',
): string {
  const content = treeContentOf(entries);
  return createHash(algorithm).update(`tree ${content.length}\0`).update(content).digest('hex');
}

/** The ids (sorted, 20 bytes each) of one pack index, read whole the first time it is asked. */
interface PackIndex {
  readonly path: string;
  readonly fanOut: Uint32Array;
  /** The ids, for an index small enough to hold; a large one is searched in its file. */
  readonly ids: Buffer | undefined;
}

/** Objects written before their flush is awaited: open descriptors, well under the usual limit of 1,024. */
const FLUSHED_TOGETHER = 256;
/** Indexes up to this size are read whole (150,000 objects); larger ones are searched in place. */
const HELD_INDEX_BYTES = 4 << 20;
const IDS_AT = 8 + 1024;

export class LooseObjects {
  /** Ids known to exist (written or found by this process): not looked for again. */
  private readonly known = new Set<string>();
  private packIndexes: PackIndex[] | undefined;

  constructor(
    readonly folder: string,
    /** Pack indexes up to this size are read whole; larger ones are searched in their files. */
    private readonly heldIndexBytes = HELD_INDEX_BYTES,
  ) {}

  pathOf(id: string): string {
    return join(this.folder, id.slice(0, 2), id.slice(2));
  }

  /**
   * Whether git has object `id`, loose or packed. Packs added since the
   * first look are found on a second look, as git does.
   */
  has(id: string): boolean {
    if (this.known.has(id)) return true;
    if (this.isLoose(id) || this.isPacked(id, false) || this.isPacked(id, true)) {
      this.known.add(id);
      return true;
    }
    return false;
  }

  private isLoose(id: string): boolean {
    // That the file is there is enough: git itself asks no more.
    return existsSync(this.pathOf(id));
  }

  private isPacked(id: string, reload: boolean): boolean {
    if (!SHA1.test(id)) return false;
    if (this.packIndexes === undefined || reload)
      this.packIndexes = readPackIndexes(join(this.folder, 'pack'), this.heldIndexBytes);
    const wanted = Buffer.from(id, 'hex');
    const first = wanted[0]!;
    const entry = Buffer.alloc(20);
    for (const { path, fanOut, ids } of this.packIndexes) {
      let low = first === 0 ? 0 : fanOut[first - 1]!;
      let high = fanOut[first]!;
      if (low >= high) continue;
      let descriptor: number | undefined;
      try {
        if (ids === undefined) descriptor = openSync(path, 'r');
        while (low < high) {
          const middle = (low + high) >>> 1;
          let order: number;
          if (ids !== undefined) order = ids.compare(wanted, 0, 20, middle * 20, middle * 20 + 20);
          else {
            readSync(descriptor!, entry, 0, 20, IDS_AT + middle * 20);
            order = entry.compare(wanted);
          }
          if (order === 0) return true;
          if (order < 0) low = middle + 1;
          else high = middle;
        }
      } catch {
        // Removed by a repack meanwhile: the second look finds the pack that replaced it.
      } finally {
        if (descriptor !== undefined) closeSync(descriptor);
      }
    }
    return false;
  }

  /**
   * Writes objects and returns their ids, in order. Each that exists already
   * is only freshened (its time set to now, as git does, so that a prune
   * running meanwhile keeps it); the new ones are written to temporary files
   * in their fan-out folders, flushed to the disk together (the flushes of
   * one batch share the file system's journal commits: one by one, each
   * waits for its own, 4 ms apiece on a busy disk) and renamed into place
   * before this returns.
   */
  async write(objects: readonly LooseObject[]): Promise<string[]> {
    const ids: string[] = [];
    const staged: { temporary: string; target: string; id: string; descriptor: number }[] = [];
    const stagedIds = new Set<string>();
    /** Flushes the staged files together, closes them and renames them into place. */
    const settle = async (): Promise<void> => {
      await Promise.all(staged.map(({ descriptor, temporary }) => flush(descriptor, temporary)));
      for (const file of staged) {
        const { descriptor } = file;
        file.descriptor = -1;
        closeSync(descriptor);
      }
      for (const { temporary, target, id } of staged) {
        try {
          renameSync(temporary, target);
        } catch (error) {
          throw withPath(error, target);
        }
        this.known.add(id);
      }
      staged.length = 0;
    };
    try {
      for (const { type, content } of objects) {
        const header = Buffer.from(`${type} ${content.length}\0`);
        const id = createHash('sha1').update(header).update(content).digest('hex');
        ids.push(id);
        if (this.known.has(id) || stagedIds.has(id)) continue;
        const target = this.pathOf(id);
        if (freshen(target)) {
          this.known.add(id);
          continue;
        }
        // Loose objects are deflated at git's own default level for them (core.looseCompression: 1).
        const bytes = deflateSync(Buffer.concat([header, content]), { level: constants.Z_BEST_SPEED });
        const temporary = join(
          this.folder,
          id.slice(0, 2),
          `tmp_obj_${randomBytes(6).toString('base64url')}`,
        );
        const descriptor = openTemporary(temporary);
        staged.push({ temporary, target, id, descriptor });
        stagedIds.add(id);
        try {
          for (let at = 0; at < bytes.length;) at += writeSync(descriptor, bytes, at, bytes.length - at);
        } catch (error) {
          throw withPath(error, temporary);
        }
        // Each staged file holds a descriptor: a first record of 10,000 folders would run out of them.
        if (staged.length >= FLUSHED_TOGETHER) await settle();
      }
      await settle();
      return ids;
    } catch (error) {
      for (const { descriptor, temporary } of staged) {
        if (descriptor >= 0) closeSync(descriptor);
        rmSync(temporary, { force: true });
      }
      throw error;
    }
  }

  /**
   * Object `id` if it is loose here; undefined when it is not (packed, or
   * missing) or cannot be read as a loose object (git then reads it and says
   * what is wrong).
   */
  read(id: string): LooseObject | undefined {
    if (!SHA1.test(id)) return undefined;
    let raw: Buffer;
    try {
      raw = inflateSync(readFileSync(this.pathOf(id)));
    } catch {
      return undefined;
    }
    const nul = raw.indexOf(0);
    const space = raw.indexOf(0x20);
    if (nul < 0 || space < 0 || space > nul) return undefined;
    const type = raw.toString('latin1', 0, space);
    const size = Number(raw.toString('latin1', space + 1, nul));
    if (!TYPES.has(type) || raw.length - nul - 1 !== size) return undefined;
    this.known.add(id);
    return { type: type as ObjectType, content: raw.subarray(nul + 1) };
  }
}

/** Creates a temporary object file (git names them so: its gc removes those a crash left), and its fan-out folder if missing. */
function openTemporary(temporary: string): number {
  try {
    return openSync(temporary, 'wx', 0o444);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw withPath(error, temporary);
  }
  try {
    mkdirSync(dirname(temporary), { recursive: true });
    return openSync(temporary, 'wx', 0o444);
  } catch (error) {
    throw withPath(error, temporary);
  }
}

/** fdatasync on libuv's threads: the bytes and the size that finds them are on the disk when it resolves. */
function flush(descriptor: number, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    fdatasync(descriptor, (error) => {
      if (!error) resolve();
      else {
        withPath(error, path);
        reject(error);
      }
    });
  });
}

/** Sets an existing object's times to now; false when there is no such file. */
function freshen(path: string): boolean {
  // Most objects written are new: a look that throws nothing first (an exception costs more than the call).
  if (!existsSync(path)) return false;
  try {
    const now = new Date();
    utimesSync(path, now, now);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Exists, but not ours to touch (another user's repository, shared): it is there all the same.
    return code === 'EPERM' || code === 'EACCES';
  }
}

/** The version-2 pack indexes in `folder` (git has written no other kind since 2008). */
function readPackIndexes(folder: string, heldIndexBytes: number): PackIndex[] {
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return [];
  }
  const indexes: PackIndex[] = [];
  for (const name of names) {
    if (!name.endsWith('.idx')) continue;
    const path = join(folder, name);
    let bytes: Buffer;
    try {
      const size = statSync(path).size;
      if (size <= heldIndexBytes) bytes = readFileSync(path);
      else {
        bytes = Buffer.alloc(IDS_AT);
        const descriptor = openSync(path, 'r');
        try {
          readSync(descriptor, bytes, 0, IDS_AT, 0);
        } finally {
          closeSync(descriptor);
        }
      }
    } catch {
      continue; // removed by a repack meanwhile: its objects are in the pack that replaced it
    }
    if (bytes.length < IDS_AT || bytes.readUInt32BE(0) !== 0xff744f63 || bytes.readUInt32BE(4) !== 2)
      continue;
    const fanOut = new Uint32Array(256);
    for (let i = 0; i < 256; i++) fanOut[i] = bytes.readUInt32BE(8 + i * 4);
    const count = fanOut[255]!;
    const held = bytes.length >= IDS_AT + count * 20;
    indexes.push({ path, fanOut, ids: held ? bytes.subarray(IDS_AT, IDS_AT + count * 20) : undefined });
  }
  return indexes;
}
