// The summary of a run: how many stages ran, were restored from the cache,
// were up to date, failed or did not run, and how many checks passed. Counted
// and worded once, for `sluice run`, `sluice stage` and the editor's message at
// the end of a run.
import type { CheckOutcome } from './checks';
import type { StageResult } from './runner';

export interface RunCounts {
  readonly ran: number;
  readonly restored: number;
  /** Up to date: nothing to do. */
  readonly skipped: number;
  readonly failed: number;
  /** Not run because something they depend on failed, or the run was cancelled first. */
  readonly notRun: number;
  /** Left in Slurm's queue by a detached run. */
  readonly queued: number;
  readonly checks: { readonly passed: number; readonly failed: number; readonly total: number };
}

export function countRun(report: {
  readonly stages: readonly { readonly result: StageResult }[];
  readonly checks: readonly { readonly outcome: CheckOutcome }[];
}): RunCounts {
  const count = (result: StageResult): number =>
    report.stages.filter((stage) => stage.result === result).length;
  return {
    ran: count('ran'),
    restored: count('restored'),
    skipped: count('skipped'),
    failed: count('failed'),
    notRun: count('not-run'),
    queued: count('queued'),
    checks: {
      passed: report.checks.filter((check) => check.outcome === 'pass').length,
      failed: report.checks.filter((check) => check.outcome === 'fail').length,
      total: report.checks.length,
    },
  };
}

/** `2 ran, 1 restored, 0 up to date, 1 failed, checks 2/3 passed`; `not run` and checks only when there are any. */
export function describeRunCounts(counts: RunCounts): string {
  const parts = [
    `${counts.ran} ran`,
    `${counts.restored} restored`,
    `${counts.skipped} up to date`,
    `${counts.failed} failed`,
  ];
  if (counts.notRun > 0) parts.push(`${counts.notRun} not run`);
  if (counts.queued > 0) parts.push(`${counts.queued} queued on Slurm`);
  if (counts.checks.total > 0) parts.push(`checks ${counts.checks.passed}/${counts.checks.total} passed`);
  return parts.join(', ');
}
