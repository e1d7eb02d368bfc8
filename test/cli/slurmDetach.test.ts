// Detach and come back, on a real one-node Slurm cluster (started here,
// stopped by pid): `run --detach` returns with the jobs queued, `status`
// shows each job's state, `run --attach` (or any later run) records them;
// a stage with a job in the queue is never submitted again, whether the run
// that submitted it detached, was killed, or is followed by another run.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  startSluice,
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
  stages: { stage: string; result: string; reason: string | null; data?: { job?: string } }[];
  summary: { queued: number };
  experiment?: { id: string } | null;
}

interface StatusJson {
  stages: { stage: string; state: string; job?: { id: string; state: string | null; description: string } }[];
}

/**
 * prep → train → report, each appending its name to runs.log when it runs
 * (so a stage run twice shows twice); `report` runs where `reportExecutor`
 * says. `seconds`: how long prep and train take.
 */
function workspace(options: { seconds?: number; reportExecutor?: 'slurm' | 'local' } = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'sluice-slurm-detach-'));
  roots.push(root);
  git(root, 'init', '--quiet');
  const seconds = options.seconds ?? 1;
  const stage = (name: string, deps: string[], executor?: string): string =>
    `      ${name}:\n` +
    (executor === undefined ? '' : `        executor: ${executor}\n`) +
    `        run: echo ${name} | tee -a runs.log; sleep ${seconds}; cat ${deps.join(' ') || '/dev/null'} > out/${name}.txt; echo ${name} >> out/${name}.txt\n` +
    `        deps: [${deps.join(', ')}]\n        outs: [out/${name}.txt]\n`;
  writeFileSync(
    join(root, 'sluice.yaml'),
    'version: 1\npipelines:\n  p:\n    executor: slurm\n    stages:\n' +
      stage('prep', []) +
      stage('train', ['out/prep.txt']) +
      stage('report', ['out/train.txt'], options.reportExecutor),
  );
  mkdirSync(join(root, 'out'));
  return root;
}

function runs(root: string): string[] {
  return existsSync(join(root, 'runs.log'))
    ? readFileSync(join(root, 'runs.log'), 'utf8').trim().split('\n')
    : [];
}

function journal(root: string): string {
  return join(root, '.sluice', 'state', 'slurm-jobs.jsonl');
}

function jobsOf(run: RunJson): Map<string, string> {
  return new Map(run.stages.flatMap((s) => (s.data?.job === undefined ? [] : [[s.stage, s.data.job]])));
}

void describe('run --detach and --attach', () => {
  void test('detach returns with every stage queued; status shows the jobs; attach records them once', () => {
    const root = workspace({ seconds: 2 });
    const started = performance.now();
    const detached = sluice(['run', '--detach', '--json'], root);
    const detachMs = performance.now() - started;
    assert.equal(detached.status, 0, detached.stderr);
    const report = JSON.parse(detached.stdout) as RunJson;
    assert.deepEqual(
      report.stages.map((s) => `${s.stage}:${s.result}`),
      ['prep:queued', 'train:queued', 'report:queued'],
    );
    assert.equal(report.summary.queued, 3);
    assert.equal(report.experiment ?? null, null, 'a detached run leaves no record: the attach does');
    // Returned long before the jobs could end (three 2 s stages in a chain).
    assert.ok(detachMs < 6000, `detach took ${Math.round(detachMs)} ms`);
    const jobs = jobsOf(report);
    assert.equal(jobs.size, 3);

    // status: each stage names its job and Slurm's state.
    const status = JSON.parse(sluice(['status', '--json'], root).stdout) as StatusJson;
    for (const stage of status.stages) {
      assert.equal(stage.job?.id, jobs.get(stage.stage), stage.stage);
      assert.ok(
        ['PENDING', 'RUNNING', 'COMPLETED', 'CONFIGURING', 'COMPLETING'].includes(stage.job?.state ?? ''),
        JSON.stringify(stage.job),
      );
    }
    const text = sluice(['status'], root).stdout;
    assert.match(text, new RegExp(`Slurm job ${jobs.get('report')!}: pending \\(Dependency\\)`));

    // A second detached run while they are queued submits nothing: the same jobs are named.
    const again = JSON.parse(sluice(['run', '--detach', '--json'], root).stdout) as RunJson;
    assert.deepEqual(jobsOf(again), jobs);
    assert.equal(
      readFileSync(journal(root), 'utf8')
        .split('\n')
        .filter((line) => line.includes('"t":"submitted"')).length,
      3,
    );

    const attached = sluice(['run', '--attach', '--json'], root);
    assert.equal(attached.status, 0, attached.stderr);
    const done = JSON.parse(attached.stdout) as RunJson;
    assert.deepEqual(
      done.stages.map((s) => `${s.stage}:${s.result}`),
      ['prep:ran', 'train:ran', 'report:ran'],
    );
    assert.ok(done.experiment?.id, 'the attach leaves the experiment record');
    assert.deepEqual(runs(root), ['prep', 'train', 'report'], 'each stage ran once');
    assert.equal(readFileSync(join(root, 'out/report.txt'), 'utf8'), 'prep\ntrain\nreport\n');
    assert.equal(existsSync(journal(root)), false, 'nothing left open');
    const after = JSON.parse(sluice(['status', '--json'], root).stdout) as StatusJson;
    assert.ok(after.stages.every((s) => s.state === 'up-to-date' && s.job === undefined));
    assert.match(sluice(['logs', 'p.train'], root).stdout, /train/);
    assertFsckClean(root);
    // Nothing left to attach to: said in one line, nothing runs.
    const nothing = sluice(['run', '--attach'], root);
    assert.equal(nothing.status, 0);
    assert.match(nothing.stdout, /No Slurm jobs of this workspace/);
  });

  void test('a local stage after a detached Slurm stage waits for the attach, which runs it', () => {
    const root = workspace({ reportExecutor: 'local' });
    const detached = JSON.parse(sluice(['run', '--detach', '--json'], root).stdout) as RunJson;
    const report = detached.stages.find((s) => s.stage === 'report')!;
    assert.equal(report.result, 'not-run');
    assert.match(report.reason ?? '', /upstream stage train is queued on Slurm: `sluice run --attach`/);
    // A plain run attaches as well.
    const done = JSON.parse(sluice(['run', '--json'], root).stdout) as RunJson;
    assert.deepEqual(
      done.stages.map((s) => `${s.stage}:${s.result}`),
      ['prep:ran', 'train:ran', 'report:ran'],
    );
    assert.deepEqual(runs(root), ['prep', 'train', 'report']);
  });

  void test('a run killed while its jobs are queued: the next run follows them and submits nothing again', async () => {
    const root = workspace({ seconds: 2 });
    const first = startSluice(['run'], root);
    // Killed once every job is in the queue (each printed as submitted).
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (
        existsSync(journal(root)) &&
        readFileSync(journal(root), 'utf8').split('"t":"submitted"').length - 1 === 3
      )
        break;
      assert.ok(Date.now() < deadline, 'the jobs were never all submitted');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    first.crash();
    await first.done;
    const next = await sluiceAsync(['run', '--json'], root);
    assert.equal(next.status, 0, next.stderr);
    assert.deepEqual(
      (JSON.parse(next.stdout) as RunJson).stages.map((s) => `${s.stage}:${s.result}`),
      ['prep:ran', 'train:ran', 'report:ran'],
    );
    assert.deepEqual(runs(root), ['prep', 'train', 'report'], 'each stage ran once');
    assert.equal(existsSync(journal(root)), false);
    assertFsckClean(root);
  });

  void test('a stage edited while its job waits: the job is cancelled, not recorded, and the stage runs as it is now', () => {
    const root = workspace({ seconds: 3 });
    const detached = JSON.parse(sluice(['run', '--detach', '--json'], root).stdout) as RunJson;
    const old = jobsOf(detached).get('report')!;
    const manifest = join(root, 'sluice.yaml');
    writeFileSync(
      manifest,
      readFileSync(manifest, 'utf8').replace(
        'echo report >> out/report.txt',
        'echo REPORT >> out/report.txt',
      ),
    );
    const done = sluice(['run', '--json'], root);
    assert.equal(done.status, 0, done.stderr);
    assert.match(
      done.stderr,
      new RegExp(`Slurm job ${old} of stage p.report is not recorded \\(the stage changed in sluice.yaml`),
    );
    assert.equal(readFileSync(join(root, 'out/report.txt'), 'utf8'), 'prep\ntrain\nREPORT\n');
    assert.deepEqual(runs(root), ['prep', 'train', 'report'], 'the old job never ran');
    assertFsckClean(root);
  });
});
