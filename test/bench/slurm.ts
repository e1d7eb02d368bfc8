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
//    spawn to exit, median. Sluice's runner must later be within 1.3x of it
//    on the same pipeline.
//
//   npm run bench:slurm -- [--calls 20] [--runs 3] [--chain 20] [--fan 179]
//
// Needs root and slurm-wlm with munge (.ci/run installs them). Results go to
// out/bench-slurm.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { SlurmClient } from '../../src/core/process/slurm';
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
  },
});
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
  const cluster = await startSlurm({ minJobAgeSeconds: 300 });
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
    for (let call = 0; call < 200; call++) held.push(timed(sbatchHeld(`held-${call}`)).stdout.trim());
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
    timed(['scancel', ...held]);
    const latencies = Object.entries(samples).map(([name, ms]) => latency(name, ms));

    const walls: number[] = [];
    for (let run = 0; run < runs; run++) {
      const folder = join(work, `peer-${run}`);
      mkdirSync(folder);
      const result = timed(['sh', peer, folder, values.chain, values.fan]);
      walls.push(result.ms);
      console.log(
        `peer run ${run + 1}: ${(result.ms / 1000).toFixed(1)} s (last job ${result.stdout.trim()})`,
      );
    }

    console.log(`\nSlurm call latency, ${calls} calls each (ms):`);
    console.log('| call | median | p90 |\n|---|---:|---:|');
    for (const entry of latencies)
      console.log(`| ${entry.name} | ${entry.medianMs.toFixed(1)} | ${entry.p90Ms.toFixed(1)} |`);
    const jobs = Number(values.chain) + Number(values.fan) + 1;
    console.log(
      `\nPeer (${jobs} jobs: chain ${values.chain}, fan-out ${values.fan}, join 1), ${runs} runs: ` +
        `median ${(median(walls) / 1000).toFixed(1)} s (${walls.map((ms) => (ms / 1000).toFixed(1)).join(', ')})`,
    );
    mkdirSync(dirname(resultsPath), { recursive: true });
    writeFileSync(
      resultsPath,
      `${JSON.stringify(
        {
          node: { cpus: cluster.cpus, memoryMiB: cluster.memoryMiB },
          calls,
          latencies,
          peer: {
            jobs,
            chain: Number(values.chain),
            fan: Number(values.fan),
            runs,
            wallMs: walls,
            medianMs: median(walls),
          },
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

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
