// The Pipelines view: keeps each folder's pipelines and stage states (reloaded
// when SluiceWorkspaces reports a manifest, data or ref change, when a stage's
// deps, outs or params change, and after every run) and what a run in progress
// says about its stages. It turns the plain elements of pipelineNodes.ts into
// TreeItems; all the looks are decided there.
import { treeItemOf } from '../treeItems';
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { SluiceError } from '../../core/errors';
import { SLUICE_DIR, type Workspace } from '../../core/workspace';
import type { FolderConsumer, SluiceWorkspaces, WorkspaceFolderState } from '../workspaces';
import {
  describeNode,
  parentOf,
  pipelineNodes,
  RESTRICTED_PIPELINES_NOTE,
  rootNodes,
  stageNodes,
  type FolderPipelines,
  type PipelineNode,
  type PipelinesNode,
  type RunProgress,
  type StageNode,
} from './pipelineNodes';
import { readFolderPipelines, readOnlyWorkspace } from './pipelineStates';

export const PIPELINES_VIEW_ID = 'sluice.pipelines';

/** Quiet time before a burst of changes to deps and outs is acted on (as workspaces.ts waits). */
const DEBOUNCE_MS = 300;

interface FolderEntry {
  view: FolderPipelines;
  watchers: vscode.Disposable[];
  timer: NodeJS.Timeout | undefined;
}

export class PipelinesView
  implements FolderConsumer, vscode.TreeDataProvider<PipelinesNode>, vscode.Disposable
{
  readonly #changed = new vscode.EventEmitter<PipelinesNode | undefined>();
  readonly onDidChangeTreeData = this.#changed.event;
  readonly #statesChanged = new vscode.EventEmitter<void>();
  /** Fires whenever a stage's shown state may have changed (the graph redraws). */
  readonly onDidChangeStates = this.#statesChanged.event;
  /** By folder path. */
  readonly #folders = new Map<string, FolderEntry>();
  /** By workspace root, then stage id: what the run going on there says. */
  readonly #runs = new Map<string, Map<string, RunProgress>>();
  readonly treeView: vscode.TreeView<PipelinesNode>;

  constructor(private readonly workspaces: SluiceWorkspaces) {
    this.treeView = vscode.window.createTreeView(PIPELINES_VIEW_ID, {
      treeDataProvider: this,
      showCollapseAll: true,
    });
  }

  folderChanged({ state }: WorkspaceFolderState): Promise<void> {
    // Any change a folder reports (manifest, data, refs) can change stage states: re-read them all.
    const entry = this.#folders.get(state.folder) ?? {
      view: { state, pipelines: [], problem: undefined },
      watchers: [],
      timer: undefined,
    };
    entry.view = { ...entry.view, state };
    this.#folders.set(state.folder, entry);
    this.#reload(entry);
    return Promise.resolve();
  }

  folderRemoved(folder: vscode.WorkspaceFolder): void {
    const entry = this.#folders.get(folder.uri.fsPath);
    if (entry) this.#dispose(entry);
    this.#folders.delete(folder.uri.fsPath);
    this.#fire();
  }

  async getChildren(element?: PipelinesNode): Promise<PipelinesNode[]> {
    await this.workspaces.start();
    if (element === undefined) return rootNodes(this.#views());
    switch (element.kind) {
      case 'folder': {
        const entry = this.#folders.get(element.state.folder);
        return entry ? pipelineNodes(entry.view, element) : [];
      }
      case 'pipeline':
        return stageNodes(this.#current(element), (root, id) => this.progressOf(root, id));
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

  /** Every pipeline of every readable folder, in the window's order. */
  pipelines(): PipelineNode[] {
    const views = this.#views();
    return views.flatMap((view) =>
      pipelineNodes(view, views.length === 1 ? undefined : { kind: 'folder', state: view.state }),
    );
  }

  /** The stages of a pipeline as they stand now (a node kept by a caller may be older). */
  stagesOf(node: PipelineNode): StageNode[] {
    return stageNodes(this.#current(node), (root, id) => this.progressOf(root, id));
  }

  /** The pipeline node as it stands now, found by root and name. */
  findPipeline(root: string, name: string): PipelineNode | undefined {
    return this.pipelines().find((node) => node.root === root && node.pipeline.name === name);
  }

  /**
   * The workspace at `root` for reading stage records and logs: the open one
   * when trusted, a read-only one in Restricted Mode (files only, no git).
   */
  workspaceAt(root: string): Workspace {
    for (const { view } of this.#folders.values()) {
      const { state } = view;
      if (state.kind === 'ready' && state.root === root) return state.workspace;
      if (state.kind === 'restricted' && state.root === root)
        return readOnlyWorkspace(state.root, state.manifestFile, state.manifest);
    }
    throw new SluiceError(
      `The workspace at ${root} is not open any more; refresh the Pipelines view.`,
      'usage',
    );
  }

  progressOf(root: string, stageId: string): RunProgress | undefined {
    return this.#runs.get(root)?.get(stageId);
  }

  /** A run starts in `root`: its stages show as running while they run, and watchers wait for its end. */
  runStarted(root: string): void {
    this.#runs.set(root, new Map());
  }

  stageProgress(root: string, stageId: string, progress: RunProgress): void {
    this.#runs.get(root)?.set(stageId, progress);
    this.#fire();
  }

  /** The run ended: the states are read again from what it left on disk. */
  runEnded(root: string): void {
    this.#runs.delete(root);
    for (const entry of this.#folders.values()) {
      if (entry.view.state.kind !== 'noManifest' && entry.view.state.root === root) this.#reload(entry);
    }
  }

  isRunning(root: string): boolean {
    return this.#runs.has(root);
  }

  dispose(): void {
    for (const entry of this.#folders.values()) this.#dispose(entry);
    this.#folders.clear();
    this.treeView.dispose();
    this.#changed.dispose();
    this.#statesChanged.dispose();
  }

  #current(node: PipelineNode): PipelineNode {
    return this.findPipeline(node.root, node.pipeline.name) ?? node;
  }

  #views(): FolderPipelines[] {
    return this.workspaces.folders.flatMap(({ state }) => this.#folders.get(state.folder)?.view ?? []);
  }

  /** Reads the states and watches what they were computed from (an output a run created is watched inside now). */
  #reload(entry: FolderEntry): void {
    entry.view = readFolderPipelines(entry.view.state);
    this.#dispose(entry);
    entry.watchers = this.#watch(entry);
    this.#fire();
  }

  #readAgain(entry: FolderEntry): void {
    entry.view = readFolderPipelines(entry.view.state);
    this.#fire();
  }

  #fire(): void {
    const restricted = [...this.#folders.values()].some((entry) => entry.view.state.kind === 'restricted');
    const problems = [...this.#folders.values()].flatMap((entry) => entry.view.problem ?? []);
    // The message hides the welcome content, so it is set only when there is something to say.
    this.treeView.message = restricted ? RESTRICTED_PIPELINES_NOTE : (problems[0] ?? '');
    this.#changed.fire(undefined);
    this.#statesChanged.fire();
  }

  /**
   * Watches what the states are computed from and workspaces.ts does not watch:
   * every stage's deps and outs, the params file, and the stage records (a run
   * from a terminal writes them). Datasets and the manifest arrive through folderChanged.
   */
  #watch(entry: FolderEntry): vscode.Disposable[] {
    const { state } = entry.view;
    if (state.kind !== 'ready' && state.kind !== 'restricted') return [];
    const paths = new Set<string>();
    for (const pipeline of entry.view.pipelines)
      for (const stage of pipeline.stages) for (const out of stage.outs) paths.add(out);
    const manifest = state.kind === 'ready' ? state.workspace.manifest : state.manifest;
    for (const pipeline of manifest.pipelines.values())
      for (const stage of pipeline.stages.values()) for (const dep of stage.deps) paths.add(dep.value);
    if (manifest.params !== undefined) paths.add(manifest.params.value);
    paths.add(join(SLUICE_DIR, 'state', 'stages.json'));

    const onChange = (): void => {
      clearTimeout(entry.timer);
      entry.timer = setTimeout(() => {
        entry.timer = undefined;
        // A run re-reads everything when it ends; reading half-written outputs meanwhile helps no one.
        if (this.isRunning(state.root)) return;
        this.#readAgain(entry);
      }, DEBOUNCE_MS);
    };
    const watchers: vscode.Disposable[] = [];
    const add = (pattern: vscode.RelativePattern): void => {
      const watcher = vscode.workspace.createFileSystemWatcher(pattern);
      watchers.push(
        watcher,
        watcher.onDidCreate(onChange),
        watcher.onDidChange(onChange),
        watcher.onDidDelete(onChange),
      );
    };
    // One watcher per folder holding watched paths, not one per path.
    const parents = new Map<string, Set<string>>();
    for (const path of paths) {
      const absolute = join(state.root, path);
      const names = parents.get(dirname(absolute)) ?? new Set<string>();
      names.add(basename(absolute));
      parents.set(dirname(absolute), names);
      if (isFolder(absolute)) add(new vscode.RelativePattern(vscode.Uri.file(absolute), '**'));
    }
    for (const [parent, names] of parents) {
      const glob = names.size === 1 ? [...names][0]! : `{${[...names].join(',')}}`;
      add(new vscode.RelativePattern(vscode.Uri.file(parent), glob));
    }
    return watchers;
  }

  #dispose(entry: FolderEntry): void {
    clearTimeout(entry.timer);
    for (const watcher of entry.watchers.splice(0)) watcher.dispose();
  }
}

function isFolder(path: string): boolean {
  try {
    return existsSync(path) && statSync(path).isDirectory();
  } catch {
    return false;
  }
}
