// Snapshot records in git: one commit per snapshot, on the dataset's chain
// under refs/sluice/datasets/. The commit's tree holds
//
//   snapshot.json            the header: dataset, path, parent, message, author,
//                            time, content (the root listing's digest), files, bytes
//   data/                    the dataset's root folder:
//     listing-<digest>       its listing (listing.ts), named by its sha256
//     d-<name>/              each subfolder that holds something, the same way
//
// The snapshot id is the sha256 of snapshot.json, which names the root
// listing's digest, which names each subfolder's: the id is a digest of the
// whole content. A folder unchanged since the parent snapshot keeps its git
// objects, so a snapshot writes objects only for what changed (and the
// folders above it), and two snapshots are compared folder by folder, only
// where their digests differ. Records of the first format (every file in
// snapshot.json) are still read.
import { SluiceError } from '../errors';
import { FILE_MODE, TREE_MODE, type GitRepository } from '../git/repository';
import { treeIdOf } from '../git/looseObjects';
import { KIND_FOLDER } from '../fs/folderReads';
import { Folder } from './folder';
import type { Slicer } from './slices';
import {
  childPath,
  depthOf,
  digestOf,
  foldersOf,
  ListingFormatError,
  parseListing,
  toFileEntry,
  type FileEntry,
  type ListingEntry,
} from './listing';

export const DATASET_REFS = 'refs/sluice/datasets/';
export const HEADER_FILE = 'snapshot.json';
const DATA_FOLDER = 'data';
const LISTING_PREFIX = 'listing-';
const SUBFOLDER_PREFIX = 'd-';

export function datasetRef(name: string): string {
  return `${DATASET_REFS}${name}`;
}

export interface SnapshotHeader {
  readonly format: 2;
  readonly dataset: string;
  /** The dataset's path in the workspace when the snapshot was taken. */
  readonly path: string;
  readonly parent: string | null;
  readonly message: string;
  readonly author: string;
  readonly time: string;
  /** The root listing's digest. */
  readonly content: string;
  readonly files: number;
  readonly bytes: number;
}

/** A record of the first format: the file list itself. */
export interface LegacyRecord {
  readonly format: 1;
  readonly dataset: string;
  readonly path: string;
  readonly parent: string | null;
  readonly message: string;
  readonly files: readonly FileEntry[];
}

/** The snapshot id: a digest of the header, which names the content's digest. */
export function snapshotId(header: SnapshotHeader): string {
  return digestOf(JSON.stringify(header));
}

// ---------------------------------------------------------------------------
// Commit messages

const TRAILERS = [
  'Sluice-Snapshot',
  'Sluice-Content',
  'Sluice-Files',
  'Sluice-Bytes',
  'Sluice-Time',
  'Sluice-Author',
];

export function commitMessage(id: string, header: SnapshotHeader): string {
  const values = [id, header.content, header.files, header.bytes, header.time, header.author];
  return `${header.message}\n\n${TRAILERS.map((name, i) => `${name}: ${String(values[i])}`).join('\n')}`;
}

/** What `log` shows of a snapshot, read from its commit alone. */
export interface SnapshotSummary {
  readonly id: string;
  readonly parent: string | null;
  readonly message: string;
  readonly time: string;
  readonly author: string;
  readonly files: number;
  readonly bytes: number;
  /** The commit holding the record. */
  readonly commit: string;
  /** The content digest (the root listing's, or for the first format a digest of the file list). */
  readonly content: string;
}

export function parseSummary(commit: string, message: string): SnapshotSummary {
  const trailers = new Map<string, string>();
  const lines = message.trimEnd().split('\n');
  let bodyEnd = lines.length;
  for (let i = lines.length - 1; i >= 0; i--) {
    const match = /^(Sluice-[A-Za-z]+): (.*)$/.exec(lines[i]!);
    if (!match) break;
    trailers.set(match[1]!, match[2]!);
    bodyEnd = i;
  }
  const id = trailers.get('Sluice-Snapshot');
  if (!id)
    throw new SluiceError(
      `Commit ${commit} is not a Sluice snapshot record.`,
      'failed',
      'Run `sluice fsck`.',
    );
  return {
    id,
    parent: null,
    message: lines.slice(0, bodyEnd).join('\n').trim(),
    time: trailers.get('Sluice-Time') ?? '',
    author: trailers.get('Sluice-Author') ?? '',
    files: Number(trailers.get('Sluice-Files') ?? 0),
    bytes: Number(trailers.get('Sluice-Bytes') ?? 0),
    commit,
    content: trailers.get('Sluice-Content') ?? '',
  };
}

/** The commit a dataset's ref points at now, with its summary; one git call. */
export async function readHead(git: GitRepository, ref: string): Promise<SnapshotSummary | undefined> {
  const [object] = await git.readObjects([ref]);
  if (!object) return undefined;
  if (object.type !== 'commit')
    throw new SluiceError(`${ref} does not point at a commit.`, 'failed', 'Run `sluice fsck`.');
  const text = object.content.toString('utf8');
  const blank = text.indexOf('\n\n');
  return parseSummary(object.id, blank < 0 ? '' : text.slice(blank + 2));
}

// ---------------------------------------------------------------------------
// Reading content

/** A snapshot's (or the disk's) content, folder by folder, as compare.ts walks it. */
export interface ContentSource {
  /** Every folder that holds something (and the root). */
  paths(): Iterable<string>;
  /** The digest of the folder at `path`, or undefined when there is no such folder (holding something). */
  digest(path: string): string | undefined;
  /** The entries of the folders `paths` (each one that `digest` knows). */
  entries(paths: readonly string[]): Promise<Map<string, ListingEntry[]>>;
}

interface IndexedFolder {
  readonly digest: string;
  readonly listing: string;
  readonly tree: string;
}

/** A recorded snapshot's content: its folders' digests and git objects, from one `git ls-tree`. */
export class RecordedContent implements ContentSource {
  private constructor(
    private readonly git: GitRepository,
    /** Folder path → its digest, listing blob and tree (format 2). */
    readonly folders: ReadonlyMap<string, IndexedFolder>,
    /** For a record of the first format: its folders, worked out from the file list. */
    private readonly legacy: ReadonlyMap<string, { entries: ListingEntry[]; digest: string }> | undefined,
  ) {}

  static async read(git: GitRepository, commit: string, slicer: Slicer): Promise<RecordedContent> {
    const folders = new Map<string, { digest?: string; listing?: string; tree?: string }>();
    let header: string | undefined;
    for (const entry of await git.listTree(commit)) {
      await slicer.maybeYield();
      if (entry.path === HEADER_FILE) header = entry.id;
      if (entry.path !== DATA_FOLDER && !entry.path.startsWith(`${DATA_FOLDER}/`)) continue;
      if (entry.type === 'tree') {
        const path = folderPathOf(entry.path);
        folders.set(path, { ...folders.get(path), tree: entry.id });
        continue;
      }
      const slash = entry.path.lastIndexOf('/');
      const name = entry.path.slice(slash + 1);
      if (!name.startsWith(LISTING_PREFIX)) continue;
      const path = folderPathOf(entry.path.slice(0, slash));
      folders.set(path, {
        ...folders.get(path),
        digest: name.slice(LISTING_PREFIX.length),
        listing: entry.id,
      });
    }
    if (folders.size === 0) {
      // The first format: every file in snapshot.json.
      if (header === undefined) throw damaged(commit);
      const [blob] = await git.readObjects([header]);
      const record = parseLegacy(commit, blob?.content.toString('utf8'));
      return new RecordedContent(git, new Map(), foldersOf(record.files));
    }
    const complete = new Map<string, IndexedFolder>();
    for (const [path, folder] of folders) {
      if (folder.digest === undefined || folder.listing === undefined || folder.tree === undefined)
        throw damaged(commit);
      complete.set(path, { digest: folder.digest, listing: folder.listing, tree: folder.tree });
    }
    if (!complete.has('')) throw damaged(commit);
    return new RecordedContent(git, complete, undefined);
  }

  paths(): Iterable<string> {
    if (!this.legacy) return this.folders.keys();
    // Folders of the first format are worked out from the files: an empty one is an entry, not a folder.
    return [...this.legacy].flatMap(([path, folder]) =>
      folder.entries.length > 0 || path === '' ? [path] : [],
    );
  }

  digest(path: string): string | undefined {
    if (!this.legacy) return this.folders.get(path)?.digest;
    const folder = this.legacy.get(path);
    return folder && (folder.entries.length > 0 || path === '') ? folder.digest : undefined;
  }

  async entries(paths: readonly string[]): Promise<Map<string, ListingEntry[]>> {
    const result = new Map<string, ListingEntry[]>();
    if (this.legacy) {
      for (const path of paths) result.set(path, this.legacy.get(path)?.entries ?? []);
      return result;
    }
    const wanted = paths.filter((path) => this.folders.has(path));
    const listings = await readListings(
      this.git,
      wanted.map((path) => this.folders.get(path)!.listing),
    );
    wanted.forEach((path, i) => result.set(path, listings[i]!));
    return result;
  }
}

/** Listing blobs by id, parsed, in one git call. */
export async function readListings(git: GitRepository, ids: readonly string[]): Promise<ListingEntry[][]> {
  const objects = await git.readObjects(ids);
  return objects.map((object, i) => {
    if (!object)
      throw new SluiceError(`Listing ${ids[i]!} is missing from git.`, 'failed', 'Run `sluice fsck`.');
    try {
      return parseListing(object.content.toString('utf8'));
    } catch (error) {
      if (error instanceof ListingFormatError)
        throw new SluiceError(
          `Listing ${ids[i]!} is damaged (${error.message}).`,
          'failed',
          'Run `sluice fsck`.',
        );
      throw error;
    }
  });
}

export function parseLegacy(commit: string, text: string | undefined): LegacyRecord {
  try {
    const record = JSON.parse(text ?? '') as Partial<Omit<LegacyRecord, 'format'>> & { format?: unknown };
    if (record.format === 1 && Array.isArray(record.files)) return record as LegacyRecord;
  } catch {
    // reported below
  }
  throw damaged(commit);
}

function damaged(commit: string): SluiceError {
  return new SluiceError(
    `Snapshot record ${commit} is damaged or of an unknown format.`,
    'failed',
    'Run `sluice fsck`.',
  );
}

/** 'data/d-a/d-b' → 'a/b'. */
function folderPathOf(treePath: string): string {
  if (treePath === DATA_FOLDER) return '';
  return treePath
    .slice(DATA_FOLDER.length + 1)
    .split('/')
    .map((part) => part.slice(SUBFOLDER_PREFIX.length))
    .join('/');
}

/** For a listing blob's path in a record ('data/d-a/listing-…'), the folder it lists; undefined for other paths. */
export function listedFolder(blobPath: string): string | undefined {
  const slash = blobPath.lastIndexOf('/');
  if (slash < 0 || !blobPath.slice(slash + 1).startsWith(LISTING_PREFIX)) return undefined;
  const folder = blobPath.slice(0, slash);
  if (folder !== DATA_FOLDER && !folder.startsWith(`${DATA_FOLDER}/`)) return undefined;
  return folderPathOf(folder);
}

/**
 * Every entry any snapshot on `ref` holds, each once per snapshot that
 * introduced its listing (newest first): what gc must keep, and what restore
 * counts as saved. Listings shared by several snapshots are read once.
 */
export async function recordedEntries(
  git: GitRepository,
  ref: string,
): Promise<{ readonly snapshot: string; readonly entry: FileEntry }[]> {
  const [commits, history] = await Promise.all([git.changedBlobs(ref), git.history(ref)]);
  const snapshotOf = new Map(
    history.map((commit) => [commit.id, parseSummary(commit.id, commit.message).id]),
  );
  const listings: { snapshot: string; folder: string; blob: string }[] = [];
  const legacy: { snapshot: string; commit: string; blob: string }[] = [];
  const seen = new Set<string>();
  for (const { commit, blobs } of commits) {
    const snapshot = snapshotOf.get(commit) ?? commit;
    let folders = 0;
    for (const blob of blobs) {
      const folder = listedFolder(blob.path);
      if (folder === undefined) continue;
      folders++;
      if (seen.has(blob.id)) continue;
      seen.add(blob.id);
      listings.push({ snapshot, folder, blob: blob.id });
    }
    // A record of the first format changes nothing under data/: its files are in snapshot.json.
    const header = blobs.find((blob) => blob.path === HEADER_FILE);
    if (folders === 0 && header) legacy.push({ snapshot, commit, blob: header.id });
  }
  const found: { snapshot: string; entry: FileEntry }[] = [];
  const parsed = await readListings(
    git,
    listings.map((listing) => listing.blob),
  );
  listings.forEach(({ snapshot, folder }, i) => {
    for (const listed of parsed[i]!) {
      const entry = toFileEntry(folder, listed);
      if (entry) found.push({ snapshot, entry });
    }
  });
  const headers = await git.readObjects(legacy.map((record) => record.blob));
  legacy.forEach(({ snapshot, commit }, i) => {
    const text = headers[i]?.content.toString('utf8');
    if (text?.includes('"format":2')) return; // a snapshot of the current format with nothing new under data/
    for (const entry of parseLegacy(commit, text).files) found.push({ snapshot, entry });
  });
  return found;
}

// ---------------------------------------------------------------------------
// Writing

/**
 * Writes the objects of a snapshot of `folders` (the disk's content, digests
 * computed) and its commit on top of `parent`; returns the commit. A folder
 * whose git tree is known (Folder.tree: written by an earlier snapshot, for
 * the same digest) is not written again, so a change writes the folders it
 * touched and those above them; the trees written get their ids. Nothing
 * points at the commit yet: the caller moves the ref.
 */
export async function writeRecord(
  git: GitRepository,
  header: SnapshotHeader,
  message: string,
  folders: ReadonlyMap<string, Folder>,
  parent: string | undefined,
  /**
   * The known trees are the parent's own (the stat cache holds the parent's
   * content): reachable from a commit git has, they need not be looked for.
   */
  knownTreesInParent = false,
): Promise<{ readonly commit: string; readonly written: readonly Folder[] }> {
  try {
    return await writeObjects(git, header, message, folders, parent, knownTreesInParent);
  } catch (error) {
    // git refuses a tree naming an object it does not have: a known tree was pruned since (or the
    // repository replaced). Then every folder is written afresh, as for a first snapshot.
    if (!(error instanceof MissingObject)) throw error;
    for (const folder of folders.values()) folder.tree = '';
    return writeObjects(git, header, message, folders, parent, false);
  }
}

class MissingObject extends Error {}

async function writeObjects(
  git: GitRepository,
  header: SnapshotHeader,
  message: string,
  folders: ReadonlyMap<string, Folder>,
  parent: string | undefined,
  knownTreesInParent: boolean,
): Promise<{ readonly commit: string; readonly written: readonly Folder[] }> {
  // The folders to write: from the root down, stopping at folders with a known tree.
  const toWrite: Folder[] = [];
  const visit = (folder: Folder): void => {
    if (folder.tree !== '') return;
    toWrite.push(folder);
    const names = folder.nameList();
    for (let i = 0; i < folder.count; i++) {
      if (folder.kinds[i] !== KIND_FOLDER) continue;
      const child = folders.get(childPath(folder.path, names[i]!))!;
      // An empty folder is a line of its parent's listing, not a tree.
      if (child.count > 0) visit(child);
    }
  };
  visit(folders.get('')!);
  const headerText = JSON.stringify(header);
  // Trees deepest first, so each id is known before the tree above names it.
  const order = [...toWrite.keys()].sort((a, b) => depthOf(toWrite[b]!.path) - depthOf(toWrite[a]!.path));
  const treeIds = new Map<string, string>();
  const expected: string[] = [];
  const knownTrees = new Set<string>();
  const treesOf = (blobIds: readonly string[]): Map<string, readonly [string, string]>[] => {
    const algorithm = blobIds[0]!.length === 64 ? 'sha256' : 'sha1';
    const trees: Map<string, readonly [string, string]>[] = [];
    for (const index of order) {
      const folder = toWrite[index]!;
      const entries = new Map<string, readonly [string, string]>([
        [`${LISTING_PREFIX}${folder.digest}`, [FILE_MODE, blobIds[index + 1]!]],
      ]);
      const names = folder.nameList();
      for (let i = 0; i < folder.count; i++) {
        if (folder.kinds[i] !== KIND_FOLDER) continue;
        const child = folders.get(childPath(folder.path, names[i]!))!;
        if (child.count === 0) continue;
        const id = treeIds.get(child.path) ?? child.tree;
        if (!treeIds.has(child.path)) knownTrees.add(id);
        entries.set(`${SUBFOLDER_PREFIX}${names[i]!}`, [TREE_MODE, id]);
      }
      const id = treeIdOf(entries, algorithm);
      treeIds.set(folder.path, id);
      trees.push(entries);
      expected.push(id);
    }
    const rootTree = treeIds.get('') ?? folders.get('')!.tree;
    if (!treeIds.has('')) knownTrees.add(rootTree);
    const top = new Map<string, readonly [string, string]>([
      [HEADER_FILE, [FILE_MODE, blobIds[0]!]],
      [DATA_FOLDER, [TREE_MODE, rootTree]],
    ]);
    trees.push(top);
    expected.push(treeIdOf(top, algorithm));
    return trees;
  };
  const blobs = [`${headerText}\n`, ...toWrite.map((folder) => folder.listing(folders))];
  let written: { readonly treeIds: readonly string[]; readonly commit: string };
  try {
    written = await git.writeCommitOf(
      blobs,
      treesOf,
      parent,
      message,
      knownTreesInParent ? knownTrees : undefined,
    );
  } catch (error) {
    if (/unavailable|missing/i.test(String(error))) throw new MissingObject(String(error));
    throw error;
  }
  written.treeIds.forEach((id, i) => {
    if (id !== expected[i])
      throw new SluiceError(`git wrote tree ${id} where ${expected[i]!} was expected.`, 'failed');
  });
  for (const folder of toWrite) folder.tree = treeIds.get(folder.path)!;
  const { commit } = written;
  return { commit, written: toWrite };
}
