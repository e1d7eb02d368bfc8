// The Pipelines view: renders the pipelines and stage states the model holds,
// with what a run in progress says about its stages, turning the plain
// elements of pipelineNodes.ts into TreeItems (all the looks are decided
// there). It redraws when the model says a folder's pipelines changed.
import { treeItemOf } from '../treeItems';
import * as vscode from 'vscode';
import type { WorkspaceModel } from '../model';
import {
  describeNode,
  parentOf,
  pipelineChildren,
  pipelineNodes,
  RESTRICTED_PIPELINES_NOTE,
  rootNodes,
  type PipelineChild,
  type PipelineNode,
  type PipelinesNode,
  type StageNode,
  type TemplateNode,
} from './pipelineNodes';

export const PIPELINES_VIEW_ID = 'sluice.pipelines';

export class PipelinesView implements vscode.TreeDataProvider<PipelinesNode>, vscode.Disposable {
  readonly #changed = new vscode.EventEmitter<PipelinesNode | undefined>();
  readonly onDidChangeTreeData = this.#changed.event;
  readonly treeView: vscode.TreeView<PipelinesNode>;
  readonly #subscription: vscode.Disposable;

  constructor(private readonly model: WorkspaceModel) {
    this.treeView = vscode.window.createTreeView(PIPELINES_VIEW_ID, {
      treeDataProvider: this,
      showCollapseAll: true,
    });
    this.#subscription = model.onDidChange(({ scope }) => {
      if (!scope.whole && !scope.pipelines && !scope.jobs && scope.datasets.size === 0) return;
      const folders = this.model.folders;
      const restricted = folders.some(({ state }) => state.kind === 'restricted');
      const problems = folders.flatMap(({ pipelines }) => pipelines.problem ?? []);
      // The message hides the welcome content, so it is set only when there is something to say.
      this.treeView.message = restricted ? RESTRICTED_PIPELINES_NOTE : (problems[0] ?? '');
      this.#changed.fire(undefined);
    });
  }

  async getChildren(element?: PipelinesNode): Promise<PipelinesNode[]> {
    await this.model.start();
    if (element === undefined) return rootNodes(this.model.folders.map((folder) => folder.pipelines));
    switch (element.kind) {
      case 'folder': {
        const folder = this.model.folders.find(({ state }) => state.folder === element.state.folder);
        return folder ? pipelineNodes(folder.pipelines, element) : [];
      }
      case 'pipeline':
        return childrenOf(this.model, element);
      case 'template':
        return [...templateStagesOf(this.model, element)];
      default:
        return [];
    }
  }

  getTreeItem(element: PipelinesNode): vscode.TreeItem {
    return treeItemOf(describeNode(element));
  }

  getParent(element: PipelinesNode): PipelinesNode | undefined {
    return parentOf(element);
  }

  dispose(): void {
    this.#subscription.dispose();
    this.treeView.dispose();
    this.#changed.dispose();
  }
}

/** Every pipeline of every readable folder, in the window's order. */
export function allPipelines(model: WorkspaceModel): PipelineNode[] {
  const folders = model.folders.map((folder) => folder.pipelines);
  return folders.flatMap((folder) =>
    pipelineNodes(folder, folders.length === 1 ? undefined : { kind: 'folder', state: folder.state }),
  );
}

/** The pipeline node as it stands now, found by root and name. */
export function findPipeline(model: WorkspaceModel, root: string, name: string): PipelineNode | undefined {
  return allPipelines(model).find((node) => node.root === root && node.pipeline.name === name);
}

/** The stages and templates of a pipeline as they stand now (a node kept by a caller may be older). */
export function childrenOf(model: WorkspaceModel, node: PipelineNode): PipelineChild[] {
  const current = findPipeline(model, node.root, node.pipeline.name) ?? node;
  return pipelineChildren(current, (root, id) => model.progressOf(root, id));
}

/** The stages a template generates as they stand now; none once the template is gone. */
export function templateStagesOf(model: WorkspaceModel, node: TemplateNode): readonly StageNode[] {
  const current = childrenOf(model, node.parent).find(
    (child): child is TemplateNode => child.kind === 'template' && child.template.name === node.template.name,
  );
  return current?.stages ?? [];
}
