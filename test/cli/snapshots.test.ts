// Snapshots as a user meets them: `sluice snapshot`, `log`, `diff`, `restore`,
// `fsck` and `gc` from the built CLI, on real git repositories in temp folders.
// Every restore is checked byte for byte against what was written.
import assert from 'node:assert/strict';
import {
  appendFileSync,
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import {
  assertFsckClean,
  assertFsckCleanInProcess,
  assertOneLineError,
  assertSameTree,
  blobPath,
  clearVariablesRefusedBySimpleGit,
  createWorkspace,
  fileEntry,
  git,
  listBlobs,
  manifestFor,
  noise,
  readChain,
  recordSnapshot,
  readTree,
  REFUSED_BY_SIMPLE_GIT,
  removeTree,
  restoreSnapshot,
  sha256,
  snapshotInProcess,
  startSluice,
  sluice,
  sluiceAsync,
  sluiceJson,
  tree,
  writeTree,
  type Tree,
} from '../support/workspace';

clearVariablesRefusedBySimpleGit();

interface SnapshotJson {
  snapshots: {
    dataset: string;
    id: string | null;
    parent: string | null;
    changed: boolean;
    files: number;
    bytes: number;
    added: number;
    modified: number;
    removed: number;
    hashed: number;
  }[];
}

interface LogJson {
  dataset: string;
  snapshots: {
    id: string;
    parent: string | null;
    message: string;
    time: string;
    files: number;
    bytes: number;
  }[];
}

interface DiffJson {
  dataset: string;
  from: string;
  to: string;
  added: string[];
  modified: string[];
  removed: string[];
}

interface RestoreJson {
  dataset: string;
  id: string;
  written: number;
  removed: number;
  saved: string | null;
}

interface FsckJson {
  damaged: string[];
  missing: { hash: string; usedBy: string }[];
  checked: number;
}

interface GcJson {
  removed: number;
  bytes: number;
  kept: number;
  dryRun: boolean;
}

type SnapshotResult = SnapshotJson['snapshots'][number];

const SNAPSHOT_ID = /^[0-9a-f]{64}$/;
const EVENTS_REF = 'refs/sluice/datasets/events';

/** A fresh workspace, removed when the test ends. */
function workspace(t: TestContext, datasets: Readonly<Record<string, string>>): string {
  const root = createWorkspace(datasets, 'sluice-snap-');
  t.after(() => {
    removeTree(root);
  });
  return root;
}

function tempFolder(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => {
    removeTree(dir);
  });
  return dir;
}

function snapshot(root: string, ...args: string[]): SnapshotJson['snapshots'] {
  return (sluiceJson(['snapshot', ...args], root) as SnapshotJson).snapshots;
}

/** The one snapshot result of `sluice snapshot DATASET`. */
function snapshotOne(root: string, name: string, ...args: string[]): SnapshotResult {
  const results = snapshot(root, name, ...args);
  assert.equal(results.length, 1);
  assert.equal(results[0]!.dataset, name);
  return results[0]!;
}

function diff(root: string, name: string, ...ids: string[]): DiffJson {
  return sluiceJson(['diff', name, ...ids], root) as DiffJson;
}

function changesOf(result: DiffJson): { added: string[]; modified: string[]; removed: string[] } {
  return { added: result.added, modified: result.modified, removed: result.removed };
}

const EVENTS_V1 = tree({
  'a.csv': 'id,value\n1,alpha\n2,beta\n',
  'b.csv': 'id,value\n3,gamma\n',
  'sub/c.csv': 'id,value\n4,delta\n',
  'big.bin': noise(300_000, 'big v1'),
});

/** V1 with a.csv changed, b.csv deleted, two files added (one in a new folder). */
const EVENTS_V2 = tree({
  'a.csv': 'id,value\n1,alpha\n2,BETA\n5,epsilon\n',
  'sub/c.csv': 'id,value\n4,delta\n',
  'sub/d.csv': 'id,value\n6,zeta\n',
  'new/e.csv': 'id,value\n7,eta\n',
  'big.bin': noise(300_000, 'big v1'),
});

function bytesOf(entries: Tree): number {
  let total = 0;
  for (const entry of entries.values()) if (entry.type === 'file') total += entry.content.length;
  return total;
}

function contentOf(entries: Tree, path: string): Buffer {
  const entry = entries.get(path);
  assert.ok(entry?.type === 'file', `${path} is a file`);
  return entry.content;
}

function replaceTree(base: string, entries: Tree): void {
  removeTree(base);
  writeTree(base, entries);
}

void describe('snapshot, diff and restore', () => {
  void test('a folder and a file dataset: snapshot, change, add, delete, snapshot, diff, restore byte for byte', (t) => {
    const root = workspace(t, { events: 'data/events', users: 'data/users.csv' });
    const events = join(root, 'data/events');
    const users = join(root, 'data/users.csv');
    const usersV1 = 'id,plan\n1,free\n2,pro\n';
    writeTree(events, EVENTS_V1);
    writeFileSync(users, usersV1);

    const first = snapshot(root, '-m', 'first');
    assert.deepEqual(
      first.map((s) => s.dataset),
      ['events', 'users'],
    );
    for (const result of first) {
      for (const field of ['dataset', 'id', 'parent', 'files', 'bytes', 'added', 'modified', 'removed'])
        assert.ok(field in result, `snapshot --json has ${field}`);
      assert.match(result.id ?? '', SNAPSHOT_ID);
      assert.equal(result.parent, null);
      assert.equal(result.changed, true);
    }
    const [events1, users1] = first as [SnapshotResult, SnapshotResult];
    assert.deepEqual(
      [events1.files, events1.bytes, events1.added, events1.modified, events1.removed],
      [4, bytesOf(EVENTS_V1), 4, 0, 0],
    );
    assert.deepEqual([users1.files, users1.bytes, users1.added], [1, usersV1.length, 1]);
    const s1 = events1.id!;

    replaceTree(events, EVENTS_V2);
    const second = snapshot(root, '-m', 'second');
    const [events2, users2] = second as [SnapshotResult, SnapshotResult];
    assert.equal(events2.changed, true);
    assert.equal(events2.parent, s1);
    assert.deepEqual([events2.files, events2.added, events2.modified, events2.removed], [5, 2, 1, 1]);
    assert.equal(users2.changed, false, 'an unchanged dataset gets no new snapshot');
    assert.equal(users2.id, null);
    assert.equal(users2.parent, users1.id);
    const s2 = events2.id!;

    const history = sluiceJson(['log', 'events'], root) as LogJson;
    assert.equal(history.dataset, 'events');
    assert.deepEqual(
      history.snapshots.map((s) => [s.id, s.parent, s.message, s.files, s.bytes]),
      [
        [s2, s1, 'second', 5, bytesOf(EVENTS_V2)],
        [s1, null, 'first', 4, bytesOf(EVENTS_V1)],
      ],
    );
    for (const s of history.snapshots)
      assert.ok(!Number.isNaN(Date.parse(s.time)), `time ${s.time} is a date`);

    // Between two ids, full or shortened, and from an id to the disk.
    const expected = { added: ['new/e.csv', 'sub/d.csv'], modified: ['a.csv'], removed: ['b.csv'] };
    const full = diff(root, 'events', s1, s2);
    assert.deepEqual(changesOf(full), expected);
    assert.deepEqual([full.from, full.to], [s1, s2]);
    const short = diff(root, 'events', s1.slice(0, 7), s2.slice(0, 12));
    assert.deepEqual(changesOf(short), expected);
    assert.deepEqual([short.from, short.to], [s1, s2], 'shortened ids resolve to the full ones');
    assert.deepEqual(changesOf(diff(root, 'events', s1)), expected, 'FROM against the disk');
    const text = sluice(['diff', 'events', s1.slice(0, 8), s2.slice(0, 8)], root);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /^A {2}new\/e\.csv$/m);
    assert.match(text.stdout, /^M {2}a\.csv$/m);
    assert.match(text.stdout, /^D {2}b\.csv$/m);

    // Back to the first snapshot: every byte, and nothing else.
    const restored = sluiceJson(['restore', 'events', s1.slice(0, 8)], root) as RestoreJson;
    for (const field of ['dataset', 'id', 'written', 'removed'])
      assert.ok(field in restored, `restore --json has ${field}`);
    assert.deepEqual(
      [restored.dataset, restored.id, restored.written, restored.removed],
      ['events', s1, 2, 2],
    );
    assert.equal(restored.saved, null, 'nothing needed saving');
    assertSameTree(readTree(events), EVENTS_V1);
    assert.ok(!existsSync(join(events, 'new')), 'a folder emptied by the restore is gone');
    const fromLatest = diff(root, 'events');
    assert.deepEqual(
      [fromLatest.from, fromLatest.to],
      [s2, 'disk'],
      'FROM defaults to the latest, TO to the disk',
    );
    assert.deepEqual(changesOf(fromLatest), {
      added: ['b.csv'],
      modified: ['a.csv'],
      removed: ['new/e.csv', 'sub/d.csv'],
    });

    sluiceJson(['restore', 'events', s2], root);
    assertSameTree(readTree(events), EVENTS_V2);
    const again = snapshotOne(root, 'events');
    assert.equal(again.changed, false, 'restoring the latest snapshot leaves nothing to record');

    // A dataset that is one file.
    writeFileSync(users, 'id,plan\n1,free\n2,enterprise\n3,pro\n');
    const users3 = snapshotOne(root, 'users', '-m', 'more users');
    assert.deepEqual([users3.changed, users3.modified, users3.parent], [true, 1, users1.id]);
    sluiceJson(['restore', 'users', users1.id!.slice(0, 6)], root);
    assert.equal(readFileSync(users, 'utf8'), usersV1);
    assertFsckClean(root);
  });

  void test('an unchanged dataset costs no read: `hashed` is 0 and no snapshot is recorded', async (t) => {
    const root = workspace(t, { events: 'data/events' });
    const events = join(root, 'data/events');
    writeTree(
      events,
      tree(Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`part-${i}.csv`, `row ${i}\n`]))),
    );
    const first = await snapshotInProcess(root, 'events');
    assert.deepEqual([first.files, first.scan.hashed], [40, 40]);
    const second = snapshotOne(root, 'events');
    assert.deepEqual([second.changed, second.hashed, second.id], [false, 0, null]);
    assert.equal(second.parent, first.id);
    assert.equal(readChain(root, EVENTS_REF).length, 1);

    writeFileSync(join(events, 'part-7.csv'), 'row 7, edited\n');
    const third = await snapshotInProcess(root, 'events');
    assert.ok(third.id, 'an edit is recorded');
    assert.deepEqual(
      [third.scan.hashed, third.modified],
      [1, ['part-7.csv']],
      'only the edited file is read',
    );
  });

  void test('a touched file is re-read but records nothing; new bytes behind an old mtime are still seen', async (t) => {
    const root = workspace(t, { events: 'data/events' });
    const events = join(root, 'data/events');
    writeTree(events, tree({ 'a.csv': 'aaaa\n', 'b.csv': 'bbbb\n', 'c.csv': 'cccc\n' }));
    // Whole seconds, so the times can be set back exactly.
    const past = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    for (const name of ['a.csv', 'b.csv', 'c.csv']) utimesSync(join(events, name), past, past);
    // Setting times changes the ctime: wait past the racy window, or the first
    // snapshot's cache rightly distrusts b and c and the next scan re-reads them.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await recordSnapshot(root, 'events');

    const later = new Date(past.getTime() + 30_000);
    utimesSync(join(events, 'a.csv'), later, later);
    // Past the racy window: a file whose ctime is this close to the cache's
    // writing is re-hashed next time, which is right but not what this checks.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const afterTouch = await snapshotInProcess(root, 'events');
    assert.deepEqual(
      [afterTouch.scan.hashed, afterTouch.id],
      [1, undefined],
      'touching re-hashes, records nothing',
    );
    assert.equal(readChain(root, EVENTS_REF).length, 1);

    // Same size, same mtime, new bytes: only the ctime tells, and it must.
    const sneaky = join(events, 'b.csv');
    writeFileSync(sneaky, 'BBBB\n');
    utimesSync(sneaky, past, past);
    assert.equal(statSync(sneaky).mtimeMs, past.getTime());
    const afterEdit = await snapshotInProcess(root, 'events');
    assert.ok(afterEdit.id, 'the new bytes are recorded');
    assert.deepEqual([afterEdit.modified, afterEdit.scan.hashed], [['b.csv'], 1]);
    const [tip] = readChain(root, EVENTS_REF);
    assert.equal(tip!.record.files.find((f) => f.path === 'b.csv')?.sha256, sha256('BBBB\n'));
  });

  void test('a dataset that is one file is not re-read when unchanged', (t) => {
    const root = workspace(t, { users: 'data/users.csv' });
    mkdirSync(join(root, 'data'));
    writeFileSync(join(root, 'data/users.csv'), 'id,plan\n1,free\n');
    snapshotOne(root, 'users');
    const second = snapshotOne(root, 'users');
    assert.deepEqual([second.changed, second.hashed], [false, 0]);
  });

  void test('empty folders, unusual names and permission bits come back exactly', async (t) => {
    const datasetPath = 'data/my data é';
    const root = workspace(t, { odd: datasetPath });
    const base = join(root, datasetPath);
    const contents = tree({
      'with space.csv': 'a b\n',
      'ünïcödé 数据.txt': 'unicode\n',
      'tab\there.txt': 'tab\n',
      'new\nline.txt': 'newline\n',
      '"quoted".txt': 'quotes\n',
      'back\\slash.txt': 'backslash\n',
      '-dash.txt': 'dash\n',
      '.hidden': 'hidden\n',
      'empty-file': '',
      'read-only.csv': fileEntry('do not touch\n', 0o444),
      'run.sh': fileEntry('#!/bin/sh\necho hi\n', 0o755),
      'private.key': fileEntry('secret\n', 0o600),
      'nested dir/ü/file.txt': 'nested\n',
      empty: { type: 'dir', mode: 0o755 },
      'deep/er/still empty': { type: 'dir', mode: 0o700 },
    });
    writeTree(base, contents);
    const first = snapshotOne(root, 'odd', '-m', 'odd names');
    assert.deepEqual([first.changed, first.files, first.hashed], [true, 13, 13]);
    const [record] = readChain(root, 'refs/sluice/datasets/odd');
    assert.deepEqual(
      record!.record.files.map((f) => f.path),
      [...contents.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
      'the record holds every name exactly',
    );
    const second = await snapshotInProcess(root, 'odd');
    assert.deepEqual([second.id, second.scan.hashed], [undefined, 0], 'the stat cache keeps odd names too');

    removeTree(base);
    sluiceJson(['restore', 'odd', first.id!], root);
    assertSameTree(readTree(base), contents);
    assert.equal(await recordSnapshot(root, 'odd'), undefined, 'the restored files are the snapshot');

    // A read-only file replaced by another version, and back.
    const readOnly = join(base, 'read-only.csv');
    chmodSync(readOnly, 0o644);
    writeFileSync(readOnly, 'touched after all\n');
    chmodSync(readOnly, 0o444);
    const changed = (await recordSnapshot(root, 'odd'))!;
    await restoreSnapshot(root, 'odd', first.id!);
    assertSameTree(readTree(base), contents);
    await restoreSnapshot(root, 'odd', changed);
    assert.equal(readFileSync(readOnly, 'utf8'), 'touched after all\n');
    assert.equal(statSync(readOnly).mode & 0o777, 0o444);
    await assertFsckCleanInProcess(root);
  });

  void test('links are recorded as links and never followed, in or out of the workspace', async (t) => {
    const root = workspace(t, { linked: 'data/linked' });
    const outside = tempFolder(t, 'sluice-outside-');
    const secret = 'bytes outside the workspace\n';
    writeFileSync(join(outside, 'secret.txt'), secret);
    mkdirSync(join(outside, 'folder'));
    writeFileSync(join(outside, 'folder', 'inner.txt'), 'inner\n');
    const base = join(root, 'data/linked');
    const contents = tree({
      'real.txt': 'real\n',
      'sub/x.txt': 'x\n',
      'to-real': { type: 'link', target: 'real.txt' },
      'to-sub': { type: 'link', target: 'sub' },
      dangling: { type: 'link', target: 'nowhere/at/all' },
      'to-outside-file': { type: 'link', target: join(outside, 'secret.txt') },
      'to-outside-folder': { type: 'link', target: join(outside, 'folder') },
      'up-and-out': { type: 'link', target: '../../../../../../../../tmp' },
    });
    writeTree(base, contents);
    const first = snapshotOne(root, 'linked');
    assert.equal(first.files, 2, 'only the two real files count as files');
    const [record] = readChain(root, 'refs/sluice/datasets/linked');
    assert.deepEqual(
      record!.record.files.filter((f) => f.type === 'link').map((l) => [l.path, l.target]),
      [...contents].flatMap(([path, e]) => (e.type === 'link' ? [[path, e.target]] : [])).sort(),
    );
    assert.ok(
      !record!.record.files.some((f) => /^to-(outside-folder|sub)\//.test(f.path)),
      'nothing is listed through a link',
    );
    assert.ok(
      !existsSync(blobPath(root, sha256(secret))),
      'bytes behind a link are not copied into the cache',
    );

    removeTree(base);
    sluiceJson(['restore', 'linked', first.id!], root);
    assertSameTree(readTree(base), contents);
    assert.equal(readFileSync(join(outside, 'secret.txt'), 'utf8'), secret);

    // A folder of the dataset replaced by a link out: restoring writes a real folder, not through the link.
    writeFileSync(join(outside, 'folder', 'x.txt'), 'outside x\n');
    removeTree(join(base, 'sub'));
    symlinkSync(join(outside, 'folder'), join(base, 'sub'));
    const viaLink = (await recordSnapshot(root, 'linked'))!;
    sluiceJson(['restore', 'linked', first.id!], root);
    assert.ok(lstatSync(join(base, 'sub')).isDirectory(), 'sub is a real folder again');
    assertSameTree(readTree(base), contents);
    assert.equal(readFileSync(join(outside, 'folder', 'x.txt'), 'utf8'), 'outside x\n', 'outside untouched');
    assert.equal(readTree(outside).size, 3, 'nothing written outside');
    await restoreSnapshot(root, 'linked', viaLink);
    assert.ok(lstatSync(join(base, 'sub')).isSymbolicLink(), 'and a link again when the snapshot has one');
    await assertFsckCleanInProcess(root);
  });

  void test('an empty folder comes back with its recorded mode, whatever the umask', async (t) => {
    const root = workspace(t, { shared: 'data/shared' });
    const base = join(root, 'data/shared');
    const contents = tree({ 'group-writable': { type: 'dir', mode: 0o775 }, 'a.txt': 'a\n' });
    writeTree(base, contents);
    const first = (await recordSnapshot(root, 'shared'))!;
    removeTree(base);
    const umask = process.umask(0o022);
    try {
      await restoreSnapshot(root, 'shared', first);
    } finally {
      process.umask(umask);
    }
    assertSameTree(readTree(base), contents);
    assert.equal(await recordSnapshot(root, 'shared'), undefined, 'nothing changed since the snapshot');
  });

  void test('a one-file dataset is restored even when its folder is gone', async (t) => {
    const root = workspace(t, { users: 'data/raw/users.csv' });
    mkdirSync(join(root, 'data/raw'), { recursive: true });
    writeFileSync(join(root, 'data/raw/users.csv'), 'id\n1\n');
    const first = (await recordSnapshot(root, 'users'))!;
    removeTree(join(root, 'data'));
    const result = sluice(['restore', 'users', first], root);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(readFileSync(join(root, 'data/raw/users.csv'), 'utf8'), 'id\n1\n');
  });
});

void describe('restore never loses data', () => {
  void test('unsaved bytes are refused without --force; with it they are saved first and stay retrievable', async (t) => {
    const root = workspace(t, { events: 'data/events' });
    const events = join(root, 'data/events');
    writeTree(events, EVENTS_V1);
    const s1 = (await recordSnapshot(root, 'events', 'v1'))!;
    replaceTree(events, EVENTS_V2);
    const s2 = (await recordSnapshot(root, 'events', 'v2'))!;

    // Bytes that are in some snapshot (an older one) may be overwritten freely.
    writeTree(events, new Map([['a.csv', EVENTS_V1.get('a.csv')!]]));
    await restoreSnapshot(root, 'events', s2);
    assertSameTree(readTree(events), EVENTS_V2);

    writeFileSync(join(events, 'a.csv'), 'unsaved edit\n');
    writeFileSync(join(events, 'notes.txt'), 'unsaved new file\n');
    const unsaved = readTree(events);
    const refused = sluice(['restore', 'events', s1], root);
    assertOneLineError(refused, 1, 'a.csv', 'notes.txt', '--force');
    assertSameTree(readTree(events), unsaved, 'the dataset after a refused restore');
    assert.equal(readChain(root, EVENTS_REF).length, 2, 'a refused restore records nothing');

    const forced = sluiceJson(['restore', 'events', s1, '--force'], root) as RestoreJson;
    assert.match(forced.saved ?? '', SNAPSHOT_ID);
    assert.equal(forced.id, s1);
    assertSameTree(readTree(events), EVENTS_V1);
    const chain = readChain(root, EVENTS_REF);
    assert.deepEqual(
      chain.map((s) => s.id),
      [forced.saved, s2, s1],
    );
    assert.match(chain[0]!.record.message, /before restoring/i);

    // The forced-away bytes are reachable from a snapshot: gc may not take them.
    const collected = sluiceJson(['gc', '--min-age', '0'], root) as GcJson;
    assert.equal(collected.removed, 0);
    await assertFsckCleanInProcess(root);
    await restoreSnapshot(root, 'events', forced.saved!.slice(0, 10));
    assertSameTree(readTree(events), unsaved);
  });

  void test('restored files are copies: an edit in place never reaches the stored blob', async (t) => {
    const root = workspace(t, { events: 'data/events' });
    const events = join(root, 'data/events');
    writeTree(events, EVENTS_V1);
    const s1 = (await recordSnapshot(root, 'events'))!;
    removeTree(events);
    await restoreSnapshot(root, 'events', s1);
    assertSameTree(readTree(events), EVENTS_V1);

    for (const [path, entry] of EVENTS_V1) {
      assert.equal(entry.type, 'file');
      const file = statSync(join(events, path));
      const blob = statSync(blobPath(root, sha256(entry.content)));
      assert.equal(file.nlink, 1, `${path} has one link`);
      assert.notEqual(file.ino, blob.ino, `${path} is not the blob`);
      assert.equal(blob.mode & 0o222, 0, 'blobs are read-only');
    }
    appendFileSync(join(events, 'a.csv'), 'edited in place\n');
    writeFileSync(join(events, 'big.bin'), 'truncated in place');
    assertFsckClean(root);
    for (const entry of EVENTS_V1.values()) {
      if (entry.type === 'file')
        assert.ok(readFileSync(blobPath(root, sha256(entry.content))).equals(entry.content));
    }
    await restoreSnapshot(root, 'events', s1, true);
    assertSameTree(readTree(events), EVENTS_V1);
  });
});

void describe('fsck and gc', () => {
  void test('fsck reports a damaged and a missing blob and exits 1', async (t) => {
    const root = workspace(t, { events: 'data/events' });
    const events = join(root, 'data/events');
    writeTree(events, EVENTS_V1);
    const s1 = (await recordSnapshot(root, 'events'))!;
    const clean = sluiceJson(['fsck'], root) as FsckJson;
    assert.deepEqual([clean.damaged, clean.missing, clean.checked], [[], [], 4]);

    const damaged = sha256(contentOf(EVENTS_V1, 'a.csv'));
    const missing = sha256(contentOf(EVENTS_V1, 'sub/c.csv'));
    chmodSync(blobPath(root, damaged), 0o644);
    writeFileSync(blobPath(root, damaged), 'bit rot\n');
    rmSync(blobPath(root, missing));

    const json = sluice(['fsck', '--json'], root);
    assert.equal(json.status, 1, json.stderr);
    const report = JSON.parse(json.stdout) as FsckJson;
    assert.deepEqual(report.damaged, [damaged]);
    assert.deepEqual(
      report.missing.map((m) => m.hash),
      [missing],
    );
    assert.match(report.missing[0]!.usedBy, /events.*sub\/c\.csv/);
    const text = sluice(['fsck'], root);
    assert.equal(text.status, 1);
    assert.match(text.stdout, new RegExp(`damaged\\s+${damaged}`));
    assert.match(text.stdout, new RegExp(`missing\\s+${missing}`));

    removeTree(events);
    assertOneLineError(sluice(['restore', 'events', s1], root), 1, 'fsck');
  });

  void test('gc removes only blobs no snapshot reaches, old snapshots included', async (t) => {
    const root = workspace(t, { events: 'data/events' });
    const events = join(root, 'data/events');
    writeTree(events, EVENTS_V1);
    const s1 = (await recordSnapshot(root, 'events'))!;
    replaceTree(events, EVENTS_V2);
    await recordSnapshot(root, 'events');
    const reachable = listBlobs(root);
    assert.equal(reachable.length, 7, 'a.csv twice, b, c, d, e, big');

    // A complete blob under its right name that no record mentions, as a killed snapshot leaves.
    const strayBytes = 'stray bytes\n';
    const stray = sha256(strayBytes);
    mkdirSync(dirname(blobPath(root, stray)), { recursive: true });
    writeFileSync(blobPath(root, stray), strayBytes, { mode: 0o444 });

    const young = sluiceJson(['gc'], root) as GcJson;
    assert.deepEqual(
      [young.removed, young.kept],
      [0, 8],
      'a young blob may belong to a snapshot being written',
    );
    const dry = sluiceJson(['gc', '--dry-run', '--min-age', '0'], root) as GcJson;
    assert.deepEqual([dry.removed, dry.bytes, dry.dryRun], [1, strayBytes.length, true]);
    assert.ok(existsSync(blobPath(root, stray)), '--dry-run removes nothing');

    const real = sluiceJson(['gc', '--min-age', '0'], root) as GcJson;
    assert.deepEqual([real.removed, real.bytes, real.kept], [1, strayBytes.length, 7]);
    assert.ok(!existsSync(blobPath(root, stray)));
    assert.deepEqual(listBlobs(root), reachable, 'every blob a snapshot reaches is still there');
    assertFsckClean(root);
    await restoreSnapshot(root, 'events', s1);
    assertSameTree(readTree(events), EVENTS_V1);
  });
});

void describe('bad input: exit 2, one line, no stack trace', () => {
  void test('an unknown dataset, a malformed, short or unknown id, a missing argument', async (t) => {
    const root = workspace(t, { events: 'data/events' });
    writeTree(join(root, 'data/events'), tree({ 'a.csv': 'a\n' }));
    const id = (await recordSnapshot(root, 'events'))!;
    const unknown = id.startsWith('0') ? 'ffff' : '0000';
    const cases: [string[], ...string[]][] = [
      [['snapshot', 'nope'], "'nope'", 'events'],
      [['restore', 'nope', id], "'nope'", 'events'],
      [['restore', 'events', 'not-an-id'], 'not-an-id', 'sluice log events'],
      [['restore', 'events', id.slice(0, 3)], `'${id.slice(0, 3)}'`],
      [['restore', 'events', unknown], unknown],
      [['diff', 'events', id, 'XYZ'], 'XYZ'],
      [['restore', 'events'], 'SNAPSHOT'],
      [['gc', '--min-age', 'soon'], '--min-age'],
    ];
    const results = await Promise.all(cases.map(([args]) => sluiceAsync(args, root)));
    results.forEach((result, i) => {
      const [args, ...mentions] = cases[i]!;
      assertOneLineError(result, 2, ...mentions);
      assert.equal(result.stdout, '', `sluice ${args.join(' ')} prints nothing on stdout`);
    });
    assert.equal(readChain(root, EVENTS_REF).length, 1, 'nothing recorded');
  });

  void test('no manifest, not a git repository, a manifest with errors', async (t) => {
    const empty = tempFolder(t, 'sluice-bare-');
    const noGit = tempFolder(t, 'sluice-nogit-');
    writeFileSync(join(noGit, 'sluice.yaml'), manifestFor({ e: 'data/e' }));
    const broken = workspace(t, { events: 'data/events' });
    writeFileSync(join(broken, 'sluice.yaml'), 'version: 1\ndatasets:\n  events:\n    pth: data/events\n');
    const cases: { args: string[]; cwd: string; mentions: string[] }[] = [
      { args: ['snapshot'], cwd: empty, mentions: ['sluice.yaml', 'sluice init'] },
      { args: ['snapshot'], cwd: noGit, mentions: ['git init'] },
      { args: ['fsck'], cwd: noGit, mentions: ['git init'] },
      { args: ['snapshot'], cwd: broken, mentions: ['sluice.yaml:3:', 'sluice validate'] },
    ];
    const results = await Promise.all(cases.map(({ args, cwd }) => sluiceAsync(args, cwd)));
    results.forEach((result, i) => {
      assertOneLineError(result, 2, ...cases[i]!.mentions);
    });
    assert.equal(git(broken, 'for-each-ref', 'refs/sluice'), '', 'nothing recorded');
  });

  void test('a dataset with no snapshot yet: log says so, diff and restore fail with exit 1', async (t) => {
    const root = workspace(t, { events: 'data/events' });
    writeTree(join(root, 'data/events'), tree({ 'a.csv': 'a\n' }));
    const [json, text, diffed, restored] = await Promise.all([
      sluiceAsync(['log', 'events', '--json'], root),
      sluiceAsync(['log', 'events'], root),
      sluiceAsync(['diff', 'events'], root),
      sluiceAsync(['restore', 'events', 'latest'], root),
    ]);
    assert.equal(json.status, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), { dataset: 'events', snapshots: [] });
    assert.equal(text.status, 0);
    assert.match(text.stdout, /no snapshot/);
    assertOneLineError(diffed, 1, 'sluice snapshot events');
    assertOneLineError(restored, 1, 'sluice snapshot events');
  });

  void test('an unknown dataset among known ones records nothing', (t) => {
    const root = workspace(t, { events: 'data/events' });
    writeTree(join(root, 'data/events'), tree({ 'a.csv': 'a\n' }));
    assertOneLineError(sluice(['snapshot', 'events', 'nope'], root), 2, "'nope'");
    assert.equal(git(root, 'for-each-ref', 'refs/sluice'), '', 'a usage error writes nothing');
  });
});

void describe('Ctrl-C', () => {
  void test('interrupting a snapshot stops it cleanly: one line, exit 130, no ref, no temporary file', async (t) => {
    const root = workspace(t, { events: 'data/events' });
    const events = join(root, 'data/events');
    const contents = new Map<string, string | Buffer>();
    for (let i = 0; i < 24; i++) contents.set(`large-${i}.bin`, noise(2 << 20, `large ${i}`));
    writeTree(events, tree(Object.fromEntries(contents)));
    const running = startSluice(['snapshot', 'events', '--json'], root);
    // Interrupt once blobs are being written.
    const objects = join(root, '.sluice', 'objects', 'sha256');
    const deadline = Date.now() + 30_000;
    while (!existsSync(objects) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 5));
    running.child.kill('SIGINT');
    const outcome = await running.done;
    if (outcome.status === 0) {
      t.diagnostic('the snapshot finished before the interrupt arrived');
      return;
    }
    assertOneLineError(outcome, 130, 'cancelled');
    assert.equal((JSON.parse(outcome.stdout) as { error: { code: string } }).error.code, 'cancelled');
    assert.equal(git(root, 'for-each-ref', 'refs/sluice'), '', 'no ref moved');
    const left = [...readTree(join(root, '.sluice', 'tmp'))].filter(([, entry]) => entry.type !== 'dir');
    assert.deepEqual(left, [], 'no temporary file left');
    assertFsckClean(root);
  });
});

void describe('the environment', () => {
  void test('git-backed commands work whatever EDITOR, VISUAL, PAGER, PREFIX or SSH_ASKPASS say', async (t) => {
    const root = workspace(t, { events: 'data/events' });
    writeTree(join(root, 'data/events'), tree({ 'a.csv': 'a\n' }));
    const results = await Promise.all(
      REFUSED_BY_SIMPLE_GIT.map((name) =>
        sluiceAsync(['log', 'events', '--json'], root, { ...process.env, [name]: 'vi' }),
      ),
    );
    results.forEach((result, i) => {
      assert.equal(result.status, 0, `with ${REFUSED_BY_SIMPLE_GIT[i]!} set: ${result.stderr}`);
    });
  });
});
