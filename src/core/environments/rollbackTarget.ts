// Which release a rollback goes back to: the choices an environment's history
// offers and the resolution of an id or prefix among them. One home for both
// faces: the CLI's `rollback --to ID` and the editor's pick resolve the same way
// and refuse with the same codes.
import { SluiceError } from '../errors';
import { shortId } from '../format';
import type { GitRepository } from '../git/repository';
import { readHistory, type RecordedDeployment } from './history';
import { listReleaseIds, resolveIdPrefix } from './releases';

export interface RollbackTarget {
  readonly environment: string;
  /** Newest first; the first is live. */
  readonly history: readonly RecordedDeployment[];
  readonly head: RecordedDeployment;
  /** The full id of the release to go back to. */
  readonly release: string;
}

/**
 * Every release that was live in `history` before the current one, each once
 * (its latest deployment), newest first: the first is the default target, the
 * release live before.
 */
export function rollbackChoices(history: readonly RecordedDeployment[]): RecordedDeployment[] {
  const head = history[0];
  if (head === undefined) return [];
  const seen = new Set([head.release]);
  return history.filter(
    (deployment) => !seen.has(deployment.release) && Boolean(seen.add(deployment.release)),
  );
}

/**
 * The release `name` goes back to: `to` (an id or a unique prefix of a release
 * once live there), or by default the one live before the current one.
 * Refusals carry a code: `nothing-to-roll-back`, `ambiguous-id` (the candidates
 * in its data), `not-found`, `release-never-live`, `already-live`.
 */
export async function resolveRollbackTarget(
  git: GitRepository,
  name: string,
  to: string | undefined,
): Promise<RollbackTarget> {
  const history = await readHistory(git, name);
  const head = history[0];
  if (head === undefined)
    throw new SluiceError(
      `Nothing was ever deployed to ${name}.`,
      'failed',
      'There is nothing to go back to.',
      {
        code: 'nothing-to-roll-back',
        data: { environment: name },
      },
    );
  const pick = `Pick one from \`sluice history ${name}\`.`;
  let release: string;
  if (to === undefined) {
    const before = rollbackChoices(history)[0];
    if (before === undefined)
      throw new SluiceError(
        `${name} has had only release ${shortId(head.release)}.`,
        'failed',
        'There is nothing to go back to.',
        { code: 'nothing-to-roll-back', data: { environment: name, release: head.release } },
      );
    release = before.release;
  } else {
    const inHistory = history.map((deployment) => deployment.release);
    if (inHistory.some((id) => id.startsWith(to))) release = resolveIdPrefix(to, inHistory, pick);
    else {
      // Not in this history: say whether the release exists at all (never live here) or not.
      const known = resolveIdPrefix(to, await listReleaseIds(git), pick);
      throw new SluiceError(`Release ${shortId(known)} was never live in ${name}.`, 'failed', pick, {
        code: 'release-never-live',
        data: { environment: name, release: known },
      });
    }
  }
  if (release === head.release)
    throw new SluiceError(
      `Release ${shortId(release)} is live in ${name} already.`,
      'failed',
      'Nothing to do.',
      {
        code: 'already-live',
        data: { environment: name, release },
      },
    );
  return { environment: name, history, head, release };
}
