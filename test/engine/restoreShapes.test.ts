// Restore between generated shapes of one dataset: at each path a file (small,
// or large enough to take the unbatched path), a link, an empty folder or a
// folder of more, with differing modes, so that every kind replaces every
// other kind at the same path, at every depth. Whatever the disk held before,
// the restore leaves exactly the snapshot's tree.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { seededRandom } from '../../src/core/seededRandom';
import {
  assertSameTree,
  clearVariablesRefusedBySimpleGit,
  createWorkspace,
  readTree,
  recordSnapshot,
  removeTree,
  restoreSnapshot,
  writeTree,
  type Tree,
  type TreeEntry,
} from '../support/workspace';

clearVariablesRefusedBySimpleGit();

const NAMES = ['a', 'b', 'c'];
const DEPTH = 3;
/** Above restore's batching limit (256 KiB), so such files are copied one by one. */
const LARGE = 300 * 1024;

function generateTree(random: () => number, salt: number): Tree {
  const entries = new Map<string, TreeEntry>();
  const fill = (prefix: string, depth: number): boolean => {
    let wrote = false;
    for (const name of NAMES) {
      const path = prefix === '' ? name : `${prefix}/${name}`;
      const roll = random();
      if (roll < 0.2) continue;
      wrote = true;
      if (roll < 0.45) {
        const size = random() < 0.15 ? LARGE : Math.floor(random() * 40);
        const content = Buffer.alloc(size, `${path}:${salt}:${Math.floor(random() * 3)}|`);
        entries.set(path, { type: 'file', content, mode: random() < 0.3 ? 0o755 : 0o644 });
      } else if (roll < 0.6) {
        entries.set(path, {
          type: 'link',
          target: random() < 0.5 ? NAMES[salt % NAMES.length]! : `../${name}`,
        });
      } else if (roll < 0.7 || depth === DEPTH || !fill(path, depth + 1)) {
        entries.set(path, { type: 'dir', mode: random() < 0.3 ? 0o700 : 0o755 });
      }
    }
    return wrote;
  };
  fill('', 1);
  return entries;
}

void describe('restore between generated shapes', () => {
  for (const seed of [1, 2, 3]) {
    void test(`seed ${seed}: every restore leaves exactly the snapshot's tree, whatever stood in its way`, async (t) => {
      const root = createWorkspace({ d: 'data/d' }, 'sluice-shapes-');
      t.after(() => {
        removeTree(root);
      });
      const base = join(root, 'data/d');
      const random = seededRandom(seed);
      const shapes: { id: string; tree: Tree }[] = [];
      for (let salt = 0; shapes.length < 6; salt++) {
        const shape = generateTree(random, salt);
        removeTree(base);
        writeTree(base, shape);
        const id = await recordSnapshot(root, 'd', `shape ${salt}`);
        if (id !== undefined) shapes.push({ id, tree: shape });
      }
      // Every ordered pair once, from whatever the previous restore left.
      for (let from = 0; from < shapes.length; from++)
        for (let to = 0; to < shapes.length; to++) {
          if (from === to) continue;
          await restoreSnapshot(root, 'd', shapes[from]!.id);
          await restoreSnapshot(root, 'd', shapes[to]!.id);
          assertSameTree(readTree(base), shapes[to]!.tree, `the dataset after ${from} → ${to}`);
        }
      assert.ok(shapes.length === 6);
    });
  }
});
