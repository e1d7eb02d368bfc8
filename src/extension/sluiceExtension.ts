// The root of the extension: it builds every part and owns every disposable,
// so activation is one constructor call and deactivation one dispose.
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { registerCommands, type CommandTable } from './commands';
import type { SluiceContext } from './context';
import { environmentCommands } from './environments/environmentCommands';
import { experimentCommands } from './experiments/experimentCommands';
import { ExperimentPanels } from './experiments/experimentPanels';
import type { EnvironmentsNode } from './environments/model';
import { EnvironmentsView } from './environments/environmentsView';
import { healthCommands } from './environments/healthCommands';
import type { RollbackNotice } from './environments/healthNodes';
import { HealthWatch } from './environments/healthWatch';
import { ManifestLanguageServer } from './languageServer';
import { WorkspaceModel } from './model';
import { PipelineGraphs } from './pipelines/graph/graphPanels';
import { pipelineCommands, revealStageByName } from './pipelines/pipelineCommands';
import type { PipelinesNode } from './pipelines/pipelineNodes';
import { PipelinesView } from './pipelines/pipelinesView';
import { slurmJobCommands } from './pipelines/slurmJobCommands';
import { plotsCommands } from './plots/plotsCommands';
import { PlotsPanels } from './plots/plotsPanels';
import { StageLogs } from './pipelines/stageLogs';
import { LongOperations } from './progress';
import type { SnapshotsNode } from './snapshots/nodes';
import { snapshotCommands } from './snapshots/snapshotCommands';
import { SnapshotContent } from './snapshots/snapshotContent';
import { SnapshotsView } from './snapshots/snapshotsView';
import { SlurmJobsStatusBar, SluiceStatusBar } from './statusBar';
import { workspaceCommands } from './workspaceCommands';
import { remoteCommands } from './remotes/remoteCommands';

/** What `activate` returns to other extensions and to the extension-host tests. */
export interface SluiceApi {
  /** The current language client; a restart replaces it. */
  readonly languageClient: LanguageClient;
  /** The Data Snapshots view's data: its elements are what the tree shows. */
  readonly snapshotsView: vscode.TreeDataProvider<SnapshotsNode>;
  /** The Environments view's data. */
  readonly environmentsView: vscode.TreeDataProvider<EnvironmentsNode>;
  /** The status bar item's text now (what is live where, or the spinner). */
  readonly statusBarText: () => string;
  /** The status bar item now: text, tooltip, whether it warns (a live environment failing) and what a click reveals. */
  readonly statusBar: () => SluiceStatusBar['shown'];
  /** The automatic rollbacks the editor has notified since activation, oldest first. */
  readonly rollbackNotices: () => readonly RollbackNotice[];
  /** The Slurm jobs' status bar item now: how many are queued or running (an empty text when none is). */
  readonly slurmJobsStatusBar: () => { readonly text: string; readonly tooltip: string };
  /** The Pipelines view's data: its elements are what the tree shows. */
  readonly pipelinesView: vscode.TreeDataProvider<PipelinesNode>;
  /** The open pipeline graphs, as last sent to their webviews. */
  readonly pipelineGraphs: Pick<PipelineGraphs, 'shownGraphs'>;
  /** The open Plots panels, as last sent to their pages. */
  readonly plotsPanels: Pick<PlotsPanels, 'shownPlots'>;
  /** The open Experiments panels, as last sent to their pages. */
  readonly experimentPanels: Pick<ExperimentPanels, 'shownTables'>;
  /** Re-reads every folder and resolves when the views have reloaded. */
  refresh(): Promise<void>;
  /** Resolves when no file event is waiting to be turned into a refresh. */
  whenIdle(): Promise<void>;
  /** How often each dataset was read (snapshots listed, files compared) since activation, by name. */
  datasetReads(): ReadonlyMap<string, number>;
  /** How often each dataset's files were walked since activation, by name (a read its watch vouches for walks none). */
  datasetWalks(): ReadonlyMap<string, number>;
  /** How long the latest read of each dataset took (ms), by name: what a walk the watch vouches for saves. */
  datasetReadMs(): ReadonlyMap<string, number>;
}

export class SluiceExtension {
  readonly api: SluiceApi;
  readonly #disposables: vscode.Disposable[] = [];
  readonly #languageServer: ManifestLanguageServer;

  constructor(context: vscode.ExtensionContext) {
    const log = this.#own(vscode.window.createOutputChannel('Sluice', { log: true }));
    const languageServer = new ManifestLanguageServer(context.asAbsolutePath('dist/server.js'), log);
    this.#languageServer = languageServer;

    const model = this.#own(new WorkspaceModel(log));
    const snapshotsView = this.#own(new SnapshotsView(model));
    const pipelinesView = this.#own(new PipelinesView(model));
    const healthWatch = this.#own(new HealthWatch(model, context.workspaceState, log));
    const environmentsView = this.#own(new EnvironmentsView(model, healthWatch.onDidTick));
    const statusBar = this.#own(new SluiceStatusBar(model, healthWatch.onDidTick));
    const slurmJobsStatusBar = this.#own(new SlurmJobsStatusBar(model));
    const stageLogs = this.#own(
      new StageLogs(
        (root) => model.readableWorkspaceAt(root),
        (root, stageId) => model.jobOf(root, stageId),
      ),
    );
    const graphs = this.#own(
      new PipelineGraphs(context.extensionUri, model, (root, pipeline, stage) =>
        revealStageByName(model, root, pipeline, stage),
      ),
    );
    const plots = this.#own(new PlotsPanels(context.extensionUri, model, log));
    const commandContext: SluiceContext = {
      model,
      log,
      operations: new LongOperations(log, statusBar),
      content: this.#own(new SnapshotContent()),
      stageLogs,
      graphs,
      experiments: this.#own(new ExperimentPanels(context.extensionUri, model, log)),
    };

    const commands: CommandTable = {
      restartLanguageServer: () => languageServer.restart(),
      ...workspaceCommands(commandContext),
      ...snapshotCommands(commandContext),
      ...environmentCommands(commandContext),
      ...remoteCommands(commandContext),
      ...pipelineCommands(commandContext),
      ...slurmJobCommands(commandContext),
      ...plotsCommands(plots, model),
      ...healthCommands(environmentsView, plots, model),
      ...experimentCommands(commandContext),
    };
    this.#disposables.push(
      ...registerCommands(commands, {
        log,
        refresh: (changes) => model.refresh(changes),
        refreshAll: () => model.refreshAll(),
      }),
    );
    void model.start();

    this.api = {
      get languageClient() {
        return languageServer.client;
      },
      snapshotsView,
      environmentsView,
      statusBarText: () => statusBar.text,
      statusBar: () => statusBar.shown,
      rollbackNotices: () => healthWatch.notices,
      slurmJobsStatusBar: () => slurmJobsStatusBar.shown,
      pipelinesView,
      pipelineGraphs: graphs,
      plotsPanels: plots,
      experimentPanels: commandContext.experiments,
      refresh: () => model.refreshAll(),
      whenIdle: () => model.whenIdle(),
      datasetReads: () => model.reads.datasets,
      datasetWalks: () => model.reads.walks,
      datasetReadMs: () => model.reads.readMs,
    };
  }

  /** Stops the language server first: it writes to the log, which is disposed after it. */
  async dispose(): Promise<void> {
    await this.#languageServer.dispose();
    for (const disposable of this.#disposables.splice(0).reverse()) disposable.dispose();
  }

  #own<T extends vscode.Disposable>(disposable: T): T {
    this.#disposables.push(disposable);
    return disposable;
  }
}
