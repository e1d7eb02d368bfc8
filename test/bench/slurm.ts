// The Slurm benchmark (run stages on a Slurm cluster), on the one-node
// cluster of test/support/services/slurm.ts with Slurm's default MinJobAge
// (300 s), so the controller remembers every job of a run:
//
// 1. Call latency: each Slurm command a run uses, spawned and timed spawn to
//    exit, `--calls` times (20), median and 90th percentile: sbatch of a held
//    job, squeue of one job and of 200, scontrol show job, sinfo, scancel;
//    then the same through SlurmClient (submit, jobStates of 1 and of 200
//    ids, cancel), which adds its wrapper, parsing and fallbacks.
// 2. The peer: test/bench/slurm/peer.sh, a shell script that submits a
//    200-job chain and fan-out with plain `sbatch --dependency` and waits for
//    the last job, `--runs` times (3), each in a fresh folder; wall time from
//    spawn to exit, median.
// 3. The runner, in the same runs, interleaved with the peer: `sluice run`
//    of a manifest with the same graph (one stage per job, `needs` for each
//    dependency, `executor: slurm`), spawn to exit, with the CLI's CPU time
//    and its peak RSS read from /proc while it runs. Its overhead per stage:
//    (its wall time - the peer's) / stages, and its CPU time / stages.
// 4. `--big N` (1000): one more pair, peer and runner, on N stages (a chain
//    of `--chain` and a fan-out of the rest), to see the wall time and that
//    the runner's memory does not grow with the number of stages.
//
// 5. `--memory 200,1000,3000`: the heap the runner keeps, in this process
//    after a forced GC, once it has run the same graph at each size with the
//    local executor (what stays is what stays for Slurm too: the poller and
//    the journal drop a job's entry when it is recorded). No cluster needed:
//    `--runs 0 --calls 0 --memory …` measures only this.
//
//   npm run bench:slurm -- [--calls 20] [--runs 3] [--chain 20] [--fan 179]
//                          [--big 1000] [--scheduler default|fast] [--memory 200,1000]
//
// `--scheduler fast` sets SchedulerParameters=batch_sched_delay=0, which a
// site tuned for many short jobs sets: Slurm's default waits 3 s between
// scheduling passes, which makes a 200-job run take about 5 minutes.
//
// Needs root and slurm-wlm with munge (.ci/run installs them). Results go to
// out/bench-slurm.json.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { openPipelines } from '../../src/core/pipelines/context';
import { runPipelines } from '../../src/core/pipelines/runner';
import { SlurmClient } from '../../src/core/process/slurm';
import { openWorkspace } from '../../src/core/workspace';
import { startSlurm } from '../support/services/slurm';

const repoRoot = resolve(__dirname, '..', '..', '..');
const peer = join(repoRoot, 'test', 'bench', 'slurm', 'peer.sh');
const resultsPath = join(repoRoot, 'out', 'bench-slurm.json');

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '20' },
    runs: { type: 'string', default: '3' },
    chain: { type: 'string', default: '20' },
    fan: { type: 'string', default: '179' },
    big: { type: 'string', default: '0' },
    scheduler: { type: 'string', default: 'default' },
    memory: { type: 'string', default: '' },
  },
});
const cli = join(repoRoot, 'dist', 'cli.js');
const calls = Number(values.calls);
const runs = Number(values.runs);

function median(numbers: readonly number[]): number {
  return quantile(numbers, 0.5);
}

function quantile(numbers: readonly number[], q: number): number {
  const sorted = [...numbers].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  return sorted[low]! + (sorted[Math.ceil(at)]! - sorted[low]!) * (at - low);
}

/** Runs a command, checks it succeeded, returns its stdout and the milliseconds from spawn to exit. */
function timed(argv: readonly string[]): { ms: number; stdout: string } {
  const started = performance.now();
  const result = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', maxBuffer: 1 << 26 });
  const ms = performance.now() - started;
  if (result.status !== 0)
    throw new Error(`${argv.join(' ')} failed: ${result.stderr || String(result.error)}`);
  return { ms, stdout: result.stdout };
}

async function timedAsync<T>(call: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await call();
  return { ms: performance.now() - started, value };
}

interface Latency {
  readonly name: string;
  readonly medianMs: number;
  readonly p90Ms: number;
  readonly samplesMs: readonly number[];
}

function latency(name: string, samples: readonly number[]): Latency {
  return { name, medianMs: median(samples), p90Ms: quantile(samples, 0.9), samplesMs: samples };
}

async function main(): Promise<void> {
  const memorySizes = values.memory === '' ? [] : values.memory.split(',').map(Number);
  const retained = [];
  for (const stages of memorySizes) {
    const kept = await retainedHeap(stages);
    retained.push(kept);
    console.log(
      `local run of ${stages} stages in-process: heap kept ${kept.keptMiB.toFixed(1)} MiB ` +
        `(${kept.perStageKiB.toFixed(1)} KiB a stage), RSS ${kept.rssMiB.toFixed(0)} MiB`,
    );
  }
  if (runs === 0 && calls === 0 && Number(values.big) === 0) {
    mkdirSync(dirname(resultsPath), { recursive: true });
    writeFileSync(resultsPath, `${JSON.stringify({ retained }, null, 2)}\n`);
    return;
  }
  const cluster = await startSlurm({
    minJobAgeSeconds: 300,
    ...(values.scheduler === 'fast' ? { schedulerParameters: 'batch_sched_delay=0' } : {}),
  });
  const work = mkdtempSync(join(tmpdir(), 'sluice-bench-slurm-'));
  try {
    // Held jobs: they stay pending, so every command sees the same queue and nothing runs meanwhile.
    const sbatchHeld = (name: string): string[] => [
      'sbatch',
      '--parsable',
      '--hold',
      `--job-name=${name}`,
      `--output=${join(work, 'held.out')}`,
      '--wrap',
      'true',
    ];
    timed(sbatchHeld('warm')); // the first call loads plugins and warms caches
    const held: string[] = [];
    const samples: Record<string, number[]> = {};
    const add = (name: string, ms: number): void => {
      (samples[name] ??= []).push(ms);
    };
    for (let call = 0; call < (calls > 0 ? 200 : 0); call++)
      held.push(timed(sbatchHeld(`held-${call}`)).stdout.trim());
    const one = held[0]!;
    for (let call = 0; call < calls; call++) {
      const submitted = timed(sbatchHeld(`timed-${call}`));
      add('sbatch --parsable --hold --wrap', submitted.ms);
      add('squeue -j ID (1 job)', timed(['squeue', '-h', '-t', 'all', '-j', one, '-o', '%i %T %r']).ms);
      add(
        'squeue -j ID,… (200 jobs)',
        timed(['squeue', '-h', '-t', 'all', '-j', held.join(','), '-o', '%i %T %r']).ms,
      );
      add('scontrol show job -o ID', timed(['scontrol', 'show', 'job', '-o', one]).ms);
      add('sinfo -h -o %t', timed(['sinfo', '-h', '-o', '%t']).ms);
      add('scancel ID', timed(['scancel', submitted.stdout.trim()]).ms);
    }
    const client = new SlurmClient();
    for (let call = 0; call < calls; call++) {
      const submitted = await timedAsync(() =>
        client.submit({
          name: `client-${call}`,
          chdir: work,
          outputFile: join(work, 'client', `${call}.out`),
          command: 'true',
          resources: { extra: ['--hold'] },
        }),
      );
      add('SlurmClient.submit', submitted.ms);
      add('SlurmClient.jobStates (1 job)', (await timedAsync(() => client.jobStates([one]))).ms);
      add('SlurmClient.jobStates (200 jobs)', (await timedAsync(() => client.jobStates(held))).ms);
      add('SlurmClient.cancel (1 job)', (await timedAsync(() => client.cancel([submitted.value]))).ms);
    }
    if (held.length > 0) timed(['scancel', ...held]);
    const latencies = Object.entries(samples).map(([name, ms]) => latency(name, ms));

    const chain = Number(values.chain);
    const fan = Number(values.fan);
    const walls: number[] = [];
    const runner: RunnerRun[] = [];
    for (let run = 0; run < runs; run++) {
      const folder = join(work, `peer-${run}`);
      mkdirSync(folder);
      const result = timed(['sh', peer, folder, values.chain, values.fan]);
      walls.push(result.ms);
      console.log(
        `peer run ${run + 1}: ${(result.ms / 1000).toFixed(1)} s (last job ${result.stdout.trim()})`,
      );
      const ours = await sluiceRun(join(work, `sluice-${run}`), chain, fan);
      runner.push(ours);
      console.log(`sluice run ${run + 1}: ${describeRun(ours)}`);
    }
    const big = Number(values.big);
    let bigPair: { peerMs: number; runner: RunnerRun } | undefined;
    if (big > 0) {
      const folder = join(work, 'peer-big');
      mkdirSync(folder);
      const peerMs = timed(['sh', peer, folder, values.chain, String(big - chain - 1)]).ms;
      console.log(`peer, ${big} jobs: ${(peerMs / 1000).toFixed(1)} s`);
      const ours = await sluiceRun(join(work, 'sluice-big'), chain, big - chain - 1);
      console.log(`sluice, ${big} stages: ${describeRun(ours)}`);
      bigPair = { peerMs, runner: ours };
    }

    console.log(`\nSlurm call latency, ${calls} calls each (ms):`);
    console.log('| call | median | p90 |\n|---|---:|---:|');
    for (const entry of latencies)
      console.log(`| ${entry.name} | ${entry.medianMs.toFixed(1)} | ${entry.p90Ms.toFixed(1)} |`);
    const jobs = chain + fan + 1;
    const runnerWalls = runner.map((run) => run.ms);
    const ratios = runner.map((run, index) => run.ms / walls[index]!);
    const seconds = (list: readonly number[]): string => list.map((ms) => (ms / 1000).toFixed(1)).join(', ');
    console.log(
      `\nPeer (${jobs} jobs: chain ${chain}, fan-out ${fan}, join 1; scheduler ${values.scheduler}), ${runs} runs: ` +
        `median ${(median(walls) / 1000).toFixed(1)} s (${seconds(walls)})`,
    );
    if (runs > 0) {
      console.log(
        `Sluice: median ${(median(runnerWalls) / 1000).toFixed(1)} s (${seconds(runnerWalls)}); ` +
          `ratio per pair ${ratios.map((r) => r.toFixed(2)).join(', ')}, median ${median(ratios).toFixed(2)}`,
      );
      console.log(
        `Sluice per stage: wall over the peer ${((median(runnerWalls) - median(walls)) / jobs).toFixed(1)} ms, ` +
          `CPU ${(median(runner.map((run) => run.cpuMs)) / jobs).toFixed(1)} ms; peak RSS ${median(runner.map((run) => run.maxRssMiB)).toFixed(0)} MiB`,
      );
    }
    mkdirSync(dirname(resultsPath), { recursive: true });
    writeFileSync(
      resultsPath,
      `${JSON.stringify(
        {
          node: { cpus: cluster.cpus, memoryMiB: cluster.memoryMiB },
          calls,
          latencies,
          scheduler: values.scheduler,
          peer: { jobs, chain, fan, runs, wallMs: walls, medianMs: walls.length > 0 ? median(walls) : null },
          runner,
          big: bigPair ?? null,
          retained,
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    await cluster.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** Runs the chain-and-fan graph of `stages` locally in this process; the heap it keeps, measured after a GC each side. */
async function retainedHeap(
  stages: number,
): Promise<{ stages: number; keptMiB: number; perStageKiB: number; rssMiB: number }> {
  const folder = mkdtempSync(join(tmpdir(), 'sluice-bench-memory-'));
  try {
    const chain = Math.min(20, stages - 2);
    writeFileSync(
      join(folder, 'sluice.yaml'),
      benchManifest(chain, stages - chain - 1).replace('executor: slurm', 'executor: local'),
    );
    spawnSync('git', ['init', '--quiet'], { cwd: folder });
    const context = openPipelines(await openWorkspace(folder));
    collectGarbage();
    const before = process.memoryUsage().heapUsed;
    const report = await runPipelines(context, { jobs: 2 });
    collectGarbage();
    const kept = process.memoryUsage().heapUsed - before;
    if (report.stages.some((stage) => stage.result !== 'ran'))
      throw new Error('the local run did not run every stage');
    return {
      stages,
      keptMiB: kept / 2 ** 20,
      perStageKiB: kept / 1024 / stages,
      rssMiB: process.memoryUsage().rss / 2 ** 20,
    };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** A full garbage collection, without needing node to be started with --expose-gc. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

interface RunnerRun {
  readonly ms: number;
  /** The CLI's user + system CPU time, as /proc last said before it exited. */
  readonly cpuMs: number;
  /** Its peak resident memory (VmHWM). */
  readonly maxRssMiB: number;
}

function describeRun(run: RunnerRun): string {
  return `${(run.ms / 1000).toFixed(1)} s, CPU ${(run.cpuMs / 1000).toFixed(1)} s, peak RSS ${run.maxRssMiB.toFixed(0)} MiB`;
}

/** The peer's graph as a Sluice manifest: a stage per job, `needs` per dependency, each echoing as the job does. */
function benchManifest(chain: number, fan: number): string {
  const lines = ['version: 1', 'pipelines:', '  bench:', '    executor: slurm', '    stages:'];
  const stage = (name: string, needs: readonly string[]): void => {
    lines.push(`      ${name}:`, `        run: echo ${name} done`);
    if (needs.length > 0) lines.push(`        needs: [${needs.join(', ')}]`);
  };
  for (let i = 1; i <= chain; i++) stage(`chain-${i}`, i === 1 ? [] : [`chain-${i - 1}`]);
  const fanned = Array.from({ length: fan }, (_, i) => `fan-${i + 1}`);
  for (const name of fanned) stage(name, chain > 0 ? [`chain-${chain}`] : []);
  stage('join', fanned);
  return `${lines.join('\n')}\n`;
}

/** `sluice run` of the graph in a fresh git workspace: wall time, and CPU and peak memory from /proc. */
async function sluiceRun(folder: string, chain: number, fan: number): Promise<RunnerRun> {
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'sluice.yaml'), benchManifest(chain, fan));
  spawnSync('git', ['init', '--quiet'], { cwd: folder });
  const started = performance.now();
  const child = spawn(process.execPath, [cli, 'run', '--json'], {
    cwd: folder,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  let cpuMs = 0;
  let maxRssKiB = 0;
  const sample = (): void => {
    try {
      const status = readFileSync(`/proc/${child.pid!}/status`, 'utf8');
      maxRssKiB = Math.max(maxRssKiB, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
      // utime and stime, fields 14 and 15 of stat, in clock ticks (100 a second on Linux).
      const fields = readFileSync(`/proc/${child.pid!}/stat`, 'utf8').split(') ')[1]!.split(' ');
      cpuMs = Math.max(cpuMs, (Number(fields[11]) + Number(fields[12])) * 10);
    } catch {
      // Gone between two samples: the last one stands.
    }
  };
  const timer = setInterval(sample, 50);
  const status = await new Promise<number | null>((resolvePromise) => child.once('close', resolvePromise));
  clearInterval(timer);
  const ms = performance.now() - started;
  const report = JSON.parse(stdout || '{}') as { stages?: { result: string }[] };
  const ran = report.stages?.filter((stage) => stage.result === 'ran').length ?? 0;
  if (status !== 0 || ran !== chain + fan + 1)
    throw new Error(`sluice run failed (exit ${String(status)}, ${ran} ran): ${stderr.slice(-2000)}`);
  return { ms, cpuMs, maxRssMiB: maxRssKiB / 1024 };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
