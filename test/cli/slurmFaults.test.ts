// Bad input and faults while `sluice run` hands stages to a real one-node
// Slurm cluster (started here, stopped by pid): no sbatch on PATH, a
// partition that does not exist, more than the node has, a job cancelled by
// someone else, the controller restarted or not answering mid-run. Each is
// one line naming the stage and the next step, with a stable code; the
// records stay consistent (fsck clean) and a re-run finishes what is left,
// running no stage twice.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startSlurm, type SlurmCluster } from '../support/services/slurm';
import {
  assertFsckClean,
  clearVariablesRefusedBySimpleGit,
  git,
  sluice,
  sluiceAsync,
} from '../support/workspace';

clearVariablesRefusedBySimpleGit();

let cluster: SlurmCluster;
const roots: string[] = [];
before(async () => {
  cluster = await startSlurm();
});
after(async () => {
  await cluster.stop();
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

interface RunJson {
  stages: { stage: string; result: string; reason: string | null; code?: string }[];
}

/** prep → train → report on Slurm; `train` gets `trainExtra` lines (resources) and sleeps `seconds`. */
function workspace(trainExtra = '', seconds = 0): string {
  const root = mkdtempSync(join(tmpdir(), 'sluice-slurm-faults-'));
  roots.push(root);
  git(root, 'init', '--quiet');
  const stage = (name: string, deps: string[], extra = '', sleep = 0): string =>
    `      ${name}:\n${extra}` +
    `        run: echo ${name} >> runs.log; sleep ${sleep}; cat ${deps.join(' ') || '/dev/null'} > out/${name}.txt; echo ${name} >> out/${name}.txt\n` +
    `        deps: [${deps.join(', ')}]\n        outs: [out/${name}.txt]\n`;
  writeFileSync(
    join(root, 'sluice.yaml'),
    'version: 1\npipelines:\n  p:\n    executor: slurm\n    stages:\n' +
      stage('prep', []) +
      stage('train', ['out/prep.txt'], trainExtra, seconds) +
      stage('report', ['out/train.txt']),
  );
  mkdirSync(join(root, 'out'));
  return root;
}

function runs(root: string): string[] {
  return existsSync(join(root, 'runs.log'))
    ? readFileSync(join(root, 'runs.log'), 'utf8').trim().split('\n')
    : [];
}

function byStage(stdout: string): Map<string, RunJson['stages'][number]> {
  return new Map((JSON.parse(stdout) as RunJson).stages.map((s) => [s.stage, s]));
}

/** The job id the journal holds for a stage, once it is there. */
async function jobOf(root: string, stage: string): Promise<string> {
  const file = join(root, '.sluice', 'state', 'slurm-jobs.jsonl');
  for (let tries = 0; tries < 200; tries++) {
    if (existsSync(file))
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        const match = new RegExp(`"t":"submitted","entry":\\{"stage":"${stage}","job":"(\\d+)"`).exec(line);
        if (match) return match[1]!;
      }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no job for ${stage}`);
}

async function waitUntilRunning(job: string): Promise<void> {
  for (let tries = 0; tries < 200; tries++) {
    const state = spawnSync('squeue', ['-h', '-j', job, '-o', '%T'], { encoding: 'utf8' }).stdout.trim();
    if (state === 'RUNNING') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`job ${job} never ran`);
}

void describe('faults while running on Slurm', () => {
  void test('no sbatch on PATH: slurm-not-found for the first stage, the others not run, nothing recorded', () => {
    const root = workspace();
    // A PATH with git and a shell, and no Slurm.
    const bin = join(root, '.bin');
    mkdirSync(bin);
    for (const tool of ['git', 'sh'])
      symlinkSync(
        spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim(),
        join(bin, tool),
      );
    const run = sluice(['run', '--json'], root, { ...process.env, PATH: bin });
    assert.equal(run.status, 1, run.stderr);
    const stages = byStage(run.stdout);
    assert.equal(stages.get('prep')?.code, 'slurm-not-found');
    assert.match(stages.get('prep')?.reason ?? '', /`sbatch` is not on PATH.*install the Slurm client/i);
    assert.equal(stages.get('train')?.result, 'not-run');
    assert.deepEqual(runs(root), []);
    const text = sluice(['run'], root, { ...process.env, PATH: bin });
    assert.match(text.stdout, /^failed +p\.prep \(`sbatch` is not on PATH/m);
    assert.doesNotMatch(text.stdout + text.stderr, /^\s+at /m);
    assertFsckClean(root);
  });

  void test('a partition that does not exist, and more CPUs than the node has: refused, naming the stage and what to do', () => {
    for (const [extra, code, words] of [
      [
        '        resources: {partition: nowhere}\n',
        'slurm-bad-partition',
        /no partition 'nowhere' for job 'p\.train'.*sinfo -s/,
      ],
      [
        '        resources: {cpus: 64}\n',
        'slurm-unsatisfiable',
        /(p\.train.*can never|can never.*p\.train).*sinfo -N -l/,
      ],
    ] as const) {
      const root = workspace(extra);
      const run = sluice(['run', '--json'], root);
      assert.equal(run.status, 1, run.stderr);
      const stages = byStage(run.stdout);
      assert.equal(stages.get('prep')?.result, 'ran');
      assert.equal(stages.get('train')?.code, code);
      assert.match(stages.get('train')?.reason ?? '', words);
      assert.equal(stages.get('report')?.result, 'not-run');
      assert.deepEqual(runs(root), ['prep']);
      assertFsckClean(root);
      // Fixed in the manifest, a re-run finishes what is left: prep is not run again.
      writeFileSync(
        join(root, 'sluice.yaml'),
        readFileSync(join(root, 'sluice.yaml'), 'utf8').replace(extra, ''),
      );
      const again = sluice(['run', '--json'], root);
      assert.equal(again.status, 0, again.stderr);
      assert.deepEqual(runs(root), ['prep', 'train', 'report']);
    }
  });

  void test('a job cancelled by someone else: the stage failed "cancelled", its dependants not run; a re-run runs it', async () => {
    const root = workspace('', 30);
    const running = sluiceAsync(['run', '--json'], root);
    const job = await jobOf(root, 'p.train');
    await waitUntilRunning(job);
    assert.equal(spawnSync('scancel', [job]).status, 0);
    const run = await running;
    assert.equal(run.status, 1, run.stderr);
    const stages = byStage(run.stdout);
    assert.match(stages.get('train')?.reason ?? '', new RegExp(`Slurm job ${job}: cancelled`));
    assert.equal(stages.get('report')?.result, 'not-run');
    assertFsckClean(root);
    writeFileSync(
      join(root, 'sluice.yaml'),
      readFileSync(join(root, 'sluice.yaml'), 'utf8').replace('sleep 30', 'sleep 0'),
    );
    const again = sluice(['run', '--json'], root);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(readFileSync(join(root, 'out/report.txt'), 'utf8'), 'prep\ntrain\nreport\n');
  });

  void test('the controller restarted in the middle of a run: the run goes on and finishes', async () => {
    const root = workspace('', 3);
    const running = sluiceAsync(['run', '--json'], root);
    await waitUntilRunning(await jobOf(root, 'p.train'));
    await cluster.restartController();
    const run = await running;
    assert.equal(run.status, 0, run.stderr);
    assert.ok([...byStage(run.stdout).values()].every((s) => s.result === 'ran'));
    assert.deepEqual(runs(root), ['prep', 'train', 'report']);
    assertFsckClean(root);
  });

  void test('a controller that stops answering: each waiting stage says so; the jobs stay queued and a re-run records them', async () => {
    const root = workspace('', 2);
    const env = { ...process.env, SLUICE_SLURM_PATIENCE: '2', SLUICE_SLURM_TIMEOUT: '2' };
    const running = sluiceAsync(['run', '--json'], root, env);
    await waitUntilRunning(await jobOf(root, 'p.train'));
    await jobOf(root, 'p.report');
    cluster.pauseController();
    let run;
    try {
      run = await running;
    } finally {
      cluster.resumeController();
    }
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /did not answer `squeue` within 2 s\. Asking again for up to 2 s/);
    const stages = byStage(run.stdout);
    for (const name of ['train', 'report']) {
      assert.equal(stages.get(name)?.code, 'slurm-unreachable', name);
      assert.match(stages.get(name)?.reason ?? '', /scontrol ping.*then run again/);
    }
    assertFsckClean(root);
    // The jobs ran on while nobody listened: the next run records them, running nothing again.
    const again = sluice(['run', '--json'], root);
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(
      [...byStage(again.stdout).values()].map((s) => `${s.stage}:${s.result}`),
      ['prep:skipped', 'train:ran', 'report:ran'],
    );
    assert.deepEqual(runs(root), ['prep', 'train', 'report']);
    assertFsckClean(root);
  });
});
