// The Plots view: one webview panel per Sluice workspace (the folder of
// sluice.yaml), drawing the experiments chosen last (the Experiments view's
// "Plot", or Sluice: Show Plots): every stage plot file of each run overlaid,
// then each metric across the runs and the params that vary against the
// metrics (src/core/plots/experimentPlots.ts). The page is dist/plots.js, the
// same script `sluice plots show` inlines, loaded with a nonce under a
// Content-Security-Policy that allows nothing remote and images only as data:
// URIs. It reads again when the model reads pipelines, environments or the
// whole folder again (a record written under refs/sluice/ is one of those).
// A second kind of panel, one per monitored environment, charts its monitor's
// metric checks over time from its health history (core/plots/healthPlots.ts).
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { describeError } from '../../core/errors';
import type {
  FromPlotsPageMessage,
  PlotsDocument,
  PlotsNoticeMessage,
  ShowPlotsMessage,
} from '../../core/plots/document';
import { plotsForExperiments } from '../../core/plots/experimentPlots';
import { healthPlots } from '../../core/plots/healthPlots';
import { PLOTS_PAGE_CSS } from '../../core/plots/html';
import type { WorkspaceModel } from '../model';

export const PLOTS_VIEW_TYPE = 'sluice.plots';

export const PLOTS_RESTRICTED_REASON =
  'Restricted Mode: experiments and their plot files are records in git, and in a folder you have not ' +
  "trusted Sluice runs no git (a repository's own settings can make git run programs), so nothing is " +
  'drawn here. Trust this folder to see the plots.';

/** Quiet time before a burst of model changes (a grid writing records) is read as one. */
const DEBOUNCE_MS = 300;

/** What a health panel charts: an environment's metric checks (all of them when `checks` is empty). */
export interface HealthChart {
  readonly environment: string;
  readonly checks: readonly string[];
}

interface OpenPlots {
  readonly panel: vscode.WebviewPanel;
  readonly root: string;
  /** Set on a health panel, which charts it instead of experiments. */
  health: HealthChart | undefined;
  /** Record ids (or `workspace`), as chosen; ids removed since are dropped when read. */
  ids: readonly string[];
  /** How many of the chosen were removed since: said until the next choice. */
  removed: number;
  ready: boolean;
  /** The last document sent, for tests and other extensions. */
  shown: PlotsDocument | undefined;
  notice: string | null;
  /** Counts reads, so a slow read finishing after a newer one is dropped. */
  generation: number;
  timer: NodeJS.Timeout | undefined;
}

/** What an open Plots panel shows now. */
export interface ShownPlots {
  readonly root: string;
  /** A health panel's environment and checks (undefined: an experiments panel). */
  readonly health: HealthChart | undefined;
  readonly ids: readonly string[];
  readonly document: PlotsDocument | undefined;
  readonly notice: string | null;
}

export class PlotsPanels implements vscode.Disposable {
  readonly #open = new Map<string, OpenPlots>();
  readonly #subscription: vscode.Disposable;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly model: WorkspaceModel,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.#subscription = model.onDidChange(({ scope }) => {
      // A run changes the files on disk and writes a record; a stage or a removal changes the records.
      if (!scope.whole && !scope.pipelines && !scope.environments) return;
      for (const open of this.#open.values()) this.#schedule(open);
    });
  }

  /** Opens (or brings forward) the Plots panel of the workspace at `root`, drawing `ids`. */
  show(root: string, ids: readonly string[]): vscode.WebviewPanel {
    return this.#show(root, root, ids, undefined);
  }

  /** Opens (or brings forward) the chart of a monitored environment's metric checks over time. */
  showHealth(root: string, chart: HealthChart): vscode.WebviewPanel {
    return this.#show(JSON.stringify([root, 'health', chart.environment]), root, [], chart);
  }

  #show(
    key: string,
    root: string,
    ids: readonly string[],
    health: HealthChart | undefined,
  ): vscode.WebviewPanel {
    const known = this.#open.get(key);
    if (known) {
      known.ids = [...ids];
      known.health = health;
      known.removed = 0;
      known.panel.reveal();
      void this.#load(known);
      return known.panel;
    }
    const folderName = root.split(/[\\/]/).pop() ?? root;
    const title = health === undefined ? 'Plots' : `Health · ${health.environment}`;
    const panel = vscode.window.createWebviewPanel(
      PLOTS_VIEW_TYPE,
      this.model.folders.length > 1 ? `${title} · ${folderName}` : title,
      vscode.ViewColumn.Active,
      {
        enableScripts: true,
        localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist')],
      },
    );
    const open: OpenPlots = {
      panel,
      root,
      health,
      ids: [...ids],
      removed: 0,
      ready: false,
      shown: undefined,
      notice: null,
      generation: 0,
      timer: undefined,
    };
    this.#open.set(key, open);
    panel.webview.html = this.#html(panel.webview);
    panel.webview.onDidReceiveMessage((raw: unknown) => {
      const message = parseFromPage(raw);
      if (message === undefined) {
        this.log.warn('Plots page: dropped a malformed message.');
      } else if (message.type === 'ready') {
        // Also after the tab comes back from the background: the page is new and draws nothing yet.
        open.ready = true;
        void this.#load(open);
      } else {
        void vscode.commands.executeCommand('workbench.trust.manage');
      }
    });
    panel.onDidDispose(() => {
      clearTimeout(open.timer);
      this.#open.delete(key);
    });
    return panel;
  }

  /** What each open panel was last sent. */
  shownPlots(): ShownPlots[] {
    return [...this.#open.values()].map(({ root, health, ids, shown, notice }) => ({
      root,
      health,
      ids,
      document: shown,
      notice,
    }));
  }

  dispose(): void {
    this.#subscription.dispose();
    for (const open of [...this.#open.values()]) open.panel.dispose();
    this.#open.clear();
  }

  #schedule(open: OpenPlots): void {
    clearTimeout(open.timer);
    open.timer = setTimeout(() => {
      open.timer = undefined;
      void this.#load(open);
    }, DEBOUNCE_MS);
  }

  /** Reads the plots (or why there are none) and sends them, unless a newer read started meanwhile. */
  async #load(open: OpenPlots): Promise<void> {
    if (!open.ready) return;
    const generation = ++open.generation;
    const read = await this.#read(open);
    if (generation !== open.generation || ![...this.#open.values()].includes(open)) return;
    if (read.document !== undefined) {
      open.shown = read.document;
      const message: ShowPlotsMessage = { type: 'plots', document: read.document };
      void open.panel.webview.postMessage(message);
    }
    open.notice = read.notice;
    const notice: PlotsNoticeMessage = { type: 'notice', text: read.notice, trust: read.trust };
    void open.panel.webview.postMessage(notice);
  }

  async #read(open: OpenPlots): Promise<{ document?: PlotsDocument; notice: string | null; trust: boolean }> {
    const folder = this.model.folders.find(
      ({ state }) => state.kind !== 'noManifest' && state.root === open.root,
    );
    if (folder === undefined)
      return { notice: `The workspace at ${open.root} is not open any more: close this tab.`, trust: false };
    const { state } = folder;
    if (state.kind === 'restricted') return { notice: PLOTS_RESTRICTED_REASON, trust: true };
    if (state.kind !== 'ready')
      return {
        notice:
          'message' in state
            ? `${state.message} The Pipelines view says what to do.`
            : 'This folder has no sluice.yaml.',
        trust: false,
      };
    try {
      if (open.health !== undefined) {
        const { environment, checks } = open.health;
        const document = await healthPlots(
          state.workspace,
          environment,
          checks.length > 0 ? checks : undefined,
        );
        const notice =
          document.plots.length === 0
            ? `No monitor run of ${environment} has measured a metric yet: its metric checks are charted here once \`sluice monitor\` has run.`
            : null;
        return { document, notice, trust: false };
      }
      const { document, unknown } = await plotsForExperiments(state.workspace, open.ids);
      open.ids = open.ids.filter((id) => !unknown.includes(id));
      open.removed += unknown.length;
      const one = open.removed === 1;
      const left =
        open.removed === 0
          ? null
          : `${String(open.removed)} of the chosen experiments ${one ? 'was' : 'were'} removed and ${one ? 'is' : 'are'} left out.`;
      return { document, notice: left, trust: false };
    } catch (error) {
      this.log.error(`Reading the plots of ${open.root} failed: ${describeError(error)}`);
      return { notice: `Sluice could not read the plots: ${describeError(error)}`, trust: false };
    }
  }

  #html(webview: vscode.Webview): string {
    const nonce = randomBytes(16).toString('base64');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'plots.js'));
    const policy = [
      "default-src 'none'",
      'img-src data:',
      `style-src 'nonce-${nonce}'`,
      `script-src 'nonce-${nonce}'`,
      "base-uri 'none'",
      "form-action 'none'",
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${policy}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<style nonce="${nonce}">${PLOTS_PAGE_CSS}
#sluice-notice { margin: 0 0 12px; color: var(--plots-muted); }
#sluice-trust { margin: 0 0 16px; font: inherit; color: var(--vscode-button-foreground); background: var(--vscode-button-background);
  border: none; padding: 4px 12px; border-radius: 2px; cursor: pointer; }
#sluice-trust:focus { outline: 2px solid var(--plots-focus); outline-offset: 2px; }
</style>
<title>Plots</title>
</head>
<body>
<p id="sluice-notice" role="status" hidden></p>
<button id="sluice-trust" type="button" hidden>Manage Workspace Trust</button>
<main id="sluice-plots" aria-label="Plots of the chosen experiments"></main>
<script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
  }
}

/** A message from the page, checked: the page is a webview, and what it sends is data, not trusted code's word. */
function parseFromPage(raw: unknown): FromPlotsPageMessage | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const type = (raw as { type?: unknown }).type;
  return type === 'ready' || type === 'manageTrust' ? { type } : undefined;
}
