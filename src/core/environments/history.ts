// Environment histories: one commit chain per environment under
// refs/sluice/environments/<name>, one commit per deployment, never rewritten.
// Each commit's message carries the deployment as a JSON trailer, so reading a
// history is one `git log`; its tree holds the same JSON as a file.
import { SluiceError } from '../errors';
import { shortId } from '../format';
import { FILE_MODE, type GitRepository } from '../git/repository';

export const ENVIRONMENT_REFS = 'refs/sluice/environments/';
const TRAILER = 'Sluice-Deployment: ';

export type DeploymentAction = 'stage' | 'promote' | 'rollback' | 'auto-rollback';

export interface Deployment {
  readonly release: string;
  readonly action: DeploymentAction;
  readonly time: string;
  readonly actor: string;
  readonly reason: string | null;
}

/** A deployment with the commit that records it. */
export interface RecordedDeployment extends Deployment {
  readonly commit: string;
}

export function environmentRef(name: string): string {
  return `${ENVIRONMENT_REFS}${name}`;
}

export function parseDeployment(name: string, commit: string, message: string): RecordedDeployment {
  const line = message.split('\n').find((candidate) => candidate.startsWith(TRAILER));
  let deployment: Partial<Deployment> | undefined;
  try {
    if (line !== undefined) deployment = JSON.parse(line.slice(TRAILER.length)) as Partial<Deployment>;
  } catch {
    deployment = undefined;
  }
  // A history is read to decide what is live: a commit that is not a whole deployment record is
  // damage (code damaged-ref, as fsck reports it), never a deployment with holes.
  if (typeof deployment?.release !== 'string' || typeof deployment.action !== 'string') {
    throw new SluiceError(
      `The history of environment ${name} is damaged: commit ${shortId(commit)} is not a deployment record.`,
      'failed',
      'Run `sluice fsck` to see every damaged ref.',
      { code: 'damaged-ref', data: { ref: environmentRef(name), commit } },
    );
  }
  return { commit, ...(deployment as Deployment) };
}

/** Deployments, newest first. */
export async function readHistory(
  git: GitRepository,
  name: string,
  limit?: number,
  /** Another ref holding the same kind of history (a remote's, as fetched). */
  ref = environmentRef(name),
): Promise<RecordedDeployment[]> {
  const commits = await git.history(ref, limit);
  return commits.map((commit) => parseDeployment(name, commit.id, commit.message));
}

/** The deployment live now (the newest), with the commit the history's ref points at. */
export async function readHead(git: GitRepository, name: string): Promise<RecordedDeployment | undefined> {
  return (await readHistory(git, name, 1))[0];
}

/**
 * Appends a deployment on top of `expected` (the commit the caller read; none
 * for a first deployment) by compare-and-swap. A writer that lost a race gets
 * a conflict error and nothing is written.
 */
export async function appendDeployment(
  git: GitRepository,
  name: string,
  deployment: Deployment,
  expected: string | undefined,
): Promise<string> {
  const json = JSON.stringify(deployment);
  const [blob] = await git.writeBlobs([`${json}\n`]);
  const [tree] = await git.writeTrees([new Map([['deployment.json', [FILE_MODE, blob!] as const]])]);
  const message = `${deployment.action} ${shortId(deployment.release)} to ${name}\n\n${TRAILER}${json}`;
  const commit = await git.commit(tree!, expected, message);
  try {
    await git.compareAndSwap(environmentRef(name), commit, expected, `Environment ${name}`);
  } catch (error) {
    if (error instanceof SluiceError && error.kind === 'conflict') {
      throw new SluiceError(
        `Environment ${name} moved under you: another ${deployment.action === 'stage' ? 'stage' : 'promotion or rollback'} changed it first; environment moved, retry.`,
        'conflict',
        'Run the command again.',
        { code: 'environment-moved', data: { environment: name } },
      );
    }
    throw error;
  }
  return commit;
}
