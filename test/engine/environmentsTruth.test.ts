// Issue 12: environments tell the truth and never wedge. Each test is one
// item of the issue, driven through the built CLI on small real repositories
// (and the engine in-process where a release must be hand-made).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { findMisalignedEnvironments, deployRelease } from '../../src/core/environments/deploy';
import { readHead } from '../../src/core/environments/history';
import { writeRelease } from '../../src/core/environments/releases';
import { findLeftoverWorktrees, removeLeftoverWorktrees } from '../../src/core/environments/staging';
import { SluiceError } from '../../src/core/errors';
import { openWorkspace } from '../../src/core/workspace';
import {
  commitEverything,
  environmentWorkspace,
  linkedRelease,
  onlyJson,
  releaseOf,
  stageJson,
} from '../support/environments';
import {
  clearVariablesRefusedBySimpleGit,
  git,
  removeTree,
  sluice,
  sluiceJson,
  startSluice,
} from '../support/workspace';

clearVariablesRefusedBySimpleGit();

const made: string[] = [];
after(() => {
  for (const dir of made.splice(0)) removeTree(dir);
});
function workspace(manifest: string, files: Readonly<Record<string, string>> = {}): string {
  const root = environmentWorkspace(manifest, files);
  made.push(root);
  return root;
}

const ENVIRONMENTS = `environments:
  staging:
    from: workspace
    deploy:
      path: deploy/staging
  production:
    from: staging
    gates: [checks]
    deploy:
      path: deploy/production
`;

const NESTED = `version: 1
pipelines:
  p:
    stages:
      evaluate:
        run: mkdir -p eval && printf '{"auc":0.9}' > eval/metrics.json && echo model > eval/model.txt
        outs: [eval, eval/model.txt]
        metrics: [eval/metrics.json]
${ENVIRONMENTS}`;

describe('issue 12: environments tell the truth and never wedge', () => {
  test('1. an out folder holding a declared metrics file deploys, each file once; re-deploying is idempotent', () => {
    const root = workspace(NESTED);
    const staged = stageJson(root);
    assert.equal(staged.status, 0, JSON.stringify(staged.json));
    assert.equal(staged.json['deployed'], true);
    const current = join(root, 'deploy/staging/current');
    assert.equal(readFileSync(join(current, 'eval/metrics.json'), 'utf8'), '{"auc":0.9}');
    assert.equal(readFileSync(join(current, 'eval/model.txt'), 'utf8'), 'model\n');
    assert.deepEqual(readdirSync(join(current, 'eval')).sort(), ['metrics.json', 'model.txt']);
    // No partial folder is left, and the same release deploys again (promote twice).
    const id = releaseOf(staged.json);
    sluiceJson(['promote', '--yes'], root);
    sluiceJson(['promote', '--yes', '--release', id], root);
    assert.equal(linkedRelease(root, 'production'), id);
    assert.deepEqual(
      readdirSync(join(root, 'deploy/production/releases')).filter((name) => name.startsWith('.')),
      [],
    );
    // The environment takes the next stage too.
    const again = stageJson(root);
    assert.equal(again.status, 0);
  });

  test('2. a release carrying a link out of the deploy folder is refused (release-link-escapes), nothing wedges', async () => {
    const root = workspace(NESTED);
    assert.equal(stageJson(root).status, 0);
    const ws = await openWorkspace(root);
    const head = await readHead(ws.git, 'staging');
    for (const target of ['/etc/passwd', '../../../../../etc', 'inner/../../..']) {
      const release = await writeRelease(ws.git, {
        format: 'sluice-release 1',
        pipeline: 'p',
        code: git(root, 'rev-parse', 'HEAD'),
        snapshots: {},
        outputs: [
          {
            path: 'models',
            kind: 'dir',
            entries: [
              { path: '', type: 'dir', mode: 0o755 },
              { path: 'passwd', type: 'link', target },
            ],
          },
        ],
        params: {},
        metrics: {},
        checks: [],
        failures: [],
        time: new Date().toISOString(),
        actor: 'test',
      });
      await assert.rejects(
        deployRelease(ws, 'staging', release, { action: 'stage', expected: head, reason: null }),
        (error: unknown) =>
          error instanceof SluiceError &&
          error.code === 'release-link-escapes' &&
          error.message.includes('models/passwd'),
      );
    }
    // Nothing recorded, nothing half-written, and the environment still takes a stage.
    assert.equal((await readHead(ws.git, 'staging'))?.commit, head?.commit);
    assert.deepEqual(
      readdirSync(join(root, 'deploy/staging/releases')).filter((name) => name.startsWith('.')),
      [],
    );
    assert.equal(stageJson(root).status, 0);
  });

  test('3. the checks gate judges a candidate by the live release’s checks, not its own', () => {
    const manifest = (min: number, check: string): string => `version: 1
pipelines:
  p:
    stages:
      score:
        run: printf '{"score":%s}' "$(cat score.txt)" > m.json && cp verdict.txt out.txt
        deps: [score.txt, verdict.txt]
        outs: [out.txt]
        metrics: [m.json]
    checks:
      - name: floor
        metric: m.json#score
        min: ${min}
      - name: verdict
        run: ${check}
${ENVIRONMENTS}`;
    const root = workspace(manifest(0.8, 'grep -q good out.txt'), {
      'score.txt': '0.9',
      'verdict.txt': 'good\n',
    });
    assert.equal(stageJson(root).status, 0);
    sluiceJson(['promote', '--yes'], root);
    // The candidate lowers the floor and replaces the command check by one that always passes.
    writeFileSync(join(root, 'sluice.yaml'), manifest(0.1, 'exit 0'));
    writeFileSync(join(root, 'score.txt'), '0.5');
    writeFileSync(join(root, 'verdict.txt'), 'bad\n');
    commitEverything(root, 'a weaker candidate with weaker checks');
    const weak = stageJson(root);
    assert.equal(weak.status, 0, 'it passes its own checks');
    const refused = sluice(['promote', '--yes', '--json'], root);
    assert.equal(refused.status, 1, refused.stderr);
    const error = onlyJson(refused)['error'] as {
      code: string;
      data: { gates: { name: string; passed: boolean; detail: string }[] };
    };
    assert.equal(error.code, 'gate-refused');
    const gate = error.data.gates.find((g) => g.name === 'checks')!;
    assert.equal(gate.passed, false);
    assert.match(gate.detail, /floor: fail/);
    assert.match(gate.detail, /verdict: fail/);
    assert.equal(linkedRelease(root, 'production') !== releaseOf(weak.json), true);
    // A candidate that meets the live checks passes, whatever its own say.
    writeFileSync(join(root, 'score.txt'), '0.95');
    writeFileSync(join(root, 'verdict.txt'), 'good\n');
    commitEverything(root, 'a good candidate');
    const good = stageJson(root);
    assert.equal(good.status, 0);
    const promoted = sluiceJson(['promote', '--yes'], root) as { release: string };
    assert.equal(promoted.release, releaseOf(good.json));
  });

  test('4. worktrees of a killed stage are found and removed by the next stage; a running one is kept', async () => {
    const root = workspace(NESTED);
    const tmp = join(root, '.sluice/tmp');
    // A pid that is surely gone: a process that ran and exited.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    }).stdout;
    const deadOne = join(tmp, `sluice-wt-${dead}-0123456789ab`);
    const oldFormat = join(tmp, 'stage-0123456789ab');
    const running = join(tmp, `sluice-wt-${process.pid}-0123456789ab`);
    for (const path of [deadOne, oldFormat, running])
      git(root, 'worktree', 'add', '--detach', '--quiet', path, 'HEAD');
    const ws = await openWorkspace(root);
    const found = await findLeftoverWorktrees(ws);
    assert.deepEqual(
      found
        .map((leftover) => [
          leftover.path.endsWith(`sluice-wt-${dead}-0123456789ab`),
          leftover.pid,
          leftover.exists,
        ])
        .sort(),
      [
        [false, null, true],
        [true, Number(dead), true],
      ],
    );
    assert.equal(stageJson(root).status, 0);
    const listed = git(root, 'worktree', 'list', '--porcelain');
    assert.ok(!listed.includes(deadOne) && !existsSync(deadOne), 'the dead stage’s worktree is gone');
    assert.ok(!listed.includes(oldFormat) && !existsSync(oldFormat));
    assert.ok(existsSync(running), 'a running stage’s worktree is kept');
    assert.deepEqual(await removeLeftoverWorktrees(ws), []);

    // A real one: SIGKILL a stage once its worktree exists (the stage sleeps), and stage again.
    writeFileSync(join(root, 'sluice.yaml'), NESTED.replace('mkdir -p eval', 'sleep 30; mkdir -p eval'));
    commitEverything(root, 'a slow stage');
    const slow = startSluice(['stage'], root);
    const ours = (): string[] =>
      readdirSync(tmp).filter((name) => /^sluice-wt-\d+-/.test(name) && !name.includes(`-${process.pid}-`));
    for (let waited = 0; ours().length === 0 && waited < 200; waited++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    await new Promise((resolve) => setTimeout(resolve, 500));
    slow.crash();
    await slow.done;
    assert.equal(ours().length, 1, 'the killed stage left its worktree');
    assert.equal((await findLeftoverWorktrees(ws)).length, 1);
    // fsck reports it, gc removes it.
    const checked = sluice(['fsck', '--json'], root);
    assert.equal(checked.status, 1, checked.stderr);
    assert.equal(
      (JSON.parse(checked.stdout) as { leftoverWorktrees: unknown[] }).leftoverWorktrees.length,
      1,
    );
    const collected = sluiceJson(['gc', '--json'], root) as { worktrees: string[] };
    assert.equal(collected.worktrees.length, 1);
    assert.deepEqual(ours(), []);
    assert.equal(sluice(['fsck'], root).status, 0);
    writeFileSync(join(root, 'sluice.yaml'), NESTED);
    commitEverything(root, 'fast again');
    assert.equal(stageJson(root).status, 0);
    assert.deepEqual(ours(), []);
    assert.equal((await findLeftoverWorktrees(ws)).length, 0);
  });

  test('5. stage, promote, rollback and snapshot run none of the repository’s hooks, nor its fsmonitor', () => {
    const root = workspace(`version: 1
datasets:
  raw:
    path: raw
pipelines:
  p:
    stages:
      copy:
        run: cp -r raw out
        datasets: [raw]
        outs: [out]
${ENVIRONMENTS}`);
    const markers = join(root, '..', `${root.split('/').pop()!}-markers`);
    made.push(markers);
    const hook = `#!/bin/sh\nmkdir -p ${markers}; touch ${markers}/$(basename "$0")\n`;
    for (const name of ['post-checkout', 'reference-transaction', 'post-index-change', 'pre-commit']) {
      writeFileSync(join(root, '.git/hooks', name), hook);
      chmodSync(join(root, '.git/hooks', name), 0o755);
    }
    writeFileSync(
      join(root, '.git/fsmonitor.sh'),
      `#!/bin/sh\nmkdir -p ${markers}; touch ${markers}/fsmonitor\n`,
    );
    chmodSync(join(root, '.git/fsmonitor.sh'), 0o755);
    git(root, 'config', 'core.fsmonitor', join(root, '.git/fsmonitor.sh'));
    spawnSync('mkdir', ['-p', join(root, 'raw')]);
    writeFileSync(join(root, 'raw/a.txt'), 'a');
    // The test's own git calls above may have run hooks: only Sluice's count.
    spawnSync('rm', ['-rf', markers]);
    sluiceJson(['snapshot'], root);
    assert.equal(stageJson(root).status, 0);
    sluiceJson(['promote', '--yes'], root);
    writeFileSync(join(root, 'raw/a.txt'), 'b');
    sluiceJson(['snapshot'], root);
    assert.equal(stageJson(root).status, 0);
    sluiceJson(['promote', '--yes'], root);
    sluiceJson(['rollback', 'production', '--yes'], root);
    sluiceJson(['status'], root);
    assert.equal(existsSync(markers) ? readdirSync(markers).join(', ') : '', '', 'no hook or fsmonitor ran');
  });

  test('6a. -m/--reason is kept in the history; rollback of production needs confirmation (exit 2)', () => {
    const root = workspace(NESTED);
    assert.equal(stageJson(root, '-m', 'first cut').status, 0);
    const promoted = sluiceJson(['promote', '--yes', '--reason', 'ship it'], root) as { reason: string };
    assert.equal(promoted.reason, 'ship it');
    writeFileSync(join(root, 'note.txt'), 'x');
    commitEverything(root, 'second');
    assert.equal(stageJson(root).status, 0);
    sluiceJson(['promote', '--yes', '-m', 'second'], root);
    const unconfirmed = sluice(['rollback', 'production', '--json'], root);
    assert.equal(unconfirmed.status, 2, unconfirmed.stderr);
    assert.equal((onlyJson(unconfirmed)['error'] as { code: string }).code, 'confirmation-needed');
    const promoteUnconfirmed = sluice(['promote', '--json'], root);
    assert.equal(promoteUnconfirmed.status, 2);
    assert.equal((onlyJson(promoteUnconfirmed)['error'] as { code: string }).code, 'confirmation-needed');
    sluiceJson(['rollback', 'production', '--yes', '-m', 'oops'], root);
    const production = sluiceJson(['history', 'production'], root) as {
      deployments: { action: string; reason: string | null }[];
    };
    assert.deepEqual(
      production.deployments.map((d) => [d.action, d.reason]),
      [
        ['rollback', 'oops'],
        ['promote', 'second'],
        ['promote', 'ship it'],
      ],
    );
    const staging = sluiceJson(['history', 'staging'], root) as { deployments: { reason: string | null }[] };
    assert.equal(staging.deployments.at(-1)!.reason, 'first cut');
    const text = sluice(['history', 'production'], root);
    assert.match(text.stdout, /\(oops\)/);
    // Staging is promoted from: its rollback is not asked about.
    sluiceJson(['rollback', 'staging'], root);
    const nothing = sluice(['rollback', 'staging', '--to', 'ffff', '--json'], root);
    assert.equal(nothing.status, 1);
    assert.equal(onlyJson(nothing)['error'] !== undefined, true);
  });

  test('6b. a re-snapshot of the same bytes is no data change: "nothing changed", and the promotion may go ahead', () => {
    const root = workspace(`version: 1
datasets:
  raw:
    path: raw
pipelines:
  p:
    stages:
      copy:
        run: cp -r raw out
        datasets: [raw]
        outs: [out]
${ENVIRONMENTS}`);
    spawnSync('mkdir', ['-p', join(root, 'raw')]);
    writeFileSync(join(root, 'raw/a.txt'), 'a');
    sluiceJson(['snapshot', '-m', 'one'], root);
    assert.equal(stageJson(root).status, 0);
    sluiceJson(['promote', '--yes'], root);
    writeFileSync(join(root, 'raw/a.txt'), 'changed');
    sluiceJson(['snapshot', '-m', 'two'], root);
    writeFileSync(join(root, 'raw/a.txt'), 'a');
    sluiceJson(['snapshot', '-m', 'three: back to the first bytes'], root);
    assert.equal(stageJson(root).status, 0);
    const plan = sluice(['promote', '--yes'], root);
    assert.equal(plan.status, 0, plan.stderr);
    assert.match(plan.stdout, /nothing changed: the candidate is what production has/);
    assert.doesNotMatch(plan.stdout, /data {2}raw/);
  });

  test('6c. promote/rollback/stage --json print one object on refusal and failure, with error.code', () => {
    const root = workspace(NESTED);
    const nothing = sluice(['promote', '--yes', '--json'], root);
    assert.equal(nothing.status, 1);
    assert.equal((onlyJson(nothing)['error'] as { code: string }).code, 'nothing-live');
    const back = sluice(['rollback', 'staging', '--json'], root);
    assert.equal(back.status, 1);
    assert.equal((onlyJson(back)['error'] as { code: string }).code, 'nothing-to-roll-back');
    writeFileSync(join(root, 'sluice.yaml'), NESTED.replace('echo model > eval/model.txt', 'exit 3'));
    commitEverything(root, 'a failing stage');
    const failed = sluice(['stage', '--json'], root);
    assert.equal(failed.status, 1);
    assert.equal((onlyJson(failed)['error'] as { code: string }).code, 'checks-failed');
  });

  test('6d. current out of line with the history (killed between record and swap) is repaired by the next read', async () => {
    const root = workspace(NESTED);
    const a = releaseOf(stageJson(root).json);
    sluiceJson(['promote', '--yes'], root);
    writeFileSync(join(root, 'note.txt'), 'x');
    commitEverything(root, 'second');
    const b = releaseOf(stageJson(root).json);
    sluiceJson(['promote', '--yes'], root);
    assert.equal(linkedRelease(root, 'production'), b);
    // The state a SIGKILL between recording b and swapping leaves: history b, current a.
    const current = join(root, 'deploy/production/current');
    unlinkSync(current);
    symlinkSync(`releases/${a}`, current);
    const ws = await openWorkspace(root);
    assert.deepEqual(await findMisalignedEnvironments(ws), [
      { environment: 'production', folder: join(root, 'deploy/production'), live: b, linked: a },
    ]);
    // fsck reports it (and, reading no environment, leaves it for a read to repair).
    const checked = sluice(['fsck', '--json'], root);
    assert.equal(checked.status, 1);
    assert.deepEqual(
      (
        JSON.parse(checked.stdout) as { misalignedEnvironments: { environment: string }[] }
      ).misalignedEnvironments.map((env) => env.environment),
      ['production'],
    );
    for (const command of [['envs'], ['history', 'production'], ['status']]) {
      unlinkSync(current);
      symlinkSync(`releases/${a}`, current);
      sluiceJson(command, root);
      assert.equal(readlinkSync(current), `releases/${b}`, command.join(' '));
    }
    assert.deepEqual(await findMisalignedEnvironments(ws), []);
  });
});
