// fsck and gc over the object store. What is reachable is computed from every
// record under refs/sluice/, so gc can never remove a blob any history needs.
import { statSync } from 'node:fs';
import { fromSystemError } from '../errors';
import { listReleaseIds, readReleases } from '../environments/releases';
import { DATASET_REFS, recordedEntries } from '../snapshots/records';
import type { Workspace } from '../workspace';

export interface Reference {
  readonly hash: string;
  /** Where the blob is used, in words: `dataset events, snapshot 1a2b3c4d5e6f, path part-0.csv`. */
  readonly usedBy: string;
}

/** Every blob any record reaches, with one place that uses it. */
export async function reachableBlobs(workspace: Workspace): Promise<Map<string, string>> {
  const reachable = new Map<string, string>();
  const refs = await workspace.git.listRefs(DATASET_REFS.replace(/\/$/, ''));
  for (const [ref] of refs) {
    const dataset = ref.slice(DATASET_REFS.length);
    for (const { snapshot, entry } of await recordedEntries(workspace.git, ref)) {
      if (entry.type === 'file' && !reachable.has(entry.sha256)) {
        reachable.set(
          entry.sha256,
          `dataset ${dataset}, snapshot ${snapshot.slice(0, 12)}, ${entry.path || 'the dataset file'}`,
        );
      }
    }
  }
  // Every release record (each one any environment history names among them) keeps its outputs.
  for (const release of await readReleases(workspace.git, await listReleaseIds(workspace.git))) {
    for (const output of release.outputs)
      for (const entry of output.entries)
        if (entry.type === 'file' && !reachable.has(entry.sha256))
          reachable.set(entry.sha256, `release ${release.id.slice(0, 12)}, output ${output.path}`);
  }
  return reachable;
}

export interface FsckResult {
  readonly damaged: string[];
  readonly missing: Reference[];
  readonly checked: number;
}

/** Re-hashes every blob, and looks for every blob a record needs. */
export async function fsck(workspace: Workspace): Promise<FsckResult> {
  const damaged: string[] = [];
  let checked = 0;
  for (const hash of workspace.store.list()) {
    checked++;
    let intact: boolean;
    try {
      intact = workspace.store.verify(hash);
    } catch {
      intact = false; // unreadable counts as damaged
    }
    if (!intact) damaged.push(hash);
  }
  const missing: Reference[] = [];
  for (const [hash, usedBy] of await reachableBlobs(workspace)) {
    if (!workspace.store.has(hash)) missing.push({ hash, usedBy });
  }
  return { damaged, missing, checked };
}

export interface GcResult {
  readonly removed: number;
  readonly bytes: number;
  readonly kept: number;
  readonly dryRun: boolean;
}

/** Blobs and temporary files younger than this may belong to a writer still running. */
const DEFAULT_MIN_AGE_MS = 60 * 60 * 1000;

/** Removes blobs no record reaches (and old temporary files). */
export async function gc(
  workspace: Workspace,
  options: { dryRun: boolean; minAgeMs?: number },
): Promise<GcResult> {
  const minAge = options.minAgeMs ?? DEFAULT_MIN_AGE_MS;
  const reachable = await reachableBlobs(workspace);
  let removed = 0;
  let bytes = 0;
  let kept = 0;
  for (const hash of workspace.store.list()) {
    if (reachable.has(hash)) {
      kept++;
      continue;
    }
    try {
      // A blob written within the grace period may belong to a snapshot whose ref is not updated yet.
      const stat = statSync(workspace.store.pathOf(hash));
      if (Date.now() - stat.mtimeMs < minAge) {
        kept++;
        continue;
      }
      removed++;
      bytes += stat.size;
      if (!options.dryRun) workspace.store.remove(hash);
    } catch (error) {
      throw fromSystemError(error) ?? error;
    }
  }
  if (!options.dryRun) workspace.store.removeStaleTemporaries(minAge);
  return { removed, bytes, kept, dryRun: options.dryRun };
}
