// Watching what is live: `sluice monitor` runs an environment's monitor
// checks against its live release, appends the outcome to its health history
// and, after `after` consecutive failures, alerts or rolls back through the
// same `rollback` `sluice rollback` uses. It only ever acts on the release it
// checked: a promotion that lands meanwhile wins (compare-and-swap on the
// deployment it read), and the outcome is recorded against what was checked.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { CancelledError, notFound, SluiceError } from '../errors';
import { shortId } from '../format';
import { DEFAULT_MONITOR_AFTER, parseEvery } from '../manifest/monitor';
import type { MonitorCheckDecl, MonitorDecl } from '../manifest/model';
import { judgeMetric } from '../pipelines/checks';
import { RunLock } from '../pipelines/lock';
import { splitMetric } from '../pipelines/plan';
import { valueAt } from '../pipelines/values';
import { lexicalEscape, requireInsideWorkspace } from '../paths';
import { describeExit, runCommand } from '../process/runCommand';
import type { Workspace } from '../workspace';
import { deployFolder, releaseVariables, requireEnvironment, type DeployResult } from './deploy';
import {
  appendHealth,
  emptyTree,
  readHealth,
  type HealthAction,
  type HealthCheckResult,
  type HealthRecord,
} from './healthHistory';
import { automaticRollbackTarget } from './automaticRollbackTarget';
import { environmentRef, readHead, readHistory, type RecordedDeployment } from './history';
import { planRollback, rollback } from './promotion';
import { readRelease, type CheckOutcome, type Release } from './releases';

/** A monitor command's timeout when none is written: ten minutes, as for pipeline checks. */
const DEFAULT_TIMEOUT_SECONDS = 600;
/** The exit code a check uses to say it could not decide (as for pipeline checks). */
const INCONCLUSIVE_EXIT = 77;

/** One monitor run: the record appended, where it went, and the rollback it made if any. */
export interface MonitorRun extends HealthRecord {
  readonly environment: string;
  /** The commit of the health history holding the record. */
  readonly commit: string;
  readonly after: number;
  readonly onFailure: 'rollback' | 'alert';
  /** The rollback's result when the monitor rolled back. */
  readonly rollback: DeployResult | undefined;
}

export interface MonitorOptions {
  readonly signal?: AbortSignal | undefined;
  /** Live output of the monitor commands. */
  readonly onOutput?: ((text: string) => void) | undefined;
}

/** An environment's `monitor:`, or the refusal `no-monitor`. */
export function requireMonitor(workspace: Workspace, name: string): MonitorDecl {
  const monitor = requireEnvironment(workspace, name).monitor;
  if (monitor === undefined)
    throw new SluiceError(
      `Environment ${name} declares no monitor.`,
      'usage',
      'Add a `monitor:` section with `every:` and `checks:` to it in sluice.yaml.',
      { code: 'no-monitor', data: { environment: name } },
    );
  return monitor;
}

/** How long between two runs of an environment's monitor, in milliseconds. */
export function monitorInterval(workspace: Workspace, name: string): number {
  const every = requireMonitor(workspace, name).every;
  const reading = every === undefined ? undefined : parseEvery(every.value);
  if (reading?.ok !== true)
    throw new SluiceError(
      `The monitor of ${name} has no valid \`every:\`${every === undefined ? '' : ` (${String(every.value)})`}.`,
      'manifest',
      'Write how often it runs, as `30s` or `15m`; `sluice validate` shows where.',
      { code: 'manifest-invalid', data: { file: workspace.manifestFile, errors: 1 } },
    );
  return reading.ms;
}

/** Environments with a `monitor:`, in manifest order. */
export function monitoredEnvironments(workspace: Workspace): string[] {
  return [...workspace.manifest.environments.values()]
    .filter((environment) => environment.monitor !== undefined)
    .map((environment) => environment.name);
}

/**
 * The lock that keeps one monitor per environment (under .sluice/state/). A
 * monitor that crashed or was killed leaves a lock of a dead process, which
 * the next one takes over.
 */
export function lockMonitor(workspace: Workspace, name: string): RunLock {
  return RunLock.acquire(join(workspace.sluiceDir, 'state', `monitor-${encodeURIComponent(name)}.lock`), {
    what: `sluice monitor ${name}`,
    where: `for environment ${name}`,
    code: 'monitor-running',
    data: { environment: name },
  });
}

/**
 * Runs the checks of `name`'s monitor once against its live release, decides,
 * acts, and records. Nothing is recorded when cancelled: a run is recorded
 * whole or not at all.
 */
export async function monitorOnce(
  workspace: Workspace,
  name: string,
  options: MonitorOptions = {},
): Promise<MonitorRun> {
  const monitor = requireMonitor(workspace, name);
  const after = monitor.after ?? DEFAULT_MONITOR_AFTER;
  const onFailure = monitor.onFailure?.value === 'rollback' ? 'rollback' : 'alert';
  // Independent reads side by side (each is a git process); the identity is read now, once,
  // for the record's commit at the end (the empty tree needs no git once a record says it is there).
  // The live release is read as soon as its deployment is, beside the other reads.
  const live = readHead(workspace.git, name).then(async (deployment) => ({
    deployment,
    release: deployment === undefined ? undefined : await readRelease(workspace.git, deployment.release),
  }));
  const [{ deployment: head, release }, [previous]] = await Promise.all([
    live,
    readHealth(workspace.git, name, 1),
    workspace.git.actor(),
  ]);
  const tree = emptyTree(workspace.git, previous);
  // Awaited after the checks; a failure meanwhile is not an unhandled rejection.
  tree.catch(() => undefined);
  if (head === undefined || release === undefined)
    throw notFound(
      'release',
      name,
      `Nothing is live in ${name} to monitor.`,
      'Stage or promote a release first.',
      {
        kind: 'failed',
        data: { environment: name },
      },
    );
  const checks = await runMonitorChecks(workspace, name, monitor, release, options);
  if (options.signal?.aborted === true)
    throw new CancelledError(`sluice monitor ${name}`, { data: { environment: name } });
  const outcome: CheckOutcome = checks.some((check) => check.outcome === 'fail')
    ? 'fail'
    : checks.some((check) => check.outcome === 'inconclusive')
      ? 'inconclusive'
      : 'pass';
  const earlier = previous?.deployment === head.commit ? previous.failures : 0;
  // An inconclusive run neither breaks a streak of failures nor adds to it.
  const failures = outcome === 'fail' ? earlier + 1 : outcome === 'inconclusive' ? earlier : 0;
  const decision = await decide(workspace, name, {
    head,
    outcome,
    failures,
    after,
    onFailure,
    checks,
    options,
  });
  const record: HealthRecord = {
    time: new Date().toISOString(),
    release: head.release,
    deployment: head.commit,
    outcome,
    checks,
    failures,
    action: decision.action,
    rolledBackTo: decision.rollback?.release ?? null,
    reason: decision.reason,
  };
  // Recorded after the action: a monitor killed in between leaves the rollback in the
  // deployment history, with its reason, and no record claiming what did not happen.
  await tree;
  const commit = await appendHealth(workspace.git, name, record, previous);
  return { ...record, environment: name, commit, after, onFailure, rollback: decision.rollback };
}

interface Decision {
  readonly action: HealthAction;
  readonly reason: string | null;
  readonly rollback: DeployResult | undefined;
}

async function decide(
  workspace: Workspace,
  name: string,
  run: {
    readonly head: RecordedDeployment;
    readonly outcome: CheckOutcome;
    readonly failures: number;
    readonly after: number;
    readonly onFailure: 'rollback' | 'alert';
    readonly checks: readonly HealthCheckResult[];
    readonly options: MonitorOptions;
  },
): Promise<Decision> {
  // Nothing to do: whether the live release moved meanwhile changes nothing, and asking costs a
  // git process on every run (the record names the deployment it checked either way).
  if (run.outcome !== 'fail' || run.failures < run.after)
    return { action: 'none', reason: null, rollback: undefined };
  const failed = run.checks.find((check) => check.outcome === 'fail')!;
  const why = `monitor: ${run.failures} consecutive failed runs of ${shortId(run.head.release)} (${failed.name}: ${failed.detail})`;
  if (run.onFailure === 'alert') {
    if ((await workspace.git.resolveRef(environmentRef(name))) !== run.head.commit)
      return movedDuringChecks(await readHead(workspace.git, name));
    return { action: 'alert', reason: why, rollback: undefined };
  }
  // Read whole, and only here (a rollback is rare): the target depends on every release's last run.
  const [deployments, records] = await Promise.all([
    readHistory(workspace.git, name),
    readHealth(workspace.git, name),
  ]);
  if (deployments[0]?.commit !== run.head.commit) return movedDuringChecks(deployments[0]);
  // This run is not recorded yet: it counts as the live release's last run.
  const target = automaticRollbackTarget(deployments, records);
  if (target.kind === 'none')
    return { action: 'alert', reason: `${why}; not rolled back: ${target.why}`, rollback: undefined };
  const skipped =
    target.skipped.length === 0
      ? ''
      : `; passed over ${target.skipped.map(shortId).join(', ')}, which failed`;
  let plan;
  try {
    plan = await planRollback(workspace, name, { to: target.release });
  } catch (error) {
    if (error instanceof SluiceError && error.code === 'nothing-to-roll-back')
      return { action: 'alert', reason: `${why}; nothing to roll back to`, rollback: undefined };
    throw error;
  }
  if (plan.head.commit !== run.head.commit)
    return {
      action: 'moved',
      reason: 'the environment moved before the rollback; nothing done',
      rollback: undefined,
    };
  try {
    const result = await rollback(workspace, plan, {
      reason: `${why}${skipped}`,
      automatic: true,
      ...(run.options.signal ? { signal: run.options.signal } : {}),
      ...(run.options.onOutput ? { onOutput: run.options.onOutput } : {}),
    });
    return { action: 'rollback', reason: `${why}${skipped}`, rollback: result };
  } catch (error) {
    // A promotion or rollback won the compare-and-swap: it wins, and the monitor does nothing.
    if (error instanceof SluiceError && error.code === 'environment-moved')
      return {
        action: 'moved',
        reason: 'the environment moved before the rollback; nothing done',
        rollback: undefined,
      };
    throw error;
  }
}

/** The checked release is not live any more: the outcome stays its own, and nothing is done. */
function movedDuringChecks(live: RecordedDeployment | undefined): Decision {
  return {
    action: 'moved',
    reason: `${live === undefined ? 'the history' : `release ${shortId(live.release)}`} went live while the checks ran; nothing done`,
    rollback: undefined,
  };
}

/** Commands first (they write the metrics files), then the metric rules, each in manifest order. */
async function runMonitorChecks(
  workspace: Workspace,
  name: string,
  monitor: MonitorDecl,
  release: Release,
  options: MonitorOptions,
): Promise<HealthCheckResult[]> {
  const folder = deployFolder(workspace, name);
  const results = new Map<MonitorCheckDecl, HealthCheckResult>();
  for (const check of monitor.checks) {
    if (check.run === undefined) continue;
    for (const file of check.metrics) rmSync(metricsPath(workspace, file.value), { force: true });
  }
  for (const check of monitor.checks) {
    if (check.run === undefined || options.signal?.aborted === true) continue;
    results.set(check, await runMonitorCommand(workspace, name, check, release, folder, options));
  }
  for (const check of monitor.checks) {
    if (check.metric === undefined || check.run !== undefined) continue;
    const started = performance.now();
    const judged = judgeMonitorMetric(workspace, check, release);
    results.set(check, { ...judged, durationMs: Math.round(performance.now() - started) });
  }
  return monitor.checks.flatMap((check) => {
    const result = results.get(check);
    return result === undefined ? [] : [result];
  });
}

/** A workspace-relative file the manifest names, refused when it leaves the workspace. */
function metricsPath(workspace: Workspace, path: string): string {
  if (lexicalEscape(path) !== undefined)
    throw new SluiceError(
      `The monitor metrics file ${path} leaves the workspace.`,
      'manifest',
      'Give a path inside the workspace.',
    );
  return requireInsideWorkspace(workspace.root, path, 'A monitor metrics file');
}

async function runMonitorCommand(
  workspace: Workspace,
  name: string,
  check: MonitorCheckDecl,
  release: Release,
  folder: string | undefined,
  options: MonitorOptions,
): Promise<HealthCheckResult> {
  const checkName = check.name?.value ?? check.run!.value;
  // The last run's output only: a monitor runs forever, its logs must not grow with it.
  const logFile = join(workspace.sluiceDir, 'logs', '@monitor', name, `${encodeURIComponent(checkName)}.log`);
  rmSync(logFile, { force: true });
  const result = await runCommand({
    command: check.run!.value,
    cwd: workspace.root,
    env: { ...releaseVariables(workspace, name, release, folder), SLUICE_CHECK: checkName },
    logFile,
    ...(options.onOutput ? { onOutput: options.onOutput } : {}),
    signal: options.signal,
    timeoutMs: (check.timeout ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
  });
  // A hung command is killed at its timeout and fails: a live service that does not answer is not healthy.
  const outcome: CheckOutcome =
    result.exitCode === 0 && !result.timedOut && !result.cancelled
      ? 'pass'
      : result.exitCode === INCONCLUSIVE_EXIT && !result.timedOut
        ? 'inconclusive'
        : 'fail';
  const detail =
    outcome === 'pass'
      ? 'exit code 0'
      : result.timedOut
        ? `no answer within ${check.timeout ?? DEFAULT_TIMEOUT_SECONDS}s (killed)`
        : outcome === 'inconclusive'
          ? `exit code ${INCONCLUSIVE_EXIT} (inconclusive)`
          : describeExit(result);
  return { name: checkName, outcome, detail, value: null, durationMs: Math.round(result.durationMs) };
}

function judgeMonitorMetric(
  workspace: Workspace,
  check: MonitorCheckDecl,
  release: Release,
): Omit<HealthCheckResult, 'durationMs'> {
  const metric = check.metric!.value;
  const name = check.name?.value ?? metric;
  const { file, key } = splitMetric(metric);
  metricsPath(workspace, file);
  const judged = judgeMetric(workspace.root, { file, key, min: check.min, max: check.max });
  const value = judged.value ?? null;
  if (judged.outcome !== 'pass' || check.noRegression === undefined || value === null)
    return { name, outcome: judged.outcome, detail: judged.detail, value };
  const baseline = releaseMetric(release, check.baseline?.value ?? key);
  if (baseline === undefined)
    return {
      name,
      outcome: 'inconclusive',
      detail: `${metric} = ${value}, but release ${shortId(release.id)} has no ${check.baseline?.value ?? key} to compare with`,
      value,
    };
  const floor = baseline.value - check.noRegression;
  return value < floor
    ? {
        name,
        outcome: 'fail',
        detail: `${metric} = ${value}, more than ${check.noRegression} below the release's ${baseline.label} = ${baseline.value}`,
        value,
      }
    : { name, outcome: 'pass', detail: `${metric} = ${value} (release: ${baseline.value})`, value };
}

/** A metric of the release: `file#key`, or a bare key looked up in each of its metrics files. */
function releaseMetric(release: Release, reference: string): { value: number; label: string } | undefined {
  const candidates = reference.includes('#')
    ? [splitMetric(reference)]
    : Object.keys(release.metrics).map((file) => ({ file, key: reference }));
  for (const { file, key } of candidates) {
    const value = valueAt(release.metrics[file], key) ?? release.metrics[file]?.[key];
    if (typeof value === 'number') return { value, label: `${file}#${key}` };
  }
  return undefined;
}

/** What the long-running monitor reports after each run: a run, or why one could not be made. */
export type MonitorEvent =
  | { readonly environment: string; readonly run: MonitorRun }
  | { readonly environment: string; readonly error: SluiceError };

/**
 * Runs each environment's monitor on its schedule until `signal` aborts (the
 * CLI's SIGTERM or Ctrl-C): the run in progress is stopped, not recorded, and
 * the promise resolves. A run that fails (nothing live, git trouble) is
 * reported and the schedule goes on. `intervalMs` and `runs` are for
 * measurements (a benchmark's thousand runs), not for users.
 */
export async function watchEnvironments(
  workspace: Workspace,
  names: readonly string[],
  options: MonitorOptions & {
    readonly onEvent: (event: MonitorEvent) => void;
    readonly intervalMs?: number;
    readonly runs?: number;
  },
): Promise<void> {
  const intervals = names.map((name) => options.intervalMs ?? monitorInterval(workspace, name));
  await Promise.all(
    names.map(async (name, index) => {
      for (let count = 0; options.runs === undefined || count < options.runs; count++) {
        if (options.signal?.aborted === true) return;
        const started = Date.now();
        try {
          options.onEvent({ environment: name, run: await monitorOnce(workspace, name, options) });
        } catch (error) {
          if (error instanceof CancelledError || isAborted(options.signal)) return;
          if (!(error instanceof SluiceError)) throw error;
          options.onEvent({ environment: name, error });
        }
        await sleep(started + intervals[index]! - Date.now(), options.signal);
      }
    }),
  );
}

/** Read through a call: the compiler narrows `signal.aborted` once and forgets it can change. */
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/** Waits `ms` (nothing when negative), or less when `signal` aborts; leaves no listener behind. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms <= 0 || signal?.aborted === true) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
