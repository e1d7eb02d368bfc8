// Issue 19: monitoring watches what is live and recovers by itself. Real
// `sluice monitor` processes, real check commands, `every` in seconds: a check
// that starts failing leads to exactly one automatic rollback, `alert` never
// rolls back, a hung command is killed at its timeout, a second monitor is
// refused naming the first, SIGTERM stops cleanly, SIGKILL at random points
// leaves the history and `current` whole, and a promotion racing a check wins.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  commitEverything,
  environmentWorkspace,
  linkedRelease,
  onlyJson,
  releaseOf,
  stageJson,
} from '../support/environments';
import {
  assertOneLineError,
  clearVariablesRefusedBySimpleGit,
  removeTree,
  sluice,
  sluiceAsync,
  startSluice,
  type RunningSluice,
} from '../support/workspace';
import { seededRandom } from '../../src/core/seededRandom';

clearVariablesRefusedBySimpleGit();

const SEED = Number(process.env['SLUICE_CRASH_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const made: string[] = [];
after(() => {
  for (const dir of made.splice(0)) removeTree(dir);
});

interface HealthRun {
  release: string;
  outcome: string;
  failures: number;
  action: string;
  rolledBackTo: string | null;
  reason: string | null;
  checks: { name: string; outcome: string; detail: string; value: number | null }[];
}
interface Deployment {
  release: string;
  action: string;
  reason: string | null;
}

/**
 * A workspace with two staged releases of `staging` (the second live) whose
 * monitor runs `check` every second. `check.sh` counts its runs in runs.txt and
 * passes for the first `passes` runs.
 */
function monitored(monitor: string, passes = 2): { root: string; first: string; second: string } {
  const manifest = `version: 1
pipelines:
  p:
    stages:
      build:
        run: printf '{"acc":0.9}' > m.json && cat v.txt > out.txt
        deps: [v.txt]
        outs: [out.txt]
        metrics: [m.json]
environments:
  staging:
    from: workspace
    deploy:
      path: deploy/staging
    monitor:
${monitor}`;
  const root = environmentWorkspace(
    manifest,
    {
      'v.txt': 'one\n',
      'check.sh': `n=$(cat runs.txt 2>/dev/null || echo 0); n=$((n+1)); echo $n > runs.txt; [ "$n" -le ${passes} ]\n`,
    },
    'sluice-monitor19-',
  );
  made.push(root);
  writeFileSync(join(root, '.gitignore'), '.sluice/\ndeploy/\nruns.txt\nprobe/\n');
  commitEverything(root, 'ignore the monitor files');
  const first = stageJson(root);
  assert.equal(first.status, 0, JSON.stringify(first.json));
  writeFileSync(join(root, 'v.txt'), 'two\n');
  commitEverything(root, 'two');
  const second = stageJson(root);
  assert.equal(second.status, 0, JSON.stringify(second.json));
  return { root, first: releaseOf(first.json), second: releaseOf(second.json) };
}

function history(root: string): Deployment[] {
  return (onlyJson(sluice(['history', 'staging', '--json'], root)) as { deployments: Deployment[] })
    .deployments;
}

function health(root: string, ...extra: string[]): { latest: unknown[]; history: HealthRun[] } {
  const result = sluice(['health', 'staging', '--json', ...extra], root);
  assert.equal(result.status, 0, result.stderr);
  return onlyJson(result) as { latest: unknown[]; history: HealthRun[] };
}

/** Polls `condition` every 100 ms (the monitor works in seconds) until it holds or `ms` pass. */
async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    assert.ok(Date.now() < deadline, `timed out waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function stop(
  monitor: RunningSluice,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  monitor.child.kill('SIGTERM');
  return monitor.done;
}

void describe('issue 19: sluice monitor', () => {
  void test('a check that starts failing leads to exactly one automatic rollback after `after` failures', async () => {
    const { root, first, second } = monitored(
      `      every: 1s
      on_failure: rollback
      after: 2
      checks:
        - name: service answers
          run: sh check.sh
`,
      2,
    );
    const monitor = startSluice(['monitor', 'staging', '--json'], root);
    // Runs 1–2 pass, 3–4 fail (rollback), then the rolled-back release fails twice more.
    await until(() => health(root).history.length >= 7, 30_000, 'seven monitor runs');
    const done = await stop(monitor);
    assert.equal(done.status, 0, done.stderr);
    const deployments = history(root);
    const automatic = deployments.filter((deployment) => deployment.action === 'auto-rollback');
    assert.equal(automatic.length, 1, JSON.stringify(deployments));
    assert.equal(automatic[0]!.release, first);
    assert.match(automatic[0]!.reason ?? '', /2 consecutive failed runs/);
    assert.equal(linkedRelease(root, 'staging'), first, '`current` shows the release gone back to');
    const runs = health(root, '-n', '50').history.reverse();
    assert.deepEqual(
      runs.slice(0, 4).map((run) => [run.release, run.outcome, run.failures, run.action]),
      [
        [second, 'pass', 0, 'none'],
        [second, 'pass', 0, 'none'],
        [second, 'fail', 1, 'none'],
        [second, 'fail', 2, 'rollback'],
      ],
    );
    assert.equal(runs[3]!.rolledBackTo, first);
    // The release gone back to fails too: the monitor alerts, it never rolls back past it.
    const later = runs.slice(4);
    assert.ok(later.every((run) => run.release === first && run.outcome === 'fail'));
    assert.ok(
      later.some((run) => run.action === 'alert'),
      JSON.stringify(later),
    );
    // Every line of the long-running --json is one whole run object.
    const lines = done.stdout.trim().split('\n');
    assert.ok(lines.length >= 7);
    for (const line of lines) assert.ok((JSON.parse(line) as HealthRun).checks.length === 1);
    assert.ok(!existsSync(join(root, '.sluice/state/monitor-staging.lock')), 'the lock is released');
  });

  void test('`on_failure: alert` never rolls back; health shows each check’s latest outcome', async () => {
    const { root, second } = monitored(
      `      every: 1s
      on_failure: alert
      after: 2
      checks:
        - name: service answers
          run: sh check.sh
`,
      1,
    );
    const monitor = startSluice(['monitor'], root);
    await until(() => health(root).history.length >= 4, 30_000, 'four monitor runs');
    const done = await stop(monitor);
    assert.equal(done.status, 0, done.stderr);
    assert.ok(history(root).every((deployment) => deployment.action === 'stage'));
    assert.equal(linkedRelease(root, 'staging'), second);
    const seen = health(root);
    assert.ok(seen.history.some((run) => run.action === 'alert'));
    assert.equal(seen.latest.length, 1);
    assert.match(done.stdout, /ALERT/);
  });

  void test('a hung command is killed at its timeout and fails; a metric rule reads what a command wrote', () => {
    const { root } = monitored(`      every: 30s
      checks:
        - name: probe
          run: mkdir -p probe && printf '{"acc":0.8}' > probe/live.json
          metrics: [probe/live.json]
        - name: accuracy holds
          metric: probe/live.json#acc
          no_regression: 0.05
        - name: hangs
          run: sleep 60
          timeout: 1
`);
    const started = Date.now();
    const result = sluice(['monitor', 'staging', '--once', '--json'], root);
    assert.ok(Date.now() - started < 15_000, 'the hung command did not hold the monitor');
    assert.equal(result.status, 1, result.stderr);
    const json = onlyJson(result) as {
      runs: HealthRun[];
      error: { code: string; data: { failed: string[] } };
    };
    assert.equal(json.error.code, 'monitor-check-failed');
    assert.deepEqual(json.error.data.failed.sort(), ['accuracy holds', 'hangs']);
    const [run] = json.runs;
    const byName = new Map(run!.checks.map((check) => [check.name, check]));
    assert.equal(byName.get('probe')!.outcome, 'pass');
    assert.equal(byName.get('accuracy holds')!.value, 0.8);
    assert.match(byName.get('accuracy holds')!.detail, /more than 0.05 below the release's m.json#acc = 0.9/);
    assert.match(byName.get('hangs')!.detail, /no answer within 1s/);
    assert.equal(health(root).history.length, 1, 'the run was recorded');
  });

  void test('a second monitor of one environment exits 1 naming the first; SIGTERM stops the first cleanly', async () => {
    const { root } = monitored(`      every: 1s
      checks:
        - name: slow
          run: sleep 30
`);
    const first = startSluice(['monitor', 'staging'], root);
    const lock = join(root, '.sluice/state/monitor-staging.lock');
    await until(() => existsSync(lock), 20_000, 'the first monitor took its lock');
    const second = sluice(['monitor', 'staging', '--once'], root);
    assertOneLineError(second, 1, 'sluice monitor staging', String(first.child.pid));
    const json = onlyJson(sluice(['monitor', '--once', '--json'], root)) as {
      error: { code: string; data: { pid: number; environment: string } };
    };
    assert.equal(json.error.code, 'monitor-running');
    assert.equal(json.error.data.pid, first.child.pid);
    // Stopped mid-check: the check is killed, nothing is recorded, the lock is gone.
    const done = await stop(first);
    assert.equal(done.status, 0, done.stderr);
    assert.equal(health(root).history.length, 0, 'an interrupted run leaves no record');
    assert.ok(!existsSync(lock));
    assert.equal(readFileSync(join(root, 'sluice.yaml'), 'utf8').includes('monitor:'), true);
  });

  void test('SIGKILL at random points of a monitor leaves the history consistent and `current` whole', async () => {
    const { root, first, second } = monitored(
      `      every: 1s
      on_failure: rollback
      after: 1
      checks:
        - name: service answers
          run: sh check.sh
`,
      1,
    );
    const random = seededRandom(SEED);
    for (let trial = 0; trial < 5; trial++) {
      const monitor = startSluice(['monitor', 'staging'], root);
      await new Promise((resolve) => setTimeout(resolve, 300 + Math.floor(random() * 2500)));
      monitor.crash();
      await monitor.done;
      const runs = health(root, '-n', '100').history;
      for (const run of runs) assert.ok([first, second].includes(run.release), `seed ${SEED}`);
      const deployments = history(root);
      const live = deployments[0]!.release;
      const linked = linkedRelease(root, 'staging');
      // `current` is a complete release: the live one, or (killed between the record and the
      // swap) the one before, which the next command puts back in line.
      assert.ok(linked === first || linked === second, `seed ${SEED}: current → ${String(linked)}`);
      assert.ok(existsSync(join(root, 'deploy/staging/releases', linked, 'out.txt')), `seed ${SEED}`);
      assert.ok(deployments.filter((d) => d.action === 'auto-rollback').length <= 1, `seed ${SEED}`);
      sluice(['envs'], root);
      assert.equal(linkedRelease(root, 'staging'), live, `seed ${SEED}: realigned`);
    }
    // The last crash left a lock of a dead process: the next monitor takes it over.
    const once = sluice(['monitor', 'staging', '--once'], root);
    assert.ok(once.status === 0 || once.status === 1, once.stderr);
    assert.doesNotMatch(once.stderr, /Another sluice monitor/);
  });

  void test('a promotion that lands while a check runs wins: the outcome is the checked release’s, nothing is done', async () => {
    const root = environmentWorkspace(
      `version: 1
pipelines:
  p:
    stages:
      build:
        run: cat v.txt > out.txt
        deps: [v.txt]
        outs: [out.txt]
environments:
  staging:
    from: workspace
    deploy:
      path: deploy/staging
  production:
    from: staging
    deploy:
      path: deploy/production
    monitor:
      every: 1m
      on_failure: rollback
      after: 1
      checks:
        - name: slow and failing
          run: sleep 3; exit 1
`,
      { 'v.txt': 'one\n' },
      'sluice-monitor19-race-',
    );
    made.push(root);
    assert.equal(stageJson(root).status, 0);
    assert.equal(sluice(['promote', '--yes'], root).status, 0);
    writeFileSync(join(root, 'v.txt'), 'two\n');
    commitEverything(root, 'two');
    const checked = (
      onlyJson(sluice(['envs', '--json'], root)) as { environments: { name: string; release: string }[] }
    ).environments.find((environment) => environment.name === 'production')!.release;
    const candidate = releaseOf(stageJson(root).json);
    const monitor = sluiceAsync(['monitor', 'production', '--once', '--json'], root);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const promoted = sluice(['promote', '--yes'], root);
    assert.equal(promoted.status, 0, promoted.stderr);
    const result = await monitor;
    assert.equal(result.status, 1, result.stderr);
    const [run] = (onlyJson(result) as { runs: (HealthRun & { deployment: unknown })[] }).runs;
    assert.equal(run!.release, checked, 'recorded against the release it checked');
    assert.equal(run!.action, 'moved');
    assert.equal(run!.deployment, null);
    const deployments = (
      onlyJson(sluice(['history', 'production', '--json'], root)) as { deployments: Deployment[] }
    ).deployments;
    assert.deepEqual(
      deployments.map((deployment) => deployment.action),
      ['promote', 'promote'],
    );
    assert.equal(deployments[0]!.release, candidate, 'the promotion stands');
  });

  /**
   * Where automatic rollbacks may go, by real `sluice monitor --once` processes:
   * `fail` (a file) makes the check fail. Each test stages releases in turn and
   * makes the live one pass or fail as the history it needs.
   */
  const FLAGGED = `      every: 30s
      on_failure: rollback
      after: 2
      checks:
        - name: answers
          run: sh flag.sh
`;
  function flagged(): { root: string; first: string; stageNext: (text: string) => string } {
    const { root, first } = monitored(FLAGGED);
    writeFileSync(join(root, 'flag.sh'), '[ ! -f fail ]\n');
    writeFileSync(join(root, '.gitignore'), '.sluice/\ndeploy/\nruns.txt\nprobe/\nfail\n');
    commitEverything(root, 'the flag check');
    const stageNext = (text: string): string => {
      writeFileSync(join(root, 'v.txt'), `${text}\n`);
      commitEverything(root, text);
      const staged = stageJson(root);
      assert.equal(staged.status, 0, JSON.stringify(staged.json));
      return releaseOf(staged.json);
    };
    return { root, first, stageNext };
  }
  const once = (root: string, outcome: 'pass' | 'fail'): HealthRun => {
    if (outcome === 'fail') writeFileSync(join(root, 'fail'), '');
    else rmSync(join(root, 'fail'), { force: true });
    const result = sluice(['monitor', 'staging', '--once', '--json'], root);
    assert.equal(result.status, outcome === 'pass' ? 0 : 1, result.stderr);
    return (onlyJson(result) as { runs: HealthRun[] }).runs[0]!;
  };
  const live = (root: string): Deployment => history(root)[0]!;

  void test('an automatic rollback passes over a release that failed, goes to the last healthy one, and not again from there', () => {
    const { root, stageNext } = flagged();
    // monitored() staged two releases; the second is live: make it healthy, then stage two more.
    const healthy = live(root).release;
    assert.equal(once(root, 'pass').outcome, 'pass');
    const unchecked = stageNext('three');
    const newest = stageNext('four');
    once(root, 'fail');
    const first = once(root, 'fail');
    assert.equal(first.action, 'rollback');
    assert.equal(first.rolledBackTo, unchecked, 'a release never checked is not failing: the one before');
    assert.deepEqual([live(root).action, live(root).release], ['auto-rollback', unchecked]);
    once(root, 'fail');
    const second = once(root, 'fail');
    assert.equal(second.action, 'rollback', JSON.stringify(second));
    assert.equal(second.rolledBackTo, healthy, `passes over ${newest}, which failed, to the healthy one`);
    assert.match(second.reason ?? '', new RegExp(`passed over ${newest.slice(0, 12)}, which failed`));
    assert.equal(linkedRelease(root, 'staging'), healthy);
    // Back on the last release that was healthy: the monitor alerts and says why, and `current` stays.
    assert.equal(once(root, 'pass').outcome, 'pass');
    once(root, 'fail');
    const third = once(root, 'fail');
    assert.equal(third.action, 'alert', JSON.stringify(third));
    assert.match(third.reason ?? '', /not rolled back: .*the last release that was/);
    assert.equal(live(root).release, healthy);
    assert.equal(linkedRelease(root, 'staging'), healthy);
  });

  void test('never past the newest earlier release with a healthy outcome; never to a release that failed', () => {
    const { root, first, stageNext } = flagged();
    // The second release passed, then failed once; a third goes live and fails.
    const earlier = live(root).release;
    assert.equal(once(root, 'pass').outcome, 'pass');
    assert.equal(once(root, 'fail').action, 'none');
    stageNext('three');
    once(root, 'fail');
    const refused = once(root, 'fail');
    assert.equal(refused.action, 'alert', JSON.stringify(refused));
    assert.match(
      refused.reason ?? '',
      new RegExp(
        `not rolled back: ${earlier.slice(0, 12)}, the newest earlier release that was healthy, failed since`,
      ),
    );
    assert.notEqual(live(root).release, first, 'the first release, older, is not gone to');
    assert.equal(live(root).action, 'stage');

    // Only failing releases before: none is gone to, and the record says which.
    const other = flagged();
    once(other.root, 'fail');
    assert.equal(once(other.root, 'fail').rolledBackTo, other.first);
    once(other.root, 'fail');
    const last = once(other.root, 'fail');
    assert.equal(last.action, 'alert');
    assert.match(
      last.reason ?? '',
      /every earlier release the monitor may go back to failed \([0-9a-f]{12}\)/,
    );
    assert.equal(live(other.root).release, other.first);
  });
});
