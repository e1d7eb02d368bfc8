// What the status bar says of the window's Slurm jobs: how many are queued or
// running, split in its tooltip. Counted from the jobs the model last read,
// in the phases the engine gives them. No vscode import.
import { stageJobPhase, type StageJobPhase } from '../../core/pipelines/slurmJobPhase';
import type { StageJobs } from '../../core/pipelines/slurmJobs';

export interface SlurmJobsStatus {
  readonly text: string;
  readonly tooltip: string;
}

const PHASE_WORDS: Readonly<Record<Exclude<StageJobPhase, 'ended'>, string>> = {
  running: 'running',
  queued: 'queued (pending)',
  unknown: 'in a state Slurm did not say',
};

/**
 * The jobs queued or running in any folder of the window; undefined when
 * none is. A job that ended and waits for a run to record it is not counted:
 * Slurm has nothing more to do with it.
 */
export function slurmJobsStatus(folders: readonly StageJobs[]): SlurmJobsStatus | undefined {
  const counts = new Map<StageJobPhase, number>();
  for (const { jobs } of folders)
    for (const job of jobs) {
      const phase = stageJobPhase(job);
      counts.set(phase, (counts.get(phase) ?? 0) + 1);
    }
  const phases = (['running', 'queued', 'unknown'] as const).filter((phase) => counts.has(phase));
  const total = phases.reduce((sum, phase) => sum + (counts.get(phase) ?? 0), 0);
  if (total === 0) return undefined;
  const split = phases.map((phase) => `${String(counts.get(phase))} ${PHASE_WORDS[phase]}`).join(', ');
  const problems = folders.flatMap(({ problem }) =>
    problem === undefined ? [] : [`Slurm could not be asked: ${problem.message}`],
  );
  return {
    text: `$(server-process) ${String(total)} Slurm job${total === 1 ? '' : 's'}`,
    tooltip: [
      `Slurm jobs of this workspace: ${split}.`,
      ...problems,
      'Click to see them in the Pipelines view.',
    ].join('\n'),
  };
}
