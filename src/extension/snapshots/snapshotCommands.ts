// The Data Snapshots commands: snapshot one dataset or all, diff a snapshot with
// the one before it or with the disk, restore one, reveal a dataset, copy an id.
// Each calls the engine's own functions in-process, as the CLI does.
import { existsSync } from 'node:fs';
import * as vscode from 'vscode';
import { formatAge, shortId } from '../../core/format';
import { SluiceError } from '../../core/errors';
import {
  restoreJson,
  snapshotJson,
  type RestoreJson,
  type SnapshotJson,
} from '../../core/operations/results';
import type { RestoreResult } from '../../core/snapshots/restore';
import type { SnapshotResult } from '../../core/snapshots/snapshots';
import { outcome, unchanged, type Changes, type Outcome } from '../changes';
import { FailureWithNextSteps, type CommandTable } from '../commands';
import type { SluiceContext } from '../context';
import { RESTRICTED_MODE_REASON } from '../folders';
import type { WorkspaceModel } from '../model';
import { restoreMessage, snapshotMessage } from '../resultMessages';
import { compareWithDisk, type Comparison } from './datasets';
import { isTextDiff, planFileDiffs, summarizeDiff, type FileDiff } from './diffPlan';
import {
  describeRestorePlan,
  isUnsavedDataRefusal,
  restoreCancellable,
  restorePlan,
  snapshotAll,
} from './engineCalls';
import {
  datasetOf,
  displayedPath,
  fileChanges,
  firstLine,
  type ChangesNode,
  type DatasetNode,
  type FileNode,
  type SnapshotNode,
  type SnapshotsNode,
} from './nodes';

/** Files opened in one multi-file diff editor; the summary lists the rest. */
const TEXT_DIFFS_LIMIT = 100;

/** Options a keybinding, another extension or a test may pass instead of answering prompts. */
export interface SnapshotOptions {
  /** The snapshot message; without one, an input box asks (empty means "Snapshot of NAME"). */
  readonly message?: string;
}

export interface RestoreOptions {
  /** Skip the modal confirmation (like the CLI, which asks nothing). */
  readonly confirmed?: boolean;
  /**
   * Snapshot unsaved files first, then restore (the CLI's --force; named for
   * what it does, since Run Pipeline's `force` means something else).
   */
  readonly snapshotUnsaved?: boolean;
}

/** A dataset to snapshot: the workspace root it is declared in and its name. */
interface DatasetTarget {
  readonly root: string;
  readonly name: string;
}

export function snapshotCommands(context: SluiceContext): CommandTable {
  const { model, operations, content } = context;
  const snapshot = async (
    datasets: readonly DatasetTarget[],
    options: SnapshotOptions | undefined,
  ): Promise<Outcome<SnapshotJson | undefined>> => {
    const defaultMessage = datasets.length === 1 ? `Snapshot of ${datasets[0]!.name}` : undefined;
    const message =
      options?.message ??
      (await vscode.window.showInputBox({
        title: datasets.length === 1 ? `Snapshot ${datasets[0]!.name}` : 'Snapshot Datasets',
        prompt: 'Describe the snapshot (optional)',
        placeHolder: defaultMessage ?? 'Snapshot of each dataset',
      }));
    if (message === undefined) return unchanged(undefined); // the input box was dismissed
    const byWorkspace = new Map<string, string[]>();
    for (const { root, name } of datasets) byWorkspace.set(root, [...(byWorkspace.get(root) ?? []), name]);
    const results: SnapshotResult[] = [];
    const changed: Changes = [...byWorkspace].map(([root, names]) => ({ kind: 'datasets', root, names }));
    await operations.run('Recording snapshots', async (signal, report) => {
      for (const [root, names] of byWorkspace) {
        const workspace = model.workspaceAt(root, RESTRICTED_MODE_REASON);
        results.push(
          ...(await snapshotAll(workspace, names, message, signal, (name, index) => {
            report(`${name} (${results.length + index + 1} of ${datasets.length})`);
          })),
        );
      }
    });
    // What `sluice snapshot --json` prints: from here on, only this is read.
    const json = snapshotJson(results);
    void vscode.window.showInformationMessage(`Sluice: ${snapshotMessage(json).text}`);
    return outcome(json, changed);
  };

  return {
    snapshotDataset: {
      writes: 'record snapshots',
      run: (node, options) =>
        snapshot([datasetTarget(requireNode(node, 'dataset'))], snapshotOptions(options)),
    },
    snapshotDatasets: {
      writes: 'record snapshots',
      run: async (options) => {
        await model.start();
        const datasets = allDatasets(model);
        if (datasets.length === 0) {
          throw new SluiceError(
            'No dataset to snapshot: no folder has a readable sluice.yaml that declares one.',
            'usage',
          );
        }
        return snapshot(datasets, snapshotOptions(options));
      },
    },
    diffWithPrevious: async (node) => {
      const target = requireNode(node, 'snapshot', 'file');
      const snapshotNode = target.kind === 'file' ? requireSnapshotParent(target) : target;
      const { snapshot: current, previous } = snapshotNode;
      const workspace = model.workspaceAt(snapshotNode.parent.root, RESTRICTED_MODE_REASON);
      const comparison = await model.comparePrevious(workspace, current, previous);
      const from = previous ? shortId(previous.id) : 'nothing';
      await showDiff(snapshotNode.parent, comparison, target, `${from} ↔ ${shortId(current.id)}`, undefined);
    },
    diffWithDisk: async (node) => {
      const target = requireNode(node, 'snapshot', 'changes', 'file');
      const source: SnapshotNode | ChangesNode = target.kind === 'file' ? target.parent : target;
      const dataset = datasetOf(source);
      const comparison = await diskComparison(model, source);
      const from = source.kind === 'snapshot' ? shortId(source.snapshot.id) : latestLabel(dataset);
      await showDiff(dataset, comparison, target, `${from} ↔ disk`, dataset.dataset.absolutePath);
    },
    restoreSnapshot: {
      writes: 'restore snapshots',
      run: (node, options) => restore(context, requireNode(node, 'snapshot'), restoreOptions(options)),
    },
    revealDataset: async (node) => {
      const { dataset } = requireNode(node, 'dataset');
      if (!existsSync(dataset.absolutePath)) {
        throw new SluiceError(
          `Nothing is at ${dataset.path}, the path of dataset '${dataset.name}'.`,
          'failed',
          'Restore one of its snapshots, or fix the path in sluice.yaml.',
        );
      }
      await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(dataset.absolutePath));
    },
    copySnapshotId: async (node) => {
      await vscode.env.clipboard.writeText(requireNode(node, 'snapshot').snapshot.id);
    },
  };

  /** Opens text files in the diff editor (one, or the multi-file changes editor) and the rest in a summary. */
  async function showDiff(
    dataset: DatasetNode,
    comparison: Comparison,
    target: SnapshotsNode,
    sides: string,
    diskRoot: string | undefined,
  ): Promise<void> {
    const { name, path } = dataset.dataset;
    const changes = target.kind === 'file' ? [target.file] : fileChanges(comparison);
    const title = `${name}: ${sides}`;
    if (changes.length === 0) {
      void vscode.window.showInformationMessage(`Sluice: no changes in ${name} (${sides}).`);
      return;
    }
    const diffs = planFileDiffs(changes, diskRoot);
    const text: FileDiff[] = [];
    for (const diff of diffs) {
      if (text.length < TEXT_DIFFS_LIMIT && (await isTextDiff(dataset.root, diff))) text.push(diff);
    }
    const uriOf = (diff: FileDiff, side: 'before' | 'after'): vscode.Uri =>
      content.sideUri(dataset.root, displayedPath(path, diff.file.path), diff[side]);
    if (text.length === 1 && diffs.length === 1) {
      const only = text[0]!;
      const label = displayedPath(path, only.file.path);
      await vscode.commands.executeCommand(
        'vscode.diff',
        uriOf(only, 'before'),
        uriOf(only, 'after'),
        `${label} (${sides})`,
      );
      return;
    }
    if (text.length > 0) {
      await vscode.commands.executeCommand(
        'vscode.changes',
        title,
        text.map((diff) => [uriOf(diff, 'after'), uriOf(diff, 'before'), uriOf(diff, 'after')]),
      );
    }
    if (text.length < diffs.length) {
      const shown = new Set(text.map((diff) => diff.file.path));
      await content.showSummary(title, summarizeDiff(title, path, diffs, shown));
    }
  }
}

async function restore(
  { model, operations }: SluiceContext,
  node: SnapshotNode,
  options: RestoreOptions,
): Promise<Outcome<RestoreJson | undefined>> {
  const { dataset } = node.parent;
  const workspace = model.workspaceAt(node.parent.root, RESTRICTED_MODE_REASON);
  const id = shortId(node.snapshot.id);
  const force = options.snapshotUnsaved ?? false;
  if (options.confirmed !== true) {
    const comparison = await vscode.window.withProgress({ location: { viewId: 'sluice.snapshots' } }, () =>
      compareWithDisk(workspace, dataset.name, node.snapshot),
    );
    const plan = restorePlan(comparison);
    if (plan.overwritten.length + plan.removed.length + plan.written.length === 0) {
      void vscode.window.showInformationMessage(`Sluice: ${dataset.name} already matches snapshot ${id}.`);
      return unchanged(undefined);
    }
    const { summary, detail } = describeRestorePlan(plan, (path) => displayedPath(dataset.path, path));
    const age = formatAge(node.snapshot.time);
    const choice = await vscode.window.showWarningMessage(
      `Restore ${dataset.name} to snapshot ${id} ("${firstLine(node.snapshot.message)}", ${age})?`,
      { modal: true, detail: `${summary}\n\n${detail}` },
      'Restore',
    );
    if (choice !== 'Restore') return unchanged(undefined);
  }
  let result: RestoreResult;
  try {
    result = await operations.run(`Restoring ${dataset.name} to ${id}`, (signal) =>
      restoreCancellable(workspace, dataset.name, node.snapshot.id, { force, signal }),
    );
  } catch (error) {
    if (!force && isUnsavedDataRefusal(error)) {
      throw new FailureWithNextSteps(
        `${error.message} "Snapshot and Restore" records them as a snapshot first, so nothing is lost.`,
        [
          {
            title: 'Snapshot and Restore',
            run: () =>
              vscode.commands.executeCommand('sluice.restoreSnapshot', node, {
                confirmed: true,
                snapshotUnsaved: true,
              } satisfies RestoreOptions),
          },
        ],
        error,
      );
    }
    throw error;
  }
  // What `sluice restore --json` prints: from here on, only this is read.
  const json = restoreJson(result);
  void vscode.window.showInformationMessage(`Sluice: ${restoreMessage(json).text}`);
  // Restoring writes the dataset's files; with force it also records a snapshot of that dataset.
  return outcome(json, [{ kind: 'datasets', root: node.parent.root, names: [json.dataset] }]);
}

/** Snapshot → disk: for a snapshot, read now; for "changes on disk", what the view last read. */
async function diskComparison(
  model: WorkspaceModel,
  source: SnapshotNode | ChangesNode,
): Promise<Comparison> {
  const dataset = source.parent;
  if (source.kind === 'snapshot') {
    const workspace = model.workspaceAt(dataset.root, RESTRICTED_MODE_REASON);
    return compareWithDisk(workspace, dataset.dataset.name, source.snapshot);
  }
  const { history } = dataset.dataset;
  if (history.kind !== 'read' || history.disk.kind !== 'read') {
    throw new SluiceError(
      `The files of ${dataset.dataset.name} could not be read; see its tooltip.`,
      'failed',
    );
  }
  return history.disk;
}

function latestLabel(dataset: DatasetNode): string {
  const { history } = dataset.dataset;
  const latest = history.kind === 'read' ? history.snapshots[0] : undefined;
  return latest ? shortId(latest.id) : 'nothing';
}

/** Every dataset of every readable folder, in the window's order. */
function allDatasets(model: WorkspaceModel): DatasetTarget[] {
  return model.folders.flatMap(({ state, datasets }) =>
    state.kind === 'ready' || state.kind === 'restricted'
      ? datasets.map((dataset) => ({ root: state.root, name: dataset.name }))
      : [],
  );
}

function datasetTarget(node: DatasetNode): DatasetTarget {
  return { root: node.root, name: node.dataset.name };
}

function requireSnapshotParent(node: FileNode): SnapshotNode {
  if (node.parent.kind !== 'snapshot') throw new Error('This file is a change on disk: use Diff with Disk.');
  return node.parent;
}

type NodeOf<K extends SnapshotsNode['kind']> = Extract<SnapshotsNode, { kind: K }>;

/** The view element a menu passed; the commands that take one are hidden from the palette. */
function requireNode<K extends SnapshotsNode['kind']>(value: unknown, ...kinds: K[]): NodeOf<K> {
  if (
    typeof value === 'object' &&
    value !== null &&
    kinds.some((kind) => (value as { kind?: unknown }).kind === kind)
  ) {
    return value as NodeOf<K>;
  }
  throw new Error('Run this command on an item of the Data Snapshots view.');
}

function snapshotOptions(value: unknown): SnapshotOptions | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const message = (value as { message?: unknown }).message;
  return typeof message === 'string' ? { message } : undefined;
}

function restoreOptions(value: unknown): RestoreOptions {
  if (typeof value !== 'object' || value === null) return {};
  const { confirmed, snapshotUnsaved } = value as { confirmed?: unknown; snapshotUnsaved?: unknown };
  return { confirmed: confirmed === true, snapshotUnsaved: snapshotUnsaved === true };
}
