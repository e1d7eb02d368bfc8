// The issue-5 speed benchmark: `sluice promote` and `sluice rollback` of
// releases whose outputs weigh 1 MB and 1 GiB, against `cp -r` of the release
// folder (the naive deploy). Promotion and rollback must stay flat as data grows.
//
//   npm run bench:environments -- [--sizes 1,1024] [--runs 5] [--dir DIR]
//
// Sizes are in MiB. Each size gets a fresh git repository (in --dir, default
// $TMPDIR) whose one stage writes that many bytes of seeded noise into out/
// (8 files), with `staging` fed from the workspace and `production` from
// staging, deploying to deploy/production. Setup (untimed): two releases
// staged (different seeds), A promoted. Timed, alternating: promote B (the
// first time, its folder is written; later, it is there), rollback to A, and
// `cp -r` of the release folder. Every timed command is a child process, timed
// spawn to exit. Medians; results go to out/bench-environments.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const repoRoot = resolve(__dirname, '..', '..', '..');
const cli = join(repoRoot, 'dist', 'cli.js');
const resultsPath = join(repoRoot, 'out', 'bench-environments.json');

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1,1024' },
    runs: { type: 'string', default: '5' },
    dir: { type: 'string' },
  },
});
const sizes = values.sizes.split(',').map(Number);
const runs = Number(values.runs);

const GENERATE = `'use strict';
const fs = require('node:fs');
const crypto = require('node:crypto');
const mib = Number(process.argv[2]);
const seed = require('node:fs').readFileSync('seed.txt', 'utf8').trim();
fs.mkdirSync('out', { recursive: true });
const perFile = Math.ceil((mib * 1024 * 1024) / 8);
for (let f = 0; f < 8; f++) {
  const out = fs.openSync('out/part-' + f + '.bin', 'w');
  const key = crypto.createHash('sha256').update(seed + ':' + f).digest();
  const cipher = crypto.createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(1 << 20);
  for (let left = perFile; left > 0; left -= zeros.length) fs.writeSync(out, cipher.update(zeros.subarray(0, Math.min(left, zeros.length))));
  fs.closeSync(out);
}
`;

function manifest(mib: number): string {
  return `version: 1
name: bench
pipelines:
  build:
    stages:
      generate:
        run: node generate.js ${mib}
        deps: [generate.js, seed.txt]
        outs: [out]
environments:
  staging:
    from: workspace
    pipeline: build
  production:
    from: staging
    deploy:
      path: deploy/production
`;
}

function run(command: string, args: readonly string[], cwd: string): number {
  const started = performance.now();
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  const elapsed = performance.now() - started;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
  return elapsed;
}

function git(cwd: string, ...args: string[]): void {
  run('git', args, cwd);
}

function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function stageRelease(root: string, seed: string): string {
  writeFileSync(join(root, 'seed.txt'), `${seed}\n`);
  git(root, 'add', '--all');
  git(root, 'commit', '--quiet', '-m', `seed ${seed}`);
  const result = spawnSync(process.execPath, [cli, 'stage', '--json'], { cwd: root, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`stage failed: ${result.stderr}`);
  return (JSON.parse(result.stdout) as { release: { id: string } }).release.id;
}

const results: Record<string, unknown>[] = [];
for (const mib of sizes) {
  const root = mkdtempSync(join(values.dir ?? tmpdir(), 'sluice-bench-envs-'));
  try {
    git(root, 'init', '--quiet');
    git(root, 'config', 'user.name', 'Bench');
    git(root, 'config', 'user.email', 'bench@sluice.invalid');
    writeFileSync(join(root, 'sluice.yaml'), manifest(mib));
    writeFileSync(join(root, 'generate.js'), GENERATE);
    writeFileSync(join(root, '.gitignore'), '.sluice/\nout/\ndeploy/\n');
    const a = stageRelease(root, 'a');
    const b = stageRelease(root, 'b');
    run(process.execPath, [cli, 'promote', '--yes', '--release', a], root);
    const promoteFirst: number[] = [];
    const promote: number[] = [];
    const rollback: number[] = [];
    const copy: number[] = [];
    const copies = join(root, 'copies');
    mkdirSync(copies);
    for (let i = 0; i < runs; i++) {
      const time = run(process.execPath, [cli, 'promote', '--yes', '--release', b], root);
      (i === 0 ? promoteFirst : promote).push(time);
      rollback.push(run(process.execPath, [cli, 'rollback', 'production', '--to', a], root));
      const target = join(copies, String(i));
      copy.push(run('cp', ['-r', join(root, 'deploy/production/releases', a), target], root));
      rmSync(target, { recursive: true, force: true });
    }
    const { nlink } = statSync(join(root, 'deploy/production/current/out/part-0.bin'));
    const row = {
      mib,
      promoteWritingReleaseMs: Math.round(promoteFirst[0]!),
      promoteMs: Math.round(median(promote)),
      rollbackMs: Math.round(median(rollback)),
      copyMs: Math.round(median(copy)),
      hardLinked: nlink > 1,
    };
    results.push(row);
    console.log(JSON.stringify(row));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
mkdirSync(dirname(resultsPath), { recursive: true });
writeFileSync(resultsPath, JSON.stringify({ runs, results }, null, 2));
