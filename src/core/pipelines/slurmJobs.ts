// The jobs one run has on a Slurm cluster: submitted through the client,
// followed by one poller for all of them (one squeue per tick, however many
// jobs), cancelled together. The runner awaits each job's end as it would a
// local process's.
import { SluiceError } from '../errors';
import { SlurmClient, type SlurmSubmission } from '../process/slurm';
import { isEnded, unrunnable, type SlurmJobStatus } from '../process/slurmStates';

/** How often the jobs of a run are asked about while some are pending or running. */
const POLL_MS = 250;

interface Waiter {
  readonly name: string;
  readonly outputFile: string;
  readonly resolve: (status: SlurmJobStatus) => void;
  readonly reject: (error: unknown) => void;
}

export class SlurmJobs {
  private readonly waiting = new Map<string, Waiter>();
  private polling: Promise<void> | undefined;
  private cancelling = false;

  constructor(private readonly client: SlurmClient = new SlurmClient()) {}

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

  /** Cancels some jobs (the dependants of a stage that failed, so they do not wait in the queue). */
  cancel(ids: readonly string[]): Promise<void> {
    return this.client.cancel(ids.filter((id) => this.waiting.has(id)));
  }

  private async poll(): Promise<void> {
    while (this.waiting.size > 0) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      const ids = [...this.waiting.keys()];
      let states: SlurmJobStatus[];
      try {
        states = await this.client.jobStates(
          ids.map((id) => ({ id, outputFile: this.waiting.get(id)!.outputFile })),
        );
      } catch (error) {
        // The controller not answering is every waiting job's problem: each stage says so.
        for (const id of ids)
          this.settle(id, (waiter) => {
            waiter.reject(error);
          });
        return;
      }
      for (const status of states) {
        const waiter = this.waiting.get(status.id);
        if (!waiter) continue;
        if (isEnded(status)) {
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
