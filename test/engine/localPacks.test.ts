// Packs in the local cache (store/localPacks.ts): small blobs that arrive
// from a remote in packs stay packed, one file instead of one per blob. On
// generated datasets (empty files, duplicates, sizes around the pack's
// entries), a packed cache must keep every promise a loose one keeps:
// restore gives the bytes back exactly, fsck checks every blob and names the
// damaged ones, a damaged pack never lands a byte in the workspace, and gc
// removes what nothing reaches without losing what something does.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { SluiceError } from '../../src/core/errors';
import { fsck, gc } from '../../src/core/operations/maintenance';
import { seededRandom } from '../../src/core/seededRandom';
import { LocalPacks } from '../../src/core/store/localPacks';
import { ObjectStore } from '../../src/core/store/objectStore';
import { openWorkspace } from '../../src/core/workspace';
import {
  assertSameTree,
  clearVariablesRefusedBySimpleGit,
  createWorkspace,
  listBlobs,
  readTree,
  recordSnapshot,
  removeTree,
  restoreSnapshot,
  sha256,
  writeTree,
  type Tree,
  type TreeEntry,
} from '../support/workspace';

clearVariablesRefusedBySimpleGit();

const SEED = Number(process.env['SLUICE_PACKS_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const made: string[] = [];
after(() => {
  for (const dir of made.splice(0)) removeTree(dir);
});

/** A generated dataset: some empty files, some duplicates, sizes from 1 byte to a few KiB. */
function generatedTree(random: () => number, files: number): Tree {
  const entries = new Map<string, TreeEntry>();
  const contents: Buffer[] = [];
  for (let n = 0; n < files; n++) {
    const roll = random();
    let content: Buffer;
    if (roll < 0.05) content = Buffer.alloc(0);
    else if (roll < 0.15 && contents.length > 0) content = contents[Math.floor(random() * contents.length)]!;
    else {
      content = Buffer.alloc(1 + Math.floor(random() * 4096));
      for (let i = 0; i < content.length; i++) content[i] = Math.floor(random() * 256);
    }
    contents.push(content);
    entries.set(`f${String(Math.floor(n / 10))}/file-${String(n)}.bin`, {
      type: 'file',
      content,
      mode: 0o644,
    });
  }
  return entries;
}

/** What a pull leaves: the workspace's loose blobs moved into one pack (plus `extra` blobs nothing reaches). */
async function packTheCache(
  root: string,
  extra: readonly Buffer[] = [],
): Promise<{ pack: string; hashes: string[] }> {
  const store = new ObjectStore(join(root, '.sluice'));
  const hashes = listBlobs(root);
  const blobs = [
    ...hashes.map((hash) => ({ hash, bytes: readFileSync(store.pathOf(hash)) })),
    ...extra.map((bytes) => ({ hash: sha256(bytes), bytes })),
  ];
  const staged = LocalPacks.stage(blobs, store.scratchFolder());
  await store.adoptDurably([], () => Promise.resolve(), [staged]);
  for (const hash of hashes) {
    chmodSync(store.pathOf(hash), 0o644);
    rmSync(store.pathOf(hash));
  }
  return { pack: staged.name, hashes: blobs.map((blob) => blob.hash) };
}

function packPath(root: string, pack: string): string {
  return join(root, '.sluice', 'objects', 'packs', `${pack}.pack`);
}

/** Overwrites bytes of a read-only pack in place. */
function damagePack(root: string, pack: string, change: (bytes: Buffer) => Buffer): void {
  const path = packPath(root, pack);
  chmodSync(path, 0o644);
  writeFileSync(path, change(readFileSync(path)));
  chmodSync(path, 0o444);
}

function newWorkspace(tree: Tree): string {
  const root = createWorkspace({ raw: 'data/raw' }, 'sluice-packs-');
  made.push(root);
  mkdirSync(join(root, 'data', 'raw'), { recursive: true });
  writeTree(join(root, 'data', 'raw'), tree);
  return root;
}

void describe(`a cache whose small blobs are packed (seed ${String(SEED)})`, () => {
  void test('restore gives every byte back from the pack, writes no blob file, and fsck checks each blob once', async () => {
    const random = seededRandom(SEED);
    for (const files of [1, 17, 240]) {
      const tree = generatedTree(random, files);
      const root = newWorkspace(tree);
      const id = (await recordSnapshot(root, 'raw'))!;
      const { hashes } = await packTheCache(root);
      rmSync(join(root, 'data', 'raw'), { recursive: true });
      await restoreSnapshot(root, 'raw', id);
      assertSameTree(readTree(join(root, 'data', 'raw')), tree, `${String(files)} files restored`);
      assert.deepEqual(listBlobs(root), [], 'small blobs are read from the pack, not unpacked');
      const report = await fsck(await openWorkspace(root));
      assert.deepEqual(report.damaged, []);
      assert.deepEqual(report.missing, []);
      assert.equal(report.checked, new Set(hashes).size, 'each blob checked once');
    }
  });

  void test('a damaged pack is named; nothing of it lands in the workspace; fsck lists exactly the damaged blobs', async () => {
    const random = seededRandom(SEED + 1);
    for (const damage of ['flip', 'truncate'] as const) {
      const tree = generatedTree(random, 40);
      const root = newWorkspace(tree);
      const id = (await recordSnapshot(root, 'raw'))!;
      const { pack } = await packTheCache(root);
      const store = new ObjectStore(join(root, '.sluice'));
      const entries = store.packs.list()[0]!.entries.filter((entry) => entry.length > 0);
      const victim = entries[Math.floor(random() * entries.length)]!;
      damagePack(root, pack, (bytes) => {
        if (damage === 'truncate') return bytes.subarray(0, victim.offset + Math.floor(victim.length / 2));
        bytes[victim.offset + Math.floor(random() * victim.length)]! ^= 0x10;
        return bytes;
      });
      const expected = entries
        .filter((entry) =>
          damage === 'flip' ? entry.hash === victim.hash : entry.offset + entry.length > victim.offset,
        )
        .map((entry) => entry.hash)
        .sort();
      rmSync(join(root, 'data', 'raw'), { recursive: true });
      await assert.rejects(restoreSnapshot(root, 'raw', id), (error: unknown) => {
        assert.ok(
          error instanceof SluiceError && error.code === 'damaged-blob',
          `${damage}: ${String(error)}`,
        );
        assert.equal(error.data['path'], packPath(root, pack), 'the error names the pack');
        return true;
      });
      const placed = [...readTree(join(root, 'data'))].filter(([, entry]) => entry.type === 'file');
      assert.deepEqual(placed, [], `${damage}: no file placed`);
      const report = await fsck(await openWorkspace(root));
      assert.deepEqual(
        [...new Set(report.damaged)].sort(),
        expected,
        `${damage}: fsck names the damaged blobs`,
      );
    }
  });

  void test('gc removes a pack whose blobs nothing reaches, unpacks what is still reached, and a dry run changes nothing', async () => {
    const random = seededRandom(SEED + 2);
    const tree = generatedTree(random, 60);
    const root = newWorkspace(tree);
    const id = (await recordSnapshot(root, 'raw'))!;
    const garbage = Array.from({ length: 5 }, (_, n) =>
      Buffer.from(`nothing reaches blob ${String(n)} ${String(SEED)}`),
    );
    const { pack, hashes } = await packTheCache(root, garbage);
    const reachable = new Set(hashes.filter((hash) => !garbage.some((bytes) => sha256(bytes) === hash)));
    const workspace = await openWorkspace(root);

    const young = await gc(workspace, { dryRun: false });
    assert.equal(young.removed, 0, 'a pack younger than the grace period stays whole');
    const dry = await gc(workspace, { dryRun: true, minAgeMs: 0 });
    assert.equal(dry.removed, garbage.length);
    assert.ok(statSync(packPath(root, pack)).isFile(), 'the dry run kept the pack');

    const done = await gc(workspace, { dryRun: false, minAgeMs: 0 });
    assert.equal(done.removed, garbage.length, 'the blobs nothing reaches');
    assert.equal(
      done.bytes,
      garbage.reduce((sum, bytes) => sum + bytes.length, 0),
    );
    assert.equal(done.kept, reachable.size);
    assert.throws(() => statSync(packPath(root, pack)), 'the pack is gone');
    assert.deepEqual(listBlobs(root), [...reachable].sort(), 'what is reached is a loose blob now');
    for (const hash of reachable) {
      const path = new ObjectStore(join(root, '.sluice')).pathOf(hash);
      assert.equal((statSync(path).mode & 0o777).toString(8), '444', 'unpacked read-only');
    }
    rmSync(join(root, 'data', 'raw'), { recursive: true });
    await restoreSnapshot(root, 'raw', id);
    assertSameTree(readTree(join(root, 'data', 'raw')), tree);
    const report = await fsck(await openWorkspace(root));
    assert.deepEqual(report.damaged, []);
    assert.deepEqual(report.missing, []);
  });

  void test('a store that looked once sees a pack another writer adds later', async () => {
    const root = newWorkspace(generatedTree(seededRandom(SEED + 3), 3));
    const reader = new ObjectStore(join(root, '.sluice'));
    const bytes = Buffer.from(`arrives later ${String(SEED)}`);
    assert.equal(reader.has(sha256(bytes)), false);
    const writer = new ObjectStore(join(root, '.sluice'));
    await writer.adoptDurably([], () => Promise.resolve(), [
      LocalPacks.stage([{ hash: sha256(bytes), bytes }], writer.scratchFolder()),
    ]);
    assert.equal(reader.has(sha256(bytes)), true);
    assert.deepEqual(reader.readVerified(sha256(bytes)), bytes);
    assert.equal(reader.sizeOf(sha256(bytes)), bytes.length);
    const loose = reader.loosePath(sha256(bytes));
    assert.deepEqual(readFileSync(loose), bytes, 'unpacked on demand for a caller that needs a file');
  });
});
