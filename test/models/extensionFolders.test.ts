// How the extension sees each workspace folder (no manifest, errors, no git,
// Restricted Mode, ready), and the git directories its watchers need, on real
// folders and repositories. Restricted Mode is checked against a repository
// that makes git run a program: reading it untrusted must not run git at all.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import {
  datasetOfRef,
  discoverFolder,
  findGitDirectories,
  summarizeFolders,
  type FolderState,
} from '../../src/extension/folders';
import { declaredDatasets } from '../../src/extension/snapshots/datasets';
import {
  clearVariablesRefusedBySimpleGit,
  createWorkspace,
  git,
  manifestFor,
  removeTree,
} from '../support/workspace';

clearVariablesRefusedBySimpleGit();

function tempFolder(t: TestContext, prefix: string): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  t.after(() => {
    removeTree(dir);
  });
  return dir;
}

function workspace(t: TestContext): string {
  const root = createWorkspace({ events: 'data/events' }, 'sluice-folders-');
  t.after(() => {
    removeTree(root);
  });
  return root;
}

void describe('workspace folders as the extension sees them', () => {
  void test('a folder without sluice.yaml here or above has no manifest', async (t) => {
    const folder = tempFolder(t, 'sluice-empty-');
    assert.deepEqual(await discoverFolder(folder, { trusted: true }), { kind: 'noManifest', folder });
  });

  void test('a manifest outside any git repository asks for one', async (t) => {
    const folder = tempFolder(t, 'sluice-nogit-');
    writeFileSync(join(folder, 'sluice.yaml'), manifestFor({ events: 'data/events' }));
    const state = await discoverFolder(folder, { trusted: true });
    assert.ok(state.kind === 'noGit', state.kind);
    assert.match(state.message, /is not in a git repository/);
  });

  void test('a manifest with errors is reported, trusted or not', async (t) => {
    const root = workspace(t);
    writeFileSync(join(root, 'sluice.yaml'), `colour: blue\n${manifestFor({ events: 'data/events' })}`);
    const trusted = await discoverFolder(root, { trusted: true });
    assert.ok(trusted.kind === 'invalidManifest', trusted.kind);
    assert.match(trusted.message, /sluice\.yaml:1:1: .*colour/);
    const untrusted = await discoverFolder(root, { trusted: false });
    assert.ok(untrusted.kind === 'invalidManifest', untrusted.kind);
    assert.match(untrusted.message, /has 1 error;/);
  });

  void test('a subfolder of a workspace opens the workspace above it', async (t) => {
    const root = workspace(t);
    mkdirSync(join(root, 'src'));
    const state = await discoverFolder(join(root, 'src'), { trusted: true });
    assert.ok(state.kind === 'ready', state.kind);
    assert.equal(state.root, realpathSync(root));
    assert.equal(state.folder, join(root, 'src'));
  });

  void test('Restricted Mode lists the datasets without running git, which the repository can make run a program', async (t) => {
    const root = workspace(t);
    const marker = join(root, 'program-ran');
    const program = join(root, 'fsmonitor.sh');
    writeFileSync(program, `#!/bin/sh\necho "$@" >> '${marker}'\nexit 1\n`);
    chmodSync(program, 0o755);
    git(root, 'config', 'core.fsmonitor', program);
    // The trap works: a git command that reads the index runs it (opening a workspace runs one).
    spawnSync('git', ['check-ignore', '.sluice'], { cwd: root });
    assert.ok(existsSync(marker), 'git check-ignore ran the configured program');
    removeTree(marker);

    const state = await discoverFolder(root, { trusted: false });
    assert.ok(state.kind === 'restricted', state.kind);
    assert.deepEqual(
      declaredDatasets(state.manifest, state.root).map((d) => [d.name, d.path, d.history.kind]),
      [['events', 'data/events', 'unread']],
    );
    assert.ok(!existsSync(marker), 'no git command ran while the folder was untrusted');
  });

  void test('one state for the window: any readable folder makes it ready, else what to do first', () => {
    const folder = '/w';
    const withManifest = { folder, root: folder, manifestFile: '/w/sluice.yaml', message: 'x' };
    const noManifest: FolderState = { kind: 'noManifest', folder };
    const noGit: FolderState = { ...withManifest, kind: 'noGit' };
    const invalid: FolderState = { ...withManifest, kind: 'invalidManifest' };
    const failed: FolderState = { ...withManifest, kind: 'failed' };
    const restricted = {
      kind: 'restricted',
      folder,
      root: folder,
      manifestFile: '/w/sluice.yaml',
      manifest: undefined,
    } as unknown as FolderState;
    assert.equal(summarizeFolders([]), 'noFolder');
    assert.equal(summarizeFolders([noManifest]), 'noManifest');
    assert.equal(summarizeFolders([noManifest, noGit]), 'noGit');
    assert.equal(summarizeFolders([noGit, invalid, failed]), 'invalidManifest');
    assert.equal(summarizeFolders([failed, noManifest]), 'failed');
    assert.equal(summarizeFolders([invalid, restricted]), 'ready');
  });

  void test('git directories: a repository, a folder inside it, a linked worktree, no repository', (t) => {
    const root = realpathSync(workspace(t));
    git(root, 'commit', '--allow-empty', '--quiet', '-m', 'first');
    mkdirSync(join(root, 'deep/er'), { recursive: true });
    const own = { gitDir: join(root, '.git'), commonDir: join(root, '.git') };
    assert.deepEqual(findGitDirectories(root), own);
    assert.deepEqual(findGitDirectories(join(root, 'deep/er')), own);

    const linked = join(tempFolder(t, 'sluice-worktree-'), 'linked');
    git(root, 'worktree', 'add', '--quiet', '--detach', linked);
    const found = findGitDirectories(linked);
    assert.ok(found);
    assert.equal(found.commonDir, join(root, '.git'), 'refs live in the main repository');
    assert.equal(realpathSync(found.gitDir), join(root, '.git/worktrees/linked'));

    assert.equal(findGitDirectories(tempFolder(t, 'sluice-norepo-')), undefined);
  });

  void test('ref files name their dataset, while git updates them too', () => {
    assert.equal(datasetOfRef('refs/sluice/datasets/events'), 'events');
    assert.equal(datasetOfRef('refs/sluice/datasets/events.lock'), 'events');
    assert.equal(datasetOfRef('refs\\sluice\\datasets\\raw-events'), 'raw-events');
    assert.equal(datasetOfRef('refs/sluice/environments/staging'), undefined);
    assert.equal(datasetOfRef('refs/sluice/datasets/'), undefined);
  });
});
