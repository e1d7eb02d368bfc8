// The Data Snapshots view: renders the datasets the model holds, turning the
// plain elements of nodes.ts into TreeItems (all the looks are decided there),
// and redraws when the model says a folder's datasets were read again.
import { treeItemOf } from '../treeItems';
import * as vscode from 'vscode';
import { RESTRICTED_MODE_REASON } from '../folders';
import type { WorkspaceModel } from '../model';
import {
  datasetChildren,
  datasetNodes,
  describeNode,
  fileChanges,
  fileNodes,
  parentOf,
  rootNodes,
  type SnapshotsNode,
} from './nodes';

export const SNAPSHOTS_VIEW_ID = 'sluice.snapshots';

export class SnapshotsView implements vscode.TreeDataProvider<SnapshotsNode>, vscode.Disposable {
  readonly #changed = new vscode.EventEmitter<SnapshotsNode | undefined>();
  readonly onDidChangeTreeData = this.#changed.event;
  readonly treeView: vscode.TreeView<SnapshotsNode>;
  readonly #subscription: vscode.Disposable;

  constructor(private readonly model: WorkspaceModel) {
    this.treeView = vscode.window.createTreeView(SNAPSHOTS_VIEW_ID, {
      treeDataProvider: this,
      showCollapseAll: true,
    });
    this.#subscription = model.onDidChange(({ scope }) => {
      if (!scope.whole && scope.datasets.size === 0) return;
      this.#showRestrictedMode();
      this.#changed.fire(undefined);
    });
  }

  async getChildren(element?: SnapshotsNode): Promise<SnapshotsNode[]> {
    await this.model.start();
    if (element === undefined) return rootNodes(this.model.folders);
    switch (element.kind) {
      case 'folder': {
        const folder = this.model.folders.find(({ state }) => state.folder === element.state.folder);
        return folder ? datasetNodes(folder, element) : [];
      }
      case 'dataset':
        return datasetChildren(element);
      case 'changes': {
        const { history } = element.parent.dataset;
        if (history.kind !== 'read' || history.disk.kind !== 'read') return [];
        return fileNodes(element, fileChanges(history.disk));
      }
      case 'snapshot': {
        const workspace = this.model.workspaceAt(element.parent.root, RESTRICTED_MODE_REASON);
        const comparison = await this.model.comparePrevious(workspace, element.snapshot, element.previous);
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

  dispose(): void {
    this.#subscription.dispose();
    this.treeView.dispose();
    this.#changed.dispose();
  }

  /**
   * The tree's message hides the welcome content, so it is set only while a
   * restricted folder has items. (The extension host sends an unset message as '' anyway.)
   */
  #showRestrictedMode(): void {
    const restricted = this.model.folders.some(({ state }) => state.kind === 'restricted');
    this.treeView.message = restricted ? RESTRICTED_MODE_REASON : '';
  }
}
