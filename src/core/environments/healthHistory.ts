// Health histories: what `sluice monitor` found, one commit chain per
// environment under refs/sluice/health/<name>, beside its deployments. One
// commit per monitor run, never rewritten; each commit's message carries the
// record as a JSON trailer (its tree is empty), so the last N records are one
// `git log -n N` however long the chain is.
import { SluiceError } from '../errors';
import { shortId } from '../format';
import type { GitRepository } from '../git/repository';
import type { CheckOutcome } from './releases';

export const HEALTH_REFS = 'refs/sluice/health/';
const TRAILER = 'Sluice-Health: ';
/**
 * The line that says a record's commit is over the empty tree. A history
 * whose newest record says so holds the empty tree (reachable from its ref,
 * so fetched and pushed with it), and the next record needs no `git mktree`.
 */
const OVER_EMPTY_TREE = 'Sluice-Tree: empty';

/** git's empty tree, by the length of the repository's object ids (SHA-1, SHA-256). */
const EMPTY_TREES: Readonly<Record<number, string>> = {
  40: '4b825dc642cb6eb9a060e54bf8d69288fbee4904',
  64: '6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321',
};

/**
 * What the monitor did after a run: `none`; `alert` (failures reached `after`
 * with `on_failure: alert`, or a rollback was not for the monitor to do);
 * `rollback` (it rolled back); `moved` (an action was due, but the live release
 * changed while the checks ran: the outcome is the checked release's, and
 * nothing was done; when no action was due, whether it moved is not asked).
 */
export type HealthAction = 'none' | 'alert' | 'rollback' | 'moved';

export interface HealthCheckResult {
  readonly name: string;
  readonly outcome: CheckOutcome;
  /** What was measured or why it did not pass, in words. */
  readonly detail: string;
  /** The metric's value for a metric check (null: a command, or no value read). */
  readonly value: number | null;
  readonly durationMs: number;
}

export interface HealthRecord {
  readonly time: string;
  /** The release checked. */
  readonly release: string;
  /** The deployment (commit of the environment's history) that was live when the checks started. */
  readonly deployment: string;
  /** `fail` when a check failed; `inconclusive` when none failed but one could not decide. */
  readonly outcome: CheckOutcome;
  readonly checks: readonly HealthCheckResult[];
  /** Consecutive failed runs of this release, this one included (0 when it did not fail). */
  readonly failures: number;
  readonly action: HealthAction;
  /** The release the monitor rolled back to (null: none). */
  readonly rolledBackTo: string | null;
  /** Why the action was taken or not, in words (null: nothing to say). */
  readonly reason: string | null;
}

export interface RecordedHealth extends HealthRecord {
  readonly commit: string;
  /** Whether its commit says it is over the empty tree (records written before that do not). */
  readonly overEmptyTree?: boolean;
}

export function healthRef(name: string): string {
  return `${HEALTH_REFS}${name}`;
}

function parseHealth(name: string, commit: string, message: string): RecordedHealth {
  const line = message.split('\n').find((candidate) => candidate.startsWith(TRAILER));
  let record: Partial<HealthRecord> | undefined;
  try {
    if (line !== undefined) record = JSON.parse(line.slice(TRAILER.length)) as Partial<HealthRecord>;
  } catch {
    record = undefined;
  }
  if (
    typeof record?.release !== 'string' ||
    typeof record.outcome !== 'string' ||
    !Array.isArray(record.checks)
  )
    throw new SluiceError(
      `The health history of environment ${name} is damaged: commit ${shortId(commit)} is not a health record.`,
      'failed',
      'Run `sluice fsck` to see every damaged ref.',
      { code: 'damaged-ref', data: { ref: healthRef(name), commit } },
    );
  return {
    commit,
    ...(record as HealthRecord),
    ...(message.split('\n').includes(OVER_EMPTY_TREE) ? { overEmptyTree: true } : {}),
  };
}

const emptyTrees = new WeakMap<GitRepository, Promise<string>>();

/**
 * The tree of every record's commit: empty, the record being the commit's
 * trailer. A monitor appends one record per run, so writing a blob and a tree
 * each time (two git processes) would be most of what a run costs beyond its
 * checks; the empty tree is written once per process, and not at all when the
 * newest record (`newest`) says its commit is over it: the tree is then in the
 * repository, and its id is git's.
 */
export function emptyTree(git: GitRepository, newest?: RecordedHealth): Promise<string> {
  let tree = emptyTrees.get(git);
  const known = newest?.overEmptyTree === true ? EMPTY_TREES[newest.commit.length] : undefined;
  if (tree === undefined && known !== undefined) {
    tree = Promise.resolve(known);
    emptyTrees.set(git, tree);
  }
  if (tree === undefined) {
    tree = git.writeTrees([new Map()]).then(([id]) => id!);
    emptyTrees.set(git, tree);
  }
  return tree;
}

/** Health records, newest first; at most `limit` of them, read without reading the rest. */
export async function readHealth(
  git: GitRepository,
  name: string,
  limit?: number,
): Promise<RecordedHealth[]> {
  const commits = await git.history(healthRef(name), limit);
  return commits.map((commit) => parseHealth(name, commit.id, commit.message));
}

/**
 * Appends a record by compare-and-swap on top of the head read just before.
 * Records are observations in time order, so one that lost a race (a monitor
 * and a `monitor --once` of another clone's process) goes on top of the winner.
 */
export async function appendHealth(
  git: GitRepository,
  name: string,
  record: HealthRecord,
  /** The newest record the caller read (undefined: none, or read it here); a wrong guess costs one retry. */
  newest?: RecordedHealth,
): Promise<string> {
  const head = newest?.commit;
  const json = JSON.stringify(record);
  const tree = await emptyTree(git, newest);
  const message = `health ${record.outcome} ${shortId(record.release)} in ${name}\n\n${TRAILER}${json}\n${OVER_EMPTY_TREE}`;
  for (let attempt = 0; ; attempt++) {
    const expected = attempt === 0 && head !== undefined ? head : await git.resolveRef(healthRef(name));
    const commit = await git.commit(tree, expected, message);
    try {
      await git.compareAndSwap(healthRef(name), commit, expected, `Health of ${name}`);
      return commit;
    } catch (error) {
      if (!(error instanceof SluiceError && error.kind === 'conflict') || attempt >= 4) throw error;
    }
  }
}
