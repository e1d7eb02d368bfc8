// The Environments view: keeps each folder's environments (reloaded when
// SluiceWorkspaces says a folder or its refs changed) and turns the plain
// elements of model.ts into TreeItems. All the looks are decided in model.ts.
import { treeItemOf } from '../treeItems';
import * as vscode from 'vscode';
import type { Workspace } from '../../core/workspace';
import type { FolderConsumer, SluiceWorkspaces, WorkspaceFolderState } from '../workspaces';
import { loadFolderEnvironments } from './environments';
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

export class EnvironmentsView
  implements FolderConsumer, vscode.TreeDataProvider<EnvironmentsNode>, vscode.Disposable
{
  readonly #changed = new vscode.EventEmitter<EnvironmentsNode | undefined>();
  readonly onDidChangeTreeData = this.#changed.event;
  /** By folder path. */
  readonly #folders = new Map<string, FolderEnvironments>();
  readonly treeView: vscode.TreeView<EnvironmentsNode>;

  constructor(private readonly workspaces: SluiceWorkspaces) {
    this.treeView = vscode.window.createTreeView(ENVIRONMENTS_VIEW_ID, {
      treeDataProvider: this,
      showCollapseAll: true,
    });
  }

  /** Environments live in refs, which any dataset-scoped change may accompany: every change reloads the folder. */
  async folderChanged({ state }: WorkspaceFolderState): Promise<void> {
    this.#folders.set(state.folder, await loadFolderEnvironments(state));
    this.#afterChange();
  }

  folderRemoved(folder: vscode.WorkspaceFolder): void {
    this.#folders.delete(folder.uri.fsPath);
    this.#afterChange();
  }

  /** Fires with every folder's environments after each reload (the status bar listens). */
  readonly #reloaded = new vscode.EventEmitter<readonly FolderEnvironments[]>();
  readonly onDidReload = this.#reloaded.event;

  async getChildren(element?: EnvironmentsNode): Promise<EnvironmentsNode[]> {
    await this.workspaces.start();
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
    return this.workspaces.folders.flatMap(({ state }) => this.#folders.get(state.folder) ?? []);
  }

  /** The open workspace of `root`; throws when it cannot be read now (Restricted Mode, or gone). */
  workspaceAt(root: string): Workspace {
    for (const { state } of this.#folders.values()) {
      if (state.kind === 'ready' && state.root === root) return state.workspace;
    }
    throw new Error(
      vscode.workspace.isTrusted
        ? `The workspace at ${root} is not open any more; refresh the Environments view.`
        : ENVIRONMENTS_RESTRICTED_REASON,
    );
  }

  dispose(): void {
    this.treeView.dispose();
    this.#changed.dispose();
    this.#reloaded.dispose();
  }

  #afterChange(): void {
    const restricted = [...this.#folders.values()].some((folder) => folder.state.kind === 'restricted');
    // The message hides the welcome content, so it is set only while a restricted folder has items.
    this.treeView.message = restricted ? ENVIRONMENTS_RESTRICTED_REASON : '';
    this.#changed.fire(undefined);
    this.#reloaded.fire(this.folders());
  }
}
