// Push: share this machine's records with the team. Blobs strictly before
// refs: every blob a pushed record reaches is on the blob remote before any
// ref that needs it moves on the git remote. Refs then move in one atomic git
// push, each with a lease on what the remote had, so a teammate's promotion
// or snapshot that landed meanwhile refuses the whole push and loses nothing.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CancelledError, SluiceError } from '../../errors';
import { writeFileAtomic } from '../../fs/atomicWrite';
import type { Progress, TransferTotals } from '../../remotes/remoteBlobs';
import type { CachedRun } from '../../pipelines/outputs';
import type { Workspace } from '../../workspace';
import { reachableBlobs } from '../maintenance';
import { experimentRef, listExperimentIds, readExperiments } from '../../experiments/records';
import { describeRefs, isImmutableKind, refKind, SLUICE_REFS, type RefKind } from './refNames';
import {
  connectEarly,
  type EarlyConnection,
  remoteCacheDir,
  requireGitRemote,
  trackingPrefix,
  type SyncRemote,
  namingRemote,
} from './remoteTarget';

export interface PushedRef {
  readonly ref: string;
  readonly kind: RefKind;
  /** The commit on the git remote before, or null when it had none. */
  readonly from: string | null;
  readonly to: string;
}

export interface PushResult {
  readonly remote: string;
  readonly gitRemote: string;
  readonly refs: readonly PushedRef[];
  readonly blobs: TransferTotals;
  /** Run-cache entries uploaded. */
  readonly runs: number;
}

export interface PushOptions {
  /** Also every run-cache entry of this machine (experiments no record names), with its outputs. */
  readonly all?: boolean | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly progress?: Progress | undefined;
}

/** Refs whose data this blob remote is known to hold, at the commits it holds it for. */
const PUSHED_FILE = 'pushed-refs.json';

export async function push(
  workspace: Workspace,
  remote: SyncRemote,
  options: PushOptions = {},
): Promise<PushResult> {
  return namingRemote(remote, () => pushRecords(workspace, remote, options));
}

async function pushRecords(
  workspace: Workspace,
  remote: SyncRemote,
  options: PushOptions = {},
): Promise<PushResult> {
  await requireGitRemote(workspace, remote);
  const local = await workspace.git.listRefs(SLUICE_REFS);
  // The blobs of every record whose data this remote is not yet known to hold.
  const cacheDir = remoteCacheDir(workspace, remote);
  const pushed = readPushed(cacheDir);
  const confirmed = new Set([...local].filter(([ref, commit]) => pushed[ref] === commit).map(([ref]) => ref));
  const needsData = [...local.keys()].some((ref) => !confirmed.has(ref) && refKind(ref) !== undefined);
  const connection = needsData || options.all === true ? connectEarly(workspace, remote) : undefined;
  try {
    return await pushWith(workspace, remote, options, local, confirmed, connection);
  } finally {
    await connection?.drop();
  }
}

async function pushWith(
  workspace: Workspace,
  remote: SyncRemote,
  options: PushOptions,
  local: ReadonlyMap<string, string>,
  confirmed: ReadonlySet<string>,
  connection: EarlyConnection | undefined,
): Promise<PushResult> {
  const onRemote = await workspace.git.remoteRefs(remote.gitRemote, `${SLUICE_REFS}*`);

  // Which refs move, and whether each may: histories only grow, releases never change.
  const updates: PushedRef[] = [];
  const refused: string[] = [];
  for (const [ref, commit] of local) {
    const kind = refKind(ref);
    if (kind === undefined) continue;
    const there = onRemote.get(ref);
    if (there === commit) continue;
    // Releases and experiments are immutable: the same id names the same record, whatever commit holds it.
    if (isImmutableKind(kind) && there !== undefined) continue;
    if (there !== undefined) {
      const fastForward =
        (await workspace.git.hasCommit(there)) && (await workspace.git.isAncestor(there, commit));
      if (!fastForward) {
        refused.push(ref);
        continue;
      }
    }
    updates.push({ ref, kind, from: there ?? null, to: commit });
  }
  if (refused.length > 0) throw movedOnRemote(remote, refused);

  let blobs: TransferTotals = { blobs: 0, bytes: 0, requests: 0 };
  let runs = 0;
  if (connection) {
    // The records give each blob's size: the upload sorts blobs into packs without a stat each.
    const sizes = new Map<string, number>();
    const hashes = new Set((await reachableBlobs(workspace, confirmed, sizes)).keys());
    // Experiments' outputs travel while the cache holds them (gc --keep-runs may have let them go).
    for (const hash of await experimentOutputs(workspace, confirmed)) hashes.add(hash);
    const entries = runEntries(workspace, hashes, options.all === true);
    for (const entry of entries.values()) for (const hash of entry.blobs) hashes.add(hash);
    if (options.signal?.aborted) throw new CancelledError('Push');
    const remoteBlobs = await connection.take();
    const inventory = await remoteBlobs.inventory(options.signal);
    blobs = await remoteBlobs.upload(workspace.store, hashes, sizes, inventory, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.progress ? { progress: options.progress } : {}),
    });
    runs = await remoteBlobs.uploadRuns(
      new Map([...entries].map(([signature, entry]) => [signature, entry.file])),
      inventory,
    );
    // Closed before the refs go: the connection is not needed for them.
    await connection.drop();
  }

  // Refs last, all or none.
  if (options.signal?.aborted) throw new CancelledError('Push');
  try {
    await workspace.git.pushRefs(
      remote.gitRemote,
      updates.map(({ ref, to, from }) => ({ ref, commit: to, expected: from ?? undefined })),
    );
  } catch (error) {
    // Whatever words git used, the remote itself says whether someone moved a ref first.
    const now = await workspace.git.remoteRefs(remote.gitRemote, `${SLUICE_REFS}*`).catch(() => undefined);
    const moved = updates.filter(({ ref, from }) => now !== undefined && (now.get(ref) ?? null) !== from);
    if (moved.length > 0)
      throw movedOnRemote(
        remote,
        moved.map(({ ref }) => ref),
      );
    throw error;
  }
  writePushed(remoteCacheDir(workspace, remote), Object.fromEntries(local));
  // What the git remote holds now, as a fetch would have recorded it: ahead/behind counts stay true.
  const tracking = trackingPrefix(remote.gitRemote);
  for (const { ref, to } of updates) await workspace.git.setRef(tracking + ref.slice(SLUICE_REFS.length), to);
  return { remote: remote.name, gitRemote: remote.gitRemote, refs: updates, blobs, runs };
}

/** Output blobs of the experiment records being pushed that this cache still holds. */
async function experimentOutputs(workspace: Workspace, confirmed: ReadonlySet<string>): Promise<string[]> {
  const ids = (await listExperimentIds(workspace.git)).filter((id) => !confirmed.has(experimentRef(id)));
  const wanted = new Set<string>();
  for (const experiment of (await readExperiments(workspace.git, ids)).experiments)
    for (const output of experiment.outputs)
      for (const entry of output.entries) if (entry.type === 'file') wanted.add(entry.sha256);
  const lacking = new Set(workspace.store.lacking(wanted));
  return [...wanted].filter((hash) => !lacking.has(hash));
}

function movedOnRemote(remote: SyncRemote, refs: readonly string[]): SluiceError {
  return new SluiceError(
    `${describeRefs(refs)} moved on ${remote.gitRemote} since your last pull: pull, then retry.`,
    'conflict',
    `Run \`sluice pull ${remote.name}\`, then \`sluice push ${remote.name}\` again. Nothing was lost on either side.`,
    { code: 'remote-moved', data: { remote: remote.name, gitRemote: remote.gitRemote, refs } },
  );
}

interface RunEntry {
  readonly file: string;
  readonly blobs: readonly string[];
}

/**
 * Run-cache entries to share: those whose outputs are all among `reachable`
 * (the runs that produced a pushed release's outputs), or every entry with `all`.
 */
function runEntries(
  workspace: Workspace,
  reachable: ReadonlySet<string>,
  all: boolean,
): Map<string, RunEntry> {
  const folder = join(workspace.sluiceDir, 'runs');
  const entries = new Map<string, RunEntry>();
  let fans: string[];
  try {
    fans = readdirSync(folder).filter((name) => /^[0-9a-f]{2}$/.test(name));
  } catch {
    return entries;
  }
  for (const fan of fans) {
    for (const name of readdirSync(join(folder, fan))) {
      const match = /^([0-9a-f]{62})\.json$/.exec(name);
      if (!match) continue;
      const file = join(folder, fan, name);
      let run: CachedRun;
      try {
        run = JSON.parse(readFileSync(file, 'utf8')) as CachedRun;
      } catch {
        continue; // a torn or foreign file is not an entry to share
      }
      const blobs = run.outs.flatMap((out) =>
        out.entries.flatMap((entry) => (entry.type === 'file' ? [entry.sha256] : [])),
      );
      if (all || (blobs.length > 0 && blobs.every((hash) => reachable.has(hash))))
        entries.set(fan + match[1]!, { file, blobs });
    }
  }
  return entries;
}

function readPushed(cacheDir: string): Record<string, string> {
  try {
    return JSON.parse(readFileSync(join(cacheDir, PUSHED_FILE), 'utf8')) as Record<string, string>;
  } catch {
    return {};
  }
}

function writePushed(cacheDir: string, refs: Record<string, string>): void {
  writeFileAtomic(join(cacheDir, PUSHED_FILE), `${JSON.stringify(refs)}\n`);
}
