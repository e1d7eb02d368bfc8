// What a diff of snapshots shows: each changed file's two sides, whether they
// are text the diff editor can show, the addresses the read-only content
// provider serves blob bytes under, and the summary for everything else.
// No vscode import: tested as plain functions.
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { formatBytes, shortId } from '../../core/format';
import type { FileEntry } from '../../core/snapshots/snapshots';
import { ObjectStore } from '../../core/store/objectStore';
import { SLUICE_DIR } from '../../core/workspace';
import { displayedPath, type FileChange } from './nodes';

/** Where the bytes of one side of a file diff come from. */
export type DiffSide =
  | { readonly kind: 'blob'; readonly sha256: string; readonly size: number }
  | { readonly kind: 'disk'; readonly absolutePath: string; readonly size: number; readonly sha256: string }
  | { readonly kind: 'link'; readonly target: string }
  | { readonly kind: 'folder' }
  | { readonly kind: 'absent' };

export interface FileDiff {
  readonly file: FileChange;
  readonly before: DiffSide;
  readonly after: DiffSide;
}

/**
 * The sides of each changed file. `before` always comes from a snapshot;
 * `after` from a snapshot too, or from the disk when `diskRoot` (the
 * dataset's absolute path) is given.
 */
export function planFileDiffs(changes: readonly FileChange[], diskRoot: string | undefined): FileDiff[] {
  return changes.map((file) => ({
    file,
    before: sideOf(file.before, undefined, file.path),
    after: sideOf(file.after, diskRoot, file.path),
  }));
}

function sideOf(entry: FileEntry | undefined, diskRoot: string | undefined, path: string): DiffSide {
  if (entry === undefined) return { kind: 'absent' };
  if (entry.type === 'dir') return { kind: 'folder' };
  if (entry.type === 'link') return { kind: 'link', target: entry.target };
  if (diskRoot !== undefined) {
    const absolutePath = path === '' ? diskRoot : join(diskRoot, path);
    return { kind: 'disk', absolutePath, size: entry.size, sha256: entry.sha256 };
  }
  return { kind: 'blob', sha256: entry.sha256, size: entry.size };
}

/** The diff editor handles files up to this size well (VS Code's own diffEditor.maxFileSize is 50 MB). */
export const TEXT_DIFF_MAX_BYTES = 20 * 1024 * 1024;

/** How much of a file decides whether it is text: git's heuristic looks at the first 8,000 bytes. */
const SNIFF_BYTES = 8000;

/** Text as git decides it: no NUL byte in the first 8,000 bytes. */
export function looksLikeText(prefix: Uint8Array): boolean {
  return !prefix.subarray(0, SNIFF_BYTES).includes(0);
}

/**
 * Whether the diff editor can show this file: both sides are text (or absent,
 * or a link, shown as its target) and small enough. Reads at most 8,000 bytes a side.
 */
export async function isTextDiff(root: string, diff: FileDiff): Promise<boolean> {
  if (diff.before.kind === 'folder' || diff.after.kind === 'folder') return false;
  for (const side of [diff.before, diff.after]) {
    if (side.kind !== 'blob' && side.kind !== 'disk') continue;
    if (side.size > TEXT_DIFF_MAX_BYTES) return false;
    const path = side.kind === 'disk' ? side.absolutePath : blobPath(root, side.sha256);
    const prefix = await readPrefix(path);
    if (prefix === undefined || !looksLikeText(prefix)) return false;
  }
  return true;
}

async function readPrefix(path: string): Promise<Uint8Array | undefined> {
  try {
    const file = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(SNIFF_BYTES);
      const { bytesRead } = await file.read(buffer, 0, SNIFF_BYTES, 0);
      return buffer.subarray(0, bytesRead);
    } finally {
      await file.close();
    }
  } catch {
    return undefined; // gone or unreadable: the summary says what is known
  }
}

export function blobPath(root: string, sha256: string): string {
  const store = new ObjectStore(join(root, SLUICE_DIR));
  // A blob the cache keeps packed is unpacked (checked) so the editor can open it as a file.
  try {
    return store.loosePath(sha256);
  } catch {
    return store.pathOf(sha256); // damaged or not writable: shown as a blob the cache cannot give
  }
}

/**
 * A snapshot side as the query of a `sluice-snapshot:` address. The address's
 * path is the file's path in the workspace, so the editor tab shows its name;
 * the query says where the bytes are.
 */
export function snapshotContentQuery(root: string, side: DiffSide): string {
  const query = new URLSearchParams({ root });
  if (side.kind === 'blob') query.set('blob', side.sha256);
  else if (side.kind === 'link') query.set('link', side.target);
  return query.toString();
}

/** The content a `sluice-snapshot:` query names: a blob's bytes, a link's target, or nothing. */
export type SnapshotContent =
  { readonly kind: 'blob'; readonly path: string } | { readonly kind: 'text'; readonly text: string };

export function parseSnapshotContentQuery(query: string): SnapshotContent {
  const params = new URLSearchParams(query);
  const root = params.get('root');
  const blob = params.get('blob');
  const link = params.get('link');
  if (root !== null && blob !== null && /^[0-9a-f]{64}$/.test(blob)) {
    return { kind: 'blob', path: blobPath(root, blob) };
  }
  if (link !== null) return { kind: 'text', text: `Symbolic link to ${link}\n` };
  return { kind: 'text', text: '' };
}

const CHANGE_LETTER = { added: 'A', modified: 'M', removed: 'D' } as const;

function describeSide(side: DiffSide): string {
  switch (side.kind) {
    case 'blob':
    case 'disk':
      return `${formatBytes(side.size)} (sha256 ${shortId(side.sha256)})`;
    case 'link':
      return `link to ${side.target}`;
    case 'folder':
      return 'empty folder';
    case 'absent':
      return '—';
  }
}

/**
 * The read-only summary of a diff: every changed file, with sizes and hashes,
 * and a note on those the diff editor shows.
 */
export function summarizeDiff(
  title: string,
  datasetPath: string,
  diffs: readonly FileDiff[],
  shownAsText: ReadonlySet<string>,
): string {
  const count = (kind: FileChange['change']): number => diffs.filter((d) => d.file.change === kind).length;
  const lines = [
    title,
    `${count('added')} added, ${count('modified')} modified, ${count('removed')} removed.`,
    '',
  ];
  for (const diff of diffs) {
    const path = displayedPath(datasetPath, diff.file.path);
    const sides = `${describeSide(diff.before)} → ${describeSide(diff.after)}`;
    const shown = shownAsText.has(diff.file.path) ? '  (in the diff editor)' : '';
    lines.push(`${CHANGE_LETTER[diff.file.change]}  ${path}  ${sides}${shown}`);
  }
  return `${lines.join('\n')}\n`;
}
