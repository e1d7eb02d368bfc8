// The `--json` contract of `sluice monitor` and `sluice health`, and the
// sentences both faces say of a monitor run (src/cli/schemas/monitor.schema.json,
// health.schema.json).
import type { ErrorJson } from '../errors';
import type { HealthAction, HealthCheckResult, RecordedHealth } from '../environments/healthHistory';
import type { MonitorRun } from '../environments/monitor';
import type { CheckOutcome } from '../environments/releases';
import { shortId } from '../format';
import { deploymentJson, type DeploymentJson, type WithError } from './results';

export interface HealthRecordJson {
  readonly time: string;
  readonly release: string;
  readonly outcome: CheckOutcome;
  readonly checks: readonly HealthCheckResult[];
  /** Consecutive failed runs of this release, this one included. */
  readonly failures: number;
  readonly action: HealthAction;
  readonly rolledBackTo: string | null;
  readonly reason: string | null;
}

/** One `sluice monitor` run. */
export interface MonitorRunJson extends HealthRecordJson {
  readonly environment: string;
  readonly after: number;
  readonly onFailure: 'rollback' | 'alert';
  /** The automatic rollback, as `sluice rollback --json` prints it (null: none). */
  readonly deployment: DeploymentJson | null;
}

/** `sluice monitor --once --json`: `error` (`monitor-check-failed`) when a run failed (exit 1). */
export interface MonitorJson extends WithError {
  readonly runs: readonly MonitorRunJson[];
}

function recordJson(record: RecordedHealth | MonitorRun): HealthRecordJson {
  const { time, release, outcome, checks, failures, action, rolledBackTo, reason } = record;
  return { time, release, outcome, checks, failures, action, rolledBackTo, reason };
}

export function monitorRunJson(run: MonitorRun): MonitorRunJson {
  return {
    environment: run.environment,
    ...recordJson(run),
    after: run.after,
    onFailure: run.onFailure,
    deployment: run.rollback === undefined ? null : deploymentJson(run.rollback),
  };
}

export function monitorJson(runs: readonly MonitorRun[]): MonitorJson {
  const failed = runs.find((run) => run.outcome === 'fail');
  const error: ErrorJson | undefined =
    failed === undefined
      ? undefined
      : {
          code: 'monitor-check-failed',
          message: `A monitor check of ${failed.environment} failed on release ${shortId(failed.release)}.`,
          hint: `See \`sluice health ${failed.environment}\`.`,
          data: {
            environment: failed.environment,
            release: failed.release,
            failed: failed.checks.filter((check) => check.outcome === 'fail').map((check) => check.name),
          },
        };
  return { runs: runs.map(monitorRunJson), ...(error === undefined ? {} : { error }) };
}

/** `sluice health ENV --json`: each check's latest outcome, and the runs, newest first. */
export interface HealthJson {
  readonly environment: string;
  readonly latest: readonly (HealthCheckResult & { readonly time: string; readonly release: string })[];
  readonly history: readonly HealthRecordJson[];
}

export function healthJson(environment: string, records: readonly RecordedHealth[]): HealthJson {
  const latest = new Map<string, HealthCheckResult & { time: string; release: string }>();
  for (const record of records)
    for (const check of record.checks)
      if (!latest.has(check.name))
        latest.set(check.name, { ...check, time: record.time, release: record.release });
  return { environment, latest: [...latest.values()], history: records.map(recordJson) };
}

/** One line for a run: when, what, the outcome, the streak and what was done. */
export function describeMonitorRun(run: HealthRecordJson & { readonly environment?: string }): string {
  const where = run.environment === undefined ? '' : `${run.environment} `;
  const streak = run.outcome === 'pass' ? '' : ` (${run.failures} in a row)`;
  const failed = run.checks.filter((check) => check.outcome !== 'pass');
  const why = failed.map((check) => `${check.name}: ${check.detail}`).join('; ');
  const action =
    run.action === 'rollback'
      ? `; rolled back to ${shortId(run.rolledBackTo ?? '')}`
      : run.action === 'alert'
        ? '; ALERT'
        : run.action === 'moved'
          ? `; ${run.reason ?? 'the live release changed'}`
          : '';
  return `${run.time}  ${where}${shortId(run.release)}  ${run.outcome}${streak}${why === '' ? '' : `  ${why}`}${action}`;
}
