// The root of the extension: it builds every part and owns every disposable,
// so activation is one constructor call and deactivation one dispose.
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { registerCommands, type CommandTable } from './commands';
import { environmentCommands } from './environments/environmentCommands';
import type { EnvironmentsNode } from './environments/model';
import { EnvironmentsView } from './environments/environmentsView';
import { ManifestLanguageServer } from './languageServer';
import { PipelineGraphs } from './pipelines/graph/graphPanels';
import { pipelineCommands, revealStageByName } from './pipelines/pipelineCommands';
import type { PipelinesNode } from './pipelines/pipelineNodes';
import { PipelinesView } from './pipelines/pipelinesView';
import { StageLogs } from './pipelines/stageLogs';
import { LongOperations } from './progress';
import type { SnapshotsNode } from './snapshots/nodes';
import { snapshotCommands } from './snapshots/snapshotCommands';
import { SnapshotContent } from './snapshots/snapshotContent';
import { SnapshotsView } from './snapshots/snapshotsView';
import { SluiceStatusBar } from './statusBar';
import { workspaceCommands } from './workspaceCommands';
import { SluiceWorkspaces } from './workspaces';

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
  /** The Pipelines view's data: its elements are what the tree shows. */
  readonly pipelinesView: vscode.TreeDataProvider<PipelinesNode>;
  /** The open pipeline graphs, as last sent to their webviews. */
  readonly pipelineGraphs: Pick<PipelineGraphs, 'shownGraphs'>;
  /** Re-reads every folder and resolves when the views have reloaded. */
  refresh(): Promise<void>;
  /** Resolves when no file event is waiting to be turned into a refresh. */
  whenIdle(): Promise<void>;
}

export class SluiceExtension {
  readonly api: SluiceApi;
  readonly #disposables: vscode.Disposable[] = [];
  readonly #languageServer: ManifestLanguageServer;

  constructor(context: vscode.ExtensionContext) {
    const log = this.#own(vscode.window.createOutputChannel('Sluice', { log: true }));
    const languageServer = new ManifestLanguageServer(context.asAbsolutePath('dist/server.js'), log);
    this.#languageServer = languageServer;

    const workspaces = this.#own(new SluiceWorkspaces(log));
    const snapshotsView = this.#own(new SnapshotsView(workspaces));
    workspaces.addConsumer(snapshotsView);
    const pipelinesView = this.#own(new PipelinesView(workspaces));
    workspaces.addConsumer(pipelinesView);
    const stageLogs = this.#own(new StageLogs((root) => pipelinesView.workspaceAt(root)));
    const graphs = this.#own(
      new PipelineGraphs(context.extensionUri, pipelinesView, (root, pipeline, stage) =>
        revealStageByName(pipelinesView, root, pipeline, stage),
      ),
    );
    const environmentsView = this.#own(new EnvironmentsView(workspaces));
    workspaces.addConsumer(environmentsView);
    const statusBar = this.#own(new SluiceStatusBar(workspaces));
    this.#own(
      environmentsView.onDidReload((folders) => {
        statusBar.show(folders);
      }),
    );
    const operations = new LongOperations(log, statusBar);
    const content = this.#own(new SnapshotContent());

    const commands: CommandTable = {
      restartLanguageServer: () => languageServer.restart(),
      ...workspaceCommands(workspaces, log),
      ...snapshotCommands(snapshotsView, operations, content),
      ...environmentCommands(environmentsView, operations, content, log),
      ...pipelineCommands({ view: pipelinesView, operations, log, logs: stageLogs, graphs }),
    };
    this.#disposables.push(...registerCommands(commands, { log, refresh: () => workspaces.refreshAll() }));
    void workspaces.start();

    this.api = {
      get languageClient() {
        return languageServer.client;
      },
      snapshotsView,
      environmentsView,
      statusBarText: () => statusBar.text,
      pipelinesView,
      pipelineGraphs: graphs,
      refresh: () => workspaces.refreshAll(),
      whenIdle: () => workspaces.whenIdle(),
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
