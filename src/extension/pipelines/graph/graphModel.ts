// What the pipeline graph shows, and the messages between the extension and
// the graph's webview, declared once for both sides. Plain data: no vscode, no
// DOM, no Node.js, so the webview bundle and the unit tests import it as it is.
import {
  summarizeTemplate,
  worstState,
  type ShownState,
  type PipelineView,
  type StageView,
} from '../pipelineNodes';

export interface GraphNode {
  /** The stage's name (unique within its pipeline; a generated one is `TEMPLATE@KEY`). */
  readonly id: string;
  /** The name, or for a generated stage its key (its group names the template). */
  readonly label: string;
  readonly state: ShownState;
  /** One line of state, then the reasons: the node's tooltip. */
  readonly detail: string;
  /** The id of the group a generated stage is drawn in. */
  readonly group: string | undefined;
}

/** A template's generated stages, drawn inside one box labelled with the template's name. */
export interface GraphGroup {
  /** `template:NAME`: a stage name holds no `:`, so it never equals a stage's id. */
  readonly id: string;
  /** The template's name. */
  readonly label: string;
  /** The state of the stage that most needs attention. */
  readonly state: ShownState;
  readonly detail: string;
}

export interface GraphEdge {
  /** Upstream stage. */
  readonly from: string;
  readonly to: string;
}

export interface PipelineGraph {
  readonly pipeline: string;
  readonly nodes: readonly GraphNode[];
  readonly groups: readonly GraphGroup[];
  readonly edges: readonly GraphEdge[];
}

/** Extension → webview: draw this graph (sent on open and whenever a state changes). */
export interface ShowGraphMessage {
  readonly type: 'graph';
  readonly graph: PipelineGraph;
}

/** Webview → extension: the user clicked a stage or a template's box; reveal it in sluice.yaml. */
export interface RevealStageMessage {
  readonly type: 'reveal';
  /** A stage's name, or a template's. */
  readonly stage: string;
}

/** Webview → extension: the script is listening; send the graph. */
export interface ReadyMessage {
  readonly type: 'ready';
}

export type FromWebviewMessage = RevealStageMessage | ReadyMessage;

/** Messages come from a page; the extension checks their shape before acting on them. */
export function parseWebviewMessage(message: unknown): FromWebviewMessage | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const { type, stage } = message as { type?: unknown; stage?: unknown };
  if (type === 'ready') return { type };
  if (type === 'reveal' && typeof stage === 'string') return { type, stage };
  return undefined;
}

/**
 * A pipeline's graph: a node per stage, an edge from each upstream stage, and
 * a group per template around the stages it generated. `stateOf` gives the
 * shown state (a running stage shows as running).
 */
export function pipelineGraph(view: PipelineView, stateOf: (stage: StageView) => ShownState): PipelineGraph {
  const { name: pipeline, stages, templates } = view;
  const names = new Set(stages.map((stage) => stage.name));
  const declared = new Set(templates.map((template) => template.name));
  const grouped = new Map<string, ShownState[]>();
  const nodes = stages.map((stage): GraphNode => {
    const state = stateOf(stage);
    const reasons = state === stage.state ? stage.reasons : [];
    const template =
      stage.template !== undefined && declared.has(stage.template.name) ? stage.template : undefined;
    if (template !== undefined) grouped.set(template.name, [...(grouped.get(template.name) ?? []), state]);
    return {
      id: stage.name,
      label: template?.key ?? stage.name,
      state,
      detail: [`${stage.id}: ${state.replace(/-/g, ' ')}${stage.frozen ? ', frozen' : ''}`, ...reasons].join(
        '\n',
      ),
      group: template === undefined ? undefined : groupId(template.name),
    };
  });
  return {
    pipeline,
    nodes,
    groups: [...grouped].map(([name, states]) => ({
      id: groupId(name),
      label: name,
      state: worstState(states) ?? 'never-run',
      detail: `${pipeline}.${name}: ${summarizeTemplate(states)}`,
    })),
    // An upstream name outside the pipeline cannot be drawn; validation rejects it anyway.
    edges: stages.flatMap((stage) =>
      stage.upstream.filter((up) => names.has(up)).map((up) => ({ from: up, to: stage.name })),
    ),
  };
}

function groupId(template: string): string {
  return `template:${template}`;
}
