// Where each dataset stands against its latest snapshot, for `sluice status`
// and the editor. A fresh clone has the manifest but not the data (git-ignored)
// nor, until fetched, the snapshot refs: "changed" would send the user looking
// for edits that do not exist, so those cases have states of their own.
import { shortId } from '../format';
import { lstatSync } from 'node:fs';
import type { Workspace } from '../workspace';
import { requireInsideWorkspace } from '../paths';
import { diffDataset, listSnapshots, requireDataset, type OperationOptions } from './snapshots';

export type DatasetStatusState =
  /** Nothing at the dataset's path (a fresh clone, or deleted): whatever its snapshots say. */
  | 'missing'
  /** On disk, but no snapshot recorded (or fetched) yet. */
  | 'no-snapshot'
  /** On disk and different from its latest snapshot. */
  | 'changed'
  | 'unchanged';

export interface DatasetStatus {
  readonly name: string;
  readonly state: DatasetStatusState;
  /** Whether the disk differs from the latest snapshot (true too when either is missing): the CLI contract's field. */
  readonly changed: boolean;
  /** The latest snapshot's id, or null when there is none. */
  readonly snapshot: string | null;
}

export async function datasetStatus(
  workspace: Workspace,
  name: string,
  options: OperationOptions = {},
): Promise<DatasetStatus> {
  const dataset = requireDataset(workspace, name);
  const absolute = requireInsideWorkspace(workspace.root, dataset.path.value, `Dataset '${name}'`);
  const latest = (await listSnapshots(workspace, name, 1))[0];
  const snapshot = latest?.id ?? null;
  if (lstatSync(absolute, { throwIfNoEntry: false }) === undefined)
    return { name, state: 'missing', changed: true, snapshot };
  if (latest === undefined) return { name, state: 'no-snapshot', changed: true, snapshot };
  const diff = await diffDataset(workspace, name, undefined, undefined, options);
  const changed = diff.added.length + diff.modified.length + diff.removed.length > 0;
  return { name, state: changed ? 'changed' : 'unchanged', changed, snapshot };
}

/** The state in words, for a terminal or a tooltip. */
export function describeDatasetStatus(status: DatasetStatus): string {
  switch (status.state) {
    case 'missing':
      return status.snapshot === null
        ? 'not on disk, and no snapshot yet'
        : `not on disk (latest snapshot ${shortId(status.snapshot)}: sluice restore ${status.name} latest)`;
    case 'no-snapshot':
      return 'no snapshot yet (sluice snapshot)';
    case 'changed':
      return `changed since snapshot ${status.snapshot === null ? '' : shortId(status.snapshot)}`;
    case 'unchanged':
      return `as in snapshot ${status.snapshot === null ? '' : shortId(status.snapshot)}`;
  }
}
