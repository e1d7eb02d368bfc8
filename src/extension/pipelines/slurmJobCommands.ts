// Cancel Slurm Job(s): stop the open jobs of a stage, of a template's or a
// pipeline's stages, or of the whole workspace (from the palette), with one
// scancel through the engine's cancelStageJobs, after a modal confirmation.
// The jobs stay in the journal until a run records them, as cancelled.
import * as vscode from 'vscode';
import { cancelStageJobs } from '../../core/pipelines/slurmJobCancel';
import { isActive } from '../../core/pipelines/slurmJobPhase';
import type { StageJob } from '../../core/pipelines/slurmJobs';
import type { CommandTable } from '../commands';
import type { SluiceContext } from '../context';
import type { WorkspaceModel } from '../model';
import { isNode } from './pipelineCommands';
import type { PipelineView } from './pipelineNodes';
import { findPipeline, templateStagesOf } from './pipelinesView';

/** Options a test or another extension may pass after the node. */
export interface CancelSlurmJobsOptions {
  /** Skip the modal confirmation. */
  readonly confirmed?: boolean;
}

/** The jobs a Cancel would stop, and how the messages name where they are. */
interface JobsToCancel {
  readonly root: string;
  /** `stage train.fit`, `pipeline train`, `this workspace`. */
  readonly owner: string;
  readonly jobs: readonly StageJob[];
}

export function slurmJobCommands({ model }: SluiceContext): CommandTable {
  // Not a writing command, so Restricted Mode allows it: scancel runs no code of
  // the workspace (no stage command, no git), as squeue, which shows the jobs,
  // runs none; and nothing on disk changes (the journal keeps the jobs until a
  // run records them), so the handler reads the jobs again itself.
  const cancel = async (arg: unknown, options: unknown): Promise<string[] | undefined> => {
    const target = await jobsToCancel(model, arg);
    if (target === undefined) return undefined;
    if (target.jobs.length === 0) {
      sayNoJobs(target.owner);
      return [];
    }
    if (!isConfirmed(options) && !(await confirmCancel(target))) return undefined;
    const sluiceDir = model.readableWorkspaceAt(target.root).sluiceDir;
    let ids: string[];
    try {
      ids = await cancelStageJobs(
        sluiceDir,
        target.jobs.map((job) => job.stage),
      );
    } finally {
      // Whether scancel stopped all, some or none of them, the view shows what Slurm says now.
      await model.refreshJobs(target.root);
    }
    const which = ids.length === 1 ? `Slurm job ${ids[0]!}` : `${String(ids.length)} Slurm jobs`;
    void vscode.window.showInformationMessage(`Sluice: ${which} of ${target.owner} cancelled.`);
    return ids;
  };
  return { cancelSlurmJob: cancel, cancelSlurmJobs: cancel };
}

function sayNoJobs(owner: string): void {
  void vscode.window.showInformationMessage(`Sluice: No Slurm job of ${owner} is queued or running.`);
}

function isConfirmed(options: unknown): boolean {
  return (
    typeof options === 'object' && options !== null && (options as CancelSlurmJobsOptions).confirmed === true
  );
}

/**
 * A stage node: its job; a template or pipeline node: its stages' jobs;
 * nothing (the palette): every job of the workspace, asking which when
 * several folders have some. Only jobs Slurm may still start or end.
 */
async function jobsToCancel(model: WorkspaceModel, arg: unknown): Promise<JobsToCancel | undefined> {
  const activeOf = (root: string, stages: readonly { readonly id: string }[]): StageJob[] =>
    stages.flatMap((stage) => model.jobOf(root, stage.id) ?? []).filter(isActive);
  if (isNode(arg, 'stage')) {
    const { root } = arg.parent;
    return { root, owner: `stage ${arg.stage.id}`, jobs: activeOf(root, [arg.stage]) };
  }
  if (isNode(arg, 'template')) {
    const { root } = arg.parent;
    const stages = templateStagesOf(model, arg).map((child) => child.stage);
    const owner = `template ${arg.parent.pipeline.name}.${arg.template.name}`;
    return { root, owner, jobs: activeOf(root, stages) };
  }
  if (isNode(arg, 'pipeline')) {
    const { root } = arg;
    const pipeline: PipelineView = (findPipeline(model, root, arg.pipeline.name) ?? arg).pipeline;
    return { root, owner: `pipeline ${pipeline.name}`, jobs: activeOf(root, pipeline.stages) };
  }
  await model.start();
  const folders = model.folders.flatMap(({ state, pipelines }) => {
    const jobs = pipelines.jobs.jobs.filter(isActive);
    return state.kind !== 'noManifest' && jobs.length > 0 ? [{ root: state.root, jobs }] : [];
  });
  if (folders.length === 0) {
    sayNoJobs('this workspace');
    return undefined;
  }
  if (folders.length === 1) return { ...folders[0]!, owner: 'this workspace' };
  const picked = await vscode.window.showQuickPick(
    folders.map((folder) => ({
      label: folder.root,
      description: `${String(folder.jobs.length)} Slurm job${folder.jobs.length === 1 ? '' : 's'}`,
      folder,
    })),
    { placeHolder: 'Cancel the Slurm jobs of which workspace?' },
  );
  return picked && { ...picked.folder, owner: picked.folder.root };
}

async function confirmCancel({ owner, jobs }: JobsToCancel): Promise<boolean> {
  const one = jobs.length === 1;
  const action = one ? 'Cancel Job' : 'Cancel Jobs';
  const choice = await vscode.window.showWarningMessage(
    one
      ? `Cancel Slurm job ${jobs[0]!.id} of ${owner}?`
      : `Cancel ${String(jobs.length)} Slurm jobs of ${owner}?`,
    {
      modal: true,
      detail: [
        ...jobs.map((job) => `${job.id} ${job.stage}: ${job.description}`),
        '',
        `Slurm stops ${one ? 'it' : 'them'} (scancel); a job queued behind one of them can then never start. ` +
          `The next run of the pipeline (\`sluice run --attach\`) records how ${one ? 'it' : 'they'} ended.`,
      ].join('\n'),
    },
    action,
  );
  return choice === action;
}
