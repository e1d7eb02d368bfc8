// `stage`: build a release from committed code and the datasets' latest
// snapshots, in a clean worktree under .sluice/tmp/, never in the developer's
// tree. The pipeline and its checks run there with the developer's object
// store and run cache (unchanged stages restore), but with their own state,
// logs and lock. The release is recorded whatever the outcome; the first
// environment receives it only when everything passed. The worktree goes
// away afterwards, also after a failure or a cancel.
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SluiceError } from '../errors';
import { openPipelines } from '../pipelines/context';
import { runPipelines, type RunEvents, type StageOutcome } from '../pipelines/runner';
import type { CachedOutput } from '../pipelines/outputs';
import { valueAt } from '../pipelines/values';
import { compareSnapshots, readSnapshot, requireDataset, type FileEntry } from '../snapshots/snapshots';
import { openWorkspace, type Workspace } from '../workspace';
import { deployRelease, type DeployResult } from './deploy';
import { Placer } from './placement';
import { readHead } from './history';
import { firstEnvironment } from './promotion';
import { releasePassed, writeRelease, type Release, type ReleaseCheck } from './releases';

export interface StageOptions {
  readonly pipeline?: string | undefined;
  readonly signal?: AbortSignal;
  readonly events?: RunEvents;
  /** Told of things the user should know (uncommitted changes left out). */
  readonly onWarning?: (text: string) => void;
  readonly onOutput?: (text: string) => void;
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
  const code = await workspace.git.headCommit();
  const uncommitted = (await workspace.git.uncommittedPaths()).filter((path) => !path.startsWith('.sluice/'));
  if (uncommitted.length > 0) {
    options.onWarning?.(
      `${uncommitted.length} uncommitted change(s) (${uncommitted.slice(0, 3).join(', ')}${uncommitted.length > 3 ? ', …' : ''}) are not in the release: it is built from commit ${code.slice(0, 12)}.`,
    );
  }
  const head = await readHead(workspace.git, environment);
  const snapshots: Record<string, string> = {};
  for (const name of workspace.manifest.datasets.keys()) {
    requireDataset(workspace, name);
    snapshots[name] = (await readSnapshot(workspace, name, 'latest')).id;
  }

  const prefix = await workspace.git.prefix();
  const worktree = join(workspace.store.scratchFolder(), `stage-${randomBytes(6).toString('hex')}`);
  let built: Omit<StageResult, 'deployment' | 'passed' | 'release' | 'environment'> & {
    outputs: CachedOutput[];
    params: Record<string, unknown>;
    metrics: Release['metrics'];
    checks: ReleaseCheck[];
    failures: string[];
  };
  try {
    await workspace.git.addWorktree(worktree, code);
    const opened = await openWorkspace(join(worktree, prefix));
    // The worktree's own .sluice/ keeps state, logs and lock; blobs come from and go to the developer's store.
    const clean: Workspace = { ...opened, store: workspace.store };
    // Datasets come from the cache as read-only files: reflinks, else hard
    // links, else copies (probed once). Nothing is read back or re-hashed.
    const placer = new Placer(workspace.store);
    for (const [name, id] of Object.entries(snapshots)) {
      const snapshot = await readSnapshot(workspace, name, id);
      const { added: entries } = await compareSnapshots(
        workspace,
        undefined,
        snapshot,
        options.signal ? { signal: options.signal } : {},
      );
      placeDataset(join(clean.root, requireDataset(clean, name).path.value), entries, placer);
    }
    const context = openPipelines(clean, { runCacheDir: join(workspace.sluiceDir, 'runs') });
    const report = await runPipelines(context, {
      targets: [pipeline],
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
    const failures = report.stages
      .filter((stage) => stage.result === 'failed' || stage.result === 'not-run')
      .map((stage) => `${stage.pipeline}.${stage.stage}: ${stage.reason ?? stage.result}`);
    built = {
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
    };
  } finally {
    await workspace.git.removeWorktree(worktree);
  }
  if (built.cancelled) throw new SluiceError('Staging cancelled; no release was recorded.', 'failed');
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
  const deployment = passed
    ? await deployRelease(workspace, environment, release, {
        action: 'stage',
        expected: head,
        reason: null,
        signal: options.signal,
        onOutput: options.onOutput,
      })
    : undefined;
  return { release, passed, environment, deployment, stages: built.stages, cancelled: false };
}

/**
 * Writes a snapshot's entries at `base` (the dataset's path: a folder, or the
 * file itself for the entry ''), replacing whatever the checkout put there.
 * Files are read-only: a stage that writes into a dataset fails loudly
 * instead of changing the release's data.
 */
function placeDataset(base: string, entries: readonly FileEntry[], placer: Placer): void {
  rmSync(base, { recursive: true, force: true });
  mkdirSync(entries.some((entry) => entry.path === '') ? dirname(base) : base, { recursive: true });
  // Parents before children.
  for (const entry of [...entries].sort((a, b) => a.path.length - b.path.length)) {
    const target = entry.path === '' ? base : join(base, entry.path);
    mkdirSync(dirname(target), { recursive: true });
    if (entry.type === 'dir') mkdirSync(target, { recursive: true, mode: entry.mode | 0o700 });
    else if (entry.type === 'link') symlinkSync(entry.target, target);
    else placer.place(entry.sha256, target, entry.mode);
  }
}
