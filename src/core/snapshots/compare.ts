// Comparing two contents (two snapshots, or a snapshot and the disk) folder
// by folder: only folders whose digests differ are opened, so the cost
// follows the size of the change, not of the dataset.
import type { Folder } from './folder';
import { sameFileEntry, toFileEntry, type FileEntry, type ListingEntry } from './listing';
import type { ContentSource } from './records';
import type { Slicer } from './slices';

export interface ContentChanges {
  /** Entries only in `to`, as they are there. */
  readonly added: FileEntry[];
  /** Entries in both with different content. */
  readonly modified: { readonly before: FileEntry; readonly after: FileEntry }[];
  /** Entries only in `from`, as they were there. */
  readonly removed: FileEntry[];
}

export interface Changes {
  readonly added: string[];
  readonly modified: string[];
  readonly removed: string[];
}

/** The entries a change writes: the added ones and the new side of the modified ones. */
export function entriesToWrite(changes: ContentChanges): FileEntry[] {
  return [...changes.added, ...changes.modified.map((change) => change.after)];
}

export function changedPaths(changes: ContentChanges): Changes {
  return {
    added: changes.added.map((entry) => entry.path),
    modified: changes.modified.map((change) => change.after.path),
    removed: changes.removed.map((entry) => entry.path),
  };
}

/** The disk's content as a scan found it. */
export class DiskContent implements ContentSource {
  constructor(
    private readonly folders: ReadonlyMap<string, Folder>,
    private readonly slicer: Slicer,
  ) {}

  *paths(): Iterable<string> {
    for (const [path, folder] of this.folders) if (folder.count > 0 || path === '') yield path;
  }

  digest(path: string): string | undefined {
    const folder = this.folders.get(path);
    // An empty folder is a line of its parent's listing, not a folder of the content (except the root).
    return folder && (folder.count > 0 || path === '') ? folder.digest : undefined;
  }

  async entries(paths: readonly string[]): Promise<Map<string, ListingEntry[]>> {
    const result = new Map<string, ListingEntry[]>();
    for (const path of paths) {
      const folder = this.folders.get(path);
      if (folder) result.set(path, folder.entries(this.folders));
      await this.slicer.maybeYield();
    }
    return result;
  }
}

/** No content at all: what there was before a dataset's first snapshot. */
export const NO_CONTENT: ContentSource = {
  paths: () => [],
  digest: () => undefined,
  entries: () => Promise.resolve(new Map()),
};

const byPath = (a: { path: string }, b: { path: string }): number =>
  a.path < b.path ? -1 : a.path > b.path ? 1 : 0;

/**
 * What changed from `from` to `to`, sorted by path. The folders to open are
 * known from the digests alone, so each side's listings are read at once.
 */
export async function compareContent(
  from: ContentSource,
  to: ContentSource,
  slicer: Slicer,
): Promise<ContentChanges> {
  const changes: ContentChanges = { added: [], modified: [], removed: [] };
  const differing = new Set<string>();
  for (const source of [from, to]) {
    for (const path of source.paths()) if (from.digest(path) !== to.digest(path)) differing.add(path);
  }
  if (differing.size === 0 && from.digest('') !== undefined) return changes;
  differing.add(''); // before a first snapshot, neither side may have a root yet
  const folders = [...differing];
  const [before, after] = await Promise.all([
    from.entries(folders.filter((path) => from.digest(path) !== undefined)),
    to.entries(folders.filter((path) => to.digest(path) !== undefined)),
  ]);
  for (const folder of folders) {
    const old = new Map((before.get(folder) ?? []).map((entry) => [entry.name, entry]));
    for (const entry of after.get(folder) ?? []) {
      const previous = old.get(entry.name);
      old.delete(entry.name);
      compareEntry(folder, previous, entry, changes);
    }
    for (const entry of old.values()) compareEntry(folder, entry, undefined, changes);
    await slicer.maybeYield();
  }
  return {
    added: await sortInSlices(changes.added, byPath, slicer),
    modified: await sortInSlices(changes.modified, (a, b) => byPath(a.after, b.after), slicer),
    removed: await sortInSlices(changes.removed, byPath, slicer),
  };
}

/** Sorts runs of a few thousand items at a time, then merges them, with turns of the event loop between. */
export async function sortInSlices<T>(
  items: T[],
  compare: (a: T, b: T) => number,
  slicer: Slicer,
): Promise<T[]> {
  const RUN = 4096;
  if (items.length <= RUN) return items.sort(compare);
  let runs: T[][] = [];
  for (let at = 0; at < items.length; at += RUN) {
    runs.push(items.slice(at, at + RUN).sort(compare));
    await slicer.maybeYield();
  }
  while (runs.length > 1) {
    const merged: T[][] = [];
    for (let r = 0; r < runs.length; r += 2) {
      const left = runs[r]!;
      const right = runs[r + 1];
      if (!right) {
        merged.push(left);
        continue;
      }
      const out: T[] = [];
      let i = 0;
      let j = 0;
      while (i < left.length || j < right.length) {
        if (j >= right.length || (i < left.length && compare(left[i]!, right[j]!) <= 0)) out.push(left[i++]!);
        else out.push(right[j++]!);
        if ((out.length & 4095) === 0) await slicer.maybeYield();
      }
      merged.push(out);
    }
    runs = merged;
  }
  return runs[0]!;
}

/** One name of one folder; a subfolder's own entries are compared where that folder is. */
function compareEntry(
  folder: string,
  before: ListingEntry | undefined,
  after: ListingEntry | undefined,
  changes: ContentChanges,
): void {
  const oldEntry = before ? toFileEntry(folder, before) : undefined;
  const newEntry = after ? toFileEntry(folder, after) : undefined;
  if (oldEntry && newEntry) {
    if (!sameFileEntry(oldEntry, newEntry)) changes.modified.push({ before: oldEntry, after: newEntry });
  } else if (newEntry) changes.added.push(newEntry);
  else if (oldEntry) changes.removed.push(oldEntry);
}
