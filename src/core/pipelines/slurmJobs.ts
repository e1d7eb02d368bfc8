// The jobs one run has on a Slurm cluster: submitted through the client,
// followed by one poller for all of them (one squeue per tick, however many
// jobs), cancelled together. The runner awaits each job's end as it would a
// local process's.
import { SluiceError } from '../errors';
import { SlurmClient, type SlurmSubmission } from '../process/slurm';
import { formatDuration } from '../format';
import {
  describeEnd,
  isEnded,
  unrunnable,
  type SlurmJobState,
  type SlurmJobStatus,
} from '../process/slurmStates';
import { readOpenJobs } from './slurmJournal';

/** How often the jobs of a run are asked about while some are pending or running. */
const POLL_MS = 250;
/**
 * How long a controller may not answer before the run gives up on its jobs
 * (a restart or a fail-over takes seconds to minutes). The jobs stay queued
 * and in the journal: the next run picks them up. SLUICE_SLURM_PATIENCE
 * (seconds) sets it, for sites whose controller takes longer.
 */
const DEFAULT_PATIENCE_MS = 300_000;
/** How long a job nothing remembers (UNKNOWN) is asked about again before it counts as lost. */
const UNKNOWN_GRACE_MS = 20_000;

interface Waiter {
  readonly name: string;
  readonly outputFile: string;
  readonly resolve: (status: SlurmJobStatus) => void;
  readonly reject: (error: unknown) => void;
}

export interface SlurmJobsOptions {
  /** Told once each time the controller stops answering, and how long the run keeps asking. */
  readonly unreachable?: (error: SluiceError, patienceMs: number) => void;
  readonly patienceMs?: number;
}

export class SlurmJobs {
  private readonly waiting = new Map<string, Waiter>();
  private polling: Promise<void> | undefined;
  private cancelling = false;
  /** When each job was first seen UNKNOWN, while it stays so. */
  private readonly unknownSince = new Map<string, number>();

  constructor(
    private readonly client: SlurmClient = new SlurmClient(),
    private readonly options: SlurmJobsOptions = {},
  ) {}

  /** The state of jobs now, without waiting (a detached run, status). */
  states(jobs: readonly { id: string; outputFile: string }[]): Promise<SlurmJobStatus[]> {
    return this.client.jobStates(jobs);
  }

  /** Submits a job; its end is then awaited with `ended`. */
  submit(job: SlurmSubmission, signal?: AbortSignal): Promise<string> {
    return this.client.submit(job, signal);
  }

  /**
   * Resolves when the job has ended, with how. A job Slurm keeps pending for
   * a reason that never clears (more than a node has) is cancelled and the
   * promise rejects with `slurm-unsatisfiable`, naming the stage.
   */
  ended(id: string, name: string, outputFile: string): Promise<SlurmJobStatus> {
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { name, outputFile, resolve, reject });
      this.polling ??= this.poll().finally(() => (this.polling = undefined));
    });
  }

  /** The ids of jobs not known to have ended. */
  pending(): string[] {
    return [...this.waiting.keys()];
  }

  /** Cancels every job still pending or running (one scancel); their `ended` then says cancelled. */
  async cancelAll(): Promise<void> {
    if (this.cancelling) return;
    this.cancelling = true;
    try {
      await this.client.cancel(this.pending());
    } finally {
      this.cancelling = false;
    }
  }

  /** Cancels jobs whether this run follows them or not (an earlier run's job that is no longer wanted). */
  cancelJobs(ids: readonly string[]): Promise<void> {
    return this.client.cancel(ids);
  }

  /** Cancels some jobs (the dependants of a stage that failed, so they do not wait in the queue). */
  cancel(ids: readonly string[]): Promise<void> {
    return this.client.cancel(ids.filter((id) => this.waiting.has(id)));
  }

  private async poll(): Promise<void> {
    const patienceMs = this.options.patienceMs ?? patienceFromEnvironment();
    let unansweredSince: number | undefined;
    while (this.waiting.size > 0) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      const ids = [...this.waiting.keys()];
      let states: SlurmJobStatus[];
      try {
        states = await this.client.jobStates(
          ids.map((id) => ({ id, outputFile: this.waiting.get(id)!.outputFile })),
        );
        unansweredSince = undefined;
      } catch (error) {
        // A controller restarting or failing over answers again soon: ask again for a while.
        const unreachable = error instanceof SluiceError && error.code === 'slurm-unreachable';
        if (unreachable && unansweredSince === undefined) this.options.unreachable?.(error, patienceMs);
        unansweredSince ??= performance.now();
        if (unreachable && performance.now() - unansweredSince < patienceMs) continue;
        // Given up: every waiting job's problem, each stage says so. The jobs stay in Slurm's queue.
        for (const id of ids)
          this.settle(id, (waiter) => {
            waiter.reject(error);
          });
        return;
      }
      const now = performance.now();
      for (const status of states) {
        const waiter = this.waiting.get(status.id);
        if (!waiter) continue;
        // Just after a controller restart a job may be briefly unknown; one unknown for long is lost.
        if (status.state === 'UNKNOWN') {
          const since = this.unknownSince.get(status.id) ?? now;
          this.unknownSince.set(status.id, since);
          if (now - since < UNKNOWN_GRACE_MS) continue;
        }
        this.unknownSince.delete(status.id);
        if (isEnded(status) || status.state === 'UNKNOWN') {
          this.settle(status.id, (w) => {
            w.resolve(status);
          });
          continue;
        }
        const never = unrunnable(status, waiter.name);
        if (never) {
          await this.client.cancel([status.id]).catch(() => undefined);
          this.settle(status.id, (w) => {
            w.reject(never);
          });
        }
      }
    }
  }

  private settle(id: string, how: (waiter: Waiter) => void): void {
    const waiter = this.waiting.get(id);
    if (!waiter) return;
    this.waiting.delete(id);
    how(waiter);
  }
}

function patienceFromEnvironment(): number {
  const seconds = Number(process.env['SLUICE_SLURM_PATIENCE']);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : DEFAULT_PATIENCE_MS;
}

/** A SluiceError from the client keeps its code; anything else becomes one naming the stage. */
export function slurmFailure(error: unknown, stage: string): SluiceError {
  if (error instanceof SluiceError) return error;
  return new SluiceError(
    `Stage ${stage} could not be followed on Slurm: ${error instanceof Error ? error.message : String(error)}.`,
    'failed',
    'Check the cluster (`sinfo`), then run again: finished jobs are recorded, the rest run again.',
    { code: 'slurm-refused', data: { stage } },
  );
}

/** A stage's job that is queued, running, or ended and not yet recorded, as `sluice status` shows it. */
export interface StageJob {
  /** `pipeline.stage`. */
  readonly stage: string;
  readonly id: string;
  readonly runId: string;
  /** The job's output file, which the log view follows while it runs. */
  readonly logFile: string;
  readonly submittedAt: string;
  /** Slurm's state now; undefined when the controller could not be asked. */
  readonly state: SlurmJobState | undefined;
  /** Why a pending job waits, or why an ended one ended. */
  readonly reason: string | undefined;
  readonly elapsedSeconds: number | undefined;
  /** Whether the job has ended and waits for a run to record it. */
  readonly ended: boolean;
  /** In words: `pending (Resources)`, `running for 1m 20s`, `ended (completed): sluice run --attach records it`. */
  readonly description: string;
}

export interface StageJobs {
  readonly jobs: readonly StageJob[];
  /** Why Slurm could not be asked (not installed here, controller down): the jobs are listed without their state. */
  readonly problem: { readonly code: string; readonly message: string } | undefined;
}

/** The open jobs of a workspace and what Slurm says of each now (one squeue for all). */
export async function stageJobs(
  sluiceDir: string,
  client: SlurmClient = new SlurmClient(),
): Promise<StageJobs> {
  const open = [...readOpenJobs(sluiceDir).values()];
  if (open.length === 0) return { jobs: [], problem: undefined };
  let states: SlurmJobStatus[] = [];
  let problem: StageJobs['problem'];
  try {
    states = await client.jobStates(open.map((entry) => ({ id: entry.job, outputFile: entry.logFile })));
  } catch (error) {
    const failure = slurmFailure(error, open[0]!.stage);
    problem = { code: failure.code, message: failure.message };
  }
  const byId = new Map(states.map((status) => [status.id, status]));
  return {
    jobs: open.map((entry) => {
      const status = byId.get(entry.job);
      const ended = status !== undefined && isEnded(status);
      return {
        stage: entry.stage,
        id: entry.job,
        runId: entry.runId,
        logFile: entry.logFile,
        submittedAt: entry.submittedAt,
        state: status?.state,
        reason: status?.reason,
        elapsedSeconds: status?.elapsedSeconds,
        ended,
        description: describeJob(status),
      };
    }),
    problem,
  };
}

function describeJob(status: SlurmJobStatus | undefined): string {
  if (status === undefined) return 'state unknown (Slurm did not answer)';
  if (isEnded(status)) return `ended (${describeEnd(status)}): \`sluice run --attach\` records it`;
  if (status.state === 'RUNNING' && status.elapsedSeconds !== undefined)
    return `running for ${formatDuration(status.elapsedSeconds * 1000)}`;
  return describeEnd(status);
}
