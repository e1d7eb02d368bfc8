// The Experiments webview panels, one per Sluice workspace (the folder of
// sluice.yaml): the page runs only the bundled script (dist/experiments.js,
// with a nonce) and the stylesheet from media/, under a Content-Security-Policy
// that allows nothing else and nothing remote. The panel reads the table with
// the engine's showExperiments, in-process, and sends it again when records
// change (the model reads pipelines again when a ref under
// refs/sluice/experiments/ moves, environments when a deployment does) and
// shows the queue file's progress. The page's actions come back as
// messages and run as the extension's own commands (experimentCommands.ts),
// so Restricted Mode, progress with Cancel and errors with a next step are
// handled as for every other command.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { describeError, hasCode } from '../../core/errors';
import { showExperiments } from '../../core/experiments/show';
import type { QueuedExperiment } from '../../core/experiments/table';
import { readCurrentParams } from '../../core/pipelines/paramOverrides';
import type { Workspace } from '../../core/workspace';
import type { WorkspaceModel } from '../model';
import { parseFromPage, type Capabilities, type FromPageMessage, type ToPageMessage } from './messages';

export const EXPERIMENTS_VIEW_TYPE = 'sluice.experiments';

/** The command another helper's Plots view registers; the only thing shared with it. */
export const SHOW_PLOTS_COMMAND = 'sluice.showPlots';

/** Where `exp run` writes its queue while it runs (read for runs started in another window or a terminal). */
const QUEUE_FILE = join('state', 'experiments-queue.json');

/** Quiet time before a burst of record writes is read as one table. */
const DEBOUNCE_MS = 250;

export const EXPERIMENTS_RESTRICTED_REASON =
  'Restricted Mode: experiments are records in git, and in a folder you have not trusted Sluice runs no git ' +
  "(a repository's own settings can make git run programs), so this table stays empty and nothing runs. " +
  'Trust this folder to see, run, apply, stage and remove experiments.';

const ACTIONS_RESTRICTED =
  'Restricted Mode: Sluice runs nothing in a folder you have not trusted. Trust it to run, apply, stage or remove experiments.';

interface OpenTable {
  readonly panel: vscode.WebviewPanel;
  readonly root: string;
  /** The baseline asked for: `HEAD` or an environment's name. */
  vs: string;
  ready: boolean;
  /** The last message that drew the table (or said why there is none), for tests. */
  shown: ToPageMessage | undefined;
  /** Counts reads, so a slow read finishing after a newer one is dropped. */
  generation: number;
  timer: NodeJS.Timeout | undefined;
  watchers: vscode.Disposable[];
}

/** What a page shows now, for the extension-host tests and other extensions. */
export interface ShownExperiments {
  readonly root: string;
  readonly message: ToPageMessage;
}

export class ExperimentPanels implements vscode.Disposable {
  readonly #open = new Map<string, OpenTable>();
  readonly #subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly model: WorkspaceModel,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.#subscriptions.push(
      model.onDidChange(({ scope }) => {
        // Environments move the live badges and a baseline; a run records an experiment.
        if (!scope.whole && !scope.environments && !scope.pipelines) return;
        for (const open of this.#open.values()) this.#schedule(open);
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => {
        for (const open of this.#open.values()) this.#rewatch(open);
      }),
    );
  }

  /** Opens (or brings forward) the Experiments panel of the workspace at `root`. */
  show(root: string): vscode.WebviewPanel {
    const known = this.#open.get(root);
    if (known) {
      known.panel.reveal();
      return known.panel;
    }
    const panel = vscode.window.createWebviewPanel(
      EXPERIMENTS_VIEW_TYPE,
      `Experiments${this.model.folders.length > 1 ? ` · ${root.split(/[\\/]/).pop() ?? root}` : ''}`,
      vscode.ViewColumn.Active,
      {
        enableScripts: true,
        // Sorting and filtering live in the page: keep it while its tab is in the background.
        retainContextWhenHidden: true,
        localResourceRoots: [
          vscode.Uri.joinPath(this.extensionUri, 'dist'),
          vscode.Uri.joinPath(this.extensionUri, 'media'),
        ],
      },
    );
    const open: OpenTable = {
      panel,
      root,
      vs: 'HEAD',
      ready: false,
      shown: undefined,
      generation: 0,
      timer: undefined,
      watchers: [],
    };
    this.#open.set(root, open);
    panel.webview.html = this.#html(panel.webview);
    panel.webview.onDidReceiveMessage((raw: unknown) => {
      const message = parseFromPage(raw);
      if (message === undefined) this.log.warn(`Experiments page: dropped a malformed message.`);
      else
        this.#onMessage(open, message).catch((error: unknown) => {
          this.log.error(`Experiments page: ${message.type} failed: ${describeError(error)}`);
        });
    });
    // Coming back to the tab reads again: a watcher event missed (a busy machine, a network folder) costs nothing lasting.
    panel.onDidChangeViewState(({ webviewPanel }) => {
      if (webviewPanel.active) this.#schedule(open);
    });
    panel.onDidDispose(() => {
      clearTimeout(open.timer);
      for (const watcher of open.watchers) watcher.dispose();
      this.#open.delete(root);
    });
    this.#rewatch(open);
    return panel;
  }

  /** What each open panel was last sent. */
  shownTables(): ShownExperiments[] {
    return [...this.#open.values()].flatMap((open) =>
      open.shown === undefined ? [] : [{ root: open.root, message: open.shown }],
    );
  }

  /** Reads the table again now (after a command changed the records), and resolves when it was sent. */
  async reload(root: string): Promise<void> {
    const open = this.#open.get(root);
    if (open !== undefined) await this.#load(open);
  }

  /** A run's queue as it goes: the page shows queued and running rows with their status. */
  showQueue(root: string, queue: readonly QueuedExperiment[]): void {
    const open = this.#open.get(root);
    if (open?.ready === true) this.#post(open, { type: 'queue', queue });
  }

  dispose(): void {
    for (const subscription of this.#subscriptions) subscription.dispose();
    for (const open of [...this.#open.values()]) open.panel.dispose();
    this.#open.clear();
  }

  async #onMessage(open: OpenTable, message: FromPageMessage): Promise<void> {
    const { root } = open;
    switch (message.type) {
      case 'ready':
        open.ready = true;
        await this.#load(open);
        return;
      case 'refresh':
        await this.#load(open);
        return;
      case 'baseline':
        open.vs = message.vs;
        await this.#load(open);
        return;
      case 'manageTrust':
        await vscode.commands.executeCommand('workbench.trust.manage');
        return;
      case 'plot':
        await this.#plot(open, message.ids);
        return;
      case 'run':
        await this.#action(open, 'sluice.runExperiments', {
          root,
          set: message.set,
          ...(message.jobs === undefined ? {} : { jobs: message.jobs }),
          ...(message.name === undefined ? {} : { name: message.name }),
        });
        return;
      case 'apply':
        await this.#action(open, 'sluice.applyExperiment', { root, id: message.id });
        return;
      case 'stage':
        await this.#action(open, 'sluice.stageExperiment', { root, id: message.id });
        return;
      case 'remove':
        await this.#action(open, 'sluice.removeExperiments', { root, ids: message.ids });
        return;
    }
  }

  /** Runs a page's action as a command (which reports its own failures), then tells the page it ended. */
  async #action(open: OpenTable, command: string, options: Record<string, unknown>): Promise<void> {
    try {
      await vscode.commands.executeCommand(command, options);
    } finally {
      this.#post(open, { type: 'actionDone' });
      await this.#load(open);
    }
  }

  async #plot(open: OpenTable, ids: readonly string[]): Promise<void> {
    await vscode.commands.executeCommand(SHOW_PLOTS_COMMAND, { root: open.root, ids });
  }

  #schedule(open: OpenTable): void {
    clearTimeout(open.timer);
    open.timer = setTimeout(() => {
      open.timer = undefined;
      void this.#load(open);
    }, DEBOUNCE_MS);
  }

  /** Reads the table (or why there is none) and sends it, unless a newer read started meanwhile. */
  async #load(open: OpenTable): Promise<void> {
    if (!open.ready) return;
    const generation = ++open.generation;
    const message = await this.#read(open);
    if (generation !== open.generation || !this.#open.has(open.root)) return;
    this.#post(open, message);
  }

  async #read(open: OpenTable): Promise<ToPageMessage> {
    const capabilities = this.#capabilities();
    const folder = this.model.folders.find(
      ({ state }) => state.kind !== 'noManifest' && state.root === open.root,
    );
    const unavailable = (reason: string): ToPageMessage => ({ type: 'unavailable', reason, capabilities });
    if (folder === undefined)
      return unavailable(`The workspace at ${open.root} is not open any more: close this tab.`);
    const { state } = folder;
    if (state.kind === 'restricted') return unavailable(EXPERIMENTS_RESTRICTED_REASON);
    if (state.kind !== 'ready')
      return unavailable(
        'message' in state
          ? `${state.message} The Pipelines view says what to do.`
          : 'This folder has no sluice.yaml.',
      );
    try {
      const table = await showExperiments(state.workspace, { vs: open.vs });
      return {
        type: 'table',
        table,
        environments: [...state.workspace.manifest.environments.keys()],
        paramsFile: this.#paramsFile(state.workspace),
        capabilities,
      };
    } catch (error) {
      this.log.error(`Reading the experiments of ${open.root} failed: ${describeError(error)}`);
      // An unknown baseline (an environment removed from the manifest): fall back to HEAD once.
      if (open.vs !== 'HEAD' && hasCode(error, 'not-found')) {
        open.vs = 'HEAD';
        return this.#read(open);
      }
      return unavailable(
        `Sluice could not read the experiments: ${describeError(error)} The log has details.`,
      );
    }
  }

  /** The params file for the form; one that does not parse leaves the form empty, not the table. */
  #paramsFile(workspace: Workspace): Record<string, unknown> | null {
    try {
      return readCurrentParams(workspace);
    } catch (error) {
      this.log.warn(`The Experiments form lists no params: ${describeError(error)}`);
      return {};
    }
  }

  #capabilities(): Capabilities {
    const trusted = vscode.workspace.isTrusted;
    return { canRun: trusted, whyNot: trusted ? null : ACTIONS_RESTRICTED };
  }

  #post(open: OpenTable, message: ToPageMessage): void {
    if (message.type === 'table' || message.type === 'unavailable') open.shown = message;
    void open.panel.webview.postMessage(message);
  }

  /**
   * Watches the queue file, which the model does not: a run started in a
   * terminal or another window shows its progress here too. (Records are refs
   * under refs/sluice/, which the model watches from activation on.) In
   * Restricted Mode nothing is watched: nothing would be read.
   */
  #rewatch(open: OpenTable): void {
    for (const watcher of open.watchers) watcher.dispose();
    open.watchers = [];
    if (!vscode.workspace.isTrusted) return;
    const sluiceDir = vscode.Uri.file(join(open.root, '.sluice'));
    open.watchers.push(
      ...watch(new vscode.RelativePattern(sluiceDir, QUEUE_FILE), (uri) => {
        const queue = readQueueFile(uri.fsPath);
        if (queue !== undefined && open.ready) this.#post(open, { type: 'queue', queue });
      }),
    );
  }

  #html(webview: vscode.Webview): string {
    const nonce = randomBytes(16).toString('base64');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'experiments.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'media', 'experiments.css'));
    const policy = [
      "default-src 'none'",
      `style-src ${webview.cspSource}`,
      `script-src 'nonce-${nonce}'`,
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${policy}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style.toString()}">
<title>Experiments</title>
</head>
<body>
<h1>Experiments <span id="row-count"></span></h1>
<div class="toolbar" role="toolbar" aria-label="Table">
<label>Filter <input id="filter" type="search" placeholder="name, param=value, metric=value…" aria-describedby="row-count"></label>
<label><input id="only-succeeded" type="checkbox"> Only succeeded</label>
<label>Baseline <select id="baseline" aria-label="Compare with"></select></label>
<button id="columns-button" type="button" aria-haspopup="true" aria-expanded="false" aria-controls="columns-panel">Columns…</button>
<button id="refresh" type="button">Refresh</button>
</div>
<div id="columns-panel" hidden></div>
<div class="toolbar" role="toolbar" aria-label="Actions">
<button id="run" type="button" class="primary">Run with Changed Params…</button>
<button id="grid" type="button">Queue a Grid…</button>
<button id="compare" type="button">Compare</button>
<button id="plot" type="button">Plot</button>
<button id="apply" type="button">Apply to Workspace</button>
<button id="stage" type="button">Stage as Release</button>
<button id="remove" type="button">Remove</button>
<span id="selection-count" aria-live="polite"></span>
</div>
<p id="notice" role="status" hidden></p>
<button id="trust" type="button" hidden>Manage Workspace Trust</button>
<div id="scroller"><table id="experiments" role="grid" aria-label="Experiments, grouped by commit" aria-multiselectable="true"></table></div>
<section id="compare-panel" aria-label="Comparison" hidden></section>
<script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
  }
}

/** The queue file as `exp run` writes it; undefined while it is missing or half-read. */
function readQueueFile(path: string): QueuedExperiment[] | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { queue?: unknown };
    return Array.isArray(parsed.queue) ? (parsed.queue as QueuedExperiment[]) : undefined;
  } catch {
    return undefined;
  }
}

function watch(pattern: vscode.RelativePattern, handle: (uri: vscode.Uri) => void): vscode.Disposable[] {
  const watcher = vscode.workspace.createFileSystemWatcher(pattern);
  return [watcher, watcher.onDidCreate(handle), watcher.onDidChange(handle), watcher.onDidDelete(handle)];
}
