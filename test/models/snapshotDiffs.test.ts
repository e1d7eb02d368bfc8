// What the Data Snapshots commands show and do, without VS Code: the sides of a
// diff and whether the diff editor can show them, the blob addresses the
// content provider serves, the summary for the rest, the restore confirmation,
// restore's refusal as the engine really throws it, and a cancelled snapshot run.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { SluiceError } from '../../src/core/errors';
import { restoreDataset } from '../../src/core/snapshots/restore';
import { openWorkspace } from '../../src/core/workspace';
import { compareWithDisk, compareWithPrevious } from '../../src/extension/snapshots/datasets';
import {
  isTextDiff,
  looksLikeText,
  parseSnapshotContentQuery,
  planFileDiffs,
  snapshotContentQuery,
  summarizeDiff,
  TEXT_DIFF_MAX_BYTES,
  type FileDiff,
} from '../../src/extension/snapshots/diffPlan';
import {
  describeRestorePlan,
  isUnsavedDataRefusal,
  restorePlan,
  snapshotAll,
  SnapshotsCancelled,
} from '../../src/extension/snapshots/engineCalls';
import { fileChanges } from '../../src/extension/snapshots/nodes';
import { listSnapshots } from '../../src/core/snapshots/snapshots';
import {
  clearVariablesRefusedBySimpleGit,
  createWorkspace,
  git,
  recordSnapshot,
  removeTree,
  sha256,
  tree,
  writeTree,
} from '../support/workspace';

clearVariablesRefusedBySimpleGit();

const BINARY = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01, 0x02]);

function workspace(t: TestContext): string {
  const root = createWorkspace({ events: 'data/events', users: 'data/users.csv' }, 'sluice-diff-');
  t.after(() => {
    removeTree(root);
  });
  writeTree(join(root, 'data/events'), tree({ 'a.csv': 'a,1\n', 'image.png': BINARY, 'gone.csv': 'x\n' }));
  writeFileSync(join(root, 'data/users.csv'), 'id\n1\n');
  return root;
}

function byPath(diffs: readonly FileDiff[]): Map<string, FileDiff> {
  return new Map(diffs.map((diff) => [diff.file.path, diff]));
}

void describe('snapshot diffs and restore, as the commands show them', () => {
  void test('diff with previous: both sides are blobs; text ones go to the diff editor', async (t) => {
    const root = workspace(t);
    await recordSnapshot(root, 'events', 'one');
    writeTree(
      join(root, 'data/events'),
      tree({ 'a.csv': 'a,1\na,2\n', 'image.png': Buffer.concat([BINARY, BINARY]), 'new.csv': 'n\n' }),
    );
    removeTree(join(root, 'data/events/gone.csv'));
    await recordSnapshot(root, 'events', 'two');
    const ws = await openWorkspace(root);
    const [two, one] = await listSnapshots(ws, 'events');
    const diffs = byPath(planFileDiffs(fileChanges(await compareWithPrevious(ws, two!, one)), undefined));
    assert.deepEqual([...diffs.keys()], ['a.csv', 'gone.csv', 'image.png', 'new.csv']);
    const a = diffs.get('a.csv')!;
    assert.ok(a.before.kind === 'blob');
    assert.equal(a.after.kind, 'blob');
    assert.equal(diffs.get('new.csv')!.before.kind, 'absent');
    assert.equal(diffs.get('gone.csv')!.after.kind, 'absent');
    assert.equal(await isTextDiff(root, a), true);
    assert.equal(await isTextDiff(root, diffs.get('new.csv')!), true);
    assert.equal(await isTextDiff(root, diffs.get('image.png')!), false);

    // The content provider's address for a side gives back the blob's bytes.
    const served = parseSnapshotContentQuery(snapshotContentQuery(root, a.before));
    assert.ok(served.kind === 'blob');
    assert.equal(readFileSync(served.path, 'utf8'), 'a,1\n');
  });

  void test('diff with disk: the right side is the file itself, the left a blob', async (t) => {
    const root = workspace(t);
    await recordSnapshot(root, 'events', 'one');
    writeFileSync(join(root, 'data/events/a.csv'), 'edited\n');
    const ws = await openWorkspace(root);
    const [latest] = await listSnapshots(ws, 'events');
    const comparison = await compareWithDisk(ws, 'events', latest!);
    const diskRoot = join(root, 'data/events');
    const [a] = planFileDiffs(fileChanges(comparison), diskRoot);
    assert.deepEqual(a?.after, {
      kind: 'disk',
      absolutePath: join(diskRoot, 'a.csv'),
      size: 7,
      sha256: sha256('edited\n'),
    });
    assert.equal(a.before.kind, 'blob');
    // A dataset that is one file: the disk side is the dataset's path itself.
    const [users] = planFileDiffs(
      [
        {
          path: '',
          change: 'added',
          before: undefined,
          after: { path: '', type: 'file', size: 5, sha256: 'f'.repeat(64), mode: 0o644 },
        },
      ],
      join(root, 'data/users.csv'),
    );
    assert.deepEqual(users?.after, {
      kind: 'disk',
      absolutePath: join(root, 'data/users.csv'),
      size: 5,
      sha256: 'f'.repeat(64),
    });
  });

  void test('text is what git calls text; big files, folders and links are summarized or shown as their target', async () => {
    assert.equal(looksLikeText(Buffer.from('plain, ünïcode\n')), true);
    assert.equal(looksLikeText(Buffer.from([0x61, 0x00, 0x62])), false);
    assert.equal(
      looksLikeText(Buffer.concat([Buffer.alloc(8000, 0x61), Buffer.from([0])])),
      true,
      'only 8,000 bytes are read',
    );
    const file = { path: 'x', change: 'modified' as const, before: undefined, after: undefined };
    const big: FileDiff = {
      file,
      before: { kind: 'absent' },
      after: {
        kind: 'disk',
        absolutePath: '/nonexistent',
        size: TEXT_DIFF_MAX_BYTES + 1,
        sha256: '0'.repeat(64),
      },
    };
    assert.equal(await isTextDiff('/nowhere', big), false);
    assert.equal(
      await isTextDiff('/nowhere', { file, before: { kind: 'folder' }, after: { kind: 'absent' } }),
      false,
    );
    assert.equal(
      await isTextDiff('/nowhere', {
        file,
        before: { kind: 'link', target: 'a' },
        after: { kind: 'link', target: 'b' },
      }),
      true,
    );
    assert.deepEqual(
      parseSnapshotContentQuery(snapshotContentQuery('/r', { kind: 'link', target: '../x y' })),
      {
        kind: 'text',
        text: 'Symbolic link to ../x y\n',
      },
    );
    assert.deepEqual(parseSnapshotContentQuery(snapshotContentQuery('/r', { kind: 'absent' })), {
      kind: 'text',
      text: '',
    });
    // A root with characters a query must escape comes back whole.
    const odd = '/tmp/a b&c=d#e/ü';
    const served = parseSnapshotContentQuery(
      snapshotContentQuery(odd, { kind: 'blob', sha256: 'ab'.repeat(32), size: 1 }),
    );
    assert.deepEqual(served, { kind: 'blob', path: join(odd, '.sluice/objects/sha256/ab', 'ab'.repeat(31)) });
  });

  void test('the summary lists every change with sizes and hashes, and marks those in the diff editor', () => {
    const sha = (c: string): string => c.repeat(64);
    const diffs = planFileDiffs(
      [
        {
          path: 'a.csv',
          change: 'modified',
          before: { path: 'a.csv', type: 'file', size: 4, sha256: sha('1'), mode: 0o644 },
          after: { path: 'a.csv', type: 'file', size: 2048, sha256: sha('2'), mode: 0o644 },
        },
        {
          path: 'img/b.png',
          change: 'added',
          before: undefined,
          after: { path: 'img/b.png', type: 'file', size: 10, sha256: sha('3'), mode: 0o644 },
        },
        {
          path: 'link',
          change: 'removed',
          before: { path: 'link', type: 'link', target: 'a.csv' },
          after: undefined,
        },
      ],
      undefined,
    );
    assert.equal(
      summarizeDiff('events: 111111111111 ↔ 222222222222', 'data/events', diffs, new Set(['a.csv'])),
      [
        'events: 111111111111 ↔ 222222222222',
        '1 added, 1 modified, 1 removed.',
        '',
        'M  data/events/a.csv  4 B (sha256 111111111111) → 2.0 KiB (sha256 222222222222)  (in the diff editor)',
        'A  data/events/img/b.png  — → 10 B (sha256 333333333333)',
        'D  data/events/link  link to a.csv → —',
        '',
      ].join('\n'),
    );
  });

  void test('the restore confirmation lists what is overwritten, removed and written', async (t) => {
    const root = workspace(t);
    await recordSnapshot(root, 'events', 'one');
    writeFileSync(join(root, 'data/events/a.csv'), 'edited\n');
    writeFileSync(join(root, 'data/events/extra.csv'), 'extra\n');
    removeTree(join(root, 'data/events/gone.csv'));
    const ws = await openWorkspace(root);
    const [latest] = await listSnapshots(ws, 'events');
    const plan = restorePlan(await compareWithDisk(ws, 'events', latest!));
    assert.deepEqual(plan, { overwritten: ['a.csv'], removed: ['extra.csv'], written: ['gone.csv'] });
    const text = describeRestorePlan(plan, (path) => `data/events/${path}`);
    assert.equal(text.summary, 'Restoring overwrites 1 file, removes 1 file, writes 1 file.');
    assert.equal(
      describeRestorePlan({ overwritten: [], removed: ['x', 'y'], written: [] }, (p) => p).summary,
      'Restoring removes 2 files.',
      'kinds with nothing to do are left out',
    );
    assert.equal(
      text.detail,
      [
        'Overwritten:',
        '  data/events/a.csv',
        'Removed:',
        '  data/events/extra.csv',
        'Written:',
        '  data/events/gone.csv',
      ].join('\n'),
    );
    const long = describeRestorePlan({ overwritten: ['1', '2', '3'], removed: [], written: [] }, (p) => p, 2);
    assert.equal(long.detail, ['Overwritten:', '  1', '  2', '  … and 1 more'].join('\n'));
  });

  void test("restore's refusal to lose unsaved bytes is told apart from its other failures", async (t) => {
    const root = workspace(t);
    const id = await recordSnapshot(root, 'events', 'one');
    writeFileSync(join(root, 'data/events/a.csv'), 'unsaved\n');
    const ws = await openWorkspace(root);
    const refusal = await restoreDataset(ws, 'events', id!, { force: false }).then(
      () => assert.fail('restore should refuse'),
      (error: unknown) => error,
    );
    assert.equal(isUnsavedDataRefusal(refusal), true, String(refusal));
    assert.equal(readFileSync(join(root, 'data/events/a.csv'), 'utf8'), 'unsaved\n', 'nothing was written');
    const unknownId = await restoreDataset(ws, 'events', 'abcdef12', { force: false }).then(
      () => assert.fail('no such snapshot'),
      (error: unknown) => error,
    );
    assert.ok(unknownId instanceof SluiceError);
    assert.equal(isUnsavedDataRefusal(unknownId), false);
    assert.equal(isUnsavedDataRefusal(new Error('Restoring would be nice')), false);
  });

  void test('a snapshot run cancelled before a dataset starts records nothing more', async (t) => {
    const root = workspace(t);
    const ws = await openWorkspace(root);
    const cancelled = new AbortController();
    cancelled.abort();
    const before = await snapshotAll(ws, ['events', 'users'], 'm', cancelled.signal, () => undefined).then(
      () => assert.fail('the run should be cancelled'),
      (error: unknown) => error,
    );
    assert.ok(before instanceof SnapshotsCancelled);
    assert.deepEqual(before.recorded, []);
    assert.equal(git(root, 'for-each-ref', 'refs/sluice/'), '', 'no ref was written');

    // Cancel while the second dataset starts: the first is recorded either way. Until the engine
    // honours the signal inside a dataset, the second completes too; once it does, it is cancelled.
    const controller = new AbortController();
    const outcome = await snapshotAll(ws, ['events', 'users'], 'm', controller.signal, (_name, index) => {
      if (index === 1) controller.abort();
    }).then(
      (results) => results.map((result) => result.dataset),
      (error: unknown) => error,
    );
    const refs = git(root, 'for-each-ref', '--format=%(refname)', 'refs/sluice/').split('\n');
    if (outcome instanceof SnapshotsCancelled) {
      assert.deepEqual(
        outcome.recorded.map((result) => result.dataset),
        ['events'],
      );
      assert.deepEqual(refs, ['refs/sluice/datasets/events']);
    } else {
      assert.deepEqual(outcome, ['events', 'users']);
      assert.deepEqual(refs, ['refs/sluice/datasets/events', 'refs/sluice/datasets/users']);
    }
  });
});
