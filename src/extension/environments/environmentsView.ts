// The Environments view: renders the environments the model holds, turning
// the plain elements of model.ts into TreeItems (all the looks are decided
// there), and redraws when the model says a folder's environments were read
// again, or when a health reading turned unknown with time (HealthWatch).
import { treeItemOf } from '../treeItems';
import * as vscode from 'vscode';
import type { WorkspaceModel } from '../model';
import { healthChildren, type HealthNode } from './healthNodes';
import {
  describeNode,
  ENVIRONMENTS_RESTRICTED_REASON,
  environmentChildren,
  folderChildren,
  historyChildren,
  parentOf,
  releaseChildren,
  rootNodes,
  type EnvironmentsNode,
  type FolderEnvironments,
} from './model';

export const ENVIRONMENTS_VIEW_ID = 'sluice.environments';

export class EnvironmentsView implements vscode.TreeDataProvider<EnvironmentsNode>, vscode.Disposable {
  readonly #changed = new vscode.EventEmitter<EnvironmentsNode | undefined>();
  readonly onDidChangeTreeData = this.#changed.event;
  readonly treeView: vscode.TreeView<EnvironmentsNode>;
  readonly #subscription: vscode.Disposable;
  readonly #ticks: vscode.Disposable;

  constructor(
    private readonly model: WorkspaceModel,
    onHealthTick: vscode.Event<void>,
  ) {
    this.treeView = vscode.window.createTreeView(ENVIRONMENTS_VIEW_ID, {
      treeDataProvider: this,
      showCollapseAll: true,
    });
    this.#subscription = model.onDidChange(({ scope }) => {
      if (!scope.whole && !scope.environments) return;
      const restricted = this.model.folders.some(({ state }) => state.kind === 'restricted');
      // The message hides the welcome content, so it is set only while a restricted folder has items.
      this.treeView.message = restricted ? ENVIRONMENTS_RESTRICTED_REASON : '';
      this.#changed.fire(undefined);
    });
    this.#ticks = onHealthTick(() => {
      this.#changed.fire(undefined);
    });
  }

  /**
   * Shows the view with the Health element of `environment` (in the workspace
   * at `root`) selected and expanded; undefined when it has none to show (no
   * monitor, nothing live, Restricted Mode).
   */
  async revealHealth(root: string, environment: string): Promise<HealthNode | undefined> {
    await this.model.start();
    const health = this.#healthNode(root, environment);
    if (health === undefined) return undefined;
    await vscode.commands.executeCommand(`${ENVIRONMENTS_VIEW_ID}.focus`);
    await this.treeView.reveal(health, { select: true, focus: true, expand: true });
    return health;
  }

  #healthNode(root: string, environment: string): HealthNode | undefined {
    const pending: EnvironmentsNode[] = rootNodes(this.folders());
    while (pending.length > 0) {
      const node = pending.shift()!;
      if (node.kind === 'folder') pending.push(...folderChildren(node.folder, node));
      else if (node.kind === 'environment' && node.root === root && node.environment.name === environment)
        return environmentChildren(node).find((child): child is HealthNode => child.kind === 'health');
    }
    return undefined;
  }

  async getChildren(element?: EnvironmentsNode): Promise<EnvironmentsNode[]> {
    await this.model.start();
    if (element === undefined) return rootNodes(this.folders());
    switch (element.kind) {
      case 'folder':
        return folderChildren(element.folder, element);
      case 'environment':
        return environmentChildren(element);
      case 'release':
        return releaseChildren(element);
      case 'history':
        return historyChildren(element);
      case 'health':
      case 'healthRun':
        return healthChildren(element);
      default:
        return [];
    }
  }

  getTreeItem(element: EnvironmentsNode): vscode.TreeItem {
    return treeItemOf(describeNode(element));
  }

  getParent(element: EnvironmentsNode): EnvironmentsNode | undefined {
    return parentOf(element);
  }

  /** Every folder as last read, in the window's order. */
  folders(): FolderEnvironments[] {
    return this.model.folders.map((folder) => folder.environments);
  }

  dispose(): void {
    this.#subscription.dispose();
    this.#ticks.dispose();
    this.treeView.dispose();
    this.#changed.dispose();
  }
}
