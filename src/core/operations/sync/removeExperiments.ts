// `sluice exp remove`: experiments leave this repository, and with a remote
// named, the team's git remote as well. Records are refs, like git tags: one
// removed here alone comes back with the next pull from a remote that still
// has it. Removing from the remote first (one atomic push of deletions, each
// leased on the commit the remote holds) and only then here keeps the two
// sides agreeing whatever fails: a refused or failed push removes nothing.
import { SluiceError } from '../../errors';
import { SLUICE_REFS } from './refNames';
import { namingRemote, requireGitRemote, trackingPrefix, type SyncRemote } from './remoteTarget';
import type { Workspace } from '../../workspace';
import {
  deleteExperimentRefs,
  experimentRef,
  findExperiment,
  readAllExperiments,
} from '../../experiments/records';

export interface RemovedExperiments {
  /** The ids removed from this repository. */
  readonly removed: string[];
  /** With a remote: the ids its git remote held and no longer holds. */
  readonly remote: { readonly name: string; readonly gitRemote: string; readonly removed: string[] } | null;
}

export async function removeExperimentRecords(
  workspace: Workspace,
  texts: readonly string[],
  remote?: SyncRemote,
): Promise<RemovedExperiments> {
  const experiments = await readAllExperiments(workspace.git);
  // Every name resolves before anything is removed: one unknown name removes nothing.
  const ids = [...new Set(texts.map((text) => findExperiment(experiments, text).id))];
  let fromRemote: RemovedExperiments['remote'] = null;
  if (remote) fromRemote = await namingRemote(remote, () => removeOnRemote(workspace, remote, ids));
  return { removed: await deleteExperimentRefs(workspace.git, ids), remote: fromRemote };
}

async function removeOnRemote(
  workspace: Workspace,
  remote: SyncRemote,
  ids: readonly string[],
): Promise<NonNullable<RemovedExperiments['remote']>> {
  await requireGitRemote(workspace, remote);
  const there = await workspace.git.remoteRefs(remote.gitRemote, `${SLUICE_REFS}experiments/*`);
  const deletions = ids
    .map((id) => ({ id, ref: experimentRef(id) }))
    .filter(({ ref }) => there.has(ref))
    .map(({ id, ref }) => ({ id, ref, commit: null, expected: there.get(ref) }));
  try {
    await workspace.git.pushRefs(remote.gitRemote, deletions);
  } catch (error) {
    // A record is immutable: a lease can only fail because a teammate removed it first.
    const now = await workspace.git
      .remoteRefs(remote.gitRemote, `${SLUICE_REFS}experiments/*`)
      .catch(() => undefined);
    if (now === undefined || deletions.some(({ ref }) => now.has(ref))) throw error;
  }
  // The remote's refs as this repository last saw them: a removed record is not "behind" any more.
  const tracking = trackingPrefix(remote.gitRemote);
  const tracked = await workspace.git.listRefs(`${tracking}experiments/`);
  for (const { ref } of deletions) {
    const mirror = tracking + ref.slice(SLUICE_REFS.length);
    const at = tracked.get(mirror);
    if (at === undefined) continue;
    try {
      await workspace.git.deleteRef(mirror, at);
    } catch (error) {
      if (!(error instanceof SluiceError) || error.kind !== 'conflict') throw error;
    }
  }
  return { name: remote.name, gitRemote: remote.gitRemote, removed: deletions.map(({ id }) => id) };
}
