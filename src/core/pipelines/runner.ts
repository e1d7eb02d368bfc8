// `sluice run`: stale stages only, in dependency order, independent ones in
// parallel. A stage whose signature ran before gets its outputs back from the
// cache instead of running. A failure stops what depends on it, and lets
// independent branches finish. Cancelling kills every running command's
// process group, and no stage that did not finish is recorded as successful.
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SluiceError } from '../errors';
import { refuseProtectedOutputs } from '../manifest/protectedRuntime';
import { runCheck, type CheckResult } from './checks';
import { readInputs, readParams, type PipelineContext } from './context';
import { decideStage, type StageDecision } from './decision';
import { RunLock } from './lock';
import { newRunId } from './logs';
import {
  captureOutputs,
  clearOutputs,
  linksOf,
  outputFingerprint,
  restoreOutputs,
  type CachedRun,
} from './outputs';
import type { CheckPlan, ExecutorName, StagePlan } from './plan';
import { describeExit, runCommand, type CommandResult } from '../process/runCommand';
import { describeEnd as describeSlurmEnd, isEnded, type SlurmJobStatus } from '../process/slurmStates';
import { slurmFailure, SlurmJobs } from './slurmJobs';
import { planDigest, SlurmJournal, type OpenJob } from './slurmJournal';
import { signatureOf, type StageInputs } from './state';
import { overlayParams, recoverParamsOverlay, type OverlayEnd } from './paramsOverlay';
import { numericLeaves, readValues } from './values';

/** `queued`: a detached run left the stage's job in Slurm's queue; a later run records it. */
export type StageResult = 'ran' | 'skipped' | 'restored' | 'failed' | 'not-run' | 'queued';

export interface StageOutcome {
  readonly pipeline: string;
  readonly stage: string;
  readonly result: StageResult;
  /** Why it failed or did not run. */
  readonly reason: string | undefined;
  /**
   * The run that produced the stage's outputs: the one just made, or for a
   * skipped or restored stage the earlier run whose outputs are on disk.
   */
  readonly runId: string | undefined;
  readonly durationMs: number | undefined;
  /** For a failure sluice itself found after the command (an output not written, a link leading out): its stable code and facts. */
  readonly code?: string | undefined;
  readonly data?: Readonly<Record<string, unknown>> | undefined;
}

export interface RunEvents {
  readonly stageStarted?: (stage: StagePlan, runId: string) => void;
  /** A stage's job is in Slurm's queue, with this id. */
  readonly stageSubmitted?: (stage: StagePlan, jobId: string) => void;
  readonly stageOutput?: (stage: StagePlan, text: string) => void;
  readonly stageFinished?: (stage: StagePlan, outcome: StageOutcome) => void;
  readonly checkOutput?: (check: CheckPlan, text: string) => void;
  readonly checkFinished?: (check: CheckPlan, result: CheckResult) => void;
  /** Something the user should know that did not fail the run. */
  readonly warning?: (text: string) => void;
}

export interface RunOptions {
  /** Pipelines (`train`) or stages (`train.prepare`, which brings its upstream); none means all. */
  readonly targets?: readonly string[];
  /**
   * Run even what is up to date: every selected stage when no stage is named,
   * else the named stages (and the stages of named pipelines) only; what a
   * named stage depends on still runs only if stale.
   */
  readonly force?: boolean;
  /** Force the named stages' upstream stages too (implies `force`). */
  readonly forceUpstream?: boolean;
  /** Stages at once; the default is the number of cores. */
  readonly jobs?: number;
  readonly signal?: AbortSignal;
  /** Run the checks of every pipeline run whole and without failure (default true). */
  readonly checks?: boolean;
  readonly events?: RunEvents;
  /**
   * Put back cached outputs only (`exp apply`): a stage whose inputs never
   * ran before is not run but reported `not-run`, saying so.
   */
  readonly restoreOnly?: boolean;
  /** Shared by runs going on at once in this process (queued experiments): a signature runs once. */
  readonly shared?: SharedStageRuns;
  /** Where every stage's command runs, whatever the manifest says (`--executor`). */
  readonly executor?: ExecutorName;
  /**
   * Return once every stale Slurm stage is in the queue (`--detach`): their
   * outcome is `queued`, the jobs stay in the journal, and a later run
   * records them when they end.
   */
  readonly detach?: boolean;
  /**
   * Awaited once, before the run first changes the workspace: before the
   * params are overlaid and before any stage's outputs are cleared, restored
   * or written. A run that changes nothing never calls it, so what a caller
   * reads there (the code and data the stages saw) costs a no-op run nothing.
   */
  readonly beforeChanges?: () => Promise<void>;
}

/**
 * Stage runs in flight across the runs of one process. A stage about to run
 * with a signature another run is running waits for it, then decides again:
 * it restores what that run put in the shared run cache instead of running too.
 */
export class SharedStageRuns {
  readonly #running = new Map<string, Promise<void>>();

  running(signature: string): Promise<void> | undefined {
    return this.#running.get(signature);
  }

  /** Marks `signature` as running; call the returned function when it ends, however it ends. */
  begin(signature: string): () => void {
    let end!: () => void;
    this.#running.set(signature, new Promise<void>((resolve) => (end = resolve)));
    return () => {
      this.#running.delete(signature);
      end();
    };
  }
}

export interface RunReport {
  readonly stages: readonly StageOutcome[];
  readonly checks: readonly CheckResult[];
  /** Metrics files of the stages run, as dotted key → number. */
  readonly metrics: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly cancelled: boolean;
}

interface Selection {
  readonly stages: readonly StagePlan[];
  /** Pipelines selected whole: their checks run. */
  readonly wholePipelines: readonly string[];
  /** Stages named, or in a pipeline named (all, when there is no target): what `force` forces. */
  readonly named: ReadonlySet<string>;
}

export function selectStages(context: PipelineContext, targets: readonly string[]): Selection {
  const pipelines = context.plan.pipelines;
  if (targets.length === 0) {
    const stages = [...pipelines.values()].flatMap((p) => p.stages);
    return { stages, wholePipelines: [...pipelines.keys()], named: new Set(stages.map((stage) => stage.id)) };
  }
  const chosen = new Set<string>();
  const named = new Set<string>();
  const whole: string[] = [];
  for (const target of targets) {
    const pipeline = pipelines.get(target);
    if (pipeline) {
      whole.push(target);
      for (const stage of pipeline.stages) {
        chosen.add(stage.id);
        named.add(stage.id);
      }
      continue;
    }
    const dot = target.indexOf('.');
    const owner = dot > 0 ? pipelines.get(target.slice(0, dot)) : undefined;
    const name = target.slice(dot + 1);
    // A template's name (`PIPELINE.train`) stands for every stage it generates (`train@…`).
    const stages =
      owner?.stages.filter(
        (candidate) => candidate.name === name || (!name.includes('@') && candidate.template?.name === name),
      ) ?? [];
    // A template that generated nothing (`foreach: []`) is there: it just has nothing to run.
    if (owner && stages.length === 0 && owner.templates.includes(name)) continue;
    if (!owner || stages.length === 0) {
      throw new SluiceError(
        `No pipeline or stage named '${target}'.`,
        'usage',
        `Pipelines: ${[...pipelines.keys()].join(', ') || '(none)'}; name a stage as PIPELINE.STAGE (a generated one as PIPELINE.STAGE@KEY).`,
        { code: 'unknown-stage', data: { target } },
      );
    }
    for (const stage of stages) named.add(stage.id);
    // A stage brings what it depends on, as `make target` does.
    const byName = new Map(owner.stages.map((candidate) => [candidate.name, candidate]));
    const pending = [...stages];
    while (pending.length > 0) {
      const next = pending.pop()!;
      if (chosen.has(next.id)) continue;
      chosen.add(next.id);
      for (const up of next.upstream) pending.push(byName.get(up)!);
    }
  }
  const stages = [...pipelines.values()].flatMap((p) => p.stages).filter((stage) => chosen.has(stage.id));
  return { stages, wholePipelines: whole, named };
}

export async function runPipelines(context: PipelineContext, options: RunOptions = {}): Promise<RunReport> {
  const selection = selectStages(context, options.targets ?? []);
  // Whatever validation said: no stage may clear or write .git, .sluice, the manifest, its inputs.
  refuseProtectedOutputs(context.workspace.root, context.workspace.manifest, selection.stages);
  const lock = RunLock.acquire(join(context.workspace.sluiceDir, 'state', 'run.lock'));
  let changing: Promise<void> | undefined;
  const beforeChanges = (): Promise<void> => (changing ??= options.beforeChanges?.() ?? Promise.resolve());
  let putBackParams: (() => OverlayEnd) | undefined;
  let journal: SlurmJournal | undefined;
  try {
    journal = SlurmJournal.open(context.workspace.sluiceDir);
    await dropJobsOfRemovedStages(context, journal, options.events);
    // Under the lock: what a killed `run --set` left in the params file goes back first.
    if (recoverParamsOverlay(context.workspace) === 'kept')
      options.events?.warning?.(paramsKeptWarning(context.plan.paramsFile));
    if (Object.keys(context.overrides).length > 0 && context.plan.paramsFile !== undefined) {
      await beforeChanges();
      putBackParams = overlayParams(context.workspace, context.plan.paramsFile, context.overrides);
    }
    const forced: ReadonlySet<string> =
      options.forceUpstream === true
        ? new Set(selection.stages.map((stage) => stage.id))
        : options.force === true
          ? selection.named
          : new Set();
    const runner = new Runner(context, options, forced, journal, beforeChanges);
    const stages = await runner.run(selection.stages);
    const checks: CheckResult[] = [];
    if (options.checks !== false && !runner.cancelled) {
      for (const name of selection.wholePipelines) {
        const pipeline = context.plan.pipelines.get(name)!;
        const clean = stages.every(
          (s) =>
            s.pipeline !== name || s.result === 'ran' || s.result === 'skipped' || s.result === 'restored',
        );
        if (!clean) continue;
        // What the checks judge: the outputs of these very runs. Unless --force,
        // a check whose judgement cannot have changed is not run again.
        const signatures = runner.signaturesFor(name);
        for (const check of pipeline.checks) {
          if (options.signal?.aborted) break;
          const id = `${name}#${check.name}`;
          const key = createHash('sha256')
            .update(JSON.stringify([check, signatures]))
            .digest('hex');
          const known =
            options.force === true || options.forceUpstream === true
              ? undefined
              : context.state.checkResult(id, key);
          const result: CheckResult = known
            ? {
                pipeline: name,
                name: check.name,
                outcome: known.outcome,
                detail: known.detail,
                runId: known.runId,
                cached: true,
              }
            : await runCheck(context, check, {
                signal: options.signal,
                onOutput: options.events?.checkOutput,
              });
          if (!known && !options.signal?.aborted) {
            context.state.checked(id, {
              key,
              outcome: result.outcome,
              detail: result.detail,
              runId: result.runId,
            });
          }
          options.events?.checkFinished?.(check, result);
          checks.push(result);
        }
      }
    }
    return {
      stages,
      checks,
      metrics: readMetrics(context, selection.stages),
      cancelled: runner.cancelled || options.signal?.aborted === true,
    };
  } finally {
    try {
      if (putBackParams?.() === 'kept') options.events?.warning?.(paramsKeptWarning(context.plan.paramsFile));
    } finally {
      try {
        context.save();
      } finally {
        journal?.close();
        lock.release();
      }
    }
  }
}

/** Jobs of stages no longer in the manifest: nothing can record them; cancelled if still queued. */
async function dropJobsOfRemovedStages(
  context: PipelineContext,
  journal: SlurmJournal,
  events: RunEvents | undefined,
): Promise<void> {
  const planned = new Set(
    [...context.plan.pipelines.values()].flatMap((p) => p.stages.map((stage) => stage.id)),
  );
  const removed = [...journal.open.values()].filter((open) => !planned.has(open.stage));
  if (removed.length === 0) return;
  await new SlurmJobs().cancelJobs(removed.map((open) => open.job)).catch(() => undefined);
  for (const open of removed) {
    journal.settled(open.stage);
    events?.warning?.(
      `Slurm job ${open.job} of stage ${open.stage} is not recorded (the stage is no longer in sluice.yaml); it was cancelled if still queued.`,
    );
  }
}

function paramsKeptWarning(file: string | undefined): string {
  return `${file ?? 'The params file'} was edited during a run with --set; it is left as edited (the overrides may be in it).`;
}

function readMetrics(
  context: PipelineContext,
  stages: readonly StagePlan[],
): Record<string, Record<string, number>> {
  const metrics: Record<string, Record<string, number>> = {};
  for (const file of new Set(stages.flatMap((stage) => stage.metrics))) {
    try {
      const document = readValues(context.workspace.root, file);
      if (document !== undefined) metrics[file] = numericLeaves(document);
    } catch {
      // A metrics file that does not parse is reported by the check that reads it.
    }
  }
  return metrics;
}

/** How often, at most, stage records are written while a long run goes on. */
const SAVE_INTERVAL_MS = 500;

class Runner {
  cancelled = false;
  private readonly outcomes = new Map<string, StageOutcome>();
  /** This run's Slurm jobs, made when the first stage is submitted. */
  private slurm: SlurmJobs | undefined;
  /** The job of each stage submitted to Slurm (or adopted from the journal) and not yet settled. */
  private readonly launched = new Map<string, { readonly job: string; readonly runId: string }>();
  /** Each stage's outcome, for a stage submitted behind it that must know how it ended. */
  private readonly settledOutcomes = new Map<string, Promise<StageOutcome>>();
  private readonly settleWaiters = new Map<string, (outcome: StageOutcome) => void>();
  /** Called when a stage's job is in Slurm's queue: its Slurm downstream can be submitted behind it. */
  private onLaunched: (stage: StagePlan) => void = () => undefined;
  /** Signatures of stages that finished well in this run, per pipeline. */
  private readonly signatures = new Map<string, Map<string, string>>();
  private lastSave = performance.now();

  constructor(
    private readonly context: PipelineContext,
    private readonly options: RunOptions,
    /** Stages run even when up to date. */
    private readonly forced: ReadonlySet<string>,
    /** Jobs submitted and not yet recorded, this run's and earlier runs'. */
    private readonly journal: SlurmJournal,
    /** RunOptions.beforeChanges, called at most once for the whole run. */
    private readonly beforeChanges: () => Promise<void>,
  ) {}

  async run(stages: readonly StagePlan[]): Promise<StageOutcome[]> {
    const jobs = Math.max(1, this.options.jobs ?? availableParallelism());
    const selected = new Set(stages.map((stage) => stage.id));
    const waitingOn = new Map<string, number>();
    const downstream = new Map<string, StagePlan[]>();
    for (const stage of stages) {
      const upstream = stage.upstream
        .map((name) => `${stage.pipeline}.${name}`)
        .filter((id) => selected.has(id));
      waitingOn.set(stage.id, upstream.length);
      for (const id of upstream) {
        let list = downstream.get(id);
        if (!list) downstream.set(id, (list = []));
        list.push(stage);
      }
    }
    // Ready stages start in plan order: with one job, a run reads like the manifest.
    const position = new Map(stages.map((stage, index) => [stage.id, index]));
    const ready = stages.filter((stage) => waitingOn.get(stage.id) === 0);
    const makeReady = (stage: StagePlan): void => {
      const at = position.get(stage.id)!;
      let index = ready.length;
      while (index > 0 && position.get(ready[index - 1]!.id)! > at) index--;
      ready.splice(index, 0, stage);
    };
    const running = new Map<string, Promise<void>>();
    /** Stages started before their upstream ended: submitted to Slurm behind its jobs. */
    const started = new Set<string>();
    this.onLaunched = (stage) => {
      // Every stale Slurm stage goes into the queue at once, each held by afterok on its upstream's jobs.
      for (const next of downstream.get(stage.id) ?? []) {
        // A stage with a job in the journal is followed there, whatever its executor now.
        const queues = this.executorOf(next) === 'slurm' || this.journal.open.has(next.id);
        if (started.has(next.id) || this.outcomes.has(next.id) || !queues) continue;
        const upstream = next.upstream
          .map((name) => `${next.pipeline}.${name}`)
          .filter((id) => selected.has(id));
        if (upstream.every((id) => this.launched.has(id) || isGood(this.outcomes.get(id)))) {
          started.add(next.id);
          makeReady(next);
          wake();
        }
      }
    };
    // The loop below sleeps until a stage ends; a stage made ready by a submission wakes it too.
    let wake: () => void = () => undefined;
    const woken = (): Promise<void> => new Promise<void>((resolve) => (wake = resolve));
    const settle = (stage: StagePlan, outcome: StageOutcome): void => {
      this.outcomes.set(stage.id, outcome);
      // A job left queued by a detached run is still there for its downstream to be submitted behind.
      if (outcome.result !== 'queued') this.launched.delete(stage.id);
      this.settleWaiters.get(stage.id)?.(outcome);
      this.options.events?.stageFinished?.(stage, outcome);
      const good = isGood(outcome);
      for (const next of downstream.get(stage.id) ?? []) {
        if (this.outcomes.has(next.id)) continue;
        // Already in Slurm's queue behind this stage: it settles itself when Slurm drops it.
        if (started.has(next.id)) continue;
        if (!good) {
          settle(next, notRun(next, upstreamNotGood(stage.name, outcome)));
          continue;
        }
        const left = waitingOn.get(next.id)! - 1;
        waitingOn.set(next.id, left);
        if (left === 0) makeReady(next);
      }
      // A failed stage's dependants already in Slurm's queue: Slurm drops them too, sooner when asked.
      // Not when its job is merely out of sight (a controller not answering): it may still succeed.
      if (!good && outcome.result !== 'queued' && outcome.code !== 'slurm-unreachable' && this.slurm) {
        const behind = (downstream.get(stage.id) ?? []).flatMap((next) => {
          const launched = this.launched.get(next.id);
          return launched === undefined ? [] : [launched.job];
        });
        if (behind.length > 0) void this.slurm.cancel(behind).catch(() => undefined);
      }
    };
    // Local stages share the machine's CPUs (or -j): each takes its `resources.cpus`
    // (one by default, the whole capacity at most), and starts only when they fit.
    let busy = 0;
    // A Slurm stage takes none of this machine: the cluster queues it.
    const slotsOf = (stage: StagePlan): number =>
      this.executorOf(stage) === 'slurm' ? 0 : Math.min(jobs, Math.max(1, stage.resources.cpus ?? 1));
    const abort = (): void => {
      void this.slurm?.cancelAll().catch(() => undefined);
    };
    this.options.signal?.addEventListener('abort', abort);
    while (ready.length > 0 || running.size > 0) {
      if (this.options.signal?.aborted) this.cancelled = true;
      while (ready.length > 0 && !this.cancelled) {
        const stage = ready[0]!;
        if (this.outcomes.has(stage.id)) {
          ready.shift();
          continue;
        }
        const slots = slotsOf(stage);
        if (slots > 0 && busy + slots > jobs) break;
        started.add(stage.id);
        ready.shift();
        // Decided here, an up-to-date stage settles at once, with no task to wait for: a no-op
        // run of 5,000 stages otherwise waits on 5,000 promises, one at a time.
        let decision: StageDecision | undefined;
        try {
          decision = this.decideNow(stage);
        } catch (error) {
          settle(stage, failed(stage, (error as Error).message, undefined, undefined));
          continue;
        }
        if (decision?.action.kind === 'skip') {
          settle(stage, this.skipped(stage, decision.signature, decision.action.runId));
          this.saveNowAndThen();
          continue;
        }
        busy += slots;
        const task = this.process(stage, decision).then(
          (outcome) => {
            running.delete(stage.id);
            busy -= slots;
            settle(stage, outcome);
            this.saveNowAndThen();
          },
          (error: unknown) => {
            running.delete(stage.id);
            busy -= slots;
            settle(stage, failed(stage, (error as Error).message, undefined, undefined));
          },
        );
        running.set(stage.id, task);
      }
      if (running.size === 0) break;
      await Promise.race([...running.values(), woken()]);
    }
    this.options.signal?.removeEventListener('abort', abort);
    for (const stage of stages) {
      if (!this.outcomes.has(stage.id)) this.outcomes.set(stage.id, notRun(stage, 'cancelled'));
    }
    await this.forgetEndedJobs(stages);
    return stages.map((stage) => this.outcomes.get(stage.id)!);
  }

  /**
   * Jobs of the journal for stages this run did not wait on (not run because
   * an upstream stage failed, or cancelled first): once Slurm has ended them
   * there is nothing to record, so they leave the journal. One squeue.
   */
  private async forgetEndedJobs(stages: readonly StagePlan[]): Promise<void> {
    const left = stages.flatMap((stage) => {
      const open = this.journal.open.get(stage.id);
      return open !== undefined && this.outcomes.get(stage.id)?.result !== 'queued' ? [open] : [];
    });
    if (left.length === 0) return;
    this.slurm ??= this.newSlurmJobs();
    const states = await this.slurm
      .states(left.map((open) => ({ id: open.job, outputFile: open.logFile })))
      .catch(() => []);
    for (const status of states) {
      const open = left.find((entry) => entry.job === status.id);
      if (open !== undefined && isEnded(status)) this.journal.settled(open.stage);
    }
  }

  private newSlurmJobs(): SlurmJobs {
    return new SlurmJobs(undefined, {
      unreachable: (error, patienceMs) =>
        this.options.events?.warning?.(
          `${error.message} Asking again for up to ${Math.round(patienceMs / 1000)} s; the jobs stay queued whatever happens.`,
        ),
    });
  }

  private saveNowAndThen(): void {
    if (performance.now() - this.lastSave < SAVE_INTERVAL_MS) return;
    this.context.state.save();
    this.lastSave = performance.now();
  }

  /** The signatures of a pipeline's stages after this run, in name order. */
  signaturesFor(pipeline: string): [string, string][] {
    const signatures = this.signaturesOf(pipeline);
    return [...signatures].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Where a stage's command runs in this run: `--executor`, else the manifest's. */
  private executorOf(stage: StagePlan): ExecutorName {
    return this.options.executor ?? stage.executor;
  }

  /** Resolves with a stage's outcome once it has one. */
  private outcomeOf(id: string): Promise<StageOutcome> {
    const known = this.outcomes.get(id);
    if (known) return Promise.resolve(known);
    let promise = this.settledOutcomes.get(id);
    if (!promise) {
      promise = new Promise((resolve) => this.settleWaiters.set(id, resolve));
      this.settledOutcomes.set(id, promise);
    }
    return promise;
  }

  private signaturesOf(pipeline: string): Map<string, string> {
    let map = this.signatures.get(pipeline);
    if (!map) this.signatures.set(pipeline, (map = new Map<string, string>()));
    return map;
  }

  /**
   * A stage's decision, made now; undefined when a Slurm job decides it
   * later (its own, from an earlier run, or one of its upstream stages').
   */
  private decideNow(stage: StagePlan): StageDecision | undefined {
    if (this.journal.open.has(stage.id)) return undefined;
    if (stage.upstream.some((name) => this.launched.has(`${stage.pipeline}.${name}`))) return undefined;
    return decideStage(this.context, stage, this.signaturesOf(stage.pipeline), this.forced.has(stage.id));
  }

  /** An up-to-date stage: its downstream reads the outputs of the run with this signature. */
  private skipped(stage: StagePlan, signature: string, runId: string | undefined): StageOutcome {
    this.signaturesOf(stage.pipeline).set(stage.name, signature);
    return ok(stage, 'skipped', runId, undefined);
  }

  /** Acts on a stage: `decided` is its decision made just now (decideNow), if it could be. */
  private async process(stage: StagePlan, decided: StageDecision | undefined): Promise<StageOutcome> {
    const { context } = this;
    const signatures = this.signaturesOf(stage.pipeline);
    let decision = decided;
    if (decision === undefined) {
      // A job an earlier run submitted for this stage: followed and recorded, never submitted again.
      const open = this.journal.open.get(stage.id);
      if (open !== undefined) {
        const behind = await this.adoption(stage, open);
        if (behind !== undefined)
          return this.execute(
            stage,
            open.signature !== undefined && open.inputs !== undefined
              ? { signature: open.signature, inputs: open.inputs }
              : undefined,
            behind,
            open,
          );
      }
      // Upstream stages still in Slurm's queue: its inputs are not known yet, so it is
      // submitted behind their jobs and decided (its signature) once they are recorded.
      const behind = stage.upstream
        .map((name) => `${stage.pipeline}.${name}`)
        .filter((id) => this.launched.has(id));
      if (behind.length > 0) return this.execute(stage, undefined, behind, undefined);
      decision = decideStage(context, stage, signatures, this.forced.has(stage.id));
    }
    const { shared } = this.options;
    for (;;) {
      const pending = decision.action.kind === 'run' ? shared?.running(decision.signature) : undefined;
      if (!pending) break;
      await pending;
      decision = decideStage(context, stage, signatures, this.forced.has(stage.id));
    }
    const { action, signature } = decision;
    switch (action.kind) {
      case 'refuse':
        return {
          ...failed(stage, action.reason, undefined, undefined),
          code: action.code,
          data: action.data,
        };
      case 'skip':
        return this.skipped(stage, signature, action.runId);
      case 'frozen': {
        // Its downstream would read nothing: that is a failure to report, not a stage to skip.
        if (action.missing.length > 0)
          return {
            ...failed(
              stage,
              `it is frozen and its output ${action.missing.join(', ')} is missing: remove \`frozen: true\` to run it`,
              undefined,
              undefined,
            ),
            code: 'frozen-output-missing',
            data: { outputs: action.missing },
          };
        // Downstream stages see the outputs it keeps: those of its last success.
        signatures.set(stage.name, action.signature ?? signature);
        return {
          ...ok(stage, 'skipped', context.state.lastSuccess(stage.id)?.runId, undefined),
          reason: 'frozen',
        };
      }
      case 'restore':
        return this.restore(stage, signature, decision.inputs, action.cached);
      case 'run': {
        if (this.options.restoreOnly === true)
          return notRun(
            stage,
            decision.notRestorable !== undefined
              ? `${decision.notRestorable}: run it`
              : 'nothing cached for its inputs now (the code or data changed since): run it',
          );
        const end = shared?.begin(signature);
        try {
          return await this.execute(stage, { signature, inputs: decision.inputs }, [], undefined);
        } finally {
          end?.();
        }
      }
    }
  }

  /** Puts back the outputs a run with this very signature produced, and remembers that run. */
  private async restore(
    stage: StagePlan,
    signature: string,
    inputs: StageInputs,
    cached: CachedRun,
  ): Promise<StageOutcome> {
    const { context } = this;
    await this.beforeChanges();
    this.clearOutputs(stage, newRunId());
    try {
      await restoreOutputs(context.workspace.root, cached, context.workspace.store, context.fingerprints);
    } catch (error) {
      // A damaged or vanished blob is no reason to fail the stage: it runs instead (fsck names the blob).
      if (!(error instanceof SluiceError) || !['damaged-blob', 'missing-blob'].includes(error.code))
        throw error;
      // What was restored so far came verified from the cache: nothing to keep.
      for (const out of stage.outs) {
        rmSync(join(context.workspace.root, out), { recursive: true, force: true });
        context.fingerprints.invalidate(out);
      }
      this.options.events?.stageOutput?.(stage, `sluice: ${error.message} Running the stage instead.\n`);
      return this.execute(stage, { signature, inputs }, [], undefined);
    }
    context.state.succeeded(stage.id, {
      signature,
      inputs,
      outs: Object.fromEntries(cached.outs.map((out) => [out.path, outputFingerprint(out)])),
      runId: cached.runId,
      finishedAt: new Date().toISOString(),
      restored: true,
      producedAt: cached.createdAt,
    });
    this.signaturesOf(stage.pipeline).set(stage.name, signature);
    return ok(stage, 'restored', cached.runId, undefined);
  }

  /** Clears a stage's outputs before they are rewritten; bytes sluice has no copy of are kept in the trash. */
  private clearOutputs(stage: StagePlan, runId: string): void {
    const { context } = this;
    const record = context.state.get(stage.id);
    const success = record?.success;
    const saved = clearOutputs(
      context.workspace.root,
      // `persist: true` outputs stay: the command builds on them.
      stage.persistent.length > 0 ? stage.outs.filter((out) => !stage.persistent.includes(out)) : stage.outs,
      {
        fingerprints: [success?.outs ?? {}, record?.failure?.outs ?? {}],
        links: linksOf(success ? context.runCache.read(success.signature) : undefined),
      },
      context.fingerprints,
      context.workspace.store,
      join(context.workspace.sluiceDir, 'trash', runId),
    );
    for (const path of saved) {
      this.options.events?.stageOutput?.(
        stage,
        `sluice: an output held bytes sluice has no copy of (edited by hand?); they were moved to ${path}\n`,
      );
    }
  }

  /** What a failed run left in the declared outputs: cleared without the trash before the next run. */
  private leftovers(stage: StagePlan): Record<string, string> {
    const left: Record<string, string> = {};
    for (const out of stage.outs) {
      this.context.fingerprints.invalidate(out);
      const fingerprint = this.context.fingerprints.of(out);
      if (fingerprint !== undefined) left[out] = fingerprint;
    }
    return left;
  }

  /**
   * Whether an earlier run's job for this stage is still the stage's to
   * record: the stage is planned as it was submitted, and the upstream runs
   * it was submitted behind are the ones on disk or still in this run's
   * queue. Returns the upstream stages of this run it waits on; undefined
   * when the job is dropped (cancelled if it is still queued) and the stage
   * is decided as if there had been none.
   */
  private async adoption(stage: StagePlan, open: OpenJob): Promise<string[] | undefined> {
    const behind: string[] = [];
    let why: string | undefined;
    if (open.plan !== planDigest(stage)) why = 'the stage changed in sluice.yaml since it was submitted';
    else
      for (const [upstream, runId] of Object.entries(open.behind)) {
        if (this.launched.get(upstream)?.runId === runId) behind.push(upstream);
        else if (this.context.state.lastSuccess(upstream)?.runId !== runId) {
          why = `upstream stage ${upstream.slice(stage.pipeline.length + 1)} ran again since it was submitted`;
          break;
        }
      }
    if (why === undefined) return behind;
    this.slurm ??= this.newSlurmJobs();
    await this.slurm.cancelJobs([open.job]).catch(() => undefined);
    this.journal.settled(stage.id);
    this.options.events?.warning?.(
      `Slurm job ${open.job} of stage ${stage.id} is not recorded (${why}); it was cancelled if still queued.`,
    );
    return undefined;
  }

  /**
   * Submits a stage's command to Slurm (held by afterok on the jobs of
   * `behind`), or follows the job an earlier run submitted, and waits for
   * the job to end; a detached run returns once it is queued. Its output
   * file is the stage's log; it is shown once the job has ended.
   */
  private async onSlurm(
    stage: StagePlan,
    job: { cwd: string; env: Record<string, string>; logFile: string; runId: string },
    decided: { signature: string; inputs: StageInputs } | undefined,
    behind: readonly string[],
    existing: OpenJob | undefined,
  ): Promise<CommandEnd | { outcome: StageOutcome }> {
    const slurm = (this.slurm ??= this.newSlurmJobs());
    const startedAt = existing === undefined ? new Date() : new Date(existing.submittedAt);
    const started = performance.now();
    let id: string;
    if (existing !== undefined) id = existing.job;
    else {
      try {
        id = await slurm.submit({
          name: stage.id,
          chdir: job.cwd,
          outputFile: job.logFile,
          command: stage.run,
          dependencies: behind.map((upstream) => this.launched.get(upstream)!.job),
          resources: stage.resources,
          env: job.env,
        });
      } catch (error) {
        return { outcome: slurmFailed(stage, error) };
      }
      // In the journal before anything else: whatever happens to this process, no run submits it again.
      this.journal.submitted({
        stage: stage.id,
        job: id,
        runId: job.runId,
        logFile: job.logFile,
        submittedAt: startedAt.toISOString(),
        plan: planDigest(stage),
        ...(decided === undefined ? {} : { signature: decided.signature, inputs: decided.inputs }),
        behind: Object.fromEntries(behind.map((upstream) => [upstream, this.launched.get(upstream)!.runId])),
      });
    }
    this.launched.set(stage.id, { job: id, runId: job.runId });
    this.options.events?.stageSubmitted?.(stage, id);
    this.onLaunched(stage);
    if (this.options.detach === true) {
      const [now] =
        existing === undefined
          ? []
          : await slurm.states([{ id, outputFile: job.logFile }]).catch(() => [] as SlurmJobStatus[]);
      if (now === undefined || !isEnded(now)) return { outcome: queued(stage, id, job.runId) };
    }
    let status: SlurmJobStatus;
    try {
      status = await slurm.ended(id, stage.id, job.logFile);
    } catch (error) {
      // A job Sluice cancelled (it could never start) is done with; any other stays for the next run.
      if (error instanceof SluiceError && error.code === 'slurm-unsatisfiable')
        this.journal.settled(stage.id);
      return { outcome: slurmFailed(stage, error) };
    }
    const output = readTextOrEmpty(job.logFile);
    if (output !== '') this.options.events?.stageOutput?.(stage, output);
    const durationMs =
      status.elapsedSeconds !== undefined ? status.elapsedSeconds * 1000 : performance.now() - started;
    const cancelled = status.state === 'CANCELLED' && this.options.signal?.aborted === true;
    const completed = status.state === 'COMPLETED' && (status.exitCode ?? 0) === 0;
    return {
      exitCode: status.exitCode ?? null,
      signal: status.signal === undefined ? null : String(status.signal),
      timedOut: status.state === 'TIMEOUT',
      cancelled,
      startedAt,
      durationMs,
      failure: completed || cancelled ? undefined : `Slurm job ${id}: ${describeSlurmEnd(status)}`,
    };
  }

  /**
   * Runs a stage's command, here or on Slurm, and records what it made.
   * `decided`: its signature and inputs, known when every upstream stage had
   * ended; undefined for a stage submitted behind `behind` (upstream stages
   * still in Slurm's queue), whose inputs are read once those are recorded.
   */
  private async execute(
    stage: StagePlan,
    decided: { signature: string; inputs: StageInputs } | undefined,
    behind: readonly string[],
    existing: OpenJob | undefined,
  ): Promise<StageOutcome> {
    const { context } = this;
    const root = context.workspace.root;
    await this.beforeChanges();
    const runId = existing?.runId ?? newRunId();
    this.options.events?.stageStarted?.(stage, runId);
    // An earlier run's job cleared them when it was submitted, and may be writing them now.
    if (existing === undefined) this.clearOutputs(stage, runId);
    const cwd = stage.wdir === '' ? root : join(root, stage.wdir);
    if (existing === undefined && stage.wdir !== '' && !isDirectory(cwd)) {
      const reason = `its wdir ${stage.wdir} is not a folder: create it, or fix \`wdir\` in sluice.yaml`;
      return { ...failed(stage, reason, runId, undefined), code: 'wdir-missing', data: { wdir: stage.wdir } };
    }
    // Params do not depend on upstream stages: known now, even for a stage submitted behind others.
    const params = decided?.inputs.params ?? readParams(context, stage).params;
    const env = {
      SLUICE_PIPELINE: stage.pipeline,
      SLUICE_STAGE: stage.name,
      SLUICE_WORKSPACE: root,
      SLUICE_PARAMS: JSON.stringify(params),
    };
    const logFile = existing?.logFile ?? context.logs.logFile(stage.pipeline, stage.name, runId);
    let result: CommandEnd;
    if (existing !== undefined || this.executorOf(stage) === 'slurm') {
      const ran = await this.onSlurm(stage, { cwd, env, logFile, runId }, decided, behind, existing);
      if ('outcome' in ran) return { ...ran.outcome, runId };
      result = ran;
      // The job has ended: whatever is recorded of it below, it is no longer open.
      this.journal.settled(stage.id);
    } else {
      const ran = await runCommand({
        command: stage.run,
        cwd,
        env,
        logFile,
        onOutput: (text) => this.options.events?.stageOutput?.(stage, text),
        signal: this.options.signal,
      });
      result = { ...ran, failure: ran.cancelled || ran.exitCode === 0 ? undefined : describeExit(ran) };
    }
    // Submitted behind upstream jobs: its inputs are theirs as recorded, so it waits for that.
    for (const id of behind) {
      const upstream = await this.outcomeOf(id);
      if (!isGood(upstream))
        return notRun(stage, upstreamNotGood(id.slice(stage.pipeline.length + 1), upstream));
    }
    const { signature, inputs } =
      decided ??
      ((): { signature: string; inputs: StageInputs } => {
        const read = readInputs(context, stage, this.signaturesOf(stage.pipeline));
        return { signature: signatureOf(read.inputs), inputs: read.inputs };
      })();
    let outcome: StageOutcome;
    if (result.cancelled) {
      this.cancelled = true;
      outcome = failed(stage, 'cancelled', runId, result.durationMs);
    } else if (result.failure !== undefined) {
      outcome = failed(stage, result.failure, runId, result.durationMs);
      context.state.failed(stage.id, {
        signature,
        outs: this.leftovers(stage),
        runId,
        finishedAt: new Date().toISOString(),
        reason: outcome.reason!,
      });
    } else {
      try {
        // `cache: false` outputs are fingerprinted, not stored: the run cache entry holds the others.
        const stored =
          stage.uncached.length > 0 ? stage.outs.filter((out) => !stage.uncached.includes(out)) : stage.outs;
        const unstored: Record<string, string> = {};
        for (const out of stage.uncached) {
          context.fingerprints.invalidate(out);
          const fingerprint = context.fingerprints.of(out);
          if (fingerprint === undefined) {
            throw new SluiceError(
              `Stage ${stage.id} did not write its output ${out}.`,
              'failed',
              'Make the command write it, or remove it from sluice.yaml.',
              { code: 'output-not-written', data: { stage: stage.id, outputs: [out] } },
            );
          }
          unstored[out] = fingerprint;
        }
        const outs = captureOutputs(root, stage.id, stored, context.workspace.store, context.fingerprints);
        context.runCache.write(signature, stage.id, outs, runId);
        const fingerprints = {
          ...Object.fromEntries(outs.map((out) => [out.path, outputFingerprint(out)])),
          ...unstored,
        };
        context.state.succeeded(stage.id, {
          signature,
          inputs,
          outs: fingerprints,
          runId,
          finishedAt: new Date().toISOString(),
          restored: false,
        });
        this.signaturesOf(stage.pipeline).set(stage.name, signature);
        outcome = ok(stage, 'ran', runId, result.durationMs);
      } catch (error) {
        if (!(error instanceof SluiceError)) throw error;
        outcome = {
          ...failed(stage, error.message, runId, result.durationMs),
          code: error.code,
          data: error.data,
        };
        context.state.failed(stage.id, {
          signature,
          outs: this.leftovers(stage),
          runId,
          finishedAt: new Date().toISOString(),
          reason: error.message,
        });
      }
    }
    context.logs.record({
      runId,
      pipeline: stage.pipeline,
      stage: stage.name,
      command: stage.run,
      signature,
      startedAt: result.startedAt.toISOString(),
      durationMs: result.durationMs,
      exitCode: result.exitCode,
      signal: result.signal,
      result: outcome.result,
      reason: outcome.reason,
    });
    return outcome;
  }
}

/** How a stage's command ended, wherever it ran; `failure` says why in words when it did not succeed. */
type CommandEnd = CommandResult & { readonly failure: string | undefined };

/** A stage that could not be submitted to or followed on Slurm, with the client's code. */
function slurmFailed(stage: StagePlan, error: unknown): StageOutcome {
  const failure = slurmFailure(error, stage.id);
  // The stage's one line says what happened and what to do next.
  const reason = failure.hint === undefined ? failure.message : `${failure.message} ${failure.hint}`;
  return { ...failed(stage, reason, undefined, undefined), code: failure.code, data: failure.data };
}

/** A stage a detached run left in Slurm's queue. */
function queued(stage: StagePlan, job: string, runId: string): StageOutcome {
  return {
    pipeline: stage.pipeline,
    stage: stage.name,
    result: 'queued',
    reason: `Slurm job ${job}`,
    runId,
    durationMs: undefined,
    code: 'slurm-queued',
    data: { job },
  };
}

/** Why a stage did not run, when an upstream stage did not end well in this run. */
function upstreamNotGood(name: string, upstream: StageOutcome): string {
  switch (upstream.result) {
    case 'failed':
      return `upstream stage ${name} failed`;
    case 'queued':
      return `upstream stage ${name} is queued on Slurm: \`sluice run --attach\` runs this once its job ends`;
    default:
      return `upstream stage ${name} did not run`;
  }
}

function readTextOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function isGood(outcome: StageOutcome | undefined): boolean {
  return outcome?.result === 'ran' || outcome?.result === 'skipped' || outcome?.result === 'restored';
}

function isDirectory(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() === true;
}

function ok(
  stage: StagePlan,
  result: 'ran' | 'skipped' | 'restored',
  runId: string | undefined,
  durationMs: number | undefined,
): StageOutcome {
  return { pipeline: stage.pipeline, stage: stage.name, result, reason: undefined, runId, durationMs };
}

function failed(
  stage: StagePlan,
  reason: string,
  runId: string | undefined,
  durationMs: number | undefined,
): StageOutcome {
  return { pipeline: stage.pipeline, stage: stage.name, result: 'failed', reason, runId, durationMs };
}

function notRun(stage: StagePlan, reason: string): StageOutcome {
  return {
    pipeline: stage.pipeline,
    stage: stage.name,
    result: 'not-run',
    reason,
    runId: undefined,
    durationMs: undefined,
  };
}
