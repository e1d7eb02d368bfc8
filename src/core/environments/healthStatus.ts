// How an environment's health reads now, from its health history: healthy,
// failing (naming the checks), or unknown (nothing live, no monitor run yet,
// the live deployment not checked yet, the last run could not decide, or no
// run lately). "Lately" is STALE_AFTER_RUNS times the monitor's `every:`: one
// missed run is the schedule's jitter, two are a monitor that stopped. The
// editor's Environments view and status bar show this; they decide nothing.
import { describeError } from '../errors';
import { parseEvery } from '../manifest/monitor';
import type { Workspace } from '../workspace';
import { readHealth, type RecordedHealth } from './healthHistory';

/** How many of a monitor's periods may pass without a run before its health is unknown. */
export const STALE_AFTER_RUNS = 2;

/** How many runs the editor reads and shows of each history (newest first). */
export const SHOWN_HEALTH_RUNS = 20;

/** Why nothing can be said of an environment's health now. */
export type UnknownHealth =
  /** Nothing is live in the environment. */
  | 'nothing-live'
  /** No monitor has run for it yet. */
  | 'never-run'
  /** The live deployment (a promotion or a rollback since the last run) has not been checked yet. */
  | 'not-checked'
  /** The last run of the live deployment could not decide (a check exited 77, a metric was not read). */
  | 'inconclusive'
  /** No run within STALE_AFTER_RUNS × `every`: the monitor is not running. */
  | 'stale';

export type HealthState =
  | { readonly kind: 'healthy'; readonly last: RecordedHealth }
  | {
      readonly kind: 'failing';
      readonly last: RecordedHealth;
      /** The checks that failed in the last run, in manifest order. */
      readonly failing: readonly string[];
    }
  | { readonly kind: 'unknown'; readonly why: UnknownHealth; readonly last: RecordedHealth | undefined };

export interface HealthReading {
  readonly state: HealthState;
  /** How long without a run makes the health unknown (undefined: `every:` is not a duration). */
  readonly staleAfterMs: number | undefined;
  /** When the state turns (or turned) to `stale` if no run comes (ms since the epoch; undefined: never). */
  readonly staleAt: number | undefined;
}

/** A monitored environment's history as read for the editor: the newest runs, and its schedule. */
export type HealthHistory =
  | {
      readonly kind: 'read';
      /** Newest first, at most SHOWN_HEALTH_RUNS. */
      readonly records: readonly RecordedHealth[];
      /** The manifest's `every:` as written (`30s`), and in milliseconds (undefined when not a duration). */
      readonly every: string | undefined;
      readonly everyMs: number | undefined;
    }
  | { readonly kind: 'failed'; readonly message: string };

/** `every:` in milliseconds, and as written; undefined when absent or not a duration. */
export function monitorEvery(workspace: Workspace, name: string): { text?: string; ms?: number } {
  const every = workspace.manifest.environments.get(name)?.monitor?.every;
  if (every === undefined) return {};
  const reading = parseEvery(every.value);
  return { text: String(every.value), ...(reading.ok ? { ms: reading.ms } : {}) };
}

/** The newest runs of a monitored environment's health history; a damaged one is `failed`, not thrown. */
export async function readHealthHistory(
  workspace: Workspace,
  name: string,
  limit = SHOWN_HEALTH_RUNS,
): Promise<HealthHistory> {
  const every = monitorEvery(workspace, name);
  try {
    return {
      kind: 'read',
      records: await readHealth(workspace.git, name, limit),
      every: every.text,
      everyMs: every.ms,
    };
  } catch (error) {
    return { kind: 'failed', message: describeError(error) };
  }
}

/**
 * The health of an environment now, from its runs (newest first) and the
 * commit of its live deployment (undefined: nothing live). Only a run of the
 * deployment live now counts: a run of the release an automatic rollback left
 * says nothing of the one it went back to.
 */
export function healthState(
  records: readonly RecordedHealth[],
  liveDeployment: string | undefined,
  everyMs: number | undefined,
  now: number = Date.now(),
): HealthReading {
  const staleAfterMs = everyMs === undefined ? undefined : everyMs * STALE_AFTER_RUNS;
  const last = records[0];
  const unknown = (why: UnknownHealth, staleAt?: number): HealthReading => ({
    state: { kind: 'unknown', why, last },
    staleAfterMs,
    staleAt,
  });
  if (liveDeployment === undefined) return unknown('nothing-live');
  if (last === undefined) return unknown('never-run');
  const staleAt = staleAfterMs === undefined ? undefined : Date.parse(last.time) + staleAfterMs;
  if (staleAt !== undefined && now >= staleAt) return unknown('stale', staleAt);
  if (last.deployment !== liveDeployment) return unknown('not-checked', staleAt);
  if (last.outcome === 'inconclusive') return unknown('inconclusive', staleAt);
  if (last.outcome === 'fail')
    return {
      state: {
        kind: 'failing',
        last,
        failing: last.checks.filter((check) => check.outcome === 'fail').map((check) => check.name),
      },
      staleAfterMs,
      staleAt,
    };
  return { state: { kind: 'healthy', last }, staleAfterMs, staleAt };
}

/** The state in a few words (`healthy`, `failing: service answers`, `unknown: no run lately`). */
export function describeHealthState(state: HealthState): string {
  switch (state.kind) {
    case 'healthy':
      return 'healthy';
    case 'failing':
      return `failing: ${state.failing.join(', ')}`;
    case 'unknown':
      return `health unknown: ${UNKNOWN_WORDS[state.why]}`;
  }
}

const UNKNOWN_WORDS: Readonly<Record<UnknownHealth, string>> = {
  'nothing-live': 'nothing live',
  'never-run': 'no monitor run yet',
  'not-checked': 'live release not checked yet',
  inconclusive: 'last run inconclusive',
  stale: 'no run lately',
};

/** Why the state is what it is, in a sentence, with what "lately" means here. */
export function explainHealthState(reading: HealthReading, every: string | undefined): string {
  const { state, staleAfterMs } = reading;
  const lately =
    staleAfterMs === undefined
      ? '`every:` is not a duration, so a monitor that stopped is not noticed'
      : `unknown when no run is recorded within ${STALE_AFTER_RUNS} × every (${STALE_AFTER_RUNS} × ${every ?? '?'} = ${spellInterval(staleAfterMs)})`;
  switch (state.kind) {
    case 'healthy':
      return `Healthy: every monitor check passed in the last run (${state.last.time}); ${lately}.`;
    case 'failing':
      return `Failing: ${state.failing.join(', ')} failed in the last run (${state.last.time}), ${state.last.failures} run(s) in a row; ${lately}.`;
    case 'unknown':
      switch (state.why) {
        case 'nothing-live':
          return 'Health unknown: nothing is live to monitor.';
        case 'never-run':
          return 'Health unknown: no monitor has run yet (`sluice monitor`).';
        case 'not-checked':
          return `Health unknown: the live deployment has not been checked since it went live; ${lately}.`;
        case 'inconclusive':
          return `Health unknown: the last run (${state.last?.time ?? '?'}) could not decide; ${lately}.`;
        case 'stale':
          return `Health unknown: no monitor run since ${state.last?.time ?? '?'}; ${lately}. Is \`sluice monitor\` running?`;
      }
  }
}

/** A period as `every:` spells it: `90s`, `30m`, `2h`. */
export function spellInterval(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const)
    if (ms % size === 0) return `${ms / size}${unit}`;
  return `${Math.round(ms / 1000)}s`;
}
