/// <reference lib="dom" />
// The pipeline graph's page, bundled by esbuild into dist/pipelineGraph.js (an
// IIFE for the browser). It draws what the extension sends as an SVG laid out
// by dagre; colours are CSS variables of the colour theme (media/pipelineGraph.css).
// Clicking a stage (or Enter on it) asks the extension to reveal it in sluice.yaml.
import { layoutGraph, type GraphLayout } from './graphLayout';
import type { FromWebviewMessage, ShowGraphMessage } from './graphModel';

interface VsCodeApi {
  postMessage(message: FromWebviewMessage): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const SVG = 'http://www.w3.org/2000/svg';
const vscode = acquireVsCodeApi();
const root = document.getElementById('graph')!;
const title = document.getElementById('title')!;

function element<K extends keyof SVGElementTagNameMap>(
  name: K,
  attributes: Readonly<Record<string, string | number>>,
): SVGElementTagNameMap[K] {
  const created = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) created.setAttribute(key, String(value));
  return created;
}

function draw(placed: GraphLayout): SVGSVGElement {
  const svg = element('svg', {
    width: placed.width,
    height: placed.height,
    viewBox: `0 0 ${String(placed.width)} ${String(placed.height)}`,
    role: 'group',
  });
  const marker = element('marker', {
    id: 'arrow',
    viewBox: '0 0 10 10',
    refX: 9,
    refY: 5,
    markerWidth: 8,
    markerHeight: 8,
    orient: 'auto-start-reverse',
  });
  marker.append(element('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrow' }));
  const defs = element('defs', {});
  defs.append(marker);
  svg.append(defs);
  // Template boxes first, so the stages and edges are drawn over them.
  for (const group of placed.groups) {
    const box = element('g', {
      class: `group state-${group.state}`,
      transform: `translate(${String(group.x)} ${String(group.y)})`,
      tabindex: 0,
      role: 'button',
      'data-template': group.label,
      'aria-label': group.detail,
    });
    const tooltip = element('title', {});
    tooltip.textContent = group.detail;
    const label = element('text', { x: 8, y: 14, class: 'group-label' });
    label.textContent = group.label;
    box.append(
      tooltip,
      element('rect', { width: group.width, height: group.height, rx: 8, class: 'box' }),
      label,
    );
    onActivate(box, group.label);
    svg.append(box);
  }
  for (const edge of placed.edges) {
    const d = edge.points.map((p, i) => `${i === 0 ? 'M' : 'L'} ${String(p.x)} ${String(p.y)}`).join(' ');
    svg.append(
      element('path', {
        d,
        class: 'edge',
        'marker-end': 'url(#arrow)',
        'data-from': edge.from,
        'data-to': edge.to,
      }),
    );
  }
  for (const node of placed.nodes) {
    const group = element('g', {
      class: `node state-${node.state}`,
      transform: `translate(${String(node.x)} ${String(node.y)})`,
      tabindex: 0,
      role: 'button',
      'data-stage': node.id,
      'aria-label': node.detail.split('\n')[0] ?? node.label,
    });
    const tooltip = element('title', {});
    tooltip.textContent = node.detail;
    group.append(
      tooltip,
      element('rect', { width: node.width, height: node.height, rx: 6, class: 'box' }),
      element('circle', { cx: 16, cy: node.height / 2, r: 5, class: 'dot' }),
    );
    const label = element('text', {
      x: 30,
      y: node.height / 2,
      'dominant-baseline': 'central',
      class: 'label',
    });
    label.textContent = node.label;
    group.append(label);
    onActivate(group, node.id);
    svg.append(group);
  }
  return svg;
}

/** A click, Enter or Space on a stage or a template's box reveals it in sluice.yaml. */
function onActivate(target: SVGGElement, name: string): void {
  const reveal = (): void => {
    vscode.postMessage({ type: 'reveal', stage: name });
  };
  target.addEventListener('click', reveal);
  target.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' || event.key === ' ') reveal();
  });
}

window.addEventListener('message', (event: MessageEvent<ShowGraphMessage>) => {
  const message = event.data;
  title.textContent = `Pipeline ${message.graph.pipeline}`;
  if (message.graph.nodes.length === 0) {
    root.replaceChildren(document.createTextNode('This pipeline has no stages.'));
    return;
  }
  root.replaceChildren(draw(layoutGraph(message.graph)));
});

vscode.postMessage({ type: 'ready' });
