// The results of Sluice's commands as data: what `sluice COMMAND --json`
// prints, one object per command, and what any other face may read. These
// types are the contract src/cli/schemas/*.schema.json documents (v1): adding a
// field keeps v1, anything else is a new version. The builders here turn the
// engine's results into that shape, so the CLI only prints them.
import type { DeployResult } from '../environments/deploy';
import type { Deployment, DeploymentAction } from '../environments/history';
import type { EnvironmentSummary } from '../environments/live';
import type { ComparisonJson } from '../environments/comparison';
import type { StageResult } from '../environments/staging';
import type { ErrorJson } from '../errors';
import type { RunLogRecord } from '../pipelines/logs';
import type { RunReport, StageOutcome } from '../pipelines/runner';
import { countRun, type RunCounts } from '../pipelines/runSummary';
import { shortId } from '../format';
import type { StageStatus } from '../pipelines/status';
import type { DatasetStatus } from '../snapshots/datasetStatus';
import type { RestoreResult } from '../snapshots/restore';
import type { SnapshotSummary } from '../snapshots/records';
import type { SnapshotResult } from '../snapshots/snapshots';
import type { FsckResult, GcResult } from './maintenance';
import type { CheckResult } from '../pipelines/checks';

/** A result that failed as a whole (exit 1) while still reporting what it did: the shared error next to it. */
export interface WithError {
  readonly error?: ErrorJson;
}

/** `sluice validate --json`: one diagnostic, lines and columns 1-based, the end exclusive. */
export interface DiagnosticJson {
  readonly severity: 'error' | 'warning' | 'information';
  readonly line: number;
  readonly column: number;
  readonly endLine: number;
  readonly endColumn: number;
  readonly code: string;
  readonly message: string;
}

export interface ValidateJson extends WithError {
  readonly file: string;
  readonly diagnostics: readonly DiagnosticJson[];
}

export function validateJson(file: string, diagnostics: readonly DiagnosticJson[]): ValidateJson {
  const errors = diagnostics.filter((diagnostic) => diagnostic.severity === 'error').length;
  if (errors === 0) return { file, diagnostics };
  return {
    file,
    diagnostics,
    error: {
      code: 'manifest-invalid',
      message: `${file} has ${errors} error${errors === 1 ? '' : 's'}.`,
      hint: 'Fix the errors listed in `diagnostics`.',
      data: { file, errors },
    },
  };
}

/** `sluice snapshot --json`: one entry per dataset, changed or not. */
export interface SnapshotEntryJson {
  readonly dataset: string;
  /** Null when the dataset did not change (no snapshot was recorded). */
  readonly id: string | null;
  readonly parent: string | null;
  readonly changed: boolean;
  readonly files: number;
  readonly bytes: number;
  readonly added: number;
  readonly modified: number;
  readonly removed: number;
  /** Files read and hashed this time (the others were unchanged in the stat cache). */
  readonly hashed: number;
}

export interface SnapshotJson {
  readonly snapshots: readonly SnapshotEntryJson[];
}

export function snapshotJson(results: readonly SnapshotResult[]): SnapshotJson {
  return {
    snapshots: results.map((r) => ({
      dataset: r.dataset,
      id: r.id ?? null,
      parent: r.parent,
      changed: r.id !== undefined,
      files: r.files,
      bytes: r.bytes,
      added: r.added.length,
      modified: r.modified.length,
      removed: r.removed.length,
      hashed: r.scan.hashed,
    })),
  };
}

/** `sluice log DATASET --json`: newest first. */
export interface LogJson {
  readonly dataset: string;
  readonly snapshots: readonly {
    readonly id: string;
    readonly parent: string | null;
    readonly message: string;
    readonly time: string;
    readonly author: string;
    readonly files: number;
    readonly bytes: number;
  }[];
}

export function logJson(dataset: string, snapshots: readonly SnapshotSummary[]): LogJson {
  return {
    dataset,
    snapshots: snapshots.map((s) => ({
      id: s.id,
      parent: s.parent,
      message: s.message,
      time: s.time,
      author: s.author,
      files: s.files,
      bytes: s.bytes,
    })),
  };
}

/** `sluice diff --json`: `to` is a snapshot id or `disk`. */
export interface DiffJson {
  readonly dataset: string;
  readonly from: string;
  readonly to: string;
  readonly added: readonly string[];
  readonly modified: readonly string[];
  readonly removed: readonly string[];
}

/** `sluice restore --json`. */
export interface RestoreJson {
  readonly dataset: string;
  readonly id: string;
  readonly written: number;
  readonly removed: number;
  /** The snapshot of the disk taken first (with --force), or null. */
  readonly saved: string | null;
}

export function restoreJson(result: RestoreResult): RestoreJson {
  return {
    dataset: result.dataset,
    id: result.id,
    written: result.written,
    removed: result.removed,
    saved: result.savedAs ?? null,
  };
}

/** `sluice status --json`. */
export interface StatusJson {
  readonly stages: readonly StageStatus[];
  readonly datasets: readonly DatasetStatus[];
  readonly environments: readonly { readonly name: string; readonly release: string | null }[];
}

/** `sluice run --json`: one entry per selected stage, then the checks. */
export interface RunStageJson {
  readonly pipeline: string;
  readonly stage: string;
  readonly result: StageOutcome['result'];
  readonly reason: string | null;
  readonly runId: string | null;
  readonly durationMs: number | null;
  /** For a failure Sluice found itself (an output not written): its stable code and facts. */
  readonly code?: string;
  readonly data?: Readonly<Record<string, unknown>>;
}

export interface RunCheckJson {
  readonly pipeline: string;
  readonly name: string;
  readonly outcome: CheckResult['outcome'];
  readonly detail: string;
  readonly cached: boolean;
}

export interface RunJson extends WithError {
  readonly stages: readonly RunStageJson[];
  readonly checks: readonly RunCheckJson[];
  readonly metrics: RunReport['metrics'];
  /** How many stages ran, were restored, were up to date and failed (the words both faces print). */
  readonly summary: RunCounts;
  readonly cancelled: boolean;
}

/** The run as `--json` reports it; `error` is `cancelled` (exit 130) or `run-failed` (exit 1). */
export function runJson(report: RunReport, cancel: ErrorJson | undefined): RunJson {
  const failedStages = report.stages
    .filter((s) => s.result === 'failed')
    .map((s) => `${s.pipeline}.${s.stage}`);
  const failedChecks = report.checks.filter((c) => c.outcome === 'fail').map((c) => c.name);
  const error: ErrorJson | undefined =
    cancel ??
    (failedStages.length > 0 || failedChecks.length > 0
      ? {
          code: 'run-failed',
          message:
            failedStages.length > 0
              ? `Stage ${failedStages.join(', ')} failed.`
              : `Check ${failedChecks.join(', ')} failed.`,
          hint: failedStages.length > 0 ? `See \`sluice logs ${failedStages[0]!}\`.` : null,
          data: { stages: failedStages, checks: failedChecks },
        }
      : undefined);
  return {
    stages: report.stages.map((s) => ({
      pipeline: s.pipeline,
      stage: s.stage,
      result: s.result,
      reason: s.reason ?? null,
      runId: s.runId ?? null,
      durationMs: s.durationMs ?? null,
      ...(s.code === undefined ? {} : { code: s.code, data: s.data ?? {} }),
    })),
    checks: report.checks.map((c) => ({
      pipeline: c.pipeline,
      name: c.name,
      outcome: c.outcome,
      detail: c.detail,
      cached: c.cached,
    })),
    metrics: report.metrics,
    summary: countRun(report),
    cancelled: report.cancelled,
    ...(error === undefined ? {} : { error }),
  };
}

/** `sluice logs STAGE --all --json`. */
export interface LogsListJson {
  readonly stage: string;
  readonly runs: readonly RunLogRecord[];
}

/** `sluice logs STAGE --json`: the run whose outputs are on disk, and the restore that put them there. */
export interface LogsJson {
  readonly stage: string;
  readonly run: RunLogRecord | null;
  readonly output: string;
  readonly restored: {
    readonly runId: string | null;
    readonly producedAt: string | null;
    readonly restoredAt: string;
    readonly logKept: boolean;
  } | null;
}

/** `sluice stage --json`: the release, whether it was deployed, and `error` when it was not. */
export interface StageJson extends WithError {
  readonly release: {
    readonly id: string;
    readonly code: string;
    readonly snapshots: StageResult['release']['snapshots'];
    readonly checks: readonly { readonly name: string; readonly outcome: string; readonly detail: string }[];
    readonly metrics: StageResult['release']['metrics'];
    readonly failures: readonly string[];
  };
  /** The counts of the release's stages and checks, as `run`'s summary. */
  readonly summary: RunCounts;
  readonly deployed: boolean;
  readonly environment: string;
  readonly failure: string | null;
  readonly reason: string | null;
}

export function stageJson(result: StageResult): StageJson {
  const { release, deployment } = result;
  const error: ErrorJson | undefined = !result.passed
    ? {
        code: 'checks-failed',
        message: `Release ${shortId(release.id)} did not pass; not deployed to ${result.environment}.`,
        hint: 'Fix what failed, commit, and stage again.',
        data: {
          release: release.id,
          failures: release.failures,
          checks: release.checks.filter((check) => check.outcome !== 'pass'),
        },
      }
    : deployment?.failure !== undefined
      ? {
          code: 'deploy-failed',
          message: deployment.failure,
          hint: `See \`sluice history ${result.environment}\`.`,
          data: { environment: result.environment, rolledBack: deployment.rolledBack },
        }
      : undefined;
  return {
    release: {
      id: release.id,
      code: release.code,
      snapshots: release.snapshots,
      checks: release.checks.map((check) => ({
        name: check.name,
        outcome: check.outcome,
        detail: check.detail,
      })),
      metrics: release.metrics,
      failures: release.failures,
    },
    summary: countRun({ stages: result.stages, checks: release.checks }),
    deployed: deployment !== undefined && deployment.failure === undefined,
    environment: result.environment,
    failure: deployment?.failure ?? null,
    reason: deployment?.reason ?? null,
    ...(error === undefined ? {} : { error }),
  };
}

/** One gate's verdict, as `promote --json` and the `gate-refused` error's data list them. */
export interface GateJson {
  readonly name: string;
  readonly passed: boolean;
  readonly detail: string;
}

/** `sluice promote --json` and `sluice rollback --json`: what is live now, and `error` when the hook failed. */
export interface DeploymentJson extends WithError {
  readonly environment: string;
  readonly release: string;
  readonly previous: string | null;
  readonly action: DeploymentAction;
  readonly failure: string | null;
  readonly rolledBack: boolean;
  readonly reason: string | null;
  /** promote only: every gate's verdict. */
  readonly gates?: readonly GateJson[];
  /** promote only: the candidate has the same code, data and outputs as what was live. */
  readonly unchanged?: boolean;
  /** What is live against what comes, computed before anything changed (the faces' one comparison). */
  readonly comparison?: ComparisonJson;
}

export function deploymentJson(
  result: DeployResult,
  before?: {
    readonly gates?: readonly GateJson[];
    readonly unchanged?: boolean;
    readonly comparison?: ComparisonJson;
  },
): DeploymentJson {
  return {
    environment: result.environment,
    release: result.release,
    previous: result.previous,
    action: result.action,
    failure: result.failure ?? null,
    rolledBack: result.rolledBack,
    reason: result.reason,
    ...before,
    ...(result.failure === undefined
      ? {}
      : {
          error: {
            code: 'deploy-failed',
            message: result.failure,
            hint: result.rolledBack
              ? `Rolled back to ${shortId(result.release)}; see \`sluice history ${result.environment}\`.`
              : `See \`sluice history ${result.environment}\`.`,
            data: { environment: result.environment, rolledBack: result.rolledBack },
          },
        }),
  };
}

/** `sluice history ENV --json`: newest first. */
export interface HistoryJson {
  readonly environment: string;
  readonly deployments: readonly Deployment[];
}

export function historyJson(environment: string, deployments: readonly Deployment[]): HistoryJson {
  return {
    environment,
    deployments: deployments.map(({ release, action, time, actor, reason }) => ({
      release,
      action,
      time,
      actor,
      reason,
    })),
  };
}

/** `sluice envs --json`. */
export interface EnvsJson {
  readonly environments: readonly EnvironmentSummary[];
}

/** `sluice fsck --json`: `error` (`store-damaged`) when it found a problem (exit 1). */
export type FsckJson = FsckResult & WithError;

export function fsckJson(result: FsckResult): FsckJson {
  const problems =
    result.damaged.length +
    result.missing.length +
    result.damagedRefs.length +
    result.leftoverWorktrees.length +
    result.misalignedEnvironments.length;
  const json: FsckResult = {
    damaged: result.damaged,
    missing: result.missing,
    damagedRefs: result.damagedRefs,
    leftoverWorktrees: result.leftoverWorktrees,
    misalignedEnvironments: result.misalignedEnvironments,
    checked: result.checked,
  };
  if (problems === 0) return json;
  return {
    ...json,
    error: {
      code: 'store-damaged',
      message: `fsck found ${problems} problem${problems === 1 ? '' : 's'}.`,
      hint: 'The other fields list them.',
      data: { problems },
    },
  };
}

/** `sluice gc --json`. */
export interface GcJson {
  readonly removed: number;
  readonly bytes: number;
  readonly kept: number;
  readonly dryRun: boolean;
  readonly trash: GcResult['trash'];
  readonly runs: GcResult['runs'];
  readonly releases: {
    readonly kept: number;
    readonly removed: readonly {
      readonly environment: string;
      readonly release: string;
      readonly path: string;
    }[];
  };
  readonly worktrees: readonly string[];
}

export function gcJson(result: GcResult): GcJson {
  return {
    removed: result.removed,
    bytes: result.bytes,
    kept: result.kept,
    dryRun: result.dryRun,
    trash: result.trash,
    runs: result.runs,
    releases: {
      kept: result.releases.kept.length,
      removed: result.releases.removed.map(({ environment, release, path }) => ({
        environment,
        release,
        path,
      })),
    },
    worktrees: result.worktrees.map((leftover) => leftover.path),
  };
}

/** The object `--json` prints when a command fails or is refused. */
export interface FailureJson {
  readonly error: ErrorJson;
}
