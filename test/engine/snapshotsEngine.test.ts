// The snapshot engine in-process: the record format (listings per folder,
// unchanged folders sharing git objects, first-format records still read),
// the stat cache (racy window, its log of changed folders), worker threads,
// cancellation, and a scan of 100,000 files sharing the event loop.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { DatasetState } from '../../src/core/snapshots/datasetState';
import { Folder } from '../../src/core/snapshots/folder';
import { restoreDataset } from '../../src/core/snapshots/restore';
import { KIND_FILE, readFolders } from '../../src/core/fs/folderReads';
import { CancelledError } from '../../src/core/errors';
import { Slicer } from '../../src/core/snapshots/slices';
import { diffDataset, listSnapshots, snapshotDataset } from '../../src/core/snapshots/snapshots';
import { formatListing, parseListing, type ListingEntry } from '../../src/core/snapshots/listing';
import { fsck, gc } from '../../src/core/operations/maintenance';
import { openWorkspace, type Workspace } from '../../src/core/workspace';
import {
  assertFsckCleanInProcess,
  assertSameTree,
  clearVariablesRefusedBySimpleGit,
  createWorkspace,
  git,
  noise,
  readChain,
  readTree,
  removeTree,
  sha256,
  tree,
  writeTree,
  type Tree,
} from '../support/workspace';

clearVariablesRefusedBySimpleGit();

const REF = 'refs/sluice/datasets/d';

function workspace(t: TestContext): { root: string; base: string } {
  const root = createWorkspace({ d: 'data/d' }, 'sluice-engine-');
  t.after(() => {
    removeTree(root);
  });
  return { root, base: join(root, 'data/d') };
}

/** `folders` folders of `files` small files each, named so that versions differ where asked. */
function manyFiles(folders: number, files: number, version = (_: number, __: number): string => 'v0'): Tree {
  const entries: [string, string][] = [];
  for (let f = 0; f < folders; f++)
    for (let i = 0; i < files; i++) entries.push([`f${f}/x${i}.csv`, `${f},${i},${version(f, i)}\n`]);
  return tree(Object.fromEntries(entries));
}

/** The tree and blob ids of a commit's record, by path under data/. */
function recordObjects(root: string, commit: string): Map<string, string> {
  const objects = new Map<string, string>();
  for (const line of git(root, 'ls-tree', '-r', '-t', commit, 'data').split('\n')) {
    const [meta, path] = line.split('\t') as [string, string];
    objects.set(path, meta.split(' ')[2]!);
  }
  return objects;
}

void describe('the record format', () => {
  void test('listings keep every kind of entry and any name exactly', () => {
    const entries: ListingEntry[] = [
      { name: 'plain.csv', type: 'file', size: 12, mode: 0o644, sha256: sha256('plain') },
      { name: 'tab\there "quoted" \\ back', type: 'file', size: 0, mode: 0o444, sha256: sha256('') },
      { name: 'new\nline ünïcödé 数据', type: 'link', target: '../target\twith\ttabs' },
      { name: 'empty', type: 'empty', mode: 0o700 },
      { name: 'sub', type: 'folder', digest: sha256('sub') },
      { name: '', type: 'file', size: 3, mode: 0o755, sha256: sha256('one') },
    ];
    const text = formatListing(entries);
    assert.equal(text.split('\n').length, entries.length + 1, 'one line per entry, whatever the names hold');
    const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    assert.deepEqual(parseListing(text), sorted);
    assert.equal(formatListing(parseListing(text)), text, 'the same text again: the digest is stable');
  });

  void test('a change rewrites only its folder and the folders above; the rest keeps its git objects', async (t) => {
    const { root, base } = workspace(t);
    writeTree(base, manyFiles(3, 4));
    writeTree(base, tree({ 'f2/deep/er/z.csv': 'z\n', 'top.csv': 'top\n' }));
    const ws = await openWorkspace(root);
    const first = await snapshotDataset(ws, 'd', 'first');
    writeFileSync(join(base, 'f2/deep/er/z.csv'), 'z changed\n');
    const second = await snapshotDataset(ws, 'd', 'second');
    assert.deepEqual([second.modified, second.added, second.removed], [['f2/deep/er/z.csv'], [], []]);

    const [after, before] = readChain(root, REF); // checks every digest on the way
    assert.deepEqual([after!.id, before!.id], [second.id, first.id]);
    const old = recordObjects(root, before!.commit);
    const now = recordObjects(root, after!.commit);
    for (const path of ['data/d-f0', 'data/d-f1'])
      assert.equal(now.get(path), old.get(path), `${path} keeps its tree`);
    for (const path of ['data', 'data/d-f2', 'data/d-f2/d-deep', 'data/d-f2/d-deep/d-er'])
      assert.notEqual(now.get(path), old.get(path), `${path} is new`);
    const f2Listing = (objects: Map<string, string>): string =>
      [...objects.keys()].find((path) => /^data\/d-f2\/listing-/.test(path))!;
    assert.notEqual(f2Listing(now), f2Listing(old), 'the folder above names the new digest of the one below');
  });

  void test('trees the cache remembers but git no longer has are written again', async (t) => {
    const { root, base } = workspace(t);
    writeTree(base, manyFiles(4, 5));
    await snapshotDataset(await openWorkspace(root), 'd', 'first');
    // A new repository under the same workspace: the cache names trees this one never had.
    removeTree(join(root, '.git'));
    git(root, 'init', '--quiet');
    git(root, 'config', 'user.name', 'Sluice Test');
    git(root, 'config', 'user.email', 'test@sluice.invalid');
    writeFileSync(join(base, 'f1/x1.csv'), 'changed\n');
    const again = await snapshotDataset(await openWorkspace(root), 'd', 'in the new repository');
    assert.ok(again.id);
    const [tip] = readChain(root, REF);
    assert.deepEqual(new Map(tip!.record.files.map((f) => [f.path, f.sha256])), hashes(readTree(base)));
    await assertFsckCleanInProcess(root);
  });

  void test('a record of the first format is still read: log, diff, snapshot, restore, fsck and gc', async (t) => {
    const { root, base } = workspace(t);
    const contents = tree({ 'a.csv': 'a\n', 'sub/b.csv': 'b\n', 'sub/empty': { type: 'dir', mode: 0o755 } });
    writeTree(base, contents);
    // Blobs in the store, as the first format's snapshot would have left them.
    const ws = await openWorkspace(root);
    for (const path of ['a.csv', 'sub/b.csv']) ws.store.importFile(join(base, path));
    const record = {
      format: 1,
      dataset: 'd',
      path: 'data/d',
      parent: null,
      message: 'old format',
      author: 'Sluice Test <test@sluice.invalid>',
      time: new Date().toISOString(),
      files: [
        { path: 'a.csv', type: 'file', size: 2, sha256: sha256('a\n'), mode: 0o644 },
        { path: 'sub/b.csv', type: 'file', size: 2, sha256: sha256('b\n'), mode: 0o644 },
        { path: 'sub/empty', type: 'dir', mode: 0o755 },
      ],
    };
    const text = JSON.stringify(record);
    const id = sha256(text);
    const blob = gitWithInput(root, `${text}\n`, 'hash-object', '-w', '--stdin');
    const treeId = gitWithInput(root, `100644 blob ${blob}\tsnapshot.json\n`, 'mktree');
    const message = `old format\n\nSluice-Snapshot: ${id}\nSluice-Content: ${sha256(JSON.stringify(record.files))}\nSluice-Files: 2\nSluice-Bytes: 4`;
    git(root, 'update-ref', REF, git(root, 'commit-tree', treeId, '-m', message));

    const history = await listSnapshots(ws, 'd');
    assert.deepEqual(
      history.map((s) => [s.id, s.message, s.files]),
      [[id, 'old format', 2]],
    );
    assert.deepEqual(await diffDataset(ws, 'd', undefined, undefined), {
      added: [],
      modified: [],
      removed: [],
      from: id,
      to: 'disk',
    });
    const unchanged = await snapshotDataset(ws, 'd', '');
    assert.deepEqual([unchanged.id, unchanged.parent], [undefined, id], 'the same content: nothing recorded');
    writeFileSync(join(base, 'a.csv'), 'a, new\n');
    const next = await snapshotDataset(ws, 'd', 'on top of the old format');
    assert.deepEqual([next.parent, next.modified, next.added], [id, ['a.csv'], []]);
    await restoreDataset(ws, 'd', id, { force: false });
    assertSameTree(readTree(base), contents);
    await assertFsckCleanInProcess(root);
    assert.equal((await gc(ws, { dryRun: false, minAgeMs: 0 })).removed, 0, 'both formats keep their blobs');
  });
});

/** Runs git with `input` on its stdin; its trimmed output. */
function gitWithInput(root: string, input: string, ...args: string[]): string {
  const result = spawnSync('git', args, { cwd: root, input, encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.trim();
}

void describe('the stat cache', () => {
  void test('a same-size rewrite within the timestamp tick of a snapshot is seen (the racy window)', async (t) => {
    const { root, base } = workspace(t);
    mkdirSync(base, { recursive: true });
    const file = join(base, 'a.csv');
    const ws = await openWorkspace(root);
    writeFileSync(file, 'AAAA\n');
    const written = statSync(file);
    await snapshotDataset(ws, 'd', 'right after the write');
    // Same size, same mtime: within one clock tick even the ctime can stay the same.
    writeFileSync(file, 'BBBB\n');
    utimesSync(file, written.atime, written.mtime);
    const after = await snapshotDataset(ws, 'd', '');
    assert.ok(after.id, 'the new bytes are recorded');
    assert.equal(readChain(root, REF)[0]!.record.files[0]!.sha256, sha256('BBBB\n'));
  });

  void test('a file changed around the time of a scan is read again by the next one, then trusted', async (t) => {
    const { root, base } = workspace(t);
    mkdirSync(base, { recursive: true });
    const ws = await openWorkspace(root);
    const past = new Date(Date.now() - 60_000);
    writeFileSync(join(base, 'old.csv'), 'old\n');
    utimesSync(join(base, 'old.csv'), past, past);
    // A modification time a second ahead stands for "changed in the same clock tick as the scan",
    // however long the machine takes to get to the scan.
    const soon = new Date(Date.now() + 1000);
    writeFileSync(join(base, 'a.csv'), 'a\n');
    utimesSync(join(base, 'a.csv'), soon, soon);
    await new Promise((resolve) => setTimeout(resolve, 30));
    await snapshotDataset(ws, 'd', '');
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, soon.getTime() + 30 - Date.now())));
    const second = await snapshotDataset(ws, 'd', '');
    assert.equal(second.scan.hashed, 1, 'a.csv is within the window of the first scan: not trusted');
    const third = await snapshotDataset(ws, 'd', '');
    assert.equal(third.scan.hashed, 0, 'read again after it: now it is');
  });

  void test('a folder whose identity is unchanged is not listed again, yet every added or removed name is seen', async (t) => {
    const { root, base } = workspace(t);
    writeTree(base, manyFiles(3, 5));
    const ws = await openWorkspace(root);
    const pause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 30));
    await snapshotDataset(ws, 'd', '');
    await pause();
    await snapshotDataset(ws, 'd', '');
    await pause();
    // A name added, its folder's mtime then set back: the ctime still moved.
    const folder = join(base, 'f1');
    const before = statSync(folder);
    writeFileSync(join(folder, 'new.csv'), 'new\n');
    utimesSync(folder, before.atime, before.mtime);
    await pause();
    const added = await snapshotDataset(ws, 'd', '');
    assert.deepEqual(added.added, ['f1/new.csv']);
    // A name removed and another added in the same folder, then nothing: each seen once.
    rmSync(join(base, 'f2/x0.csv'));
    writeFileSync(join(base, 'f2/x9.csv'), 'x9\n');
    await pause();
    const changed = await snapshotDataset(ws, 'd', '');
    assert.deepEqual([changed.added, changed.removed], [['f2/x9.csv'], ['f2/x0.csv']]);
    await pause();
    const settled = await snapshotDataset(ws, 'd', '');
    assert.deepEqual([settled.id, settled.scan.hashed], [undefined, 0]);
    // A file made and removed again moves its folder's times without changing its content.
    writeFileSync(join(base, 'f0/tmp'), 'tmp\n');
    rmSync(join(base, 'f0/tmp'));
    await pause();
    assert.equal((await snapshotDataset(ws, 'd', '')).id, undefined);
    const [tip] = readChain(root, REF);
    assert.deepEqual(new Map(tip!.record.files.map((f) => [f.path, f.sha256])), hashes(readTree(base)));
  });

  void test('a small change appends to the log; a torn record is ignored; a long log folds into a new base', async (t) => {
    const { root, base } = workspace(t);
    writeTree(base, manyFiles(20, 10));
    const ws = await openWorkspace(root);
    const stateFile = join(root, '.sluice/state/stat/d');
    const log = `${stateFile}.log`;
    await snapshotDataset(ws, 'd', '');
    await new Promise((resolve) => setTimeout(resolve, 30));
    await snapshotDataset(ws, 'd', ''); // the racy entries of the first, read again
    const baseBefore = readFileSync(stateFile);
    const logBefore = existsSync(log) ? statSync(log).size : 0;

    writeFileSync(join(base, 'f3/x1.csv'), 'changed\n');
    await new Promise((resolve) => setTimeout(resolve, 30));
    const changed = await snapshotDataset(ws, 'd', '');
    assert.deepEqual([changed.modified, changed.scan.hashed], [['f3/x1.csv'], 1]);
    assert.ok(readFileSync(stateFile).equals(baseBefore), 'the base is not rewritten for one file');
    assert.ok(statSync(log).size > logBefore, 'the changed folder is appended to the log');
    assert.ok(statSync(log).size < baseBefore.length, 'and only it');
    const trusted = await snapshotDataset(ws, 'd', '');
    assert.equal(trusted.scan.hashed, 0, 'the log is read back');

    // A record cut short (a crash while appending): ignored, so the cache is older and re-reads, never wrong.
    truncateSync(log, statSync(log).size - 5);
    const afterTear = await snapshotDataset(ws, 'd', '');
    assert.deepEqual(
      [afterTear.id, afterTear.scan.hashed],
      [undefined, 1],
      'the changed file read again, nothing recorded',
    );
    appendFileSync(log, 'garbage after the records');
    assert.equal((await snapshotDataset(ws, 'd', '')).id, undefined);

    for (let round = 0; round < 40; round++) {
      writeFileSync(join(base, `f${round % 20}/x${round % 10}.csv`), `round ${round}\n`);
      await snapshotDataset(ws, 'd', '');
    }
    assert.ok(!readFileSync(stateFile).equals(baseBefore), 'the log was folded into a new base');
    await new Promise((resolve) => setTimeout(resolve, 30));
    await snapshotDataset(ws, 'd', '');
    const settled = await snapshotDataset(ws, 'd', '');
    assert.deepEqual([settled.id, settled.scan.hashed], [undefined, 0]);
    const [tip] = readChain(root, REF);
    assert.deepEqual(new Map(tip!.record.files.map((f) => [f.path, f.sha256])), hashes(readTree(base)));
  });
});

void describe('the stat cache, two processes at once', () => {
  void test('what survives is whole, each folder keeps its own scan time, and a record for a replaced base is ignored', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-state-'));
    t.after(() => {
      removeTree(dir);
    });
    const file = join(dir, 'state');
    const slicer = new Slicer(undefined, 'test');
    const folder = (path: string, takenAtMs: number, hashByte: number): Folder =>
      new Folder(
        path,
        'x.csv',
        1,
        Uint8Array.of(KIND_FILE),
        Float64Array.of(1, 10, takenAtMs - 5, takenAtMs - 5, 0o100644),
        [],
        new Uint8Array(32).fill(hashByte),
        '',
        takenAtMs,
      );
    await (await DatasetState.load(file, slicer)).update({ set: [folder('', 1000, 1)], remove: [] }, slicer);

    // Both read the cache, then both append: the second cuts off the first's record.
    const a = await DatasetState.load(file, slicer);
    const b = await DatasetState.load(file, slicer);
    await a.update({ set: [folder('a', 2000, 2)], remove: [] }, slicer);
    await b.update({ set: [folder('b', 3000, 3)], remove: [] }, slicer);
    const after = await DatasetState.load(file, slicer);
    assert.deepEqual([...after.folders.keys()].sort(), ['', 'b'], "a's findings are lost, not mixed in");
    assert.deepEqual(
      [after.folders.get('')!.takenAtMs, after.folders.get('b')!.takenAtMs],
      [1000, 3000],
      'each folder is judged by the time of the scan that saw it',
    );
    assert.equal(after.folders.get('b')!.hashAt(0), '03'.repeat(32));

    // One folds a long record into a new base while the other still holds the old one.
    const c = await DatasetState.load(file, slicer);
    const d = await DatasetState.load(file, slicer);
    const many = Array.from({ length: 2000 }, (_, i) => folder(`f${i}`, 4000, 4));
    await c.update({ set: many, remove: [] }, slicer);
    await d.update({ set: [folder('d', 5000, 5)], remove: [] }, slicer);
    const last = await DatasetState.load(file, slicer);
    assert.equal(last.folders.size, 2002, 'the new base: the root, b and the 2,000 folders');
    assert.ok(!last.folders.has('d'), 'the record made against the old base is ignored');
  });
});

function hashes(entries: Tree): Map<string, string | undefined> {
  return new Map(
    [...entries].map(([path, entry]) => [path, entry.type === 'file' ? sha256(entry.content) : undefined]),
  );
}

void describe('threads', () => {
  void test('one thread or four, a large folder in chunks or whole: the same content', async (t) => {
    const { root, base } = workspace(t);
    const contents = new Map(manyFiles(20, 20));
    // More than one chunk of entries: read in pieces, possibly by different threads.
    for (let i = 0; i < 3000; i++)
      contents.set(`flat/${i}.txt`, { type: 'file', content: Buffer.from(`${i}\n`), mode: 0o644 });
    contents.set('flat/big.bin', { type: 'file', content: noise(3 << 20, 'big'), mode: 0o644 });
    contents.set('flat/link', { type: 'link', target: 'big.bin' });
    writeTree(base, contents);
    const ws = await openWorkspace(root);
    const four = await snapshotDataset(ws, 'd', '', { threads: 4 });
    assert.deepEqual([four.files, four.scan.hashed], [contents.size - 1, contents.size - 1]);
    assert.deepEqual(
      new Map(readChain(root, REF)[0]!.record.files.map((f) => [f.path, f.sha256])),
      hashes(contents),
    );
    for (const threads of [1, 4]) {
      removeTree(join(root, '.sluice/state'));
      const diff = await diffDataset(ws, 'd', undefined, undefined, { threads });
      assert.deepEqual([diff.added, diff.modified, diff.removed], [[], [], []], `${threads} thread(s)`);
    }
    await assertFsckCleanInProcess(root);
  });
});

void describe('reading folders', () => {
  void test("Node's stat binding and lstatSync read the same names, kinds and identities", (t) => {
    const { base } = workspace(t);
    writeTree(
      base,
      tree({
        'a file.csv': 'a\n',
        'ünïcode/ß.txt': 'b\n',
        'read-only.txt': { type: 'file', content: Buffer.from('c\n'), mode: 0o444 },
        'link to a': { type: 'link', target: 'a file.csv' },
        empty: { type: 'dir', mode: 0o755 },
      }),
    );
    spawnSync('mkfifo', [join(base, 'fifo')]);
    const units = [{ path: '' }, { path: 'ünïcode' }, { path: 'empty' }];
    let fastCalls = 0;
    const counted = ((path: string, options?: fs.StatSyncOptions) => {
      fastCalls++;
      return fs.lstatSync(path, options);
    }) as typeof fs.lstatSync;
    const fast = readFolders({ ...fs, lstatSync: counted }, base, units, 100);
    // On Node 20 (what Sluice runs on) the binding is trusted: lstatSync only checks it on the root.
    if (process.versions.node.startsWith('20.')) assert.equal(fastCalls, 1);
    // A root that lstatSync sees differently: the binding is not trusted, lstatSync reads everything.
    let slowCalls = 0;
    const lstatSync = ((path: string, options?: fs.StatSyncOptions) => {
      slowCalls++;
      const stat = fs.lstatSync(path, options);
      if (path === base && stat) stat.ino = -1;
      return stat;
    }) as typeof fs.lstatSync;
    const slow = readFolders({ ...fs, lstatSync }, base, units, 100);
    assert.ok(slowCalls > 5, 'the fallback stats every entry itself');
    assert.deepEqual(fast, slow);
    const root = fast[0] as { names: string; kinds: Uint8Array };
    // The FIFO is not data: left out either way.
    assert.deepEqual(root.names.split('\0'), [
      'a file.csv',
      'empty',
      'link to a',
      'read-only.txt',
      'ünïcode',
    ]);
    assert.deepEqual([...root.kinds], [1, 3, 2, 1, 3]);
  });
});

/** Every temporary file Sluice left in its scratch folder (and its subfolders). */
function scratch(root: string): string[] {
  return [...readTree(join(root, '.sluice/tmp'))]
    .filter(([, entry]) => entry.type !== 'dir')
    .map(([path]) => path);
}

void describe('cancelling', () => {
  void test('a snapshot stops cleanly at any point: no ref moved, no temporary file, the store intact', async (t) => {
    const { root, base } = workspace(t);
    const contents = new Map(manyFiles(20, 20));
    for (let i = 0; i < 8; i++)
      contents.set(`large-${i}.bin`, { type: 'file', content: noise(2 << 20, `${i}`), mode: 0o644 });
    writeTree(base, contents);
    const ws = await openWorkspace(root);

    const before = new AbortController();
    before.abort();
    await assert.rejects(snapshotDataset(ws, 'd', '', { signal: before.signal }), CancelledError);

    let cancelled = 0;
    for (const delay of [1, 5, 20, 60, 150]) {
      removeTree(join(root, '.sluice'));
      const controller = new AbortController();
      const timer = setTimeout(() => {
        controller.abort();
      }, delay);
      try {
        await snapshotDataset(ws, 'd', '', { signal: controller.signal, threads: 2 });
        // Finished before the signal: then it is a whole snapshot.
        assert.equal(readChain(root, REF).length, 1);
        git(root, 'update-ref', '-d', REF);
      } catch (error) {
        assert.ok(error instanceof CancelledError, `cancelled, not ${String(error)}`);
        assert.match(error.message, /Snapshot of 'd' was cancelled/);
        cancelled++;
        assert.equal(readChain(root, REF).length, 0, `no ref moved (cancelled after ${delay} ms)`);
      } finally {
        clearTimeout(timer);
      }
      assert.deepEqual(scratch(root), [], `no temporary file left (cancelled after ${delay} ms)`);
      const report = await fsck(ws);
      assert.deepEqual([report.damaged, report.missing], [[], []]);
    }
    assert.ok(cancelled > 0, 'at least one snapshot was stopped midway');
    const done = await snapshotDataset(ws, 'd', 'after the cancellations');
    assert.equal(done.files, contents.size);
  });

  void test('a diff stops; a restore stops with every file whole, old or new', async (t) => {
    const { root, base } = workspace(t);
    const versionA = manyFiles(10, 20, () => 'A');
    const versionB = manyFiles(10, 20, (f) => (f % 2 === 0 ? 'B' : 'A'));
    writeTree(base, versionA);
    const ws = await openWorkspace(root);
    const a = (await snapshotDataset(ws, 'd', 'A')).id!;
    writeTree(base, versionB);
    const b = (await snapshotDataset(ws, 'd', 'B')).id!;

    const aborted = AbortSignal.abort();
    await assert.rejects(diffDataset(ws, 'd', undefined, undefined, { signal: aborted }), CancelledError);
    await assert.rejects(restoreDataset(ws, 'd', a, { force: false, signal: aborted }), CancelledError);
    assertSameTree(readTree(base), versionB, 'nothing restored');

    // Cancelled at points spread over an uncancelled restore's run, so some stop while files are written.
    await restoreDataset(ws, 'd', a, { force: false });
    await restoreDataset(ws, 'd', b, { force: false });
    const started = performance.now();
    await restoreDataset(ws, 'd', a, { force: false });
    const whole = performance.now() - started;
    let cancelled = 0;
    const delays = [0.2, 0.4, 0.6, 0.8, 0.95].map((share) => Math.round(share * whole));
    for (const delay of delays) {
      await restoreDataset(ws, 'd', b, { force: false });
      const controller = new AbortController();
      const timer = setTimeout(() => {
        controller.abort();
      }, delay);
      try {
        await restoreDataset(ws, 'd', a, { force: false, signal: controller.signal });
        assertSameTree(readTree(base), versionA, 'a restore that finished');
      } catch (error) {
        assert.ok(error instanceof CancelledError, String(error));
        cancelled++;
      } finally {
        clearTimeout(timer);
      }
      for (const [path, entry] of readTree(base)) {
        const want = [versionA.get(path), versionB.get(path)];
        assert.ok(
          want.some((w) => w?.type === 'file' && entry.type === 'file' && w.content.equals(entry.content)),
          `${path} is A's or B's, whole (cancelled after ${delay} ms)`,
        );
      }
      assert.deepEqual(scratch(root), [], 'no temporary file left');
    }
    t.diagnostic(
      `${cancelled} of ${delays.length} restores cancelled (a whole one took ${Math.round(whole)} ms)`,
    );
    await restoreDataset(ws, 'd', a, { force: false });
    assertSameTree(readTree(base), versionA);
  });
});

void describe('the event loop', () => {
  const FILES = Number(process.env['SLUICE_YIELD_FILES'] ?? 100_000);

  interface Profile {
    readonly nodes: {
      readonly id: number;
      readonly callFrame: {
        readonly functionName: string;
        readonly url: string;
        readonly lineNumber: number;
      };
    }[];
    readonly startTime: number;
    readonly samples: number[];
    readonly timeDeltas: number[];
  }

  /**
   * While `run` runs, a 1 ms timer notes every gap between its turns, and the
   * CPU profiler samples the main thread. A gap counts by the main thread's
   * own work in it: samples that are neither idle nor garbage collection (the
   * collector's pauses come from the whole process, here from every earlier
   * test's leftovers, and V8 keeps them short by itself). On a busy machine the
   * process also waits for a core, which is no stretch of ours either. Returns
   * the most work found in one gap (ms), the longest gap, and the functions
   * most sampled in the worst gap.
   */
  async function longestStretch(
    run: () => Promise<unknown>,
  ): Promise<{ busy: number; gap: number; where: string }> {
    const session = new Session();
    session.connect();
    const post = <T>(method: string, params?: object): Promise<T> =>
      new Promise((resolve, reject) => {
        session.post(method, params, (error, result) => {
          if (error) reject(error);
          else resolve(result as T);
        });
      });
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 500 });
    await post('Profiler.start');
    const gaps: [number, number][] = [];
    const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);
    let last = nowUs();
    const timer = setInterval(() => {
      const now = nowUs();
      if (now - last > 10_000) gaps.push([last, now]);
      last = now;
    }, 1);
    try {
      await run();
    } finally {
      clearInterval(timer);
    }
    gaps.push([last, nowUs()]);
    const { profile } = await post<{ profile: Profile }>('Profiler.stop');
    session.disconnect();
    const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
    const notOurs = ['(idle)', '(program)', '(garbage collector)'];
    let at = profile.startTime;
    const busyAt: { t: number; id: number }[] = [];
    profile.samples.forEach((id, i) => {
      at += profile.timeDeltas[i]!;
      if (!notOurs.includes(frames.get(id)!.functionName)) busyAt.push({ t: at, id });
    });
    let busy = 0;
    let gap = 0;
    let where = '';
    for (const [from, to] of gaps) {
      gap = Math.max(gap, (to - from) / 1000);
      const inGap = busyAt.filter((sample) => sample.t >= from && sample.t <= to);
      const ms = (inGap.length * 500) / 1000;
      if (ms <= busy) continue;
      busy = ms;
      const counts = new Map<string, number>();
      for (const { id } of inGap) {
        const frame = frames.get(id)!;
        const name = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').pop() ?? ''}:${frame.lineNumber + 1}`;
        counts.set(name, (counts.get(name) ?? 0) + 1);
      }
      where = [...counts]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 5)
        .map(([name, count]) => `${name} ×${count}`)
        .join(', ');
    }
    return { busy, gap, where };
  }

  void test(`a scan of ${FILES.toLocaleString('en')} files never holds the event loop for long`, async (t) => {
    const { root, base } = workspace(t);
    mkdirSync(base, { recursive: true });
    writeFileSync(join(base, 'seed.csv'), 'seed\n');
    const ws: Workspace = await openWorkspace(root);
    await snapshotDataset(ws, 'd', 'one file');
    const folders = Math.ceil(FILES / 100);
    for (let f = 0; f < folders; f++) {
      mkdirSync(join(base, `f${f}`));
      for (let i = 0; i < 100 && f * 100 + i < FILES; i++)
        writeFileSync(join(base, `f${f}`, `${i}.csv`), `${f},${i}\n`);
    }
    // The first diff hashes every file (on worker threads) and saves the stat cache; the second
    // finds every file in it, as an unchanged snapshot does.
    const runs: [string, () => Promise<unknown>][] = [
      ['first diff', () => diffDataset(ws, 'd', undefined, undefined)],
      ['diff again', () => diffDataset(ws, 'd', undefined, undefined)],
    ];
    for (const [what, run] of runs) {
      const { busy, gap } = await longestStretch(run);
      t.diagnostic(
        `${what}: longest stretch of work ${busy.toFixed(0)} ms (longest pause ${gap.toFixed(0)} ms)`,
      );
      // The aim is 50 ms. The profiler samples by wall clock, so on a shared
      // machine a thread waiting for a core still shows as busy: the bound
      // allows that, and still catches a walk that never yields (seconds).
      assert.ok(
        busy < 100,
        `${what}: the main thread worked ${busy.toFixed(0)} ms without a turn of the event loop`,
      );
    }
    assert.equal((await diffDataset(ws, 'd', undefined, undefined)).added.length, FILES);
  });
});
