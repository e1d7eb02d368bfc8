// A pipeline's checks, the gates a release passes: a command (exit 0 pass,
// 77 or a timeout inconclusive, anything else fail) or a metric threshold.
import type { PipelineContext } from './context';
import { newRunId } from './logs';
import type { CheckPlan } from './plan';
import { describeExit, runCommand } from '../process/runCommand';
import { readValues, valueAt } from './values';

export type CheckOutcome = 'pass' | 'fail' | 'inconclusive';

export interface CheckResult {
  readonly pipeline: string;
  readonly name: string;
  readonly outcome: CheckOutcome;
  /** What was measured or why it did not pass, in words. */
  readonly detail: string;
  readonly runId: string | undefined;
  /** True when the result is the last run's: nothing the check judges changed since. */
  readonly cached: boolean;
}

/** The exit code a check uses to say it could not decide (as automake's test harness does). */
export const INCONCLUSIVE_EXIT = 77;
const DEFAULT_TIMEOUT_SECONDS = 600;

export interface CheckOptions {
  readonly signal?: AbortSignal | undefined;
  readonly onOutput?: ((check: CheckPlan, text: string) => void) | undefined;
}

export async function runCheck(
  context: PipelineContext,
  check: CheckPlan,
  options: CheckOptions = {},
): Promise<CheckResult> {
  const base = { pipeline: check.pipeline, name: check.name };
  if (check.kind === 'metric') {
    const { outcome, detail } = judgeMetric(context.workspace.root, check);
    return { ...base, outcome, detail, runId: undefined, cached: false };
  }
  const runId = newRunId();
  const stage = `check:${check.name}`;
  const root = context.workspace.root;
  const result = await runCommand({
    command: check.run,
    cwd: root,
    env: { SLUICE_PIPELINE: check.pipeline, SLUICE_CHECK: check.name, SLUICE_WORKSPACE: root },
    logFile: context.logs.logFile(check.pipeline, stage, runId),
    onOutput: (text) => options.onOutput?.(check, text),
    signal: options.signal,
    timeoutMs: (check.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
  });
  const outcome: CheckOutcome =
    result.exitCode === 0 && !result.cancelled
      ? 'pass'
      : result.timedOut || result.exitCode === INCONCLUSIVE_EXIT
        ? 'inconclusive'
        : 'fail';
  const detail =
    outcome === 'pass'
      ? 'exit code 0'
      : result.exitCode === INCONCLUSIVE_EXIT
        ? `exit code ${INCONCLUSIVE_EXIT} (inconclusive)`
        : describeExit(result);
  context.logs.record({
    runId,
    pipeline: check.pipeline,
    stage,
    command: check.run,
    signature: undefined,
    startedAt: result.startedAt.toISOString(),
    durationMs: result.durationMs,
    exitCode: result.exitCode,
    signal: result.signal,
    result: outcome,
    reason: detail,
  });
  return { ...base, outcome, detail, runId, cached: false };
}

/** A threshold on one metric: `file#key` at least `min`, at most `max`. */
export interface MetricRule {
  readonly file: string;
  readonly key: string;
  readonly min: number | undefined;
  readonly max: number | undefined;
}

/**
 * Reads a metric from a file under `root` and judges it against its bounds;
 * the one judgement of a metric threshold (pipeline checks, monitor checks).
 */
export function judgeMetric(
  root: string,
  check: MetricRule,
): { outcome: CheckOutcome; detail: string; value?: number } {
  const label = `${check.file}#${check.key}`;
  let document: unknown;
  try {
    document = readValues(root, check.file);
  } catch (error) {
    return { outcome: 'fail', detail: (error as Error).message };
  }
  if (document === undefined) return { outcome: 'fail', detail: `${check.file} does not exist` };
  const value = valueAt(document, check.key);
  if (typeof value !== 'number') {
    return {
      outcome: 'fail',
      detail:
        value === undefined
          ? `${label} is not in ${check.file}`
          : `${label} is not a number (${JSON.stringify(value)})`,
    };
  }
  if (check.min !== undefined && value < check.min)
    return { outcome: 'fail', detail: `${label} = ${value}, below the minimum ${check.min}`, value };
  if (check.max !== undefined && value > check.max)
    return { outcome: 'fail', detail: `${label} = ${value}, above the maximum ${check.max}`, value };
  const bounds = [
    check.min !== undefined ? `≥ ${check.min}` : '',
    check.max !== undefined ? `≤ ${check.max}` : '',
  ].filter(Boolean);
  return {
    outcome: 'pass',
    detail: `${label} = ${value}${bounds.length > 0 ? ` (${bounds.join(', ')})` : ''}`,
    value,
  };
}
