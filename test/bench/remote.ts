// The issue-14 benchmark for remotes over SSH, on generated files, against a
// private sshd on 127.0.0.1 (test/support/services/sshd.ts) that every tool
// reaches through the same ssh_config:
//
// 1. 1 GiB in 10 files: `sluice snapshot` (untimed), then `sluice push` to an
//    empty remote and `sluice pull` in a fresh `git clone`, against `rsync -a`
//    of the same files to an empty folder over the same server, and back into
//    an empty folder. Target: sluice's throughput at least 0.8 of rsync's, each
//    way. Diagnostics: rsync --fsync (durable files, as sluice makes them), the
//    pull split into `sluice fetch` and the pull after it (the restore alone),
//    and `dd` of 1 GiB with fdatasync (what the disk takes to make it durable).
// 2. 100,000 files of about 1 KiB in 1,000 folders: the same push and pull
//    against rsync (target: within 1.5× rsync's time), and against the
//    DVC-style baseline, one SFTP request sequence per file in one `sftp -b`
//    session (a `put` per file up, a `get` per file down; target: sluice at
//    least 20× faster). On the whole set by default (about 0.3 ms a file over
//    loopback here); with --sftp-files N it is timed on whole folders holding
//    about N files and scaled linearly to the whole set (the session's own
//    start, timed apart, counted once), and the output says so. Diagnostic:
//    the pull split into fetch and restore, as above.
// 3. A push with nothing new on the 100,000-file dataset against `git push`
//    with nothing to push, with origin as a path, then over ssh. Target: under
//    1 s and within 2× of git.
// 4. Memory: the max RSS of every command (`/usr/bin/time -f %M`), and the
//    sluice push and pull once more on an eighth of the 1 GiB and a tenth of
//    the small files, so the table shows whether memory grows with the data.
//
//   npm run bench:remote -- [--runs 3] [--quick] [--only big,small,memory] [--sftp-files N] [--rtt MS] [--cpu-prof DIR] [--keep]
//
// Every command is a child process timed by wall clock, spawn to exit, one at
// a time (the machine is small and shared), with the tools' order rotated from
// run to run; medians are reported. Client and server are the same machine:
// the client's CPU time (the command and its ssh, from /usr/bin/time) and the
// server's (the sessions sshd reaped during the command) are recorded apart,
// since both share its cores. `sync` runs before each timed command, and, as
// root, the page cache is emptied and every input read back in (see settle()).
// `--quick` is a smoke run: 64 MiB in 2 files, 10,000 small files, 1 run.
// `--rtt MS` puts a relay in every ssh connection (ProxyCommand) that adds MS
// to each round trip, as a network farther away than loopback would.
// `--cpu-prof DIR` adds one profiled run of each sluice push and pull (`node
// --cpu-prof`, every thread) and prints the functions with the most self time.
// Results go to out/bench-remote.json.
import { spawnSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statfsSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createConnection } from 'node:net';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { seededRandom } from '../../src/core/seededRandom';
import { descendants, SSH_ALIAS, startSshd, type SshServer } from '../support/services/sshd';

// Bundled to out/test/bench/remote.js, three levels below the repository root.
const repoRoot = resolve(__dirname, '..', '..', '..');
const cliPath = join(repoRoot, 'dist', 'cli.js');
const resultsPath = join(repoRoot, 'out', 'bench-remote.json');
const TIME = '/usr/bin/time';
const MiB = 1 << 20;
const GiB = 1 << 30;

interface Scale {
  readonly bigFiles: number;
  readonly bigBytes: number;
  readonly smallFiles: number;
  readonly smallFolders: number;
  /** Mean size of a small file; sizes vary ±half of it. */
  readonly smallMean: number;
}

const FULL: Scale = {
  bigFiles: 10,
  bigBytes: 1024 * MiB,
  smallFiles: 100_000,
  smallFolders: 1_000,
  smallMean: 1024,
};
const QUICK: Scale = { ...FULL, bigFiles: 2, bigBytes: 64 * MiB, smallFiles: 10_000, smallFolders: 100 };

/** The smaller sizes sluice runs once more for memory: an eighth of the bytes, a tenth of the files. */
const BIG_MEMORY_FRACTION = 8;
const SMALL_MEMORY_FRACTION = 10;

// ---------------------------------------------------------------------------
// Deterministic fixtures

const KEY = Buffer.from('sluice-bench-key'); // 16 bytes: AES-128
const ZEROS = Buffer.alloc(8 * MiB);

/**
 * Writes `size` pseudo-random bytes, a function of (stream, index) only, and
 * returns their sha256: AES-128-CTR over zeros is deterministic and fast, and
 * no two files share content (no tool gets to deduplicate). Written 8 MiB at
 * a time, so a 200 MiB file does not sit in this process's memory.
 */
function writeContent(path: string, stream: number, index: number, size: number): string {
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(stream, 0);
  iv.writeUInt32BE(index, 4);
  const cipher = createCipheriv('aes-128-ctr', KEY, iv);
  const digest = createHash('sha256');
  const fd = openSync(path, 'w');
  try {
    for (let left = size; left > 0;) {
      const bytes = cipher.update(ZEROS.subarray(0, Math.min(left, ZEROS.length)));
      digest.update(bytes);
      for (let written = 0; written < bytes.length;)
        written += writeSync(fd, bytes, written, bytes.length - written);
      left -= bytes.length;
    }
  } finally {
    closeSync(fd);
  }
  return digest.digest('hex');
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

interface Fixture {
  /** Paths relative to the dataset folder, in the order they were generated. */
  readonly paths: readonly string[];
  readonly sizes: readonly number[];
  readonly sha256: readonly string[];
  readonly bytes: number;
  /** Folders under the dataset folder ('' for none). */
  readonly folders: readonly string[];
}

/** `count` files adding up to exactly `total` bytes, sizes uniform in [50%, 150%] of the mean, in one folder. */
function writeBigFixture(dataDir: string, count: number, total: number): Fixture {
  const random = seededRandom(3);
  const weights = Array.from({ length: count }, () => 0.5 + random());
  const sum = weights.reduce((a, b) => a + b, 0);
  const sizes = weights.map((weight) => Math.floor((total * weight) / sum));
  let rest = total - sizes.reduce((a, b) => a + b, 0);
  for (let i = 0; rest > 0; i = (i + 1) % count, rest--) sizes[i] = sizes[i]! + 1;
  const paths = sizes.map((_, i) => `f${pad(i, 3)}.bin`);
  mkdirSync(dataDir, { recursive: true });
  const sha256 = paths.map((path, i) => writeContent(join(dataDir, path), 1, i, sizes[i]!));
  return { paths, sizes, sha256, bytes: total, folders: [] };
}

/** `count` files of mean ± half bytes spread over `folders` folders (file i in folder i mod folders). */
function writeSmallFixture(dataDir: string, count: number, folders: number, mean: number): Fixture {
  const random = seededRandom(5);
  const sizes = Array.from({ length: count }, () => Math.round(mean * (0.5 + random())));
  const folderNames = Array.from({ length: folders }, (_, folder) => `d${pad(folder, 4)}`);
  const paths = sizes.map((_, i) => `${folderNames[i % folders]!}/f${pad(i, 6)}.txt`);
  for (const folder of folderNames) mkdirSync(join(dataDir, folder), { recursive: true });
  const sha256 = paths.map((path, i) => writeContent(join(dataDir, path), 2, i, sizes[i]!));
  return { paths, sizes, sha256, bytes: sizes.reduce((a, b) => a + b, 0), folders: folderNames };
}

/** Every file under `dir` holds the fixture's bytes, and there is no other file. */
function verifyTree(dir: string, fixture: Fixture, who: string): void {
  const found = filesUnder(dir).length;
  if (found !== fixture.paths.length)
    throw new Error(`${who}: ${dir} holds ${found} files, expected ${fixture.paths.length}`);
  fixture.paths.forEach((path, i) => {
    const digest = createHash('sha256');
    const fd = openSync(join(dir, path), 'r');
    try {
      const buffer = Buffer.allocUnsafe(8 * MiB);
      for (let read: number; (read = readSync(fd, buffer, 0, buffer.length, null)) > 0;)
        digest.update(buffer.subarray(0, read));
    } finally {
      closeSync(fd);
    }
    if (digest.digest('hex') !== fixture.sha256[i])
      throw new Error(`${who}: ${join(dir, path)} does not hold the bytes it was given`);
  });
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

// ---------------------------------------------------------------------------
// Running and timing commands

/** Git, ssh and sluice see only the benchmark's own configuration. */
let childEnv: NodeJS.ProcessEnv = {};

function makeEnvironment(home: string, sshConfig: string): void {
  mkdirSync(home, { recursive: true });
  // Automatic gc after thousands of loose objects would run in the background, inside later measurements.
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
      '[advice]',
      '\tdetachedHead = false',
      '[core]',
      `\tsshCommand = ssh -F ${sshConfig}`,
      '',
    ].join('\n'),
  );
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('GIT_') || name.startsWith('XDG_') || name.startsWith('SLUICE_')) continue;
    env[name] = value;
  }
  childEnv = { ...env, HOME: home, GIT_CONFIG_NOSYSTEM: '1', LC_ALL: 'C', SLUICE_SSH_CONFIG: sshConfig };
}

/** One timed command: wall clock, and what /usr/bin/time saw of it and its children (ssh among them). */
interface Ran {
  readonly ms: number;
  readonly stdout: string;
  /** Max RSS of the command or the largest child it waited for, KiB. */
  readonly maxRssKiB: number;
  /** User + system CPU of the command and its children: the client side. */
  readonly clientCpuMs: number;
  /** CPU of the sshd sessions that ended during the command: the server side. */
  readonly serverCpuMs: number;
}

/** The 1-minute load average before each command: the machine is shared, and results depend on it. */
const loadSamples: number[] = [];
let sshd: SshServer | undefined;
/** The ssh_config every tool uses: the server's own, or one that adds a round trip (--rtt). */
let sshConfig = '';
let scratch = tmpdir();

/** Runs a command to its end, untimed, and fails on a non-zero exit. */
function check(command: string, args: readonly string[], cwd: string, input?: string): string {
  const result = spawnSync(command, args, {
    cwd,
    env: childEnv,
    input: input ?? '',
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  if (result.error) throw new Error(`${command} could not run: ${result.error.message}`);
  if (result.status !== 0)
    throw failed(command, args, cwd, result.status, `${result.stderr}${result.stdout}`);
  return result.stdout;
}

function failed(
  command: string,
  args: readonly string[],
  cwd: string,
  status: number | null,
  said: string,
): Error {
  const detail = said.trim().split('\n').slice(-4).join(' | ');
  return new Error(`\`${command} ${args.join(' ')}\` in ${cwd} exited ${String(status)}: ${detail}`);
}

/** Runs a command under /usr/bin/time, timed by wall clock from spawn to exit. */
function run(command: string, args: readonly string[], cwd: string): Ran {
  const timeFile = join(scratch, 'time.txt');
  rmSync(timeFile, { force: true });
  const serverBefore = serverCpuMs();
  loadSamples.push(loadavg()[0]!);
  const start = performance.now();
  const result = spawnSync(TIME, ['-f', '%M %U %S', '-o', timeFile, command, ...args], {
    cwd,
    env: childEnv,
    input: '',
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  const ms = performance.now() - start;
  if (result.error) throw new Error(`${command} could not run: ${result.error.message}`);
  if (result.status !== 0)
    throw failed(command, args, cwd, result.status, `${result.stderr}${result.stdout}`);
  const [rss, user, system] = readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  return {
    ms,
    stdout: result.stdout,
    maxRssKiB: rss!,
    clientCpuMs: (user! + system!) * 1000,
    serverCpuMs: serverCpuMs(true) - serverBefore,
  };
}

/**
 * CPU time of the sshd sessions reaped so far (cutime + cstime of the server
 * we started, in ms). `settled`: first wait (up to 2 s) until the sessions of
 * the command that just ended are gone, so their time is counted.
 */
function serverCpuMs(settled = false): number {
  if (sshd === undefined) return 0;
  if (settled) {
    const deadline = Date.now() + 2000;
    while (descendants(sshd.pid).length > 0 && Date.now() < deadline) spawnSync('sleep', ['0.02']);
  }
  const stat = readFileSync(`/proc/${sshd.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 16 and 17 of stat (cutime, cstime) are at 13 and 14 after the command name.
  const ticks = Number(fields[13]) + Number(fields[14]);
  return (ticks * 1000) / clockTicks;
}

const clockTicks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

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

function version(command: string, args: readonly string[]): string | null {
  const result = spawnSync(command, args, { env: childEnv, encoding: 'utf8' });
  if (result.error || result.status !== 0) return null;
  return `${result.stdout}${result.stderr}`.trim().split('\n')[0] ?? null;
}

const DROP_CACHES = '/proc/sys/vm/drop_caches';

/**
 * Before each timed command: the disk idle (`sync`), and, where the
 * benchmark may (as root), the page cache emptied and every input of every
 * contender (`warm`: the dataset, the local cache, the remote folders) read
 * back in, so each tool starts from the same warm files. Deleting the
 * previous run's outputs otherwise makes the next run's new files slower on
 * ext4 (bench:snapshot found it, see BENCHMARKS.md); emptying the cache
 * spares every tool alike.
 */
let discarded = 0;

/**
 * Moves a tree a command wrote out of the way, into the fixture's trash
 * (removed with the fixture, after every timing): removing 100,000 files
 * between commands would slow the next command's file creation, as ext4
 * passes over recently freed inodes while it looks for a free one.
 */
function discard(path: string): void {
  if (!existsSync(path)) return;
  const trash = join(dirname(path), '.trash');
  mkdirSync(trash, { recursive: true });
  renameSync(path, join(trash, String(discarded++)));
}

function settle(warm: readonly string[]): void {
  check('sync', [], '/');
  if (process.getuid?.() !== 0) return;
  try {
    writeFileSync(DROP_CACHES, '3\n');
  } catch {
    return; // A container may not let even root do this: the runs are then as they are.
  }
  for (const dir of warm) {
    try {
      check('sh', ['-c', 'find . -type f -print0 | xargs -0 -r cat > /dev/null'], dir);
    } catch {
      // Not there (yet): nothing to warm.
    }
  }
}

function sluiceArgs(args: readonly string[], nodeFlags: readonly string[] = []): string[] {
  return [...nodeFlags, cliPath, ...args];
}

function sluice(cwd: string, args: readonly string[], nodeFlags: readonly string[] = []): Ran {
  return run(process.execPath, sluiceArgs(args, nodeFlags), cwd);
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

function summarizeLoad(): { min: number; median: number; max: number } {
  return {
    min: round(Math.min(...loadSamples), 2),
    median: round(median(loadSamples), 2),
    max: round(Math.max(...loadSamples), 2),
  };
}

// ---------------------------------------------------------------------------
// The push and pull results sluice prints with --json (src/cli/schemas/)

interface Transferred {
  readonly blobs: number;
  readonly bytes: number;
  readonly requests: number;
}

/** As printed: a failure prints an error object instead, so every field may be missing. */
interface PushJson {
  readonly refs?: readonly { readonly ref: string }[];
  readonly transferred?: Transferred;
}

interface FetchJson {
  readonly transferred?: Transferred;
}

interface PullJson {
  readonly transferred?: Transferred;
  readonly datasets?: readonly { readonly name: string; readonly action: string; readonly written: number }[];
}

function parseJson(ran: Ran, what: string): unknown {
  try {
    return JSON.parse(ran.stdout) as unknown;
  } catch {
    throw new Error(`${what} printed no JSON: ${ran.stdout.slice(0, 300)}`);
  }
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

function verdict(met: boolean): string {
  return met ? 'met' : 'MISSED';
}

function count(value: number): string {
  return value.toLocaleString('en-US');
}

// ---------------------------------------------------------------------------
// One dataset: push it to empty remotes, pull it into empty folders

type ContenderName =
  | 'sluicePush'
  | 'rsyncPush'
  | 'rsyncPushFsync'
  | 'sftpPut'
  | 'sluicePull'
  | 'rsyncPull'
  | 'rsyncPullFsync'
  | 'sftpGet'
  | 'sluiceFetch'
  | 'sluiceRestore'
  | 'diskWrite';
type NoopName = 'sluiceNoop' | 'gitNoop' | 'sluiceNoopSsh' | 'gitNoopSsh';

const LABELS: Record<ContenderName | NoopName, string> = {
  sluicePush: 'sluice push (empty remote)',
  rsyncPush: 'rsync -a (to an empty folder)',
  rsyncPushFsync: '  rsync -a --fsync (diagnostic)',
  sftpPut: 'sftp -b, one put per file',
  sluicePull: 'sluice pull (fresh clone)',
  rsyncPull: 'rsync -a (back to an empty folder)',
  rsyncPullFsync: '  rsync -a --fsync (diagnostic)',
  sftpGet: 'sftp -b, one get per file',
  sluiceFetch: '  sluice fetch (diagnostic)',
  sluiceRestore: '  then pull: restore (diagnostic)',
  diskWrite: '  dd + fdatasync (diagnostic)',
  sluiceNoop: 'sluice push, nothing new',
  gitNoop: 'git push, nothing to push',
  sluiceNoopSsh: 'sluice push, nothing new (git over ssh)',
  gitNoopSsh: 'git push, nothing to push (over ssh)',
};

interface Contender {
  readonly name: ContenderName;
  readonly phase: 'push' | 'pull';
  /** Untimed setup before run `i`: an empty target, then settle(). */
  readonly prepare: (i: number) => void;
  readonly measure: (i: number, nodeFlags?: readonly string[]) => Ran;
  /** Untimed, after the measure: checks (run 0) and removing what the next run must not find. */
  readonly after: (i: number) => void;
}

interface Samples {
  ms: number[];
  maxRssKiB: number[];
  clientCpuMs: number[];
  serverCpuMs: number[];
}

interface Medians {
  readonly ms: number;
  readonly maxRssMiB: number;
  readonly clientCpuMs: number;
  readonly serverCpuMs: number;
}

interface CaseResult {
  readonly name: string;
  readonly files: number;
  readonly folders: number;
  readonly bytes: number;
  readonly runs: number;
  readonly setupMs: { readonly generate: number; readonly snapshot: number };
  /**
   * Files the sftp baseline moved per run, and the factor its times were
   * scaled by (samples and medians of sftp are scaled; `subsetRuns` holds
   * what was timed).
   */
  readonly sftp: {
    readonly files: number;
    readonly scale: number;
    readonly subsetRuns: readonly { batch: string; ms: number; sessionMs: number }[];
  } | null;
  readonly samples: Partial<Record<string, Samples>>;
  readonly medians: Partial<Record<string, Medians>>;
  readonly transferred: { readonly push: Transferred | null; readonly pull: Transferred | null };
  readonly profiles?: Record<string, ReturnType<typeof topSelfTime>>;
}

interface CaseOptions {
  readonly name: string;
  readonly title: string;
  readonly dataset: 'big' | 'small';
  readonly make: (dataDir: string) => Fixture;
  readonly runs: number;
  /** Measure rsync (and sftp, for small files) too; false measures sluice alone (the memory cases). */
  readonly peers: boolean;
  /** Whole folders holding this many files go through the sftp baseline (small files only). */
  readonly sftpFiles?: number;
  /** Diagnostics besides the contenders (with `peers`). */
  readonly diagnostics?: {
    /** rsync --fsync both ways: every file made durable, as sluice makes them. */
    readonly rsyncFsync?: boolean;
    /** A pull split in two: `sluice fetch` into a fresh clone, then the pull after it (the restore alone). */
    readonly splitPull?: boolean;
    /** `dd` of as many bytes into one file with fdatasync: the disk's own limit. */
    readonly diskWrite?: boolean;
  };
  /** Runs of the no-op push after the pushes and pulls. */
  readonly noopRuns?: number;
  readonly cpuProf?: string;
}

function manifest(dataset: string, remoteUrl: string): string {
  return [
    'version: 1',
    'datasets:',
    `  ${dataset}:`,
    `    path: data/${dataset}`,
    'remotes:',
    '  team:',
    `    url: ${remoteUrl}`,
    '    default: true',
    '',
  ].join('\n');
}

function benchCase(root: string, options: CaseOptions): CaseResult {
  const dir = join(root, options.name);
  const workspace = join(dir, 'workspace');
  const dataDir = join(workspace, 'data', options.dataset);
  const server = join(dir, 'server'); // the folders on the "remote machine" (this one, through sshd)
  const sluiceRemote = join(server, 'sluice');
  const rsyncRemote = join(server, 'rsync');
  const sftpRemote = join(server, 'sftp');
  const origin = join(dir, 'origin.git');
  const clone = join(dir, 'clone');
  const rsyncBack = join(dir, 'rsync-back');
  const sftpBack = join(dir, 'sftp-back');
  const remoteCache = join(workspace, '.sluice', 'remotes');
  const remoteSpec = (path: string): string => `${SSH_ALIAS}:${path}/`;
  const rsh = `ssh -F ${sshConfig}`;

  console.log(`\n${options.title}: generating in ${dataDir} …`);
  let started = performance.now();
  const fixture = options.make(dataDir);
  const generateMs = performance.now() - started;
  writeFileSync(
    join(workspace, 'sluice.yaml'),
    manifest(options.dataset, `ssh://${SSH_ALIAS}${sluiceRemote}`),
  );
  writeFileSync(join(workspace, '.gitignore'), '.sluice/\n/data/\n');
  mkdirSync(server);
  check('git', ['init', '--quiet', '--initial-branch=main'], workspace);
  check('git', ['add', '--all'], workspace);
  check('git', ['commit', '--quiet', '--message', 'workspace'], workspace);
  check('git', ['remote', 'add', 'origin', origin], workspace);
  check('sync', [], '/');
  started = performance.now();
  check(process.execPath, sluiceArgs(['snapshot', options.dataset, '--json']), workspace);
  const snapshotMs = performance.now() - started;
  console.log(
    `  ${count(fixture.paths.length)} files, ${fixed(fixture.bytes / MiB, 1)} MiB: generated in ` +
      `${fixed(generateMs / 1000, 1)} s, sluice snapshot (untimed in the table) ${fixed(snapshotMs / 1000, 1)} s`,
  );
  // Every contender starts from the same warm inputs: the files, sluice's cache, what was pushed.
  const warm = [dataDir, join(workspace, '.sluice'), server];

  // The sftp baseline: whole folders, so files and folders scale together.
  const sftpFiles = options.sftpFiles ?? 0;
  let sftp: { files: number; scale: number } | null = null;
  /** On a subset: each run's own time and its session's, before scaling. */
  const sftpSubsetRuns: { batch: string; ms: number; sessionMs: number }[] = [];
  let sftpPutBatch = '';
  let sftpGetBatch = '';
  if (options.peers && sftpFiles > 0) {
    const folders = fixture.folders.length > 0 ? fixture.folders : [''];
    const perFolder = fixture.paths.length / folders.length;
    const wholeFolders = Math.max(1, Math.min(folders.length, Math.round(sftpFiles / perFolder)));
    const chosen = new Set(folders.slice(0, wholeFolders));
    const paths = fixture.paths.filter((path) => chosen.has(dirname(path) === '.' ? '' : dirname(path)));
    sftp = { files: paths.length, scale: fixture.paths.length / paths.length };
    const quote = (path: string): string => `"${path}"`;
    const put = [`mkdir ${quote(sftpRemote)}`];
    const get = [`lmkdir ${quote(sftpBack)}`];
    for (const folder of chosen) {
      if (folder === '') continue;
      put.push(`mkdir ${quote(join(sftpRemote, folder))}`);
      get.push(`lmkdir ${quote(join(sftpBack, folder))}`);
    }
    for (const path of paths) {
      put.push(`put ${quote(join(dataDir, path))} ${quote(join(sftpRemote, path))}`);
      get.push(`get ${quote(join(sftpRemote, path))} ${quote(join(sftpBack, path))}`);
    }
    sftpPutBatch = join(dir, 'sftp-put.batch');
    sftpGetBatch = join(dir, 'sftp-get.batch');
    writeFileSync(sftpPutBatch, `${put.join('\n')}\n`);
    writeFileSync(sftpGetBatch, `${get.join('\n')}\n`);
    console.log(
      `  sftp baseline: ${count(paths.length)} files in ${wholeFolders} folders per run, ` +
        (sftp.scale === 1 ? 'the whole set' : `times scaled ×${fixed(sftp.scale, 2)} to the whole set`),
    );
  }

  const transferred: { push: Transferred | null; pull: Transferred | null } = { push: null, pull: null };
  const expectedPushRefs = 1;
  const pushContenders: Contender[] = [
    {
      name: 'sluicePush',
      phase: 'push',
      prepare: () => {
        // An empty blob remote and an empty git remote holding only the branch, and no memory of either.
        discard(sluiceRemote);
        mkdirSync(sluiceRemote, { recursive: true });
        discard(remoteCache);
        discard(origin);
        check('git', ['init', '--quiet', '--bare', '--initial-branch=main', origin], dir);
        check('git', ['push', '--quiet', 'origin', 'main'], workspace);
        settle(warm);
      },
      measure: (_, nodeFlags) => {
        const ran = sluice(workspace, ['push', '--json'], nodeFlags);
        const result = parseJson(ran, 'sluice push') as PushJson;
        if (result.transferred?.blobs !== fixture.paths.length || result.refs?.length !== expectedPushRefs)
          throw new Error(
            `sluice push: expected ${fixture.paths.length} blobs and ${expectedPushRefs} ref, got ${ran.stdout.slice(0, 300)}`,
          );
        transferred.push = result.transferred;
        return ran;
      },
      after: () => undefined,
    },
    {
      name: 'sluicePull',
      phase: 'pull',
      prepare: () => {
        discard(clone);
        check('git', ['clone', '--quiet', origin, clone], dir);
        settle(warm);
      },
      measure: (_, nodeFlags) => {
        const ran = sluice(clone, ['pull', '--json'], nodeFlags);
        const result = parseJson(ran, 'sluice pull') as PullJson;
        const pulled = result.datasets?.find((entry) => entry.name === options.dataset);
        if (
          result.transferred?.blobs !== fixture.paths.length ||
          pulled?.action !== 'restored' ||
          pulled.written !== fixture.paths.length
        )
          throw new Error(
            `sluice pull: expected ${fixture.paths.length} blobs fetched and files written, got ${ran.stdout.slice(0, 300)}`,
          );
        transferred.pull = result.transferred;
        return ran;
      },
      after: (i) => {
        if (i === 0) verifyTree(join(clone, 'data', options.dataset), fixture, 'sluice pull');
        discard(clone);
      },
    },
  ];
  const rsync = (push: ContenderName, pull: ContenderName, flags: readonly string[]): Contender[] => [
    {
      name: push,
      phase: 'push',
      prepare: () => {
        discard(rsyncRemote);
        settle(warm);
      },
      measure: () => run('rsync', [...flags, '-e', rsh, `${dataDir}/`, remoteSpec(rsyncRemote)], dir),
      after: (i) => {
        if (i === 0) verifyTree(rsyncRemote, fixture, `rsync ${flags.join(' ')} push`);
      },
    },
    {
      name: pull,
      phase: 'pull',
      prepare: () => {
        discard(rsyncBack);
        settle(warm);
      },
      measure: () => run('rsync', [...flags, '-e', rsh, remoteSpec(rsyncRemote), `${rsyncBack}/`], dir),
      after: (i) => {
        if (i === 0) verifyTree(rsyncBack, fixture, `rsync ${flags.join(' ')} pull`);
        discard(rsyncBack);
      },
    },
  ];
  // Each rsync push starts from an empty folder; each pull reads the same files, whichever rsync pushed them.
  const peerContenders: Contender[] = rsync('rsyncPush', 'rsyncPull', ['-a']);
  const diagnostics: Contender[] = [];
  if (options.diagnostics?.rsyncFsync === true)
    diagnostics.push(...rsync('rsyncPushFsync', 'rsyncPullFsync', ['-a', '--fsync']));
  if (options.diagnostics?.splitPull === true) {
    diagnostics.push({
      name: 'sluiceFetch',
      phase: 'pull',
      prepare: () => {
        discard(clone);
        check('git', ['clone', '--quiet', origin, clone], dir);
        settle(warm);
      },
      measure: () => {
        const fetched = sluice(clone, ['fetch', '--json']);
        const result = parseJson(fetched, 'sluice fetch') as FetchJson;
        if (result.transferred?.blobs !== fixture.paths.length)
          throw new Error(
            `sluice fetch: expected ${fixture.paths.length} blobs, got ${fetched.stdout.slice(0, 300)}`,
          );
        // The pull right after it has only the files to write: restore's part of a pull.
        check('sync', [], '/');
        const restored = sluice(clone, ['pull', '--json']);
        const pulled = (parseJson(restored, 'sluice pull') as PullJson).datasets?.[0];
        if (pulled?.written !== fixture.paths.length)
          throw new Error(`sluice pull after fetch wrote ${restored.stdout.slice(0, 300)}`);
        alsoMeasured.push(['sluiceRestore', restored]);
        return fetched;
      },
      after: () => {
        discard(clone);
      },
    });
  }
  if (options.diagnostics?.diskWrite === true) {
    const ddFile = join(dir, 'dd.bin');
    diagnostics.push({
      name: 'diskWrite',
      phase: 'pull',
      prepare: () => {
        rmSync(ddFile, { force: true });
        settle(warm);
      },
      measure: () =>
        run(
          'dd',
          [
            'if=/dev/zero',
            `of=${ddFile}`,
            'bs=1M',
            `count=${Math.ceil(fixture.bytes / MiB)}`,
            'conv=fdatasync',
          ],
          dir,
        ),
      after: () => {
        rmSync(ddFile, { force: true });
      },
    });
  }
  if (sftp !== null) {
    const { scale } = sftp;
    // On a subset, the session's own cost (ssh, login, the sftp server) is
    // timed apart, just before, with a batch of one `pwd`: it is counted
    // once, and only the rest is scaled to the whole set.
    const sessionBatch = join(dir, 'sftp-session.batch');
    writeFileSync(sessionBatch, 'pwd\n');
    const sftpRun = (batch: string): Ran => {
      const session =
        scale === 1 ? undefined : run('sftp', ['-q', '-F', sshConfig, '-b', sessionBatch, SSH_ALIAS], dir);
      const ran = run('sftp', ['-q', '-F', sshConfig, '-b', batch, SSH_ALIAS], dir);
      if (session === undefined) return ran;
      sftpSubsetRuns.push({ batch: basename(batch), ms: round(ran.ms), sessionMs: round(session.ms) });
      const scaled = (whole: number, once: number): number => once + Math.max(0, whole - once) * scale;
      return {
        ...ran,
        ms: scaled(ran.ms, session.ms),
        clientCpuMs: scaled(ran.clientCpuMs, session.clientCpuMs),
        serverCpuMs: scaled(ran.serverCpuMs, session.serverCpuMs),
      };
    };
    peerContenders.push(
      {
        name: 'sftpPut',
        phase: 'push',
        prepare: () => {
          discard(sftpRemote);
          settle(warm);
        },
        measure: () => sftpRun(sftpPutBatch),
        after: (i) => {
          if (i === 0 && filesUnder(sftpRemote).length !== sftp.files)
            throw new Error(`sftp put: ${sftpRemote} does not hold the ${sftp.files} files it was given`);
        },
      },
      {
        name: 'sftpGet',
        phase: 'pull',
        prepare: () => {
          discard(sftpBack);
          settle(warm);
        },
        measure: () => sftpRun(sftpGetBatch),
        after: (i) => {
          if (i === 0 && filesUnder(sftpBack).length !== sftp.files)
            throw new Error(`sftp get: ${sftpBack} does not hold the ${sftp.files} files it fetched`);
          discard(sftpBack);
        },
      },
    );
  }
  let noopProfile: ReturnType<typeof topSelfTime> | undefined;
  /** What a contender's measure timed besides itself (the restore after a fetch). */
  const alsoMeasured: [ContenderName, Ran][] = [];
  const all = [...pushContenders, ...(options.peers ? [...peerContenders, ...diagnostics] : [])];
  const pushes = all.filter((c) => c.phase === 'push');
  const pulls = all.filter((c) => c.phase === 'pull');

  const samples: Partial<Record<string, Samples>> = {};
  const record = (name: string, ran: Ran): void => {
    const entry = (samples[name] ??= { ms: [], maxRssKiB: [], clientCpuMs: [], serverCpuMs: [] });
    entry.ms.push(ran.ms);
    entry.maxRssKiB.push(ran.maxRssKiB);
    entry.clientCpuMs.push(ran.clientCpuMs);
    entry.serverCpuMs.push(ran.serverCpuMs);
  };
  const line = (i: number, label: string, ran: Ran, note = ''): void => {
    console.log(
      `  run ${i + 1}/${options.runs}  ${label.padEnd(36)} ${fixed(ran.ms / 1000, 2).padStart(8)} s  ` +
        `max RSS ${fixed(ran.maxRssKiB / 1024, 0).padStart(4)} MiB  CPU client ${fixed(ran.clientCpuMs / 1000, 1)} s, ` +
        `server ${fixed(ran.serverCpuMs / 1000, 1)} s${note}`,
    );
  };

  for (let i = 0; i < options.runs; i++) {
    // Pushes first (the pulls read what they left on the server), each phase in its own rotated order.
    for (const phase of [pushes, pulls]) {
      for (const contender of orderFor(phase, i)) {
        contender.prepare(i);
        const ran = contender.measure(i);
        contender.after(i);
        record(contender.name, ran);
        const subset = sftpSubsetRuns[sftpSubsetRuns.length - 1];
        const scaled =
          sftp !== null && sftp.scale !== 1 && contender.name.startsWith('sftp') && subset
            ? ` (scaled from ${count(sftp.files)} files in ${fixed(subset.ms / 1000, 2)} s, session ${fixed(subset.sessionMs / 1000, 2)} s)`
            : '';
        line(i, LABELS[contender.name], ran, scaled);
        for (const [name, also] of alsoMeasured.splice(0)) {
          record(name, also);
          line(i, LABELS[name], also);
        }
      }
    }
  }

  // 3. Nothing new to push: the workspace's last push left the remote holding
  // everything. Against git push with nothing to push, to origin as a path
  // (as set up above), then to the same bare repository over ssh, as a
  // team's git remote usually is (sluice's own git calls then go over ssh too).
  if (options.noopRuns !== undefined && options.noopRuns > 0) {
    const gitStatus = check('git', ['status', '--porcelain'], workspace).trim();
    if (gitStatus !== '') throw new Error(`the workspace is not clean before the no-op push: ${gitStatus}`);
    const sluiceNoop = (nodeFlags?: readonly string[]): Ran => {
      const ran = sluice(workspace, ['push', '--json'], nodeFlags);
      const result = parseJson(ran, 'sluice push') as PushJson;
      if (result.refs?.length !== 0 || result.transferred?.blobs !== 0)
        throw new Error(`sluice push with nothing new moved something: ${ran.stdout.slice(0, 300)}`);
      return ran;
    };
    const gitNoop = (): Ran => {
      const ran = run('git', ['push', 'origin', 'main'], workspace);
      return ran;
    };
    const pairs = [
      { sluice: 'sluiceNoop', git: 'gitNoop', url: origin },
      { sluice: 'sluiceNoopSsh', git: 'gitNoopSsh', url: `ssh://${SSH_ALIAS}${origin}` },
    ] as const;
    for (const pair of pairs) {
      check('git', ['remote', 'set-url', 'origin', pair.url], workspace);
      settle(warm);
      sluiceNoop(); // unmeasured: the same warm start for both
      gitNoop();
      for (let i = 0; i < options.noopRuns; i++) {
        for (const name of orderFor([pair.sluice, pair.git], i)) {
          check('sync', [], '/');
          const ran = name === pair.sluice ? sluiceNoop() : gitNoop();
          record(name, ran);
          console.log(
            `  run ${i + 1}/${options.noopRuns}  ${LABELS[name].padEnd(40)} ${fixed(ran.ms / 1000, 3).padStart(8)} s  ` +
              `max RSS ${fixed(ran.maxRssKiB / 1024, 0).padStart(4)} MiB`,
          );
        }
      }
    }
    check('git', ['remote', 'set-url', 'origin', origin], workspace);
    if (options.cpuProf !== undefined) {
      const name = `${options.name}-sluiceNoop`;
      sluiceNoop(profiled(options.cpuProf, name));
      noopProfile = printProfile(`${options.title}, ${LABELS.sluiceNoop}`, join(options.cpuProf, name));
    }
  }

  let profiles: Record<string, ReturnType<typeof topSelfTime>> | undefined;
  if (options.cpuProf !== undefined) {
    profiles = noopProfile ? { sluiceNoop: noopProfile } : {};
    for (const contender of pushContenders) {
      const name = `${options.name}-${contender.name}`;
      const flags = profiled(options.cpuProf, name)!;
      contender.prepare(options.runs);
      contender.measure(options.runs, flags);
      contender.after(options.runs);
      profiles[contender.name] = printProfile(
        `${options.title}, ${LABELS[contender.name]}`,
        join(options.cpuProf, name),
      );
    }
  }

  const medians: Partial<Record<string, Medians>> = {};
  for (const [name, entry] of Object.entries(samples)) {
    if (!entry) continue;
    medians[name] = {
      ms: round(median(entry.ms)),
      maxRssMiB: round(median(entry.maxRssKiB) / 1024),
      clientCpuMs: round(median(entry.clientCpuMs)),
      serverCpuMs: round(median(entry.serverCpuMs)),
    };
  }
  return {
    name: options.name,
    files: fixture.paths.length,
    folders: fixture.folders.length,
    bytes: fixture.bytes,
    runs: options.runs,
    setupMs: { generate: round(generateMs), snapshot: round(snapshotMs) },
    sftp: sftp === null ? null : { ...sftp, subsetRuns: sftpSubsetRuns },
    samples: Object.fromEntries(
      Object.entries(samples).map(([name, entry]) => [
        name,
        {
          ms: entry!.ms.map((ms) => round(ms)),
          maxRssKiB: entry!.maxRssKiB,
          clientCpuMs: entry!.clientCpuMs.map((ms) => round(ms)),
          serverCpuMs: entry!.serverCpuMs.map((ms) => round(ms)),
        },
      ]),
    ),
    medians,
    transferred,
    ...(profiles ? { profiles } : {}),
  };
}

// ---------------------------------------------------------------------------
// The tables

function printCase(result: CaseResult, title: string): void {
  const m = result.medians;
  const sftpNote =
    result.sftp !== null && result.sftp.scale !== 1
      ? `; sftp timed on ${count(result.sftp.files)} files, scaled ×${fixed(result.sftp.scale, 2)} after its session's own time`
      : '';
  console.log(`\n${title} (median of ${result.runs}${sftpNote})`);
  console.log(
    `  ${'tool'.padEnd(38)} ${'median s'.padStart(9)} ${'MiB/s'.padStart(7)} ${'÷ rsync'.padStart(8)} ` +
      `${'max RSS MiB'.padStart(12)} ${'client CPU s'.padStart(13)} ${'server CPU s'.padStart(13)}`,
  );
  const rows: [ContenderName | NoopName, ContenderName | undefined][] = [
    ['sluicePush', 'rsyncPush'],
    ['rsyncPush', 'rsyncPush'],
    ['rsyncPushFsync', 'rsyncPush'],
    ['sftpPut', 'rsyncPush'],
    ['sluicePull', 'rsyncPull'],
    ['rsyncPull', 'rsyncPull'],
    ['rsyncPullFsync', 'rsyncPull'],
    ['sftpGet', 'rsyncPull'],
    ['sluiceFetch', 'rsyncPull'],
    ['sluiceRestore', 'rsyncPull'],
    ['diskWrite', 'rsyncPull'],
    ['sluiceNoop', undefined],
    ['gitNoop', undefined],
    ['sluiceNoopSsh', undefined],
    ['gitNoopSsh', undefined],
  ];
  for (const [name, reference] of rows) {
    const row = m[name];
    if (!row) continue;
    const base = reference === undefined ? undefined : m[reference];
    const noop = reference === undefined;
    console.log(
      `  ${LABELS[name].padEnd(38)} ${fixed(row.ms / 1000, noop ? 3 : 2).padStart(9)} ` +
        `${(noop ? '' : fixed(result.bytes / MiB / (row.ms / 1000), 1)).padStart(7)} ` +
        `${(base ? fixed(row.ms / base.ms, 2) : '').padStart(8)} ${fixed(row.maxRssMiB, 0).padStart(12)} ` +
        `${fixed(row.clientCpuMs / 1000, 2).padStart(13)} ${fixed(row.serverCpuMs / 1000, 2).padStart(13)}`,
    );
  }
  const { push, pull } = result.transferred;
  if (push && pull)
    console.log(
      `  sluice requests to the remote: push ${count(push.requests)}, pull ${count(pull.requests)} ` +
        `(for ${count(result.files)} files)`,
    );
}

interface Target {
  readonly what: string;
  readonly value: number;
  readonly limit: string;
  readonly met: boolean;
}

function targetsOf(big: CaseResult | undefined, small: CaseResult | undefined): Target[] {
  const targets: Target[] = [];
  const ms = (result: CaseResult, name: string): number => result.medians[name]?.ms ?? Number.NaN;
  if (big) {
    for (const [way, ours, theirs] of [
      ['push', 'sluicePush', 'rsyncPush'],
      ['pull', 'sluicePull', 'rsyncPull'],
    ] as const) {
      const ratio = ms(big, theirs) / ms(big, ours);
      targets.push({
        what: `${fixed(big.bytes / GiB, 2)} GiB in ${big.files} files, ${way}: throughput ÷ rsync's`,
        value: round(ratio, 3),
        limit: '≥ 0.80',
        met: ratio >= 0.8,
      });
    }
  }
  if (small) {
    for (const [way, ours, theirs, sftp] of [
      ['push', 'sluicePush', 'rsyncPush', 'sftpPut'],
      ['pull', 'sluicePull', 'rsyncPull', 'sftpGet'],
    ] as const) {
      const ratio = ms(small, ours) / ms(small, theirs);
      targets.push({
        what: `${count(small.files)} small files, ${way}: time ÷ rsync's`,
        value: round(ratio, 3),
        limit: '≤ 1.50',
        met: ratio <= 1.5,
      });
      const speedup = ms(small, sftp) / ms(small, ours);
      if (Number.isFinite(speedup))
        targets.push({
          what: `${count(small.files)} small files, ${way}: one SFTP request sequence per file ÷ sluice`,
          value: round(speedup, 1),
          limit: '≥ 20',
          met: speedup >= 20,
        });
    }
    for (const [ours, git, how] of [
      ['sluiceNoop', 'gitNoop', 'origin a path'],
      ['sluiceNoopSsh', 'gitNoopSsh', 'origin over ssh'],
    ] as const) {
      const noop = ms(small, ours);
      if (!Number.isFinite(noop)) continue;
      targets.push({
        what: `no-op push on ${count(small.files)} files (${how}): seconds`,
        value: round(noop / 1000, 3),
        limit: '< 1',
        met: noop < 1000,
      });
      const ratio = noop / ms(small, git);
      targets.push({
        what: `no-op push on ${count(small.files)} files (${how}): time ÷ git push's`,
        value: round(ratio, 2),
        limit: '≤ 2',
        met: ratio <= 2,
      });
    }
  }
  return targets;
}

interface MemoryRow {
  readonly command: 'push' | 'pull';
  readonly data: string;
  readonly smallerMiB: number;
  readonly fullMiB: number;
  readonly ratio: number;
  /** Flat: the full size's max RSS at most 1.25× the smaller size's. */
  readonly flat: boolean;
}

function memoryRows(pairs: readonly { data: string; smaller: CaseResult; full: CaseResult }[]): MemoryRow[] {
  const rows: MemoryRow[] = [];
  for (const { data, smaller, full } of pairs) {
    for (const [command, name] of [
      ['push', 'sluicePush'],
      ['pull', 'sluicePull'],
    ] as const) {
      const small = smaller.medians[name]?.maxRssMiB ?? Number.NaN;
      const large = full.medians[name]?.maxRssMiB ?? Number.NaN;
      rows.push({
        command,
        data,
        smallerMiB: small,
        fullMiB: large,
        ratio: round(large / small, 2),
        flat: large <= 1.25 * small,
      });
    }
  }
  return rows;
}

// ---------------------------------------------------------------------------

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string' },
      quick: { type: 'boolean', default: false },
      only: { type: 'string', default: 'big,small,memory' },
      'sftp-files': { type: 'string' },
      'cpu-prof': { type: 'string' },
      rtt: { type: 'string', default: '0' },
      keep: { type: 'boolean', default: false },
    },
  });
  const rttMs = Number(values.rtt);
  if (!Number.isFinite(rttMs) || rttMs < 0) throw new Error('--rtt takes milliseconds');
  const scale = values.quick ? QUICK : FULL;
  const runs = Number(values.runs ?? (values.quick ? '1' : '3'));
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs takes a positive integer');
  const only = new Set(values.only.split(','));
  if ([...only].some((name) => !['big', 'small', 'memory'].includes(name)))
    throw new Error('--only takes big, small and memory, comma-separated');
  const sftpFiles = Number(values['sftp-files'] ?? scale.smallFiles);
  if (!Number.isInteger(sftpFiles) || sftpFiles < 1) throw new Error('--sftp-files takes a positive integer');
  const cpuProf = values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof']);
  for (const [tool, args] of [
    [TIME, ['--version']],
    ['rsync', ['--version']],
    ['sftp', ['-h']],
  ] as const) {
    const probe = spawnSync(tool, args, { encoding: 'utf8' });
    if (probe.error)
      throw new Error(
        `${tool} is not installed (apt-get install -y time rsync openssh-client); it is needed here`,
      );
  }

  const root = mkdtempSync(join(tmpdir(), 'sluice-bench-remote-'));
  scratch = root;
  // Largest at once, for the 1 GiB: the files, sluice's cache of them, the
  // blob remote, rsync's copy, and the clone's cache and files while a pull
  // runs; for the small files the same six copies at a 4 KiB block each.
  const needed = Math.max(
    only.has('big') ? 6 * scale.bigBytes : 0,
    only.has('small') ? 7 * scale.smallFiles * 4096 : 0,
  );
  const fs = statfsSync(root);
  const free = fs.bavail * fs.bsize;
  if (free < Math.max(needed * 1.05, values.quick ? 0 : 6 * GiB)) {
    rmSync(root, { recursive: true, force: true });
    throw new Error(
      `${root} has ${fixed(free / GiB, 1)} GiB free; this benchmark needs about ${fixed(Math.max(needed, values.quick ? 0 : 6 * GiB) / GiB, 1)} GiB ` +
        '(set TMPDIR to a roomier disk, or run --quick)',
    );
  }

  let stopping = false;
  const cleanup = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    if (sshd) await sshd.stop();
    sshd = undefined;
    if (values.keep) console.log(`Fixtures kept in ${root}`);
    else rmSync(root, { recursive: true, force: true });
  };
  process.on('SIGINT', () => {
    void cleanup().then(() => process.exit(130));
  });
  try {
    sshd = await startSshd();
    sshConfig = rttMs > 0 ? delayedConfig(sshd.configFile, rttMs) : sshd.configFile;
    makeEnvironment(join(root, 'home'), sshConfig);
    const versions = {
      node: process.version,
      openssh: version('ssh', ['-V']),
      rsync: version('rsync', ['--version']),
      git: version('git', ['--version']),
    };
    const machine = {
      cpu: cpus()[0]?.model ?? 'unknown',
      threads: availableParallelism(),
      memoryGiB: round(totalmem() / GiB),
      freeDiskGiB: round(free / GiB),
      loadAverageAtStart: loadavg().map((value) => round(value, 2)),
    };
    console.log(
      `sluice remote benchmark over SSH to 127.0.0.1:${sshd.port} (sshd pid ${sshd.pid}` +
        `${rttMs > 0 ? `; a relay adds ${rttMs} ms to every round trip` : ''}): ` +
        `${machine.threads} threads of ${machine.cpu}, ${machine.memoryGiB} GiB, ` +
        `load ${machine.loadAverageAtStart.join(' ')}; ${runs} runs; fixtures in ${root}`,
    );
    const codeAtStart = codeUnderTest();
    const bigTitle = `${fixed(scale.bigBytes / GiB, 2)} GiB in ${scale.bigFiles} files`;
    const smallTitle = `${count(scale.smallFiles)} files of about ${scale.smallMean} bytes in ${count(scale.smallFolders)} folders`;
    const results: Record<string, CaseResult> = {};
    const runCase = (options: CaseOptions): CaseResult => {
      const result = benchCase(root, options);
      if (!values.keep) rmSync(join(root, options.name), { recursive: true, force: true });
      results[options.name] = result;
      return result;
    };

    if (only.has('big')) {
      const result = runCase({
        name: 'big',
        title: bigTitle,
        dataset: 'big',
        make: (dataDir) => writeBigFixture(dataDir, scale.bigFiles, scale.bigBytes),
        runs,
        peers: true,
        diagnostics: { rsyncFsync: true, splitPull: true, diskWrite: true },
        ...(cpuProf ? { cpuProf } : {}),
      });
      printCase(result, bigTitle);
    }
    if (only.has('small')) {
      const result = runCase({
        name: 'small',
        title: smallTitle,
        dataset: 'small',
        make: (dataDir) => writeSmallFixture(dataDir, scale.smallFiles, scale.smallFolders, scale.smallMean),
        runs,
        peers: true,
        sftpFiles: Math.min(sftpFiles, scale.smallFiles),
        // rsync --fsync would wait for 100,000 journal commits; sluice's pull makes its blobs durable with one flush.
        diagnostics: { splitPull: true },
        noopRuns: Math.max(5, runs),
        ...(cpuProf ? { cpuProf } : {}),
      });
      printCase(result, smallTitle);
    }
    if (only.has('memory')) {
      // The same sluice push and pull on less data, once: does memory follow the data?
      const bigBytes = scale.bigBytes / BIG_MEMORY_FRACTION;
      runCase({
        name: 'bigMemory',
        title: `Memory: ${fixed(bigBytes / MiB, 0)} MiB in ${scale.bigFiles} files`,
        dataset: 'big',
        make: (dataDir) => writeBigFixture(dataDir, scale.bigFiles, bigBytes),
        runs: 1,
        peers: false,
      });
      const files = scale.smallFiles / SMALL_MEMORY_FRACTION;
      const folders = scale.smallFolders / SMALL_MEMORY_FRACTION;
      runCase({
        name: 'smallMemory',
        title: `Memory: ${count(files)} small files`,
        dataset: 'small',
        make: (dataDir) => writeSmallFixture(dataDir, files, folders, scale.smallMean),
        runs: 1,
        peers: false,
      });
    }

    const targets = targetsOf(results['big'], results['small']);
    if (targets.length > 0) {
      console.log('\nTargets (issue 14)');
      for (const target of targets)
        console.log(
          `  ${target.what.padEnd(72)} ${String(target.value).padStart(7)} (${target.limit}) ${verdict(target.met)}`,
        );
    }
    const memoryPairs: { data: string; smaller: CaseResult; full: CaseResult }[] = [];
    if (results['big'] && results['bigMemory'])
      memoryPairs.push({
        data: `${fixed(results['bigMemory'].bytes / MiB, 0)} MiB → ${fixed(results['big'].bytes / MiB, 0)} MiB in ${scale.bigFiles} files`,
        smaller: results['bigMemory'],
        full: results['big'],
      });
    if (results['small'] && results['smallMemory'])
      memoryPairs.push({
        data: `${count(results['smallMemory'].files)} → ${count(results['small'].files)} small files`,
        smaller: results['smallMemory'],
        full: results['small'],
      });
    const memory = memoryRows(memoryPairs);
    if (memory.length > 0) {
      console.log('\nMemory: max RSS of the sluice process (or the largest child it waited for), MiB');
      for (const row of memory)
        console.log(
          `  ${row.command} ${row.data.padEnd(40)} ${fixed(row.smallerMiB, 0).padStart(5)} → ${fixed(row.fullMiB, 0).padStart(5)} ` +
            `(×${fixed(row.ratio, 2)}) ${row.flat ? 'flat' : 'GROWS'}`,
        );
    }

    const code = codeUnderTest();
    // Others may rebuild dist/ while this runs; then the runs measured two builds.
    if (code.cliSha256 !== codeAtStart.cliSha256)
      console.log('\nWARNING: dist/cli.js changed during the benchmark; the runs mix two builds.');
    const load = summarizeLoad();
    const report = {
      date: new Date().toISOString(),
      code: { ...code, cliChangedDuringRun: code.cliSha256 !== codeAtStart.cliSha256 },
      quick: values.quick,
      runs,
      rttMs,
      machine: {
        ...machine,
        loadAverageAtEnd: loadavg().map((value) => round(value, 2)),
        loadAverageDuringRuns: load,
      },
      versions,
      cases: results,
      targets,
      memory,
    };
    mkdirSync(dirname(resultsPath), { recursive: true });
    writeFileSync(resultsPath, `${JSON.stringify(report, null, 2)}\n`);
    console.log(
      `\n1-minute load average before each command: ${load.min} to ${load.max}, median ${load.median}`,
    );
    console.log(`Results written to ${resultsPath}`);
  } finally {
    await cleanup();
  }
}

// ---------------------------------------------------------------------------
// --rtt: a network farther away than loopback, for every tool alike

/**
 * A copy of `configFile` whose host is reached through this script as a
 * ProxyCommand relay that holds each chunk rttMs/2 in each direction.
 */
function delayedConfig(configFile: string, rttMs: number): string {
  const lines = readFileSync(configFile, 'utf8').split('\n');
  const host = lines.findIndex((line) => line.startsWith('Host '));
  lines.splice(host + 1, 0, `  ProxyCommand ${process.execPath} ${__filename} --relay %h %p ${rttMs}`);
  const path = join(scratch, 'delayed.ssh_config');
  writeFileSync(path, lines.join('\n'));
  return path;
}

/**
 * The relay: stdin to a TCP connection and back, each chunk delivered half
 * the round trip later (Node runs timers of one duration in the order they
 * were set, so the bytes stay in order). No bandwidth limit: latency only.
 */
function relay(host: string, port: number, rttMs: number): void {
  const half = rttMs / 2;
  const socket = createConnection({ host, port });
  socket.setNoDelay(true);
  process.stdin.on('data', (chunk: Buffer) => {
    setTimeout(() => socket.write(chunk), half);
  });
  process.stdin.on('end', () => {
    setTimeout(() => socket.end(), half);
  });
  socket.on('data', (chunk: Buffer) => {
    setTimeout(() => process.stdout.write(chunk), half);
  });
  socket.on('end', () => {
    setTimeout(() => process.stdout.end(), half);
  });
  socket.on('error', (error) => {
    process.stderr.write(`relay: ${error.message}\n`);
    process.exit(1);
  });
}

if (process.argv[2] === '--relay') {
  relay(process.argv[3]!, Number(process.argv[4]), Number(process.argv[5]));
} else {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  });
}
