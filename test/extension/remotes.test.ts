// Remotes inside a real VS Code, on the churn example: Add Remote declares a
// folder remote, Push shares the snapshots (refs to a bare `origin`, blobs to
// the folder), a teammate (the CLI in a clone of its own) pushes a newer
// snapshot, Fetch shows it as "↓1" beside the dataset and in the status bar
// without changing a file, and Pull brings it in. The workspace is shared
// with the other files: everything this file adds is taken away at the end.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'mocha';
import * as vscode from 'vscode';
import { experimentRef, writeExperiment } from '../../src/core/experiments/records';
import type { FetchJson, PullJson, PushJson } from '../../src/core/operations/results';
import { openWorkspace } from '../../src/core/workspace';
import type { SnapshotsNode } from '../../src/extension/snapshots/nodes';
import type { SluiceApi } from '../../src/extension/sluiceExtension';
import { activatedApi } from './support/sluiceExtension';
import { waitFor } from './support/waitFor';
import { workspaceFolder } from './support/workspace';

let api: SluiceApi;
let root: string;
let originalHead: string;
let originalManifest: string;
const scratch = mkdtempSync(join(tmpdir(), 'sluice-ext-remotes-'));
const origin = join(scratch, 'origin.git');
const blobs = join(scratch, 'blobs');
const CLI = join(__dirname, '../../../dist/cli.js');

function run(cwd: string, command: string, ...args: string[]): string {
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Test',
      GIT_AUTHOR_EMAIL: 't@example.com',
      GIT_COMMITTER_NAME: 'Test',
      GIT_COMMITTER_EMAIL: 't@example.com',
    },
  });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}

const git = (...args: string[]): string => run(root, 'git', ...args);

async function datasetDescription(name: string): Promise<string> {
  const nodes: SnapshotsNode[] = (await api.snapshotsView.getChildren(undefined)) ?? [];
  const node = nodes.find((candidate) => candidate.kind === 'dataset' && candidate.dataset.name === name);
  assert.ok(node, `the view lists ${name}`);
  return String((await api.snapshotsView.getTreeItem(node)).description);
}

describe('Remotes', () => {
  before(async () => {
    api = await activatedApi();
    root = workspaceFolder().uri.fsPath;
    originalHead = git('rev-parse', 'HEAD');
    originalManifest = readFileSync(join(root, 'sluice.yaml'), 'utf8');
    run(scratch, 'git', 'init', '-q', '--bare', '--initial-branch=main', origin);
    mkdirSync(blobs);
    git('remote', 'add', 'origin', origin);
  });

  after(async () => {
    for (const ref of git(
      'for-each-ref',
      '--format=%(refname)',
      'refs/sluice/',
      'refs/sluice-remotes/',
    ).split('\n'))
      if (ref !== '') git('update-ref', '-d', ref);
    git('remote', 'remove', 'origin');
    git('reset', '-q', '--hard', originalHead);
    writeFileSync(join(root, 'sluice.yaml'), originalManifest);
    rmSync(join(root, '.sluice'), { recursive: true, force: true, maxRetries: 3 });
    rmSync(scratch, { recursive: true, force: true, maxRetries: 3 });
    await api.refresh();
  });

  it('Add Remote declares it in sluice.yaml; Push shares the snapshots', async () => {
    const added = await vscode.commands.executeCommand('sluice.addRemote', { name: 'team', url: blobs });
    assert.deepEqual(added, { name: 'team', url: blobs });
    assert.match(readFileSync(join(root, 'sluice.yaml'), 'utf8'), /remotes:\n {2}team:\n {4}url: /);
    git('commit', '-q', '-am', 'Declare the team remote');
    git('push', '-q', 'origin', 'HEAD:refs/heads/main');
    await vscode.commands.executeCommand('sluice.snapshotDatasets', { message: 'Shared' });
    const pushed = await vscode.commands.executeCommand<PushJson | undefined>('sluice.push');
    assert.ok(pushed, 'Push returned its result (it failed otherwise: see the Sluice log)');
    // The datasets' snapshots; experiment records of runs made earlier in this window travel too.
    assert.deepEqual(
      pushed.refs
        .filter((ref) => ref.kind === 'dataset')
        .map((ref) => ref.name)
        .sort(),
      ['events', 'users'],
    );
    assert.ok(pushed.refs.every((ref) => ref.kind === 'dataset' || ref.kind === 'experiment'));
    assert.ok(pushed.transferred.blobs > 0);
  });

  it('a teammate’s snapshot shows as ↓1 after Fetch, without a file changing; Pull brings it in', async () => {
    const teammate = join(scratch, 'teammate');
    run(scratch, 'git', 'clone', '-q', origin, teammate);
    run(teammate, process.execPath, CLI, 'pull');
    appendFileSync(join(teammate, 'data/raw/users.csv'), 'u9999,pro,2024-01-01,0\n');
    run(teammate, process.execPath, CLI, 'snapshot', 'users', '-m', 'One more user');
    run(teammate, process.execPath, CLI, 'push');

    const before = readFileSync(join(root, 'data/raw/users.csv'), 'utf8');
    const fetched = await vscode.commands.executeCommand<FetchJson | undefined>('sluice.fetch');
    assert.ok(fetched, 'Fetch returned its result');
    assert.deepEqual(fetched.status.refs, [{ kind: 'dataset', name: 'users', ahead: 0, behind: 1 }]);
    await waitFor('users shows ↓1 in the view', async () => /↓1/.test(await datasetDescription('users')));
    assert.match(api.statusBarText(), /\$\(cloud-download\) 1/);
    assert.equal(readFileSync(join(root, 'data/raw/users.csv'), 'utf8'), before, 'fetch changes no file');

    const pulled = await vscode.commands.executeCommand<PullJson | undefined>('sluice.pull');
    assert.ok(pulled, 'Pull returned its result');
    assert.deepEqual(
      pulled.datasets.filter((dataset) => dataset.action === 'restored').map((dataset) => dataset.name),
      ['users'],
    );
    assert.match(readFileSync(join(root, 'data/raw/users.csv'), 'utf8'), /u9999/);
    await waitFor('users is in step again', async () => !/↓/.test(await datasetDescription('users')));
    assert.doesNotMatch(api.statusBarText(), /cloud-download/);
  });
  it('Remove Experiments with the remote takes a pushed record off the git remote too', async () => {
    const workspace = await openWorkspace(root);
    const experiment = await writeExperiment(workspace.git, {
      format: 'sluice-experiment 1',
      name: 'to-remove',
      origin: 'queue',
      time: new Date().toISOString(),
      actor: 'extension test',
      code: { commit: git('rev-parse', 'HEAD'), dirty: false, changes: null },
      snapshots: {},
      params: {},
      overrides: {},
      metrics: {},
      stages: [],
      signatures: {},
      outputs: [],
      release: null,
      from: null,
    });
    const ref = experimentRef(experiment.id);
    const pushed = await vscode.commands.executeCommand<PushJson | undefined>('sluice.push');
    assert.ok(
      pushed?.refs.some((pushedRef) => pushedRef.kind === 'experiment'),
      'the record was pushed',
    );
    assert.notEqual(run(scratch, 'git', '--git-dir', origin, 'for-each-ref', ref), '');
    const removed = await vscode.commands.executeCommand<string[] | undefined>('sluice.removeExperiments', {
      root,
      ids: [experiment.id],
      confirmed: true,
      remote: 'team',
    });
    assert.deepEqual(removed, [experiment.id]);
    assert.equal(
      run(scratch, 'git', '--git-dir', origin, 'for-each-ref', ref),
      '',
      'gone from the git remote',
    );
    assert.equal(git('for-each-ref', ref), '', 'gone here');
  });
});
