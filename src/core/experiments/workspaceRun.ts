// A `sluice run` in the developer's workspace, as the CLI and the editor start
// it: the pipeline run, then its experiment record. The code and the data it
// ran on are read before it starts: what the stages saw, not what changed after.
import type { PipelineContext } from '../pipelines/context';
import { runPipelines, type RunOptions, type RunReport } from '../pipelines/runner';
import type { Experiment } from './records';
import { latestSnapshots, recordRun, workspaceCode } from './recording';

export interface WorkspaceRun {
  readonly report: RunReport;
  /** The record written; undefined when no stage ran or failed (nothing new to record) or the run was cancelled. */
  readonly experiment: Experiment | undefined;
}

export async function runWorkspace(
  context: PipelineContext,
  options: RunOptions & { readonly name?: string | undefined } = {},
): Promise<WorkspaceRun> {
  const home = context.workspace;
  const code = await workspaceCode(home);
  const snapshots = await latestSnapshots(home);
  const report = await runPipelines(context, options);
  // A run that only skipped or restored computed nothing new: the record of the run that did stands.
  const ranSomething = report.stages.some((stage) => stage.result === 'ran' || stage.result === 'failed');
  // A detached run is not over: the run that records its jobs leaves the record.
  const detached = report.stages.some((stage) => stage.result === 'queued');
  const experiment =
    ranSomething && !detached && !report.cancelled
      ? await recordRun(context, report, {
          origin: 'workspace',
          home,
          overrides: context.overrides,
          name: options.name,
          code,
          snapshots,
        })
      : undefined;
  return { report, experiment };
}
