// `sluice exp run`: one run per combination of the values given (a grid),
// each in an isolated copy of the committed code and the latest snapshots,
// like `stage`, `jobs` at a time. Every copy shares the developer's object
// store and run cache, and the runs share what is in flight: a stage the
// params do not reach runs once and the other runs restore it. The queue's
// progress is kept in .sluice/state/ for every window to see; a cancel stops
// the running copies and leaves the rest unrun.
import { CancelledError, SluiceError } from '../errors';
import { writeQueue } from './queueFile';
import { prefixLines, shortId } from '../format';
import { removeLeftoverWorktrees } from '../environments/staging';
import { withIsolatedCopy } from '../environments/isolatedCopy';
import { openPipelines } from '../pipelines/context';
import { planWorkspace, type ExecutorName } from '../pipelines/plan';
import { runPipelines, SharedStageRuns, type StageOutcome } from '../pipelines/runner';
import { readValues } from '../pipelines/values';
import { readSnapshot, requireDataset } from '../snapshots/snapshots';
import type { Workspace } from '../workspace';
import { checkSettings, combinations, parseSettings } from '../pipelines/paramOverrides';
import { readAllExperiments, type Experiment } from './records';
import { gatherRun, writeRunRecord } from './recording';
import { baselineAtCommit } from './show';
import type { QueuedExperiment } from './table';

export interface ExperimentQueueOptions {
  /** `KEY=V1,V2` settings; none queues one run with the params as they are. */
  readonly set: readonly string[];
  /** Combinations at once (default 1). */
  readonly jobs?: number | undefined;
  /** The records' name; with several combinations, `NAME-1`, `NAME-2`, … */
  readonly name?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: (queue: readonly QueuedExperiment[]) => void;
  readonly onOutput?: (name: string, text: string) => void;
  /** Told of things the user should know (uncommitted changes left out). */
  readonly onWarning?: (text: string) => void;
  /** Where every stage runs (`--executor`), whatever the manifest says. */
  readonly executor?: ExecutorName | undefined;
}

export interface ExperimentQueueResult {
  readonly experiments: readonly Experiment[];
  readonly queue: readonly QueuedExperiment[];
  readonly cancelled: boolean;
}

/** The combinations a set of `--set` values makes, checked against the params file (nothing runs). */
export function planGrid(workspace: Workspace, set: readonly string[]): Record<string, unknown>[] {
  const plan = planWorkspace(workspace.manifest);
  const settings = checkSettings(
    parseSettings(set, { grid: true }),
    plan.paramsFile === undefined ? undefined : readValues(workspace.root, plan.paramsFile),
    plan.paramsFile,
  );
  return combinations(settings);
}

export async function runExperiments(
  workspace: Workspace,
  options: ExperimentQueueOptions,
): Promise<ExperimentQueueResult> {
  const grid = planGrid(workspace, options.set);
  const jobs = options.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1)
    throw new SluiceError(`-j needs a whole number of at least 1, not '${String(jobs)}'.`, 'usage');
  if (workspace.manifest.pipelines.size === 0)
    throw new SluiceError(
      'The manifest declares no pipeline to run.',
      'usage',
      'Add one under `pipelines:`.',
    );
  await removeLeftoverWorktrees(workspace);
  const code = await workspace.git.headCommit();
  const uncommitted = (await workspace.git.uncommittedPaths()).filter((path) => !path.startsWith('.sluice/'));
  if (uncommitted.length > 0)
    options.onWarning?.(
      `${uncommitted.length} uncommitted change(s) are not in the experiments: they run commit ${shortId(code)}.`,
    );
  const snapshots: Record<string, string> = {};
  for (const name of workspace.manifest.datasets.keys()) {
    requireDataset(workspace, name);
    snapshots[name] = (await readSnapshot(workspace, name, 'latest')).id;
  }
  const from = baselineAtCommit(await readAllExperiments(workspace.git), code)?.id ?? null;

  const names = grid.map((_, index) =>
    options.name === undefined
      ? undefined
      : grid.length === 1
        ? options.name
        : `${options.name}-${String(index + 1)}`,
  );
  const queue: QueuedExperiment[] = grid.map((overrides, index) => ({
    name: names[index] ?? `#${String(index + 1)}`,
    overrides,
    status: 'queued',
    id: null,
  }));
  const publish = (): void => {
    writeQueue(workspace, queue);
    options.onProgress?.(queue);
  };
  const update = (index: number, change: Partial<QueuedExperiment>): void => {
    queue[index] = { ...queue[index]!, ...change };
    publish();
  };
  publish();

  const shared = new SharedStageRuns();
  const experiments: (Experiment | undefined)[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < grid.length && options.signal?.aborted !== true) {
      const index = next++;
      update(index, { status: 'running' });
      const overrides = grid[index]!;
      const parts = await withIsolatedCopy(workspace, code, snapshots, options, async (copy) => {
        const context = openPipelines(copy.workspace, { runCacheDir: copy.runCacheDir, overrides });
        const report = await runPipelines(context, {
          shared,
          ...(options.signal ? { signal: options.signal } : {}),
          ...(options.executor ? { executor: options.executor } : {}),
          events: {
            stageOutput: (stage, text) =>
              options.onOutput?.(queue[index]!.name, prefixLines(`${stage.id} │ `, text)),
          },
        });
        return { report, parts: gatherRun(context, report) };
      });
      if (parts.report.cancelled) {
        update(index, { status: 'cancelled' });
        continue;
      }
      const experiment = await writeRunRecord(parts.parts, {
        origin: 'queue',
        home: workspace,
        overrides,
        name: names[index],
        code: { commit: code, dirty: false, changes: null },
        snapshots,
        from,
      });
      experiments[index] = experiment;
      update(index, {
        name: experiment.name,
        id: experiment.id,
        status: succeeded(parts.report.stages) ? 'done' : 'failed',
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, grid.length) }, worker));
  const cancelled = options.signal?.aborted === true;
  if (cancelled) {
    for (const [index, entry] of queue.entries())
      if (entry.status === 'queued') update(index, { status: 'cancelled' });
  }
  const recorded = experiments.filter((experiment): experiment is Experiment => experiment !== undefined);
  if (cancelled && recorded.length === 0)
    throw new CancelledError('The experiment queue', {
      message: 'The experiment queue was cancelled; nothing was recorded.',
    });
  return { experiments: recorded, queue, cancelled };
}

function succeeded(stages: readonly StageOutcome[]): boolean {
  return stages.every((stage) => stage.result !== 'failed' && stage.result !== 'not-run');
}
