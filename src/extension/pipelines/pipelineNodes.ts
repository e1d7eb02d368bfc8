// The Pipelines view's elements and how each one looks: plain data built from
// the engine's plan, stage states and open Slurm jobs, and a description the
// tree provider only copies into a TreeItem. No vscode import, so labels,
// icons, tooltips and menus are unit-tested (test/models/pipelineTreeModel.test.ts).
import type { ItemLook } from '../treeItems';
import type { StageState } from '../../core/pipelines/status';
import type { RunStageJson } from '../../core/operations/results';
import type { StageJob, StageJobs } from '../../core/pipelines/slurmJobs';
import { isActive, stageJobPhase } from '../../core/pipelines/slurmJobPhase';
import type { FolderState } from '../folders';

/** What the view knows of one stage: the plan's facts and its state now. */
export interface StageView {
  /** `pipeline.stage`. */
  readonly id: string;
  readonly pipeline: string;
  readonly name: string;
  readonly run: string;
  readonly state: StageState;
  readonly reasons: readonly string[];
  /** Stages of the same pipeline it runs after. */
  readonly upstream: readonly string[];
  /** Workspace-relative outputs (outs, then metrics). */
  readonly outs: readonly string[];
  /** Offset of the stage's name in sluice.yaml (for a generated stage, its template's name). */
  readonly offset: number;
  /** `frozen: true`: the engine never runs it, and still reports its state. */
  readonly frozen: boolean;
  /** For a stage a template generated: the template's name and the stage's key there. */
  readonly template: { readonly name: string; readonly key: string } | undefined;
}

/** A stage template (`foreach` + `do`, or `matrix`) as the manifest declares it. */
export interface TemplateView {
  readonly name: string;
  readonly kind: 'foreach' | 'matrix';
  /** Offset of the template's name in sluice.yaml. */
  readonly offset: number;
}

export interface PipelineView {
  readonly name: string;
  /** In plan order, generated stages included. */
  readonly stages: readonly StageView[];
  /** The pipeline's templates in manifest order, those that generated nothing included. */
  readonly templates: readonly TemplateView[];
}

/** A folder as the Pipelines view has read it. */
export interface FolderPipelines {
  readonly state: FolderState;
  /** Empty unless the folder is ready or restricted, or when its states could not be read. */
  readonly pipelines: readonly PipelineView[];
  /** Why the states could not be read, when they could not. */
  readonly problem: string | undefined;
  /** The folder's open Slurm jobs, as Slurm last said of them (read again while some are queued or running). */
  readonly jobs: StageJobs;
}

/** A folder with no open Slurm job (or one whose jobs are not read: no manifest, say). */
export const NO_JOBS: StageJobs = { jobs: [], problem: undefined };

/** Where a run stands for one stage, while the run goes on: once finished, its result as `run --json` reports it. */
export type RunProgress =
  { readonly kind: 'running' } | { readonly kind: 'finished'; readonly result: RunStageJson['result'] };

export interface FolderNode {
  readonly kind: 'folder';
  readonly state: FolderState;
}

export interface PipelineNode {
  readonly kind: 'pipeline';
  readonly parent: FolderNode | undefined;
  /** The workspace root (the folder of sluice.yaml). */
  readonly root: string;
  readonly manifestFile: string;
  readonly pipeline: PipelineView;
  /** The open Slurm jobs of the pipeline's folder (its stages' among them). */
  readonly jobs: StageJobs;
}

export interface StageNode {
  readonly kind: 'stage';
  /** The stage's pipeline (also for a generated stage, which the tree lists under its template). */
  readonly parent: PipelineNode;
  /** The template node a generated stage is listed under. */
  readonly group: TemplateNode | undefined;
  readonly stage: StageView;
  /** Set while a run that includes this stage goes on. */
  readonly progress: RunProgress | undefined;
  /** The stage's Slurm job that is queued, running, or ended and not yet recorded. */
  readonly job: StageJob | undefined;
}

/** A template's generated stages, grouped under one node in the template's place. */
export interface TemplateNode {
  readonly kind: 'template';
  readonly parent: PipelineNode;
  readonly template: TemplateView;
  /** The stages it generated, in plan order. */
  readonly stages: readonly StageNode[];
}

export type PipelinesNode = FolderNode | PipelineNode | TemplateNode | StageNode;

/** What a pipeline node holds: its plain stages and its templates, in plan order. */
export type PipelineChild = StageNode | TemplateNode;

/** How a node looks; the provider copies it into a TreeItem. */
export type NodeLook = ItemLook;

/**
 * The shown state of a stage: the run's progress and its Slurm job override
 * what the files said before them. `queued`: its job waits in Slurm's queue
 * (or Slurm could not say where it is); `running`: its command runs, here or
 * on a node.
 */
export type ShownState = StageState | 'running' | 'queued';

/**
 * Restricted Mode still shows states: computing them reads files and the
 * records in .sluice/, and runs neither git nor any command of the manifest.
 */
export const RESTRICTED_PIPELINES_NOTE =
  'Restricted Mode: the states are read from the files only (no git, no stage command); ' +
  'nothing runs until you trust this folder.';

const ICONS: Readonly<Record<ShownState, NodeLook['icon']>> = {
  'up-to-date': { id: 'pass', color: 'testing.iconPassed' },
  stale: { id: 'history', color: 'list.warningForeground' },
  'never-run': { id: 'circle-large-outline', color: 'testing.iconUnset' },
  failed: { id: 'error', color: 'testing.iconFailed' },
  running: { id: 'loading~spin', color: undefined },
  queued: { id: 'clock', color: undefined },
};

const STATE_WORDS: Readonly<Record<ShownState, string>> = {
  'up-to-date': 'up to date',
  stale: 'stale',
  'never-run': 'never run',
  failed: 'failed',
  running: 'running',
  queued: 'queued',
};

/**
 * The top of the tree. One folder: its pipelines. Several: one node per folder
 * that has a manifest. Nothing readable: no element, so the welcome content shows.
 */
export function rootNodes(folders: readonly FolderPipelines[]): PipelinesNode[] {
  if (folders.length === 1) return pipelineNodes(folders[0]!, undefined);
  return folders
    .filter((folder) => folder.state.kind !== 'noManifest')
    .map((folder): FolderNode => ({ kind: 'folder', state: folder.state }));
}

export function pipelineNodes(folder: FolderPipelines, parent: FolderNode | undefined): PipelineNode[] {
  const { state } = folder;
  if (state.kind !== 'ready' && state.kind !== 'restricted') return [];
  return folder.pipelines.map((pipeline) => ({
    kind: 'pipeline',
    parent,
    root: state.root,
    manifestFile: state.manifestFile,
    pipeline,
    jobs: folder.jobs,
  }));
}

/**
 * A pipeline's children: each plain stage, and one node per template holding
 * the stages it generated, placed where the first of them is in the plan's
 * order. A template that generated nothing comes before the first child
 * written after it in the manifest.
 */
export function pipelineChildren(
  node: PipelineNode,
  progressOf: (root: string, stageId: string) => RunProgress | undefined,
): PipelineChild[] {
  const declared = new Map(node.pipeline.templates.map((template) => [template.name, template]));
  const groups = new Map<string, { node: TemplateNode; stages: StageNode[] }>();
  const children: PipelineChild[] = [];
  const jobs = jobsByStage(node.jobs);
  for (const stage of node.pipeline.stages) {
    const progress = progressOf(node.root, stage.id);
    const job = jobs.get(stage.id);
    const template = stage.template && declared.get(stage.template.name);
    if (template === undefined) {
      children.push({ kind: 'stage', parent: node, group: undefined, stage, progress, job });
      continue;
    }
    let group = groups.get(template.name);
    if (group === undefined) {
      const stages: StageNode[] = [];
      group = { node: { kind: 'template', parent: node, template, stages }, stages };
      groups.set(template.name, group);
      children.push(group.node);
    }
    group.stages.push({ kind: 'stage', parent: node, group: group.node, stage, progress, job });
  }
  for (const template of node.pipeline.templates) {
    if (groups.has(template.name)) continue;
    const empty: TemplateNode = { kind: 'template', parent: node, template, stages: [] };
    const after = children.findIndex((child) => offsetOf(child) > template.offset);
    children.splice(after < 0 ? children.length : after, 0, empty);
  }
  return children;
}

/** Every stage of a pipeline in plan order, generated ones with the template node they are listed under. */
export function stageNodes(
  node: PipelineNode,
  progressOf: (root: string, stageId: string) => RunProgress | undefined,
): StageNode[] {
  return pipelineChildren(node, progressOf).flatMap((child) =>
    child.kind === 'stage' ? [child] : child.stages,
  );
}

function jobsByStage(jobs: StageJobs): Map<string, StageJob> {
  return new Map(jobs.jobs.map((job) => [job.stage, job]));
}

function offsetOf(child: PipelineChild): number {
  return child.kind === 'stage' ? child.stage.offset : child.template.offset;
}

/** What Run on a node asks the engine for: a stage by its id, a template as `PIPELINE.TEMPLATE` (all its stages). */
export function runTarget(node: StageNode | TemplateNode): string {
  return node.kind === 'stage' ? node.stage.id : `${node.parent.pipeline.name}.${node.template.name}`;
}

/** Where a node's name is written in sluice.yaml: a generated stage's is its template's. */
export function manifestName(node: StageNode | TemplateNode): { offset: number; name: string } {
  if (node.kind === 'template') return { offset: node.template.offset, name: node.template.name };
  const { stage } = node;
  return { offset: stage.offset, name: stage.template?.name ?? stage.name };
}

/**
 * What a stage shows: the result of the editor's run once it finished there;
 * before that, where its Slurm job is (queued or running), or running while
 * the editor's run runs it; else its state. A job that ended and waits to be
 * recorded changes nothing yet: the stage is what its records say until a run
 * records the job.
 */
export function shownState(stage: StageView, progress: RunProgress | undefined, job?: StageJob): ShownState {
  if (progress?.kind !== 'finished') {
    const phase = job === undefined ? undefined : stageJobPhase(job);
    // Slurm not answering: the job is still submitted and not known to have started.
    if (phase === 'queued' || phase === 'unknown') return 'queued';
    if (phase === 'running' || progress?.kind === 'running') return 'running';
    return stage.state;
  }
  switch (progress.result) {
    case 'ran':
    case 'restored':
      return 'up-to-date';
    case 'skipped':
      // A frozen stage is skipped whatever its state: the run says nothing new about it.
      return stage.frozen ? stage.state : 'up-to-date';
    case 'failed':
      return 'failed';
    case 'not-run':
      return stage.state;
    case 'queued':
      return 'queued';
  }
}

/** Shown states from the one that most needs attention to the one that needs none. */
const WORST_FIRST: readonly ShownState[] = [
  'running',
  'queued',
  'failed',
  'stale',
  'never-run',
  'up-to-date',
];

/** A pipeline's summary: how many stages are in each state, worst first. */
export function summarizeStages(states: readonly ShownState[]): string {
  const counts = countStates(states);
  if (counts.size === 1 && counts.has('up-to-date')) return 'up to date';
  return WORST_FIRST.filter((state) => counts.has(state))
    .map((state) => `${String(counts.get(state))} ${STATE_WORDS[state]}`)
    .join(', ');
}

/** The state of the stage that most needs attention; undefined for none. */
export function worstState(states: readonly ShownState[]): ShownState | undefined {
  const counts = countStates(states);
  return WORST_FIRST.find((state) => counts.has(state));
}

/** A template's summary: its stage count, then only the states that need attention (`4 stages · 1 stale`). */
export function summarizeTemplate(states: readonly ShownState[]): string {
  if (states.length === 0) return 'no stages';
  const pending = states.filter((state) => state !== 'up-to-date');
  return `${plural(states.length, 'stage')} · ${pending.length === 0 ? 'up to date' : summarizeStages(pending)}`;
}

function countStates(states: readonly ShownState[]): Map<ShownState, number> {
  const counts = new Map<ShownState, number>();
  for (const state of states) counts.set(state, (counts.get(state) ?? 0) + 1);
  return counts;
}

function plural(count: number, word: string): string {
  return `${String(count)} ${word}${count === 1 ? '' : 's'}`;
}

export function describeNode(node: PipelinesNode): NodeLook {
  switch (node.kind) {
    case 'folder':
      return describeFolder(node);
    case 'pipeline':
      return describePipeline(node);
    case 'template':
      return describeTemplate(node);
    case 'stage':
      return describeStage(node);
  }
}

function describeFolder(node: FolderNode): NodeLook {
  const { state } = node;
  const name = state.folder.split(/[\\/]/).pop() ?? state.folder;
  const restricted = state.kind === 'restricted';
  return {
    id: `folder:${state.folder}`,
    label: name,
    description: state.kind === 'ready' || restricted ? undefined : problemWord(state.kind),
    tooltip: restricted ? `${state.folder}\n${RESTRICTED_PIPELINES_NOTE}` : state.folder,
    contextValue: `folder.${state.kind}`,
    icon: { id: 'root-folder', color: undefined },
    collapsible: 'expanded',
  };
}

function problemWord(kind: FolderState['kind']): string {
  switch (kind) {
    case 'invalidManifest':
      return 'sluice.yaml has errors';
    case 'noGit':
      return 'not a git repository';
    case 'failed':
      return 'could not be read';
    default:
      return '';
  }
}

function describePipeline(node: PipelineNode): NodeLook {
  const { pipeline } = node;
  const jobs = jobsByStage(node.jobs);
  const stageJobs = pipeline.stages.flatMap((stage) => jobs.get(stage.id) ?? []);
  // No run progress here: the pipeline node counts what the records and Slurm say.
  const summary = summarizeStages(
    pipeline.stages.map((stage) => shownState(stage, undefined, jobs.get(stage.id))),
  );
  const stageWord = pipeline.stages.length === 1 ? 'stage' : 'stages';
  const lines = [`Pipeline ${pipeline.name}: ${String(pipeline.stages.length)} ${stageWord}, ${summary}.`];
  if (stageJobs.length > 0) lines.push(...problemLines(node.jobs));
  return {
    id: `pipeline:${node.root}:${pipeline.name}`,
    label: pipeline.name,
    description: pipeline.stages.length === 0 ? 'no stages' : summary,
    tooltip: lines.join('\n'),
    contextValue: menusOf('pipeline', false, stageJobs.some(isActive)),
    icon: { id: 'type-hierarchy', color: undefined },
    collapsible: 'expanded',
  };
}

/** A template's stages, expanded unless there are more than this. */
const EXPANDED_TEMPLATE_STAGES = 10;

function describeTemplate(node: TemplateNode): NodeLook {
  const { template, stages } = node;
  const pipeline = node.parent.pipeline.name;
  const states = stages.map((child) => shownState(child.stage, child.progress, child.job));
  const worst = worstState(states);
  const lines = [
    `${pipeline}.${template.name}: ${template.kind} template, ${stages.length === 0 ? 'no stages' : `${plural(stages.length, 'stage')}, ${summarizeStages(states)}`}`,
  ];
  const frozen = stages.filter((child) => child.stage.frozen).length;
  if (frozen > 0) lines.push(`${String(frozen)} frozen (never run)`);
  if (stages.length > 0) lines.push(`Run runs ${runTarget(node)}: every stage it generated.`);
  if (stages.some((child) => child.job !== undefined)) lines.push(...problemLines(node.parent.jobs));
  return {
    id: `template:${node.parent.root}:${pipeline}.${template.name}`,
    label: template.name,
    description: summarizeTemplate(states),
    tooltip: lines.join('\n'),
    contextValue: menusOf(
      'template',
      stages.some((child) => child.progress?.kind === 'running'),
      stages.some((child) => child.job !== undefined && isActive(child.job)),
    ),
    icon: worst === undefined ? { id: 'layers', color: undefined } : ICONS[worst],
    collapsible:
      stages.length === 0 ? 'none' : stages.length > EXPANDED_TEMPLATE_STAGES ? 'collapsed' : 'expanded',
  };
}

function describeStage(node: StageNode): NodeLook {
  const { stage, progress, job } = node;
  const state = shownState(stage, progress, job);
  const lines = [`${stage.id}: ${STATE_WORDS[state]}${stage.frozen ? ', frozen' : ''}`];
  if (job !== undefined) lines.push(...jobLines(job), ...problemLines(node.parent.jobs));
  if (state !== 'running' && state !== 'queued' && stage.reasons.length > 0 && progress === undefined) {
    lines.push(...stage.reasons.map((reason) => `• ${reason}`));
  }
  lines.push(`$ ${stage.run}`);
  if (stage.upstream.length > 0) lines.push(`after ${stage.upstream.join(', ')}`);
  if (stage.outs.length > 0) lines.push(`writes ${stage.outs.join(', ')}`);
  return {
    id: `stage:${node.parent.root}:${stage.id}`,
    // Under its template a generated stage goes by its key; the tooltip names it in full.
    label: node.group !== undefined && stage.template !== undefined ? stage.template.key : stage.name,
    description: describeStageState(stage, state, job),
    tooltip: lines.join('\n'),
    contextValue: menusOf('stage', progress?.kind === 'running', job !== undefined && isActive(job)),
    icon: ICONS[state],
    collapsible: 'none',
  };
}

/** A stage with a job says where the job is, in the engine's words (`Slurm 123 · pending (Dependency)`). */
function describeStageState(stage: StageView, state: ShownState, job: StageJob | undefined): string {
  if (job !== undefined) return `Slurm ${job.id} · ${job.description}`;
  return stage.frozen ? `${STATE_WORDS[state]} · frozen` : STATE_WORDS[state];
}

function jobLines(job: StageJob): string[] {
  return [
    `Slurm job ${job.id}: ${job.description}`,
    `submitted ${job.submittedAt}; its output: ${job.logFile}`,
  ];
}

/** Why the jobs' states are not known, when Slurm could not be asked (said here, not in a popup at every read). */
function problemLines(jobs: StageJobs): string[] {
  return jobs.problem === undefined ? [] : [`Slurm could not be asked: ${jobs.problem.message}`];
}

/**
 * A node's menus (package.json's `viewItem` clauses): its kind, `.running`
 * while the editor's run runs it (no Run items then: one run at a time per
 * workspace), `.slurm` while it has a job Slurm may still start or end
 * (Cancel Slurm Job).
 */
function menusOf(kind: 'pipeline' | 'template' | 'stage', running: boolean, slurm: boolean): string {
  return `${kind}${running ? '.running' : ''}${slurm ? '.slurm' : ''}`;
}

export function parentOf(node: PipelinesNode): PipelinesNode | undefined {
  switch (node.kind) {
    case 'folder':
      return undefined;
    case 'stage':
      return node.group ?? node.parent;
    default:
      return node.parent;
  }
}
