// The model's dataset reads without VS Code: real workspaces in temp folders,
// real file events (fs.watch), changes made by another process (a shell), as a
// terminal would. A read the watch vouches for walks nothing and shows what the
// last walk showed; after any change it walks, and shows what a plain read of
// the disk shows (loadDataset without reuse, the oracle).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import type { Workspace } from '../../src/core/workspace';
import { discoverFolder } from '../../src/extension/folders';
import { DatasetDiskReads } from '../../src/extension/snapshots/datasetDiskReads';
import { loadDataset, type DatasetState } from '../../src/extension/snapshots/datasets';
import type { WatchOptions } from '../../src/extension/snapshots/diskWatch';
import { listSnapshots } from '../../src/core/snapshots/snapshots';
import {
  clearVariablesRefusedBySimpleGit,
  createWorkspace,
  git,
  recordSnapshot,
  removeTree,
  tree,
  writeTree,
} from '../support/workspace';

clearVariablesRefusedBySimpleGit();

async function open(t: TestContext, datasets: Record<string, string>): Promise<Workspace> {
  const root = createWorkspace(datasets, 'sluice-watch-');
  t.after(() => {
    removeTree(root);
  });
  writeTree(
    join(root, 'data/events'),
    tree({ 'a.csv': 'a,1\n', 'b.csv': 'b,2\n', 'day/1.csv': '1\n', 'day/deeper/2.csv': '2\n' }),
  );
  writeFileSync(join(root, 'data/users.csv'), 'id,plan\n1,pro\n');
  const state = await discoverFolder(root, { trusted: true });
  assert.ok(state.kind === 'ready', 'message' in state ? state.message : state.kind);
  return state.workspace;
}

function reads(t: TestContext, options: WatchOptions = {}): DatasetDiskReads {
  const logged: string[] = [];
  const reader = new DatasetDiskReads((message) => logged.push(message), options);
  t.after(() => {
    reader.dispose();
  });
  return reader;
}

/** What the view shows of the disk: changed paths (sorted), and whether the path exists. */
function diskOf(state: DatasetState): unknown {
  assert.ok(state.history.kind === 'read', `the history is read (${state.history.kind})`);
  const { disk } = state.history;
  if (disk.kind !== 'read') return disk;
  const sorted = (paths: readonly string[]): string[] => [...paths].sort();
  return {
    exists: disk.exists,
    added: sorted(disk.changes.added),
    modified: sorted(disk.changes.modified),
    removed: sorted(disk.changes.removed),
  };
}

function shell(cwd: string, script: string): void {
  const result = spawnSync('sh', ['-c', script], { cwd, encoding: 'utf8' });
  assert.equal(result.status, 0, `${script}: ${result.stderr}`);
}

/** Another process's changes, each as a user would make it in a terminal, from the workspace root. */
const CHANGES: Record<string, string> = {
  'append to a file': 'echo more >> data/events/a.csv',
  'overwrite a file with the same size': 'printf "a,9\\n" > data/events/a.csv',
  'create a file': 'echo new > data/events/c.csv',
  'delete a file': 'rm data/events/b.csv',
  'rename a file': 'mv data/events/b.csv data/events/b2.csv',
  'move a file in from outside': 'echo outside > other.csv && mv other.csv data/events/day/',
  'copy a file in': 'cp sluice.yaml data/events/day/deeper/',
  'make a nested folder with a file': 'mkdir -p data/events/x/y && echo z > data/events/x/y/z.csv',
  'delete a nested folder': 'rm -r data/events/day',
  'rename a folder': 'mv data/events/day data/events/night',
  'make a file executable': 'chmod +x data/events/day/deeper/2.csv',
  'delete the whole dataset': 'rm -r data/events',
  'replace the dataset folder': 'rm -r data/events && mkdir data/events && echo a,1 > data/events/a.csv',
  'replace a one-file dataset by rename': 'echo id > u.tmp && mv u.tmp data/users.csv',
};

describe('dataset reads vouched for by the watch', () => {
  test('an unchanged dataset is walked once, then read without a walk, showing the same', async (t) => {
    const workspace = await open(t, { events: 'data/events', users: 'data/users.csv' });
    await recordSnapshot(workspace.root, 'events');
    const reader = reads(t);
    const first = await reader.load(workspace, 'events', () => undefined);
    assert.equal(reader.walks.get('events'), 1);
    for (let again = 0; again < 3; again++) {
      const next = await reader.load(workspace, 'events', () => undefined);
      assert.deepEqual(diskOf(next), diskOf(first));
    }
    assert.equal(reader.walks.get('events'), 1, 'no read after the first walked');
  });

  for (const [change, script] of Object.entries(CHANGES)) {
    test(`${change}: the next read walks and shows what the disk holds`, async (t) => {
      const workspace = await open(t, { events: 'data/events', users: 'data/users.csv' });
      await recordSnapshot(workspace.root, 'events');
      await recordSnapshot(workspace.root, 'users');
      const reader = reads(t);
      const heard: string[] = [];
      for (const name of ['events', 'users']) {
        await reader.load(workspace, name, () => heard.push(name));
        await reader.load(workspace, name, () => heard.push(name));
      }
      shell(workspace.root, script);
      // No wait: the change is read right after it, as a refresh clicked at once would.
      for (const name of ['events', 'users']) {
        const shown = await reader.load(workspace, name, () => heard.push(name));
        assert.deepEqual(
          diskOf(shown),
          diskOf(await loadDataset(workspace, name)),
          `${name} after: ${script}`,
        );
      }
      const touched = script.includes('users.csv') ? 'users' : 'events';
      assert.equal(reader.walks.get(touched), 2, `${touched} was walked again`);
      assert.ok(heard.includes(touched), `the model heard that ${touched} changed`);
      // And once read, it is vouched for again.
      await reader.load(workspace, touched, () => undefined);
      assert.equal(reader.walks.get(touched), 2, `${touched} is vouched for after its walk`);
    });
  }

  test('a folder made after a walk is watched too: a file written in it later is seen', async (t) => {
    const workspace = await open(t, { events: 'data/events' });
    const reader = reads(t);
    await reader.load(workspace, 'events', () => undefined);
    mkdirSync(join(workspace.root, 'data/events/later/inner'), { recursive: true });
    await reader.load(workspace, 'events', () => undefined);
    await reader.load(workspace, 'events', () => undefined);
    const walks = reader.walks.get('events');
    shell(workspace.root, 'echo late > data/events/later/inner/late.csv');
    const shown = await reader.load(workspace, 'events', () => undefined);
    assert.equal(reader.walks.get('events'), walks! + 1);
    assert.deepEqual(diskOf(shown), diskOf(await loadDataset(workspace, 'events')));
  });

  for (const [replaced, script] of Object.entries({
    'the dataset folder': 'rm -r data/events && cp -r copy data/events',
    'a nested folder': 'rm -r data/events/day && cp -r copy/day data/events/day',
  }))
    test(`${replaced} removed and made again: changes in the new one are seen`, async (t) => {
      const workspace = await open(t, { events: 'data/events' });
      const reader = reads(t);
      shell(workspace.root, 'cp -r data/events copy');
      await reader.load(workspace, 'events', () => undefined);
      shell(workspace.root, script);
      await reader.load(workspace, 'events', () => undefined);
      await reader.load(workspace, 'events', () => undefined);
      for (const change of ['echo more >> data/events/a.csv', 'echo more >> data/events/day/1.csv']) {
        const walks = reader.walks.get('events')!;
        shell(workspace.root, change);
        const shown = await reader.load(workspace, 'events', () => undefined);
        assert.equal(reader.walks.get('events'), walks + 1, `walked after: ${change}`);
        assert.deepEqual(diskOf(shown), diskOf(await loadDataset(workspace, 'events')));
      }
    });

  test('a new snapshot (the ref moved) is compared again, with a walk', async (t) => {
    const workspace = await open(t, { events: 'data/events' });
    const reader = reads(t);
    const before = await reader.load(workspace, 'events', () => undefined);
    assert.equal((diskOf(before) as { added: string[] }).added.length, 4);
    await recordSnapshot(workspace.root, 'events');
    const after = await reader.load(workspace, 'events', () => undefined);
    assert.deepEqual(diskOf(after), { exists: true, added: [], modified: [], removed: [] });
    assert.equal(reader.walks.get('events'), 2);
  });

  test('the snapshots listed are those of the commit the ref names now, loose or packed', async (t) => {
    const workspace = await open(t, { events: 'data/events' });
    const reader = reads(t);
    const ids = async (): Promise<string[]> => {
      const state = await reader.load(workspace, 'events', () => undefined);
      assert.ok(state.history.kind === 'read');
      return state.history.snapshots.map((snapshot) => snapshot.id);
    };
    const listed = async (): Promise<string[]> =>
      (await listSnapshots(workspace, 'events')).map((snapshot) => snapshot.id);
    assert.deepEqual(await ids(), []);
    await recordSnapshot(workspace.root, 'events');
    assert.deepEqual(await ids(), await listed());
    git(workspace.root, 'pack-refs', '--all');
    assert.deepEqual(await ids(), await listed());
    shell(workspace.root, 'echo more >> data/events/a.csv');
    await recordSnapshot(workspace.root, 'events');
    assert.equal((await listed()).length, 2);
    assert.deepEqual(await ids(), await listed());
    git(workspace.root, 'pack-refs', '--all');
    git(workspace.root, 'update-ref', '-d', 'refs/sluice/datasets/events');
    assert.deepEqual(await ids(), []);
  });

  test('forget (a command of Sluice wrote the files) makes the next read walk', async (t) => {
    const workspace = await open(t, { events: 'data/events', users: 'data/users.csv' });
    const reader = reads(t);
    for (const name of ['events', 'users']) await reader.load(workspace, name, () => undefined);
    reader.forget(workspace.root, new Set(['users']));
    for (const name of ['events', 'users']) await reader.load(workspace, name, () => undefined);
    assert.deepEqual([reader.walks.get('events'), reader.walks.get('users')], [1, 2]);
    reader.forget(workspace.root);
    for (const name of ['events', 'users']) await reader.load(workspace, name, () => undefined);
    assert.deepEqual([reader.walks.get('events'), reader.walks.get('users')], [2, 3]);
  });

  test('a burst of events that may have overflowed the queue makes every dataset walk', async (t) => {
    const workspace = await open(t, { events: 'data/events', users: 'data/users.csv' });
    const reader = reads(t, { overflowSuspicion: 20 });
    for (const name of ['events', 'users']) await reader.load(workspace, name, () => undefined);
    // Many events under events only; users' own events could have been the ones dropped.
    shell(workspace.root, 'for i in $(seq 1 40); do echo $i > data/events/f$i.csv; done');
    await reader.load(workspace, 'events', () => undefined);
    await reader.load(workspace, 'users', () => undefined);
    assert.deepEqual([reader.walks.get('events'), reader.walks.get('users')], [2, 2]);
  });

  test('a dataset with more folders than a watch may take is walked on every read', async (t) => {
    // data/events holds three folders (itself, day, day/deeper): one more than allowed.
    const workspace = await open(t, { events: 'data/events' });
    const reader = reads(t, { mostFolders: 2 });
    for (let read = 0; read < 3; read++) await reader.load(workspace, 'events', () => undefined);
    assert.equal(reader.walks.get('events'), 3);
    const allowed = reads(t, { mostFolders: 3 });
    for (let read = 0; read < 3; read++) await allowed.load(workspace, 'events', () => undefined);
    assert.equal(allowed.walks.get('events'), 1);
  });

  test('a dataset reached through a symbolic link is walked on every read', async (t) => {
    const workspace = await open(t, { linked: 'data/linked/set' });
    mkdirSync(join(workspace.root, 'data/real/set'), { recursive: true });
    writeFileSync(join(workspace.root, 'data/real/set/a.csv'), 'a\n');
    symlinkSync('real', join(workspace.root, 'data/linked'));
    const reader = reads(t);
    for (let read = 0; read < 3; read++) {
      const shown = await reader.load(workspace, 'linked', () => undefined);
      assert.deepEqual(diskOf(shown), { exists: true, added: ['a.csv'], modified: [], removed: [] });
    }
    assert.equal(reader.walks.get('linked'), 3);
  });

  test('a dataset path that does not exist yet is seen when it appears', async (t) => {
    const workspace = await open(t, { later: 'data/later' });
    const reader = reads(t);
    const missing = await reader.load(workspace, 'later', () => undefined);
    assert.equal((diskOf(missing) as { exists: boolean }).exists, false);
    await reader.load(workspace, 'later', () => undefined);
    shell(workspace.root, 'mkdir data/later && echo x > data/later/x.csv');
    const shown = await reader.load(workspace, 'later', () => undefined);
    assert.deepEqual(diskOf(shown), { exists: true, added: ['x.csv'], modified: [], removed: [] });
  });
});
