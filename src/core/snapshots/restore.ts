// Restore: put a snapshot's files back on disk. Nothing is ever lost: a file
// whose current bytes are in no snapshot of the dataset is not overwritten or
// deleted, unless forced, and then the current state is snapshotted first.
// Each file is replaced atomically (written beside the store, fsynced, renamed
// into place), several at a time so their fsyncs overlap, and its bytes are
// checked against the blob's hash as they are copied (ObjectStore.materialize):
// a damaged blob stops the restore before any of its bytes land.
import { shortId } from '../format';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  type Stats,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { SluiceError } from '../errors';
import { moveIntoPlace, withHashThreads, type FileHasher } from '../store/objectStore';
import { prestartWorkers, usefulThreads } from '../store/workerPool';
import type { Workspace } from '../workspace';
import { compareContent, DiskContent, entriesToWrite, type ContentChanges } from './compare';
import type { Folder } from './folder';
import { parentOf, type FileEntry } from './listing';
import { datasetRef, recordedEntries, RecordedContent } from './records';
import { requireInsideWorkspace } from '../paths';
import { asError, Slicer } from './slices';
import { requireDataset, readSnapshot, scanDisk, snapshotDataset, type OperationOptions } from './snapshots';

export interface RestoreResult {
  readonly dataset: string;
  readonly id: string;
  /** Files, links and folders written. */
  readonly written: number;
  readonly removed: number;
  /** The snapshot taken of the disk before restoring (with force), if one was needed. */
  readonly savedAs: string | undefined;
}

/** Files copied out of the store at once: enough for their fsyncs to share journal commits. */
const PARALLEL_WRITES = 16;

/**
 * Files below this size are placed in batches with one flush of the file
 * system for the batch (ObjectStore.materializeMany) rather than an fsync each:
 * 10,000 small files cost a flush, not 10,000 journal commits.
 */
const BATCHED_BELOW_BYTES = 256 << 10;
const BATCH_FILES = 2000;

/** From this many bytes to write, verifying them is done in worker threads (which take tens of ms to start). */
const THREADED_HASHING_BYTES = 64 << 20;

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
  options: { force: boolean } & OperationOptions,
): Promise<RestoreResult> {
  const dataset = requireDataset(workspace, name);
  const absolute = requireInsideWorkspace(workspace.root, dataset.path.value, `Dataset '${name}'`);
  const slicer = new Slicer(options.signal, `Restore of '${name}'`);
  const snapshot = await readSnapshot(workspace, name, idOrPrefix);
  // A snapshot this big likely means many bytes to verify on their way out: the
  // hashing threads start now, while the disk is read and compared, not after.
  if (snapshot.bytes >= THREADED_HASHING_BYTES) prestartWorkers(usefulThreads());
  const target = await RecordedContent.read(workspace.git, snapshot.commit, slicer);
  const scanOptions = { store: false, slicer, threads: options.threads };
  let disk = await scanDisk(workspace, name, scanOptions);
  let changes = await compareContent(new DiskContent(disk.scan.folders, slicer), target, slicer);

  const files = entriesToWrite(changes).filter((entry) => entry.type === 'file');
  const lacking = new Set(workspace.store.lacking(files.map((entry) => entry.sha256)));
  const missing = files.filter((entry) => lacking.has(entry.sha256));
  if (missing.length > 0) {
    const first = missing[0] as FileEntry & { type: 'file' };
    throw new SluiceError(
      `Snapshot ${shortId(snapshot.id)} needs ${missing.length} blob(s) the cache does not have (first: ${first.path || dataset.path.value}, blob ${first.sha256}).`,
      'failed',
      'Run `sluice fsck` to see what is missing.',
      {
        code: 'missing-blob',
        data: {
          hash: first.sha256,
          path: workspace.store.pathOf(first.sha256),
          file: first.path || dataset.path.value,
          count: missing.length,
        },
      },
    );
  }
  const atRisk = await unsavedEntries(workspace, name, [
    ...changes.modified.map((change) => change.before),
    ...changes.removed,
  ]);
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
        { code: 'unsaved-data', data: { dataset: name, paths: atRisk.map((entry) => entry.path) } },
      );
    }
    const saved = await snapshotDataset(
      workspace,
      name,
      `Saved before restoring ${shortId(snapshot.id)}`,
      options,
    );
    savedAs = saved.id;
    disk = await scanDisk(workspace, name, scanOptions);
    changes = await compareContent(new DiskContent(disk.scan.folders, slicer), target, slicer);
  }

  if (changes.added.length + changes.modified.length + changes.removed.length === 0)
    return { dataset: name, id: snapshot.id, written: 0, removed: 0, savedAs };
  const toWrite = entriesToWrite(changes);
  const bytes = toWrite.reduce((sum, entry) => sum + (entry.type === 'file' ? entry.size : 0), 0);
  // Many bytes: they are hashed on their way out in worker threads, so the hashing overlaps the copies.
  const { written, removed } =
    bytes >= THREADED_HASHING_BYTES
      ? await withHashThreads((hasher) => applyChanges(workspace, absolute, changes, slicer, hasher))
      : await applyChanges(workspace, absolute, changes, slicer, undefined);
  // Folders the restore wrote into are read afresh next time: its files are new to the stat
  // cache (and within its racy window anyway). Restored by now: a cancellation no longer applies.
  const touched = touchedFolders(disk.scan.folders, changes);
  await disk.state.update({ set: [], remove: touched }, new Slicer(undefined, ''));
  return { dataset: name, id: snapshot.id, written, removed, savedAs };
}

/**
 * The paths the disk may hold as folders among those a restore writes: the
 * folders it changes and every folder above a path it removes or changes
 * (removing a folder's files leaves the folder itself behind).
 */
function foldersBefore(changes: ContentChanges): Set<string> {
  const folders = new Set<string>();
  for (const entry of [...changes.removed, ...changes.modified.map((change) => change.before)]) {
    // A folder met before had its parents added then; '' is the dataset's own path.
    for (
      let at = entry.type === 'dir' ? entry.path : parentOf(entry.path);
      !folders.has(at);
      at = parentOf(at)
    ) {
      folders.add(at);
      if (at === '') break;
    }
  }
  return folders;
}

async function applyChanges(
  workspace: Workspace,
  absolute: string,
  changes: ContentChanges,
  slicer: Slicer,
  hasher: FileHasher | undefined,
): Promise<{ written: number; removed: number }> {
  const pathOf = (relative: string): string => (relative === '' ? absolute : join(absolute, relative));
  let removed = 0;
  // Deepest first, so folders are empty by the time they go.
  for (const entry of [...changes.removed].sort((a, b) => (a.path < b.path ? 1 : a.path > b.path ? -1 : 0))) {
    rmSync(pathOf(entry.path), { recursive: true, force: true });
    removed++;
    await slicer.maybeYield();
  }
  const toWrite = entriesToWrite(changes).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  // Only where the disk had a folder can one stand in the way of a file or link: one lstat for
  // those, none for the thousands of files of a fresh restore.
  const wasFolder = foldersBefore(changes);
  const clearFolderAt = (path: string, destination: string): void => {
    if (wasFolder.has(path) && isFolder(destination)) rmSync(destination, { recursive: true, force: true });
  };
  const writing = new Set<Promise<void>>();
  const cleared = new Set<string>();
  let failure: Error | undefined;
  let written = 0;
  let batch: { hash: string; target: string; mode: number }[] = [];
  const placeBatch = async (): Promise<void> => {
    const placing = batch;
    batch = [];
    await workspace.store.materializeMany(placing, () => slicer.maybeYield());
  };
  for (const entry of toWrite) {
    if (failure !== undefined) break;
    const destination = pathOf(entry.path);
    clearWayTo(absolute, destination, cleared);
    if (entry.type === 'dir') {
      if (existsAsNonFolder(destination)) rmSync(destination, { force: true });
      mkdirSync(destination, { recursive: true });
      chmodSync(destination, entry.mode); // mkdir's mode is narrowed by the umask
    } else if (entry.type === 'file' && entry.size < BATCHED_BELOW_BYTES) {
      clearFolderAt(entry.path, destination);
      batch.push({ hash: entry.sha256, target: destination, mode: entry.mode });
      if (batch.length >= BATCH_FILES) await placeBatch();
    } else if (entry.type === 'file') {
      clearFolderAt(entry.path, destination);
      while (writing.size >= PARALLEL_WRITES) await Promise.race(writing);
      const copy = workspace.store
        .materialize(entry.sha256, destination, entry.mode, hasher)
        .catch((error: unknown) => {
          failure ??= asError(error);
        });
      writing.add(copy);
      void copy.then(() => writing.delete(copy));
    } else {
      clearFolderAt(entry.path, destination);
      const temporary = workspace.store.temporaryPath();
      symlinkSync(entry.target, temporary);
      moveIntoPlace(temporary, destination);
    }
    written++;
    // A cancellation lets the copies in flight finish: each file is whole, old or new. The
    // batch waits: nothing of it is written yet, and placing it now would cost a flush of the
    // file system per slice (dozens for 10,000 small files, each stalling the next creates).
    if (slicer.due) {
      await Promise.all(writing);
      await slicer.yield();
    }
  }
  await Promise.all(writing);
  if (failure !== undefined) throw failure;
  await placeBatch();
  removeEmptyFolders(absolute, changes);
  return { written, removed };
}

/** The scanned folders the restore wrote into (and everything under what it changed). */
function touchedFolders(folders: ReadonlyMap<string, Folder>, changes: ContentChanges): string[] {
  const parents = new Set<string>();
  const changed = new Set<string>();
  for (const entry of [
    ...changes.added,
    ...changes.removed,
    ...changes.modified.map((change) => change.after),
  ]) {
    parents.add(parentOf(entry.path));
    changed.add(entry.path);
  }
  const underChanged = (path: string): boolean => {
    for (let at = path; ; at = parentOf(at)) {
      if (changed.has(at)) return true;
      if (at === '') return false;
    }
  };
  return [...folders.keys()].filter((path) => parents.has(path) || underChanged(path));
}

/** Entries whose exact content appears in no snapshot of the dataset. */
async function unsavedEntries(
  workspace: Workspace,
  name: string,
  entries: readonly FileEntry[],
): Promise<FileEntry[]> {
  const candidates = entries.filter((entry) => entry.type !== 'dir');
  if (candidates.length === 0) return [];
  const wanted = new Set(candidates.map(contentKey));
  const known = new Set<string>();
  for (const { entry } of await recordedEntries(workspace.git, datasetRef(name))) {
    const key = contentKey(entry);
    if (wanted.has(key)) known.add(key);
  }
  return candidates.filter((entry) => !known.has(contentKey(entry)));
}

// Nothing there is the common case when restoring into an empty folder: no exception for it.
function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined; // a file where a folder was expected above it: nothing here either
  }
}

function isFolder(path: string): boolean {
  return lstatOrUndefined(path)?.isDirectory() === true;
}

function existsAsNonFolder(path: string): boolean {
  return lstatOrUndefined(path)?.isDirectory() === false;
}

/** Makes sure every folder above `destination` (inside the dataset) is a real folder. */
function clearWayTo(datasetRoot: string, destination: string, cleared: Set<string>): void {
  const parents: string[] = [];
  for (let dir = dirname(destination); dir.length > datasetRoot.length; dir = dirname(dir)) {
    // Folders made or checked earlier in this restore are still folders: one lstat and mkdir per folder, not per file.
    if (cleared.has(dir)) break;
    parents.unshift(dir);
  }
  if (destination !== datasetRoot && !cleared.has(datasetRoot)) parents.unshift(datasetRoot);
  // The folder holding the dataset may be gone too.
  if (!cleared.has(dirname(datasetRoot))) {
    mkdirSync(dirname(datasetRoot), { recursive: true });
    cleared.add(dirname(datasetRoot));
  }
  for (const dir of parents) {
    if (existsAsNonFolder(dir)) rmSync(dir, { force: true });
    mkdirSync(dir, { recursive: true });
    cleared.add(dir);
  }
}

/** Removes folders left empty by the restore, except those the snapshot has as empty folders. */
function removeEmptyFolders(root: string, changes: ContentChanges): void {
  // Only where something was removed can a folder have become empty.
  const candidates = new Set<string>();
  for (const entry of [...changes.removed, ...changes.modified.map((change) => change.before)]) {
    for (let at = parentOf(entry.path); at !== ''; at = parentOf(at)) candidates.add(at);
  }
  const keep = new Set<string>();
  for (const entry of entriesToWrite(changes)) if (entry.type === 'dir') keep.add(entry.path);
  // Deepest first, so a parent emptied by its child's removal goes too.
  for (const relative of [...candidates].sort((a, b) => b.length - a.length)) {
    if (keep.has(relative)) continue;
    const dir = join(root, relative);
    try {
      if (lstatSync(dir).isDirectory() && readdirSync(dir).length === 0) rmdirSync(dir);
    } catch {
      // Gone already, or not a folder: nothing to remove.
    }
  }
}
