// Tests that drive Sluice as a user does: the built `sluice` command (dist/cli.js)
// run in temp folders that are real git repositories, and helpers to read back
// what it left on disk and in git.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { restoreDataset } from '../../src/core/snapshots/restore';
import { fsck } from '../../src/core/operations/maintenance';
import { snapshotDataset, type SnapshotResult } from '../../src/core/snapshots/snapshots';
import { openWorkspace } from '../../src/core/workspace';

// Bundled tests run from out/test/<level>/; the repository root is three levels up.
export const ROOT = join(__dirname, '../../..');
export const CLI = join(ROOT, 'dist/cli.js');

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Variables a developer's shell, or npm itself (EDITOR), commonly sets and that
 * simple-git refuses to hand on to git: with any of them set, every git-backed
 * command fails. That is a bug with a test of its own (snapshots.test.ts,
 * "whatever EDITOR …"); the other tests clear them, so each checks one thing.
 */
export const REFUSED_BY_SIMPLE_GIT = ['EDITOR', 'VISUAL', 'PAGER', 'PREFIX', 'SSH_ASKPASS'] as const;

/** Clears REFUSED_BY_SIMPLE_GIT from this process, so the engine in-process and every CLI started inherit none. */
export function clearVariablesRefusedBySimpleGit(): void {
  for (const name of REFUSED_BY_SIMPLE_GIT) Reflect.deleteProperty(process.env, name);
}

/** Runs `sluice ARGS` in `cwd` and waits for it. */
export function sluice(
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): CliResult {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd, env, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs `sluice ARGS --json`, asserts it succeeded, and returns its parsed output. */
export function sluiceJson(args: readonly string[], cwd: string): unknown {
  const result = sluice([...args, '--json'], cwd);
  assert.equal(result.status, 0, `sluice ${args.join(' ')} failed: ${result.stderr}`);
  assert.equal(result.stderr, '', `sluice ${args.join(' ')} wrote to stderr`);
  return JSON.parse(result.stdout) as unknown;
}

export interface RunningSluice {
  readonly child: ChildProcess;
  /** Resolves when the process is gone, with its output; `signal` is set when it was killed. */
  readonly done: Promise<CliResult & { readonly signal: NodeJS.Signals | null }>;
  /** SIGKILLs the process and everything it started (git), like a crash of the whole job. */
  crash(): void;
}

/** Starts `sluice ARGS` in its own process group, without waiting. */
export function startSluice(
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): RunningSluice {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env, detached: true });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<CliResult & { signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status, signal) => {
      resolve({ status, signal, stdout, stderr });
    });
  });
  return {
    child,
    done,
    crash() {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Already gone: the crash came after the end.
      }
    },
  };
}

/** Runs `sluice ARGS` without blocking, so independent commands can run side by side. */
export function sluiceAsync(
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env, timeout: 60_000 });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status) => {
      resolve({ status, stdout, stderr });
    });
  });
}

/**
 * The engine in-process, for steps that only set the scene (their CLI face is
 * tested elsewhere): it spares a process start-up per step. Returns the new
 * snapshot id, undefined when nothing changed.
 */
export async function recordSnapshot(
  root: string,
  dataset: string,
  message = '',
): Promise<string | undefined> {
  return (await snapshotInProcess(root, dataset, message)).id;
}

/** The engine's whole answer to a snapshot, in-process (`sluice snapshot --json` prints from it). */
export async function snapshotInProcess(
  root: string,
  dataset: string,
  message = '',
): Promise<SnapshotResult> {
  return snapshotDataset(await openWorkspace(root), dataset, message);
}

/** Restores in-process (see recordSnapshot); throws what the CLI would print. */
export async function restoreSnapshot(
  root: string,
  dataset: string,
  id: string,
  force = false,
): Promise<void> {
  await restoreDataset(await openWorkspace(root), dataset, id, { force });
}

/** The failure contract: one line on stderr, prefixed `sluice:`, and no stack trace. */
export function assertOneLineError(result: CliResult, exitCode: number, ...mentions: string[]): void {
  assert.equal(result.status, exitCode, `exit code; stderr: ${result.stderr}`);
  const lines = result.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one stderr line, got:\n${result.stderr}`);
  assert.match(lines[0]!, /^sluice: \S/);
  assert.doesNotMatch(result.stderr, /^\s+at /m);
  for (const mention of mentions)
    assert.ok(lines[0]!.includes(mention), `"${lines[0]!}" mentions ${mention}`);
}

/** Runs git in `cwd`, asserts it succeeded, and returns its trimmed output. */
export function git(cwd: string, ...args: string[]): string {
  const result = spawnSync('git', args, { cwd, encoding: 'utf8' });
  assert.equal(result.status, 0, `git ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** `size` bytes that neither repeat nor compress, the same for the same seed. */
export function noise(size: number, seed: string): Buffer {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return Buffer.concat([cipher.update(Buffer.alloc(size)), cipher.final()]);
}

/** A manifest declaring `datasets` (name → path), all read by one stage so none is unused. */
export function manifestFor(datasets: Readonly<Record<string, string>>): string {
  const names = Object.keys(datasets);
  return [
    'version: 1',
    'datasets:',
    ...names.flatMap((name) => [`  ${name}:`, `    path: ${JSON.stringify(datasets[name])}`]),
    'pipelines:',
    '  main:',
    '    stages:',
    '      use:',
    '        run: node -e 0',
    `        datasets: [${names.join(', ')}]`,
    '        outs: [out]',
    '',
  ].join('\n');
}

/**
 * A fresh workspace in a temp folder: a git repository with a local identity
 * and a sluice.yaml declaring `datasets` (name → path). Returns its root.
 */
export function createWorkspace(datasets: Readonly<Record<string, string>>, prefix = 'sluice-ws-'): string {
  const root = mkdtempSync(join(tmpdir(), prefix));
  git(root, 'init', '--quiet');
  git(root, 'config', 'user.name', 'Sluice Test');
  git(root, 'config', 'user.email', 'test@sluice.invalid');
  writeFileSync(join(root, 'sluice.yaml'), manifestFor(datasets));
  writeFileSync(join(root, '.gitignore'), '.sluice/\ndata/\n');
  return root;
}

/** Removes a temp folder, read-only files and folders included. */
export function removeTree(root: string): void {
  const makeWritable = (path: string): void => {
    let stat;
    try {
      stat = lstatSync(path);
    } catch {
      return;
    }
    if (!stat.isDirectory()) return;
    chmodSync(path, 0o755);
    for (const name of readdirSync(path)) makeWritable(join(path, name));
  };
  makeWritable(root);
  rmSync(root, { recursive: true, force: true });
}

/** What a test writes or expects on disk, path by path ('' for a dataset that is one file). */
export type TreeEntry =
  | { readonly type: 'file'; readonly content: Buffer; readonly mode: number }
  | { readonly type: 'link'; readonly target: string }
  | { readonly type: 'dir'; readonly mode: number };

export type Tree = ReadonlyMap<string, TreeEntry>;

/** A file entry, 0644 unless told. */
export function fileEntry(content: string | Buffer, mode = 0o644): TreeEntry {
  return { type: 'file', content: Buffer.from(content), mode };
}

/** Convenience for building trees: strings and Buffers are files with mode 0644. */
export function tree(spec: Readonly<Record<string, string | Buffer | TreeEntry>>): Tree {
  return new Map(
    Object.entries(spec).map(([path, value]): [string, TreeEntry] => [
      path,
      typeof value === 'string' || Buffer.isBuffer(value)
        ? { type: 'file', content: Buffer.from(value), mode: 0o644 }
        : value,
    ]),
  );
}

/** Writes `entries` under `base` (a folder, or the file itself for the '' entry). */
export function writeTree(base: string, entries: Tree): void {
  for (const [path, entry] of entries) {
    const target = path === '' ? base : join(base, path);
    mkdirSync(dirname(target), { recursive: true });
    if (entry.type === 'dir') {
      mkdirSync(target, { recursive: true });
      chmodSync(target, entry.mode);
    } else if (entry.type === 'link') {
      rmSync(target, { force: true });
      symlinkSync(entry.target, target);
    } else {
      rmSync(target, { force: true });
      writeFileSync(target, entry.content, { mode: entry.mode });
      chmodSync(target, entry.mode);
    }
  }
}

/**
 * Reads what is on disk at `base` as a Tree: files with their bytes and
 * permission bits, links with their targets (never followed), and empty folders.
 * Folders holding something are implied by their contents, as in a snapshot.
 * Names matching `skip` are left out (and not counted as content).
 */
export function readTree(base: string, skip?: RegExp): Map<string, TreeEntry> {
  const entries = new Map<string, TreeEntry>();
  const visit = (path: string, relative: string): void => {
    let stat;
    try {
      stat = lstatSync(path);
    } catch {
      return;
    }
    if (stat.isSymbolicLink()) entries.set(relative, { type: 'link', target: readlinkSync(path) });
    else if (stat.isFile())
      entries.set(relative, { type: 'file', content: readFileSync(path), mode: stat.mode & 0o777 });
    else if (stat.isDirectory()) {
      const names = readdirSync(path).filter((name) => !skip?.test(name));
      if (names.length === 0 && relative !== '')
        entries.set(relative, { type: 'dir', mode: stat.mode & 0o777 });
      for (const name of names) visit(join(path, name), relative === '' ? name : `${relative}/${name}`);
    }
  };
  visit(base, '');
  return entries;
}

/** Asserts two trees hold the same paths, kinds, modes, link targets, and bytes. */
export function assertSameTree(actual: Tree, expected: Tree, what = 'the dataset'): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), `paths of ${what}`);
  for (const [path, want] of expected) {
    const got = actual.get(path)!;
    const name = JSON.stringify(path);
    assert.equal(got.type, want.type, `${name} in ${what} is a ${want.type}`);
    if (got.type === 'file' && want.type === 'file') {
      assert.ok(got.content.equals(want.content), `bytes of ${name} in ${what}`);
      assert.equal(got.mode.toString(8), want.mode.toString(8), `mode of ${name} in ${what}`);
    } else if (got.type === 'link' && want.type === 'link') {
      assert.equal(got.target, want.target, `target of link ${name} in ${what}`);
    } else if (got.type === 'dir' && want.type === 'dir') {
      assert.equal(got.mode.toString(8), want.mode.toString(8), `mode of folder ${name} in ${what}`);
    }
  }
}

/** Where blob `hash` lives in the workspace's object store. */
export function blobPath(root: string, hash: string): string {
  return join(root, '.sluice', 'objects', 'sha256', hash.slice(0, 2), hash.slice(2));
}

/** Every blob file in the workspace's object store. */
export function listBlobs(root: string): string[] {
  const objects = join(root, '.sluice', 'objects', 'sha256');
  let fans: string[];
  try {
    fans = readdirSync(objects);
  } catch {
    return [];
  }
  return fans.flatMap((fan) => readdirSync(join(objects, fan)).map((rest) => fan + rest)).sort();
}

/** A snapshot record as stored in git (the fields tests look at), its files gathered from its listings. */
export interface StoredRecord {
  readonly format: number;
  readonly dataset: string;
  readonly path: string;
  readonly parent: string | null;
  readonly message: string;
  readonly files: readonly {
    readonly path: string;
    readonly type: 'file' | 'link' | 'dir';
    readonly sha256?: string;
    readonly size?: number;
    readonly target?: string;
  }[];
}

export interface StoredSnapshot {
  readonly commit: string;
  readonly parents: readonly string[];
  /** The Sluice-Snapshot trailer of the commit. */
  readonly id: string;
  /** snapshot.json (the header) exactly as stored. */
  readonly text: string;
  readonly record: StoredRecord;
}

/**
 * Reads a dataset's whole commit chain straight from git, newest first, and
 * checks what every reader relies on: each commit has at most one parent; its
 * snapshot.json parses and its digest is the id in the commit; every listing
 * under data/ is named by its own digest, every subfolder line names the
 * digest of that subfolder's listing, and the header names the root's.
 */
export function readChain(root: string, ref: string): StoredSnapshot[] {
  const resolved = spawnSync('git', ['rev-parse', '--verify', '--quiet', ref], {
    cwd: root,
    encoding: 'utf8',
  });
  if (resolved.status !== 0) return [];
  const lines = git(root, 'rev-list', '--parents', ref).split('\n');
  const commits = lines.map((line) => {
    const [commit, ...parents] = line.split(' ');
    return { commit: commit!, parents };
  });
  for (const { commit, parents } of commits)
    assert.ok(parents.length <= 1, `${ref}: commit ${commit} has ${parents.length} parents`);
  const objects = catFile(
    root,
    commits.flatMap(({ commit }) => [commit, `${commit}:snapshot.json`]),
  );
  return commits.map(({ commit, parents }, index) => {
    const commitText = objects[index * 2];
    const headerText = objects[index * 2 + 1];
    assert.ok(commitText !== undefined, `${ref}: commit ${commit} is readable`);
    assert.ok(headerText !== undefined, `${ref}: commit ${commit} holds snapshot.json`);
    const id = /^Sluice-Snapshot: ([0-9a-f]{64})$/m.exec(commitText)?.[1];
    assert.ok(id, `${ref}: commit ${commit} names its snapshot id`);
    let header: Omit<StoredRecord, 'files'> & { content: string };
    try {
      header = JSON.parse(headerText) as typeof header;
    } catch (error) {
      assert.fail(`${ref}: snapshot.json of ${commit} does not parse: ${String(error)}`);
    }
    assert.equal(
      sha256(headerText.replace(/\n$/, '')),
      id,
      `${ref}: the id of ${commit} is its header's digest`,
    );
    assert.equal(header.format, 2, `${ref}: ${commit} is a record of the current format`);
    const files = readListings(root, ref, commit, header.content);
    return { commit, parents, id, text: headerText, record: { ...header, files } };
  });
}

/** The files of a record, from its listings, checking every digest on the way. */
function readListings(root: string, ref: string, commit: string, content: string): StoredRecord['files'] {
  const listed = spawnSync('git', ['ls-tree', '-r', '-z', commit, 'data'], { cwd: root, encoding: 'utf8' });
  assert.equal(listed.status, 0, listed.stderr);
  const listings = new Map<string, { digest: string; blob: string }>();
  for (const line of listed.stdout.split('\0').filter(Boolean)) {
    const [meta, path] = line.split('\t') as [string, string];
    const match = /^(.*)\/listing-([0-9a-f]{64})$/.exec(path);
    assert.ok(match, `${ref}: ${commit} holds only listings under data/, not ${path}`);
    const folder = match[1]!
      .split('/')
      .slice(1)
      .map((part) => {
        assert.ok(part.startsWith('d-'), `${ref}: folder ${part} in ${commit} starts with d-`);
        return part.slice(2);
      })
      .join('/');
    assert.ok(!listings.has(folder), `${ref}: one listing for ${folder || 'the root'} in ${commit}`);
    listings.set(folder, { digest: match[2]!, blob: meta.split(' ')[2]! });
  }
  assert.equal(listings.get('')?.digest, content, `${ref}: the header of ${commit} names the root listing`);
  const texts = catFile(
    root,
    [...listings.values()].map((listing) => listing.blob),
  );
  const files: {
    path: string;
    type: 'file' | 'link' | 'dir';
    sha256?: string;
    size?: number;
    target?: string;
  }[] = [];
  [...listings].forEach(([folder, { digest }], i) => {
    const text = texts[i]!;
    assert.equal(
      sha256(text),
      digest,
      `${ref}: listing of ${folder || 'the root'} in ${commit} is named by its digest`,
    );
    for (const line of text.split('\n').filter(Boolean)) {
      const fields = line.split('\t');
      const name = JSON.parse(fields[fields.length - 1]!) as string;
      const path = folder === '' ? name : `${folder}/${name}`;
      if (fields[0] === 'f') files.push({ path, type: 'file', size: Number(fields[1]), sha256: fields[3]! });
      else if (fields[0] === 'l')
        files.push({ path, type: 'link', target: JSON.parse(fields[1]!) as string });
      else if (fields[0] === 'e') files.push({ path, type: 'dir' });
      else {
        assert.equal(fields[0], 'd', `${ref}: line kind in ${commit}: ${line}`);
        assert.equal(
          listings.get(path)?.digest,
          fields[1],
          `${ref}: ${path} in ${commit} has the listing its parent names`,
        );
      }
    }
  });
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Objects' contents through `git cat-file --batch` (undefined for a missing object). */
function catFile(root: string, names: readonly string[]): (string | undefined)[] {
  const batch = spawnSync('git', ['cat-file', '--batch'], {
    cwd: root,
    input: `${names.join('\n')}\n`,
    maxBuffer: 1 << 28,
  });
  assert.equal(batch.status, 0, String(batch.stderr));
  return splitBatch(batch.stdout);
}

/** Splits `git cat-file --batch` output into object contents (undefined for a missing object). */
function splitBatch(output: Buffer): (string | undefined)[] {
  const objects: (string | undefined)[] = [];
  let at = 0;
  while (at < output.length) {
    const newline = output.indexOf(0x0a, at);
    const header = output.subarray(at, newline).toString('utf8');
    at = newline + 1;
    const match = /^\S+ (\S+) (\d+)$/.exec(header);
    if (!match) {
      objects.push(undefined); // "<name> missing"
      continue;
    }
    const size = Number(match[2]);
    objects.push(output.subarray(at, at + size).toString('utf8'));
    at += size + 1;
  }
  return objects;
}

/** Every ref under refs/sluice/, with the commit it points at. */
export function sluiceRefs(root: string): Map<string, string> {
  const output = git(root, 'for-each-ref', '--format=%(refname) %(objectname) %(objecttype)', 'refs/sluice');
  const refs = new Map<string, string>();
  for (const line of output.split('\n').filter(Boolean)) {
    const [name, id, type] = line.split(' ');
    assert.equal(type, 'commit', `${name!} points at a commit`);
    refs.set(name!, id!);
  }
  return refs;
}

/** The `sluice fsck --json` contract on a clean store: exit 0, nothing damaged, nothing missing. */
export function assertFsckClean(root: string): void {
  const result = sluice(['fsck', '--json'], root);
  assert.equal(result.status, 0, `fsck: ${result.stdout}${result.stderr}`);
  const report = JSON.parse(result.stdout) as { damaged: unknown[]; missing: unknown[] };
  assert.deepEqual(report.damaged, [], 'no damaged blob');
  assert.deepEqual(report.missing, [], 'no missing blob');
}

/** The same check in-process (the engine's fsck, which `sluice fsck` prints), where the CLI face is not the point. */
export async function assertFsckCleanInProcess(root: string): Promise<void> {
  const report = await fsck(await openWorkspace(root));
  assert.deepEqual(report.damaged, [], 'no damaged blob');
  assert.deepEqual(report.missing, [], 'no missing blob');
}
