// The Pipelines view as a test reads it: its nodes by name, and each as the
// tree shows it ("label: description"), through the extension's exported provider.
import assert from 'node:assert/strict';
import type * as vscode from 'vscode';
import type { PipelineNode, PipelinesNode, StageNode } from '../../../src/extension/pipelines/pipelineNodes';
import type { SluiceApi } from '../../../src/extension/sluiceExtension';

async function childrenOf(api: SluiceApi, node?: PipelinesNode): Promise<PipelinesNode[]> {
  return (await api.pipelinesView.getChildren(node)) ?? [];
}

export async function pipelineNode(api: SluiceApi, name: string): Promise<PipelineNode | undefined> {
  return (await childrenOf(api)).find(
    (node): node is PipelineNode => node.kind === 'pipeline' && node.pipeline.name === name,
  );
}

/** A stage listed right under its pipeline, as the tree has it now. */
export async function stageNode(api: SluiceApi, pipeline: string, name: string): Promise<StageNode> {
  const owner = await pipelineNode(api, pipeline);
  assert.ok(owner, `the view lists pipeline ${pipeline}`);
  const found = (await childrenOf(api, owner)).find(
    (node): node is StageNode => node.kind === 'stage' && node.stage.name === name,
  );
  assert.ok(found, `pipeline ${pipeline} lists stage ${name}`);
  return found;
}

function labelOf(item: vscode.TreeItem): string {
  return typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
}

/** A node as the tree shows it: "label: description". */
async function shownNode(api: SluiceApi, node: PipelinesNode): Promise<string> {
  const item = await api.pipelinesView.getTreeItem(node);
  return `${labelOf(item)}: ${String(item.description)}`;
}

/** Each node right under a pipeline, as the tree shows it. */
export async function pipelineRows(api: SluiceApi, pipeline: string): Promise<string[]> {
  const owner = await pipelineNode(api, pipeline);
  if (owner === undefined) return [];
  return Promise.all((await childrenOf(api, owner)).map((node) => shownNode(api, node)));
}
