// The Sluice workspaces of the window: one per VS Code folder that holds (or
// sits under) a sluice.yaml. It discovers each folder's state, watches the
// manifest, the datasets' files and the refs under refs/sluice/, and tells the
// views what to reload, debounced: a manifest change re-reads the folder, a
// data or ref change only that dataset.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { describeError } from '../core/errors';
import { MANIFEST_FILE } from '../core/manifest';
import {
  datasetOfRef,
  discoverFolder,
  findGitDirectories,
  summarizeFolders,
  type FolderState,
} from './folders';
import type { PausesRefresh } from './progress';

/** Quiet time before a burst of file events is acted on. */
const DEBOUNCE_MS = 300;

/** The context key the welcome views read (see `viewsWelcome` in package.json). */
const STATE_CONTEXT_KEY = 'sluice.workspaceState';

/** What to reload in one folder: everything, or some datasets. */
export type Scope = 'folder' | ReadonlySet<string>;

export interface WorkspaceFolderState {
  readonly folder: vscode.WorkspaceFolder;
  readonly state: FolderState;
}

/** A view's data source: told what changed, it reloads; refreshes wait for it. */
export interface FolderConsumer {
  folderChanged(folder: WorkspaceFolderState, scope: Scope): Promise<void>;
  folderRemoved(folder: vscode.WorkspaceFolder): void;
}

interface Entry {
  folder: vscode.WorkspaceFolder;
  state: FolderState;
  watchers: vscode.Disposable[];
}

export class SluiceWorkspaces implements PausesRefresh, vscode.Disposable {
  readonly #entries = new Map<string, Entry>();
  readonly #consumers: FolderConsumer[] = [];
  readonly #pending = new Map<string, 'folder' | Set<string>>();
  readonly #subscriptions: vscode.Disposable[] = [];
  #timer: NodeJS.Timeout | undefined;
  #busy = 0;
  /** The latest flush; each waits for the one before, so two never interleave. */
  #flushing: Promise<void> = Promise.resolve();
  #started: Promise<void> | undefined;

  constructor(private readonly log: vscode.LogOutputChannel) {
    this.#subscriptions.push(
      vscode.workspace.onDidChangeWorkspaceFolders((event) => {
        for (const folder of event.removed) this.#remove(folder);
        void this.refreshAll();
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => {
        this.log.info('The workspace is trusted now: reading snapshots.');
        void this.refreshAll();
      }),
    );
  }

  /**
   * Starts discovery (once every consumer is registered) and resolves when the
   * first states are read; the views' getChildren waits for it rather than show an empty tree.
   */
  start(): Promise<void> {
    this.#started ??= this.refreshAll();
    return this.#started;
  }

  addConsumer(consumer: FolderConsumer): void {
    this.#consumers.push(consumer);
  }

  /** Every folder of the window, in the window's order. */
  get folders(): readonly WorkspaceFolderState[] {
    return (vscode.workspace.workspaceFolders ?? []).flatMap((folder) => {
      const entry = this.#entries.get(folder.uri.toString());
      return entry ? [{ folder: entry.folder, state: entry.state }] : [];
    });
  }

  /** Re-reads every folder now (not debounced) and resolves when every view has reloaded. */
  refreshAll(): Promise<void> {
    for (const folder of vscode.workspace.workspaceFolders ?? [])
      this.#pending.set(folder.uri.toString(), 'folder');
    return this.#flushNow();
  }

  /** Resolves when nothing is waiting to be refreshed. */
  async whenIdle(): Promise<void> {
    while (this.#pending.size > 0 || this.#timer !== undefined) await this.#flushNow();
    await this.#flushing;
  }

  async whileBusy<T>(work: () => Promise<T>): Promise<T> {
    this.#busy++;
    try {
      return await work();
    } finally {
      this.#busy--;
      if (this.#busy === 0 && this.#pending.size > 0) this.#schedule();
    }
  }

  dispose(): void {
    clearTimeout(this.#timer);
    for (const entry of this.#entries.values()) for (const watcher of entry.watchers) watcher.dispose();
    this.#entries.clear();
    for (const subscription of this.#subscriptions) subscription.dispose();
  }

  #request(key: string, scope: Scope): void {
    const pending = this.#pending.get(key);
    if (scope === 'folder' || pending === 'folder') this.#pending.set(key, 'folder');
    else this.#pending.set(key, new Set([...(pending ?? []), ...scope]));
    this.#schedule();
  }

  #schedule(): void {
    if (this.#busy > 0) return; // whileBusy schedules when the work ends
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#flushNow();
    }, DEBOUNCE_MS);
  }

  #flushNow(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const work = [...this.#pending];
    this.#pending.clear();
    this.#flushing = this.#flushing.then(() => this.#flush(work));
    return this.#flushing;
  }

  async #flush(work: readonly [string, 'folder' | Set<string>][]): Promise<void> {
    const folders = new Map((vscode.workspace.workspaceFolders ?? []).map((f) => [f.uri.toString(), f]));
    for (const [key, scope] of work) {
      const folder = folders.get(key);
      if (!folder) continue;
      try {
        const known = this.#entries.get(key);
        const whole = scope === 'folder' || known === undefined;
        const entry = whole ? await this.#rediscover(folder) : known;
        const view = { folder: entry.folder, state: entry.state };
        for (const consumer of this.#consumers) await consumer.folderChanged(view, whole ? 'folder' : scope);
      } catch (error) {
        this.log.error(`Reading ${folder.uri.fsPath} failed: ${describeError(error)}`);
      }
    }
    await vscode.commands.executeCommand(
      'setContext',
      STATE_CONTEXT_KEY,
      summarizeFolders(this.folders.map((f) => f.state)),
    );
  }

  async #rediscover(folder: vscode.WorkspaceFolder): Promise<Entry> {
    const key = folder.uri.toString();
    const state = await discoverFolder(folder.uri.fsPath, { trusted: vscode.workspace.isTrusted });
    if (state.kind !== 'ready') this.log.info(`${folder.uri.fsPath}: ${describeState(state)}`);
    const old = this.#entries.get(key);
    for (const watcher of old?.watchers ?? []) watcher.dispose();
    const entry: Entry = { folder, state, watchers: this.#watch(key, folder, state) };
    this.#entries.set(key, entry);
    return entry;
  }

  #remove(folder: vscode.WorkspaceFolder): void {
    const key = folder.uri.toString();
    for (const watcher of this.#entries.get(key)?.watchers ?? []) watcher.dispose();
    this.#entries.delete(key);
    this.#pending.delete(key);
    for (const consumer of this.#consumers) consumer.folderRemoved(folder);
  }

  /** The watchers a folder in this state needs; each event requests the narrowest reload. */
  #watch(key: string, folder: vscode.WorkspaceFolder, state: FolderState): vscode.Disposable[] {
    const watchers: vscode.Disposable[] = [];
    const onAny = (pattern: vscode.RelativePattern, scope: (uri: vscode.Uri) => Scope | undefined): void => {
      const watcher = vscode.workspace.createFileSystemWatcher(pattern);
      const handle = (uri: vscode.Uri): void => {
        const wanted = scope(uri);
        if (wanted !== undefined) this.#request(key, wanted);
      };
      watchers.push(
        watcher,
        watcher.onDidCreate(handle),
        watcher.onDidChange(handle),
        watcher.onDidDelete(handle),
      );
    };
    const file = (path: string): vscode.RelativePattern =>
      new vscode.RelativePattern(vscode.Uri.file(dirname(path)), basename(path));

    if (state.kind === 'noManifest') {
      onAny(new vscode.RelativePattern(folder, MANIFEST_FILE), () => 'folder');
      return watchers;
    }
    onAny(file(state.manifestFile), () => 'folder');
    // `git init` (the welcome view's button, or a terminal) creates .git: the folder may be ready now.
    if (state.kind === 'noGit') onAny(file(join(state.root, '.git')), () => 'folder');
    if (state.kind !== 'ready') return watchers;

    for (const dataset of state.workspace.manifest.datasets.values()) {
      if (dataset.path === undefined) continue;
      const absolute = join(state.root, dataset.path.value);
      const only = new Set([dataset.name]);
      // The dataset's own path appearing or going changes what must be watched: re-read the folder.
      onAny(new vscode.RelativePattern(vscode.Uri.file(dirname(absolute)), '*'), (uri) =>
        uri.fsPath === absolute ? 'folder' : undefined,
      );
      if (isFolder(absolute)) onAny(new vscode.RelativePattern(vscode.Uri.file(absolute), '**'), () => only);
    }
    const git = findGitDirectories(state.root);
    if (git !== undefined) {
      const common = vscode.Uri.file(git.commonDir);
      onAny(new vscode.RelativePattern(common, 'refs/sluice/**'), (uri) => {
        const name = datasetOfRef(uri.fsPath.slice(git.commonDir.length + 1));
        return name === undefined ? 'folder' : new Set([name]);
      });
      // Refs deleted or packed by git move here.
      onAny(new vscode.RelativePattern(common, 'packed-refs'), () => 'folder');
    }
    return watchers;
  }
}

function isFolder(path: string): boolean {
  try {
    return existsSync(path) && statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function describeState(state: FolderState): string {
  switch (state.kind) {
    case 'noManifest':
      return `no ${MANIFEST_FILE} here or above.`;
    case 'restricted':
      return 'Restricted Mode: datasets listed from the manifest, snapshots not read.';
    case 'ready':
      return 'ready.';
    default:
      return state.message;
  }
}
