// The Data Snapshots view: keeps what each folder's datasets look like (reloaded
// when SluiceWorkspaces says what changed) and turns the plain elements of
// nodes.ts into TreeItems. All the looks are decided in nodes.ts.
import { treeItemOf } from '../treeItems';
import * as vscode from 'vscode';
import type { SnapshotSummary } from '../../core/snapshots/snapshots';
import type { Workspace } from '../../core/workspace';
import { RESTRICTED_MODE_REASON, type FolderState } from '../folders';
import type { FolderConsumer, Scope, SluiceWorkspaces, WorkspaceFolderState } from '../workspaces';
import {
  compareWithPrevious,
  declaredDatasets,
  loadDataset,
  loadDatasets,
  type Comparison,
  type DatasetState,
} from './datasets';
import {
  datasetChildren,
  datasetNodes,
  describeNode,
  fileChanges,
  fileNodes,
  parentOf,
  rootNodes,
  type DatasetNode,
  type FolderView,
  type SnapshotsNode,
} from './nodes';

export const SNAPSHOTS_VIEW_ID = 'sluice.snapshots';

/** Snapshot comparisons kept (records never change, so a kept one is always right). */
const KEPT_COMPARISONS = 100;

export class SnapshotsView
  implements FolderConsumer, vscode.TreeDataProvider<SnapshotsNode>, vscode.Disposable
{
  readonly #changed = new vscode.EventEmitter<SnapshotsNode | undefined>();
  readonly onDidChangeTreeData = this.#changed.event;
  /** By folder path. */
  readonly #folders = new Map<string, FolderView>();
  readonly #comparisons = new Map<string, Promise<Comparison>>();
  readonly treeView: vscode.TreeView<SnapshotsNode>;

  constructor(private readonly workspaces: SluiceWorkspaces) {
    this.treeView = vscode.window.createTreeView(SNAPSHOTS_VIEW_ID, {
      treeDataProvider: this,
      showCollapseAll: true,
    });
  }

  async folderChanged({ state }: WorkspaceFolderState, scope: Scope): Promise<void> {
    const known = this.#folders.get(state.folder);
    if (scope === 'folder' || known === undefined || state.kind !== 'ready') {
      this.#folders.set(state.folder, { state, datasets: await datasetsOf(state) });
    } else {
      const datasets = [...known.datasets];
      for (const name of scope) {
        const index = datasets.findIndex((dataset) => dataset.name === name);
        if (index >= 0) datasets[index] = await loadDataset(state.workspace, name);
      }
      this.#folders.set(state.folder, { state, datasets });
    }
    this.#showRestrictedMode();
    this.#changed.fire(undefined);
  }

  folderRemoved(folder: vscode.WorkspaceFolder): void {
    this.#folders.delete(folder.uri.fsPath);
    this.#showRestrictedMode();
    this.#changed.fire(undefined);
  }

  async getChildren(element?: SnapshotsNode): Promise<SnapshotsNode[]> {
    await this.workspaces.start();
    if (element === undefined) return rootNodes(this.#views());
    switch (element.kind) {
      case 'folder': {
        const view = this.#folders.get(element.state.folder);
        return view ? datasetNodes(view, element) : [];
      }
      case 'dataset':
        return datasetChildren(element);
      case 'changes': {
        const { history } = element.parent.dataset;
        if (history.kind !== 'read' || history.disk.kind !== 'read') return [];
        return fileNodes(element, fileChanges(history.disk));
      }
      case 'snapshot': {
        const workspace = this.workspaceOf(element.parent);
        const comparison = await this.comparePrevious(workspace, element.snapshot, element.previous);
        return fileNodes(element, fileChanges(comparison));
      }
      default:
        return [];
    }
  }

  getTreeItem(element: SnapshotsNode): vscode.TreeItem {
    const view = describeNode(element);
    const item = treeItemOf(view);
    if (view.openCommand !== undefined) {
      item.command = { command: view.openCommand, title: 'Show the Change', arguments: [element] };
    }
    return item;
  }

  getParent(element: SnapshotsNode): SnapshotsNode | undefined {
    return parentOf(element);
  }

  /** The open workspace of a dataset's folder; throws when the folder is not readable now. */
  workspaceOf(node: DatasetNode): Workspace {
    for (const { state } of this.#folders.values()) {
      if (state.kind === 'ready' && state.root === node.root) return state.workspace;
    }
    throw new Error(
      vscode.workspace.isTrusted
        ? `The workspace at ${node.root} is not open any more; refresh the Data Snapshots view.`
        : RESTRICTED_MODE_REASON,
    );
  }

  /** Every readable folder's workspace, in the window's order. */
  readyWorkspaces(): Workspace[] {
    return this.#views().flatMap(({ state }) => (state.kind === 'ready' ? [state.workspace] : []));
  }

  /** A snapshot against the one before it, read once per pair. */
  comparePrevious(
    workspace: Workspace,
    snapshot: SnapshotSummary,
    previous: SnapshotSummary | undefined,
  ): Promise<Comparison> {
    const key = JSON.stringify([workspace.root, snapshot.id, previous?.id]);
    let comparison = this.#comparisons.get(key);
    if (comparison === undefined) {
      comparison = compareWithPrevious(workspace, snapshot, previous);
      // A failed read is not kept: the next expand tries again.
      comparison.catch(() => this.#comparisons.delete(key));
      this.#comparisons.set(key, comparison);
      for (const old of this.#comparisons.keys()) {
        if (this.#comparisons.size <= KEPT_COMPARISONS) break;
        this.#comparisons.delete(old);
      }
    }
    return comparison;
  }

  dispose(): void {
    this.treeView.dispose();
    this.#changed.dispose();
  }

  #views(): FolderView[] {
    return this.workspaces.folders.flatMap(({ state }) => this.#folders.get(state.folder) ?? []);
  }

  /**
   * The tree's message hides the welcome content, so it is set only while a
   * restricted folder has items. (The extension host sends an unset message as '' anyway.)
   */
  #showRestrictedMode(): void {
    const restricted = [...this.#folders.values()].some((view) => view.state.kind === 'restricted');
    this.treeView.message = restricted ? RESTRICTED_MODE_REASON : '';
  }
}

async function datasetsOf(state: FolderState): Promise<DatasetState[]> {
  if (state.kind === 'ready') return loadDatasets(state.workspace);
  if (state.kind === 'restricted') return declaredDatasets(state.manifest, state.root);
  return [];
}
