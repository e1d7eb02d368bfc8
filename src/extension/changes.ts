// What a command changed, as a value it returns: the registration loop reads
// again only that (snapshotting one dataset re-reads that dataset, not every
// one). Plain TypeScript, no vscode import.

/** One thing a command changed in the workspace at `root` (the folder of sluice.yaml). */
export type Change =
  /** Snapshot records or files of these datasets. */
  | { readonly kind: 'datasets'; readonly root: string; readonly names: readonly string[] }
  /** Releases and deployments: what is live where. */
  | { readonly kind: 'environments'; readonly root: string }
  /** Stage records, outputs and logs. */
  | { readonly kind: 'pipelines'; readonly root: string }
  /** The manifest or the repository itself: the folder is discovered again. */
  | { readonly kind: 'folder'; readonly root: string };

export type Changes = readonly Change[];

export const NOTHING_CHANGED: Changes = [];

/** What a writing command returns: its result (what executeCommand resolves to) and what it changed. */
export interface Outcome<T> {
  readonly result: T;
  readonly changed: Changes;
}

export function outcome<T>(result: T, changed: Changes): Outcome<T> {
  return { result, changed };
}

/** A command that stopped before writing anything (a dismissed prompt, say). */
export function unchanged<T>(result: T): Outcome<T> {
  return { result, changed: NOTHING_CHANGED };
}

/** What a folder must read again: everything, or some of its parts. */
export interface FolderScope {
  readonly whole: boolean;
  readonly datasets: ReadonlySet<string>;
  readonly environments: boolean;
  readonly pipelines: boolean;
  /**
   * The stages' Slurm jobs: where each is in Slurm's queue. Read with the
   * pipelines, and alone while jobs are open (the model asks Slurm again every
   * few seconds), which the views of stages redraw for and the rest ignore.
   */
  readonly jobs: boolean;
}

export const WHOLE_FOLDER: FolderScope = {
  whole: true,
  datasets: new Set(),
  environments: true,
  pipelines: true,
  jobs: true,
};

/** Only the Slurm jobs were read again. */
export const JOBS_ONLY: FolderScope = {
  whole: false,
  datasets: new Set(),
  environments: false,
  pipelines: false,
  jobs: true,
};

export function scopeOf(change: Change): FolderScope {
  switch (change.kind) {
    case 'folder':
      return WHOLE_FOLDER;
    case 'datasets':
      return {
        whole: false,
        datasets: new Set(change.names),
        environments: false,
        pipelines: false,
        jobs: false,
      };
    case 'environments':
      return { whole: false, datasets: new Set(), environments: true, pipelines: false, jobs: false };
    case 'pipelines':
      // A run submits jobs and records them: the jobs are read again with the stages.
      return { whole: false, datasets: new Set(), environments: false, pipelines: true, jobs: true };
  }
}

export function mergeScopes(a: FolderScope | undefined, b: FolderScope): FolderScope {
  if (a === undefined) return b;
  if (a.whole || b.whole) return WHOLE_FOLDER;
  return {
    whole: false,
    datasets: new Set([...a.datasets, ...b.datasets]),
    environments: a.environments || b.environments,
    pipelines: a.pipelines || b.pipelines,
    jobs: a.jobs || b.jobs,
  };
}
