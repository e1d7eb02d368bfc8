// Where an automatic rollback may go. A person may roll back to any release
// once live; a monitor is held to what the health history shows:
// - never to a release whose last monitor run there failed (it was rolled back
//   from, or failed after a rollback to it);
// - never past the newest earlier release with a healthy outcome (a run that
//   passed): that one is the last release known good, and going further back
//   is a person's decision;
// - never again from a release an automatic rollback went to once it had a
//   healthy outcome there: it is then the last release that was healthy.
// Releases are walked newest first (the order `rollbackChoices` gives: each
// once, by its latest deployment); the first that is not failing is the
// target, and the walk stops at the first that was ever healthy. Without a
// target the monitor alerts instead and records why.
import { shortId } from '../format';
import type { RecordedHealth } from './healthHistory';
import type { RecordedDeployment } from './history';
import { rollbackChoices } from './rollbackTarget';

export type AutomaticRollbackTarget =
  | { readonly kind: 'release'; readonly release: string; readonly skipped: readonly string[] }
  | { readonly kind: 'none'; readonly why: string; readonly skipped: readonly string[] };

/** What the health history says of each release: its last run's outcome, and whether any run passed. */
function healthByRelease(
  records: readonly RecordedHealth[],
): Map<string, { readonly lastFailed: boolean; everPassed: boolean }> {
  const byRelease = new Map<string, { lastFailed: boolean; everPassed: boolean }>();
  // Newest first: the first record of a release is its last run.
  for (const record of records) {
    let known = byRelease.get(record.release);
    if (known === undefined) {
      known = { lastFailed: record.outcome === 'fail', everPassed: false };
      byRelease.set(record.release, known);
    }
    if (record.outcome === 'pass') known.everPassed = true;
  }
  return byRelease;
}

/**
 * The release an automatic rollback of an environment goes to, from its
 * deployments and its health records (both newest first, the whole of each),
 * or why there is none.
 */
export function automaticRollbackTarget(
  deployments: readonly RecordedDeployment[],
  records: readonly RecordedHealth[],
): AutomaticRollbackTarget {
  const health = healthByRelease(records);
  const skipped: string[] = [];
  const live = deployments[0];
  if (live?.action === 'auto-rollback' && health.get(live.release)?.everPassed === true)
    return {
      kind: 'none',
      why: `${shortId(live.release)} is where an automatic rollback went and was healthy there, the last release that was`,
      skipped,
    };
  for (const { release } of rollbackChoices(deployments)) {
    const known = health.get(release);
    if (known?.lastFailed !== true) return { kind: 'release', release, skipped };
    skipped.push(release);
    if (known.everPassed)
      return {
        kind: 'none',
        why: `${shortId(release)}, the newest earlier release that was healthy, failed since, and going further back is a person's decision`,
        skipped,
      };
  }
  return {
    kind: 'none',
    why:
      skipped.length === 0
        ? 'no earlier release to go back to'
        : `every earlier release the monitor may go back to failed (${skipped.map(shortId).join(', ')})`,
    skipped,
  };
}
