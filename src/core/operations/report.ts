// `sluice report`: what a CI job (or a teammate) wants to know after a run,
// read from the records alone. Which stages ran, were restored or were up to
// date in the last run; each check's outcome on the outputs on disk; the
// metrics files against what is live in an environment; and each dataset's
// latest snapshot against the one that release used, with the datasets whose
// disk differs from their latest snapshot. It never runs a stage and records
// nothing: `reportJson` (results.ts) turns it into the --json contract and
// reportMarkdown.ts into the Markdown both faces show.
import { createHash } from 'node:crypto';
import { SluiceError } from '../errors';
import { requireEnvironment } from '../environments/deploy';
import { readLiveEnvironments, type EnvironmentLive } from '../environments/live';
import type { Release } from '../environments/releases';
import { openPipelines, type PipelineContext } from '../pipelines/context';
import type { RunLogRecord } from '../pipelines/logs';
import type { StageResult } from '../pipelines/runner';
import { stageStatuses, type StageState, type StageStatus } from '../pipelines/status';
import { numericLeaves, readValues } from '../pipelines/values';
import { datasetStatus, type DatasetStatusState } from '../snapshots/datasetStatus';
import { compareSnapshots, diffDataset, listSnapshots } from '../snapshots/snapshots';
import type { Workspace } from '../workspace';

/**
 * Stage records more than this far apart belong to different runs. Within a
 * run the next stage starts as soon as its inputs are read; a check that ran
 * between two records (checks run at the end of a run) separates runs too.
 */
export const RUN_PAUSE_MS = 5 * 60 * 1000;

export interface ReportStage {
  readonly pipeline: string;
  readonly stage: string;
  /**
   * What the last run did with it, in `sluice run`'s words: `ran`, `restored`
   * (from the run cache), `skipped` (up to date: it succeeded before and the
   * last run did not touch it), `failed`, or `not-run` (never succeeded, or
   * an upstream stage failed or did not run).
   */
  readonly result: StageResult;
  /** Its state now, as `sluice status` says it. */
  readonly state: StageState;
  /** When its latest record was written (the end of its run or restore); undefined when it has none. */
  readonly at: string | undefined;
  /** The run whose outputs the record is about. */
  readonly runId: string | undefined;
  /** How long the command ran, for a stage that ran or failed in the last run. */
  readonly durationMs: number | undefined;
  /** Why it failed, or why it is not up to date now. */
  readonly reason: string | undefined;
}

export type ReportCheckOutcome = 'pass' | 'fail' | 'inconclusive' | 'not-run';

export interface ReportCheck {
  readonly pipeline: string;
  readonly name: string;
  /** Its result on the outputs on disk now; `not-run` when it has none (stale stages, `--no-checks`). */
  readonly outcome: ReportCheckOutcome;
  readonly detail: string;
}

export interface ReportMetric {
  /** `metrics.json#accuracy`. */
  readonly name: string;
  /** In the live release (undefined: it has none, or nothing is live). */
  readonly live: number | undefined;
  /** In the workspace's metrics file now (undefined: not there). */
  readonly workspace: number | undefined;
}

export interface ReportDataset {
  readonly dataset: string;
  /** The dataset's latest snapshot. */
  readonly latest: string | undefined;
  /** The snapshot the live release used. */
  readonly live: string | undefined;
  /**
   * Paths added, modified and removed from `live` to `latest`; undefined when
   * there is nothing to compare (nothing live, no snapshot) or a record is missing.
   */
  readonly added: number | undefined;
  readonly modified: number | undefined;
  readonly removed: number | undefined;
  /** The two snapshots hold the same files (a re-snapshot, or the very same one). */
  readonly sameContent: boolean;
  /** The disk against the latest snapshot. */
  readonly disk: DatasetStatusState;
  /** What differs on disk from the latest snapshot, when `disk` is `changed`. */
  readonly diskChanges:
    { readonly added: number; readonly modified: number; readonly removed: number } | undefined;
}

export interface ReportEnvironment {
  readonly name: string;
  /** Undefined when nothing is live in it (only when it was asked for by name). */
  readonly release: Release | undefined;
  readonly deployedAt: string | undefined;
}

export interface Report {
  /** The manifest's `name`. */
  readonly workspace: string | undefined;
  /** What the metrics and data are compared with; undefined when nothing is live anywhere. */
  readonly environment: ReportEnvironment | undefined;
  /** The first and last record of the last run, when there was one. */
  readonly lastRun: { readonly from: string; readonly to: string } | undefined;
  readonly stages: readonly ReportStage[];
  readonly checks: readonly ReportCheck[];
  readonly metrics: readonly ReportMetric[];
  readonly datasets: readonly ReportDataset[];
}

export interface ReportOptions {
  /** Compare with what is live here; default: the last environment in promotion order with something live. */
  readonly environment?: string | undefined;
  readonly signal?: AbortSignal | undefined;
}

export async function buildReport(workspace: Workspace, options: ReportOptions = {}): Promise<Report> {
  const environment = await chooseEnvironment(workspace, options.environment);
  const context = openPipelines(workspace);
  // The runner's own decisions, read and never saved: the report writes nothing.
  const statuses = stageStatuses(context);
  const { stages, lastRun } = stagesOfLastRun(context, statuses);
  const release = environment?.release;
  const datasets: ReportDataset[] = [];
  for (const name of workspace.manifest.datasets.keys()) {
    options.signal?.throwIfAborted();
    datasets.push(await reportDataset(workspace, name, release, options.signal));
  }
  return {
    workspace: workspace.manifest.name,
    environment,
    lastRun,
    stages,
    checks: checkOutcomes(context, statuses),
    metrics: metricsAgainst(context, release),
    datasets,
  };
}

/** The environment asked for, or the last one in promotion order with something live (production). */
async function chooseEnvironment(
  workspace: Workspace,
  name: string | undefined,
): Promise<ReportEnvironment | undefined> {
  if (name !== undefined) requireEnvironment(workspace, name);
  const environments = await readLiveEnvironments(workspace);
  const asked =
    name === undefined ? undefined : environments.find((environment) => environment.name === name);
  if (asked !== undefined)
    return liveIn(asked) ?? { name: asked.name, release: undefined, deployedAt: undefined };
  for (const environment of [...environments].reverse()) {
    const live = liveIn(environment);
    if (live !== undefined) return live;
  }
  return undefined;
}

function liveIn(environment: EnvironmentLive): ReportEnvironment | undefined {
  const { history } = environment;
  // A damaged history must not pass for "nothing live": the comparison would be with the wrong release.
  if (history.kind === 'failed')
    throw history.error ?? new SluiceError(history.message, 'failed', 'Run `sluice fsck`.');
  if (history.live === undefined) return undefined;
  return { name: environment.name, release: history.live, deployedAt: history.deployments[0]?.time };
}

/** A stage's newest record: its last success or its last failure, whichever came later. */
interface StageEvent {
  readonly id: string;
  readonly result: 'ran' | 'restored' | 'failed';
  readonly at: string;
  /** Milliseconds since the epoch: when the command started (for a restore, when it ended) and ended. */
  readonly start: number;
  readonly end: number;
  readonly runId: string | undefined;
  readonly durationMs: number | undefined;
  readonly reason: string | undefined;
}

function latestEvent(context: PipelineContext, pipeline: string, stage: string): StageEvent | undefined {
  const id = `${pipeline}.${stage}`;
  const record = context.state.get(id);
  const { success, failure } = record ?? {};
  const log = (runId: string | undefined): RunLogRecord | undefined =>
    runId === undefined ? undefined : context.logs.list(pipeline, stage).find((run) => run.runId === runId);
  const timed = (at: string, log: RunLogRecord | undefined) => {
    const end = Date.parse(at);
    const start = log === undefined ? end : Date.parse(log.startedAt);
    return { at, end, start: Number.isNaN(start) ? end : start };
  };
  if (failure !== undefined && (success === undefined || failure.finishedAt > success.finishedAt)) {
    const run = log(failure.runId);
    return {
      id,
      result: 'failed',
      ...timed(failure.finishedAt, run),
      runId: failure.runId,
      durationMs: run?.durationMs,
      reason: failure.reason,
    };
  }
  if (success === undefined) return undefined;
  const run = success.restored ? undefined : log(success.runId);
  return {
    id,
    result: success.restored ? 'restored' : 'ran',
    ...timed(success.finishedAt, run),
    runId: success.runId,
    durationMs: run?.durationMs,
    reason: undefined,
  };
}

/**
 * Which stages the last `sluice run` ran, restored or found up to date. The
 * records keep each stage's latest run or restore, not the runs themselves:
 * the last run is the newest record and those before it back to a boundary,
 * a check that ran in between (checks run at the end of a run) or a pause
 * longer than RUN_PAUSE_MS. A stage with no record in it that had succeeded
 * before was up to date then (`skipped`), unless a stage it depends on failed
 * or did not run in it; the others did not run (`not-run`). Its state now is
 * beside it: files may have changed since.
 */
function stagesOfLastRun(
  context: PipelineContext,
  statuses: readonly StageStatus[],
): { stages: ReportStage[]; lastRun: Report['lastRun'] } {
  const events = new Map<string, StageEvent>();
  for (const status of statuses) {
    const event = latestEvent(context, status.pipeline, status.stage);
    if (event !== undefined && !Number.isNaN(event.end)) events.set(event.id, event);
  }
  const newestFirst = [...events.values()].sort((a, b) => b.end - a.end);
  const inLastRun = new Set<string>();
  const newest = newestFirst[0];
  let lastRun: Report['lastRun'];
  if (newest !== undefined) {
    const boundary = Math.max(-Infinity, ...checkStarts(context).filter((start) => start < newest.end));
    let from = newest;
    for (const event of newestFirst) {
      if (event.end <= boundary || from.start - event.end > RUN_PAUSE_MS) break;
      inLastRun.add(event.id);
      if (event.start < from.start) from = event;
    }
    lastRun = { from: new Date(from.start).toISOString(), to: newest.at };
  }
  // In plan order, so a stage sees what the last run did with the stages it depends on.
  const results = new Map<string, StageResult>();
  const stages = statuses.map((status): ReportStage => {
    const id = `${status.pipeline}.${status.stage}`;
    const event = events.get(id);
    const base = { pipeline: status.pipeline, stage: status.stage, state: status.state, at: event?.at };
    const why =
      status.state === 'up-to-date' || status.reasons.length === 0 ? undefined : status.reasons.join('; ');
    if (event !== undefined && inLastRun.has(id)) {
      results.set(id, event.result);
      return {
        ...base,
        result: event.result,
        runId: event.runId,
        durationMs: event.durationMs,
        reason: event.reason ?? why,
      };
    }
    // Not run or restored by the last run: it was up to date then, if it had succeeded before and
    // nothing it depends on failed in that run (a failed stage with the same inputs runs again).
    const upstream = context.plan.pipelines
      .get(status.pipeline)
      ?.stages.find((stage) => stage.name === status.stage)
      ?.upstream.map((name) => results.get(`${status.pipeline}.${name}`));
    const blocked = upstream?.some((result) => result === 'failed' || result === 'not-run') === true;
    const result: StageResult =
      lastRun !== undefined && event?.result !== 'failed' && event !== undefined && !blocked
        ? 'skipped'
        : 'not-run';
    results.set(id, result);
    return { ...base, result, runId: event?.runId, durationMs: undefined, reason: why };
  });
  return { stages, lastRun };
}

/** When each command check was run (metric checks keep no log), in milliseconds since the epoch. */
function checkStarts(context: PipelineContext): number[] {
  return [...context.plan.pipelines.values()].flatMap((pipeline) =>
    pipeline.checks.flatMap((check) =>
      check.kind === 'command'
        ? context.logs
            .list(pipeline.name, `check:${check.name}`)
            .map((run) => Date.parse(run.startedAt))
            .filter((start) => !Number.isNaN(start))
        : [],
    ),
  );
}

/**
 * Each check's outcome on the outputs on disk: the result the runner
 * remembered for exactly these stage signatures. It is found under the key
 * the runner gives it (runner.ts: the check and its pipeline's signatures,
 * sorted by stage name), so a check that judged other outputs is not shown
 * as if it judged these.
 */
function checkOutcomes(context: PipelineContext, statuses: readonly StageStatus[]): ReportCheck[] {
  const checks: ReportCheck[] = [];
  for (const pipeline of context.plan.pipelines.values()) {
    const own = statuses.filter((status) => status.pipeline === pipeline.name);
    const stale = own.filter((status) => status.state !== 'up-to-date' || status.signature === undefined);
    const signatures = own
      .map((status): [string, string] => [status.stage, status.signature ?? ''])
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const check of pipeline.checks) {
      const base = { pipeline: pipeline.name, name: check.name };
      if (stale.length > 0) {
        checks.push({
          ...base,
          outcome: 'not-run',
          detail: `not run on these outputs: ${stale.map((status) => `${status.pipeline}.${status.stage}`).join(', ')} ${stale.length === 1 ? 'is' : 'are'} not up to date`,
        });
        continue;
      }
      const key = createHash('sha256')
        .update(JSON.stringify([check, signatures]))
        .digest('hex');
      const known = context.state.checkResult(`${pipeline.name}#${check.name}`, key);
      checks.push(
        known === undefined
          ? { ...base, outcome: 'not-run', detail: 'not run on these outputs (was the run --no-checks?)' }
          : { ...base, outcome: known.outcome, detail: known.detail },
      );
    }
  }
  return checks;
}

/**
 * The metrics files of the workspace now against the live release's metrics:
 * the files of the release's pipeline (every pipeline's when nothing is live),
 * each number by `file#key`, in the release's order and then the new ones.
 */
function metricsAgainst(context: PipelineContext, release: Release | undefined): ReportMetric[] {
  const pipelines = [...context.plan.pipelines.values()].filter(
    (pipeline) => release === undefined || pipeline.name === release.pipeline,
  );
  const files = [
    ...new Set(pipelines.flatMap((pipeline) => pipeline.stages.flatMap((stage) => stage.metrics))),
  ];
  const now = new Map<string, number>();
  for (const file of files) {
    let document: unknown;
    try {
      document = readValues(context.workspace.root, file);
    } catch {
      continue; // a metrics file that does not parse has no numbers; its check says why
    }
    for (const [key, value] of Object.entries(numericLeaves(document ?? {})))
      now.set(`${file}#${key}`, value);
  }
  const live = new Map<string, number>();
  for (const [file, values] of Object.entries(release?.metrics ?? {}))
    for (const [key, value] of Object.entries(values)) live.set(`${file}#${key}`, value);
  return [...new Set([...live.keys(), ...now.keys()])].map((name) => ({
    name,
    live: live.get(name),
    workspace: now.get(name),
  }));
}

async function reportDataset(
  workspace: Workspace,
  name: string,
  release: Release | undefined,
  signal: AbortSignal | undefined,
): Promise<ReportDataset> {
  const snapshots = await listSnapshots(workspace, name);
  const latest = snapshots[0];
  const liveId = release?.snapshots[name];
  const live = liveId === undefined ? undefined : snapshots.find((snapshot) => snapshot.id === liveId);
  let counts: { added: number; modified: number; removed: number } | undefined;
  if (latest !== undefined && release !== undefined) {
    if (latest.id === liveId) counts = { added: 0, modified: 0, removed: 0 };
    // A dataset the release did not read: everything in it is new to it.
    else if (liveId === undefined || live !== undefined) {
      const changes = await compareSnapshots(workspace, live, latest, signal ? { signal } : {});
      counts = {
        added: changes.added.length,
        modified: changes.modified.length,
        removed: changes.removed.length,
      };
    }
  }
  const status = await datasetStatus(workspace, name, signal ? { signal } : {});
  let diskChanges: ReportDataset['diskChanges'];
  if (status.state === 'changed') {
    const diff = await diffDataset(workspace, name, undefined, undefined, signal ? { signal } : {});
    diskChanges = { added: diff.added.length, modified: diff.modified.length, removed: diff.removed.length };
  }
  return {
    dataset: name,
    latest: latest?.id,
    live: liveId,
    ...(counts ?? { added: undefined, modified: undefined, removed: undefined }),
    sameContent:
      latest !== undefined &&
      (latest.id === liveId ||
        (live !== undefined && live.content !== '' && live.content === latest.content)),
    disk: status.state,
    diskChanges,
  };
}
