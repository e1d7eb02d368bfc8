// The pipeline graph's webview panels, one per pipeline: the page runs only
// the bundled script (dist/pipelineGraph.js, with a nonce) and the stylesheet
// from media/, under a Content-Security-Policy that allows nothing else and
// nothing remote. Every change of states redraws the open graphs; a click on
// a stage comes back as a message and reveals the stage in sluice.yaml.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { PipelineNode } from '../pipelineNodes';
import { shownState } from '../pipelineNodes';
import type { WorkspaceModel } from '../../model';
import { findPipeline } from '../pipelinesView';
import { parseWebviewMessage, pipelineGraph, type PipelineGraph, type ShowGraphMessage } from './graphModel';

export const GRAPH_VIEW_TYPE = 'sluice.pipelineGraph';

interface OpenGraph {
  readonly panel: vscode.WebviewPanel;
  readonly root: string;
  readonly pipeline: string;
  /** The last graph sent, for tests and to skip sending the same one again. */
  shown: PipelineGraph | undefined;
  ready: boolean;
}

export class PipelineGraphs implements vscode.Disposable {
  readonly #open = new Map<string, OpenGraph>();
  readonly #subscription: vscode.Disposable;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly model: WorkspaceModel,
    private readonly reveal: (root: string, pipeline: string, stage: string) => Promise<unknown>,
  ) {
    this.#subscription = model.onDidChange(({ scope }) => {
      if (!scope.whole && !scope.pipelines && !scope.jobs && scope.datasets.size === 0) return;
      for (const graph of this.#open.values()) this.#send(graph);
    });
  }

  /** Opens (or brings forward) the graph of a pipeline. */
  show(node: PipelineNode): vscode.WebviewPanel {
    const key = JSON.stringify([node.root, node.pipeline.name]);
    const known = this.#open.get(key);
    if (known) {
      known.panel.reveal();
      return known.panel;
    }
    const panel = vscode.window.createWebviewPanel(
      GRAPH_VIEW_TYPE,
      `Pipeline ${node.pipeline.name}`,
      vscode.ViewColumn.Active,
      {
        enableScripts: true,
        localResourceRoots: [
          vscode.Uri.joinPath(this.extensionUri, 'dist'),
          vscode.Uri.joinPath(this.extensionUri, 'media'),
        ],
      },
    );
    const graph: OpenGraph = {
      panel,
      root: node.root,
      pipeline: node.pipeline.name,
      shown: undefined,
      ready: false,
    };
    this.#open.set(key, graph);
    panel.webview.html = this.#html(panel.webview, node.pipeline.name);
    panel.webview.onDidReceiveMessage((raw: unknown) => {
      const message = parseWebviewMessage(raw);
      if (message?.type === 'ready') {
        graph.ready = true;
        graph.shown = undefined;
        this.#send(graph);
      } else if (message?.type === 'reveal') {
        void this.reveal(graph.root, graph.pipeline, message.stage);
      }
    });
    panel.onDidDispose(() => this.#open.delete(key));
    return panel;
  }

  /** The graph each open panel shows now, by pipeline name (for tests and other extensions). */
  shownGraphs(): PipelineGraph[] {
    return [...this.#open.values()].flatMap((graph) => graph.shown ?? []);
  }

  dispose(): void {
    this.#subscription.dispose();
    for (const graph of this.#open.values()) graph.panel.dispose();
    this.#open.clear();
  }

  #send(graph: OpenGraph): void {
    if (!graph.ready) return;
    const node = findPipeline(this.model, graph.root, graph.pipeline);
    if (node === undefined) return;
    const next = pipelineGraph(node.pipeline, (stage) =>
      shownState(stage, this.model.progressOf(graph.root, stage.id), this.model.jobOf(graph.root, stage.id)),
    );
    if (JSON.stringify(next) === JSON.stringify(graph.shown)) return;
    graph.shown = next;
    const message: ShowGraphMessage = { type: 'graph', graph: next };
    void graph.panel.webview.postMessage(message);
  }

  #html(webview: vscode.Webview, pipeline: string): string {
    const nonce = randomBytes(16).toString('base64');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'pipelineGraph.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'media', 'pipelineGraph.css'));
    const policy = [
      "default-src 'none'",
      `style-src ${webview.cspSource}`,
      `script-src 'nonce-${nonce}'`,
    ].join('; ');
    const name = escapeHtml(pipeline);
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${policy}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style.toString()}">
<title>Pipeline ${name}</title>
</head>
<body>
<h1 id="title">Pipeline ${name}</h1>
<div class="legend" aria-hidden="true">
<span class="state-up-to-date">up to date</span><span class="state-stale">stale</span><span class="state-never-run">never run</span><span class="state-failed">failed</span><span class="state-running">running</span><span class="state-queued">queued</span>
</div>
<div id="graph" role="region" aria-label="Stages of pipeline ${name}; select one to reveal it in sluice.yaml"></div>
<script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${String(c.charCodeAt(0))};`);
}
