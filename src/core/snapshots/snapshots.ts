// Snapshots: immutable records of a dataset's files, one commit chain per
// dataset under refs/sluice/datasets/ (records.ts). Write order: blobs, then
// the record, then the ref by compare-and-swap, so a crash leaves the old
// state or the new. A snapshot of an unchanged dataset costs a stat per file
// and one git call; a snapshot after a change writes objects for the changed
// folders only.
import { shortId } from '../format';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ambiguousId, notFound, SluiceError } from '../errors';
import { writeCacheAsync } from '../fs/cacheWrite';
import type { DatasetDecl } from '../manifest/model';
import type { Workspace } from '../workspace';
import {
  changedPaths,
  compareContent,
  DiskContent,
  entriesToWrite,
  NO_CONTENT,
  type Changes,
  type ContentChanges,
} from './compare';
import { DatasetState } from './datasetState';
import {
  datasetRef,
  commitMessage,
  readHead,
  RecordedContent,
  snapshotId,
  writeRecord,
  parseSummary,
  type ContentSource,
  type SnapshotHeader,
  type SnapshotSummary,
} from './records';
import { requireInsideWorkspace } from '../paths';
import { hasChanges, scanDataset, type DatasetScan, type ScanStats } from './scan';
import { Slicer } from './slices';
import { debugLine, phaseClock } from './debugTimes';

export { DATASET_REFS, datasetRef, type SnapshotSummary } from './records';
export type { Changes, ContentChanges } from './compare';
export type { FileEntry } from './listing';

/** Options every long snapshot operation takes. */
export interface OperationOptions {
  /** Stops the operation cleanly: nothing half-written, no ref moved; it throws a CancelledError. */
  readonly signal?: AbortSignal;
  /** Threads to use, the main thread included (default: one per core, at most four). */
  readonly threads?: number;
}

export function requireDataset(
  workspace: Workspace,
  name: string,
): DatasetDecl & { path: { value: string } } {
  const dataset = workspace.manifest.datasets.get(name);
  if (!dataset) {
    const known = [...workspace.manifest.datasets.keys()];
    throw notFound(
      'dataset',
      name,
      `Unknown dataset '${name}'.`,
      known.length > 0 ? `Datasets: ${known.join(', ')}.` : 'Declare one under `datasets:` in sluice.yaml.',
      { data: { known } },
    );
  }
  if (!dataset.path) throw new SluiceError(`Dataset '${name}' has no path.`, 'manifest');
  return dataset as DatasetDecl & { path: { value: string } };
}

export function statePathFor(workspace: Workspace, name: string): string {
  return join(workspace.sluiceDir, 'state', 'stat', name);
}

/** Newest first. */
export async function listSnapshots(
  workspace: Workspace,
  name: string,
  limit?: number,
): Promise<SnapshotSummary[]> {
  requireDataset(workspace, name);
  const commits = await workspace.git.history(datasetRef(name), limit);
  const summaries = commits.map((commit) => parseSummary(commit.id, commit.message));
  return summaries.map((summary, index) => ({ ...summary, parent: summaries[index + 1]?.id ?? null }));
}

/** The snapshot `idOrPrefix` of a dataset ('latest', or a unique prefix of at least 4 characters). */
export async function readSnapshot(
  workspace: Workspace,
  name: string,
  idOrPrefix: string,
): Promise<SnapshotSummary> {
  const all = await listSnapshots(workspace, name);
  if (idOrPrefix === 'latest') {
    const latest = all[0];
    if (!latest) throw noSnapshots(name);
    return latest;
  }
  if (!/^[0-9a-f]{4,64}$/.test(idOrPrefix)) {
    throw new SluiceError(
      `'${idOrPrefix}' is not a snapshot id.`,
      'usage',
      `Run \`sluice log ${name}\` for the ids.`,
    );
  }
  const matches = all.filter((summary) => summary.id.startsWith(idOrPrefix));
  if (matches.length === 0) {
    throw notFound(
      'snapshot',
      idOrPrefix,
      `Dataset '${name}' has no snapshot ${idOrPrefix}.`,
      `Run \`sluice log ${name}\` for the ids.`,
      { data: { dataset: name } },
    );
  }
  if (matches.length > 1) {
    throw ambiguousId(
      'snapshot',
      idOrPrefix,
      matches.map((summary) => summary.id),
      `Snapshot id ${idOrPrefix} is ambiguous in '${name}'.`,
      { data: { dataset: name } },
    );
  }
  return matches[0]!;
}

function noSnapshots(name: string): SluiceError {
  return notFound(
    'snapshot',
    'latest',
    `Dataset '${name}' has no snapshot yet.`,
    `Run \`sluice snapshot ${name}\` first.`,
    {
      kind: 'failed',
      data: { dataset: name },
    },
  );
}

export interface SnapshotResult extends Changes {
  readonly dataset: string;
  /** Undefined when nothing changed since the latest snapshot (none was recorded). */
  readonly id: string | undefined;
  readonly parent: string | null;
  readonly files: number;
  readonly bytes: number;
  readonly scan: ScanStats;
}

/** The dataset's folder on disk, checked to be inside the workspace. */
function datasetPath(
  workspace: Workspace,
  name: string,
): { dataset: DatasetDecl & { path: { value: string } }; absolute: string } {
  const dataset = requireDataset(workspace, name);
  return {
    dataset,
    absolute: requireInsideWorkspace(workspace.root, dataset.path.value, `Dataset '${name}'`),
  };
}

/**
 * Reads the dataset as it is on disk now, hashing only what the stat cache
 * cannot vouch for (with the store, new bytes are copied into it), and saves
 * the cache if it learnt anything.
 */
export async function scanDisk(
  workspace: Workspace,
  name: string,
  options: { store: boolean; slicer: Slicer; threads?: number | undefined },
): Promise<{ readonly scan: DatasetScan; readonly state: DatasetState }> {
  const { absolute } = datasetPath(workspace, name);
  const state = await DatasetState.load(statePathFor(workspace, name), options.slicer);
  const scan = await scanDataset(absolute, state, {
    store: options.store ? workspace.store : undefined,
    // Before the first stat: anything changed after this is within the racy window next time.
    takenAtMs: Date.now(),
    slicer: options.slicer,
    ...(options.threads === undefined ? {} : { threads: options.threads }),
  });
  // The stat cache only saves work: a read-only or full disk leaves it as it was.
  if (hasChanges(scan.stateChanges))
    await writeCacheAsync('the stat cache', () => state.update(scan.stateChanges, options.slicer));
  return { scan, state };
}

/** Records a snapshot of one dataset, if it changed. Retries when another writer got there first. */
export async function snapshotDataset(
  workspace: Workspace,
  name: string,
  message: string,
  options: OperationOptions = {},
): Promise<SnapshotResult> {
  const { dataset, absolute } = datasetPath(workspace, name);
  if (!existsSync(absolute)) {
    throw new SluiceError(
      `Dataset '${name}' has nothing at ${dataset.path.value}: the path does not exist.`,
      'failed',
      `Put the data there, fix the path in sluice.yaml, or restore a snapshot (sluice log ${name}).`,
    );
  }
  const slicer = new Slicer(options.signal, `Snapshot of '${name}'`);
  const lap = phaseClock(`snapshot of '${name}'`);
  const ref = datasetRef(name);
  const state = await DatasetState.load(statePathFor(workspace, name), slicer);
  lap('stat cache loaded');
  // The latest snapshot is read while the disk is scanned.
  const headRead = readHead(workspace.git, ref);
  headRead.catch(() => undefined); // awaited below; a scan failure must not leave it unhandled
  const scan = await scanDataset(absolute, state, {
    store: workspace.store,
    takenAtMs: Date.now(),
    slicer,
    ...(options.threads === undefined ? {} : { threads: options.threads }),
  });
  lap(`scan (${scan.stats.hashed} files hashed)`);
  const result = (id: string | undefined, parent: string | null, changes: Changes): SnapshotResult => ({
    dataset: name,
    id,
    parent,
    files: scan.stats.files,
    bytes: scan.stats.bytes,
    scan: scan.stats,
    ...changes,
  });
  // The cache's content before this scan: when it is the latest snapshot's, what changed since
  // that snapshot is known without reading the snapshot back from git.
  const cachedFolders = state.folders;
  const cachedDigest = cachedFolders.get('')?.digest;
  // Who records: asked of git only once something is to be recorded, beside the reads that needs.
  let author: Promise<string> | undefined;
  for (let attempt = 0; ; attempt++) {
    const head = attempt === 0 ? await headRead : await readHead(workspace.git, ref);
    // The commit names its content's digest: nothing more to read when nothing changed.
    if (head?.content === scan.digest) {
      if (hasChanges(scan.stateChanges)) await state.update(scan.stateChanges, slicer);
      return result(undefined, head.id, { added: [], modified: [], removed: [] });
    }
    if (!author) {
      author = workspace.git.actor();
      author.catch(() => undefined); // awaited below; until then a failure must not count as unhandled
    }
    let previous: ContentSource = NO_CONTENT;
    if (head && head.content === cachedDigest) previous = new DiskContent(cachedFolders, slicer);
    else if (head) {
      const recorded = await RecordedContent.read(workspace.git, head.commit, slicer);
      // A record of the first format names a digest of its file list: its content is compared instead.
      if (recorded.digest('') === scan.digest) {
        if (hasChanges(scan.stateChanges)) await state.update(scan.stateChanges, slicer);
        return result(undefined, head.id, { added: [], modified: [], removed: [] });
      }
      previous = recorded;
    }
    const changes = await compareContent(previous, new DiskContent(scan.folders, slicer), slicer);
    ensureBlobs(workspace, absolute, changes);
    const header: SnapshotHeader = {
      format: 2,
      dataset: name,
      path: dataset.path.value,
      parent: head?.id ?? null,
      message: message || `Snapshot of ${name}`,
      author: await author,
      time: new Date().toISOString(),
      content: scan.digest,
      files: scan.stats.files,
      bytes: scan.stats.bytes,
    };
    const id = snapshotId(header);
    // The last point where a cancellation stops everything: after it the record is written and the ref moved.
    slicer.check();
    const recording = performance.now();
    const { commit, written } = await writeRecord(
      workspace.git,
      header,
      commitMessage(id, header),
      scan.folders,
      head?.commit,
      // The cache held the head's content: the trees it knows are the head's.
      head !== undefined && head.content === cachedDigest,
    );
    try {
      await workspace.git.compareAndSwap(ref, commit, head?.commit, `Dataset '${name}'`);
      debugLine(`snapshot of '${name}': record and ref in ${(performance.now() - recording).toFixed(1)} ms`);
    } catch (error) {
      // Another process recorded a snapshot meanwhile: ours goes on top of it.
      if (error instanceof SluiceError && error.kind === 'conflict' && attempt < 20) continue;
      throw error;
    }
    // Recorded: from here on a cancellation no longer applies. The cache keeps the trees just
    // written, so the next snapshot refers to them instead of writing them again.
    const set = new Set([...scan.stateChanges.set, ...written]);
    await state.update({ set: [...set], remove: scan.stateChanges.remove }, new Slicer(undefined, ''));
    return result(id, header.parent, changedPaths(changes));
  }
}

/**
 * The stat cache says which hash a file has, not that the store still holds
 * the bytes (a blob may have been lost since, or the hash came from a diff,
 * which stores nothing). Before a record refers to a blob its parent did not,
 * the blob must exist: read the file into the store again if it does not.
 */
function ensureBlobs(workspace: Workspace, absolute: string, changes: ContentChanges): void {
  const files = entriesToWrite(changes).filter((entry) => entry.type === 'file');
  const lacking = new Set(workspace.store.lacking(files.map((entry) => entry.sha256)));
  for (const entry of files) {
    if (!lacking.has(entry.sha256)) continue;
    const path = entry.path === '' ? absolute : join(absolute, entry.path);
    const stored = workspace.store.importFile(path);
    if (stored.hash !== entry.sha256) {
      throw new SluiceError(
        `${path} changed while it was being read.`,
        'failed',
        'Let whatever writes it finish, then snapshot again.',
      );
    }
  }
}

/** Changes from snapshot FROM (default: the latest) to TO (default: the disk). */
export async function diffDataset(
  workspace: Workspace,
  name: string,
  from: string | undefined,
  to: string | undefined,
  options: OperationOptions = {},
): Promise<Changes & { from: string; to: string }> {
  const slicer = new Slicer(options.signal, `Diff of '${name}'`);
  const source = await readSnapshot(workspace, name, from ?? 'latest');
  const before = await RecordedContent.read(workspace.git, source.commit, slicer);
  if (to === undefined) {
    const { scan } = await scanDisk(workspace, name, { store: false, slicer, threads: options.threads });
    const changes = await compareContent(before, new DiskContent(scan.folders, slicer), slicer);
    return { ...changedPaths(changes), from: source.id, to: 'disk' };
  }
  const target = await readSnapshot(workspace, name, to);
  const after = await RecordedContent.read(workspace.git, target.commit, slicer);
  const changes = await compareContent(before, after, slicer);
  return { ...changedPaths(changes), from: source.id, to: target.id };
}

/**
 * What changed from one snapshot (or nothing, before the first) to another,
 * entry by entry (sizes, hashes, modes): what the editor's views and diffs show.
 */
export async function compareSnapshots(
  workspace: Workspace,
  from: SnapshotSummary | undefined,
  to: SnapshotSummary,
  options: OperationOptions = {},
): Promise<ContentChanges> {
  const slicer = new Slicer(options.signal, `Comparison of snapshot ${shortId(to.id)}`);
  const before = from ? await RecordedContent.read(workspace.git, from.commit, slicer) : NO_CONTENT;
  return compareContent(before, await RecordedContent.read(workspace.git, to.commit, slicer), slicer);
}

/** The same from a snapshot (or nothing, before the first) to the dataset's files on disk now. */
export async function compareWithDiskContent(
  workspace: Workspace,
  name: string,
  from: SnapshotSummary | undefined,
  options: OperationOptions = {},
): Promise<ContentChanges> {
  requireDataset(workspace, name);
  const slicer = new Slicer(options.signal, `Comparison of '${name}' with the disk`);
  const before = from ? await RecordedContent.read(workspace.git, from.commit, slicer) : NO_CONTENT;
  const { scan } = await scanDisk(workspace, name, { store: false, slicer, threads: options.threads });
  return compareContent(before, new DiskContent(scan.folders, slicer), slicer);
}
