// The Data Snapshots view inside a real VS Code (code-server offline,
// @vscode/test-electron online), run by mocha in the extension host. The
// workspace is a fresh `sluice init --example churn` copy, opened trusted. Each
// step checks the effect where it lands: the view's items, the files on disk,
// the refs under refs/sluice/ and the blobs in .sluice/.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'mocha';
import * as vscode from 'vscode';
import type { RestoreJson, SnapshotJson } from '../../src/core/operations/results';
import type { SluiceApi } from '../../src/extension/sluiceExtension';
import type { SnapshotsNode } from '../../src/extension/snapshots/nodes';

const EXTENSION_ID = 'sluice.sluice';

let api: SluiceApi;
let root: string;

/** Polls `check` until it stops throwing: the view follows file events, so nothing here sleeps a fixed time. */
async function until(check: () => Promise<void>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function git(...args: string[]): string {
  const result = spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : '';
}

function blobExists(sha256: string): boolean {
  return existsSync(join(root, '.sluice/objects/sha256', sha256.slice(0, 2), sha256.slice(2)));
}

async function item(node: SnapshotsNode): Promise<vscode.TreeItem> {
  return api.snapshotsView.getTreeItem(node);
}

async function children(node?: SnapshotsNode): Promise<SnapshotsNode[]> {
  return (await api.snapshotsView.getChildren(node)) ?? [];
}

async function dataset(name: string): Promise<SnapshotsNode> {
  const found = (await children()).find((node) => node.kind === 'dataset' && node.dataset.name === name);
  assert.ok(found, `the view lists dataset ${name}`);
  return found;
}

/** "Changes on disk" of a dataset, and its description. */
async function changesDescription(name: string): Promise<unknown> {
  const [changes] = await children(await dataset(name));
  assert.equal(changes?.kind, 'changes');
  return (await item(changes)).description;
}

async function snapshotLabels(name: string): Promise<unknown[]> {
  const nodes = (await children(await dataset(name))).filter((node) => node.kind === 'snapshot');
  return Promise.all(nodes.map(async (node) => (await item(node)).label));
}

describe('Data Snapshots view', () => {
  before(async () => {
    const extension = vscode.extensions.getExtension<SluiceApi>(EXTENSION_ID);
    assert.ok(extension, `${EXTENSION_ID} is installed`);
    api = await extension.activate();
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder, 'a workspace folder is open');
    root = folder.uri.fsPath;
    assert.ok(vscode.workspace.isTrusted, 'these tests need a trusted workspace');
    await api.refresh();
  });

  it('registers every command package.json contributes', async () => {
    const contributed = (
      vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON as {
        contributes: { commands: { command: string }[] };
      }
    ).contributes.commands.map((command) => command.command);
    const registered = new Set(await vscode.commands.getCommands(true));
    assert.deepEqual(
      contributed.filter((id) => !registered.has(id)),
      [],
    );
  });

  it("lists the example's datasets, each with every file on disk as a change and no snapshot yet", async () => {
    const items = await Promise.all((await children()).map(item));
    assert.deepEqual(
      items.map((treeItem) => [treeItem.label, treeItem.description, treeItem.contextValue]),
      [
        ['events', 'data/raw/events', 'dataset'],
        ['users', 'data/raw/users.csv', 'dataset'],
      ],
    );
    assert.equal(await changesDescription('events'), 'no snapshot yet · +3');
    assert.equal(await changesDescription('users'), 'no snapshot yet · +1');
    assert.deepEqual(await snapshotLabels('events'), []);
  });

  it('Snapshot Datasets records every dataset: refs move, blobs land in .sluice/, the view lists the snapshots', async () => {
    const results = await vscode.commands.executeCommand<SnapshotJson | undefined>(
      'sluice.snapshotDatasets',
      {
        message: 'From the extension test',
      },
    );
    assert.ok(results, 'the command ran');
    assert.deepEqual(
      results.snapshots.map((entry) => `${entry.dataset} ${String(entry.changed)}`),
      ['events true', 'users true'],
    );
    for (const name of ['events', 'users']) {
      assert.match(
        git('rev-parse', '--verify', `refs/sluice/datasets/${name}`),
        /^[0-9a-f]{40}$/,
        `${name}'s ref`,
      );
    }
    const usersCsv = spawnSync('sha256sum', [join(root, 'data/raw/users.csv')], {
      encoding: 'utf8',
    }).stdout.split(' ')[0]!;
    assert.ok(blobExists(usersCsv), 'users.csv is in the blob cache');
    assert.deepEqual(await snapshotLabels('events'), ['From the extension test']);
    assert.equal(await changesDescription('events'), 'none');
  });

  it('Snapshot on one dataset after a change records only that dataset', async () => {
    const eventsRef = git('rev-parse', 'refs/sluice/datasets/events');
    const usersRef = git('rev-parse', 'refs/sluice/datasets/users');
    appendFileSync(join(root, 'data/raw/users.csv'), 'u999,2024-03-01,pro,0\n');
    // The data watcher refreshes the dataset by itself.
    await until(async () => {
      assert.equal(await changesDescription('users'), '~1');
    });
    await api.whenIdle();
    const eventsBefore = await dataset('events');
    const eventsReads = api.datasetReads().get('events');
    await vscode.commands.executeCommand('sluice.snapshotDataset', await dataset('users'), {
      message: 'One more user',
    });
    await api.whenIdle();
    assert.notEqual(git('rev-parse', 'refs/sluice/datasets/users'), usersRef);
    assert.equal(git('rev-parse', 'refs/sluice/datasets/events'), eventsRef);
    assert.deepEqual(await snapshotLabels('users'), ['One more user', 'From the extension test']);
    // Only users was read again: events was not rescanned, and the view shows the very state it had.
    assert.equal(api.datasetReads().get('events'), eventsReads, 'events was not read again');
    const eventsAfter = await dataset('events');
    assert.ok(eventsBefore.kind === 'dataset' && eventsAfter.kind === 'dataset');
    assert.equal(eventsAfter.dataset, eventsBefore.dataset, "events' state is the same object as before");
  });

  it('Restore refuses to overwrite bytes no snapshot holds, and leaves the disk and the refs as they were', async () => {
    const file = join(root, 'data/raw/events', readdirSync(join(root, 'data/raw/events')).sort()[0]!);
    writeFileSync(file, 'edited, never snapshotted\n');
    await api.whenIdle();
    const refsBefore = git('for-each-ref', 'refs/sluice/');
    const latest = (await children(await dataset('events'))).find((node) => node.kind === 'snapshot');
    assert.ok(latest, 'events has a snapshot');
    const result = await vscode.commands.executeCommand('sluice.restoreSnapshot', latest, {
      confirmed: true,
    });
    assert.equal(result, undefined, 'the command reports the refusal instead of a result');
    assert.equal(readFileSync(file, 'utf8'), 'edited, never snapshotted\n');
    assert.equal(git('for-each-ref', 'refs/sluice/'), refsBefore);
  });

  it('Snapshot and Restore (snapshotUnsaved) records the unsaved bytes, then restores; the view follows at once', async () => {
    const file = join(root, 'data/raw/events', readdirSync(join(root, 'data/raw/events')).sort()[0]!);
    const latest = (await children(await dataset('events'))).find((node) => node.kind === 'snapshot');
    assert.ok(latest?.kind === 'snapshot', 'events has a snapshot');
    const result = await vscode.commands.executeCommand<RestoreJson | undefined>(
      'sluice.restoreSnapshot',
      latest,
      { confirmed: true, snapshotUnsaved: true },
    );
    assert.ok(result?.saved, 'the edited bytes were saved as a snapshot first');
    assert.notEqual(readFileSync(file, 'utf8'), 'edited, never snapshotted\n');
    // The newest snapshot is now the saved edit, and the disk holds the older one: one file differs.
    assert.equal(await changesDescription('events'), '~1');
    assert.equal((await snapshotLabels('events')).length, 2, 'the saved snapshot is listed');
  });
});
