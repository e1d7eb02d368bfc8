// The Pipelines view's elements and how each one looks: plain data built from
// the engine's plan and stage states, and a description the tree provider only
// copies into a TreeItem. No vscode import, so labels, icons, tooltips and
// menus are unit-tested (test/models/pipelineTreeModel.test.ts).
import type { ItemLook } from '../treeItems';
import type { StageState } from '../../core/pipelines/status';
import type { RunStageJson } from '../../core/operations/results';
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
  /** Offset of the stage's name in sluice.yaml. */
  readonly offset: number;
}

export interface PipelineView {
  readonly name: string;
  readonly stages: readonly StageView[];
}

/** A folder as the Pipelines view has read it. */
export interface FolderPipelines {
  readonly state: FolderState;
  /** Empty unless the folder is ready or restricted, or when its states could not be read. */
  readonly pipelines: readonly PipelineView[];
  /** Why the states could not be read, when they could not. */
  readonly problem: string | undefined;
}

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
}

export interface StageNode {
  readonly kind: 'stage';
  readonly parent: PipelineNode;
  readonly stage: StageView;
  /** Set while a run that includes this stage goes on. */
  readonly progress: RunProgress | undefined;
}

export type PipelinesNode = FolderNode | PipelineNode | StageNode;

/** How a node looks; the provider copies it into a TreeItem. */
export type NodeLook = ItemLook;

/** The shown state of a stage: the run's progress overrides what the files said before it. */
export type ShownState = StageState | 'running';

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
};

const STATE_WORDS: Readonly<Record<ShownState, string>> = {
  'up-to-date': 'up to date',
  stale: 'stale',
  'never-run': 'never run',
  failed: 'failed',
  running: 'running',
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
  }));
}

export function stageNodes(
  node: PipelineNode,
  progressOf: (root: string, stageId: string) => RunProgress | undefined,
): StageNode[] {
  return node.pipeline.stages.map((stage) => ({
    kind: 'stage',
    parent: node,
    stage,
    progress: progressOf(node.root, stage.id),
  }));
}

/** What a stage shows: running while it runs, the run's result once it finished, else its state. */
export function shownState(stage: StageView, progress: RunProgress | undefined): ShownState {
  if (progress === undefined) return stage.state;
  if (progress.kind === 'running') return 'running';
  switch (progress.result) {
    case 'ran':
    case 'restored':
    case 'skipped':
      return 'up-to-date';
    case 'failed':
      return 'failed';
    case 'not-run':
      return stage.state;
  }
}

/** A pipeline's summary: how many stages are in each state, worst first. */
export function summarizeStages(states: readonly ShownState[]): string {
  const order: ShownState[] = ['running', 'failed', 'stale', 'never-run', 'up-to-date'];
  const counts = new Map<ShownState, number>();
  for (const state of states) counts.set(state, (counts.get(state) ?? 0) + 1);
  if (counts.size === 1 && counts.has('up-to-date')) return 'up to date';
  return order
    .filter((state) => counts.has(state))
    .map((state) => `${String(counts.get(state))} ${STATE_WORDS[state]}`)
    .join(', ');
}

export function describeNode(node: PipelinesNode): NodeLook {
  switch (node.kind) {
    case 'folder':
      return describeFolder(node);
    case 'pipeline':
      return describePipeline(node);
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
  const summary = summarizeStages(pipeline.stages.map((stage) => stage.state));
  const stageWord = pipeline.stages.length === 1 ? 'stage' : 'stages';
  return {
    id: `pipeline:${node.root}:${pipeline.name}`,
    label: pipeline.name,
    description: pipeline.stages.length === 0 ? 'no stages' : summary,
    tooltip: `Pipeline ${pipeline.name}: ${String(pipeline.stages.length)} ${stageWord}, ${summary}.`,
    contextValue: 'pipeline',
    icon: { id: 'type-hierarchy', color: undefined },
    collapsible: 'expanded',
  };
}

function describeStage(node: StageNode): NodeLook {
  const { stage, progress } = node;
  const state = shownState(stage, progress);
  const lines = [`${stage.id}: ${STATE_WORDS[state]}`];
  if (state !== 'running' && stage.reasons.length > 0 && progress === undefined) {
    lines.push(...stage.reasons.map((reason) => `• ${reason}`));
  }
  lines.push(`$ ${stage.run}`);
  if (stage.upstream.length > 0) lines.push(`after ${stage.upstream.join(', ')}`);
  if (stage.outs.length > 0) lines.push(`writes ${stage.outs.join(', ')}`);
  return {
    id: `stage:${node.parent.root}:${stage.id}`,
    label: stage.name,
    description: STATE_WORDS[state],
    tooltip: lines.join('\n'),
    // Running stages get no Run items: one run at a time per workspace.
    contextValue: state === 'running' ? 'stage.running' : 'stage',
    icon: ICONS[state],
    collapsible: 'none',
  };
}

export function parentOf(node: PipelinesNode): PipelinesNode | undefined {
  return node.kind === 'folder' ? undefined : node.parent;
}
