// Small blobs that arrived from a remote in packs stay packed in the local
// cache: .sluice/objects/packs/<name>.pack beside <name>.idx (packIndex.ts).
// A pull of 10,000 small files would otherwise create 10,000 blob files in
// the cache and then 10,000 files in the workspace; on ext4 each creation
// costs about as much as the bytes, so the cache's half of that work becomes
// one file. Loose blobs (objects/sha256/ab/cdef…) stay the rule everywhere
// else; ObjectStore answers for both, and a packed blob that must be a file
// of its own (a hard link, a large copy) is unpacked first.
//
// A pack and its index never change once in place (the index goes in after
// its pack, so an index always describes a whole pack). gc removes a pack
// whole, after unpacking whatever of it is still reachable.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { makeFolder } from '../fs/makeFolder';
import { decodeIndex, encodeIndex, packName, type PackEntry } from './packIndex';

/** Where one packed blob is. */
export interface PackedBlob {
  readonly pack: string;
  readonly offset: number;
  readonly length: number;
}

/** A pack written to the scratch folder, not yet flushed nor in place (LocalPacks.adopt). */
export interface StagedPack {
  readonly name: string;
  readonly packTemporary: string;
  readonly indexTemporary: string;
  readonly entries: readonly PackEntry[];
}

/** A pack in place, for gc. */
export interface PackInfo {
  readonly name: string;
  readonly entries: readonly PackEntry[];
  readonly mtimeMs: number;
}

/** Open packs kept at once: reads of many blobs reuse the descriptor; more would hold files gc removed. */
const OPEN_PACKS = 16;
/**
 * A folder's mtime moves in steps of the kernel's clock tick: a pack renamed
 * in within the same tick as a look leaves it unchanged. A look this soon
 * after the stamp proves nothing, so a miss reads the folder again until one
 * comes later than that.
 */
const RACY_MS = 2000;

export class LocalPacks {
  readonly folder: string;
  readonly #located = new Map<string, PackedBlob>();
  readonly #read = new Set<string>();
  /** The folder's mtime at the last look, and when that look was. */
  #stamp: number | undefined;
  #lookedAt = 0;
  /** Whether known() has read the indexes once. */
  #looked = false;
  readonly #descriptors = new Map<string, number>();

  constructor(objectsRoot: string) {
    this.folder = join(objectsRoot, 'packs');
  }

  pathOf(pack: string): string {
    return join(this.folder, `${pack}.pack`);
  }

  /** Where blob `hash` is packed, or undefined (indexes that appeared since the last look are read on a miss). */
  locate(hash: string): PackedBlob | undefined {
    return this.#located.get(hash) ?? (this.#refresh() ? this.#located.get(hash) : undefined);
  }

  /**
   * Where blob `hash` is packed, from the indexes read so far (read once,
   * at the first call): no look at the disk, for callers that try the loose
   * file next and call locate only when that is missing too.
   */
  known(hash: string): PackedBlob | undefined {
    if (!this.#looked) {
      this.#looked = true;
      this.#refresh();
    }
    return this.#located.get(hash);
  }

  /** Every packed blob's hash. */
  hashes(): IterableIterator<string> {
    this.#refresh();
    return this.#located.keys();
  }

  /**
   * A packed blob's bytes as they are on the disk (the caller hashes them:
   * short when the pack was truncated), or undefined when its pack is gone.
   */
  read(place: PackedBlob): Buffer | undefined {
    const descriptor = this.#open(place.pack);
    if (descriptor === undefined) return undefined;
    const bytes = Buffer.allocUnsafe(place.length);
    let got = 0;
    while (got < place.length) {
      const read = readSync(descriptor, bytes, got, place.length - got, place.offset + got);
      if (read === 0) break;
      got += read;
    }
    return bytes.subarray(0, got);
  }

  /** Writes `blobs` (their bytes already checked) as one pack in `scratch`; nothing is in place until adopt. */
  static stage(
    blobs: readonly { readonly hash: string; readonly bytes: Uint8Array }[],
    scratch: string,
  ): StagedPack {
    const packTemporary = join(scratch, `pack-${process.pid}-${randomBytes(6).toString('hex')}`);
    const indexTemporary = `${packTemporary}.idx`;
    const entries: PackEntry[] = [];
    const output = openSync(packTemporary, 'wx', 0o444);
    try {
      let offset = 0;
      for (const { hash, bytes } of blobs) {
        for (let written = 0; written < bytes.length;)
          written += writeSync(output, bytes, written, bytes.length - written);
        entries.push({ hash, offset, length: bytes.length });
        offset += bytes.length;
      }
      const index = encodeIndex(entries);
      const descriptor = openSync(indexTemporary, 'wx', 0o444);
      try {
        writeSync(descriptor, index);
      } finally {
        closeSync(descriptor);
      }
      return { name: packName(index), packTemporary, indexTemporary, entries };
    } catch (error) {
      rmSync(packTemporary, { force: true });
      rmSync(indexTemporary, { force: true });
      throw error;
    } finally {
      closeSync(output);
    }
  }

  /** Moves a staged pack, already durable, into place: the pack, then its index. */
  adopt(staged: StagedPack): void {
    makeFolder(this.folder);
    renameSync(staged.packTemporary, this.pathOf(staged.name));
    renameSync(staged.indexTemporary, join(this.folder, `${staged.name}.idx`));
    this.#take(staged.name, staged.entries);
  }

  /** Every pack in place with its entries and age (a pack whose index cannot be read names nothing). */
  list(): PackInfo[] {
    const packs: PackInfo[] = [];
    for (const name of this.#indexNames()) {
      const entries = this.#readIndex(name);
      if (entries === undefined) continue;
      try {
        packs.push({ name, entries, mtimeMs: statSync(this.pathOf(name)).mtimeMs });
      } catch {
        // an index without its pack names nothing that can be read
      }
    }
    return packs;
  }

  /** Removes a pack: its index first, so no index ever names a missing pack. */
  remove(name: string): void {
    const descriptor = this.#descriptors.get(name);
    if (descriptor !== undefined) {
      closeSync(descriptor);
      this.#descriptors.delete(name);
    }
    rmSync(join(this.folder, `${name}.idx`), { force: true });
    rmSync(this.pathOf(name), { force: true });
    // Another pack may hold the same blobs: everything is read afresh on the next look.
    this.#located.clear();
    this.#read.clear();
    this.#stamp = undefined;
  }

  /** Reads the indexes not read yet when the folder may have changed; true when any was. */
  #refresh(): boolean {
    const stamp = statSync(this.folder, { throwIfNoEntry: false })?.mtimeMs;
    if (stamp === undefined) return false; // no pack yet
    const now = Date.now();
    if (stamp === this.#stamp && this.#lookedAt - stamp > RACY_MS) return false;
    this.#stamp = stamp;
    this.#lookedAt = now;
    let added = false;
    for (const name of this.#indexNames()) {
      if (this.#read.has(name)) continue;
      const entries = this.#readIndex(name);
      if (entries === undefined) continue;
      this.#take(name, entries);
      added = true;
    }
    return added;
  }

  #take(name: string, entries: readonly PackEntry[]): void {
    this.#read.add(name);
    for (const { hash, offset, length } of entries)
      if (!this.#located.has(hash)) this.#located.set(hash, { pack: name, offset, length });
  }

  #indexNames(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.folder);
    } catch {
      return [];
    }
    return names.flatMap((name) => /^([0-9a-f]{64})\.idx$/.exec(name)?.[1] ?? []);
  }

  /** An index's entries; undefined when it is gone or damaged (its name is the digest of its bytes). */
  #readIndex(name: string): PackEntry[] | undefined {
    let bytes: Buffer;
    try {
      bytes = readFileSync(join(this.folder, `${name}.idx`));
    } catch {
      return undefined;
    }
    return packName(bytes) === name ? decodeIndex(bytes) : undefined;
  }

  #open(pack: string): number | undefined {
    const open = this.#descriptors.get(pack);
    if (open !== undefined) {
      // Most recently used last, so the oldest goes first.
      this.#descriptors.delete(pack);
      this.#descriptors.set(pack, open);
      return open;
    }
    let descriptor: number;
    try {
      descriptor = openSync(this.pathOf(pack), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    if (this.#descriptors.size >= OPEN_PACKS) {
      const [oldest, oldestDescriptor] = this.#descriptors.entries().next().value as [string, number];
      closeSync(oldestDescriptor);
      this.#descriptors.delete(oldest);
    }
    this.#descriptors.set(pack, descriptor);
    return descriptor;
  }
}
