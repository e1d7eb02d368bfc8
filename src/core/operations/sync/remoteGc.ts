// `sluice gc --remote NAME`: remove from a blob remote what no ref on its git
// remote reaches. Two rules keep it safe while teammates push:
// - a pack still partly reachable is never deleted as it stands: when most of
//   it is garbage, its reachable blobs are first written into a new pack;
// - an object is deleted only when an earlier gc already found it unreachable
//   at least --min-age ago (the marks live on the remote), since a push
//   uploads blobs before it moves the refs that reach them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readReleases, RELEASE_REFS } from '../../environments/releases';
import { isTemporaryKey } from '../../remotes/transport/transport';
import { RemoteMaintenance, type GcMarks } from '../../remotes/remoteBlobs';
import { DATASET_REFS, recordedEntries } from '../../snapshots/records';
import type { Workspace } from '../../workspace';
import { SLUICE_REFS } from './refNames';
import {
  openRemoteBlobs,
  requireGitRemote,
  trackingPrefix,
  type SyncRemote,
  namingRemote,
} from './remoteTarget';

export interface RemoteGcOptions {
  readonly dryRun: boolean;
  /** Objects found unreachable less than this long ago stay (default one hour; 0 removes at once). */
  readonly minAgeMs?: number | undefined;
}

export interface RemoteGcResult {
  readonly remote: string;
  readonly dryRun: boolean;
  /** Objects removed (or, in a dry run, that would be), and their bytes. */
  readonly removed: number;
  readonly bytes: number;
  /** Packs rewritten to drop their unreachable blobs. */
  readonly repacked: number;
  /** Unreachable objects kept until a later gc, as they were found unreachable too recently. */
  readonly waiting: number;
}

const DEFAULT_MIN_AGE_MS = 60 * 60 * 1000;

export async function gcRemote(
  workspace: Workspace,
  remote: SyncRemote,
  options: RemoteGcOptions,
): Promise<RemoteGcResult> {
  return namingRemote(remote, () => collectRemote(workspace, remote, options));
}

async function collectRemote(
  workspace: Workspace,
  remote: SyncRemote,
  options: RemoteGcOptions,
): Promise<RemoteGcResult> {
  await requireGitRemote(workspace, remote);
  const minAge = options.minAgeMs ?? DEFAULT_MIN_AGE_MS;
  const tracking = trackingPrefix(remote.gitRemote);
  await workspace.git.fetchRefs(remote.gitRemote, `${SLUICE_REFS}*`, `${tracking}*`);
  const reachable = await reachableOnRemote(workspace, tracking);
  const blobs = await openRemoteBlobs(workspace, remote);
  try {
    const inventory = await blobs.inventory();
    const result = {
      remote: remote.name,
      dryRun: options.dryRun,
      removed: 0,
      bytes: 0,
      repacked: 0,
      waiting: 0,
    };
    if (!inventory.initialized) return result;
    const maintenance = new RemoteMaintenance(blobs);
    const keys = await maintenance.keys();
    const sizes = new Map(keys.map(({ key, size }) => [key, size]));
    const garbage: string[] = [];
    const rewrite: string[] = [];
    for (const { key } of keys) {
      if (isTemporaryKey(key)) {
        garbage.push(key);
        continue;
      }
      const blob = /^blobs\/([0-9a-f]{2})\/([0-9a-f]{62})$/.exec(key);
      if (blob && !reachable.has(blob[1]! + blob[2]!)) garbage.push(key);
      const pack = /^packs\/([0-9a-f]{64})\.(pack|idx)$/.exec(key);
      if (pack?.[2] === 'pack' && !sizes.has(`packs/${pack[1]!}.idx`)) garbage.push(key); // a push cut off before its index
      if (pack?.[2] === 'idx' && sizes.has(`packs/${pack[1]!}.pack`)) {
        const entries = maintenance.entries(pack[1]!);
        const kept = entries.filter((entry) => reachable.has(entry.hash));
        const keptBytes = kept.reduce((sum, entry) => sum + entry.length, 0);
        const allBytes = entries.reduce((sum, entry) => sum + entry.length, 0);
        if (kept.length === 0) garbage.push(key, `packs/${pack[1]!}.pack`);
        else if (keptBytes * 2 <= allBytes) rewrite.push(pack[1]!);
      }
      const run = /^runs\/([0-9a-f]{64})\.json$/.exec(key);
      if (run && !runReachable(workspace, run[1]!, reachable)) garbage.push(key);
    }
    if (!options.dryRun) {
      for (const pack of rewrite) {
        const entries = maintenance.entries(pack).filter((entry) => reachable.has(entry.hash));
        await maintenance.repack(pack, entries, workspace.store.scratchFolder());
        garbage.push(`packs/${pack}.idx`, `packs/${pack}.pack`);
        result.repacked++;
      }
    } else result.repacked = rewrite.length;

    // Only what an earlier gc marked long enough ago goes; the rest is marked now.
    const now = Date.now();
    const marks = await maintenance.readMarks();
    const next: Record<string, string> = {};
    const removable: string[] = [];
    for (const key of new Set(garbage)) {
      const since = marks[key];
      const age = since === undefined ? 0 : now - Date.parse(since);
      if (minAge === 0 || (since !== undefined && age >= minAge)) removable.push(key);
      else next[key] = since ?? new Date(now).toISOString();
    }
    // Indexes before their packs: an index on the remote always describes a complete pack.
    removable.sort((a, b) => Number(b.endsWith('.idx')) - Number(a.endsWith('.idx')));
    result.removed = removable.length;
    result.bytes = removable.reduce((sum, key) => sum + (sizes.get(key) ?? 0), 0);
    result.waiting = Object.keys(next).length;
    if (!options.dryRun) {
      await maintenance.remove(removable);
      await maintenance.writeMarks(next satisfies GcMarks);
    }
    return result;
  } finally {
    await blobs.transport.close();
  }
}

/** Every blob a record under the fetched refs of the git remote reaches. */
async function reachableOnRemote(workspace: Workspace, tracking: string): Promise<Set<string>> {
  const reachable = new Set<string>();
  const datasets = tracking + DATASET_REFS.slice(SLUICE_REFS.length);
  for (const [ref] of await workspace.git.listRefs(datasets.replace(/\/$/, '')))
    for (const { entry } of await recordedEntries(workspace.git, ref))
      if (entry.type === 'file') reachable.add(entry.sha256);
  const releases = tracking + RELEASE_REFS.slice(SLUICE_REFS.length);
  const ids = [...(await workspace.git.listRefs(releases.replace(/\/$/, ''))).keys()].map((ref) =>
    ref.slice(releases.length),
  );
  for (const release of await readReleases(workspace.git, ids, releases))
    for (const output of release.outputs)
      for (const entry of output.entries) if (entry.type === 'file') reachable.add(entry.sha256);
  return reachable;
}

/** A run-cache entry stays while all its outputs are reachable (it is known here when fetched or pushed from here). */
function runReachable(workspace: Workspace, signature: string, reachable: ReadonlySet<string>): boolean {
  try {
    const file = join(workspace.sluiceDir, 'runs', signature.slice(0, 2), `${signature.slice(2)}.json`);
    const run = JSON.parse(readFileSync(file, 'utf8')) as {
      outs: readonly { entries: readonly { type: string; sha256?: string }[] }[];
    };
    return run.outs.every((out) =>
      out.entries.every(
        (entry) => entry.type !== 'file' || (entry.sha256 !== undefined && reachable.has(entry.sha256)),
      ),
    );
  } catch {
    return true; // an entry this machine has not seen is kept: gc removes only what it knows is garbage
  }
}
