// Stage as a release: the experiment's commit, snapshots and params overrides
// built into a release on a clean copy, behind the same checks as `stage`.
import { shortId } from '../format';
import { stageRelease, type StageOptions, type StageResult } from '../environments/staging';
import { SluiceError } from '../errors';
import type { Workspace } from '../workspace';
import { findExperiment } from './records';
import { readExperimentRows } from './show';

export async function stageExperiment(
  workspace: Workspace,
  idOrName: string,
  options: Omit<StageOptions, 'code' | 'snapshots' | 'overrides'> = {},
): Promise<StageResult> {
  const experiment = findExperiment(await readExperimentRows(workspace), idOrName);
  if (experiment.code.commit === null)
    throw new SluiceError(
      `Experiment ${experiment.name} ran before the first commit.`,
      'failed',
      'Commit the code and run it again.',
      { code: 'experiment-not-stageable', data: { id: experiment.id } },
    );
  if (experiment.code.dirty)
    options.onWarning?.(
      `Experiment ${experiment.name} ran uncommitted changes; the release is built from commit ${shortId(experiment.code.commit)} without them.`,
    );
  const snapshots: Record<string, string> = {};
  for (const [name, id] of Object.entries(experiment.snapshots)) if (id !== null) snapshots[name] = id;
  return stageRelease(workspace, {
    ...options,
    code: experiment.code.commit,
    snapshots,
    overrides: experiment.overrides,
  });
}
