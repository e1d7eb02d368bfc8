// The experiments table: what `sluice exp show --json` prints and what the
// editor's Experiments view draws. One row per experiment record (every
// `sluice run`, every `sluice exp run` combination, every staged release),
// with its params and metrics flattened to columns, and the deltas against
// one baseline row. The engine builds it; faces only present it.

/** Where a record's run happened. */
export type ExperimentOrigin = 'workspace' | 'queue' | 'release';

/** One stage of the run, as it ended. */
export interface ExperimentStage {
  readonly pipeline: string;
  readonly stage: string;
  readonly result: 'ran' | 'skipped' | 'restored' | 'failed' | 'not-run';
  readonly durationMs: number | null;
  readonly runId: string | null;
}

export interface ExperimentRow {
  readonly id: string;
  /** `--name`, or a generated one (`exp-<short id>`). */
  readonly name: string;
  readonly origin: ExperimentOrigin;
  /** ISO time the run finished. */
  readonly time: string;
  readonly actor: string;
  /** The code commit it ran at (null: a repository without commits). */
  readonly commit: string | null;
  /** Whether the working tree had uncommitted changes (workspace runs only; a digest of them is kept). */
  readonly dirty: boolean;
  /** For origin `release`: the release id. */
  readonly release: string | null;
  /** Environments whose live release this row is. */
  readonly environments: readonly string[];
  /** Dotted param key → value, every param the params file holds (overrides applied). */
  readonly params: Readonly<Record<string, unknown>>;
  /** The params given with `--set` for this run, key → value. */
  readonly overrides: Readonly<Record<string, unknown>>;
  /** `FILE#dotted.key` → number. */
  readonly metrics: Readonly<Record<string, number>>;
  /** Metric → this row's value minus the baseline's (null: one of them lacks it). Empty without a baseline. */
  readonly deltas: Readonly<Record<string, number | null>>;
  /** Params whose value differs from the baseline's. */
  readonly changedParams: readonly string[];
  /** Every stage succeeded (ran, skipped or restored). */
  readonly succeeded: boolean;
  readonly stages: readonly ExperimentStage[];
  /** The record this one varied (`exp run` from a baseline), when known. */
  readonly from: string | null;
}

/** A combination `exp run` has queued or is running now (read from the queue file). */
export interface QueuedExperiment {
  readonly name: string;
  readonly overrides: Readonly<Record<string, unknown>>;
  readonly status: 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
  /** The record, once written. */
  readonly id: string | null;
}

export interface ExperimentTable {
  /** What the deltas are against: `HEAD` (the newest plain run at the checked-out commit) or an environment's live release. */
  readonly baseline: {
    readonly kind: 'commit' | 'environment';
    /** `HEAD` or the environment's name. */
    readonly name: string;
    /** The baseline row's id (null: nothing to compare with yet). */
    readonly id: string | null;
  };
  /** Column keys, sorted: dotted param keys. */
  readonly params: readonly string[];
  /** Column keys, sorted: `FILE#dotted.key`. */
  readonly metrics: readonly string[];
  /** Newest first, or sorted as asked. */
  readonly experiments: readonly ExperimentRow[];
  readonly queue: readonly QueuedExperiment[];
}
