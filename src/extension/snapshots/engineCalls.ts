// The snapshot engine's writing calls as the extension makes them: with an
// AbortSignal, and with the one refusal the UI answers with a button. No vscode import.
import { setImmediate } from 'node:timers/promises';
import { CancelledError, hasCode, type SluiceError } from '../../core/errors';
import { restoreDataset, type RestoreResult } from '../../core/snapshots/restore';
import { snapshotDataset, type SnapshotResult } from '../../core/snapshots/snapshots';
import type { Workspace } from '../../core/workspace';
import type { Comparison } from './datasets';

/**
 * snapshotDataset and restoreDataset typed with the `signal` option the engine
 * is getting. Assigning the engine's functions to these types compiles whether
 * or not they declare it yet: until they do, the signal is ignored by the engine
 * and honoured between datasets only (see snapshotAll).
 */
export const snapshotCancellable: (
  workspace: Workspace,
  name: string,
  message: string,
  options: { readonly signal: AbortSignal },
) => Promise<SnapshotResult> = snapshotDataset;

export const restoreCancellable: (
  workspace: Workspace,
  name: string,
  idOrPrefix: string,
  options: { readonly force: boolean; readonly signal: AbortSignal },
) => Promise<RestoreResult> = restoreDataset;

/** Snapshots each dataset in turn; a cancel stops before the next one and says which were recorded. */
export async function snapshotAll(
  workspace: Workspace,
  names: readonly string[],
  message: string,
  signal: AbortSignal,
  onStart: (name: string, index: number) => void,
): Promise<SnapshotResult[]> {
  const results: SnapshotResult[] = [];
  for (const [index, name] of names.entries()) {
    // One turn of the event loop first: a Cancel pressed while the engine held the
    // thread is still a message waiting to be read, and must be seen before the next dataset starts.
    await setImmediate();
    throwIfCancelled(signal, results);
    onStart(name, index);
    try {
      results.push(await snapshotCancellable(workspace, name, message, { signal }));
    } catch (error) {
      throwIfCancelled(signal, results);
      throw error;
    }
  }
  return results;
}

function throwIfCancelled(signal: AbortSignal, recorded: readonly SnapshotResult[]): void {
  if (signal.aborted) throw new SnapshotsCancelled(recorded);
}

/** A cancelled run of snapshots, with those recorded before the cancel took effect. */
export class SnapshotsCancelled extends CancelledError {
  constructor(readonly recorded: readonly SnapshotResult[]) {
    const datasets = recorded.map((result) => result.dataset);
    super('Snapshot', {
      message:
        recorded.length === 0
          ? 'Snapshot cancelled; nothing was recorded.'
          : `Snapshot cancelled after ${datasets.join(', ')}.`,
      data: { recorded: datasets },
    });
    this.name = 'SnapshotsCancelled';
  }
}

/**
 * True for restore's refusal to overwrite or delete bytes that are in no
 * snapshot (code `unsaved-data`), which `force` answers by snapshotting them first.
 */
export function isUnsavedDataRefusal(error: unknown): error is SluiceError {
  return hasCode(error, 'unsaved-data');
}

/** What restoring a snapshot does to the disk, from the snapshot → disk comparison. */
export interface RestorePlan {
  /** On disk and in the snapshot with other content. */
  readonly overwritten: readonly string[];
  /** On disk, not in the snapshot. */
  readonly removed: readonly string[];
  /** In the snapshot, not on disk. */
  readonly written: readonly string[];
}

export function restorePlan(snapshotToDisk: Comparison): RestorePlan {
  const { added, modified, removed } = snapshotToDisk.changes;
  return { overwritten: modified, removed: added, written: removed };
}

/** The modal confirmation's text: what would be lost from view, listed first. */
export function describeRestorePlan(
  plan: RestorePlan,
  show: (path: string) => string,
  listed = 12,
): { readonly summary: string; readonly detail: string } {
  const counted = (count: number, verb: string): string =>
    `${verb} ${count} ${count === 1 ? 'file' : 'files'}`;
  const summary = [
    [plan.overwritten.length, 'overwrites'] as const,
    [plan.removed.length, 'removes'] as const,
    [plan.written.length, 'writes'] as const,
  ]
    .filter(([count]) => count > 0)
    .map(([count, verb]) => counted(count, verb))
    .join(', ');
  const section = (title: string, paths: readonly string[]): string[] => {
    if (paths.length === 0) return [];
    const shown = paths.slice(0, listed).map((path) => `  ${show(path)}`);
    const more = paths.length > listed ? [`  … and ${paths.length - listed} more`] : [];
    return [`${title}:`, ...shown, ...more];
  };
  const detail = [
    ...section('Overwritten', plan.overwritten),
    ...section('Removed', plan.removed),
    ...section('Written', plan.written),
  ].join('\n');
  return { summary: `Restoring ${summary}.`, detail };
}
