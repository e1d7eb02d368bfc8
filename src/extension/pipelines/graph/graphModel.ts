// What the pipeline graph shows, and the messages between the extension and
// the graph's webview, declared once for both sides. Plain data: no vscode, no
// DOM, no Node.js, so the webview bundle and the unit tests import it as it is.
import type { ShownState, StageView } from '../pipelineNodes';

export interface GraphNode {
  /** The stage's name (unique within its pipeline). */
  readonly id: string;
  readonly label: string;
  readonly state: ShownState;
  /** One line of state, then the reasons: the node's tooltip. */
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
  readonly edges: readonly GraphEdge[];
}

/** Extension → webview: draw this graph (sent on open and whenever a state changes). */
export interface ShowGraphMessage {
  readonly type: 'graph';
  readonly graph: PipelineGraph;
}

/** Webview → extension: the user clicked a stage; reveal it in sluice.yaml. */
export interface RevealStageMessage {
  readonly type: 'reveal';
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
 * A pipeline's graph: a node per stage, an edge from each upstream stage.
 * `stateOf` gives the shown state (a running stage shows as running).
 */
export function pipelineGraph(
  pipeline: string,
  stages: readonly StageView[],
  stateOf: (stage: StageView) => ShownState,
): PipelineGraph {
  const names = new Set(stages.map((stage) => stage.name));
  return {
    pipeline,
    nodes: stages.map((stage) => {
      const state = stateOf(stage);
      const reasons = state === stage.state ? stage.reasons : [];
      return {
        id: stage.name,
        label: stage.name,
        state,
        detail: [`${stage.id}: ${state.replace(/-/g, ' ')}`, ...reasons].join('\n'),
      };
    }),
    // An upstream name outside the pipeline cannot be drawn; validation rejects it anyway.
    edges: stages.flatMap((stage) =>
      stage.upstream.filter((up) => names.has(up)).map((up) => ({ from: up, to: stage.name })),
    ),
  };
}
