// Cancelling a workspace's open Slurm jobs from outside the run that follows
// them (the editor's Cancel, a run long gone after --detach): one scancel for
// all of them. Whichever run records them later records them as cancelled.
import { SlurmClient } from '../process/slurm';
import { slurmFailure } from './slurmJobs';
import { readOpenJobs } from './slurmJournal';

/**
 * Cancels the open jobs of the stages named (`pipeline.stage`), or every
 * open job of the workspace when none is named: one scancel. The jobs stay
 * in the journal until a run records them (as cancelled). Returns the job ids
 * asked to stop; throws the client's SluiceError (a `slurm-*` code) when
 * scancel fails.
 */
export async function cancelStageJobs(
  sluiceDir: string,
  stages?: readonly string[],
  client: SlurmClient = new SlurmClient(),
): Promise<string[]> {
  const open = [...readOpenJobs(sluiceDir).values()].filter(
    (entry) => stages === undefined || stages.includes(entry.stage),
  );
  const ids = open.map((entry) => entry.job);
  try {
    await client.cancel(ids);
  } catch (error) {
    throw slurmFailure(error, open[0]?.stage ?? '(none)');
  }
  return ids;
}
