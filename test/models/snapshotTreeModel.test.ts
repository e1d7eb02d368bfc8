// The Data Snapshots view's data and looks, without VS Code: real workspaces in
// temp folders, read through the same engine calls the view makes, turned into
// the view's elements and their labels, descriptions, menus and icons.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { discoverFolder, type FolderState } from '../../src/extension/folders';
import { compareWithPrevious, loadDatasets, type DatasetState } from '../../src/extension/snapshots/datasets';
import {
  datasetChildren,
  describeNode,
  fileChanges,
  fileNodes,
  LISTED_FILES_LIMIT,
  rootNodes,
  type ChangesNode,
  type DatasetNode,
  type FolderView,
  type SnapshotNode,
  type SnapshotsNode,
} from '../../src/extension/snapshots/nodes';
import {
  clearVariablesRefusedBySimpleGit,
  createWorkspace,
  recordSnapshot,
  removeTree,
  tree,
  writeTree,
} from '../support/workspace';

clearVariablesRefusedBySimpleGit();

const DATASETS = { events: 'data/events', users: 'data/users.csv' };

function workspace(t: TestContext): string {
  const root = createWorkspace(DATASETS, 'sluice-view-');
  t.after(() => {
    removeTree(root);
  });
  writeTree(join(root, 'data/events'), tree({ 'a.csv': 'a,1\n', 'b.csv': 'b,2\n' }));
  writeFileSync(join(root, 'data/users.csv'), 'id,plan\n1,pro\n');
  return root;
}

async function readFolder(root: string): Promise<FolderView> {
  const state = await discoverFolder(root, { trusted: true });
  assert.ok(state.kind === 'ready', 'message' in state ? state.message : state.kind);
  return { state, datasets: await loadDatasets(state.workspace) };
}

function datasetNode(folder: FolderView, name: string): DatasetNode {
  const node = rootNodes([folder]).find((n) => n.kind === 'dataset' && n.dataset.name === name);
  assert.ok(node?.kind === 'dataset', `a node for dataset ${name}`);
  return node;
}

function changesOf(dataset: DatasetNode): ChangesNode {
  const node = datasetChildren(dataset)[0];
  assert.ok(node?.kind === 'changes', 'the first child is "Changes on disk"');
  return node;
}

function snapshotsOf(dataset: DatasetNode): SnapshotNode[] {
  return datasetChildren(dataset).filter((node) => node.kind === 'snapshot');
}

/** The files listed under "Changes on disk": label, folder, icon. */
function listedChanges(changes: ChangesNode): [string, string | undefined, string][] {
  const { history } = changes.parent.dataset;
  assert.ok(history.kind === 'read' && history.disk.kind === 'read');
  return fileNodes(changes, fileChanges(history.disk)).map((node) => {
    const view = describeNode(node);
    return [view.label, view.description, view.icon.id];
  });
}

void describe('Data Snapshots view model', () => {
  void test('a dataset never snapshotted lists every file on disk as added', async (t) => {
    const root = workspace(t);
    const folder = await readFolder(root);
    const roots = rootNodes([folder]);
    assert.deepEqual(
      roots.map((node) => [describeNode(node).label, describeNode(node).description]),
      [
        ['events', 'data/events'],
        ['users', 'data/users.csv'],
      ],
    );
    const events = datasetNode(folder, 'events');
    assert.equal(describeNode(events).contextValue, 'dataset');
    assert.deepEqual(
      datasetChildren(events).map((node) => node.kind),
      ['changes'],
    );
    const changes = describeNode(changesOf(events));
    assert.equal(changes.label, 'Changes on disk');
    assert.equal(changes.description, 'no snapshot yet · +2');
    assert.equal(changes.contextValue, 'changes.unsnapshotted');
    assert.deepEqual(listedChanges(changesOf(events)), [
      ['a.csv', undefined, 'diff-added'],
      ['b.csv', undefined, 'diff-added'],
    ]);
    // A dataset that is one file: its only path is '', shown under the file's own name.
    assert.deepEqual(listedChanges(changesOf(datasetNode(folder, 'users'))), [
      ['users.csv', undefined, 'diff-added'],
    ]);
  });

  void test('snapshots come newest first with age, files and size; changes are counted since the latest', async (t) => {
    const root = workspace(t);
    const events = join(root, 'data/events');
    await recordSnapshot(root, 'events', 'First export');
    writeFileSync(join(events, 'a.csv'), 'a,1\na,11\n');
    rmSync(join(events, 'b.csv'));
    writeTree(events, tree({ 'c/d.csv': 'd,4\n' }));
    await recordSnapshot(root, 'events', 'Second export\n\nwith a body line');
    writeFileSync(join(events, 'c/d.csv'), 'd,44\n');
    writeFileSync(join(events, 'e.csv'), 'e,5\n');

    const folder = await readFolder(root);
    const node = datasetNode(folder, 'events');
    const snapshots = snapshotsOf(node);
    assert.deepEqual(
      snapshots.map((s) => describeNode(s).label),
      ['Second export', 'First export'],
    );
    const [second, first] = snapshots as [SnapshotNode, SnapshotNode];
    const threeHoursLater = Date.parse(second.snapshot.time) + 3 * 3600_000;
    const look = describeNode(second, threeHoursLater);
    assert.equal(look.description, '3 hours ago · 2 files · 13 B');
    assert.match(look.tooltip, new RegExp(`^Snapshot ${second.snapshot.id} \\(latest\\)`));
    assert.equal(look.contextValue, 'snapshot');
    assert.equal(
      describeNode(first).contextValue,
      'snapshot.first',
      'the first has no previous to diff with',
    );
    assert.equal(second.previous?.id, first.snapshot.id);

    const changes = describeNode(changesOf(node));
    assert.equal(changes.description, '+1 ~1');
    assert.match(
      changes.tooltip,
      new RegExp(
        `1 added, 1 modified, 0 removed since snapshot ${second.snapshot.id.slice(0, 12)} \\(Second export\\)`,
      ),
    );
    assert.equal(changes.contextValue, 'changes');
    assert.deepEqual(listedChanges(changesOf(node)), [
      ['d.csv', 'c', 'diff-modified'],
      ['e.csv', undefined, 'diff-added'],
    ]);

    // Expanding a snapshot lists what it changed from the one before.
    const state = folder.state;
    assert.ok(state.kind === 'ready');
    const comparison = await compareWithPrevious(state.workspace, second.snapshot, second.previous);
    const files = fileNodes(second, fileChanges(comparison)).map((file) => {
      const view = describeNode(file);
      return [view.label, view.icon.id, view.contextValue, view.openCommand, view.tooltip];
    });
    assert.deepEqual(files, [
      [
        'a.csv',
        'diff-modified',
        'file.snapshot',
        'sluice.diffWithPrevious',
        'Modified: data/events/a.csv (4 B → 9 B)',
      ],
      [
        'b.csv',
        'diff-removed',
        'file.snapshot',
        'sluice.diffWithPrevious',
        'Removed: data/events/b.csv (4 B)',
      ],
      ['d.csv', 'diff-added', 'file.snapshot', 'sluice.diffWithPrevious', 'Added: data/events/c/d.csv (4 B)'],
    ]);
  });

  void test('a dataset whose path is gone counts every snapshotted file as removed', async (t) => {
    const root = workspace(t);
    await recordSnapshot(root, 'events', 'Before the loss');
    rmSync(join(root, 'data/events'), { recursive: true });
    const folder = await readFolder(root);
    const changes = describeNode(changesOf(datasetNode(folder, 'events')));
    assert.equal(changes.description, 'missing on disk · −2');
    assert.match(changes.tooltip, /Nothing is at data\/events\./);
  });

  void test('an unchanged dataset has "none" and nothing to expand', async (t) => {
    const root = workspace(t);
    await recordSnapshot(root, 'users', 'Users');
    const look = describeNode(changesOf(datasetNode(await readFolder(root), 'users')));
    assert.equal(look.description, 'none');
    assert.equal(look.collapsible, 'none');
    assert.equal(look.contextValue, 'changes.none', 'no Diff with Disk on it');
  });

  void test(`a node lists at most ${LISTED_FILES_LIMIT} files, then says how many more`, async (t) => {
    const root = workspace(t);
    const many = Object.fromEntries(
      Array.from({ length: LISTED_FILES_LIMIT + 1 }, (_, i) => [
        `f${String(i).padStart(4, '0')}.csv`,
        `${i}\n`,
      ]),
    );
    writeTree(join(root, 'data/events'), tree(many));
    const changes = changesOf(datasetNode(await readFolder(root), 'events'));
    const { history } = changes.parent.dataset;
    assert.ok(history.kind === 'read' && history.disk.kind === 'read');
    const nodes = fileNodes(changes, fileChanges(history.disk));
    assert.equal(nodes.length, LISTED_FILES_LIMIT + 1);
    assert.deepEqual(describeNode(nodes.at(-1)!).label, '3 more files', 'a.csv, b.csv and the last f…');
  });

  void test('several folders: one node per folder with a manifest, saying what stops the others', () => {
    const ready = fakeDataset('events');
    const folders: FolderView[] = [
      { state: restrictedFolder('/w/one'), datasets: [ready] },
      { state: { kind: 'noManifest', folder: '/w/two' }, datasets: [] },
      {
        state: {
          kind: 'noGit',
          folder: '/w/three',
          root: '/w/three',
          manifestFile: '/w/three/sluice.yaml',
          message: 'no git',
        },
        datasets: [],
      },
    ];
    const roots = rootNodes(folders);
    assert.deepEqual(
      roots.map((node) => {
        const view = describeNode(node);
        return [view.label, view.description, view.contextValue, view.collapsible];
      }),
      [
        ['one', 'Restricted Mode', 'folder.restricted', 'expanded'],
        ['three', 'not a git repository', 'folder.noGit', 'none'],
      ],
    );
  });

  void test('one folder that cannot be read shows no element, so its welcome content shows', () => {
    const state: FolderState = {
      kind: 'invalidManifest',
      folder: '/w',
      root: '/w',
      manifestFile: '/w/sluice.yaml',
      message: 'bad',
    };
    assert.deepEqual(rootNodes([{ state, datasets: [] }]), []);
    assert.deepEqual(rootNodes([{ state: { kind: 'noManifest', folder: '/w' }, datasets: [] }]), []);
  });

  void test('every element of a tree has its own id, stable across reads', async (t) => {
    const root = workspace(t);
    await recordSnapshot(root, 'events', 'One');
    writeFileSync(join(root, 'data/events/a.csv'), 'changed\n');
    await recordSnapshot(root, 'events', 'Two');
    writeFileSync(join(root, 'data/events/b.csv'), 'changed too\n');
    const ids = async (): Promise<string[]> => {
      const folder = await readFolder(root);
      const state = folder.state;
      assert.ok(state.kind === 'ready');
      const all: SnapshotsNode[] = [];
      for (const dataset of rootNodes([folder])) {
        all.push(dataset);
        assert.ok(dataset.kind === 'dataset');
        for (const child of datasetChildren(dataset)) {
          all.push(child);
          const comparison =
            child.kind === 'snapshot'
              ? await compareWithPrevious(state.workspace, child.snapshot, child.previous)
              : child.parent.dataset.history.kind === 'read' &&
                  child.parent.dataset.history.disk.kind === 'read'
                ? child.parent.dataset.history.disk
                : undefined;
          if (comparison) all.push(...fileNodes(child, fileChanges(comparison)));
        }
      }
      return all.map((node) => describeNode(node).id);
    };
    const first = await ids();
    assert.equal(new Set(first).size, first.length, `duplicate ids in ${first.join('\n')}`);
    assert.deepEqual(await ids(), first);
  });
});

function fakeDataset(name: string): DatasetState {
  return {
    name,
    path: `data/${name}`,
    absolutePath: `/w/one/data/${name}`,
    description: undefined,
    history: { kind: 'unread' },
  };
}

/** A folder read in Restricted Mode: its datasets come from the manifest alone. */
function restrictedFolder(folder: string): FolderState {
  return {
    kind: 'restricted',
    folder,
    root: folder,
    manifestFile: `${folder}/sluice.yaml`,
    manifest: { datasets: new Map() } as unknown as Extract<FolderState, { kind: 'restricted' }>['manifest'],
  };
}
