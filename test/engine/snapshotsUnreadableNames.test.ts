// File names that are not valid UTF-8 (issue 12, item 1). Node reads such a
// name with U+FFFD in place of its bad bytes, a path that does not exist: the
// file used to drop out of snapshots without a word (`diff` said "No changes",
// a restore did not bring it back, `status` failed with `internal error: ENOENT`).
// Every command that reads the folder now refuses, naming the file with its bad
// bytes escaped, with code `unreadable-name`; on the main thread, in a worker
// thread and in the pipeline fingerprints alike.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { SluiceError } from '../../src/core/errors';
import { Fingerprints } from '../../src/core/pipelines/fingerprint';
import { printableName } from '../../src/core/fs/unreadableNames';
import { WorkerPool } from '../../src/core/store/workerPool';
import { readFolders, type FolderReadError } from '../../src/core/fs/folderReads';
import * as fs from 'node:fs';
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

const BAD_NAME = Buffer.concat([Buffer.from('caf'), Buffer.from([0xe9]), Buffer.from('.csv')]);
const PRINTED = 'caf\\xe9.csv';

const roots: string[] = [];
after(() => {
  roots.forEach(removeTree);
});

/** A workspace whose dataset `events` (data/events, also a dep of the stage) has one snapshot, then a badly named file. */
function workspaceWithBadName(): string {
  const root = createWorkspace({ events: 'data/events' });
  roots.push(root);
  writeFileSync(
    join(root, 'sluice.yaml'),
    [
      'version: 1',
      'datasets:',
      '  events:',
      '    path: data/events',
      'pipelines:',
      '  main:',
      '    stages:',
      '      use:',
      '        run: node -e 0',
      '        datasets: [events]',
      '        deps: [data/events]',
      '        outs: [out]',
      '',
    ].join('\n'),
  );
  mkdirSync(join(root, 'data/events/sub'), { recursive: true });
  writeFileSync(join(root, 'data/events/a.csv'), 'a\n');
  git(root, 'add', '-A');
  git(root, 'commit', '--quiet', '-m', 'init');
  sluiceJson(['snapshot', '-m', 'one'], root);
  writeFileSync(Buffer.concat([Buffer.from(`${root}/data/events/sub/`), BAD_NAME]), 'lost?\n');
  return root;
}

describe('file names that are not valid UTF-8', () => {
  test('the escaped name prints: valid UTF-8 kept, bad bytes as \\xNN', () => {
    assert.equal(printableName(BAD_NAME), PRINTED);
    assert.equal(printableName(Buffer.from('café ✓.csv')), 'café ✓.csv');
    assert.equal(printableName(Buffer.from([0x61, 0xc3])), 'a\\xc3');
    assert.equal(printableName(Buffer.from([0x61, 0x0a, 0x5c])), 'a\\x0a\\\\');
  });

  for (const args of [
    ['snapshot'],
    ['diff', 'events'],
    ['status'],
    ['restore', 'events', 'latest', '--force'],
  ]) {
    test(`sluice ${args.join(' ')} refuses, naming the file (never leaves it out)`, () => {
      const root = workspaceWithBadName();
      const text = sluice(args, root);
      assertOneLineError(text, 1, `data/events/sub/${PRINTED}`, 'not valid UTF-8');
      const json = sluice([...args, '--json'], root);
      assert.equal(json.status, 1);
      const parsed = JSON.parse(json.stdout) as { error: { code: string; data: { path: string } } };
      assert.equal(parsed.error.code, 'unreadable-name');
      assert.ok(parsed.error.data.path.endsWith(`data/events/sub/${PRINTED}`), parsed.error.data.path);
      assert.doesNotMatch(text.stderr, /internal error/);
    });
  }

  test('a name holding a real U+FFFD (valid UTF-8) is recorded as any other', () => {
    const root = createWorkspace({ events: 'data/events' });
    roots.push(root);
    mkdirSync(join(root, 'data/events'), { recursive: true });
    writeFileSync(join(root, 'data/events/odd\ufffd.csv'), 'x\n');
    const result = sluiceJson(['snapshot'], root) as { snapshots: { files: number }[] };
    assert.equal(result.snapshots[0]!.files, 1);
    assert.deepEqual(sluiceJson(['diff', 'events'], root), {
      dataset: 'events',
      from: (sluiceJson(['log', 'events'], root) as { snapshots: { id: string }[] }).snapshots[0]!.id,
      to: 'disk',
      added: [],
      modified: [],
      removed: [],
    });
  });

  test('a worker thread reports the name as bytes, and the main thread the same', async () => {
    const root = workspaceWithBadName();
    const folder = join(root, 'data/events');
    const onMain = readFolders(fs, folder, [{ path: 'sub' }], 2048)[0] as FolderReadError;
    assert.equal(onMain.error.code, 'unreadable-name');
    assert.deepEqual(Buffer.from(onMain.error.name!), BAD_NAME);
    const pool = new WorkerPool(1);
    try {
      pool.grow(1);
      const worker = pool.idleWorker(1, false)!;
      const [inWorker] = (await pool.readFolders(
        worker,
        folder,
        [{ path: 'sub' }],
        2048,
      )) as FolderReadError[];
      assert.equal(inWorker!.error.code, 'unreadable-name');
      assert.deepEqual(Buffer.from(inWorker!.error.name!), BAD_NAME);
    } finally {
      await pool.close();
    }
  });

  test('the fingerprint of a dep folder holding such a name is refused, not computed without it', () => {
    const root = workspaceWithBadName();
    const fingerprints = Fingerprints.load(root, join(root, '.sluice/state/fingerprints.json'));
    assert.throws(
      () => fingerprints.of('data/events'),
      (error: unknown) =>
        error instanceof SluiceError &&
        error.code === 'unreadable-name' &&
        error.message.includes(`data/events/sub/${PRINTED}`),
    );
  });
});
