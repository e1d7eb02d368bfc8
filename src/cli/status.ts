// `sluice status [--json]`: what is stale and why, which datasets changed, what is live.
import { readHead } from '../core/environments/history';
import { openPipelines } from '../core/pipelines/context';
import { stageStatuses } from '../core/pipelines/status';
import { diffDataset, listSnapshots } from '../core/snapshots/snapshots';
import { openWorkspace, type Workspace } from '../core/workspace';
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
  ],
  flags: [JSON_FLAG],
  maxPositionals: 0,
  async run(args) {
    const workspace = await openWorkspace('.');
    const context = openPipelines(workspace);
    const stages = stageStatuses(context);
    const datasets = [];
    for (const name of workspace.manifest.datasets.keys())
      datasets.push({ name, changed: await datasetChanged(workspace, name) });
    await repairCurrent(workspace);
    const environments = [];
    for (const name of workspace.manifest.environments.keys())
      environments.push({ name, release: (await readHead(workspace.git, name))?.release ?? null });
    context.save();
    if (args.has('json')) {
      console.log(JSON.stringify({ stages, datasets, environments }));
      return 0;
    }
    for (const pipeline of context.plan.pipelines.values()) {
      console.log(`pipeline ${pipeline.name}`);
      for (const status of stages.filter((s) => s.pipeline === pipeline.name)) {
        const why = status.reasons.length > 0 ? `: ${status.reasons.join('; ')}` : '';
        console.log(`  ${status.state.padEnd(10)} ${status.stage}${why}`);
      }
    }
    if (datasets.length > 0) {
      console.log('datasets');
      for (const dataset of datasets)
        console.log(`  ${dataset.changed ? 'changed   ' : 'unchanged '} ${dataset.name}`);
    }
    if (environments.length > 0) {
      console.log('environments');
      for (const environment of environments)
        console.log(`  ${environment.name}: ${environment.release?.slice(0, 12) ?? '(nothing live)'}`);
    }
    return 0;
  },
};

/** A dataset changed when its files differ from its latest snapshot, or it has none yet. */
async function datasetChanged(workspace: Workspace, name: string): Promise<boolean> {
  if ((await listSnapshots(workspace, name, 1)).length === 0) return true;
  const diff = await diffDataset(workspace, name, undefined, undefined);
  return diff.added.length + diff.modified.length + diff.removed.length > 0;
}
