// The results of Sluice's commands as data: what `sluice COMMAND --json`
// prints, one object per command, and what the extension renders. These
// types are the contract src/cli/schemas/*.schema.json documents (v1): adding a
// field keeps v1, anything else is a new version. The builders here turn the
// engine's results into that shape, once, where the engine's call returns: the
// CLI prints them, and the extension shows its messages, tree states and
// command results from them. The sentences both faces say of a result
// (`describe…`) are worded here too, from these objects only.
import type { DeployResult } from '../environments/deploy';
import type { Deployment, DeploymentAction } from '../environments/history';
import type { EnvironmentSummary } from '../environments/live';
import type { ComparisonJson } from '../environments/comparison';
import type { StageResult } from '../environments/staging';
import type { ErrorJson } from '../errors';
import type { RunLogRecord } from '../pipelines/logs';
import type { RunReport, StageOutcome } from '../pipelines/runner';
import { countRun, type RunCounts } from '../pipelines/runSummary';
import { formatBytes, formatDuration, plural, shortId } from '../format';
import { releaseProblems } from '../environments/releases';
import type { StageStatus } from '../pipelines/status';
import type { StageJob, StageJobs } from '../pipelines/slurmJobs';
import type { DatasetStatus } from '../snapshots/datasetStatus';
import type { RestoreResult } from '../snapshots/restore';
import type { SnapshotSummary } from '../snapshots/records';
import type { SnapshotResult } from '../snapshots/snapshots';
import type { FsckResult, GcResult } from './maintenance';
import type { CheckOutcome, CheckResult } from '../pipelines/checks';
import type { FetchResult, PulledDataset, PullResult, RefAction } from './sync/fetch';
import type { PushResult } from './sync/push';
import type { Report, ReportCheck, ReportDataset, ReportStage } from './report';
import type { RemoteGcResult } from './sync/remoteGc';
import { describeRefs, refName, type RefKind } from './sync/refNames';
import type { SyncStatus } from './sync/syncStatus';

// `sluice remote --json` and its sentence, in a file of their own to keep this one short.
export { describeRemoteChange, remoteJson, remotesJson } from './remoteResults';
export type { RemoteJson, RemotesJson } from './remoteResults';
// `sluice import-dvc --json` and its lines, likewise.
export { describeImportDvc, describeNotCarried, importDvcJson } from './importDvcResults';
export type { ImportDvcJson } from './importDvcResults';

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

/** One dataset of a snapshot, as `sluice snapshot` prints it: `users: snapshot 1a2b3c4d5e6f (3 files, 1.2 KiB; +1 ~0 -0)`. */
export function describeSnapshotEntry(entry: SnapshotEntryJson): string {
  const size = `${plural(entry.files, 'file')}, ${formatBytes(entry.bytes)}`;
  return entry.id === null
    ? `${entry.dataset}: unchanged (${size})`
    : `${entry.dataset}: snapshot ${shortId(entry.id)} (${size}; +${entry.added} ~${entry.modified} -${entry.removed})`;
}

/** A snapshot of several datasets in one line: `recorded users 1a2b3c4d5e6f; unchanged: events.` */
export function describeSnapshots(json: SnapshotJson): string {
  const recorded = json.snapshots.flatMap((entry) =>
    entry.id === null ? [] : [`${entry.dataset} ${shortId(entry.id)}`],
  );
  const unchanged = json.snapshots.filter((entry) => entry.id === null).map((entry) => entry.dataset);
  const parts = [
    ...(recorded.length > 0 ? [`recorded ${recorded.join(', ')}`] : []),
    ...(unchanged.length > 0 ? [`unchanged: ${unchanged.join(', ')}`] : []),
  ];
  return parts.length === 0 ? 'no dataset to snapshot.' : `${parts.join('; ')}.`;
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

/** `users: restored 1a2b3c4d5e6f (3 written, 1 removed).`, and the snapshot the replaced files went to. */
export function describeRestore(json: RestoreJson): string {
  const saved =
    json.saved === null ? '' : ` The files it replaced are saved as snapshot ${shortId(json.saved)}.`;
  return `${json.dataset}: restored ${shortId(json.id)} (${json.written} written, ${json.removed} removed).${saved}`;
}

/** `sluice status --json`. */
export interface StatusJson {
  /** Each stage's state; `job` for a stage whose Slurm job is queued, running or not yet recorded. */
  readonly stages: readonly (StageStatus & { readonly job?: StageJob })[];
  readonly datasets: readonly DatasetStatus[];
  readonly environments: readonly { readonly name: string; readonly release: string | null }[];
  /** Why the jobs' states could not be read from Slurm (they are listed without). */
  readonly slurm?: StageJobs['problem'];
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
  /** The experiment record the run left (null: nothing ran, so nothing new to record). */
  readonly experiment?: { readonly id: string; readonly name: string } | null;
  /** Params given with `--set` for this run only. */
  readonly overrides?: Readonly<Record<string, unknown>>;
}

/** The run as `--json` reports it; `error` is `cancelled` (exit 130) or `run-failed` (exit 1). */
export function runJson(
  report: RunReport,
  cancel: ErrorJson | undefined,
  recorded?: {
    readonly experiment: { readonly id: string; readonly name: string } | undefined;
    readonly overrides: Readonly<Record<string, unknown>>;
  },
): RunJson {
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
    stages: report.stages.map(runStageJson),
    checks: report.checks.map(runCheckJson),
    metrics: report.metrics,
    summary: countRun(report),
    cancelled: report.cancelled,
    ...(recorded === undefined
      ? {}
      : {
          experiment: recorded.experiment
            ? { id: recorded.experiment.id, name: recorded.experiment.name }
            : null,
          overrides: recorded.overrides,
        }),
    ...(error === undefined ? {} : { error }),
  };
}

/** One stage of a run, as `run --json` lists it (and as the editor reads each one when it finishes). */
export function runStageJson(outcome: StageOutcome): RunStageJson {
  return {
    pipeline: outcome.pipeline,
    stage: outcome.stage,
    result: outcome.result,
    reason: outcome.reason ?? null,
    runId: outcome.runId ?? null,
    durationMs: outcome.durationMs ?? null,
    ...(outcome.code === undefined ? {} : { code: outcome.code, data: outcome.data ?? {} }),
  };
}

/** One check of a run, as `run --json` lists it. */
export function runCheckJson(result: CheckResult): RunCheckJson {
  return {
    pipeline: result.pipeline,
    name: result.name,
    outcome: result.outcome,
    detail: result.detail,
    cached: result.cached,
  };
}

/** `ran      p.train in 2.4 s`, `failed p.c (exit code 3)`: one stage of a run, its result word padded to `width`. */
export function describeRunStage(stage: RunStageJson, width = 0): string {
  const detail =
    stage.reason !== null && stage.reason !== ''
      ? ` (${stage.reason})`
      : stage.durationMs !== null
        ? ` in ${formatDuration(stage.durationMs)}`
        : '';
  return `${stage.result.padEnd(width)} ${stage.pipeline}.${stage.stage}${detail}`;
}

/** `pass check enough rows: 120 rows`, its outcome padded to `width`; a check not run again says so. */
export function describeRunCheck(
  check: {
    readonly name: string;
    readonly outcome: CheckOutcome;
    readonly detail: string;
    readonly cached?: boolean;
  },
  width = 0,
): string {
  const again = check.cached === true ? ' (nothing it judges changed since it last ran)' : '';
  return `${check.outcome.padEnd(width)} check ${check.name}: ${check.detail}${again}`;
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
    readonly checks: readonly {
      readonly name: string;
      readonly outcome: CheckOutcome;
      readonly detail: string;
    }[];
    readonly metrics: StageResult['release']['metrics'];
    /** The stages that failed or did not run, in words. */
    readonly failures: readonly string[];
    /** Why it did not pass, in words: `failures`, then each check that did not pass (empty when it passed). */
    readonly problems: readonly string[];
  };
  /** The counts of the release's stages and checks, as `run`'s summary. */
  readonly summary: RunCounts;
  /** Every stage succeeded and every check passed: only such a release is deployed. */
  readonly passed: boolean;
  readonly deployed: boolean;
  readonly environment: string;
  /** What was live in the environment before (null: nothing, or the release was not deployed). */
  readonly previous: string | null;
  readonly failure: string | null;
  /** The deployment failed and `previous` is live again. */
  readonly rolledBack: boolean;
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
      problems: releaseProblems(release),
    },
    summary: countRun({ stages: result.stages, checks: release.checks }),
    passed: result.passed,
    deployed: deployment !== undefined && deployment.failure === undefined,
    environment: result.environment,
    previous: deployment?.previous ?? null,
    failure: deployment?.failure ?? null,
    rolledBack: deployment?.rolledBack ?? false,
    reason: deployment?.reason ?? null,
    ...(error === undefined ? {} : { error }),
  };
}

/**
 * What a stage did, in one line: `staging: release 1a2b3c4d5e6f (code 0a1b2c3d4e5f) is live.`, or
 * why it is not (what did not pass; the deploy hook's failure, and the rollback).
 */
export function describeStage(json: StageJson): string {
  const release = `release ${shortId(json.release.id)} (code ${shortId(json.release.code)})`;
  if (!json.passed) {
    return `${json.environment}: ${release} was recorded but not deployed: ${json.release.problems.join('; ')}.`;
  }
  if (json.failure !== null) {
    const back =
      json.rolledBack && json.previous !== null ? ` Rolled back to ${shortId(json.previous)}.` : '';
    return `${json.environment}: deploying ${release} failed: ${json.failure}.${back}`;
  }
  return json.deployed
    ? `${json.environment}: ${release} is live.`
    : `${json.environment}: ${release} was recorded but not deployed.`;
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

/**
 * What a promotion or a rollback did, in one line: `production: release 1a2b3c4d5e6f is live (was …).`,
 * `production: back on release …`, or the hook's failure and the rollback it caused.
 */
export function describeDeployment(json: DeploymentJson): string {
  if (json.failure !== null) {
    const back = json.rolledBack ? ` Rolled back to ${shortId(json.release)}.` : '';
    return `${json.environment}: ${json.failure}.${back}`;
  }
  const was = json.previous === null ? '' : ` (was ${shortId(json.previous)})`;
  return json.action === 'rollback'
    ? `${json.environment}: back on release ${shortId(json.release)}${was}.`
    : `${json.environment}: release ${shortId(json.release)} is live${was}.`;
}

/** What moved between this machine and a remote, as push, fetch and pull report it. */
export interface TransferJson {
  readonly blobs: number;
  readonly bytes: number;
  /** Objects written to or read from the blob remote (packs, large blobs). */
  readonly requests: number;
}

export interface SyncRefJson {
  readonly ref: string;
  readonly kind: RefKind;
  /** The dataset, environment or (short) release id. */
  readonly name: string;
  readonly from: string | null;
  readonly to: string;
}

/** `sluice push --json`: the refs moved on the git remote and what reached the blob remote. */
export interface PushJson {
  readonly remote: string;
  readonly gitRemote: string;
  readonly refs: readonly SyncRefJson[];
  readonly transferred: TransferJson;
  readonly runs: number;
}

export function pushJson(result: PushResult): PushJson {
  return {
    remote: result.remote,
    gitRemote: result.gitRemote,
    refs: result.refs.map(({ ref, kind, from, to }) => ({ ref, kind, name: refName(ref), from, to })),
    transferred: transferJson(result.blobs),
    runs: result.runs,
  };
}

/** `Pushed to team (git: origin): …` or that there was nothing to push. */
export function describePush(json: PushJson): string {
  const where = `${json.remote} (git: ${json.gitRemote})`;
  if (json.refs.length === 0 && json.transferred.blobs === 0 && json.runs === 0)
    return `Everything is on ${where} already.`;
  const refs = json.refs.length === 0 ? 'no ref moved' : describeRefs(json.refs.map((ref) => ref.ref));
  return `Pushed to ${where}: ${refs}; ${describeTransfer(json.transferred)}; ${plural(json.runs, 'run-cache entry', 'run-cache entries')}.`;
}

export interface FetchRefJson extends SyncRefJson {
  readonly action: RefAction;
  /** The remote's commit. */
  readonly remote: string;
}

/** `sluice fetch --json`: what arrived, and how far ahead or behind each dataset and environment is. */
export interface FetchJson {
  readonly remote: string;
  readonly gitRemote: string;
  readonly status: SyncStatus;
  readonly transferred: TransferJson;
  readonly runs: number;
}

export function fetchJson(result: FetchResult): FetchJson {
  return {
    remote: result.remote,
    gitRemote: result.gitRemote,
    status: result.status,
    transferred: transferJson(result.blobs),
    runs: result.runs,
  };
}

/** `dataset events: 2 to pull`, one line per dataset or environment out of step, then what arrived. */
export function describeSyncStatus(status: SyncStatus): string[] {
  const lines = status.refs.map((ref) => {
    const parts = [
      ...(ref.behind > 0 ? [`${ref.behind} to pull`] : []),
      ...(ref.ahead > 0 ? [`${ref.ahead} to push`] : []),
    ];
    return `${ref.kind} ${ref.name}: ${parts.join(', ')}`;
  });
  if (status.releases.behind > 0) lines.push(`${plural(status.releases.behind, 'release')} to pull`);
  if (status.releases.ahead > 0) lines.push(`${plural(status.releases.ahead, 'release')} to push`);
  return lines;
}

export function describeFetch(json: FetchJson): string[] {
  const lines = describeSyncStatus(json.status);
  lines.push(
    `Fetched from ${json.remote} (git: ${json.gitRemote}): ${describeTransfer(json.transferred)}; ${plural(json.runs, 'run-cache entry', 'run-cache entries')}.${lines.length === 0 ? ' In step.' : ''}`,
  );
  return lines;
}

const ACTION_WORDS: Readonly<Record<RefAction, string>> = {
  created: 'new',
  'fast-forward': 'updated',
  replayed: 'both sides deployed: yours replayed after theirs',
  ahead: 'yours is ahead (push it)',
  diverged: 'both sides snapshotted: yours kept, theirs not taken in',
};

export type PulledDatasetJson = PulledDataset;

/** `sluice pull --json`: the refs taken in and each dataset; `error` (`unsaved-data`) when one was refused. */
export interface PullJson extends WithError {
  readonly remote: string;
  readonly gitRemote: string;
  readonly refs: readonly FetchRefJson[];
  readonly transferred: TransferJson;
  readonly runs: number;
  readonly datasets: readonly PulledDatasetJson[];
}

export function pullJson(result: PullResult): PullJson {
  const refused = result.datasets.filter((dataset) => dataset.action === 'refused');
  return {
    remote: result.remote,
    gitRemote: result.gitRemote,
    refs: result.refs.map(({ ref, kind, action, from, to, remote }) => ({
      ref,
      kind,
      name: refName(ref),
      action,
      from,
      to,
      remote,
    })),
    transferred: transferJson(result.blobs),
    runs: result.runs,
    datasets: result.datasets.map(({ name, snapshot, action, written, removed, paths }) => ({
      name,
      snapshot,
      action,
      written,
      removed,
      paths,
    })),
    ...(refused.length === 0
      ? {}
      : {
          error: {
            code: 'unsaved-data',
            message: `Not pulled: ${refused.map((dataset) => dataset.name).join(', ')} hold bytes that are in no snapshot.`,
            hint: 'Snapshot them (`sluice snapshot`) or restore with --force (which saves them first), then pull again.',
            data: {
              dataset: refused[0]!.name,
              paths: refused[0]!.paths,
              datasets: refused.map((dataset) => ({ dataset: dataset.name, paths: dataset.paths })),
            },
          },
        }),
  };
}

/** A line per ref taken in, what arrived, then a line per dataset that changed or was refused. */
export function describePull(json: PullJson): string[] {
  const lines = json.refs.map((ref) => `${ref.kind} ${ref.name}: ${ACTION_WORDS[ref.action]}`);
  lines.push(
    `Pulled from ${json.remote} (git: ${json.gitRemote}): ${describeTransfer(json.transferred)}; ${plural(json.runs, 'run-cache entry', 'run-cache entries')}.`,
  );
  for (const dataset of json.datasets) {
    if (dataset.action === 'restored')
      lines.push(
        `dataset ${dataset.name}: at snapshot ${shortId(dataset.snapshot)} (${dataset.written} written, ${dataset.removed} removed)`,
      );
    if (dataset.action === 'refused')
      lines.push(
        `dataset ${dataset.name}: not pulled, ${plural(dataset.paths.length, 'path')} hold bytes in no snapshot (first: ${dataset.paths[0] ?? '?'})`,
      );
  }
  return lines;
}

/** `sluice gc --remote NAME --json`. */
export interface RemoteGcJson {
  readonly remote: string;
  readonly dryRun: boolean;
  readonly removed: number;
  readonly bytes: number;
  readonly repacked: number;
  readonly waiting: number;
}

export function remoteGcJson(result: RemoteGcResult): RemoteGcJson {
  const { remote, dryRun, removed, bytes, repacked, waiting } = result;
  return { remote, dryRun, removed, bytes, repacked, waiting };
}

export function describeRemoteGc(json: RemoteGcJson): string {
  const verb = json.dryRun ? 'Would remove' : 'Removed';
  const waiting =
    json.waiting === 0
      ? ''
      : ` ${plural(json.waiting, 'unreachable object')} found too recently wait for a later gc.`;
  return `${json.remote}: ${verb} ${plural(json.removed, 'object')}, ${formatBytes(json.bytes)}; ${json.dryRun ? 'would rewrite' : 'rewrote'} ${plural(json.repacked, 'pack')}.${waiting}`;
}

function transferJson({ blobs, bytes, requests }: TransferJson): TransferJson {
  return { blobs, bytes, requests };
}

function describeTransfer(transfer: TransferJson): string {
  return `${plural(transfer.blobs, 'blob')}, ${formatBytes(transfer.bytes)} in ${plural(transfer.requests, 'request')}`;
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

/** `sluice report --json`: the last run, the checks, and the metrics and data against what is live. */
export interface ReportJson {
  /** The manifest's `name`, or null. */
  readonly workspace: string | null;
  /** What the metrics and data are compared with; null when nothing is live in any environment. */
  readonly environment: {
    readonly name: string;
    /** Null when nothing is live in it (it was asked for with --env). */
    readonly release: string | null;
    readonly code: string | null;
    readonly pipeline: string | null;
    readonly deployedAt: string | null;
  } | null;
  /** When the last run's first stage started and its last record was written; null when no stage has run. */
  readonly lastRun: { readonly from: string; readonly to: string } | null;
  readonly stages: readonly {
    readonly pipeline: string;
    readonly stage: string;
    readonly result: ReportStage['result'];
    readonly state: ReportStage['state'];
    readonly at: string | null;
    readonly runId: string | null;
    readonly durationMs: number | null;
    readonly reason: string | null;
  }[];
  /** The last run's counts, as `run` words them; the checks counted are those with a result on the outputs on disk. */
  readonly summary: RunCounts;
  readonly checks: readonly ReportCheck[];
  readonly metrics: readonly {
    readonly name: string;
    readonly live: number | null;
    readonly workspace: number | null;
    /** workspace − live, when both are known. */
    readonly delta: number | null;
  }[];
  readonly datasets: readonly {
    readonly dataset: string;
    readonly latest: string | null;
    readonly live: string | null;
    readonly added: number | null;
    readonly modified: number | null;
    readonly removed: number | null;
    readonly sameContent: boolean;
    readonly disk: ReportDataset['disk'];
    readonly diskChanges: NonNullable<ReportDataset['diskChanges']> | null;
  }[];
}

export function reportJson(report: Report): ReportJson {
  const { environment } = report;
  const counted = countRun({
    stages: report.stages,
    checks: report.checks.flatMap((check) =>
      check.outcome === 'not-run' ? [] : [{ outcome: check.outcome }],
    ),
  });
  return {
    workspace: report.workspace ?? null,
    environment:
      environment === undefined
        ? null
        : {
            name: environment.name,
            release: environment.release?.id ?? null,
            code: environment.release?.code ?? null,
            pipeline: environment.release?.pipeline ?? null,
            deployedAt: environment.deployedAt ?? null,
          },
    lastRun: report.lastRun ?? null,
    stages: report.stages.map((stage) => ({
      pipeline: stage.pipeline,
      stage: stage.stage,
      result: stage.result,
      state: stage.state,
      at: stage.at ?? null,
      runId: stage.runId ?? null,
      durationMs: stage.durationMs ?? null,
      reason: stage.reason ?? null,
    })),
    summary: counted,
    checks: report.checks.map(({ pipeline, name, outcome, detail }) => ({ pipeline, name, outcome, detail })),
    metrics: report.metrics.map((metric) => ({
      name: metric.name,
      live: metric.live ?? null,
      workspace: metric.workspace ?? null,
      delta:
        metric.live === undefined || metric.workspace === undefined
          ? null
          : Number((metric.workspace - metric.live).toPrecision(12)),
    })),
    datasets: report.datasets.map((dataset) => ({
      dataset: dataset.dataset,
      latest: dataset.latest ?? null,
      live: dataset.live ?? null,
      added: dataset.added ?? null,
      modified: dataset.modified ?? null,
      removed: dataset.removed ?? null,
      sameContent: dataset.sameContent,
      disk: dataset.disk,
      diskChanges: dataset.diskChanges ?? null,
    })),
  };
}
