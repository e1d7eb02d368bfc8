// Read-only commands on a read-only file system and on a full disk (issue 12,
// item 2). The stat cache, the fingerprint cache and the manifest model cache
// only save work: a write they cannot make is skipped, and `.sluice/` need not
// be created. A write command there fails with one line naming the path and
// the reason. Needs root (to mount a tmpfs); skipped otherwise.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  assertOneLineError,
  clearVariablesRefusedBySimpleGit,
  createWorkspace,
  git,
  removeTree,
  sluice,
  sluiceJson,
} from '../support/workspace';

clearVariablesRefusedBySimpleGit();

const isRoot = process.getuid?.() === 0;
const mounts: string[] = [];
const roots: string[] = [];
after(() => {
  for (const mount of mounts) spawnSync('umount', [mount]);
  for (const root of [...roots, ...mounts]) removeTree(root);
});

function run(command: string, ...args: string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  assert.equal(result.status, 0, `${command} ${args.join(' ')}: ${result.stderr}`);
}

/** Whether this process may mount a tmpfs (root, and not in a container that forbids it). */
function canMount(): boolean {
  if (!isRoot) return false;
  const probe = mkdtempSync(join(tmpdir(), 'sluice-mount-probe-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe]).status === 0;
  if (mounted) spawnSync('umount', [probe]);
  rmSync(probe, { recursive: true, force: true });
  return mounted;
}

const skip = canMount() ? false : 'needs root and permission to mount a tmpfs';

/** A workspace with one snapshot of `events`, its file then changed (so a scan has something to cache). */
function sourceWorkspace(): string {
  const root = createWorkspace({ events: 'data/events' });
  roots.push(root);
  run('mkdir', '-p', join(root, 'data/events'));
  writeFileSync(join(root, 'data/events/a.csv'), 'a\n');
  git(root, 'add', '-A');
  git(root, 'commit', '--quiet', '-m', 'init');
  sluiceJson(['snapshot', '-m', 'one'], root);
  writeFileSync(join(root, 'data/events/b.csv'), 'b\n');
  return root;
}

/** A copy of `source` on a fresh tmpfs of `size`, without its caches when `fresh`. */
function copyOntoTmpfs(source: string, size: string, fresh: boolean): string {
  const mount = mkdtempSync(join(tmpdir(), 'sluice-tmpfs-'));
  run('mount', '-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mount);
  mounts.push(mount);
  const root = join(mount, 'ws');
  cpSync(source, root, { recursive: true });
  if (fresh) rmSync(join(root, '.sluice'), { recursive: true, force: true });
  else rmSync(join(root, '.sluice/state'), { recursive: true, force: true });
  return root;
}

/** Every read-only command succeeds and tells the truth: b.csv added since the snapshot. */
function assertReadCommandsWork(root: string): void {
  for (const args of [['status'], ['diff', 'events'], ['validate'], ['log', 'events']]) {
    const text = sluice(args, root);
    assert.equal(text.status, 0, `sluice ${args.join(' ')}: ${text.stderr}`);
    assert.equal(text.stderr, '', `sluice ${args.join(' ')} wrote to stderr`);
  }
  const status = sluiceJson(['status'], root) as { datasets: { name: string; changed: boolean }[] };
  assert.deepEqual(
    status.datasets.map(({ name, changed }) => ({ name, changed })),
    [{ name: 'events', changed: true }],
  );
  const diff = sluiceJson(['diff', 'events'], root) as { added: string[]; modified: string[] };
  assert.deepEqual(diff.added, ['b.csv']);
  assert.deepEqual(diff.modified, []);
  const log = sluiceJson(['log', 'events'], root) as { snapshots: { message: string }[] };
  assert.deepEqual(
    log.snapshots.map((snapshot) => snapshot.message),
    ['one'],
  );
  assert.deepEqual((sluiceJson(['validate'], root) as { diagnostics: unknown[] }).diagnostics, []);
}

describe('read-only commands on a disk that cannot be written', { skip }, () => {
  for (const fresh of [true, false]) {
    const what = fresh ? 'without .sluice/' : 'with .sluice/ but no caches';
    test(`a read-only file system, ${what}: status, diff, validate, log work`, () => {
      const root = copyOntoTmpfs(sourceWorkspace(), '16m', fresh);
      run('mount', '-o', 'remount,ro', join(root, '..'));
      assertReadCommandsWork(root);
    });

    test(`a full disk, ${what}: status, diff, validate, log work`, () => {
      const root = copyOntoTmpfs(sourceWorkspace(), '16m', fresh);
      // Fill it: dd stops at ENOSPC.
      spawnSync('dd', ['if=/dev/zero', `of=${join(root, '..', 'filler')}`, 'bs=64k']);
      assert.throws(() => {
        writeFileSync(join(root, '..', 'probe'), 'x');
      }, /ENOSPC/);
      assertReadCommandsWork(root);
    });
  }

  test('a snapshot on a read-only file system fails with one line naming the path and why', () => {
    const root = copyOntoTmpfs(sourceWorkspace(), '16m', false);
    run('mount', '-o', 'remount,ro', join(root, '..'));
    const text = sluice(['snapshot'], root);
    assertOneLineError(text, 1, root, 'read-only');
    assert.doesNotMatch(text.stderr, /internal error/);
    const json = sluice(['snapshot', '--json'], root);
    assert.equal(json.status, 1);
    const parsed = JSON.parse(json.stdout) as { error: { code: string; data: { errno: string } } };
    assert.equal(parsed.error.code, 'system-error');
    assert.equal(parsed.error.data.errno, 'EROFS');
  });
});
