// The issue-19 benchmark: what one `sluice monitor ENV --once` costs beyond its
// checks' own run time (start-up, reading the live release, reading and
// appending the health history), and whether a monitor process's memory stays
// flat over 1,000 runs.
//
//   npm run bench:monitor -- [--runs 15] [--cycles 1000] [--dir DIR] [--baseline DIST]
//
// `--baseline DIST` also times another build's `cli.js` (say the branch point's,
// built into DIST) in the same runs, on a workspace of its own set up the same
// way, so the two are compared under the same load. Each build's git processes
// in one `--once` are counted too (git on PATH replaced by a script that logs
// each call and runs the real one).
// A fresh git repository (in --dir, default $TMPDIR) with one staged release
// live in `staging`, whose monitor has two command checks (one writes a JSON
// file) and a metric rule on that file. Timed, alternating, each a child
// process from spawn to exit: `sluice monitor staging --once`, and the peer,
// the same two commands run by plain `sh -c` one after the other (what the
// checks cost by themselves). The overhead is the difference of the medians.
// Then the monitor's loop runs `--cycles` times in this process with no wait
// between runs (the engine's `watchEnvironments`, which `sluice monitor` runs),
// with the heap after a full GC sampled every tenth of the way; and the
// `--once` timing is taken again with that long a history behind it.
// Results go to out/bench-monitor.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { watchEnvironments } from '../../src/core/environments/monitor';
import { openWorkspace } from '../../src/core/workspace';

const repoRoot = resolve(__dirname, '..', '..', '..');
const cli = join(repoRoot, 'dist', 'cli.js');
const resultsPath = join(repoRoot, 'out', 'bench-monitor.json');

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '15' },
    cycles: { type: 'string', default: '1000' },
    dir: { type: 'string' },
    baseline: { type: 'string' },
  },
});
const runs = Number(values.runs);
const cycles = Number(values.cycles);
const baselineCli = values.baseline === undefined ? undefined : join(resolve(values.baseline), 'cli.js');

const PROBE = `mkdir -p probe && printf '{"latency_ms": 42}' > probe/live.json`;
const PING = 'test -d deploy/staging/current';

const MANIFEST = `version: 1
name: bench
pipelines:
  build:
    stages:
      make:
        run: echo model > model.txt
        outs: [model.txt]
environments:
  staging:
    from: workspace
    deploy:
      path: deploy/staging
    monitor:
      every: 30s
      checks:
        - name: probe
          run: ${JSON.stringify(PROBE)}
          metrics: [probe/live.json]
        - name: ping
          run: ${JSON.stringify(PING)}
        - name: latency
          metric: probe/live.json#latency_ms
          max: 250
`;

function run(command: string, args: readonly string[], cwd: string, okStatus = 0): number {
  const started = performance.now();
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  const elapsed = performance.now() - started;
  if (result.status !== okStatus) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
  return elapsed;
}

function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** A full garbage collection, without needing node to be started with --expose-gc. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/**
 * Medians of `sluice monitor --once`, the peer (`sh -c` of each check) and
 * `sluice --version`, and of the baseline's `--once` on its own workspace
 * (undefined without --baseline), alternating.
 */
function timeOnce(
  root: string,
  baselineRoot: string | undefined,
): { monitorMs: number; peerMs: number; versionMs: number; baselineMs: number | undefined } {
  const monitor: number[] = [];
  const peer: number[] = [];
  const version: number[] = [];
  const baseline: number[] = [];
  for (let i = 0; i < runs; i++) {
    monitor.push(run(process.execPath, [cli, 'monitor', 'staging', '--once'], root));
    if (baselineCli !== undefined && baselineRoot !== undefined)
      baseline.push(run(process.execPath, [baselineCli, 'monitor', 'staging', '--once'], baselineRoot));
    peer.push(run('sh', ['-c', PROBE], root) + run('sh', ['-c', PING], root));
    version.push(run(process.execPath, [cli, '--version'], root));
  }
  return {
    monitorMs: median(monitor),
    peerMs: median(peer),
    versionMs: median(version),
    baselineMs: baseline.length === 0 ? undefined : median(baseline),
  };
}

/** A fresh repository with one release live in staging and one monitor run behind it, set up by `cliFile`. */
function makeWorkspace(root: string, cliFile: string): void {
  mkdirSync(root);
  const git = (...args: string[]): void => {
    run('git', args, root);
  };
  git('init', '--quiet');
  git('config', 'user.name', 'Bench');
  git('config', 'user.email', 'bench@sluice.invalid');
  writeFileSync(join(root, 'sluice.yaml'), MANIFEST);
  writeFileSync(join(root, '.gitignore'), '.sluice/\ndeploy/\nprobe/\nmodel.txt\n');
  git('add', '--all');
  git('commit', '--quiet', '-m', 'bench');
  run(process.execPath, [cliFile, 'stage'], root);
  run(process.execPath, [cliFile, 'monitor', 'staging', '--once'], root); // warm the caches
}

/** How many git processes one `--once` of `cliFile` starts (git on PATH replaced by a logging script). */
function gitProcesses(parent: string, root: string, cliFile: string): number {
  const folder = join(parent, 'git-log');
  const log = join(folder, 'calls');
  mkdirSync(folder, { recursive: true });
  const real = spawnSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).stdout.trim();
  writeFileSync(join(folder, 'git'), `#!/bin/sh\necho x >> '${log}'\nexec '${real}' "$@"\n`, { mode: 0o755 });
  rmSync(log, { force: true });
  const result = spawnSync(process.execPath, [cliFile, 'monitor', 'staging', '--once'], {
    cwd: root,
    env: { ...process.env, PATH: `${folder}:${process.env['PATH'] ?? ''}` },
  });
  if (result.status !== 0) throw new Error(`monitor --once failed: ${String(result.stderr)}`);
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((line) => line === 'x').length;
}

function describeTimes(label: string, times: ReturnType<typeof timeOnce>): string {
  const overhead = times.monitorMs - times.peerMs;
  const baseline =
    times.baselineMs === undefined
      ? ''
      : `; baseline --once ${times.baselineMs.toFixed(0)} ms, overhead ${(times.baselineMs - times.peerMs).toFixed(0)} ms`;
  return (
    `monitor --once (${label}): ${times.monitorMs.toFixed(0)} ms; sh peer ${times.peerMs.toFixed(1)} ms; ` +
    `overhead ${overhead.toFixed(0)} ms (sluice --version alone: ${times.versionMs.toFixed(0)} ms)${baseline}`
  );
}

async function main(): Promise<void> {
  const parent = mkdtempSync(join(values.dir ?? tmpdir(), 'sluice-bench-monitor-'));
  try {
    const root = join(parent, 'ws');
    makeWorkspace(root, cli);
    const baselineRoot = baselineCli === undefined ? undefined : join(parent, 'ws-baseline');
    if (baselineCli !== undefined && baselineRoot !== undefined) makeWorkspace(baselineRoot, baselineCli);
    const processes = {
      current: gitProcesses(parent, root, cli),
      baseline:
        baselineCli === undefined || baselineRoot === undefined
          ? undefined
          : gitProcesses(parent, baselineRoot, baselineCli),
    };
    console.log(
      `git processes in one --once: ${processes.current}` +
        (processes.baseline === undefined ? '' : ` (baseline: ${processes.baseline})`),
    );

    const short = timeOnce(root, baselineRoot);
    console.log(describeTimes(`history of ${runs + 2} runs`, short));

    const workspace = await openWorkspace(root);
    const samples: { cycle: number; heapMiB: number; rssMiB: number }[] = [];
    let done = 0;
    const step = Math.max(1, Math.floor(cycles / 10));
    const started = performance.now();
    await watchEnvironments(workspace, ['staging'], {
      intervalMs: 0,
      runs: cycles,
      onEvent: (event) => {
        if ('error' in event) throw event.error;
        done++;
        if (done % step === 0 || done === 1) {
          collectGarbage();
          const memory = process.memoryUsage();
          samples.push({
            cycle: done,
            heapMiB: memory.heapUsed / 2 ** 20,
            rssMiB: memory.rss / 2 ** 20,
          });
        }
      },
    });
    const loopMs = (performance.now() - started) / cycles;
    for (const sample of samples)
      console.log(
        `  after ${String(sample.cycle).padStart(5)} runs: heap ${sample.heapMiB.toFixed(1)} MiB, rss ${sample.rssMiB.toFixed(1)} MiB`,
      );
    const firstTenth = samples[1] ?? samples[0]!;
    const last = samples[samples.length - 1]!;
    console.log(
      `${cycles} runs in-process, ${loopMs.toFixed(1)} ms each; heap from run ${firstTenth.cycle} to ${last.cycle}: ` +
        `${(last.heapMiB - firstTenth.heapMiB).toFixed(2)} MiB`,
    );

    const long = timeOnce(root, baselineRoot);
    console.log(describeTimes(`history of ${cycles + 2 * runs + 2} runs`, long));

    mkdirSync(dirname(resultsPath), { recursive: true });
    writeFileSync(
      resultsPath,
      `${JSON.stringify({ runs, cycles, processes, short, long, loopMs, memory: samples }, null, 2)}\n`,
    );
    console.log(`Results in ${resultsPath}`);
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
}

void main();
