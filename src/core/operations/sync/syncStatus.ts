// Where this machine stands against a remote, as of the last fetch: for each
// dataset and environment, how many snapshots or deployments are here and
// not there (ahead) and there and not here (behind). Read from the refs the
// last fetch kept, so asking costs no network call; the views show it on
// every refresh.
import type { Workspace } from '../../workspace';
import { refKind, refName, SLUICE_REFS, type RefKind } from './refNames';
import { trackingPrefix } from './remoteTarget';

export interface RefSyncState {
  readonly kind: Exclude<RefKind, 'release' | 'experiment' | 'health'>;
  readonly name: string;
  /** Commits here that the remote lacks (snapshots or deployments to push). */
  readonly ahead: number;
  /** Commits on the remote not here yet (to pull). */
  readonly behind: number;
}

export interface SyncStatus {
  readonly gitRemote: string;
  /** Whether anything was ever fetched from (or pushed to) this git remote. */
  readonly known: boolean;
  /** Datasets and environments that differ; those in step are left out. */
  readonly refs: readonly RefSyncState[];
  /** Releases here that the remote lacks, and there that are not here. */
  readonly releases: { readonly ahead: number; readonly behind: number };
  /** Experiment records here that the remote lacks, and there that are not here. */
  readonly experiments: { readonly ahead: number; readonly behind: number };
}

export async function syncStatus(workspace: Workspace, gitRemote: string): Promise<SyncStatus> {
  const tracking = trackingPrefix(gitRemote);
  const ours = await workspace.git.listRefs(SLUICE_REFS.replace(/\/$/, ''));
  const theirs = new Map(
    [...(await workspace.git.listRefs(tracking.replace(/\/$/, '')))].map(([ref, commit]) => [
      SLUICE_REFS + ref.slice(tracking.length),
      commit,
    ]),
  );
  const refs: RefSyncState[] = [];
  const releases = { ahead: 0, behind: 0 };
  const experiments = { ahead: 0, behind: 0 };
  for (const ref of new Set([...ours.keys(), ...theirs.keys()])) {
    const kind = refKind(ref);
    // A monitor's runs (one every few seconds) are no snapshots or deployments to count.
    if (kind === undefined || kind === 'health') continue;
    const here = ours.get(ref);
    const there = theirs.get(ref);
    if (here === there) continue;
    if (kind === 'release' || kind === 'experiment') {
      const counts = kind === 'release' ? releases : experiments;
      if (there === undefined) counts.ahead++;
      else if (here === undefined) counts.behind++;
      continue;
    }
    const counts =
      here === undefined
        ? { ahead: 0, behind: (await workspace.git.commitsSince(undefined, there!)).length }
        : there === undefined
          ? { ahead: (await workspace.git.commitsSince(undefined, here)).length, behind: 0 }
          : await workspace.git.aheadBehind(here, there);
    refs.push({ kind, name: refName(ref), ...counts });
  }
  return { gitRemote, known: theirs.size > 0, refs, releases, experiments };
}
