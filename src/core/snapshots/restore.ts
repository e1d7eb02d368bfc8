// Restore: put a snapshot's files back on disk. Nothing is ever lost: a file
// whose current bytes are in no snapshot of the dataset is not overwritten or
// deleted, unless forced, and then the current state is snapshotted first.
import { chmodSync, lstatSync, mkdirSync, readdirSync, rmdirSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SluiceError } from '../errors';
import { moveIntoPlace } from '../store/objectStore';
import type { Workspace } from '../workspace';
import { requireInside, type FileEntry } from './scan';
import {
  compareFiles,
  datasetRef,
  readDisk,
  readRecords,
  readSnapshot,
  requireDataset,
  snapshotDataset,
} from './snapshots';
import { StatCache } from './statCache';

export interface RestoreResult {
  readonly dataset: string;
  readonly id: string;
  /** Files, links and folders written. */
  readonly written: number;
  readonly removed: number;
  /** The snapshot taken of the disk before restoring (with force), if one was needed. */
  readonly savedAs: string | undefined;
}

/** Identity of an entry's content, to ask "is this exact thing in some snapshot?". */
function contentKey(entry: FileEntry): string {
  if (entry.type === 'file') return `file:${entry.sha256}`;
  if (entry.type === 'link') return `link:${entry.target}`;
  return 'dir';
}

export async function restoreDataset(
  workspace: Workspace,
  name: string,
  idOrPrefix: string,
  options: { force: boolean },
): Promise<RestoreResult> {
  const dataset = requireDataset(workspace, name);
  const absolute = requireInside(workspace.root, dataset.path.value, `Dataset '${name}'`);
  const snapshot = await readSnapshot(workspace, name, idOrPrefix);
  const target = snapshot.record.files;
  const missing = target.filter((entry) => entry.type === 'file' && !workspace.store.has(entry.sha256));
  if (missing.length > 0) {
    throw new SluiceError(
      `Snapshot ${snapshot.id.slice(0, 12)} needs ${missing.length} blob(s) the cache does not have (first: ${missing[0]!.path || dataset.path.value}).`,
      'failed',
      'Run `sluice fsck` to see what is missing.',
    );
  }
  let current = await readDisk(workspace, name);
  let changes = compareFiles(current, target);
  const touched = [...changes.modified, ...changes.removed];
  const currentByPath = new Map(current.map((entry) => [entry.path, entry]));
  const atRisk = await unsavedEntries(
    workspace,
    name,
    touched.map((path) => currentByPath.get(path)!),
  );
  let savedAs: string | undefined;
  if (atRisk.length > 0) {
    if (!options.force) {
      const shown = atRisk
        .slice(0, 3)
        .map((entry) => entry.path || dataset.path.value)
        .join(', ');
      throw new SluiceError(
        `Restoring would overwrite or delete ${atRisk.length} file(s) whose current content is in no snapshot: ${shown}${atRisk.length > 3 ? ', …' : ''}.`,
        'failed',
        `Snapshot them first (sluice snapshot ${name}), or pass --force to snapshot them and then restore.`,
      );
    }
    const saved = await snapshotDataset(
      workspace,
      name,
      `Saved before restoring ${snapshot.id.slice(0, 12)}`,
    );
    savedAs = saved.id;
    current = await readDisk(workspace, name);
    changes = compareFiles(current, target);
  }

  const pathOf = (relative: string): string => (relative === '' ? absolute : join(absolute, relative));
  let removed = 0;
  // Deepest first, so folders are empty by the time they go.
  for (const path of [...changes.removed].sort().reverse()) {
    rmSync(pathOf(path), { recursive: true, force: true });
    removed++;
  }
  const targetByPath = new Map(target.map((entry) => [entry.path, entry]));
  const cache = StatCache.load(join(workspace.sluiceDir, 'state', 'stat', name));
  const started = BigInt(Date.now()) * 1_000_000n;
  let written = 0;
  for (const path of [...changes.added, ...changes.modified].sort()) {
    const entry = targetByPath.get(path)!;
    const destination = pathOf(path);
    clearWayTo(absolute, destination);
    if (entry.type === 'dir') {
      if (existsAsNonFolder(destination)) rmSync(destination, { force: true });
      mkdirSync(destination, { recursive: true });
      chmodSync(destination, entry.mode); // mkdir's mode is narrowed by the umask
    } else if (entry.type === 'file') {
      if (isFolder(destination)) rmSync(destination, { recursive: true, force: true });
      workspace.store.materialize(entry.sha256, destination, entry.mode);
      // Just written, so its hash is known: the next snapshot need not read it.
      cache.remember(entry.path, lstatSync(destination, { bigint: true }), entry.sha256);
    } else {
      if (isFolder(destination)) rmSync(destination, { recursive: true, force: true });
      const temporary = workspace.store.temporaryPath();
      symlinkSync(entry.target, temporary);
      moveIntoPlace(temporary, destination);
    }
    written++;
  }
  removeEmptyFolders(absolute, new Set(target.filter((e) => e.type === 'dir').map((e) => e.path)));
  cache.save(started);
  return { dataset: name, id: snapshot.id, written, removed, savedAs };
}

/** Entries whose exact content appears in no snapshot of the dataset. */
async function unsavedEntries(
  workspace: Workspace,
  name: string,
  entries: readonly FileEntry[],
): Promise<FileEntry[]> {
  const candidates = entries.filter((entry) => entry.type !== 'dir');
  if (candidates.length === 0) return [];
  const history = await workspace.git.history(datasetRef(name));
  const records = await readRecords(
    workspace,
    history.map((commit) => commit.id),
  );
  const known = new Set<string>();
  for (const record of records) for (const entry of record.files) known.add(contentKey(entry));
  return candidates.filter((entry) => !known.has(contentKey(entry)));
}

function isFolder(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

function existsAsNonFolder(path: string): boolean {
  try {
    return !lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Makes sure every folder above `destination` (inside the dataset) is a real folder. */
function clearWayTo(datasetRoot: string, destination: string): void {
  // The folder holding the dataset may be gone too.
  mkdirSync(dirname(datasetRoot), { recursive: true });
  const parents: string[] = [];
  for (let dir = dirname(destination); dir.length > datasetRoot.length; dir = dirname(dir))
    parents.unshift(dir);
  if (destination !== datasetRoot) parents.unshift(datasetRoot);
  for (const dir of parents) {
    if (existsAsNonFolder(dir)) rmSync(dir, { force: true });
    mkdirSync(dir, { recursive: true });
  }
}

/** Removes folders left empty by the restore, except those the snapshot has as empty folders. */
function removeEmptyFolders(root: string, keep: ReadonlySet<string>): void {
  const visit = (dir: string, relative: string): boolean => {
    let names: string[];
    try {
      if (!lstatSync(dir).isDirectory()) return false;
      names = readdirSync(dir);
    } catch {
      return false;
    }
    let empty = true;
    for (const name of names) {
      const childRelative = relative === '' ? name : `${relative}/${name}`;
      if (!visit(join(dir, name), childRelative)) empty = false;
    }
    if (empty && relative !== '' && !keep.has(relative)) {
      rmdirSync(dir);
      return true;
    }
    return false;
  };
  visit(root, '');
}
