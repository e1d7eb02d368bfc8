// The issue-15 speed benchmark.
//
//   npm run bench:experiments -- [--records 1000] [--runs 7] [--dir DIR] [--keep]
//
// 1. Reading the table: a git repository holding N experiment records of 30
//    params and 30 metrics each (written untimed, in bulk, in Sluice's own
//    record format). Timed, interleaved: `sluice exp show --json` spawn to
//    exit; `showExperiments` in-process (what the editor's view calls: the
//    CLI minus Node's start-up); and the floor, one `git cat-file --batch`
//    reading the same N records' JSON (names given on stdin), spawn to exit.
// 2. A grid: `sluice exp run` of 4 combinations of a 3-stage pipeline whose
//    first stage (1 s of work) does not read the varied param, at -j 1 and
//    -j 4, against 4 `sluice run --set` one after the other (the run cache
//    shares the first stage there too). Counts how often each stage's
//    command really ran.
// Medians; results go to out/bench-experiments.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  EXPERIMENT_FILE,
  experimentId,
  experimentRef,
  experimentText,
  type ExperimentContent,
} from '../../src/core/experiments/records';
import { showExperiments } from '../../src/core/experiments/show';
import { openWorkspace } from '../../src/core/workspace';

const repoRoot = resolve(__dirname, '..', '..', '..');
const cli = join(repoRoot, 'dist', 'cli.js');
const resultsPath = join(repoRoot, 'out', 'bench-experiments.json');

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '7' },
    dir: { type: 'string' },
    /** Keep the fixture repositories (to profile a command on them); prints where. */
    keep: { type: 'boolean', default: false },
  },
});
const recordCount = Number(values.records);
const runs = Number(values.runs);

function run(command: string, args: readonly string[], cwd: string, input?: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', input, maxBuffer: 1 << 30 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function timed(action: () => void): number {
  const started = performance.now();
  action();
  return performance.now() - started;
}

async function timedAsync(action: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await action();
  return performance.now() - started;
}

function repository(base: string, name: string, files: Readonly<Record<string, string>>): string {
  const root = join(base, name);
  mkdirSync(root, { recursive: true });
  run('git', ['init', '--quiet'], root);
  run('git', ['config', 'user.name', 'Bench'], root);
  run('git', ['config', 'user.email', 'bench@sluice.invalid'], root);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  run('git', ['add', '--all'], root);
  run('git', ['commit', '--quiet', '-m', 'bench'], root);
  return root;
}

/** N records in Sluice's format, written with one fast-import: blobs, trees, root commits, refs. */
function writeRecords(root: string, count: number): string[] {
  const commit = run('git', ['rev-parse', 'HEAD'], root).trim();
  const ids: string[] = [];
  let stream = '';
  for (let index = 0; index < count; index++) {
    const params: Record<string, unknown> = {};
    const metrics: Record<string, number> = {};
    for (let k = 0; k < 30; k++) {
      params[`group${k % 5}.param_${k}`] =
        k % 3 === 0 ? `choice-${(index + k) % 7}` : ((index * 31 + k) % 97) / 10;
      metrics[`metrics.json#score_${k}`] = Math.sin(index + k);
    }
    const content: ExperimentContent = {
      format: 'sluice-experiment 1',
      name: `exp-${String(index).padStart(5, '0')}`,
      origin: 'queue',
      time: new Date(Date.UTC(2026, 0, 1) + index * 60_000).toISOString(),
      actor: 'Bench <bench@sluice.invalid>',
      code: { commit, dirty: false, changes: null },
      snapshots: {},
      params,
      overrides: { 'group0.param_0': params['group0.param_0'] },
      metrics,
      stages: [
        { pipeline: 'main', stage: 'prepare', result: 'restored', durationMs: 1200, runId: null },
        { pipeline: 'main', stage: 'train', result: 'ran', durationMs: 5300, runId: `run-${index}` },
      ],
      signatures: {},
      outputs: [],
      release: null,
      from: null,
    };
    const id = experimentId(content);
    ids.push(id);
    const text = Buffer.from(experimentText(content));
    stream +=
      `blob\nmark :${index + 1}\ndata ${text.length}\n${text.toString('utf8')}\n` +
      `commit ${experimentRef(id)}\ncommitter Bench <bench@sluice.invalid> 1767225600 +0000\n` +
      `data 11\nexperiment\nM 100644 :${index + 1} ${EXPERIMENT_FILE}\n\n`;
  }
  run('git', ['fast-import', '--quiet'], root, stream);
  return ids;
}

interface TableTimes {
  readonly records: number;
  readonly cliMs: number;
  readonly engineMs: number;
  readonly floorMs: number;
  readonly nodeStartMs: number;
}

async function tableBenchmark(base: string): Promise<TableTimes> {
  const root = repository(base, 'table', {
    'sluice.yaml': 'version: 1\nname: bench\n',
    '.gitignore': '.sluice/\n',
  });
  const ids = writeRecords(root, recordCount);
  const floorInput = `${ids.map((id) => `${experimentRef(id)}:${EXPERIMENT_FILE}`).join('\n')}\n`;
  const cliTimes: number[] = [];
  const engineTimes: number[] = [];
  const floorTimes: number[] = [];
  const check = JSON.parse(run(process.execPath, [cli, 'exp', 'show', '--json'], root)) as {
    experiments: unknown[];
    params: unknown[];
    metrics: unknown[];
  };
  if (check.experiments.length !== recordCount || check.params.length !== 30 || check.metrics.length !== 30)
    throw new Error('exp show did not read every record');
  const workspace = await openWorkspace(root);
  for (let round = 0; round < runs; round++) {
    floorTimes.push(timed(() => run('git', ['cat-file', '--batch'], root, floorInput)));
    cliTimes.push(timed(() => run(process.execPath, [cli, 'exp', 'show', '--json'], root)));
    engineTimes.push(await timedAsync(() => showExperiments(workspace)));
  }
  return {
    records: recordCount,
    cliMs: median(cliTimes),
    engineMs: median(engineTimes),
    floorMs: median(floorTimes),
    nodeStartMs: median(
      Array.from({ length: runs }, () => timed(() => run(process.execPath, ['-e', '0'], root))),
    ),
  };
}

const GRID_MANIFEST = `version: 1
params: params.yaml
pipelines:
  main:
    stages:
      prepare:
        run: node stage.js prepare 1000
        deps: [stage.js]
        outs: [out/prepared.txt]
      train:
        run: node stage.js train 200
        deps: [stage.js, out/prepared.txt]
        params: [train.lr]
        outs: [out/model.txt]
        metrics: [metrics.json]
      evaluate:
        run: node stage.js evaluate 200
        deps: [stage.js, out/model.txt]
        outs: [out/eval.txt]
`;

const STAGE = `const fs = require('node:fs');
const [name, ms] = process.argv.slice(2);
fs.appendFileSync(process.env.TRACE, name + '\\n');
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(ms));
fs.mkdirSync('out', { recursive: true });
const lr = /lr: ([0-9.]+)/.exec(fs.readFileSync('params.yaml', 'utf8'))[1];
const out = { prepare: 'out/prepared.txt', train: 'out/model.txt', evaluate: 'out/eval.txt' }[name];
fs.writeFileSync(out, name + ' ' + (name === 'prepare' ? '' : lr));
if (name === 'train') fs.writeFileSync('metrics.json', JSON.stringify({ accuracy: 1 - Math.abs(Number(lr) - 0.3) }));
`;

interface GridTimes {
  readonly grid1Ms: number;
  readonly grid4Ms: number;
  readonly sequentialMs: number;
  /** `KIND.STAGE` → how often that stage's command ran. */
  readonly counts: Readonly<Record<string, number>>;
}

function gridBenchmark(base: string): GridTimes {
  const values = ['0.1', '0.2', '0.3', '0.4'];
  const results: Record<string, number[]> = { grid1: [], grid4: [], sequential: [] };
  const counts: Record<string, number> = {};
  for (let round = 0; round < Math.max(3, Math.ceil(runs / 2)); round++) {
    for (const kind of ['grid1', 'grid4', 'sequential'] as const) {
      const root = repository(base, `grid-${kind}-${round}`, {
        'sluice.yaml': GRID_MANIFEST,
        'params.yaml': 'train:\n  lr: 0.5\n',
        'stage.js': STAGE,
        '.gitignore': '.sluice/\nout/\nmetrics.json\n',
      });
      const trace = join(root, '..', `trace-${kind}-${round}`);
      writeFileSync(trace, '');
      const env = { ...process.env, TRACE: trace };
      const sluice = (...args: string[]): void => {
        const result = spawnSync(process.execPath, [cli, ...args], { cwd: root, env, encoding: 'utf8' });
        if (result.status !== 0) throw new Error(`sluice ${args.join(' ')}: ${result.stderr}`);
      };
      results[kind]!.push(
        timed(() => {
          if (kind === 'sequential') for (const value of values) sluice('run', '--set', `train.lr=${value}`);
          else
            sluice('exp', 'run', '--set', `train.lr=${values.join(',')}`, '-j', kind === 'grid4' ? '4' : '1');
        }),
      );
      const lines = readFileSync(trace, 'utf8').split('\n').filter(Boolean);
      for (const stage of ['prepare', 'train', 'evaluate'])
        counts[`${kind}.${stage}`] = lines.filter((line) => line === stage).length;
    }
  }
  return {
    grid1Ms: median(results['grid1']!),
    grid4Ms: median(results['grid4']!),
    sequentialMs: median(results['sequential']!),
    counts,
  };
}

async function main(): Promise<void> {
  const base = mkdtempSync(join(values.dir ?? tmpdir(), 'sluice-bench-exp-'));
  try {
    const table = await tableBenchmark(base);
    console.log(
      `exp show, ${table.records} records of 30 params and 30 metrics: CLI ${table.cliMs.toFixed(0)} ms, ` +
        `in-process ${table.engineMs.toFixed(0)} ms; git cat-file --batch of the same records ${table.floorMs.toFixed(0)} ms ` +
        `(Node's own start ${table.nodeStartMs.toFixed(0)} ms): ratios ${(table.cliMs / table.floorMs).toFixed(2)}× ` +
        `(CLI), ${(table.engineMs / table.floorMs).toFixed(2)}× (in-process)`,
    );
    const grid = gridBenchmark(base);
    console.log(
      `exp run, 4 combinations, 3 stages: -j 1 ${grid.grid1Ms.toFixed(0)} ms, -j 4 ${grid.grid4Ms.toFixed(0)} ms, ` +
        `4 × run --set ${grid.sequentialMs.toFixed(0)} ms; prepare ran ${grid.counts['grid1.prepare']}× (-j 1), ` +
        `${grid.counts['grid4.prepare']}× (-j 4), ${grid.counts['sequential.prepare']}× (sequential); train ${grid.counts['grid4.train']}×`,
    );
    mkdirSync(dirname(resultsPath), { recursive: true });
    writeFileSync(resultsPath, `${JSON.stringify({ table, grid }, null, 2)}\n`);
  } finally {
    if (values.keep) console.log(`fixtures kept in ${base}`);
    else rmSync(base, { recursive: true, force: true });
  }
}

void main();
