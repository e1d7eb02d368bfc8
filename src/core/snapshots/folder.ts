// One folder of a dataset as Sluice last saw it on disk: every entry's name,
// kind and stat identity, with the hash of each file and the folder's listing
// digest. Kept in flat typed arrays, not an object per file: a scan of
// 100,000 files compares numbers instead of allocating.
import {
  ID_FIELDS,
  ID_MODE,
  ID_SIZE,
  KIND_FILE,
  KIND_FOLDER,
  KIND_LINK,
  type FolderRead,
} from '../fs/folderReads';
import { createHash } from 'node:crypto';
import type { Slicer } from './slices';
import { childPath, emptyFolderLine, fileLine, folderLine, linkLine, type ListingEntry } from './listing';

export const HASH_BYTES = 32;

/** Entries of a listing built between two turns of the event loop. */
const LISTING_SLICE = 4096;

export class Folder {
  private nameArray: string[] | undefined;

  constructor(
    /** Relative to the dataset root, '/'-separated; '' is the root. */
    readonly path: string,
    /** Entry names, sorted, joined by NUL. */
    readonly names: string,
    readonly count: number,
    readonly kinds: Uint8Array,
    /** ID_FIELDS numbers per entry (fs/folderReads.ts). */
    readonly ids: Float64Array,
    /** Each link's target, in entry order. */
    readonly targets: readonly string[],
    /** HASH_BYTES per entry: the sha256 of each file; zeros where not known (or not a file). */
    readonly hashes: Uint8Array,
    /** The digest of this folder's listing; '' when not computed. */
    public digest: string,
    /**
     * When the scan that took these identities started (ms). An entry changed
     * within the racy window before it may change again unseen within the same
     * clock tick, so it is not trusted next time.
     */
    readonly takenAtMs: number,
    /**
     * The git tree that records this folder (records.ts), once a snapshot has
     * written it; '' until then. A tree id follows from the digest alone, so
     * it stays right for as long as the digest does.
     */
    public tree = '',
  ) {}

  /**
   * The folder as just read: with `unchanged` (the cached folder, whose entries
   * are the same), its hashes, digest and tree carry over; else none is known yet.
   */
  static fromRead(read: FolderRead, takenAtMs: number, unchanged?: Folder): Folder {
    return new Folder(
      read.path,
      read.names,
      read.count,
      read.kinds,
      read.ids,
      read.targets,
      unchanged?.hashes ?? new Uint8Array(read.count * HASH_BYTES),
      unchanged?.digest ?? '',
      takenAtMs,
      unchanged?.tree,
    );
  }

  nameList(): readonly string[] {
    this.nameArray ??= this.count === 0 ? [] : this.names.split('\0');
    return this.nameArray;
  }

  /** The hash of entry `index` in hex, or undefined when not known. */
  hashAt(index: number): string | undefined {
    const start = index * HASH_BYTES;
    let known = false;
    for (let i = start; i < start + HASH_BYTES; i++) {
      if (this.hashes[i] !== 0) {
        known = true;
        break;
      }
    }
    if (!known) return undefined;
    return Buffer.from(this.hashes.buffer, this.hashes.byteOffset + start, HASH_BYTES).toString('hex');
  }

  setHash(index: number, hex: string): void {
    this.hashes.set(Buffer.from(hex, 'hex'), index * HASH_BYTES);
  }

  size(index: number): number {
    return this.ids[index * ID_FIELDS + ID_SIZE]!;
  }

  mode(index: number): number {
    return this.ids[index * ID_FIELDS + ID_MODE]!;
  }

  /** Paths of the subfolders, in name order. */
  subfolders(): string[] {
    const paths: string[] = [];
    if (!this.kinds.includes(KIND_FOLDER)) return paths;
    const names = this.nameList();
    for (let i = 0; i < this.count; i++)
      if (this.kinds[i] === KIND_FOLDER) paths.push(childPath(this.path, names[i]!));
    return paths;
  }

  /**
   * The listing text of entries [from, to): one line per entry. Subfolders come
   * from `folders` (their digests must be computed already); every file's hash
   * must be known.
   */
  listing(folders: ReadonlyMap<string, Folder>, from = 0, to = this.count): string {
    const names = this.nameList();
    let text = '';
    let link = 0;
    for (let i = 0; i < from; i++) if (this.kinds[i] === KIND_LINK) link++;
    for (let i = from; i < to; i++) {
      const name = names[i]!;
      const kind = this.kinds[i];
      if (kind === KIND_FILE) {
        const hash = this.hashAt(i);
        if (hash === undefined) throw new Error(`no hash for ${childPath(this.path, name)}`);
        text += fileLine(name, this.size(i), this.mode(i), hash);
      } else if (kind === KIND_LINK) {
        text += linkLine(name, this.targets[link++]!);
      } else {
        const child = folders.get(childPath(this.path, name));
        if (!child?.digest) throw new Error(`no digest for ${childPath(this.path, name)}`);
        text += child.count === 0 ? emptyFolderLine(name, this.mode(i)) : folderLine(name, child.digest);
      }
    }
    return text;
  }

  /** Computes and keeps this folder's digest, a slice of entries at a time. */
  async computeDigest(folders: ReadonlyMap<string, Folder>, slicer: Slicer): Promise<string> {
    const hash = createHash('sha256');
    for (let from = 0; from < this.count; from += LISTING_SLICE) {
      hash.update(this.listing(folders, from, Math.min(this.count, from + LISTING_SLICE)));
      await slicer.maybeYield();
    }
    this.digest = hash.digest('hex');
    return this.digest;
  }

  /** The entries as a listing (what a snapshot of this folder holds). */
  entries(folders: ReadonlyMap<string, Folder>): ListingEntry[] {
    const names = this.nameList();
    const entries: ListingEntry[] = [];
    let link = 0;
    for (let i = 0; i < this.count; i++) {
      const name = names[i]!;
      const kind = this.kinds[i];
      if (kind === KIND_FILE) {
        entries.push({
          name,
          type: 'file',
          size: this.size(i),
          mode: this.mode(i) & 0o777,
          sha256: this.hashAt(i)!,
        });
      } else if (kind === KIND_LINK) {
        entries.push({ name, type: 'link', target: this.targets[link++]! });
      } else {
        const child = folders.get(childPath(this.path, name));
        if (child && child.count > 0) entries.push({ name, type: 'folder', digest: child.digest });
        else entries.push({ name, type: 'empty', mode: this.mode(i) & 0o777 });
      }
    }
    return entries;
  }
}
