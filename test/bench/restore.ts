// The issue-12 cost of verification: `sluice restore` of 1 GiB (256 files of
// 1 to 7 MiB, a fresh dataset folder each time) with every blob hashed on its
// way out of the cache, against the same command copying without hashing
// (SLUICE_BENCH_UNVERIFIED_COPY=1, which only this benchmark sets). Both in
// the same run, alternating which goes first; medians of --runs runs. Target:
// verification adds at most 5%.
//
//   npm run bench:restore -- [--runs 5] [--mib 1024] [--keep]
//
// `sync` runs before each timed command, so no earlier writeback competes
// with it. Results go to out/bench-restore.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { seededRandom } from '../../src/core/seededRandom';

// Bundled to out/test/bench/restore.js, three levels below the repository root.
const repoRoot = resolve(__dirname, '..', '..', '..');
const cliPath = join(repoRoot, 'dist', 'cli.js');
const resultsPath = join(repoRoot, 'out', 'bench-restore.json');
const MiB = 1 << 20;

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    mib: { type: 'string', default: '1024' },
    keep: { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
const totalBytes = Number(values.mib) * MiB;

function check(command: string, args: readonly string[], cwd: string, env = process.env): void {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8' });
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr || result.stdout}`);
}

function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Incompressible-looking bytes, cheaply: a seeded generator fills one word in 64. */
function fill(size: number, random: () => number): Buffer {
  const bytes = Buffer.allocUnsafe(size);
  const block = Buffer.alloc(4096);
  for (let at = 0; at < size; at += block.length) {
    for (let i = 0; i < block.length; i += 64) block.writeUInt32LE(Math.floor(random() * 2 ** 32), i);
    block.copy(bytes, at, 0, Math.min(block.length, size - at));
  }
  return bytes;
}

function main(): void {
  const root = mkdtempSync(join(tmpdir(), 'sluice-bench-restore-'));
  try {
    check('git', ['init', '--quiet'], root);
    writeFileSync(join(root, 'sluice.yaml'), 'version: 1\ndatasets:\n  raw:\n    path: data/raw\n');
    writeFileSync(join(root, '.gitignore'), '.sluice/\ndata/\n');
    const dataset = join(root, 'data', 'raw');
    mkdirSync(dataset, { recursive: true });
    const random = seededRandom(12);
    let written = 0;
    for (let i = 0; written < totalBytes; i++) {
      const size = Math.min(totalBytes - written, (1 + Math.floor(random() * 7)) * MiB);
      writeFileSync(join(dataset, `part-${String(i).padStart(4, '0')}.bin`), fill(size, random));
      written += size;
    }
    check(process.execPath, [cliPath, 'snapshot', 'raw'], root);
    const samples: Record<'verified' | 'unverified', number[]> = { verified: [], unverified: [] };
    for (let run = 0; run < runs; run++) {
      const order =
        run % 2 === 0 ? (['verified', 'unverified'] as const) : (['unverified', 'verified'] as const);
      for (const mode of order) {
        rmSync(dataset, { recursive: true, force: true });
        check('sync', [], root);
        const env = { ...process.env, SLUICE_BENCH_UNVERIFIED_COPY: mode === 'unverified' ? '1' : '0' };
        const started = performance.now();
        check(process.execPath, [cliPath, 'restore', 'raw', 'latest'], root, env);
        samples[mode].push(performance.now() - started);
        console.log(`run ${run + 1} ${mode}: ${(samples[mode].at(-1)! / 1000).toFixed(2)} s`);
      }
    }
    const verified = median(samples.verified);
    const unverified = median(samples.unverified);
    const overhead = (verified - unverified) / unverified;
    const result = {
      bytes: written,
      runs,
      verifiedMs: Math.round(verified),
      unverifiedMs: Math.round(unverified),
      overhead: Number(overhead.toFixed(4)),
      samples,
    };
    mkdirSync(join(repoRoot, 'out'), { recursive: true });
    writeFileSync(resultsPath, `${JSON.stringify(result, null, 2)}\n`);
    console.log(
      `restore of ${(written / MiB).toFixed(0)} MiB, median of ${runs}: verified ${(verified / 1000).toFixed(2)} s, ` +
        `unverified ${(unverified / 1000).toFixed(2)} s, overhead ${(overhead * 100).toFixed(1)}% (target ≤ 5%)`,
    );
  } finally {
    if (values.keep) console.log(`kept ${root}`);
    else rmSync(root, { recursive: true, force: true });
  }
}

main();
