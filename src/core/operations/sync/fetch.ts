// Fetch and pull: take in what teammates pushed. Fetch brings the remote's
// refs (kept apart, under refs/sluice-remotes/, as git keeps remote-tracking
// branches) and the blobs of what is current on either side (each dataset's
// latest snapshot, each environment's live release, the run-cache entries
// that produced them) into the local cache; it changes none of our refs and
// no file of the workspace, and says how far ahead or behind we are. Pull
// fetches, takes the remote's refs in, and brings each dataset's files to
// its latest snapshot under restore's rules, so unsaved bytes are never
// overwritten.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CancelledError, hasCode, SluiceError } from '../../errors';
import { writeFileAtomic } from '../../fs/atomicWrite';
import { ENVIRONMENT_REFS, readHistory } from '../../environments/history';
import { readReleases, RELEASE_REFS } from '../../environments/releases';
import { EXPERIMENT_REFS, readExperiments } from '../../experiments/records';
import { planWorkspace } from '../../pipelines/plan';
import { shortId } from '../../format';
import type { Progress, TransferTotals } from '../../remotes/remoteBlobs';
import { DATASET_REFS, readHead as readSnapshotHead, RecordedContent } from '../../snapshots/records';
import { restoreDataset } from '../../snapshots/restore';
import { Slicer } from '../../snapshots/slices';
import type { Workspace } from '../../workspace';
import { isImmutableKind, refKind, SLUICE_REFS, type RefKind } from './refNames';
import { syncStatus, type SyncStatus } from './syncStatus';
import {
  connectEarly,
  requireGitRemote,
  trackingPrefix,
  type SyncRemote,
  namingRemote,
} from './remoteTarget';

/** What fetch did with one ref of the remote. */
export type RefAction =
  /** new here: taken as it is */
  | 'created'
  /** the remote's history continues ours: ours moved forward */
  | 'fast-forward'
  /** an environment both sides added deployments to: ours were replayed after the remote's */
  | 'replayed'
  /** ours is ahead: push shares it */
  | 'ahead'
  /** a dataset both sides snapshotted: ours stays, the remote's is named */
  | 'diverged';

export interface FetchedRef {
  readonly ref: string;
  readonly kind: RefKind;
  readonly action: RefAction;
  /** Our commit before (null: none), and after. */
  readonly from: string | null;
  readonly to: string;
  /** The remote's commit. */
  readonly remote: string;
}

interface Transferred {
  readonly remote: string;
  readonly gitRemote: string;
  readonly blobs: TransferTotals;
  /** Run-cache entries received. */
  readonly runs: number;
}

export interface FetchResult extends Transferred {
  /** Where we stand against the remote now: what pull would take in, what push would send. */
  readonly status: SyncStatus;
}

export interface SyncOptions {
  readonly signal?: AbortSignal | undefined;
  readonly progress?: Progress | undefined;
}

export async function fetch(
  workspace: Workspace,
  remote: SyncRemote,
  options: SyncOptions = {},
): Promise<FetchResult> {
  return namingRemote(remote, () => fetchRecords(workspace, remote, options));
}

async function fetchRecords(
  workspace: Workspace,
  remote: SyncRemote,
  options: SyncOptions = {},
): Promise<FetchResult> {
  const transferred = await fetchInto(workspace, remote, options);
  return { ...transferred, status: await syncStatus(workspace, remote.gitRemote) };
}

/** The remote's refs into the tracking namespace, then the blobs and run entries they and ours need. */
async function fetchInto(
  workspace: Workspace,
  remote: SyncRemote,
  options: SyncOptions,
): Promise<Transferred> {
  await requireGitRemote(workspace, remote);
  const tracking = trackingPrefix(remote.gitRemote);
  const connection = connectEarly(workspace, remote);
  let wanted: Map<string, string>;
  /** Experiments' plot and metrics files: fetched when the remote has them, never required. */
  let comparable: Set<string>;
  try {
    await workspace.git.fetchRefs(remote.gitRemote, `${SLUICE_REFS}*`, `${tracking}*`);
    // Blobs for what is current on either side: pull takes the remote's refs in
    // only once every blob they need is here, so a failure changes nothing of ours.
    wanted = await currentBlobs(workspace, [SLUICE_REFS, tracking]);
    comparable = await experimentComparables(workspace, [SLUICE_REFS, tracking]);
  } catch (error) {
    await connection.drop();
    throw error;
  }
  const remoteBlobs = await connection.take();
  try {
    const inventory = await remoteBlobs.inventory(options.signal);
    if (!inventory.initialized && wanted.size > 0) {
      throw new SluiceError(
        `The remote ${remote.name} (${remoteBlobs.display}) holds no Sluice data: nobody has pushed to it yet.`,
        'failed',
        `Run \`sluice push ${remote.name}\` on a machine that has the data, then fetch again.`,
        { code: 'remote-empty', data: { remote: remote.name } },
      );
    }
    const missing = workspace.store.lacking(new Set([...wanted.keys(), ...comparable]));
    const blobs = await remoteBlobs.download(workspace.store, missing, inventory, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.progress ? { progress: options.progress } : {}),
    });
    const absent = blobs.absent.filter((hash) => wanted.has(hash));
    if (absent.length > 0) {
      const first = absent[0]!;
      throw new SluiceError(
        `The remote ${remote.name} lacks ${absent.length} blob(s) that ${wanted.get(first)!} needs (first: ${first}).`,
        'failed',
        'Run `sluice push` on the machine that recorded it, then fetch again.',
        { code: 'remote-blob-missing', data: { remote: remote.name, hashes: absent.slice(0, 100) } },
      );
    }
    const runFolder = join(workspace.sluiceDir, 'runs');
    const runsWanted = [...inventory.runs].filter(
      (signature) => !existsRun(runFolder, signature) && /^[0-9a-f]{64}$/.test(signature),
    );
    let runs = 0;
    await remoteBlobs.downloadRuns(runsWanted, (signature, bytes) => {
      // An entry must be a run-cache entry of its own signature: a foreign file never lands in the cache.
      try {
        const run = JSON.parse(Buffer.from(bytes).toString('utf8')) as { signature?: unknown };
        if (run.signature !== signature) return;
      } catch {
        return;
      }
      writeFileAtomic(runPath(runFolder, signature), Buffer.from(bytes));
      runs++;
    });
    return { remote: remote.name, gitRemote: remote.gitRemote, blobs, runs };
  } finally {
    await remoteBlobs.transport.close();
  }
}

export interface PulledDataset {
  readonly name: string;
  readonly snapshot: string;
  /** restored: files written; unchanged: the disk was the snapshot already; refused: unsaved bytes there. */
  readonly action: 'restored' | 'unchanged' | 'refused';
  readonly written: number;
  readonly removed: number;
  /** With 'refused': the paths whose bytes are in no snapshot. */
  readonly paths: readonly string[];
}

export interface PullResult extends Transferred {
  /** Refs that changed here or need a look; refs already equal are left out. */
  readonly refs: readonly FetchedRef[];
  readonly datasets: readonly PulledDataset[];
}

/**
 * Fetch, take the remote's refs in, then each dataset to its latest snapshot.
 * A dataset whose disk holds bytes no snapshot has is left as it is and named
 * (the pull then fails with `unsaved-data` after doing the rest).
 */
export async function pull(
  workspace: Workspace,
  remote: SyncRemote,
  options: SyncOptions = {},
): Promise<PullResult> {
  return namingRemote(remote, () => pullRecords(workspace, remote, options));
}

async function pullRecords(
  workspace: Workspace,
  remote: SyncRemote,
  options: SyncOptions = {},
): Promise<PullResult> {
  const transferred = await fetchInto(workspace, remote, options);
  if (options.signal?.aborted) throw new CancelledError('Pull');
  const refs = await takeInAll(workspace, trackingPrefix(remote.gitRemote));
  const datasets: PulledDataset[] = [];
  for (const name of workspace.manifest.datasets.keys()) {
    const head = await readSnapshotHead(workspace.git, `${DATASET_REFS}${name}`);
    if (!head) continue;
    try {
      const restored = await restoreDataset(workspace, name, head.id, {
        force: false,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      datasets.push({
        name,
        snapshot: head.id,
        action: restored.written + restored.removed === 0 ? 'unchanged' : 'restored',
        written: restored.written,
        removed: restored.removed,
        paths: [],
      });
    } catch (error) {
      if (!hasCode(error, 'unsaved-data')) throw error;
      const paths = (error.data['paths'] as string[] | undefined) ?? [];
      datasets.push({ name, snapshot: head.id, action: 'refused', written: 0, removed: 0, paths });
    }
  }
  return { ...transferred, refs, datasets };
}

/** Integrates every fetched ref into ours; returns those that changed or need a look. */
async function takeInAll(workspace: Workspace, tracking: string): Promise<FetchedRef[]> {
  const theirs = await workspace.git.listRefs(tracking.replace(/\/$/, ''));
  const ours = await workspace.git.listRefs(SLUICE_REFS.replace(/\/$/, ''));
  const refs: FetchedRef[] = [];
  for (const [trackingRef, remoteCommit] of theirs) {
    const ref = SLUICE_REFS + trackingRef.slice(tracking.length);
    const kind = refKind(ref);
    if (kind === undefined) continue;
    const taken = await takeIn(workspace, ref, kind, ours.get(ref), remoteCommit);
    if (taken) refs.push(taken);
  }

  return refs;
}

/** Integrates one fetched ref into ours by compare-and-swap; undefined when they were equal. */
async function takeIn(
  workspace: Workspace,
  ref: string,
  kind: RefKind,
  ours: string | undefined,
  theirs: string,
): Promise<FetchedRef | undefined> {
  const git = workspace.git;
  if (ours === theirs) return undefined;
  const result = (action: RefAction, to: string): FetchedRef => ({
    ref,
    kind,
    action,
    from: ours ?? null,
    to,
    remote: theirs,
  });
  if (ours === undefined) {
    await git.compareAndSwap(ref, theirs, undefined, ref);
    return result('created', theirs);
  }
  // Releases and experiments are immutable: the same id names the same record, whatever its commit.
  if (isImmutableKind(kind)) return undefined;
  if (await git.isAncestor(ours, theirs)) {
    await git.compareAndSwap(ref, theirs, ours, ref);
    return result('fast-forward', theirs);
  }
  if (await git.isAncestor(theirs, ours)) return result('ahead', ours);
  if (kind === 'dataset') return result('diverged', ours);
  // Both sides deployed: ours go after theirs, each as it was, so both histories stay whole.
  const base = await git.commitsSince(theirs, ours);
  let parent = theirs;
  for (const commit of base) {
    const { tree, message } = await git.commitContent(commit);
    parent = await git.commit(tree, parent, message);
  }
  await git.compareAndSwap(ref, parent, ours, ref);
  return result('replayed', parent);
}

/**
 * The blobs of what is current here after taking refs in: each dataset's
 * latest snapshot and each environment's live release, with the record
 * that needs each one (for messages).
 */
async function currentBlobs(
  workspace: Workspace,
  namespaces: readonly string[],
): Promise<Map<string, string>> {
  const wanted = new Map<string, string>();
  const slicer = new Slicer(undefined, 'Fetch');
  const under = async (kind: string): Promise<[string, string][]> => {
    const found: [string, string][] = [];
    for (const namespace of namespaces) {
      const prefix = namespace + kind.slice(SLUICE_REFS.length);
      for (const [ref] of await workspace.git.listRefs(prefix.replace(/\/$/, '')))
        found.push([ref, ref.slice(prefix.length)]);
    }
    return found;
  };
  for (const [ref, name] of await under(DATASET_REFS)) {
    const head = await readSnapshotHead(workspace.git, ref);
    if (!head) continue;
    const content = await RecordedContent.read(workspace.git, head.commit, slicer);
    const listings = await content.entries([...content.paths()]);
    const what = `dataset ${name}, snapshot ${shortId(head.id)}`;
    for (const entries of listings.values())
      for (const entry of entries)
        if (entry.type === 'file' && !wanted.has(entry.sha256)) wanted.set(entry.sha256, what);
  }
  const live: string[] = [];
  for (const [ref, name] of await under(ENVIRONMENT_REFS)) {
    const [head] = await readHistory(workspace.git, name, 1, ref);
    if (head) live.push(head.release);
  }
  // A live release's record is here or among the fetched refs.
  const known = new Map<string, string>();
  for (const namespace of namespaces) {
    const prefix = namespace + RELEASE_REFS.slice(SLUICE_REFS.length);
    for (const [ref] of await workspace.git.listRefs(prefix.replace(/\/$/, '')))
      if (!known.has(ref.slice(prefix.length))) known.set(ref.slice(prefix.length), prefix);
  }
  const records = await Promise.all(
    [...new Set(live)]
      .filter((id) => known.has(id))
      .map(async (id) => (await readReleases(workspace.git, [id], known.get(id)))[0]!),
  );
  for (const release of records) {
    for (const output of release.outputs)
      for (const entry of output.entries)
        if (entry.type === 'file' && !wanted.has(entry.sha256))
          wanted.set(entry.sha256, `release ${shortId(release.id)}, output ${output.path}`);
  }
  return wanted;
}

/**
 * The blobs of every experiment record's plot and metrics files (the files
 * the manifest declares as a stage's `plots:` or `metrics:`): small, and
 * what comparing and plotting experiments reads. Models and data are not.
 */
async function experimentComparables(
  workspace: Workspace,
  namespaces: readonly string[],
): Promise<Set<string>> {
  const plan = planWorkspace(workspace.manifest);
  const files = new Set(
    [...plan.pipelines.values()].flatMap((pipeline) =>
      pipeline.stages.flatMap((stage) => [...stage.metrics, ...stage.plots.map((plot) => plot.path)]),
    ),
  );
  const found = new Set<string>();
  if (files.size === 0) return found;
  for (const namespace of namespaces) {
    const prefix = namespace + EXPERIMENT_REFS.slice(SLUICE_REFS.length);
    const ids = [...(await workspace.git.listRefs(prefix.replace(/\/$/, ''))).keys()].map((ref) =>
      ref.slice(prefix.length),
    );
    for (const experiment of (await readExperiments(workspace.git, ids, prefix)).experiments)
      for (const output of experiment.outputs)
        for (const entry of output.entries) {
          const path = entry.path === '' ? output.path : `${output.path}/${entry.path}`;
          if (entry.type === 'file' && files.has(path)) found.add(entry.sha256);
        }
  }
  return found;
}

function runPath(folder: string, signature: string): string {
  return join(folder, signature.slice(0, 2), `${signature.slice(2)}.json`);
}

function existsRun(folder: string, signature: string): boolean {
  return existsSync(runPath(folder, signature));
}
