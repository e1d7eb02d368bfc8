// `sluice status [--json]`: what is stale and why, which datasets changed, what is live.
import { listEnvironments } from '../core/environments/live';
import { shortId } from '../core/format';
import { openPipelines } from '../core/pipelines/context';
import { stageStatuses } from '../core/pipelines/status';
import { stageJobs } from '../core/pipelines/slurmJobs';
import { datasetStatus, describeDatasetStatus, type DatasetStatus } from '../core/snapshots/datasetStatus';
import { openWorkspace, type Workspace } from '../core/workspace';
import type { StatusJson } from '../core/operations/results';
import { JSON_FLAG, type Command } from './command';
import { repairCurrent } from './envs';

export const statusCommand: Command = {
  name: 'status',
  usage: '[--json]',
  summary: 'Show what is stale, which datasets changed and what is live',
  details: [
    'A stage is stale when its command, deps, datasets, params or declared outputs changed since its ' +
      'last successful run, when an upstream stage is not up to date, or when an output is missing or ' +
      'was modified. `sluice run` decides the same way: what status calls up to date, run skips.',
    'A dataset is missing (nothing at its path, as in a fresh clone), no-snapshot (none recorded or ' +
      'fetched yet), changed (differs from its latest snapshot) or unchanged.',
  ],
  flags: [JSON_FLAG],
  maxPositionals: 0,
  async run(args) {
    const workspace = await openWorkspace('.');
    const context = openPipelines(workspace);
    const { jobs, problem } = await stageJobs(workspace.sluiceDir);
    const jobOf = new Map(jobs.map((job) => [job.stage, job]));
    const stages = stageStatuses(context).map((status) => {
      const job = jobOf.get(`${status.pipeline}.${status.stage}`);
      return job === undefined ? status : { ...status, job };
    });
    const datasets = await datasetStatuses(workspace);
    await repairCurrent(workspace);
    // What is live where, as `sluice envs` reads it (in promotion order).
    const environments = (await listEnvironments(workspace)).map(({ name, release }) => ({ name, release }));
    context.save();
    if (args.has('json')) {
      const json: StatusJson = { stages, datasets, environments, ...(problem ? { slurm: problem } : {}) };
      console.log(JSON.stringify(json));
      return 0;
    }
    for (const pipeline of context.plan.pipelines.values()) {
      console.log(`pipeline ${pipeline.name}`);
      for (const status of stages.filter((s) => s.pipeline === pipeline.name)) {
        const why = status.reasons.length > 0 ? `: ${status.reasons.join('; ')}` : '';
        console.log(`  ${status.state.padEnd(10)} ${status.stage}${why}`);
        if ('job' in status)
          console.log(`  ${''.padEnd(10)} ⧗ Slurm job ${status.job.id}: ${status.job.description}`);
      }
    }
    if (problem) console.log(`sluice: the Slurm jobs' states are not known: ${problem.message}`);
    if (datasets.length > 0) {
      console.log('datasets');
      for (const dataset of datasets) {
        // A missing dataset or one without a snapshot says what to do; the others need no words.
        const why =
          dataset.state === 'missing' || dataset.state === 'no-snapshot'
            ? `: ${describeDatasetStatus(dataset)}`
            : '';
        console.log(`  ${dataset.state.padEnd(11)} ${dataset.name}${why}`);
      }
    }
    if (environments.length > 0) {
      console.log('environments');
      for (const environment of environments)
        console.log(
          `  ${environment.name}: ${environment.release === null ? '(nothing live)' : shortId(environment.release)}`,
        );
    }
    return 0;
  },
};

/** Datasets asked about at once: each asks git a few times, and a git process mostly waits. */
const DATASETS_AT_ONCE = 4;

/**
 * Every dataset's status, in manifest order, a few at once. A failure is the
 * first in manifest order, as when they were asked one after the other.
 */
async function datasetStatuses(workspace: Workspace): Promise<DatasetStatus[]> {
  const names = [...workspace.manifest.datasets.keys()];
  const outcomes: PromiseSettledResult<DatasetStatus>[] = [];
  let next = 0;
  const ask = async (): Promise<void> => {
    for (let index = next++; index < names.length; index = next++) {
      outcomes[index] = await datasetStatus(workspace, names[index]!).then(
        (value) => ({ status: 'fulfilled', value }),
        (reason: unknown) => ({ status: 'rejected', reason }),
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(DATASETS_AT_ONCE, names.length) }, ask));
  return outcomes.map((outcome) => {
    if (outcome.status === 'rejected') throw outcome.reason;
    return outcome.value;
  });
}
