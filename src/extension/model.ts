// The one model of the window's Sluice workspaces: one FolderModel per VS Code
// folder that holds (or sits under) a sluice.yaml, with everything the views
// show of it (its state, datasets, environments, pipelines, and what a run in
// progress says). It discovers each folder, watches the manifest, the datasets'
// files, the refs under refs/sluice/ and the stages' deps and outs, and reads
// again only the part a change touches, debounced; commands say what they
// changed (changes.ts) and refresh() reads just that. A dataset's files are
// walked again only when its watch cannot vouch that nothing changed since the
// last walk (snapshots/datasetDiskReads.ts), or when a command wrote them. While a folder has Slurm
// jobs that may still start or end, it asks Slurm about them every few seconds
// (and at once when the journal of jobs changes), whether or not a run holds
// the other reads back. Views listen to onDidChange and render; they call no
// engine function.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { describeError, SluiceError } from '../core/errors';
import { HEALTH_REFS } from '../core/environments/healthHistory';
import { ENVIRONMENT_REFS } from '../core/environments/history';
import { RELEASE_REFS } from '../core/environments/releases';
import { EXPERIMENT_REFS } from '../core/experiments/records';
import { MANIFEST_FILE } from '../core/manifest';
import { isActive } from '../core/pipelines/slurmJobPhase';
import type { StageJob, StageJobs } from '../core/pipelines/slurmJobs';
import { journalFile } from '../core/pipelines/slurmJournal';
import type { SnapshotSummary } from '../core/snapshots/snapshots';
import { SLUICE_DIR, type Workspace } from '../core/workspace';
import { JOBS_ONLY, mergeScopes, scopeOf, WHOLE_FOLDER, type Changes, type FolderScope } from './changes';
import { EnvironmentReads } from './environments/environments';
import type { FolderEnvironments } from './environments/model';
import {
  datasetOfRef,
  discoverFolder,
  findGitDirectories,
  summarizeFolders,
  type FolderState,
} from './folders';
import { NO_JOBS, type FolderPipelines, type RunProgress } from './pipelines/pipelineNodes';
import {
  journalMark,
  readFolderJobs,
  readFolderPipelines,
  readOnlyWorkspace,
} from './pipelines/pipelineStates';
import { SlurmJobsPolling } from './pipelines/slurmJobsPolling';
import type { PausesRefresh } from './progress';
import { loadFolderRemote, type FolderRemote } from './remotes/remoteSync';
import { DatasetDiskReads } from './snapshots/datasetDiskReads';
import {
  compareWithPrevious,
  declaredDatasets,
  loadDatasets,
  type Comparison,
  type DatasetState,
} from './snapshots/datasets';

/** Quiet time before a burst of file events is acted on. */
const DEBOUNCE_MS = 300;

/** The context key the welcome views read (see `viewsWelcome` in package.json). */
const STATE_CONTEXT_KEY = 'sluice.workspaceState';

/** Snapshot comparisons kept (records never change, so a kept one is always right). */
const KEPT_COMPARISONS = 100;

/** Everything the views show of one VS Code folder, as last read. Replaced, never changed in place. */
export interface FolderModel {
  readonly folder: vscode.WorkspaceFolder;
  readonly state: FolderState;
  /** In the manifest's order; a dataset not read again keeps its object. */
  readonly datasets: readonly DatasetState[];
  readonly environments: FolderEnvironments;
  readonly pipelines: FolderPipelines;
  /** Where the folder stands against its default remote, as of the last fetch. */
  readonly remote: FolderRemote;
}

/** What changed in the model: the folder (by path) and the parts of it read again. */
export interface ModelChange {
  readonly folder: string;
  readonly scope: FolderScope;
}

/** Counts of the model's reads, for tests that check a change read only what it touched. */
export interface ModelReads {
  /** Datasets read (snapshots listed and files compared), by name. */
  readonly datasets: ReadonlyMap<string, number>;
  /** Datasets whose files were walked, by name: a read the watch vouches for walks nothing. */
  readonly walks: ReadonlyMap<string, number>;
  /** How long the latest read of each dataset took, in ms, by name. */
  readonly readMs: ReadonlyMap<string, number>;
}

interface Entry {
  model: FolderModel;
  /** Manifest, data and ref watchers: replaced when the folder is read whole. */
  watchers: vscode.Disposable[];
  /** Deps, outs, params and stage records: replaced when the pipelines are read again. */
  pipelineWatchers: vscode.Disposable[];
}

export class WorkspaceModel implements PausesRefresh, vscode.Disposable {
  readonly #entries = new Map<string, Entry>();
  readonly #pending = new Map<string, FolderScope>();
  readonly #subscriptions: vscode.Disposable[] = [];
  readonly #changed = new vscode.EventEmitter<ModelChange>();
  /** Fires after a folder's parts were read again (or the folder went). */
  readonly onDidChange = this.#changed.event;
  /** By workspace root, then stage id: what the run going on there says. */
  readonly #runs = new Map<string, Map<string, RunProgress>>();
  readonly #comparisons = new Map<string, Promise<Comparison>>();
  readonly #datasetReads = new Map<string, number>();
  /** Each dataset's last walk, reused while its watch vouches that nothing changed. */
  readonly #diskReads: DatasetDiskReads;
  readonly #environmentReads = new EnvironmentReads();
  #timer: NodeJS.Timeout | undefined;
  readonly #jobsPolling = new SlurmJobsPolling({
    read: (keys) => this.#readJobsOf(keys),
    allKeys: () => [...this.#entries.keys()],
    following: () =>
      [...this.#entries.values()].some(({ model }) => model.pipelines.jobs.jobs.some(isActive)),
    journalMarks: () => [...this.#entries.values()].map(({ model }) => journalMark(model.state)).join(' '),
  });
  #busy = 0;
  /** The latest flush; each waits for the one before, so two never interleave. */
  #flushing: Promise<void> = Promise.resolve();
  #started: Promise<void> | undefined;

  constructor(private readonly log: vscode.LogOutputChannel) {
    this.#diskReads = new DatasetDiskReads((message) => {
      log.info(message);
    });
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
   * Starts discovery and resolves when the first states are read; the views'
   * getChildren waits for it rather than show an empty tree.
   */
  start(): Promise<void> {
    this.#started ??= this.refreshAll();
    return this.#started;
  }

  /** Every folder of the window, in the window's order. */
  get folders(): readonly FolderModel[] {
    return (vscode.workspace.workspaceFolders ?? []).flatMap((folder) => {
      const entry = this.#entries.get(folder.uri.toString());
      return entry ? [entry.model] : [];
    });
  }

  get reads(): ModelReads {
    return {
      datasets: new Map(this.#datasetReads),
      walks: this.#diskReads.walks,
      readMs: this.#diskReads.readMs,
    };
  }

  /** Re-reads every folder now (not debounced) and resolves when the model has them. */
  refreshAll(): Promise<void> {
    for (const folder of vscode.workspace.workspaceFolders ?? [])
      this.#pending.set(folder.uri.toString(), WHOLE_FOLDER);
    return this.#flushNow();
  }

  /** Reads again what a command says it changed, now, and resolves when the model has it. */
  refresh(changes: Changes): Promise<void> {
    for (const change of changes) {
      // Sluice wrote these files itself: walk them again, whether or not the watch has heard yet.
      if (change.kind === 'datasets') this.#diskReads.forget(change.root, new Set(change.names));
      if (change.kind === 'folder') this.#diskReads.forget(change.root);
      for (const key of this.#keysOfRoot(change.root)) {
        this.#pending.set(key, mergeScopes(this.#pending.get(key), scopeOf(change)));
      }
    }
    if (this.#pending.size === 0) return this.#flushing;
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

  /**
   * The open workspace at `root`; throws when it cannot be used now:
   * `restrictedReason` in Restricted Mode, otherwise a folder that went away.
   */
  workspaceAt(root: string, restrictedReason: string): Workspace {
    for (const { state } of this.folders) {
      if (state.kind === 'ready' && state.root === root) return state.workspace;
    }
    if (!vscode.workspace.isTrusted) throw new SluiceError(restrictedReason, 'usage');
    throw new SluiceError(
      `The workspace at ${root} is not open any more; refresh the Sluice views.`,
      'usage',
    );
  }

  /**
   * The workspace at `root` for reading stage records and logs: the open one
   * when trusted, a read-only one in Restricted Mode (files only, no git).
   */
  readableWorkspaceAt(root: string): Workspace {
    for (const { state } of this.folders) {
      if (state.kind === 'ready' && state.root === root) return state.workspace;
      if (state.kind === 'restricted' && state.root === root)
        return readOnlyWorkspace(state.root, state.manifestFile, state.manifest);
    }
    throw new SluiceError(
      `The workspace at ${root} is not open any more; refresh the Sluice views.`,
      'usage',
    );
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

  progressOf(root: string, stageId: string): RunProgress | undefined {
    return this.#runs.get(root)?.get(stageId);
  }

  /** A run starts in `root`: its stages show as running while they run. */
  runStarted(root: string): void {
    this.#runs.set(root, new Map());
  }

  stageProgress(root: string, stageId: string, progress: RunProgress): void {
    this.#runs.get(root)?.set(stageId, progress);
    this.#firePipelines(root);
  }

  /** The run ended; the command's returned change reads the states again from what it left on disk. */
  runEnded(root: string): void {
    this.#runs.delete(root);
    this.#firePipelines(root);
  }

  isRunning(root: string): boolean {
    return this.#runs.has(root);
  }

  /** The stage's open Slurm job, as Slurm last said of it. */
  jobOf(root: string, stageId: string): StageJob | undefined {
    const folder = this.folders.find(({ state }) => state.kind !== 'noManifest' && state.root === root);
    return folder?.pipelines.jobs.jobs.find((job) => job.stage === stageId);
  }

  /**
   * Asks Slurm again, now, about the jobs of the workspace at `root` (of every
   * folder without one), and resolves when the model has the answer. A run in
   * progress does not hold this back: its jobs are what the user watches.
   */
  refreshJobs(root?: string): Promise<void> {
    return this.#jobsPolling.readNow(root === undefined ? [...this.#entries.keys()] : this.#keysOfRoot(root));
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#jobsPolling.dispose();
    this.#diskReads.dispose();
    for (const entry of this.#entries.values()) disposeAll([...entry.watchers, ...entry.pipelineWatchers]);
    this.#entries.clear();
    for (const subscription of this.#subscriptions) subscription.dispose();
    this.#changed.dispose();
  }

  /** The folders of the workspace at `root` (or, for a folder without a manifest yet, the folder itself). */
  #keysOfRoot(root: string): string[] {
    return [...this.#entries].flatMap(
      ([
        key,
        {
          model: { state },
        },
      ]) => (state.folder === root || (state.kind !== 'noManifest' && state.root === root) ? [key] : []),
    );
  }

  #firePipelines(root: string): void {
    for (const key of this.#keysOfRoot(root)) {
      const entry = this.#entries.get(key)!;
      this.#changed.fire({
        folder: entry.model.state.folder,
        scope: { whole: false, datasets: new Set(), environments: false, pipelines: true, jobs: false },
      });
    }
  }

  async #readJobsOf(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      const asked = this.#entries.get(key);
      if (asked === undefined) continue;
      const jobs = await this.#readJobs(asked.model.state, asked.model.pipelines.jobs);
      // The folder as it is now: a read of it may have replaced its entry meanwhile (and kept its jobs).
      const entry = this.#entries.get(key);
      // The usual answer while a job waits (the same as before) redraws nothing.
      if (entry === undefined || JSON.stringify(jobs) === JSON.stringify(entry.model.pipelines.jobs))
        continue;
      entry.model = { ...entry.model, pipelines: { ...entry.model.pipelines, jobs } };
      this.#changed.fire({ folder: entry.model.state.folder, scope: JOBS_ONLY });
    }
  }

  /** A folder's jobs; a problem asking Slurm is logged when it is new, not at every poll. */
  async #readJobs(state: FolderState, before: StageJobs): Promise<StageJobs> {
    try {
      const jobs = await readFolderJobs(state);
      if (jobs.problem !== undefined && jobs.problem.code !== before.problem?.code)
        this.log.warn(`${state.folder}: the Slurm jobs' states are not known: ${jobs.problem.message}`);
      return jobs;
    } catch (error) {
      this.log.error(`Reading the Slurm jobs of ${state.folder} failed: ${describeError(error)}`);
      return before;
    }
  }

  #request(key: string, scope: FolderScope): void {
    this.#pending.set(key, mergeScopes(this.#pending.get(key), scope));
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

  async #flush(work: readonly [string, FolderScope][]): Promise<void> {
    const folders = new Map((vscode.workspace.workspaceFolders ?? []).map((f) => [f.uri.toString(), f]));
    for (const [key, requested] of work) {
      const folder = folders.get(key);
      if (!folder) continue;
      try {
        const known = this.#entries.get(key);
        // Parts of a folder that is not readable cannot be read on their own: read it whole.
        const scope = known === undefined || known.model.state.kind !== 'ready' ? WHOLE_FOLDER : requested;
        const entry = scope.whole
          ? await this.#rediscover(folder)
          : await this.#readParts(key, known!, scope);
        this.#changed.fire({ folder: entry.model.state.folder, scope });
        // Not awaited: Slurm's answer arrives as a change of its own.
        if (scope.jobs) void this.#jobsPolling.readNow([key]);
      } catch (error) {
        this.log.error(`Reading ${folder.uri.fsPath} failed: ${describeError(error)}`);
      }
    }
    // A dataset no longer declared (or a folder closed) is not watched any more.
    this.#diskReads.keepOnly(
      new Set([...this.#entries.values()].flatMap(({ model }) => model.datasets.map((d) => d.absolutePath))),
    );
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
    const remote = await loadFolderRemote(state);
    const datasets = await this.#datasetsOf(key, state);
    const environments = { ...(await this.#environmentReads.load(state)), remote };
    // The jobs as last read (read again once this is in place): only the reads of jobs replace them.
    const jobs = old?.model.pipelines.jobs ?? NO_JOBS;
    const model: FolderModel = {
      folder,
      state,
      datasets,
      environments,
      pipelines: readFolderPipelines(state, jobs),
      remote,
    };
    const entry: Entry = {
      model,
      watchers: this.#watch(key, folder, state),
      pipelineWatchers: this.#watchPipelines(key, model),
    };
    // The old watchers go only now: a ref moved while this read went on still requests a read
    // (dropping them first lost such a change, seen as a view that missed a record).
    disposeAll([...(old?.watchers ?? []), ...(old?.pipelineWatchers ?? [])]);
    this.#entries.set(key, entry);
    return entry;
  }

  /** Reads again the parts of a ready folder that `scope` names; the rest keep their objects. */
  async #readParts(key: string, entry: Entry, scope: FolderScope): Promise<Entry> {
    const { model } = entry;
    const { state } = model;
    if (state.kind !== 'ready') return entry;
    let { datasets, environments, remote } = model;
    if (scope.datasets.size > 0) {
      const next = [...datasets];
      for (const name of scope.datasets) {
        const index = next.findIndex((dataset) => dataset.name === name);
        if (index >= 0) next[index] = await this.#loadDataset(key, state.workspace, name);
      }
      datasets = next;
    }
    // A snapshot or a deployment puts a dataset or an environment ahead of the remote.
    if (scope.datasets.size > 0 || scope.environments) remote = await loadFolderRemote(state);
    if (scope.environments) environments = await this.#environmentReads.load(state);
    if (environments.remote !== remote) environments = { ...environments, remote };
    // A stage's state follows the datasets it reads, so a dataset change reads the stages again too.
    const pipelinesChanged = scope.pipelines || scope.datasets.size > 0;
    // The jobs as last read, and kept as they are now if a read of jobs ended while this one went on.
    const pipelines = pipelinesChanged
      ? readFolderPipelines(state, entry.model.pipelines.jobs)
      : entry.model.pipelines;
    entry.model = { ...model, datasets, environments, pipelines, remote };
    if (pipelinesChanged) {
      // An output a run created is watched inside now.
      disposeAll(entry.pipelineWatchers);
      entry.pipelineWatchers = this.#watchPipelines(key, entry.model);
    }
    return entry;
  }

  async #datasetsOf(key: string, state: FolderState): Promise<DatasetState[]> {
    if (state.kind === 'restricted') return declaredDatasets(state.manifest, state.root);
    if (state.kind !== 'ready') return [];
    return loadDatasets(state.workspace, (workspace, name) => this.#loadDataset(key, workspace, name));
  }

  /** A dataset of the folder `key`, walked only when its watch cannot vouch for its last walk. */
  #loadDataset(key: string, workspace: Workspace, name: string): Promise<DatasetState> {
    this.#datasetReads.set(name, (this.#datasetReads.get(name) ?? 0) + 1);
    return this.#diskReads.load(workspace, name, () => {
      this.#request(key, scopeOf({ kind: 'datasets', root: workspace.root, names: [name] }));
    });
  }

  #remove(folder: vscode.WorkspaceFolder): void {
    const key = folder.uri.toString();
    const entry = this.#entries.get(key);
    disposeAll([...(entry?.watchers ?? []), ...(entry?.pipelineWatchers ?? [])]);
    this.#entries.delete(key);
    this.#pending.delete(key);
    this.#changed.fire({ folder: folder.uri.fsPath, scope: WHOLE_FOLDER });
  }

  /** The watchers a folder in this state needs; each event requests the narrowest reload. */
  #watch(key: string, folder: vscode.WorkspaceFolder, state: FolderState): vscode.Disposable[] {
    const watchers: vscode.Disposable[] = [];
    const onAny = (
      pattern: vscode.RelativePattern,
      scope: (uri: vscode.Uri) => FolderScope | undefined,
    ): void => {
      watchers.push(
        ...watch(pattern, (uri) => {
          const wanted = scope(uri);
          if (wanted !== undefined) this.#request(key, wanted);
        }),
      );
    };
    const file = (path: string): vscode.RelativePattern =>
      new vscode.RelativePattern(vscode.Uri.file(dirname(path)), basename(path));
    const whole = (): FolderScope => WHOLE_FOLDER;

    if (state.kind === 'noManifest') {
      onAny(new vscode.RelativePattern(folder, MANIFEST_FILE), whole);
      return watchers;
    }
    onAny(file(state.manifestFile), whole);
    // `git init` (the welcome view's button, or a terminal) creates .git: the folder may be ready now.
    if (state.kind === 'noGit') onAny(file(join(state.root, '.git')), whole);
    // A run (here or in a terminal) writes the journal when it submits a job and when it records one.
    // Here, not with the pipelines' watchers, which each read of the stages replaces: a job
    // submitted while they are replaced would go unseen.
    if (state.kind === 'ready' || state.kind === 'restricted')
      watchers.push(
        ...watch(file(journalFile(join(state.root, SLUICE_DIR))), () => {
          this.#jobsPolling.journalWritten();
        }),
      );
    if (state.kind !== 'ready') return watchers;

    for (const dataset of state.workspace.manifest.datasets.values()) {
      if (dataset.path === undefined) continue;
      const absolute = join(state.root, dataset.path.value);
      const only = scopeOf({ kind: 'datasets', root: state.root, names: [dataset.name] });
      // The dataset's own path appearing or going changes what must be watched: re-read the folder.
      onAny(new vscode.RelativePattern(vscode.Uri.file(dirname(absolute)), '*'), (uri) =>
        uri.fsPath === absolute ? WHOLE_FOLDER : undefined,
      );
      if (isFolder(absolute)) onAny(new vscode.RelativePattern(vscode.Uri.file(absolute), '**'), () => only);
    }
    const git = findGitDirectories(state.root);
    if (git !== undefined) {
      const common = vscode.Uri.file(git.commonDir);
      onAny(new vscode.RelativePattern(common, 'refs/sluice/**'), (uri) => {
        const ref = uri.fsPath
          .slice(git.commonDir.length + 1)
          .split('\\')
          .join('/');
        const name = datasetOfRef(ref);
        if (name !== undefined) return scopeOf({ kind: 'datasets', root: state.root, names: [name] });
        // A monitor's run (a `sluice monitor` anywhere) appends to a health history: the Environments
        // view, the status bar and the rollback notification read it with the environments.
        if (ref.startsWith(ENVIRONMENT_REFS) || ref.startsWith(RELEASE_REFS) || ref.startsWith(HEALTH_REFS))
          return scopeOf({ kind: 'environments', root: state.root });
        // A run's record: the Experiments panels read the table again on a pipelines change (stage states are cheap to read).
        if (ref.startsWith(EXPERIMENT_REFS)) return scopeOf({ kind: 'pipelines', root: state.root });
        return WHOLE_FOLDER;
      });
      // Refs deleted or packed by git move here.
      onAny(new vscode.RelativePattern(common, 'packed-refs'), whole);
    }
    return watchers;
  }

  /**
   * Watches what the stage states are computed from and #watch does not:
   * every stage's deps and outs, the params file, and the stage records (a run
   * from a terminal writes them).
   */
  #watchPipelines(key: string, model: FolderModel): vscode.Disposable[] {
    const { state } = model;
    if (state.kind !== 'ready' && state.kind !== 'restricted') return [];
    const paths = new Set<string>();
    for (const pipeline of model.pipelines.pipelines)
      for (const stage of pipeline.stages) for (const out of stage.outs) paths.add(out);
    const manifest = state.kind === 'ready' ? state.workspace.manifest : state.manifest;
    for (const pipeline of manifest.pipelines.values())
      for (const stage of pipeline.stages.values()) for (const dep of stage.deps) paths.add(dep.value);
    if (manifest.params !== undefined) paths.add(manifest.params.value);
    paths.add(join(SLUICE_DIR, 'state', 'stages.json'));

    // A run holds refreshes back (whileBusy) and reads everything when it ends:
    // reading half-written outputs meanwhile helps no one.
    const onChange = (): void => {
      this.#request(key, scopeOf({ kind: 'pipelines', root: state.root }));
    };
    const watchers: vscode.Disposable[] = [];
    // One watcher per folder holding watched paths, not one per path.
    const parents = new Map<string, Set<string>>();
    for (const path of paths) {
      const absolute = join(state.root, path);
      const names = parents.get(dirname(absolute)) ?? new Set<string>();
      names.add(basename(absolute));
      parents.set(dirname(absolute), names);
      if (isFolder(absolute))
        watchers.push(...watch(new vscode.RelativePattern(vscode.Uri.file(absolute), '**'), onChange));
    }
    for (const [parent, names] of parents) {
      const glob = names.size === 1 ? [...names][0]! : `{${[...names].join(',')}}`;
      watchers.push(...watch(new vscode.RelativePattern(vscode.Uri.file(parent), glob), onChange));
    }
    return watchers;
  }
}

function watch(pattern: vscode.RelativePattern, handle: (uri: vscode.Uri) => void): vscode.Disposable[] {
  const watcher = vscode.workspace.createFileSystemWatcher(pattern);
  return [watcher, watcher.onDidCreate(handle), watcher.onDidChange(handle), watcher.onDidDelete(handle)];
}

function disposeAll(disposables: readonly vscode.Disposable[]): void {
  for (const disposable of disposables) disposable.dispose();
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
