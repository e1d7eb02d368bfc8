// The issue-3 speed benchmark for data snapshots, on generated files:
//
// 1. First snapshot of 1 GiB in 10,000 files of varied size: `sluice snapshot`
//    (fresh .sluice/ and dataset ref each run) against `openssl dgst -sha256`
//    over the same files (the hashing limit), `git annex add` (SHA256E backend,
//    fresh repository and copy of the files each run) and git-lfs `git add` +
//    `git commit` (fresh repository each run). Target: sluice at least 0.9 of
//    openssl's throughput and faster than both peers. Two diagnostics: `sluice
//    diff` with the stat cache removed (the same hashing, no copy into the
//    store), `cp -a` + `sync` (what a durable copy of the files costs here) and
//    `dd` of as many bytes into one file with fdatasync (the disk's own limit).
// 2. 100,000 small files in 1,000 folders, committed to git: `sluice snapshot`
//    with nothing changed against `git status --porcelain`. Target: within 1.5×.
// 3. The same tree after rewriting 10 files: `sluice snapshot` against the
//    no-change snapshot. Target: the cost of the change plus one stat per file.
//
// Issue 18 adds the floors measured in the same runs: the first snapshot of
// 1 GiB in 1,000 and in 10,000 files against `cp -a` + `sync` of the same
// files (target: within 1.25×), nothing changed against `git status` (target:
// within 2×), the time the record and the ref move take in a snapshot of ten
// changed files (target: under 30 ms, read from the CLI's SLUICE_DEBUG line),
// and the maximum RSS of a first and of an unchanged snapshot (one untimed run
// each under GNU time); `--huge` adds 1,000,000 small files (run once).
//
//   npm run bench:snapshot -- [--runs 5] [--quick] [--only big,small] [--first 1000,10000]
//                             [--skip-peers] [--huge] [--cpu-prof DIR] [--keep]
//
// Every command is a child process timed by wall clock, one at a time (the
// machine is small and shared), with the tools' order varied from run to run;
// medians are reported. Every tool reads warm files. `sync` runs before each
// timed command so no earlier writeback competes with it; before the first
// snapshot and its peers, as root, the page cache is also emptied and the
// inputs read back in (settle() says why). `--quick` is a smoke version (64 MiB in 1,000 files, 10,000
// small files). `--cpu-prof DIR` adds one profiled run of each sluice case
// (`node --cpu-prof`, every thread) and prints the functions with the most self
// time. Results go to out/bench-snapshot.json.
import { spawnSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statfsSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { seededRandom } from '../../src/core/seededRandom';
import { parseListing } from '../../src/core/snapshots/listing';

// Bundled to out/test/bench/snapshot.js, three levels below the repository root.
const repoRoot = resolve(__dirname, '..', '..', '..');
const cliPath = join(repoRoot, 'dist', 'cli.js');
const resultsPath = join(repoRoot, 'out', 'bench-snapshot.json');
const MiB = 1 << 20;

interface Scale {
  readonly bigFiles: number;
  readonly bigBytes: number;
  readonly bigFolders: number;
  readonly smallFiles: number;
  readonly smallFolders: number;
  /** Mean size of a small file; sizes vary ±half of it. */
  readonly smallMean: number;
  readonly changed: number;
}

const FULL: Scale = {
  bigFiles: 10_000,
  bigBytes: 1024 * MiB,
  bigFolders: 100,
  smallFiles: 100_000,
  smallFolders: 1_000,
  smallMean: 100,
  changed: 10,
};
const QUICK: Scale = {
  ...FULL,
  bigFiles: 1_000,
  bigBytes: 64 * MiB,
  bigFolders: 10,
  smallFiles: 10_000,
  smallFolders: 100,
};

// ---------------------------------------------------------------------------
// Deterministic fixtures

const KEY = Buffer.from('sluice-bench-key'); // 16 bytes: AES-128
let zeros = Buffer.alloc(0);

/**
 * `size` pseudo-random bytes, a function of (stream, index, version) only:
 * AES-128-CTR over zeros is deterministic and fast, and no two files share content
 * (no tool gets to deduplicate).
 */
function content(stream: number, index: number, version: number, size: number): Buffer {
  if (zeros.length < size) zeros = Buffer.alloc(size);
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(stream, 0);
  iv.writeUInt32BE(index, 4);
  iv.writeUInt32BE(version, 8);
  return createCipheriv('aes-128-ctr', KEY, iv).update(zeros.subarray(0, size));
}

/** Sizes uniform in [2%, 198%] of the mean, scaled so they add up to exactly `total`. */
function bigSizes(count: number, total: number): number[] {
  const random = seededRandom(3);
  const weights = Array.from({ length: count }, () => 0.02 + 1.96 * random());
  const sum = weights.reduce((a, b) => a + b, 0);
  const sizes = weights.map((weight) => Math.floor((total * weight) / sum));
  let rest = total - sizes.reduce((a, b) => a + b, 0);
  for (let i = 0; rest > 0; i = (i + 1) % count, rest--) sizes[i] = sizes[i]! + 1;
  return sizes;
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

interface Fixture {
  /** Paths relative to the data folder, in the order they were generated. */
  readonly paths: readonly string[];
  readonly sizes: readonly number[];
  readonly bytes: number;
}

function writeBigFixture(dataDir: string, scale: Scale): Fixture {
  const sizes = bigSizes(scale.bigFiles, scale.bigBytes);
  const paths = sizes.map((_, i) => `d${pad(i % scale.bigFolders, 3)}/f${pad(i, 5)}.bin`);
  for (let folder = 0; folder < scale.bigFolders; folder++)
    mkdirSync(join(dataDir, `d${pad(folder, 3)}`), { recursive: true });
  paths.forEach((path, i) => {
    writeFileSync(join(dataDir, path), content(1, i, 0, sizes[i]!));
  });
  return { paths, sizes, bytes: scale.bigBytes };
}

function writeSmallFixture(dataDir: string, scale: Scale): Fixture {
  const random = seededRandom(5);
  const sizes = Array.from({ length: scale.smallFiles }, () =>
    Math.round(scale.smallMean * (0.5 + random())),
  );
  const paths = sizes.map((_, i) => `d${pad(i % scale.smallFolders, 4)}/f${pad(i, 6)}.txt`);
  for (let folder = 0; folder < scale.smallFolders; folder++)
    mkdirSync(join(dataDir, `d${pad(folder, 4)}`), { recursive: true });
  paths.forEach((path, i) => {
    writeFileSync(join(dataDir, path), content(2, i, 0, sizes[i]!));
  });
  return { paths, sizes, bytes: sizes.reduce((a, b) => a + b, 0) };
}

// ---------------------------------------------------------------------------
// Running and timing commands

/** Git, git-annex and git-lfs see only the benchmark's own configuration. */
let childEnv: NodeJS.ProcessEnv = {};

function makeEnvironment(home: string): void {
  mkdirSync(home, { recursive: true });
  // Automatic gc after a commit of thousands of loose objects would run in the
  // background, inside later measurements.
  writeFileSync(
    join(home, '.gitconfig'),
    [
      '[user]',
      '\tname = Sluice Bench',
      '\temail = bench@localhost',
      '[init]',
      '\tdefaultBranch = main',
      '[gc]',
      '\tauto = 0',
      '[maintenance]',
      '\tauto = false',
      '',
    ].join('\n'),
  );
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('GIT_') || name.startsWith('XDG_')) continue;
    env[name] = value;
  }
  childEnv = { ...env, HOME: home, GIT_CONFIG_NOSYSTEM: '1', LC_ALL: 'C' };
}

interface Ran {
  readonly ms: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The 1-minute load average before each command: the machine is shared, and results depend on it. */
const loadSamples: number[] = [];

function run(
  command: string,
  args: readonly string[],
  cwd: string,
  input?: string,
  extraEnv: NodeJS.ProcessEnv = {},
): Ran {
  loadSamples.push(loadavg()[0]!);
  const start = performance.now();
  const result = spawnSync(command, args, {
    cwd,
    env: { ...childEnv, ...extraEnv },
    input: input ?? '',
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  const ms = performance.now() - start;
  if (result.error) throw new Error(`${command} could not run: ${result.error.message}`);
  if (result.status !== 0) {
    const detail = `${result.stderr}${result.stdout}`.trim().split('\n').slice(-4).join(' | ');
    throw new Error(`\`${command} ${args.join(' ')}\` in ${cwd} exited ${String(result.status)}: ${detail}`);
  }
  return { ms, stdout: result.stdout, stderr: result.stderr };
}

/** Which build was measured: the commit, whether the tree had changes, and the CLI bundle's digest. */
function codeUnderTest(): { commit: string | null; uncommittedChanges: boolean; cliSha256: string } {
  const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' });
  const status = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  return {
    commit: head.status === 0 ? head.stdout.trim() : null,
    uncommittedChanges: status.stdout.trim() !== '',
    cliSha256: createHash('sha256').update(readFileSync(cliPath)).digest('hex'),
  };
}

function available(command: string, args: readonly string[]): string | undefined {
  const result = spawnSync(command, args, { env: childEnv, encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim().split('\n')[0] : undefined;
}

/** Flushes dirty pages (e.g. a fresh copy) so their writeback does not land in the next measurement. */
function sync(): void {
  run('sync', [], '/');
}

const DROP_CACHES = '/proc/sys/vm/drop_caches';

/**
 * Before a timed first snapshot (or its peers): the disk idle, and, where the
 * benchmark may (as root), the page cache emptied and the files the tool will
 * read (`warm`) read back in. A run right after the previous run's outputs
 * were deleted otherwise pays for them twice on a VM with ext4: every file
 * created makes ext4 look through the inode table blocks still in the cache
 * for recently deleted inodes (up to 3 s of 6 here), and a cache full of
 * earlier outputs makes fresh pages slower to get. Emptying the cache spares
 * every tool alike; the inputs are read back so each starts from warm files.
 */
function settle(warm: string): void {
  sync();
  if (process.getuid?.() !== 0) return;
  try {
    writeFileSync(DROP_CACHES, '3\n');
  } catch {
    return; // A container may not let even root do this: the runs are then as they are.
  }
  run('sh', ['-c', 'find . -type f -print0 | xargs -0 cat > /dev/null'], warm);
}

function sluice(
  cwd: string,
  args: readonly string[],
  nodeFlags: readonly string[] = [],
  extraEnv: NodeJS.ProcessEnv = {},
): Ran {
  return run(process.execPath, [...nodeFlags, cliPath, ...args], cwd, undefined, extraEnv);
}

const GNU_TIME = '/usr/bin/time';

/**
 * The maximum resident set size (MiB) of one untimed `sluice ARGS` run, as
 * GNU time reports it (worker threads included: they share the process);
 * undefined where GNU time is missing.
 */
function sluiceMaxRss(cwd: string, args: readonly string[]): number | undefined {
  if (spawnSync(GNU_TIME, ['-f', '%M', 'true']).status !== 0) return undefined;
  const ran = run(GNU_TIME, ['-f', 'sluice-max-rss-kib %M', process.execPath, cliPath, ...args], cwd);
  const match = /sluice-max-rss-kib (\d+)/.exec(ran.stderr);
  return match ? round(Number(match[1]) / 1024) : undefined;
}

/** The record-and-ref time a snapshot run with SLUICE_DEBUG printed (snapshots.ts), in ms. */
function recordAndRefMs(stderr: string): number | undefined {
  const match = /record and ref in ([\d.]+) ms/.exec(stderr);
  return match ? Number(match[1]) : undefined;
}

interface SnapshotJson {
  readonly snapshots: readonly {
    readonly dataset: string;
    readonly changed: boolean;
    readonly files: number;
    readonly bytes: number;
    readonly hashed: number;
    readonly added: number;
    readonly modified: number;
    readonly removed: number;
  }[];
}

/** `sluice snapshot DATASET --json`, timed, with its one result checked by `expect`. */
function snapshot(
  cwd: string,
  dataset: string,
  expect: Partial<SnapshotJson['snapshots'][number]>,
  nodeFlags: readonly string[] = [],
): number {
  return snapshotRan(cwd, dataset, expect, nodeFlags).ms;
}

/** The same, returning the run (its stderr holds SLUICE_DEBUG's lines when `extraEnv` sets it). */
function snapshotRan(
  cwd: string,
  dataset: string,
  expect: Partial<SnapshotJson['snapshots'][number]>,
  nodeFlags: readonly string[] = [],
  extraEnv: NodeJS.ProcessEnv = {},
): Ran {
  const ran = sluice(cwd, ['snapshot', dataset, '--json'], nodeFlags, extraEnv);
  const result = (JSON.parse(ran.stdout) as SnapshotJson).snapshots[0];
  if (result === undefined) throw new Error(`sluice snapshot ${dataset} printed no result`);
  for (const [key, value] of Object.entries(expect)) {
    const actual = (result as Record<string, unknown>)[key];
    if (actual !== value) {
      throw new Error(
        `sluice snapshot ${dataset}: expected ${key} ${JSON.stringify(value)}, got ${JSON.stringify(actual)} ` +
          `(${ran.stdout.trim()})`,
      );
    }
  }
  return ran;
}

function summarizeLoad(): { min: number; median: number; max: number } {
  return {
    min: round(Math.min(...loadSamples), 2),
    median: round(median(loadSamples), 2),
    max: round(Math.max(...loadSamples), 2),
  };
}

function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * The order of the contenders in run `run`: rotated, and reversed every other
 * run, so each one runs in every position and after different neighbours.
 */
function orderFor<T>(items: readonly T[], run: number): T[] {
  const shift = Math.floor(run / 2) % items.length;
  const rotated = [...items.slice(shift), ...items.slice(0, shift)];
  return run % 2 === 0 ? rotated : rotated.reverse();
}

/** The files of the snapshot a ref points at, read from its listings (one per folder). */
function recordedFiles(workspace: string, ref: string): { path: string; sha256: string }[] {
  const listings = run('git', ['ls-tree', '-r', '-z', ref, 'data'], workspace)
    .stdout.split('\0')
    .filter(Boolean)
    .map((line) => {
      const [meta, path] = line.split('\t') as [string, string];
      const folder = path
        .split('/')
        .slice(1, -1)
        .map((part) => part.slice('d-'.length))
        .join('/');
      return { folder, blob: meta.split(' ')[2]! };
    });
  const files: { path: string; sha256: string }[] = [];
  for (const { folder, blob } of listings) {
    for (const entry of parseListing(run('git', ['cat-file', 'blob', blob], workspace).stdout)) {
      if (entry.type === 'file')
        files.push({ path: folder === '' ? entry.name : `${folder}/${entry.name}`, sha256: entry.sha256 });
    }
  }
  return files;
}

// ---------------------------------------------------------------------------
// Workspaces

function manifest(dataset: string, path: string): string {
  return [
    'version: 1',
    'datasets:',
    `  ${dataset}:`,
    `    path: ${path}`,
    'pipelines:',
    '  p:',
    '    stages:',
    '      s:',
    '        run: node -e 0',
    `        datasets: [${dataset}]`,
    '        outs: [out.txt]',
    '',
  ].join('\n');
}

/** A git repository with sluice.yaml committed; the data is committed too when `commitData`. */
function makeWorkspace(dir: string, dataset: string, path: string, commitData: boolean): number {
  writeFileSync(join(dir, 'sluice.yaml'), manifest(dataset, path));
  writeFileSync(join(dir, '.gitignore'), `.sluice/\n${commitData ? '' : `/${path}/\n`}`);
  run('git', ['init', '--quiet'], dir);
  const added = run('git', ['add', '--all'], dir);
  const committed = run('git', ['commit', '--quiet', '--message', 'fixture'], dir);
  return added.ms + committed.ms;
}

function removeTree(path: string): void {
  // git-annex leaves its object folders read-only.
  spawnSync('chmod', ['-R', 'u+w', path], { env: childEnv });
  rmSync(path, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------
// CPU profiles

interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

interface SelfTime {
  readonly function: string;
  readonly ms: number;
  readonly share: number;
}

/** Functions by self time, over every profile (main thread and workers) in `dir`. */
function topSelfTime(dir: string, limit: number): { totalMs: number; threads: number; top: SelfTime[] } {
  const byName = new Map<string, number>();
  let total = 0;
  const files = readdirSync(dir).filter((name) => name.endsWith('.cpuprofile'));
  for (const file of files) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    const names = new Map<number, string>();
    for (const node of profile.nodes) {
      const { functionName, url, lineNumber } = node.callFrame;
      const where = url === '' ? '' : ` ${basename(url)}:${lineNumber + 1}`;
      names.set(node.id, `${functionName === '' ? '(anonymous)' : functionName}${where}`);
    }
    profile.samples.forEach((id, i) => {
      // A sample's time is the delta to the next one.
      const us = profile.timeDeltas[i + 1] ?? 0;
      const name = names.get(id) ?? '?';
      byName.set(name, (byName.get(name) ?? 0) + us);
      total += us;
    });
  }
  const top = [...byName]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, us]) => ({ function: name, ms: round(us / 1000), share: round(us / total, 3) }));
  return { totalMs: round(total / 1000), threads: files.length, top };
}

function profiled(cpuProfRoot: string | undefined, name: string): readonly string[] | undefined {
  if (cpuProfRoot === undefined) return undefined;
  const dir = join(cpuProfRoot, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return ['--cpu-prof', '--cpu-prof-dir', dir];
}

function printProfile(title: string, dir: string): ReturnType<typeof topSelfTime> {
  const summary = topSelfTime(dir, 12);
  console.log(`\n  profile: ${title} (${summary.threads} threads, ${summary.totalMs} ms sampled; ${dir})`);
  for (const entry of summary.top)
    console.log(
      `    ${fixed(entry.ms, 0).padStart(7)} ms ${percent(entry.share).padStart(6)}  ${entry.function}`,
    );
  return summary;
}

// ---------------------------------------------------------------------------
// Formatting

function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '—';
}

function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

function mibPerSecond(bytes: number, ms: number): number {
  return bytes / MiB / (ms / 1000);
}

function verdict(met: boolean): string {
  return met ? 'met' : 'MISSED';
}

// ---------------------------------------------------------------------------
// 1. First snapshot of the large tree

interface Contender {
  readonly name: string;
  readonly label: string;
  /** Untimed setup before run `i`. */
  readonly prepare: (i: number) => void;
  /** Timed part: returns milliseconds. */
  readonly measure: (i: number) => number;
  readonly cleanup: (i: number) => void;
}

interface BigResult {
  readonly files: number;
  readonly bytes: number;
  readonly samplesMs: Record<string, number[]>;
  readonly medianMs: Record<string, number>;
  /** The fastest run: what each tool does when the shared machine lets it. */
  readonly bestMs: Record<string, number>;
  readonly mibPerSecond: Record<string, number>;
  readonly ratioToOpenssl: Record<string, number>;
  readonly skipped: Record<string, string>;
  readonly targets: {
    readonly throughputVsOpenssl: { readonly target: 0.9; readonly ratio: number; readonly met: boolean };
    readonly fasterThanAnnex: boolean | null;
    readonly fasterThanLfs: boolean | null;
    /** Issue 18: sluice's median over the median of `cp -a` + `sync` in the same runs, and run by run. */
    readonly vsDurableCopy: {
      readonly target: 1.25;
      readonly ratio: number;
      readonly pairedRatio: number;
      readonly met: boolean;
    };
  };
  /** Maximum RSS of one more (untimed) first snapshot, MiB. */
  readonly maxRssMiB: number | null;
  readonly hashesAgreeWithOpenssl: number;
  readonly profile?: ReturnType<typeof topSelfTime>;
}

function benchBig(
  root: string,
  scale: Scale,
  runs: number,
  tools: { annex: boolean; lfs: boolean; skipped?: string },
  cpuProf: string | undefined,
): BigResult {
  const workspace = join(root, `big-${scale.bigFiles}`);
  const dataDir = join(workspace, 'data', 'big');
  mkdirSync(dataDir, { recursive: true });
  console.log(`\nGenerating ${scale.bigFiles} files, ${scale.bigBytes / MiB} MiB in ${workspace} …`);
  const fixture = writeBigFixture(dataDir, scale);
  makeWorkspace(workspace, 'big', 'data/big', false);
  const fileList = `${[...fixture.paths].sort().join('\0')}\0`;
  const threads = availableParallelism();
  const skipped: Record<string, string> = {};
  let opensslHashes = '';
  const expected = { files: scale.bigFiles, bytes: fixture.bytes, hashed: scale.bigFiles, changed: true };
  const hashOnlyMs: number[] = [];

  const contenders: Contender[] = [
    {
      name: 'openssl',
      label: 'openssl dgst -sha256 (one process at a time)',
      prepare: () => {
        settle(dataDir);
      },
      measure: () => {
        // xargs packs as many paths into each command line as fit, like a user would.
        const ran = run('xargs', ['-0', 'openssl', 'dgst', '-sha256'], dataDir, fileList);
        opensslHashes = ran.stdout;
        return ran.ms;
      },
      cleanup: () => undefined,
    },
    {
      name: 'opensslParallel',
      label: `openssl dgst -sha256 (xargs -P ${threads})`,
      prepare: () => {
        settle(dataDir);
      },
      measure: () => {
        const perCall = String(Math.max(1, Math.ceil(scale.bigFiles / (threads * 8))));
        const args = ['-0', '-P', String(threads), '-n', perCall, 'openssl', 'dgst', '-sha256'];
        return run('xargs', args, dataDir, fileList).ms;
      },
      cleanup: () => undefined,
    },
    {
      name: 'sluice',
      label: 'sluice snapshot (first)',
      prepare: () => {
        rmSync(join(workspace, '.sluice'), { recursive: true, force: true });
        spawnSync('git', ['update-ref', '-d', 'refs/sluice/datasets/big'], { cwd: workspace, env: childEnv });
        settle(dataDir);
      },
      measure: () => {
        const ms = snapshot(workspace, 'big', expected);
        // Diagnostic: the same hashing without copying into the store. `diff`
        // against the disk hashes every file when the stat cache is gone.
        rmSync(join(workspace, '.sluice', 'state', 'stat'), { recursive: true, force: true });
        sync();
        const diff = sluice(workspace, ['diff', 'big', '--json']);
        const changes = JSON.parse(diff.stdout) as {
          added: unknown[];
          modified: unknown[];
          removed: unknown[];
        };
        if (changes.added.length + changes.modified.length + changes.removed.length !== 0)
          throw new Error(`sluice diff after a snapshot found changes: ${diff.stdout.slice(0, 300)}`);
        hashOnlyMs.push(diff.ms);
        return ms;
      },
      cleanup: () => undefined,
    },
  ];

  // Diagnostic: what a durable copy of these files costs on this disk, the
  // floor under any tool that stores the bytes (sluice fsyncs every blob).
  const copyDir = join(root, `copy-${scale.bigFiles}`);
  contenders.push({
    name: 'copy',
    label: 'cp -a + sync (durable copy, diagnostic)',
    prepare: () => {
      rmSync(copyDir, { recursive: true, force: true });
      settle(dataDir);
    },
    measure: () => run('cp', ['-a', dataDir, copyDir], root).ms + run('sync', [], root).ms,
    cleanup: () => {
      rmSync(copyDir, { recursive: true, force: true });
    },
  });

  // Diagnostic: the disk's own limit for making this many bytes durable, one sequential file.
  const ddFile = join(root, 'dd.bin');
  contenders.push({
    name: 'diskWrite',
    label: 'dd + fdatasync (durable write, diagnostic)',
    prepare: () => {
      rmSync(ddFile, { force: true });
      settle(dataDir);
    },
    measure: () =>
      run(
        'dd',
        ['if=/dev/zero', `of=${ddFile}`, 'bs=1M', `count=${scale.bigBytes / MiB}`, 'conv=fdatasync'],
        root,
      ).ms,
    cleanup: () => {
      rmSync(ddFile, { force: true });
    },
  });

  if (tools.annex) {
    const annexDir = (i: number): string => join(root, `annex-${i}`);
    contenders.push({
      name: 'annex',
      label: 'git annex add (SHA256E)',
      prepare: (i) => {
        const dir = annexDir(i);
        mkdirSync(dir, { recursive: true });
        cpSync(dataDir, join(dir, 'data'), { recursive: true });
        run('git', ['init', '--quiet'], dir);
        run('git', ['annex', 'init', '--quiet', 'bench'], dir);
        run('git', ['config', 'annex.backend', 'SHA256E'], dir);
        settle(join(dir, 'data'));
      },
      measure: (i) => {
        const ms = run('git', ['annex', 'add', '--quiet', 'data'], annexDir(i)).ms;
        if (i === 0) {
          const staged = run('git', ['ls-files', 'data'], annexDir(i)).stdout.trim().split('\n').length;
          if (staged !== scale.bigFiles) throw new Error(`git annex add staged ${staged} files`);
        }
        return ms;
      },
      cleanup: (i) => {
        removeTree(annexDir(i));
      },
    });
  } else skipped['annex'] = tools.skipped ?? 'git-annex is not installed (apt-get install git-annex)';

  if (tools.lfs) {
    const lfsDir = join(root, 'lfs');
    contenders.push({
      name: 'lfs',
      label: 'git lfs: git add + git commit',
      prepare: () => {
        rmSync(join(lfsDir, '.git'), { recursive: true, force: true });
        rmSync(join(lfsDir, '.gitattributes'), { force: true });
        mkdirSync(lfsDir, { recursive: true });
        // The files stay as they are (the clean filter copies them), so one copy serves every run.
        if (readdirSync(lfsDir).length === 0) cpSync(dataDir, join(lfsDir, 'data'), { recursive: true });
        run('git', ['init', '--quiet'], lfsDir);
        run('git', ['lfs', 'install', '--local'], lfsDir);
        run('git', ['lfs', 'track', '*.bin'], lfsDir);
        settle(join(lfsDir, 'data'));
      },
      measure: (i) => {
        const added = run('git', ['add', '--all'], lfsDir);
        const committed = run('git', ['commit', '--quiet', '--message', 'data'], lfsDir);
        if (i === 0) {
          const stored = run('git', ['lfs', 'ls-files', '--name-only'], lfsDir).stdout.trim().split('\n');
          if (stored.length !== scale.bigFiles) throw new Error(`git lfs stored ${stored.length} files`);
        }
        return added.ms + committed.ms;
      },
      cleanup: () => undefined,
    });
  } else skipped['lfs'] = tools.skipped ?? 'git-lfs is not installed (apt-get install git-lfs)';

  const samplesMs: Record<string, number[]> = {};
  for (const contender of contenders) samplesMs[contender.name] = [];
  for (let i = 0; i < runs; i++) {
    for (const contender of orderFor(contenders, i)) {
      contender.prepare(i);
      const ms = contender.measure(i);
      contender.cleanup(i);
      samplesMs[contender.name]!.push(ms);
      console.log(
        `  run ${i + 1}/${runs}  ${contender.label.padEnd(44)} ${fixed(ms / 1000, 2).padStart(7)} s`,
      );
    }
    console.log(
      `  run ${i + 1}/${runs}  ${'sluice diff (hash only, diagnostic)'.padEnd(44)} ${fixed(hashOnlyMs[i]! / 1000, 2).padStart(7)} s`,
    );
  }
  samplesMs['sluiceHashOnly'] = hashOnlyMs;
  removeTree(join(root, 'lfs'));
  removeTree(copyDir);

  // The last sluice run's record must hold the same sha256 openssl printed for every file.
  const record = { files: recordedFiles(workspace, 'refs/sluice/datasets/big') };
  const fromOpenssl = new Map<string, string>();
  for (const line of opensslHashes.split('\n')) {
    const match = /^[^(]*\((.*)\)= ([0-9a-f]{64})$/.exec(line);
    if (match) fromOpenssl.set(match[1]!, match[2]!);
  }
  let agree = 0;
  for (const file of record.files) if (fromOpenssl.get(file.path) === file.sha256) agree++;
  if (agree !== scale.bigFiles)
    throw new Error(`sluice and openssl agree on ${agree} of ${scale.bigFiles} hashes`);

  const medianMs: Record<string, number> = {};
  const throughput: Record<string, number> = {};
  const ratio: Record<string, number> = {};
  for (const [name, samples] of Object.entries(samplesMs)) medianMs[name] = median(samples);
  const opensslMs = medianMs['openssl']!;
  for (const [name, ms] of Object.entries(medianMs)) {
    throughput[name] = round(mibPerSecond(fixture.bytes, ms));
    ratio[name] = round(opensslMs / ms, 3);
  }
  const sluiceMs = medianMs['sluice']!;
  const copyMs = medianMs['copy']!;
  const vsCopy = sluiceMs / copyMs;
  const pairedVsCopy = median(samplesMs['sluice']!.map((ms, i) => ms / samplesMs['copy']![i]!));
  // One more first snapshot, untimed, for its memory.
  rmSync(join(workspace, '.sluice'), { recursive: true, force: true });
  spawnSync('git', ['update-ref', '-d', 'refs/sluice/datasets/big'], { cwd: workspace, env: childEnv });
  settle(dataDir);
  const maxRssMiB = sluiceMaxRss(workspace, ['snapshot', 'big', '--json']) ?? null;
  const annexMs = medianMs['annex'];
  const lfsMs = medianMs['lfs'];
  const result: BigResult = {
    files: scale.bigFiles,
    bytes: fixture.bytes,
    samplesMs: Object.fromEntries(Object.entries(samplesMs).map(([k, v]) => [k, v.map((ms) => round(ms))])),
    medianMs: Object.fromEntries(Object.entries(medianMs).map(([k, v]) => [k, round(v)])),
    bestMs: Object.fromEntries(Object.entries(samplesMs).map(([k, v]) => [k, round(Math.min(...v))])),
    mibPerSecond: throughput,
    ratioToOpenssl: ratio,
    skipped,
    targets: {
      throughputVsOpenssl: { target: 0.9, ratio: ratio['sluice']!, met: ratio['sluice']! >= 0.9 },
      fasterThanAnnex: annexMs === undefined ? null : sluiceMs < annexMs,
      fasterThanLfs: lfsMs === undefined ? null : sluiceMs < lfsMs,
      vsDurableCopy: {
        target: 1.25,
        ratio: round(vsCopy, 3),
        pairedRatio: round(pairedVsCopy, 3),
        met: vsCopy <= 1.25,
      },
    },
    maxRssMiB,
    hashesAgreeWithOpenssl: agree,
  };

  const labels: Record<string, string> = { sluiceHashOnly: '  sluice diff, hash only (diagnostic)' };
  for (const contender of contenders) labels[contender.name] = contender.label;
  const order = [
    'openssl',
    'opensslParallel',
    'sluice',
    'sluiceHashOnly',
    'copy',
    'diskWrite',
    'annex',
    'lfs',
  ];
  console.log(
    `\nFirst snapshot: ${scale.bigFiles} files, ${fixed(fixture.bytes / MiB, 0)} MiB ` +
      `(median of ${runs}; page cache warm)`,
  );
  console.log(
    `  ${'tool'.padEnd(46)} ${'median s'.padStart(9)} ${'MiB/s'.padStart(8)} ${'vs openssl'.padStart(11)} ${'best s'.padStart(7)}`,
  );
  for (const name of order) {
    const ms = medianMs[name];
    if (ms === undefined) continue;
    console.log(
      `  ${(labels[name] ?? name).padEnd(46)} ${fixed(ms / 1000, 2).padStart(9)} ` +
        `${fixed(throughput[name]!, 0).padStart(8)} ${fixed(ratio[name]!, 2).padStart(11)} ` +
        fixed(result.bestMs[name]! / 1000, 2).padStart(7),
    );
  }
  for (const [name, why] of Object.entries(skipped)) console.log(`  ${name}: skipped, ${why}`);
  const t = result.targets;
  console.log(
    `  target ≥ 0.90 of openssl: ${fixed(t.throughputVsOpenssl.ratio, 2)} ${verdict(t.throughputVsOpenssl.met)}; ` +
      `faster than git annex: ${t.fasterThanAnnex === null ? 'n/a' : verdict(t.fasterThanAnnex)}; ` +
      `faster than git lfs: ${t.fasterThanLfs === null ? 'n/a' : verdict(t.fasterThanLfs)}`,
  );
  console.log(`  all ${agree} sluice hashes equal openssl's`);
  console.log(
    `  sluice vs cp -a + sync (same runs): ${fixed(vsCopy, 2)}× (run by run ${fixed(pairedVsCopy, 2)}×; ` +
      `target ≤ 1.25×) ${verdict(vsCopy <= 1.25)}; max RSS of a first snapshot ${fixed(maxRssMiB ?? NaN, 0)} MiB`,
  );

  const flags = profiled(cpuProf, 'first-snapshot');
  if (flags !== undefined) {
    rmSync(join(workspace, '.sluice'), { recursive: true, force: true });
    spawnSync('git', ['update-ref', '-d', 'refs/sluice/datasets/big'], { cwd: workspace, env: childEnv });
    sync();
    snapshot(workspace, 'big', expected, flags);
    return { ...result, profile: printProfile('first snapshot', join(cpuProf!, 'first-snapshot')) };
  }
  return result;
}

// ---------------------------------------------------------------------------
// 2 and 3. Many small files: nothing changed, then a few changed

interface SmallResult {
  readonly files: number;
  readonly folders: number;
  readonly bytes: number;
  readonly setup: { readonly gitAddCommitMs: number; readonly firstSnapshotMs: number };
  readonly noChange: {
    readonly samplesMs: Record<'sluice' | 'gitStatus' | 'node' | 'cli', number[]>;
    readonly medianMs: Record<'sluice' | 'gitStatus' | 'node' | 'cli', number>;
    readonly ratio: number;
    readonly pairedRatio: number;
    /** Issue 18's (issue 3 asked for 1.5×). */
    readonly target: 2;
    readonly met: boolean;
  };
  /** Maximum RSS (MiB) of the first snapshot and of one more (untimed) unchanged one. */
  readonly maxRssMiB: { readonly first: number | null; readonly unchanged: number | null };
  readonly changed: {
    readonly files: number;
    readonly samplesMs: { readonly sluice: number[]; readonly sluiceNoChange: number[] };
    readonly medianMs: { readonly sluice: number; readonly sluiceNoChange: number };
    /** Median of the per-run difference (changed minus the no-change snapshot right after it). */
    readonly extraMs: number;
    /** What hashing and storing the changed files costs, at the first snapshot's per-file rate. */
    readonly changeCostMs: number;
    readonly met: boolean;
    /** Writing the record and moving the ref, per run (the CLI's SLUICE_DEBUG line), and the target. */
    readonly recordAndRefMs: readonly number[];
    readonly recordAndRefMedianMs: number;
    /** The same with SLUICE_GIT_PROCESSES=1: git's hash-object, mktree, commit-tree and update-ref, as before. */
    readonly recordAndRefByGitMs: readonly number[];
    readonly recordAndRefByGitMedianMs: number;
    readonly recordAndRefTarget: 30;
  };
  readonly profiles?: Record<string, ReturnType<typeof topSelfTime>>;
}

function benchSmall(root: string, scale: Scale, runs: number, cpuProf: string | undefined): SmallResult {
  const workspace = join(root, 'small');
  const dataDir = join(workspace, 'data', 'small');
  mkdirSync(dataDir, { recursive: true });
  console.log(
    `\nGenerating ${scale.smallFiles} small files in ${scale.smallFolders} folders in ${workspace} …`,
  );
  const fixture = writeSmallFixture(dataDir, scale);
  const gitAddCommitMs = makeWorkspace(workspace, 'small', 'data/small', true);
  sync();
  const first = firstSnapshotWithRss(workspace, 'small', scale.smallFiles);
  const firstSnapshotMs = first.ms;
  console.log(
    `  setup: git add + commit ${fixed(gitAddCommitMs / 1000, 2)} s, ` +
      `first sluice snapshot ${fixed(firstSnapshotMs / 1000, 2)} s`,
  );
  const status = (): number => {
    const ran = run('git', ['status', '--porcelain'], workspace);
    if (ran.stdout.trim() !== '') throw new Error(`git status is not clean: ${ran.stdout.slice(0, 300)}`);
    return ran.ms;
  };
  const unchanged = { files: scale.smallFiles, hashed: 0, changed: false };
  // Twice, so git's index holds fresh stat data and no racily clean entry; one
  // unmeasured sluice run for the same warm start.
  status();
  status();
  snapshot(workspace, 'small', unchanged);
  sync();

  // Besides the two contenders, the floor under any sluice command: starting
  // node, and starting the CLI (loading its bundle) without doing any work.
  const noChange = {
    sluice: [] as number[],
    gitStatus: [] as number[],
    node: [] as number[],
    cli: [] as number[],
  };
  const measures = {
    sluice: () => snapshot(workspace, 'small', unchanged),
    gitStatus: status,
    node: () => run(process.execPath, ['-e', '0'], workspace).ms,
    cli: () => sluice(workspace, ['--version']).ms,
  };
  for (let i = 0; i < runs; i++) {
    for (const which of orderFor(['sluice', 'gitStatus', 'node', 'cli'] as const, i))
      noChange[which].push(measures[which]());
    console.log(
      `  run ${i + 1}/${runs}  nothing changed: sluice snapshot ${fixed(noChange.sluice[i]! / 1000, 3)} s, ` +
        `git status ${fixed(noChange.gitStatus[i]! / 1000, 3)} s; node -e 0 ${fixed(noChange.node[i]! / 1000, 3)} s, ` +
        `sluice --version ${fixed(noChange.cli[i]! / 1000, 3)} s`,
    );
  }

  // Rewrites `count` files spread over the tree with new content of a new size.
  let version = 0;
  const rewrite = (count: number): void => {
    version++;
    for (let k = 0; k < count; k++) {
      const index = (k * Math.floor(scale.smallFiles / count) + version * 7) % scale.smallFiles;
      const size = Math.round(scale.smallMean * (0.5 + ((index + version) % 100) / 100));
      writeFileSync(join(dataDir, fixture.paths[index]!), content(2, index, version, size));
    }
  };
  const changedRun = {
    files: scale.smallFiles,
    hashed: scale.changed,
    changed: true,
    modified: scale.changed,
    added: 0,
    removed: 0,
  };
  const changed = { sluice: [] as number[], sluiceNoChange: [] as number[] };
  const recordAndRef: number[] = [];
  const recordAndRefByGit: number[] = [];
  for (let i = 0; i < runs; i++) {
    rewrite(scale.changed);
    sync();
    const ran = snapshotRan(workspace, 'small', changedRun, [], { SLUICE_DEBUG: '1' });
    changed.sluice.push(ran.ms);
    const recorded = recordAndRefMs(ran.stderr);
    if (recorded !== undefined) recordAndRef.push(recorded);
    // The same change recorded by git processes (as before issue 18), for the same-run comparison.
    rewrite(scale.changed);
    sync();
    const byGit = snapshotRan(workspace, 'small', changedRun, [], {
      SLUICE_DEBUG: '1',
      SLUICE_GIT_PROCESSES: '1',
    });
    const byGitMs = recordAndRefMs(byGit.stderr);
    if (byGitMs !== undefined) recordAndRefByGit.push(byGitMs);
    sync();
    changed.sluiceNoChange.push(snapshot(workspace, 'small', unchanged));
    console.log(
      `  run ${i + 1}/${runs}  ${scale.changed} changed: sluice snapshot ${fixed(changed.sluice[i]! / 1000, 3)} s ` +
        `(record and ref ${fixed(recordAndRef[recordAndRef.length - 1] ?? NaN, 1)} ms; by git processes ` +
        `${fixed(recordAndRefByGit[recordAndRefByGit.length - 1] ?? NaN, 1)} ms), ` +
        `then unchanged ${fixed(changed.sluiceNoChange[i]! / 1000, 3)} s`,
    );
  }
  const unchangedRss = sluiceMaxRss(workspace, ['snapshot', 'small', '--json']) ?? null;

  const sluiceMs = median(noChange.sluice);
  const statusMs = median(noChange.gitStatus);
  const ratio = sluiceMs / statusMs;
  // The same, run by run (the two ran back to back): steadier when the load changes during the runs.
  const pairedRatio = median(noChange.sluice.map((ms, i) => ms / noChange.gitStatus[i]!));
  const extraMs = median(changed.sluice.map((ms, i) => ms - changed.sluiceNoChange[i]!));
  const changeCostMs = (firstSnapshotMs / scale.smallFiles) * scale.changed;
  // "The cost of the change plus one stat per file": the snapshot after a change
  // may take what hashing and storing those files costs, plus writing the new
  // record, which we allow up to a quarter of the no-change time.
  const allowedExtraMs = changeCostMs + 0.25 * median(changed.sluiceNoChange);
  const result: SmallResult = {
    files: scale.smallFiles,
    folders: scale.smallFolders,
    bytes: fixture.bytes,
    setup: { gitAddCommitMs: round(gitAddCommitMs), firstSnapshotMs: round(firstSnapshotMs) },
    noChange: {
      samplesMs: {
        sluice: noChange.sluice.map((ms) => round(ms)),
        gitStatus: noChange.gitStatus.map((ms) => round(ms)),
        node: noChange.node.map((ms) => round(ms)),
        cli: noChange.cli.map((ms) => round(ms)),
      },
      medianMs: {
        sluice: round(sluiceMs),
        gitStatus: round(statusMs),
        node: round(median(noChange.node)),
        cli: round(median(noChange.cli)),
      },
      ratio: round(ratio, 3),
      pairedRatio: round(pairedRatio, 3),
      target: 2,
      met: ratio <= 2,
    },
    maxRssMiB: { first: first.maxRssMiB, unchanged: unchangedRss },
    changed: {
      files: scale.changed,
      samplesMs: {
        sluice: changed.sluice.map((ms) => round(ms)),
        sluiceNoChange: changed.sluiceNoChange.map((ms) => round(ms)),
      },
      medianMs: {
        sluice: round(median(changed.sluice)),
        sluiceNoChange: round(median(changed.sluiceNoChange)),
      },
      extraMs: round(extraMs),
      changeCostMs: round(changeCostMs, 2),
      met: extraMs <= allowedExtraMs,
      recordAndRefMs: recordAndRef,
      recordAndRefMedianMs: round(median(recordAndRef)),
      recordAndRefByGitMs: recordAndRefByGit,
      recordAndRefByGitMedianMs: round(median(recordAndRefByGit)),
      recordAndRefTarget: 30,
    },
  };

  const n = result.noChange;
  const c = result.changed;
  console.log(
    `\n${scale.smallFiles} small files in ${scale.smallFolders} folders (median of ${runs}; page cache warm)`,
  );
  console.log(`  ${'case'.padEnd(46)} ${'median s'.padStart(9)}`);
  console.log(
    `  ${'git status --porcelain'.padEnd(46)} ${fixed(n.medianMs.gitStatus / 1000, 3).padStart(9)}`,
  );
  console.log(
    `  ${'sluice snapshot, nothing changed'.padEnd(46)} ${fixed(n.medianMs.sluice / 1000, 3).padStart(9)}`,
  );
  console.log(
    `  ${`sluice snapshot, ${scale.changed} files changed`.padEnd(46)} ${fixed(c.medianMs.sluice / 1000, 3).padStart(9)}`,
  );
  console.log(
    `  ${'  the unchanged snapshot right after'.padEnd(46)} ${fixed(c.medianMs.sluiceNoChange / 1000, 3).padStart(9)}`,
  );
  console.log(`  ${'  floor: node -e 0'.padEnd(46)} ${fixed(n.medianMs.node / 1000, 3).padStart(9)}`);
  console.log(`  ${'  floor: sluice --version'.padEnd(46)} ${fixed(n.medianMs.cli / 1000, 3).padStart(9)}`);
  console.log(
    `  nothing changed vs git status: ${fixed(n.ratio, 2)}× (target ≤ 2×, issue 18) ${verdict(n.met)}; ` +
      `run by run ${fixed(n.pairedRatio, 2)}×`,
  );
  console.log(
    `  record and ref in a snapshot of ${scale.changed} changed files: median ${fixed(c.recordAndRefMedianMs, 1)} ms ` +
      `(target < 30 ms) ${verdict(c.recordAndRefMedianMs < 30)}; by git processes ${fixed(c.recordAndRefByGitMedianMs, 1)} ms`,
  );
  console.log(
    `  max RSS: first snapshot ${fixed(result.maxRssMiB.first ?? NaN, 0)} MiB, ` +
      `unchanged ${fixed(result.maxRssMiB.unchanged ?? NaN, 0)} MiB`,
  );
  console.log(
    `  ${scale.changed} changed: +${fixed(c.extraMs, 0)} ms over unchanged; the change itself costs ` +
      `~${fixed(c.changeCostMs, 1)} ms (allowed: that + 25% of unchanged = ${fixed(allowedExtraMs, 0)} ms) ${verdict(c.met)}`,
  );

  if (cpuProf !== undefined) {
    const profiles: Record<string, ReturnType<typeof topSelfTime>> = {};
    const noChangeFlags = profiled(cpuProf, 'no-change')!;
    snapshot(workspace, 'small', unchanged, noChangeFlags);
    profiles['noChange'] = printProfile('nothing changed', join(cpuProf, 'no-change'));
    const changedFlags = profiled(cpuProf, 'changed')!;
    rewrite(scale.changed);
    sync();
    snapshot(workspace, 'small', changedRun, changedFlags);
    profiles['changed'] = printProfile(`${scale.changed} changed`, join(cpuProf, 'changed'));
    return { ...result, profiles };
  }
  return result;
}

/**
 * The first snapshot of `files` files, timed, under GNU time when it is
 * there (for the maximum RSS; the wrapper's own cost is a fork and an exec).
 */
function firstSnapshotWithRss(
  workspace: string,
  dataset: string,
  files: number,
): { readonly ms: number; readonly maxRssMiB: number | null } {
  if (spawnSync(GNU_TIME, ['-f', '%M', 'true']).status !== 0)
    return { ms: snapshot(workspace, dataset, { files, hashed: files }), maxRssMiB: null };
  const ran = run(
    GNU_TIME,
    ['-f', 'sluice-max-rss-kib %M', process.execPath, cliPath, 'snapshot', dataset, '--json'],
    workspace,
  );
  const result = (JSON.parse(ran.stdout) as SnapshotJson).snapshots[0];
  if (result?.files !== files || result.hashed !== files)
    throw new Error(`first snapshot of ${dataset}: ${ran.stdout.slice(0, 300)}`);
  const match = /sluice-max-rss-kib (\d+)/.exec(ran.stderr);
  return { ms: ran.ms, maxRssMiB: match ? round(Number(match[1]) / 1024) : null };
}

interface HugeResult {
  readonly files: number;
  readonly folders: number;
  readonly firstSnapshotMs: number;
  readonly unchangedMs: number;
  readonly maxRssMiB: { readonly first: number | null; readonly unchanged: number | null };
}

/** `--huge`: 1,000,000 small files, once: a first snapshot and an unchanged one, with their memory. */
function benchHuge(root: string): HugeResult {
  const scale: Scale = { ...FULL, smallFiles: 1_000_000, smallFolders: 10_000 };
  const workspace = join(root, 'huge');
  const dataDir = join(workspace, 'data', 'small');
  mkdirSync(dataDir, { recursive: true });
  console.log(
    `\nGenerating ${scale.smallFiles} small files in ${scale.smallFolders} folders in ${workspace} …`,
  );
  writeSmallFixture(dataDir, scale);
  makeWorkspace(workspace, 'small', 'data/small', false);
  sync();
  const first = firstSnapshotWithRss(workspace, 'small', scale.smallFiles);
  sync();
  const unchangedMs = snapshot(workspace, 'small', { files: scale.smallFiles, hashed: 0, changed: false });
  const unchangedRss = sluiceMaxRss(workspace, ['snapshot', 'small', '--json']) ?? null;
  const result: HugeResult = {
    files: scale.smallFiles,
    folders: scale.smallFolders,
    firstSnapshotMs: round(first.ms),
    unchangedMs: round(unchangedMs),
    maxRssMiB: { first: first.maxRssMiB, unchanged: unchangedRss },
  };
  console.log(
    `  ${scale.smallFiles} files: first snapshot ${fixed(first.ms / 1000, 1)} s, max RSS ${fixed(first.maxRssMiB ?? NaN, 0)} MiB; ` +
      `unchanged ${fixed(unchangedMs / 1000, 2)} s, max RSS ${fixed(unchangedRss ?? NaN, 0)} MiB`,
  );
  removeTree(workspace);
  return result;
}

// ---------------------------------------------------------------------------

function main(): void {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string' },
      quick: { type: 'boolean', default: false },
      only: { type: 'string', default: 'big,small' },
      'cpu-prof': { type: 'string' },
      keep: { type: 'boolean', default: false },
      first: { type: 'string' },
      'skip-peers': { type: 'boolean', default: false },
      huge: { type: 'boolean', default: false },
    },
  });
  const scale = values.quick ? QUICK : FULL;
  const runs = Number(values.runs ?? (values.quick ? '3' : '5'));
  const only = new Set(values.only.split(','));
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs takes a positive integer');
  if ([...only].some((name) => name !== 'big' && name !== 'small'))
    throw new Error('--only takes big, small or big,small');
  const cpuProf = values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof']);
  // The first snapshot's file counts: the issue-18 pair by default, the same bytes each time.
  const firstCounts = (values.first ?? (values.quick ? String(scale.bigFiles) : '1000,10000'))
    .split(',')
    .map(Number);
  if (firstCounts.some((count) => !Number.isInteger(count) || count < 10))
    throw new Error('--first takes file counts, e.g. 1000,10000');

  const root = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  const cleanup = (): void => {
    if (values.keep) console.log(`Fixtures kept in ${root}`);
    else removeTree(root);
  };
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    // At most: the files, sluice's copy, a plain copy, a git-annex copy, a git-lfs copy and its store.
    const needed =
      (only.has('big') ? 6 * scale.bigBytes : 0) +
      (only.has('small') ? 64 * scale.smallFiles * 1024 : 0) +
      (values.huge ? 12 * 2 ** 30 : 0);
    const fs = statfsSync(root);
    const free = fs.bavail * fs.bsize;
    if (free < needed * 1.2) {
      throw new Error(
        `${root} has ${fixed(free / 2 ** 30, 1)} GiB free; the benchmark needs about ${fixed(needed / 2 ** 30, 1)} GiB`,
      );
    }
    makeEnvironment(join(root, 'home'));
    const versions = {
      node: process.version,
      openssl: available('openssl', ['version']) ?? null,
      git: available('git', ['--version']) ?? null,
      gitAnnex: available('git', ['annex', 'version', '--raw']) ?? null,
      gitLfs: available('git', ['lfs', 'version']) ?? null,
    };
    if (versions.openssl === null) throw new Error('openssl is not installed');
    const machine = {
      cpu: cpus()[0]?.model ?? 'unknown',
      threads: availableParallelism(),
      memoryGiB: round(totalmem() / 2 ** 30),
      loadAverageAtStart: loadavg().map((value) => round(value, 2)),
    };
    console.log(
      `sluice snapshot benchmark: ${machine.threads} threads of ${machine.cpu}, ${machine.memoryGiB} GiB, ` +
        `load ${machine.loadAverageAtStart.join(' ')}; ${runs} runs; fixtures in ${root}`,
    );
    const codeAtStart = codeUnderTest();
    const peers = values['skip-peers']
      ? { annex: false, lfs: false, skipped: 'skipped (--skip-peers)' }
      : { annex: versions.gitAnnex !== null, lfs: versions.gitLfs !== null };
    const big: BigResult[] = [];
    if (only.has('big'))
      for (const count of firstCounts) {
        const sized: Scale = { ...scale, bigFiles: count, bigFolders: Math.max(10, Math.round(count / 100)) };
        big.push(benchBig(root, sized, runs, peers, cpuProf));
        if (!values.keep) removeTree(join(root, `big-${count}`));
      }
    const small = only.has('small') ? benchSmall(root, scale, runs, cpuProf) : undefined;
    if (small && !values.keep) removeTree(join(root, 'small'));
    const huge = values.huge ? benchHuge(root) : undefined;
    const code = codeUnderTest();
    // Others may rebuild dist/ while this runs; then the runs measured two builds.
    if (code.cliSha256 !== codeAtStart.cliSha256)
      console.log('\nWARNING: dist/cli.js changed during the benchmark; the runs mix two builds.');
    const report = {
      date: new Date().toISOString(),
      code: { ...code, cliChangedDuringRun: code.cliSha256 !== codeAtStart.cliSha256 },
      quick: values.quick,
      runs,
      machine: {
        ...machine,
        loadAverageAtEnd: loadavg().map((value) => round(value, 2)),
        loadAverageDuringRuns: summarizeLoad(),
      },
      versions,
      big,
      small: small ?? null,
      huge: huge ?? null,
    };
    mkdirSync(dirname(resultsPath), { recursive: true });
    writeFileSync(resultsPath, `${JSON.stringify(report, null, 2)}\n`);
    const load = summarizeLoad();
    console.log(
      `\n1-minute load average before each command: ${load.min} to ${load.max}, median ${load.median}`,
    );
    console.log(`Results written to ${resultsPath}`);
  } finally {
    cleanup();
  }
}

try {
  main();
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
}
