// Issue 19, the editor's part, without an editor: the engine's reading of an
// environment's health (healthy, failing naming the checks, unknown and why,
// "lately" as 2 × every), the Environments view's health elements (the runs
// newest first, each check's outcome and value, the action taken), the status
// bar's failing environments, which automatic rollbacks are new to notify,
// and the chart of a metric check over time.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { HealthCheckResult, RecordedHealth } from '../../src/core/environments/healthHistory';
import { healthState, spellInterval, STALE_AFTER_RUNS } from '../../src/core/environments/healthStatus';
import type { RecordedDeployment } from '../../src/core/environments/history';
import { analyzeManifest } from '../../src/core/manifest';
import { healthMetricNames, healthPlotsDocument } from '../../src/core/plots/healthPlots';
import {
  healthChildren,
  newRollbacks,
  type EnvironmentHealth,
  type HealthNode,
} from '../../src/extension/environments/healthNodes';
import {
  declaredEnvironments,
  describeNode,
  environmentChildren,
  failingEnvironments,
  nextHealthChange,
  rootNodes,
  statusTooltip,
  type EnvironmentHistory,
  type EnvironmentNode,
  type FolderEnvironments,
} from '../../src/extension/environments/model';
import type { FolderState } from '../../src/extension/folders';

const MANIFEST = analyzeManifest(`version: 1
environments:
  staging:
    from: workspace
  production:
    from: staging
`).manifest;

const NOW = Date.parse('2026-06-01T12:00:00Z');
const EVERY_MS = 30_000;
const LIVE = 'd'.repeat(40);
const OLD = 'e'.repeat(40);
const R1 = '1'.repeat(64);
const R2 = '2'.repeat(64);

function at(secondsAgo: number): string {
  return new Date(NOW - secondsAgo * 1000).toISOString();
}

function check(
  name: string,
  outcome: HealthCheckResult['outcome'],
  value: number | null = null,
): HealthCheckResult {
  return { name, outcome, detail: outcome === 'pass' ? 'exit code 0' : 'exit code 1', value, durationMs: 12 };
}

let commits = 0;
function run(
  secondsAgo: number,
  checks: HealthCheckResult[],
  more: Partial<RecordedHealth> = {},
): RecordedHealth {
  const outcome = checks.some((c) => c.outcome === 'fail')
    ? 'fail'
    : checks.some((c) => c.outcome === 'inconclusive')
      ? 'inconclusive'
      : 'pass';
  return {
    commit: `c${String(++commits).padStart(39, '0')}`,
    time: at(secondsAgo),
    release: R2,
    deployment: LIVE,
    outcome,
    checks,
    failures: outcome === 'fail' ? 1 : 0,
    action: 'none',
    rolledBackTo: null,
    reason: null,
    ...more,
  };
}

function deployment(commit: string, release: string): RecordedDeployment {
  return { commit, release, action: 'promote', time: at(3600), actor: 'Ada', reason: null };
}

function folderWith(
  health: Record<string, EnvironmentHealth>,
  live: string | null = LIVE,
): FolderEnvironments {
  const history: EnvironmentHistory = {
    kind: 'read',
    deployments: live === null ? [] : [deployment(live, R2), deployment(OLD, R1)],
    live: undefined,
  };
  const state = { kind: 'ready', folder: '/w', root: '/w', manifestFile: '/w/sluice.yaml' } as FolderState;
  return {
    state,
    head: undefined,
    environments: declaredEnvironments(
      MANIFEST,
      () => history,
      (name) => health[name] ?? { kind: 'unmonitored' },
    ),
  };
}

function read(records: RecordedHealth[]): EnvironmentHealth {
  return { kind: 'read', records, every: spellInterval(EVERY_MS), everyMs: EVERY_MS };
}

function environmentNode(folder: FolderEnvironments, name: string): EnvironmentNode {
  const node = rootNodes([folder]).find(
    (candidate): candidate is EnvironmentNode =>
      candidate.kind === 'environment' && candidate.environment.name === name,
  );
  assert.ok(node, `the tree lists ${name}`);
  return node;
}

function healthNode(folder: FolderEnvironments, name: string): HealthNode {
  const node = environmentChildren(environmentNode(folder, name)).find(
    (child): child is HealthNode => child.kind === 'health',
  );
  assert.ok(node, `${name} has a Health element`);
  return node;
}

const shown = (node: Parameters<typeof describeNode>[0]): string => {
  const look = describeNode(node, NOW);
  return `${look.label}: ${look.description ?? ''}`;
};

void describe('issue 19: health in the editor', () => {
  void test('the reading: healthy, failing naming the failed checks, and each reason for unknown', () => {
    const pass = run(10, [check('answers', 'pass'), check('latency', 'pass', 120)]);
    const fail = run(10, [check('answers', 'fail'), check('latency', 'pass', 120), check('rows', 'fail')]);
    const cases: [string, RecordedHealth[], string | undefined, unknown][] = [
      ['nothing live', [pass], undefined, { kind: 'unknown', why: 'nothing-live' }],
      ['no run yet', [], LIVE, { kind: 'unknown', why: 'never-run' }],
      ['healthy', [pass], LIVE, { kind: 'healthy' }],
      ['failing', [fail, pass], LIVE, { kind: 'failing', failing: ['answers', 'rows'] }],
      [
        'inconclusive',
        [run(10, [check('answers', 'inconclusive')])],
        LIVE,
        { kind: 'unknown', why: 'inconclusive' },
      ],
      // The last run checked a deployment that is not live any more (a rollback since): it says nothing of this one.
      [
        'not checked',
        [run(10, [check('answers', 'fail')], { deployment: OLD })],
        LIVE,
        { kind: 'unknown', why: 'not-checked' },
      ],
    ];
    for (const [what, records, live, expected] of cases) {
      const { state } = healthState(records, live, EVERY_MS, NOW);
      assert.deepEqual({ ...state, last: undefined }, { ...(expected as object), last: undefined }, what);
    }
  });

  void test('"lately" is 2 × every: a run older than that is unknown, one just younger is not; no duration, never stale', () => {
    const seconds = (EVERY_MS * STALE_AFTER_RUNS) / 1000;
    for (const [age, kind] of [
      [seconds - 1, 'healthy'],
      [seconds, 'unknown'],
      [seconds * 10, 'unknown'],
    ] as const) {
      const reading = healthState([run(age, [check('answers', 'pass')])], LIVE, EVERY_MS, NOW);
      assert.equal(reading.state.kind, kind, `a run ${age}s old`);
      assert.equal(reading.staleAt, NOW - age * 1000 + EVERY_MS * STALE_AFTER_RUNS);
      if (kind === 'unknown') assert.equal(reading.state.kind === 'unknown' && reading.state.why, 'stale');
    }
    const failing = healthState([run(seconds * 10, [check('answers', 'fail')])], LIVE, EVERY_MS, NOW);
    assert.equal(failing.state.kind, 'unknown', 'an old failure is not "failing" now either');
    const unscheduled = healthState([run(86_400, [check('answers', 'pass')])], LIVE, undefined, NOW);
    assert.equal(unscheduled.state.kind, 'healthy');
    assert.equal(unscheduled.staleAt, undefined);
  });

  void test('a monitored environment shows Health between its live release and its history; the tooltip says what "lately" is', () => {
    const folder = folderWith({ production: read([run(5, [check('answers', 'pass')])]) });
    const production = environmentNode(folder, 'production');
    assert.deepEqual(
      environmentChildren(production).map((child) => child.kind),
      ['health', 'history'],
    );
    const look = describeNode(production, NOW);
    assert.match(look.description ?? '', / · healthy$/);
    assert.match(look.tooltip, /unknown when no run is recorded within 2 × every \(2 × 30s = 1m\)/);
    assert.match(look.contextValue, /\bmonitored\b/);
    // An environment without `monitor:` is as before: no Health, no word.
    const staging = environmentNode(folder, 'staging');
    assert.deepEqual(
      environmentChildren(staging).map((child) => child.kind),
      ['history'],
    );
    assert.doesNotMatch(describeNode(staging, NOW).description ?? '', /health/);
    assert.doesNotMatch(describeNode(staging, NOW).contextValue, /monitored/);
  });

  void test('Restricted Mode: a monitored environment says its health is not read, and shows no Health', () => {
    const restricted = folderWith({ production: { kind: 'unread' } });
    const unread = { kind: 'unread' } as const;
    const production = environmentNode(
      {
        ...restricted,
        environments: restricted.environments.map((environment) => ({ ...environment, history: unread })),
      },
      'production',
    );
    assert.deepEqual(environmentChildren(production), []);
    const look = describeNode(production, NOW);
    assert.match(look.description ?? '', / · health not read$/);
    assert.match(look.tooltip, /Health: not read in Restricted Mode\./);
  });

  void test('failing: the environment turns red and names the checks; the runs are children, newest first, with values and the rollback', () => {
    const rolledBack = run(5, [check('answers', 'fail'), check('latency', 'pass', 340)], {
      failures: 3,
      action: 'rollback',
      rolledBackTo: R1,
      reason: 'monitor: 3 consecutive failed runs',
      deployment: OLD,
    });
    const failing = run(3, [check('answers', 'fail'), check('latency', 'pass', 300)], { failures: 1 });
    const folder = folderWith({
      production: read([
        failing,
        rolledBack,
        run(60, [check('answers', 'pass'), check('latency', 'pass', 90)]),
      ]),
    });
    const production = environmentNode(folder, 'production');
    const look = describeNode(production, NOW);
    assert.match(look.description ?? '', / · failing$/);
    assert.equal(look.icon.color, 'testing.iconFailed');
    assert.match(look.tooltip, /Failing: answers failed in the last run/);
    const health = healthNode(folder, 'production');
    assert.equal(shown(health), 'Health: failing: answers · last run 3 seconds ago');
    assert.equal(describeNode(health, NOW).contextValue, 'health metrics');
    const runs = healthChildren(health);
    assert.deepEqual(runs.map(shown), [
      `fail · ${R2.slice(0, 12)}: 3 seconds ago · 1 in a row`,
      `fail · ${R2.slice(0, 12)}: 5 seconds ago · 3 in a row · rolled back to ${R1.slice(0, 12)}`,
      `pass · ${R2.slice(0, 12)}: 1 minute ago`,
    ]);
    const details = healthChildren(runs[1]!);
    assert.deepEqual(details.map(shown), [
      'answers: fail · exit code 1',
      'latency: pass · exit code 0',
      `rolled back to ${R1.slice(0, 12)}: monitor: 3 consecutive failed runs`,
    ]);
    assert.deepEqual(
      details.map((node) => describeNode(node, NOW).contextValue),
      ['healthCheck', 'healthCheck metric', 'healthAction.rollback'],
    );
    // Every id differs, so the tree keeps what is expanded across refreshes.
    const ids = [health, ...runs, ...details].map((node) => describeNode(node, NOW).id);
    assert.equal(new Set(ids).size, ids.length);
  });

  void test('the status bar: failing live environments, the last of the chain first; healthy or unknown ones are not', () => {
    const failingRun = run(3, [check('answers', 'fail')]);
    const folder = folderWith({
      staging: read([failingRun]),
      production: read([run(3, [check('rows', 'fail'), check('answers', 'pass')])]),
    });
    assert.deepEqual(failingEnvironments([folder], NOW), [
      { root: '/w', environment: 'production', failing: ['rows'] },
      { root: '/w', environment: 'staging', failing: ['answers'] },
    ]);
    assert.match(statusTooltip([folder], NOW), /production: 2222.*, failing: rows/);
    const later = NOW + EVERY_MS * STALE_AFTER_RUNS;
    assert.deepEqual(failingEnvironments([folder], later), [], 'no run lately: unknown, not failing');
    assert.equal(nextHealthChange([folder], NOW), Date.parse(failingRun.time) + EVERY_MS * STALE_AFTER_RUNS);
    const healthy = folderWith({ production: read([run(3, [check('answers', 'pass')])]) });
    assert.deepEqual(failingEnvironments([healthy], NOW), []);
    const nothingLive = folderWith({ production: read([failingRun]) }, null);
    assert.deepEqual(failingEnvironments([nothingLive], NOW), []);
  });

  void test('notifications: each automatic rollback once, oldest first; the first look says only recent ones', () => {
    const day = 86_400_000;
    const older = run(7200, [check('answers', 'fail')], {
      action: 'rollback',
      rolledBackTo: R1,
      reason: 'old',
    });
    const passed = run(60, [check('answers', 'pass')]);
    const newer = run(30, [check('answers', 'fail')], {
      action: 'rollback',
      rolledBackTo: R1,
      reason: 'new',
    });
    const alert = run(10, [check('answers', 'fail')], { action: 'alert', reason: 'alerted' });
    const records = [alert, newer, passed, older];
    const reasons = (seen: string | undefined, firstLookMs = day): string[] =>
      newRollbacks('/w', 'production', records, seen, NOW, firstLookMs).map((notice) => notice.reason);
    assert.deepEqual(reasons(undefined), ['old', 'new'], 'first look, both within a day');
    assert.deepEqual(reasons(undefined, 3_600_000), ['new'], 'first look: the one two hours old is not said');
    assert.deepEqual(reasons(passed.commit), ['new'], 'after what was seen');
    assert.deepEqual(reasons(alert.commit), [], 'seen everything: nothing again (a reload)');
    assert.deepEqual(reasons('f'.repeat(40)), ['old', 'new'], 'seen is older than every run read');
    const [notice] = newRollbacks('/w', 'production', records, passed.commit, NOW, day);
    assert.deepEqual(notice, {
      root: '/w',
      environment: 'production',
      commit: newer.commit,
      release: R2,
      rolledBackTo: R1,
      reason: 'new',
      time: newer.time,
    });
  });

  void test("a metric check's values over time: oldest first, runs without a value left out, one chart per metric", () => {
    const records = [
      run(10, [check('answers', 'pass'), check('latency', 'pass', 300)]),
      run(20, [check('answers', 'fail'), check('latency', 'fail', null)]),
      run(30, [check('answers', 'pass'), check('latency', 'pass', 100), check('drift', 'pass', 0.1)]),
    ];
    assert.deepEqual(healthMetricNames(records), ['latency', 'drift']);
    const document = healthPlotsDocument('production', records, ['latency', 'errors']);
    assert.deepEqual(document.sources, ['production']);
    const [latency, errors] = document.plots.map((plot) => plot);
    assert.ok(latency && errors);
    assert.equal(latency.template, 'line');
    assert.equal(latency.title, 'latency in production');
    const [source] = latency.sources.map((one) => one);
    assert.ok(source?.kind === 'rows', 'latency is drawn');
    assert.deepEqual(
      source.rows.map((row) => row['value']),
      [100, 300],
    );
    assert.equal(
      errors.sources.map((one) => one.kind).join(),
      'error',
      'a check never measured says so instead of an empty chart',
    );
  });
});
