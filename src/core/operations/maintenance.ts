// fsck and gc over the object store. What is reachable is computed from every
// record under refs/sluice/, so gc can never remove a blob any history needs.
import { shortId } from '../format';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { fromSystemError, SluiceError } from '../errors';
import { listReleaseIds, readReleases, releaseRef } from '../environments/releases';
import { DEFAULT_KEEP_RELEASES, pruneReleaseFolders, type ReleaseRetention } from '../environments/retention';
import { DATASET_REFS, recordedEntries } from '../snapshots/records';
import type { ObjectStore } from '../store/objectStore';
import type { Workspace } from '../workspace';
import { findMisalignedEnvironments, type MisalignedEnvironment } from '../environments/deploy';
import {
  findLeftoverWorktrees,
  removeLeftoverWorktrees,
  type LeftoverWorktree,
} from '../environments/staging';
import { damagedRefs, damagedRefsError, type DamagedRef } from './damagedRefs';
import { emptyTrash, pruneRunCache } from './runCacheRetention';

export interface Reference {
  readonly hash: string;
  /** Where the blob is used, in words: `dataset events, snapshot 1a2b3c4d5e6f, path part-0.csv`. */
  readonly usedBy: string;
}

/** Every blob any record reaches, with one place that uses it; records on the refs `skip` are not read. */
export async function reachableBlobs(
  workspace: Workspace,
  skip: ReadonlySet<string> = new Set(),
  /** Filled with the size each dataset record gives its blobs (release records give none). */
  sizes?: Map<string, number>,
): Promise<Map<string, string>> {
  const reachable = new Map<string, string>();
  const refs = await workspace.git.listRefs(DATASET_REFS.replace(/\/$/, ''));
  for (const [ref] of refs) {
    if (skip.has(ref)) continue;
    const dataset = ref.slice(DATASET_REFS.length);
    for (const { snapshot, entry } of await recordedEntries(workspace.git, ref)) {
      if (entry.type === 'file' && !reachable.has(entry.sha256)) {
        sizes?.set(entry.sha256, entry.size);
        reachable.set(
          entry.sha256,
          `dataset ${dataset}, snapshot ${shortId(snapshot)}, ${entry.path || 'the dataset file'}`,
        );
      }
    }
  }
  // Every release record (each one any environment history names among them) keeps its outputs.
  const releaseIds = (await listReleaseIds(workspace.git)).filter((id) => !skip.has(releaseRef(id)));
  for (const release of await readReleases(workspace.git, releaseIds)) {
    for (const output of release.outputs)
      for (const entry of output.entries)
        if (entry.type === 'file' && !reachable.has(entry.sha256))
          reachable.set(entry.sha256, `release ${shortId(release.id)}, output ${output.path}`);
  }
  return reachable;
}

export interface FsckResult {
  readonly damaged: string[];
  readonly missing: Reference[];
  /** Refs under refs/sluice/ that are not valid records of their kind. */
  readonly damagedRefs: DamagedRef[];
  /** Worktrees a killed `stage` left under .sluice/tmp/ (gc removes them, as does the next stage). */
  readonly leftoverWorktrees: LeftoverWorktree[];
  /** Environments whose `current` link is not the release their history says is live (any read repairs it). */
  readonly misalignedEnvironments: MisalignedEnvironment[];
  readonly checked: number;
}

/** Re-hashes every blob, looks for every blob a record needs, and checks every ref under refs/sluice/. */
export async function fsck(workspace: Workspace): Promise<FsckResult> {
  const damagedRefList = await damagedRefs(workspace.git);
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
  const reachable = await reachableBlobs(workspace, new Set(damagedRefList.map((d) => d.ref)));
  for (const hash of workspace.store.lacking(reachable.keys()))
    missing.push({ hash, usedBy: reachable.get(hash)! });
  return {
    damaged,
    missing,
    damagedRefs: damagedRefList,
    leftoverWorktrees: await findLeftoverWorktrees(workspace),
    misalignedEnvironments: await findMisalignedEnvironments(workspace),
    checked,
  };
}

export interface GcResult {
  readonly removed: number;
  readonly bytes: number;
  readonly kept: number;
  readonly dryRun: boolean;
  /** Entries of .sluice/trash/ older than the minimum age, emptied. */
  readonly trash: { readonly removed: number; readonly bytes: number };
  /** Run-cache entries: each stage's newest kept (with their blobs), older ones removed. */
  readonly runs: { readonly kept: number; readonly removed: number };
  /** Release folders under each environment's deploy.path. */
  readonly releases: ReleaseRetention;
  /** Worktrees a killed `stage` left under .sluice/tmp/, removed (or, in a dry run, found). */
  readonly worktrees: LeftoverWorktree[];
}

export interface GcOptions {
  readonly dryRun: boolean;
  readonly minAgeMs?: number;
  /** Run-cache entries kept per stage (default DEFAULT_KEEP_RUNS). */
  readonly keepRuns?: number;
  /** Deployments per environment history whose release folders are kept (default DEFAULT_KEEP_RELEASES). */
  readonly keepReleases?: number;
}

/** Blobs and temporary files younger than this may belong to a writer still running. */
const DEFAULT_MIN_AGE_MS = 60 * 60 * 1000;
export const DEFAULT_KEEP_RUNS = 5;

/**
 * Removes blobs no record and no kept run-cache entry reaches, old temporary
 * files, old trash, old run-cache entries and old release folders. Refuses
 * (code `damaged-ref`) while any ref under refs/sluice/ is not a readable
 * record: what its history needs cannot be told from garbage.
 */
export async function gc(workspace: Workspace, options: GcOptions): Promise<GcResult> {
  const minAge = options.minAgeMs ?? DEFAULT_MIN_AGE_MS;
  const damaged = await damagedRefs(workspace.git);
  if (damaged.length > 0) throw damagedRefsError(damaged, 'gc');
  const reachable = await reachableBlobs(workspace);
  const runs = pruneRunCache(join(workspace.sluiceDir, 'runs'), {
    keep: options.keepRuns ?? DEFAULT_KEEP_RUNS,
    dryRun: options.dryRun,
  });
  for (const [hash, usedBy] of runs.reachable) if (!reachable.has(hash)) reachable.set(hash, usedBy);
  const releases = await pruneReleaseFolders(workspace, {
    keep: options.keepReleases ?? DEFAULT_KEEP_RELEASES,
    minAgeMs: minAge,
    dryRun: options.dryRun,
  });
  let removed = 0;
  let bytes = 0;
  let kept = 0;
  for (const hash of workspace.store.listLoose()) {
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
      throw removeFailed(error, hash, workspace.store.pathOf(hash));
    }
  }
  const packed = prunePacks(workspace.store, reachable, minAge, options.dryRun);
  removed += packed.removed;
  bytes += packed.bytes;
  kept += packed.kept;
  const trash = emptyTrash(join(workspace.sluiceDir, 'trash'), minAge, options.dryRun);
  const worktrees = options.dryRun
    ? await findLeftoverWorktrees(workspace)
    : await removeLeftoverWorktrees(workspace);
  if (!options.dryRun) workspace.store.removeStaleTemporaries(minAge);
  return {
    removed,
    bytes,
    kept,
    dryRun: options.dryRun,
    trash,
    runs: { kept: runs.kept, removed: runs.removed },
    releases,
    worktrees,
  };
}

/**
 * gc of the cache's packs (store/localPacks.ts): a pack goes whole once it is
 * older than the grace period and holds any blob nothing reaches; what of it
 * is still reachable is unpacked first, as loose blobs. A blob both packed and
 * loose counts once, with its loose copy.
 */
function prunePacks(
  store: ObjectStore,
  reachable: ReadonlyMap<string, unknown>,
  minAge: number,
  dryRun: boolean,
): { removed: number; bytes: number; kept: number } {
  const counted = new Set<string>();
  let removed = 0;
  let bytes = 0;
  let kept = 0;
  for (const pack of store.packs.list()) {
    const own = pack.entries.filter((entry) => !counted.has(entry.hash) && !store.hasLoose(entry.hash));
    for (const entry of own) counted.add(entry.hash);
    const garbage = own.filter((entry) => !reachable.has(entry.hash));
    if (garbage.length === 0 || Date.now() - pack.mtimeMs < minAge) {
      kept += own.length;
      continue;
    }
    removed += garbage.length;
    bytes += garbage.reduce((sum, entry) => sum + entry.length, 0);
    kept += own.length - garbage.length;
    if (dryRun) continue;
    try {
      for (const entry of own) if (reachable.has(entry.hash)) store.loosePath(entry.hash);
      store.packs.remove(pack.name);
    } catch (error) {
      throw removeFailed(error, garbage[0]!.hash, store.packs.pathOf(pack.name));
    }
  }
  return { removed, bytes, kept };
}

function removeFailed(error: unknown, hash: string, path: string): SluiceError {
  const failure = fromSystemError(error);
  return new SluiceError(
    `Cannot remove blob ${hash}: ${failure?.message ?? (error as Error).message}`,
    'failed',
    failure?.hint,
    { code: 'gc-remove-failed', data: { hash, path } },
  );
}
