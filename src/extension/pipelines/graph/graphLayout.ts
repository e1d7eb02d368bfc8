// Lays a pipeline graph out with dagre (layered, left to right, as data flows),
// in the webview. Sizes come from the labels, so long stage names get wide boxes.
import * as dagreModule from '@dagrejs/dagre';
import type { GraphGroup, GraphNode, PipelineGraph } from './graphModel';

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The part of dagre's graph this file uses (dagre's own API, typed here: see below). */
export interface LayoutGraph {
  setGraph(label: Readonly<Record<string, number | string>>): void;
  graph(): { width?: number; height?: number };
  setDefaultEdgeLabel(label: () => object): void;
  setNode(name: string, label: { width: number; height: number } | object): void;
  setParent(child: string, parent: string): void;
  setEdge(from: string, to: string): void;
  nodes(): string[];
  edges(): { v: string; w: string }[];
  node(name: string): Box;
  edge(from: string, to: string): { points?: { x: number; y: number }[] };
}

/**
 * dagre 3's type declarations import their own files without extensions, which
 * TypeScript's NodeNext resolution does not follow, so the module would be
 * typed `any`; these are the two entries used, as dagre documents them.
 */
const dagre = dagreModule as unknown as {
  readonly Graph: new (options: { readonly compound: boolean }) => LayoutGraph;
  layout(graph: LayoutGraph): void;
};

export const NODE_HEIGHT = 36;
const CHARACTER_WIDTH = 7.5;
/** Room for the state icon and padding around the label. */
const NODE_PADDING = 48;
const MIN_NODE_WIDTH = 96;

export interface PlacedNode extends GraphNode {
  /** Top-left corner. */
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** A template's box around its stages, with room above them for its label. */
export interface PlacedGroup extends GraphGroup {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface PlacedEdge {
  readonly from: string;
  readonly to: string;
  readonly points: readonly { readonly x: number; readonly y: number }[];
}

export interface GraphLayout {
  readonly nodes: readonly PlacedNode[];
  readonly groups: readonly PlacedGroup[];
  readonly edges: readonly PlacedEdge[];
  readonly width: number;
  readonly height: number;
}

function labelWidth(label: string): number {
  return Math.ceil(label.length * CHARACTER_WIDTH);
}

export function nodeWidth(label: string): number {
  return Math.max(MIN_NODE_WIDTH, labelWidth(label) + NODE_PADDING);
}

/**
 * The input dagre lays out: a node per stage with its size, an edge per
 * dependency, and a compound node per template holding its stages (dagre
 * sizes it around them).
 */
export function layoutInput(graph: PipelineGraph): LayoutGraph {
  const input = new dagre.Graph({ compound: true });
  input.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 56, marginx: 16, marginy: 16 });
  input.setDefaultEdgeLabel(() => ({}));
  const groupLabels = new Map(graph.groups.map((group) => [group.id, group.label]));
  for (const group of graph.groups) input.setNode(group.id, {});
  for (const node of graph.nodes) {
    const group = node.group === undefined ? undefined : groupLabels.get(node.group);
    // A box is a little wider than its stages: they are at least as wide as its label.
    const width = Math.max(nodeWidth(node.label), group === undefined ? 0 : labelWidth(group));
    input.setNode(node.id, { width, height: NODE_HEIGHT });
    if (group !== undefined && node.group !== undefined) input.setParent(node.id, node.group);
  }
  for (const edge of graph.edges) input.setEdge(edge.from, edge.to);
  return input;
}

export function layoutGraph(graph: PipelineGraph): GraphLayout {
  const laid = layoutInput(graph);
  dagre.layout(laid);
  const nodes = graph.nodes.map((node): PlacedNode => {
    const box = laid.node(node.id);
    // dagre gives centres.
    return {
      ...node,
      x: box.x - box.width / 2,
      y: box.y - box.height / 2,
      width: box.width,
      height: box.height,
    };
  });
  const groups = graph.groups.map((group): PlacedGroup => {
    const box = laid.node(group.id);
    return {
      ...group,
      x: box.x - box.width / 2,
      y: box.y - box.height / 2,
      width: box.width,
      height: box.height,
    };
  });
  const edges = graph.edges.map((edge): PlacedEdge => {
    const points = laid.edge(edge.from, edge.to).points ?? [];
    return { ...edge, points: points.map(({ x, y }) => ({ x, y })) };
  });
  const size = laid.graph();
  return { nodes, groups, edges, width: size.width ?? 0, height: size.height ?? 0 };
}
