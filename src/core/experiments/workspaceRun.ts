// A `sluice run` in the developer's workspace, as the CLI and the editor start
// it: the pipeline run, then its experiment record. The code and the data it
// ran on are read before the run changes anything: what the stages saw, not
// what changed after. A run that changes nothing records nothing, so it never
// reads them, and a no-op run starts no git process.
import type { PipelineContext } from '../pipelines/context';
import { runPipelines, type RunOptions, type RunReport } from '../pipelines/runner';
import type { Experiment, ExperimentContent } from './records';
import { latestSnapshots, recordRun, workspaceCode } from './recording';

export interface WorkspaceRun {
  readonly report: RunReport;
  /** The record written; undefined when no stage ran or failed (nothing new to record) or the run was cancelled. */
  readonly experiment: Experiment | undefined;
}

interface Seen {
  readonly code: ExperimentContent['code'];
  readonly snapshots: Record<string, string | null>;
}

export async function runWorkspace(
  context: PipelineContext,
  options: RunOptions & { readonly name?: string | undefined } = {},
): Promise<WorkspaceRun> {
  const home = context.workspace;
  let reading: Promise<Seen> | undefined;
  const seen = (): Promise<Seen> =>
    (reading ??= Promise.all([workspaceCode(home), latestSnapshots(home)]).then(([code, snapshots]) => ({
      code,
      snapshots,
    })));
  const report = await runPipelines(context, {
    ...options,
    beforeChanges: async () => {
      await seen();
      await options.beforeChanges?.();
    },
  });
  // A run that only skipped or restored computed nothing new: the record of the run that did stands.
  const ranSomething = report.stages.some((stage) => stage.result === 'ran' || stage.result === 'failed');
  // A detached run is not over: the run that records its jobs leaves the record.
  const detached = report.stages.some((stage) => stage.result === 'queued');
  if (!ranSomething || detached || report.cancelled) return { report, experiment: undefined };
  // A stage can fail without the run changing anything (a dep missing): then nothing has been read yet,
  // and the workspace is still as the run found it.
  const { code, snapshots } = await seen();
  const experiment = await recordRun(context, report, {
    origin: 'workspace',
    home,
    overrides: context.overrides,
    name: options.name,
    code,
    snapshots,
  });
  return { report, experiment };
}
