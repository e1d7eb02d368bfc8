// Where a stage's open Slurm job stands, in the four phases a face shows
// (the Pipelines view's icon and counts, the status bar): waiting in the
// queue, running, ended and waiting to be recorded, or not known because
// Slurm could not be asked. Types only from the rest of core, so the pipeline
// graph's page script, which runs in a browser, may import it too.
import type { SlurmJobState } from '../process/slurmStates';
import type { StageJob } from './slurmJobs';

export type StageJobPhase = 'queued' | 'running' | 'ended' | 'unknown';

/**
 * States of a job that has not started, or was put back in the queue: it
 * holds no node. Every other state short of an end (CONFIGURING, RUNNING,
 * COMPLETING, SUSPENDED, STOPPED, …) has its node and counts as running.
 */
const WAITING: ReadonlySet<SlurmJobState> = new Set<SlurmJobState>([
  'PENDING',
  'REQUEUED',
  'REQUEUE_FED',
  'REQUEUE_HOLD',
  'RESV_DEL_HOLD',
  'SPECIAL_EXIT',
]);

export function stageJobPhase(job: StageJob): StageJobPhase {
  if (job.ended) return 'ended';
  // No answer from Slurm, or a job nothing remembers (yet): where it is, is not known.
  if (job.state === undefined || job.state === 'UNKNOWN') return 'unknown';
  return WAITING.has(job.state) ? 'queued' : 'running';
}

/** Whether Slurm may still start, run or end the job: what a face follows and what Cancel may stop. */
export function isActive(job: StageJob): boolean {
  return stageJobPhase(job) !== 'ended';
}
