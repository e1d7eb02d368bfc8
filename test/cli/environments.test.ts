// Environments as a user meets them: `sluice stage`, `promote`, `rollback`,
// `history` and `envs` from the built CLI, on the churn example (a real git
// repository). What is live is read back from `current` byte for byte.
//
// SLUICE_CRASH_TRIALS sets the number of SIGKILLs (default 6), SLUICE_CRASH_SEED replays a run.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { seededRandom } from '../../src/core/seededRandom';
import {
  clearVariablesRefusedBySimpleGit,
  git,
  readTree,
  removeTree,
  sluice,
  sluiceAsync,
  sluiceJson,
  sha256,
  startSluice,
} from '../support/workspace';

clearVariablesRefusedBySimpleGit();

const TRIALS = Number(process.env['SLUICE_CRASH_TRIALS'] ?? 6);
const SEED = Number(process.env['SLUICE_CRASH_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const made: string[] = [];
after(() => {
  for (const dir of made.splice(0)) removeTree(dir);
});

interface Deployments {
  readonly environment: string;
  readonly deployments: {
    release: string;
    action: string;
    time: string;
    actor: string;
    reason: string | null;
  }[];
}

function churn(): string {
  const parent = mkdtempSync(join(tmpdir(), 'sluice-envs-'));
  made.push(parent);
  const root = join(parent, 'churn');
  const init = sluice(['init', root, '--example', 'churn'], parent);
  assert.equal(init.status, 0, init.stderr);
  git(root, 'config', 'user.name', 'Sluice Test');
  git(root, 'config', 'user.email', 'test@sluice.invalid');
  sluiceJson(['snapshot'], root);
  return root;
}

function commitAll(root: string, message: string): void {
  git(root, 'add', '--all');
  git(root, 'commit', '--quiet', '-m', message);
}

function stage(root: string): {
  release: { id: string; checks: { outcome: string }[] };
  deployed: boolean;
  status: number | null;
} {
  const result = sluice(['stage', '--json'], root);
  return {
    ...(JSON.parse(result.stdout) as {
      release: { id: string; checks: { outcome: string }[] };
      deployed: boolean;
    }),
    status: result.status,
  };
}

function history(root: string, environment: string): Deployments['deployments'] {
  return (sluiceJson(['history', environment], root) as Deployments).deployments;
}

/** What `current` holds: path → content, modes aside (a hard-linked release keeps the blob's read-only mode). */
function live(root: string, environment = 'production'): Map<string, string> {
  const tree = readTree(realpathSync(join(root, 'deploy', environment, 'current')));
  return new Map(
    [...tree].map(([path, entry]) => [path, entry.type === 'file' ? sha256(entry.content) : entry.type]),
  );
}

/** The outputs the pipeline gives on this workspace's committed code and data, built by `sluice run`. */
function expectedOutputs(root: string): Map<string, string> {
  const run = sluice(['run', '--json'], root);
  assert.equal(run.status, 0, run.stderr);
  const expected = new Map<string, string>();
  for (const out of ['data/prepared', 'models', 'metrics.json', 'plots']) {
    for (const [path, entry] of readTree(join(root, out)))
      expected.set(
        path === '' ? out : `${out}/${path}`,
        entry.type === 'file' ? sha256(entry.content) : entry.type,
      );
  }
  return expected;
}

function linked(root: string, environment = 'production'): string {
  return readlinkSync(join(root, 'deploy', environment, 'current')).replace(/^releases\//, '');
}

/** Sets the churn example's training parameters and commits them. */
function commitParams(root: string, learningRate: number): void {
  const file = join(root, 'params.yaml');
  writeFileSync(
    file,
    readFileSync(file, 'utf8').replace(/learning_rate: .*/, `learning_rate: ${learningRate}`),
  );
  commitAll(root, `learning rate ${learningRate}`);
}

describe('environments', () => {
  test('stage → promote → change data → stage → promote → rollback, byte for byte', () => {
    const root = churn();
    const first = stage(root);
    assert.equal(first.status, 0);
    assert.equal(first.deployed, true);
    assert.deepEqual(
      history(root, 'staging').map((d) => [d.release, d.action]),
      [[first.release.id, 'stage']],
    );
    assert.equal(git(root, 'worktree', 'list').trim().split('\n').length, 1, 'the staging worktree is gone');

    const firstPromotion = sluiceJson(['promote', '--yes'], root) as Record<string, unknown>;
    assert.deepEqual(
      { ...firstPromotion, gates: undefined, comparison: undefined },
      {
        environment: 'production',
        release: first.release.id,
        previous: null,
        action: 'promote',
        failure: null,
        rolledBack: false,
        reason: null,
        unchanged: false,
        gates: undefined,
        comparison: undefined,
      },
    );
    // The comparison printed before the first promotion: nothing live, every dataset new.
    const firstComparison = firstPromotion['comparison'] as {
      from: { release: string | null };
      to: { release: string };
      data: { dataset: string; before: string | null; added: number }[];
    };
    assert.equal(firstComparison.from.release, null);
    assert.equal(firstComparison.to.release, first.release.id);
    assert.ok(
      firstComparison.data.every((change) => change.before === null && change.added > 0),
      JSON.stringify(firstComparison.data),
    );
    const firstLive = expectedOutputs(root);
    assert.deepEqual(live(root), firstLive);

    // New data: one more (empty) month of events.
    writeFileSync(join(root, 'data/raw/events/events-2024-04.csv'), 'timestamp,user_id,event\n');
    sluiceJson(['snapshot'], root);
    const second = stage(root);
    assert.equal(second.status, 0);
    assert.notEqual(second.release.id, first.release.id);
    const promoted = sluiceJson(['promote', '--yes'], root) as { release: string; previous: string };
    assert.deepEqual([promoted.release, promoted.previous], [second.release.id, first.release.id]);
    const secondLive = expectedOutputs(root);
    assert.deepEqual(live(root), secondLive);

    const back = sluiceJson(['rollback', 'production', '--yes'], root) as {
      release: string;
      previous: string;
    };
    assert.deepEqual([back.release, back.previous], [first.release.id, second.release.id]);
    assert.deepEqual(live(root), firstLive);
    assert.deepEqual(
      history(root, 'production').map((d) => d.action),
      ['rollback', 'promote', 'promote'],
    );
    const envs = sluiceJson(['envs'], root) as {
      environments: { name: string; from: string; release: string }[];
    };
    assert.deepEqual(
      envs.environments.map((e) => [e.name, e.from, e.release]),
      [
        ['staging', 'workspace', second.release.id],
        ['production', 'staging', first.release.id],
      ],
    );
    const status = sluiceJson(['status'], root) as { environments: { name: string; release: string }[] };
    assert.deepEqual(status.environments, [
      { name: 'staging', release: second.release.id },
      { name: 'production', release: first.release.id },
    ]);
    // gc keeps every blob a release reaches.
    sluiceJson(['gc'], root);
    const fsck = sluiceJson(['fsck'], root) as { missing: unknown[] };
    assert.deepEqual(fsck.missing, []);
  });

  test('a failing check keeps staging as it was, and the release is still recorded', () => {
    const root = churn();
    const good = stage(root);
    const manifest = join(root, 'sluice.yaml');
    writeFileSync(
      manifest,
      readFileSync(manifest, 'utf8').replace('data/prepared 100', 'data/prepared 100000'),
    );
    commitAll(root, 'a stricter row count');
    const bad = stage(root);
    assert.equal(bad.status, 1);
    assert.equal(bad.deployed, false);
    assert.ok(bad.release.checks.some((check) => check.outcome === 'fail'));
    assert.deepEqual(
      history(root, 'staging').map((d) => d.release),
      [good.release.id],
    );
    assert.ok(git(root, 'for-each-ref', 'refs/sluice/releases/').includes(bad.release.id));
  });

  test('a failing gate keeps production, and a candidate that loosens its own gate is judged by the live one', () => {
    const root = churn();
    stage(root);
    const firstLive = (sluiceJson(['promote', '--yes'], root) as { release: string }).release;
    const before = live(root);
    // Accuracy 0.85 → 0.825, and the candidate's own manifest would allow any regression.
    const manifest = join(root, 'sluice.yaml');
    writeFileSync(
      manifest,
      readFileSync(manifest, 'utf8').replace('no_regression: 0.01', 'no_regression: 1'),
    );
    commitParams(root, 5);
    assert.equal(stage(root).status, 0);
    const refused = sluice(['promote', '--yes'], root);
    assert.equal(refused.status, 1);
    assert.match(
      refused.stderr,
      /refused by gate metrics\.json#accuracy no_regression 0\.01: 0\.825 is 0\.025 below the live 0\.85/,
    );
    assert.equal(refused.stderr.trim().split('\n').length, 1);
    assert.deepEqual(
      history(root, 'production').map((d) => d.release),
      [firstLive],
    );
    assert.deepEqual(live(root), before);
  });

  test('a failing health check rolls back by itself, and says why', () => {
    const root = churn();
    stage(root);
    const first = (sluiceJson(['promote', '--yes'], root) as { release: string }).release;
    const before = live(root);
    writeFileSync(join(root, 'data/raw/events/events-2024-04.csv'), 'timestamp,user_id,event\n');
    sluiceJson(['snapshot'], root);
    const second = stage(root).release.id;
    writeFileSync(
      join(root, 'scripts/health.js'),
      'process.exit(process.env.SLUICE_RELEASE === process.argv[2] ? 3 : 0);\n',
    );
    const manifest = join(root, 'sluice.yaml');
    writeFileSync(
      manifest,
      readFileSync(manifest, 'utf8').replace('node scripts/health.js', `node scripts/health.js ${second}`),
    );
    const result = sluice(['promote', '--yes', '--json'], root);
    assert.equal(result.status, 1, result.stderr);
    const printed = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.deepEqual(
      { ...printed, gates: undefined, error: undefined, comparison: undefined },
      {
        environment: 'production',
        release: first,
        previous: first,
        action: 'promote',
        failure: `the health check (node scripts/health.js ${second}) failed: exit code 3`,
        rolledBack: true,
        reason: null,
        unchanged: false,
        gates: undefined,
        error: undefined,
        comparison: undefined,
      },
    );
    assert.equal((printed['error'] as { code: string }).code, 'deploy-failed');
    const deployments = history(root, 'production');
    assert.deepEqual(
      deployments.map((d) => [d.action, d.release]),
      [
        ['auto-rollback', first],
        ['promote', second],
        ['promote', first],
      ],
    );
    assert.match(deployments[0]!.reason ?? '', /health check/);
    assert.deepEqual(live(root), before);
  });

  test('ten concurrent promotions from separate processes: a linear history, none lost', async () => {
    const root = churn();
    const a = stage(root).release.id;
    commitParams(root, 0.6);
    const b = stage(root).release.id;
    sluiceJson(['promote', '--yes', '--release', a], root);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        sluiceAsync(['promote', '--yes', '--release', i % 2 === 0 ? b : a], root),
      ),
    );
    const won = results.filter((result) => result.status === 0).length;
    for (const result of results.filter((r) => r.status !== 0)) {
      assert.equal(result.status, 1, result.stderr);
      assert.match(result.stderr, /environment moved, retry/);
    }
    assert.ok(won >= 1);
    const chain = git(root, 'rev-list', '--parents', 'refs/sluice/environments/production')
      .trim()
      .split('\n');
    assert.equal(chain.length, 1 + won, 'one deployment per successful promotion');
    for (const line of chain) assert.ok(line.split(' ').length <= 2, 'no merges: a linear history');
    assert.equal(linked(root), history(root, 'production')[0]!.release);
  });

  test('SIGKILL at random points of promote and rollback: current is always a complete release', async () => {
    const root = churn();
    const a = stage(root).release.id;
    commitParams(root, 0.6);
    const b = stage(root).release.id;
    sluiceJson(['promote', '--yes', '--release', a], root);
    const contentOf = new Map([[a, live(root)]]);
    sluiceJson(['promote', '--yes', '--release', b], root);
    contentOf.set(b, live(root));
    const random = seededRandom(SEED);
    for (let trial = 0; trial < TRIALS; trial++) {
      const headBefore = history(root, 'production')[0]!.release;
      const other = headBefore === a ? b : a;
      const args =
        random() < 0.5
          ? ['promote', '--yes', '--release', other]
          : ['rollback', 'production', '--yes', '--to', other];
      const running = startSluice(args, root);
      await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 600)));
      running.crash();
      await running.done;
      const message = `seed ${SEED}, trial ${trial}, ${args.join(' ')}`;
      const current = linked(root);
      assert.ok(current === a || current === b, message);
      assert.deepEqual(live(root), contentOf.get(current), message);
      const deployments = history(root, 'production');
      assert.ok([a, b].includes(deployments[0]!.release), message);
      assert.ok(existsSync(join(root, 'deploy/production/releases', deployments[0]!.release)), message);
    }
    // A read alone (history) puts `current` in line with the history.
    const head = history(root, 'production')[0]!.release;
    assert.equal(linked(root), head, `seed ${SEED}: history repairs current`);
    sluiceJson(['rollback', 'production', '--yes', '--to', head === a ? b : a], root);
    assert.equal(linked(root), history(root, 'production')[0]!.release);
  });

  test('promotion into production without a terminal needs --yes', () => {
    const root = churn();
    stage(root);
    const result = sluice(['promote'], root);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /needs confirmation.*--yes/);
    assert.deepEqual(history(root, 'production'), []);
  });
});
