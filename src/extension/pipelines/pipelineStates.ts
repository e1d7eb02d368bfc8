// How the model (model.ts) reads what the Pipelines view shows for one folder: the plan's pipelines and
// each stage's state, through the engine's own stageStatuses (what `sluice
// status` prints), and the stages' open Slurm jobs (what it prints beside them). No vscode import.
// In Restricted Mode only files are read: the manifest, the stage records and
// fingerprints in .sluice/state/, and the deps and outs to hash them; no git
// and no stage command. The jobs are read there too: the journal is a file,
// and squeue runs nothing of the workspace's.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describeError } from '../../core/errors';
import { GitRepository } from '../../core/git/repository';
import type { Manifest } from '../../core/manifest/model';
import { openPipelines, type PipelineContext } from '../../core/pipelines/context';
import type { StagePlan } from '../../core/pipelines/plan';
import { stageStatuses, type StageStatus } from '../../core/pipelines/status';
import { stageJobs, type StageJobs } from '../../core/pipelines/slurmJobs';
import { journalFile } from '../../core/pipelines/slurmJournal';
import { ObjectStore } from '../../core/store/objectStore';
import { SLUICE_DIR, type Workspace } from '../../core/workspace';
import type { FolderState } from '../folders';
import {
  NO_JOBS,
  type FolderPipelines,
  type PipelineView,
  type StageView,
  type TemplateView,
} from './pipelineNodes';

/**
 * The pipelines of a folder with their states now. Trusted, the fingerprints
 * learnt are saved, so the next read of unchanged files costs a stat each;
 * untrusted, nothing is written.
 */
export function readFolderPipelines(state: FolderState, jobs: StageJobs = NO_JOBS): FolderPipelines {
  if (state.kind !== 'ready' && state.kind !== 'restricted') {
    return { state, pipelines: [], problem: undefined, jobs: NO_JOBS };
  }
  const trusted = state.kind === 'ready';
  const workspace = trusted
    ? state.workspace
    : readOnlyWorkspace(state.root, state.manifestFile, state.manifest);
  try {
    const context = openPipelines(workspace);
    const pipelines = pipelineViews(context);
    // Only the fingerprint cache: the stage records are the runner's to write.
    if (trusted) context.fingerprints.save();
    return { state, pipelines, problem: undefined, jobs };
  } catch (error) {
    return { state, pipelines: planOnly(workspace), problem: describeError(error), jobs };
  }
}

/**
 * The folder's open Slurm jobs and where each is now: the journal, then one
 * squeue for all of them (none when nothing is open). When Slurm cannot be
 * asked, the jobs come with the problem instead of their states.
 */
export async function readFolderJobs(state: FolderState): Promise<StageJobs> {
  if (state.kind !== 'ready' && state.kind !== 'restricted') return NO_JOBS;
  return stageJobs(join(state.root, SLUICE_DIR));
}

/** The size and time of the folder's journal of jobs ('-' when it has none): what tells that a run wrote it. */
export function journalMark(state: FolderState): string {
  if (state.kind !== 'ready' && state.kind !== 'restricted') return '-';
  try {
    const { size, mtimeMs } = statSync(journalFile(join(state.root, SLUICE_DIR)));
    return `${String(size)}:${String(mtimeMs)}`;
  } catch {
    return '-';
  }
}

/** Each pipeline's stages in plan order, with the state `sluice status` would print. */
export function pipelineViews(context: PipelineContext): PipelineView[] {
  const statuses = new Map(
    stageStatuses(context).map((status) => [`${status.pipeline}.${status.stage}`, status]),
  );
  return viewsOf(context, (stage) => statuses.get(stage.id));
}

/** When the states cannot be read (an unreadable record, say), the stages are still listed. */
function planOnly(workspace: Workspace): PipelineView[] {
  try {
    return viewsOf(openPipelines(workspace), () => undefined);
  } catch {
    return [];
  }
}

function viewsOf(
  context: PipelineContext,
  statusOf: (stage: StagePlan) => StageStatus | undefined,
): PipelineView[] {
  const declared = context.workspace.manifest.pipelines;
  return [...context.plan.pipelines.values()].map((pipeline) => ({
    name: pipeline.name,
    stages: pipeline.stages.map((stage): StageView => {
      const status = statusOf(stage);
      return {
        id: stage.id,
        pipeline: stage.pipeline,
        name: stage.name,
        run: stage.run,
        state: status?.state ?? 'never-run',
        reasons: status?.reasons ?? [],
        upstream: stage.upstream,
        outs: stage.outs,
        offset: stage.offset,
        frozen: stage.frozen,
        template: stage.template,
      };
    }),
    templates: [...(declared.get(pipeline.name)?.templates.values() ?? [])].map((template): TemplateView => ({
      name: template.name,
      kind: template.kind,
      offset: template.nameStart,
    })),
  }));
}

/**
 * A Workspace for reading only, built without openWorkspace (which runs git to
 * ignore .sluice/ on first use). Constructing the store and the git client runs
 * nothing; the pipelines code reads neither.
 */
export function readOnlyWorkspace(root: string, manifestFile: string, manifest: Manifest): Workspace {
  const sluiceDir = join(root, SLUICE_DIR);
  const store = new ObjectStore(sluiceDir);
  return { root, manifestFile, manifest, sluiceDir, store, git: new GitRepository(root, store.scratch) };
}
