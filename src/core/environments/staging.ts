// `stage`: build a release from committed code and the datasets' latest
// snapshots, in a clean worktree under .sluice/tmp/, never in the developer's
// tree. The pipeline and its checks run there with the developer's object
// store and run cache (unchanged stages restore), but with their own state,
// logs and lock. The release is recorded whatever the outcome; the first
// environment receives it only when everything passed. The worktree goes
// away afterwards, also after a failure or a cancel.
import type { ExecutorName } from '../pipelines/plan';
import { existsSync, realpathSync } from 'node:fs';
import { basename, relative, sep, isAbsolute } from 'node:path';
import { CancelledError, SluiceError } from '../errors';
import { shortId } from '../format';
import { openPipelines } from '../pipelines/context';
import { runPipelines, type RunEvents, type StageOutcome } from '../pipelines/runner';
import type { CachedOutput } from '../pipelines/outputs';
import { valueAt } from '../pipelines/values';
import { readSnapshot, requireDataset } from '../snapshots/snapshots';
import type { Workspace } from '../workspace';
import { gatherRun, writeRunRecord } from '../experiments/recording';
import { withIsolatedCopy } from './isolatedCopy';
import { deployRelease, repairEnvironments, type DeployResult } from './deploy';

export { WORKTREE_PREFIX } from './materialize';
import { readHead } from './history';
import { firstEnvironment } from './promotion';
import { releasePassed, writeRelease, type Release } from './releases';
import { processAlive } from '../process/alive';

export interface StageOptions {
  readonly pipeline?: string | undefined;
  readonly signal?: AbortSignal;
  readonly events?: RunEvents;
  /** Told of things the user should know (uncommitted changes left out). */
  readonly onWarning?: (text: string) => void;
  readonly onOutput?: (text: string) => void;
  /** Why, in the user's words (`-m`): kept in the environment's history. */
  readonly reason?: string | undefined;
  /** Build from this commit instead of HEAD (an experiment's). */
  readonly code?: string | undefined;
  /** Dataset → snapshot id to build from instead of the latest (an experiment's). */
  readonly snapshots?: Readonly<Record<string, string>> | undefined;
  /** Params for this release only (an experiment's `--set`), checked already. */
  readonly overrides?: Readonly<Record<string, unknown>> | undefined;
  /** Where the stages run (`--executor`); default: the environment's `executor`, else the manifest's. */
  readonly executor?: ExecutorName | undefined;
}

export interface StageResult {
  readonly release: Release;
  readonly passed: boolean;
  readonly environment: string;
  /** Set when the release was deployed to the first environment. */
  readonly deployment: DeployResult | undefined;
  readonly stages: readonly StageOutcome[];
  readonly cancelled: boolean;
}

function choosePipeline(workspace: Workspace, environment: string, asked: string | undefined): string {
  const name = asked ?? workspace.manifest.environments.get(environment)?.pipeline?.value;
  const pipelines = [...workspace.manifest.pipelines.keys()];
  if (name === undefined) {
    if (pipelines.length === 1) return pipelines[0]!;
    throw new SluiceError(
      'Stage which pipeline?',
      'usage',
      `Name one: ${pipelines.join(', ') || '(none declared)'}.`,
    );
  }
  if (!workspace.manifest.pipelines.has(name))
    throw new SluiceError(
      `No pipeline named '${name}'.`,
      'usage',
      `Pipelines: ${pipelines.join(', ') || '(none)'}.`,
    );
  return name;
}

export async function stageRelease(workspace: Workspace, options: StageOptions = {}): Promise<StageResult> {
  const environment = firstEnvironment(workspace);
  const pipeline = choosePipeline(workspace, environment, options.pipeline);
  // What earlier stages left: worktrees of stages killed before they could remove theirs.
  await removeLeftoverWorktrees(workspace);
  for (const failed of (await repairEnvironments(workspace, [environment])).failed)
    options.onWarning?.(`${failed.environment}: current cannot be repaired: ${failed.message}`);
  const code = options.code ?? (await workspace.git.headCommit());
  const uncommitted =
    options.code === undefined
      ? (await workspace.git.uncommittedPaths()).filter((path) => !path.startsWith('.sluice/'))
      : [];
  if (uncommitted.length > 0) {
    options.onWarning?.(
      `${uncommitted.length} uncommitted change(s) (${uncommitted.slice(0, 3).join(', ')}${uncommitted.length > 3 ? ', …' : ''}) are not in the release: it is built from commit ${shortId(code)}.`,
    );
  }
  const head = await readHead(workspace.git, environment);
  const snapshots: Record<string, string> = {};
  for (const name of workspace.manifest.datasets.keys()) {
    requireDataset(workspace, name);
    snapshots[name] = options.snapshots?.[name] ?? (await readSnapshot(workspace, name, 'latest')).id;
  }

  const built = await withIsolatedCopy(workspace, code, snapshots, options, async (copy) => {
    const context = openPipelines(copy.workspace, {
      runCacheDir: copy.runCacheDir,
      ...(options.overrides ? { overrides: options.overrides } : {}),
    });
    // Releases are built where the environment says (a cluster), development runs where the stages say.
    const declared = workspace.manifest.environments.get(environment)?.executor?.value;
    const executor =
      options.executor ?? (declared === 'slurm' || declared === 'local' ? declared : undefined);
    const report = await runPipelines(context, {
      targets: [pipeline],
      ...(executor ? { executor } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.events ? { events: options.events } : {}),
    });
    const plan = context.plan.pipelines.get(pipeline)!;
    const outputs: CachedOutput[] = [];
    const params: Record<string, unknown> = {};
    for (const stage of plan.stages) {
      const signature = context.state.lastSuccess(stage.id)?.signature;
      const cached = signature === undefined ? undefined : context.runCache.read(signature);
      if (cached) outputs.push(...cached.outs);
      for (const key of stage.params) params[key] = valueAt(context.params(), key) ?? null;
    }
    // `cache: false` outputs are never stored, so a release cannot carry them: say so rather than deploy less.
    const unstored = plan.stages.flatMap((stage) => stage.uncached.map((path) => `${path} (${stage.id})`));
    const failures = report.stages
      .filter((stage) => stage.result === 'failed' || stage.result === 'not-run')
      .map((stage) => `${stage.pipeline}.${stage.stage}: ${stage.reason ?? stage.result}`);
    return {
      // Gathered now: the copy's state and params go with it.
      parts: gatherRun(context, report),
      stages: report.stages,
      cancelled: report.cancelled,
      outputs,
      params,
      metrics: report.metrics,
      checks: report.checks.map((check) => ({
        name: check.name,
        outcome: check.outcome,
        detail: check.detail,
      })),
      failures,
      unstored,
    };
  });
  if (built.unstored.length > 0) {
    options.onWarning?.(
      `${built.unstored.join(', ')}: \`cache: false\` output${built.unstored.length > 1 ? 's are' : ' is'} not stored, so the release does not carry ${built.unstored.length > 1 ? 'them' : 'it'}.`,
    );
  }
  if (built.cancelled)
    throw new CancelledError('Staging', { message: 'Staging cancelled; no release was recorded.' });
  const release = await writeRelease(workspace.git, {
    format: 'sluice-release 1',
    pipeline,
    code,
    snapshots,
    outputs: built.outputs,
    params: built.params,
    metrics: built.metrics,
    checks: built.checks,
    failures: built.failures,
    time: new Date().toISOString(),
    actor: await workspace.git.actor(),
  });
  const passed = releasePassed(release);
  await writeRunRecord(built.parts, {
    origin: 'release',
    ...(options.overrides ? { overrides: options.overrides } : {}),
    home: workspace,
    release: release.id,
    code: { commit: code, dirty: false, changes: null },
    snapshots,
  });
  const deployment = passed
    ? await deployRelease(workspace, environment, release, {
        action: 'stage',
        expected: head,
        reason: options.reason ?? null,
        signal: options.signal,
        onOutput: options.onOutput,
      })
    : undefined;
  return { release, passed, environment, deployment, stages: built.stages, cancelled: false };
}

const OWNED_WORKTREE = /^sluice-wt-(\d+)-[0-9a-f]+$/;
/** Names of the first format (`stage-<random>`, no pid): their owner is an older Sluice, long gone. */
const OLD_WORKTREE = /^stage-[0-9a-f]{12}$/;

/** A registered git worktree under .sluice/tmp/ whose owner is gone. */
export interface LeftoverWorktree {
  /** The absolute path git has registered. */
  readonly path: string;
  /** The process that made it (null: a name of the first format, which carries none). */
  readonly pid: number | null;
  /** False when git still lists it but its folder is gone already. */
  readonly exists: boolean;
}

function realOrSame(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * Registered git worktrees under the workspace's .sluice/tmp/ left by a
 * `stage` (or a promotion's checks gate) that was killed: their owner pid is
 * not running. A running stage's worktree is never listed. Reads only (for
 * fsck); returns them in git's order.
 */
export async function findLeftoverWorktrees(workspace: Workspace): Promise<LeftoverWorktree[]> {
  const scratch = realOrSame(workspace.store.scratch);
  const found: LeftoverWorktree[] = [];
  for (const path of await workspace.git.listWorktrees()) {
    const real = realOrSame(path);
    const inside = relative(scratch, real);
    if (inside === '' || inside.startsWith(`..${sep}`) || inside === '..' || isAbsolute(inside)) continue;
    if (inside.includes(sep)) continue; // only Sluice's own, directly under tmp/
    const name = basename(real);
    const match = OWNED_WORKTREE.exec(name);
    let pid: number | null;
    if (match) {
      pid = Number(match[1]);
      if (processAlive(pid)) continue;
    } else if (OLD_WORKTREE.test(name)) pid = null;
    else continue;
    found.push({ path, pid, exists: existsSync(path) });
  }
  return found;
}

/**
 * Removes what findLeftoverWorktrees finds (the folder and git's registration
 * of it) and returns what it removed. Never touches a running stage's.
 */
export async function removeLeftoverWorktrees(workspace: Workspace): Promise<LeftoverWorktree[]> {
  const leftovers = await findLeftoverWorktrees(workspace);
  for (const leftover of leftovers) await workspace.git.removeWorktree(leftover.path);
  return leftovers;
}
