// `sluice run` on a real one-node Slurm cluster (started here, stopped by
// pid): every stale stage is submitted at once, held by afterok on its
// upstream jobs; ended jobs are recorded exactly as local runs; a failed job
// leaves its dependants not run; the run cache and status behave as locally.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startSlurm, type SlurmCluster } from '../support/services/slurm';
import { clearVariablesRefusedBySimpleGit, git, sluice, sluiceAsync } from '../support/workspace';

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
  stages: { stage: string; result: string; reason: string | null }[];
}

/**
 * A chain prep → a, b, c (a fan-out) → join; each stage appends "NAME START END"
 * (epoch ns) to trace.log inside the workspace, so order is read from times.
 */
function workspace(executorLine: string, failing = ''): string {
  const root = mkdtempSync(join(tmpdir(), 'sluice-slurm-run-'));
  roots.push(root);
  git(root, 'init', '--quiet');
  const stage = (name: string, deps: string[]): string =>
    `      ${name}:\n        run: s=$(date +%s%N); sleep 0.2; ${failing === name ? 'exit 3; ' : ''}cat ${deps.join(' ') || '/dev/null'} > out/${name}.txt; echo ${name} >> out/${name}.txt; echo "${name} $s $(date +%s%N)" >> trace.log\n        deps: [${deps.join(', ')}]\n        outs: [out/${name}.txt]\n`;
  writeFileSync(
    join(root, 'sluice.yaml'),
    `version: 1\npipelines:\n  p:\n${executorLine}    stages:\n` +
      stage('prep', []) +
      ['a', 'b', 'c'].map((name) => stage(name, ['out/prep.txt'])).join('') +
      stage('join', ['out/a.txt', 'out/b.txt', 'out/c.txt']),
  );
  mkdirSync(join(root, 'out'));
  return root;
}

function trace(root: string): Map<string, { start: bigint; end: bigint }> {
  const spans = new Map<string, { start: bigint; end: bigint }>();
  if (!existsSync(join(root, 'trace.log'))) return spans;
  for (const line of readFileSync(join(root, 'trace.log'), 'utf8').trim().split('\n')) {
    const [name, start, end] = line.split(' ');
    spans.set(name!, { start: BigInt(start!), end: BigInt(end!) });
  }
  return spans;
}

void describe('run on Slurm', () => {
  void test('every stale stage is submitted at once and runs after its upstream; a re-run is up to date', async () => {
    const root = workspace('    executor: slurm\n');
    const run = await sluiceAsync(['run', '--json'], root);
    assert.equal(run.status, 0, run.stderr + run.stdout);
    const report = JSON.parse(run.stdout) as RunJson;
    assert.deepEqual(
      report.stages.map((s) => `${s.stage}:${s.result}`),
      ['prep:ran', 'a:ran', 'b:ran', 'c:ran', 'join:ran'],
    );
    // Submitted at once: every job id is printed before the first stage ends.
    const submitted = run.stderr.split('\n').filter((line) => line.includes('Slurm job'));
    assert.equal(submitted.length, 5, run.stderr);
    const spans = trace(root);
    for (const name of ['a', 'b', 'c']) assert.ok(spans.get(name)!.start >= spans.get('prep')!.end, name);
    for (const name of ['a', 'b', 'c']) assert.ok(spans.get('join')!.start >= spans.get(name)!.end, name);
    assert.equal(readFileSync(join(root, 'out/join.txt'), 'utf8'), 'prep\na\nprep\nb\nprep\nc\njoin\n');
    // Recorded exactly as a local run: up to date, logs kept, nothing runs again.
    assert.match(sluice(['status'], root).stdout, /up-to-date join/);
    assert.match(sluice(['logs', 'p.prep'], root).stdout, /exit code 0|completed|0/);
    rmSync(join(root, 'trace.log'));
    const again = JSON.parse(sluice(['run', '--json'], root).stdout) as RunJson;
    assert.ok(again.stages.every((s) => s.result === 'skipped'));
    assert.equal(trace(root).size, 0);
    // A removed output comes back from the run cache, with no job.
    rmSync(join(root, 'out/b.txt'));
    const restored = sluice(['run', '--json'], root);
    assert.ok(!restored.stderr.includes('Slurm job'), restored.stderr);
    assert.equal(
      (JSON.parse(restored.stdout) as RunJson).stages.find((s) => s.stage === 'b')?.result,
      'restored',
    );
  });

  void test('a failed job says how it ended, and its dependants are not run', async () => {
    const root = workspace('    executor: slurm\n', 'b');
    const run = await sluiceAsync(['run', '--json'], root);
    assert.equal(run.status, 1);
    const report = JSON.parse(run.stdout) as RunJson;
    const byName = new Map(report.stages.map((s) => [s.stage, s]));
    assert.equal(byName.get('b')?.result, 'failed');
    assert.match(byName.get('b')?.reason ?? '', /Slurm job \d+: exit code 3/);
    assert.equal(byName.get('join')?.result, 'not-run');
    assert.match(byName.get('join')?.reason ?? '', /upstream stage b failed/);
    assert.equal(byName.get('a')?.result, 'ran');
    assert.equal(trace(root).has('join'), false);
  });

  void test('--executor local runs the same manifest here; --executor slurm sends a local one to the cluster', () => {
    const root = workspace('    executor: slurm\n');
    const local = sluice(['run', '--executor', 'local', '--json'], root);
    assert.equal(local.status, 0, local.stderr);
    assert.ok(!local.stderr.includes('Slurm job'));
    const other = workspace('');
    const remote = sluice(['run', '--executor', 'slurm', 'p.prep', '--json'], other);
    assert.equal(remote.status, 0, remote.stderr);
    assert.match(remote.stderr, /Slurm job \d+/);
    const bad = sluice(['run', '--executor', 'kubernetes', '--json'], other);
    assert.equal(bad.status, 2);
    assert.equal((JSON.parse(bad.stdout) as { error: { code: string } }).error.code, 'bad-executor');
  });
  void test('exp run --executor slurm runs each experiment of the grid as Slurm jobs', () => {
    const root = mkdtempSync(join(tmpdir(), 'sluice-slurm-exp-'));
    roots.push(root);
    git(root, 'init', '--quiet');
    writeFileSync(join(root, 'params.yaml'), 'lr: 0.1\n');
    // The metric says where the command ran: 1 inside a Slurm job, 0 here.
    writeFileSync(
      join(root, 'fit.sh'),
      'if [ -n "$SLURM_JOB_ID" ]; then n=1; else n=0; fi\necho "{\\"slurm\\": $n}" > metrics.json\n',
    );
    writeFileSync(
      join(root, 'sluice.yaml'),
      'version: 1\nparams: params.yaml\npipelines:\n  p:\n    stages:\n      fit:\n        run: sh fit.sh\n' +
        '        deps: [fit.sh]\n        params: [lr]\n        metrics: [metrics.json]\n',
    );
    git(root, 'add', '.');
    git(root, '-c', 'user.name=Test', '-c', 'user.email=test@example.com', 'commit', '--quiet', '-m', 'fit');
    const run = sluice(['exp', 'run', '--executor', 'slurm', '--set', 'lr=0.2,0.3', '--json'], root);
    assert.equal(run.status, 0, run.stderr + run.stdout);
    const shown = JSON.parse(sluice(['exp', 'show', '--json'], root).stdout) as {
      experiments: { params: Record<string, unknown>; metrics: Record<string, number> }[];
    };
    const onSlurm = shown.experiments.filter((row) => row.metrics['metrics.json#slurm'] === 1);
    assert.deepEqual(onSlurm.map((row) => row.params['lr']).sort(), [0.2, 0.3], JSON.stringify(shown));
  });
});
