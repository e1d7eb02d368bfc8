// How the model (model.ts) reads each dataset for the Data Snapshots view,
// through the engine's own calls (the ones `sluice log` and `sluice diff`
// make). No vscode import: the view's data is tested on real repositories without an editor.
import { join } from 'node:path';
import { describeError } from '../../core/errors';
import { pathExists } from '../../core/fs/pathExists';
import type { Manifest } from '../../core/manifest/model';
import {
  compareSnapshots,
  compareWithDiskContent,
  listSnapshots,
  requireDataset,
  type Changes,
  type ContentChanges,
  type FileEntry,
  type SnapshotSummary,
} from '../../core/snapshots/snapshots';
import type { Workspace } from '../../core/workspace';

/**
 * What changed from one content of a dataset to another: the changed paths,
 * and the entries behind them on each side (only the changed ones: the
 * engine compares folder by folder and never lists what is the same).
 */
export interface Comparison {
  readonly before: readonly FileEntry[];
  readonly after: readonly FileEntry[];
  readonly changes: Changes;
}

function comparisonOf(changes: ContentChanges): Comparison {
  return {
    before: [...changes.removed, ...changes.modified.map((change) => change.before)],
    after: [...changes.added, ...changes.modified.map((change) => change.after)],
    changes: {
      added: changes.added.map((entry) => entry.path),
      modified: changes.modified.map((change) => change.after.path),
      removed: changes.removed.map((entry) => entry.path),
    },
  };
}

export type DiskState =
  | (Comparison & {
      readonly kind: 'read';
      /** False when nothing is at the dataset's path (every snapshotted file then counts as removed). */
      readonly exists: boolean;
    })
  | { readonly kind: 'failed'; readonly message: string };

export type DatasetHistory =
  /** Restricted Mode: the history is in git, which is not run there. */
  | { readonly kind: 'unread' }
  | { readonly kind: 'failed'; readonly message: string }
  | {
      readonly kind: 'read';
      /** Newest first. */
      readonly snapshots: readonly SnapshotSummary[];
      /** The disk compared with the latest snapshot (with nothing, before the first). */
      readonly disk: DiskState;
    };

export interface DatasetState {
  readonly name: string;
  /** As written in the manifest, relative to the workspace root. */
  readonly path: string;
  readonly absolutePath: string;
  readonly description: string | undefined;
  readonly history: DatasetHistory;
}

/**
 * Every dataset of the workspace, one after the other (each scan already
 * hashes on several threads), read by `load` (the model counts its reads).
 */
export async function loadDatasets(
  workspace: Workspace,
  load: (workspace: Workspace, name: string) => Promise<DatasetState> = loadDataset,
): Promise<DatasetState[]> {
  const states: DatasetState[] = [];
  for (const name of workspace.manifest.datasets.keys()) states.push(await load(workspace, name));
  return states;
}

/**
 * How a read may skip walking the dataset's files: `vouched` returns the disk
 * state of an earlier walk against the same latest snapshot when nothing under
 * the dataset may have changed since (datasetDiskReads.ts); otherwise `walking`
 * is called just before the walk and hears what it found.
 */
export interface DiskReuse {
  vouched(latest: string | undefined): DiskState | undefined;
  walking(): (latest: string | undefined, disk: DiskState) => void;
  /** The snapshots an earlier read listed, when they are still the dataset's; undefined lists them. */
  snapshots(): SnapshotSummary[] | undefined;
  listed(snapshots: SnapshotSummary[]): void;
}

/**
 * One dataset: its snapshots and its changes on disk since the latest. A
 * failure is kept in the state, so one unreadable dataset does not hide the others.
 */
export async function loadDataset(
  workspace: Workspace,
  name: string,
  reuse?: DiskReuse,
): Promise<DatasetState> {
  const declared = requireDataset(workspace, name);
  const base = {
    name,
    path: declared.path.value,
    absolutePath: join(workspace.root, declared.path.value),
    description: declared.description,
  };
  let snapshots: SnapshotSummary[];
  try {
    const known = reuse?.snapshots();
    snapshots = known ?? (await listSnapshots(workspace, name));
    if (known === undefined) reuse?.listed(snapshots);
  } catch (error) {
    return { ...base, history: { kind: 'failed', message: describeError(error) } };
  }
  const latest = snapshots[0]?.id;
  const kept = reuse?.vouched(latest);
  if (kept !== undefined) return { ...base, history: { kind: 'read', snapshots, disk: kept } };
  const walked = reuse?.walking();
  let disk: DiskState;
  try {
    const comparison = comparisonOf(await compareWithDiskContent(workspace, name, snapshots[0]));
    disk = { kind: 'read', exists: pathExists(base.absolutePath), ...comparison };
  } catch (error) {
    disk = { kind: 'failed', message: describeError(error) };
  }
  walked?.(latest, disk);
  return { ...base, history: { kind: 'read', snapshots, disk } };
}

/** Restricted Mode's datasets: what the manifest declares, without their history. */
export function declaredDatasets(manifest: Manifest, root: string): DatasetState[] {
  return [...manifest.datasets.values()].flatMap((dataset) =>
    dataset.path === undefined
      ? []
      : [
          {
            name: dataset.name,
            path: dataset.path.value,
            absolutePath: join(root, dataset.path.value),
            description: dataset.description,
            history: { kind: 'unread' } as const,
          },
        ],
  );
}

/** A snapshot compared with the one before it (with nothing, for the first). */
export async function compareWithPrevious(
  workspace: Workspace,
  snapshot: SnapshotSummary,
  previous: SnapshotSummary | undefined,
): Promise<Comparison> {
  return comparisonOf(await compareSnapshots(workspace, previous, snapshot));
}

/** A snapshot compared with the disk now: what restoring it would write and remove. */
export async function compareWithDisk(
  workspace: Workspace,
  name: string,
  snapshot: SnapshotSummary,
): Promise<Comparison> {
  return comparisonOf(await compareWithDiskContent(workspace, name, snapshot));
}
