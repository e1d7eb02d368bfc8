// A snapshot's content, folder by folder. Each folder of a dataset is one
// listing: its files, links, empty folders and subfolders, one line each,
// sorted by name. A subfolder's line holds that folder's listing digest, so
// the root listing's digest covers the whole dataset, as a git tree id does:
// equal digests mean equal content, and an unchanged folder keeps its digest
// (and its git objects) from one snapshot to the next.
import { createHash } from 'node:crypto';

export type ListingEntry =
  | {
      readonly name: string;
      readonly type: 'file';
      readonly size: number;
      readonly mode: number;
      readonly sha256: string;
    }
  | { readonly name: string; readonly type: 'link'; readonly target: string }
  /** A folder with nothing in it: recorded with its mode, as it is restored. */
  | { readonly name: string; readonly type: 'empty'; readonly mode: number }
  /** A folder holding something: its own listing has the details. */
  | { readonly name: string; readonly type: 'folder'; readonly digest: string };

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

/** Permission bits kept in snapshots: read-only and executable files come back as they were. */
export const MODE_BITS = 0o777;

export function digestOf(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The path of `name` inside the folder at `folder` ('' is the dataset itself). */
export function childPath(folder: string, name: string): string {
  return folder === '' ? name : `${folder}/${name}`;
}

// Lines are tab-separated with the name last. Names and link targets are JSON
// strings, which never hold a raw tab or newline, whatever the file is called.
export function fileLine(name: string, size: number, mode: number, sha256: string): string {
  return `f\t${size}\t${(mode & MODE_BITS).toString(8)}\t${sha256}\t${JSON.stringify(name)}\n`;
}

export function linkLine(name: string, target: string): string {
  return `l\t${JSON.stringify(target)}\t${JSON.stringify(name)}\n`;
}

export function emptyFolderLine(name: string, mode: number): string {
  return `e\t${(mode & MODE_BITS).toString(8)}\t${JSON.stringify(name)}\n`;
}

export function folderLine(name: string, digest: string): string {
  return `d\t${digest}\t${JSON.stringify(name)}\n`;
}

export function formatListing(entries: readonly ListingEntry[]): string {
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return sorted
    .map((entry) => {
      switch (entry.type) {
        case 'file':
          return fileLine(entry.name, entry.size, entry.mode, entry.sha256);
        case 'link':
          return linkLine(entry.name, entry.target);
        case 'empty':
          return emptyFolderLine(entry.name, entry.mode);
        case 'folder':
          return folderLine(entry.name, entry.digest);
      }
    })
    .join('');
}

const HEX64 = /^[0-9a-f]{64}$/;

export class ListingFormatError extends Error {}

export function parseListing(text: string): ListingEntry[] {
  const entries: ListingEntry[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const fields = text.slice(start, end).split('\t');
    start = end + 1;
    const name = parseString(fields[fields.length - 1]);
    switch (fields[0]) {
      case 'f': {
        const [, size, mode, sha256] = fields;
        if (fields.length !== 5 || !HEX64.test(sha256 ?? '')) throw new ListingFormatError('bad file line');
        entries.push({ name, type: 'file', size: Number(size), mode: parseInt(mode!, 8), sha256: sha256! });
        break;
      }
      case 'l':
        if (fields.length !== 3) throw new ListingFormatError('bad link line');
        entries.push({ name, type: 'link', target: parseString(fields[1]) });
        break;
      case 'e':
        if (fields.length !== 3) throw new ListingFormatError('bad empty folder line');
        entries.push({ name, type: 'empty', mode: parseInt(fields[1]!, 8) });
        break;
      case 'd':
        if (fields.length !== 3 || !HEX64.test(fields[1] ?? ''))
          throw new ListingFormatError('bad folder line');
        entries.push({ name, type: 'folder', digest: fields[1]! });
        break;
      default:
        throw new ListingFormatError(`unknown line kind ${JSON.stringify(fields[0])}`);
    }
  }
  return entries;
}

function parseString(field: string | undefined): string {
  if (field === undefined || !field.startsWith('"')) throw new ListingFormatError('bad name');
  // Most names need no unescaping: skip JSON.parse for them.
  if (!field.includes('\\')) return field.slice(1, -1);
  return JSON.parse(field) as string;
}

/** A listing entry as a snapshot entry of the whole dataset (folders have none of their own). */
export function toFileEntry(folder: string, entry: ListingEntry): FileEntry | undefined {
  const path = childPath(folder, entry.name);
  switch (entry.type) {
    case 'file':
      return { path, type: 'file', size: entry.size, sha256: entry.sha256, mode: entry.mode };
    case 'link':
      return { path, type: 'link', target: entry.target };
    case 'empty':
      return { path, type: 'dir', mode: entry.mode };
    case 'folder':
      return undefined;
  }
}

export function sameFileEntry(a: FileEntry, b: FileEntry): boolean {
  if (a.type === 'file')
    return b.type === 'file' && a.sha256 === b.sha256 && a.size === b.size && a.mode === b.mode;
  if (a.type === 'link') return b.type === 'link' && a.target === b.target;
  return b.type === 'dir' && a.mode === b.mode;
}

/**
 * Folders (path → listing entries, with digests) holding exactly `entries`:
 * how a flat list of entries (a snapshot of the first format) is compared
 * with folder-by-folder content.
 */
export function foldersOf(
  entries: readonly FileEntry[],
): Map<string, { entries: ListingEntry[]; digest: string }> {
  const byFolder = new Map<string, ListingEntry[]>();
  const ensure = (folder: string): ListingEntry[] => {
    let list = byFolder.get(folder);
    if (!list) {
      list = [];
      byFolder.set(folder, list);
      if (folder !== '') ensure(parentOf(folder));
    }
    return list;
  };
  ensure('');
  for (const entry of entries) {
    const folder = entry.path === '' ? '' : parentOf(entry.path);
    const name = entry.path === '' ? '' : entry.path.slice(folder === '' ? 0 : folder.length + 1);
    const list = ensure(folder);
    if (entry.type === 'file')
      list.push({ name, type: 'file', size: entry.size, mode: entry.mode, sha256: entry.sha256 });
    else if (entry.type === 'link') list.push({ name, type: 'link', target: entry.target });
    else list.push({ name, type: 'empty', mode: entry.mode });
  }
  const result = new Map<string, { entries: ListingEntry[]; digest: string }>();
  // Deepest first, so each folder's digest is known before its parent's line needs it.
  const paths = [...byFolder.keys()].sort((a, b) => depthOf(b) - depthOf(a));
  for (const path of paths) {
    const list = byFolder.get(path)!;
    const digest = digestOf(formatListing(list));
    result.set(path, { entries: list, digest });
    if (path !== '') {
      const parent = parentOf(path);
      byFolder
        .get(parent)!
        .push({ name: path.slice(parent === '' ? 0 : parent.length + 1), type: 'folder', digest });
    }
  }
  return result;
}

export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

export function depthOf(path: string): number {
  if (path === '') return 0;
  let depth = 1;
  for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) depth++;
  return depth;
}
