// Snapshots under crashes and contention: `sluice snapshot` and `sluice restore`
// SIGKILLed (with the git processes they started) at random points, and
// several writers recording snapshots of one dataset at the same moment.
//
// SLUICE_CRASH_TRIALS sets the number of kills per operation (default 5, for
// `npm test`; try 100 before touching the write paths), SLUICE_CRASH_SEED
// replays a run, SLUICE_CONCURRENT_WRITERS sets the number of simultaneous
// writers (default 4) and SLUICE_CONCURRENT_ROUNDS how often they race (default 1).
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  assertFsckClean,
  assertFsckCleanInProcess,
  assertSameTree,
  clearVariablesRefusedBySimpleGit,
  createWorkspace,
  fileEntry,
  git,
  noise,
  readChain,
  readTree,
  recordSnapshot,
  removeTree,
  restoreSnapshot,
  sha256,
  sluiceJson,
  sluiceRefs,
  startSluice,
  tree,
  writeTree,
  type Tree,
  type TreeEntry,
} from '../support/workspace';
import { seededRandom } from '../../src/core/seededRandom';

clearVariablesRefusedBySimpleGit();

const TRIALS = Number(process.env['SLUICE_CRASH_TRIALS'] ?? 5);
const WRITERS = Number(process.env['SLUICE_CONCURRENT_WRITERS'] ?? 4);
const ROUNDS = Number(process.env['SLUICE_CONCURRENT_ROUNDS'] ?? 1);
const SEED = Number(process.env['SLUICE_CRASH_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const REF = 'refs/sluice/datasets/d';
/** Names restore's temporary files once had beside their targets: none may ever appear in a dataset. */
const RESTORE_TEMPORARY = /^\.sluice-(restore|link)-/;

const made: string[] = [];
after(() => {
  for (const dir of made.splice(0)) removeTree(dir);
});

function workspace(): string {
  const root = createWorkspace({ d: 'data/d' }, 'sluice-crash-');
  made.push(root);
  return root;
}

/** A few hundred small files in a few folders, and a few larger ones. */
function dataset(version: string, small = 300, large = 3): Map<string, TreeEntry> {
  const entries = new Map<string, TreeEntry>();
  for (let i = 0; i < small; i++) {
    entries.set(`part-${i % 6}/row-${i}.csv`, fileEntry(`id,value\n${i},${version}\n`.repeat(1 + (i % 5))));
  }
  for (let i = 0; i < large; i++) entries.set(`large-${i}.bin`, fileEntry(noise(1 << 20, `${version} ${i}`)));
  return entries;
}

/** How long `run` takes, in ms. */
function timed(run: () => unknown): number {
  const started = performance.now();
  run();
  return performance.now() - started;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Names of restore's temp files anywhere in the tree. */
function temporaries(base: string): string[] {
  const found: string[] = [];
  const visit = (dir: string, relative: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (RESTORE_TEMPORARY.test(entry.name)) found.push(path);
      else if (entry.isDirectory()) visit(join(dir, entry.name), path);
    }
  };
  visit(base, '');
  return found;
}

/** The file hashes a record lists, by path. */
function recordedHashes(root: string): Map<string, string | undefined> {
  const [tip] = readChain(root, REF);
  assert.ok(tip, 'the dataset has a snapshot');
  return new Map(tip.record.files.map((f) => [f.path, f.sha256]));
}

function hashesOf(entries: Tree): Map<string, string | undefined> {
  return new Map(
    [...entries].map(([path, entry]) => [path, entry.type === 'file' ? sha256(entry.content) : undefined]),
  );
}

void describe('SIGKILL at random points', () => {
  void test(`during snapshot (${TRIALS} trials): refs, records and blobs stay consistent`, async (t) => {
    t.diagnostic(`seed ${SEED} (SLUICE_CRASH_SEED=${SEED} replays it)`);
    const random = seededRandom(SEED);
    const root = workspace();
    const base = join(root, 'data/d');
    const model = dataset('v0');
    writeTree(base, model);
    await recordSnapshot(root, 'd');

    /** What every trial does to the data: new bytes in some small files and one large file, one file added, one removed. */
    const change = (trial: number): void => {
      const changes = new Map<string, TreeEntry>();
      for (let k = 0; k < 20; k++) {
        const path = `part-${k % 6}/row-${Math.floor(random() * 300)}.csv`;
        if (model.has(path)) changes.set(path, fileEntry(`trial ${trial} ${path}\n`));
      }
      changes.set(`large-${trial % 3}.bin`, fileEntry(noise(1 << 20, `trial ${trial}`)));
      changes.set(`added/trial-${trial}.txt`, fileEntry(`${trial}\n`));
      writeTree(base, changes);
      for (const [path, entry] of changes) model.set(path, entry);
      const doomed = [...model.keys()].find((path) => path.startsWith(`part-${trial % 6}/`))!;
      rmSync(join(base, doomed));
      model.delete(doomed);
    };

    // Trial 0 runs to the end: kills are then spread over a whole run of that size, start-up included.
    change(0);
    const calibration = timed(() => sluiceJson(['snapshot', 'd', '-m', 'trial 0'], root));
    const window = Math.max(300, calibration * 1.2);
    t.diagnostic(
      `uninterrupted snapshot: ${Math.round(calibration)} ms; kills within ${Math.round(window)} ms`,
    );

    let recorded = readChain(root, REF).length;
    assert.equal(recorded, 2);
    let completed = 0;
    for (let trial = 1; trial <= TRIALS; trial++) {
      change(trial);
      const running = startSluice(['snapshot', 'd', '-m', `trial ${trial}`, '--json'], root);
      const delay = Math.floor(random() * window);
      await sleep(delay);
      running.crash();
      const outcome = await running.done;
      if (outcome.signal === null) {
        assert.equal(outcome.status, 0, outcome.stderr);
        completed++;
      }

      // A snapshot never writes into the dataset.
      assertSameTree(readTree(base), model, `the dataset after a kill at ${delay} ms`);
      // The chain grew by one snapshot or not at all, and a new one is complete and exact.
      assert.deepEqual([...sluiceRefs(root).keys()], [REF]);
      const chain = readChain(root, REF);
      assert.ok(chain.length === recorded || chain.length === recorded + 1, `chain of ${chain.length}`);
      if (chain.length === recorded + 1) {
        assert.deepEqual(
          recordedHashes(root),
          hashesOf(model),
          'the new snapshot lists the files as they are',
        );
        assert.equal(chain[0]!.record.parent, chain[1]!.id);
      } else {
        assert.equal(outcome.signal, 'SIGKILL', 'a snapshot that finished is recorded');
      }
      recorded = chain.length;
      assertFsckClean(root);
    }
    t.diagnostic(`${TRIALS - completed} of ${TRIALS} snapshots killed`);

    // Afterwards a snapshot records the disk exactly: the stat cache was not misled by the kills.
    await recordSnapshot(root, 'd');
    assert.deepEqual(recordedHashes(root), hashesOf(model));
    // Orphans of the killed runs go with gc; what the records need stays.
    const collected = sluiceJson(['gc', '--min-age', '0'], root) as { removed: number };
    t.diagnostic(`gc removed ${collected.removed} orphaned blob(s)`);
    await assertFsckCleanInProcess(root);
    removeTree(base);
    await restoreSnapshot(root, 'd', 'latest');
    assertSameTree(readTree(base), model, 'the latest snapshot restored after gc');
  });

  void test(`during restore (${TRIALS} trials): each file is the old or the new version, whole`, async (t) => {
    t.diagnostic(`seed ${SEED} (SLUICE_CRASH_SEED=${SEED} replays it)`);
    const random = seededRandom(SEED + 1);
    const root = workspace();
    const base = join(root, 'data/d');

    // A and B share some files, differ in others, and each has paths the other lacks.
    const versionA = dataset('A');
    for (let i = 0; i < 20; i++) versionA.set(`only-a/${i}.txt`, fileEntry(`only in A ${i}\n`));
    const versionB = new Map(versionA);
    const smallB = dataset('B', 300, 0);
    for (let i = 0; i < 300; i += 3) {
      const path = `part-${i % 6}/row-${i}.csv`;
      versionB.set(path, smallB.get(path)!);
    }
    versionB.set('large-1.bin', fileEntry(noise(1 << 20, 'B 1')));
    for (let i = 0; i < 20; i++) versionB.delete(`only-a/${i}.txt`);
    for (let i = 0; i < 20; i++) versionB.set(`only-b/${i}.txt`, fileEntry(`only in B ${i}\n`));
    versionB.set('only-b/empty', { type: 'dir', mode: 0o755 });
    versionB.set('only-b/link', { type: 'link', target: '../large-0.bin' });

    writeTree(base, versionA);
    const idA = (await recordSnapshot(root, 'd'))!;
    removeTree(base);
    writeTree(base, versionB);
    const idB = (await recordSnapshot(root, 'd'))!;
    const toA = timed(() => sluiceJson(['restore', 'd', idA], root));
    await restoreSnapshot(root, 'd', idB);
    const window = Math.max(300, toA * 1.2);
    t.diagnostic(`uninterrupted restore: ${Math.round(toA)} ms; kills within ${Math.round(window)} ms`);

    let leftovers = 0;
    let completed = 0;
    for (let trial = 1; trial <= TRIALS; trial++) {
      const [target, id] = trial % 2 === 1 ? [versionA, idA] : [versionB, idB];
      const running = startSluice(['restore', 'd', id, '--json'], root);
      const delay = Math.floor(random() * window);
      await sleep(delay);
      running.crash();
      const outcome = await running.done;
      if (outcome.signal === null) {
        assert.equal(outcome.status, 0, outcome.stderr);
        completed++;
        assertSameTree(readTree(base), target, 'a restore that finished');
      }

      // Restore must leave no temporary files in the dataset (the test below asserts it); counted and cleared
      // here so they neither hide nor block what this test checks.
      for (const path of temporaries(base)) {
        leftovers++;
        rmSync(join(base, path), { force: true });
      }
      const disk = readTree(base);
      for (const [path, entry] of disk) {
        // A kill may leave a folder emptied: folders hold no bytes.
        if (entry.type === 'dir') continue;
        const a = versionA.get(path);
        const b = versionB.get(path);
        assert.ok(a ?? b, `${JSON.stringify(path)} after a kill at ${delay} ms belongs to A or B`);
        const matches = (want: TreeEntry | undefined): boolean =>
          want !== undefined &&
          want.type === entry.type &&
          (entry.type !== 'file' || (want.type === 'file' && want.content.equals(entry.content))) &&
          (entry.type !== 'link' || (want.type === 'link' && want.target === entry.target));
        assert.ok(matches(a) || matches(b), `${path} after a kill at ${delay} ms is A's or B's, whole`);
      }
      for (const [path, entry] of versionA) {
        if (entry.type === 'file' && versionB.get(path)?.type === 'file')
          assert.ok(disk.has(path), `${path}, in both versions, is never missing (kill at ${delay} ms)`);
      }
      assert.equal(readChain(root, REF).length, 2, 'restore without --force records nothing');
      assertFsckClean(root);
    }
    t.diagnostic(
      `${TRIALS - completed} of ${TRIALS} restores killed; ${leftovers} restore temp file(s) left in the dataset`,
    );

    await restoreSnapshot(root, 'd', idA);
    assertSameTree(readTree(base), versionA, 'version A restored after the kills');
    await restoreSnapshot(root, 'd', idB);
    assertSameTree(readTree(base), versionB, 'version B restored after the kills');
    await assertFsckCleanInProcess(root);
  });

  void test('a restore killed mid-copy leaves no temp file in the dataset', async () => {
    const root = workspace();
    const base = join(root, 'data/d');
    writeTree(base, tree({ 'big.bin': noise(16 << 20, 'A'), 'small.txt': 'A\n' }));
    const idA = (await recordSnapshot(root, 'd'))!;
    writeTree(base, tree({ 'big.bin': noise(16 << 20, 'B'), 'small.txt': 'B\n' }));
    await recordSnapshot(root, 'd');

    // Kill the moment the first temp file appears, while its bytes are being copied.
    const running = startSluice(['restore', 'd', idA], root);
    const watcher = watch(base, (_event, name) => {
      if (name !== null && RESTORE_TEMPORARY.test(name)) running.crash();
    });
    await running.done;
    watcher.close();
    assert.deepEqual(temporaries(base), [], 'temp files left in the dataset');
  });
});

void describe('concurrent writers', () => {
  void test(`${WRITERS} writers with different content: a linear history, no snapshot lost`, async (t) => {
    // Each writer works in its own git worktree of one repository: its own files on disk, its own
    // cache, but the same refs/sluice/datasets/d. So every writer has something new to record, all
    // of them race for the same ref, and the only way for all to succeed is one on top of another.
    const root = workspace();
    git(root, 'add', 'sluice.yaml', '.gitignore');
    git(root, 'commit', '--quiet', '-m', 'manifest');
    const trees = Array.from({ length: WRITERS }, (_, i) => {
      const worktree = join(root, 'worktrees', `w${i}`);
      git(root, 'worktree', 'add', '--quiet', '--detach', worktree);
      return worktree;
    });
    let before = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const written = trees.map((worktree, i) => {
        const content = tree({
          'shared.csv': 'same in every writer\n',
          'writer.txt': `writer ${i}, round ${round}\n`,
          [`w${i}/r${round}.csv`]: `${i},${round}\n`,
        });
        writeTree(join(worktree, 'data/d'), content);
        return readTree(join(worktree, 'data/d'));
      });
      const running = trees.map((worktree, i) =>
        startSluice(['snapshot', 'd', '-m', `writer ${i} round ${round}`, '--json'], worktree),
      );
      const outcomes = await Promise.all(running.map((r) => r.done));
      const results = outcomes.map((outcome, i) => {
        assert.equal(outcome.status, 0, `writer ${i}: ${outcome.stderr}`);
        const [result] = (
          JSON.parse(outcome.stdout) as { snapshots: { id: string; parent: string | null }[] }
        ).snapshots;
        assert.match(result!.id, /^[0-9a-f]{64}$/, `writer ${i} recorded a snapshot`);
        return result!;
      });

      const chain = readChain(root, REF); // asserts one parent at most per commit
      assert.equal(chain.length, before + WRITERS, 'every writer added exactly one snapshot');
      const byId = new Map(chain.map((snapshot, index) => [snapshot.id, { snapshot, index }]));
      results.forEach((result, i) => {
        const found = byId.get(result.id);
        assert.ok(found, `writer ${i}'s snapshot is in the history`);
        const below = chain[found.index + 1];
        assert.equal(result.parent, below?.id ?? null, `writer ${i} reports the parent it was recorded on`);
        assert.equal(found.snapshot.record.parent, below?.id ?? null);
        assert.deepEqual(found.snapshot.parents, below ? [below.commit] : []);
        assert.deepEqual(
          new Map(found.snapshot.record.files.map((f) => [f.path, f.sha256])),
          hashesOf(written[i]!),
          `writer ${i}'s snapshot holds writer ${i}'s files`,
        );
      });
      before = chain.length;
    }
    t.diagnostic(`${before} snapshots in one line`);
  });

  void test(`${WRITERS} writers with the same content: one snapshot, the others see it`, async () => {
    const root = workspace();
    const base = join(root, 'data/d');
    const content = dataset('same', 120, 1);
    writeTree(base, content);
    const running = Array.from({ length: WRITERS }, (_, i) =>
      startSluice(['snapshot', 'd', '-m', `writer ${i}`, '--json'], root),
    );
    const results = (await Promise.all(running.map((r) => r.done))).map((outcome, i) => {
      assert.equal(outcome.status, 0, `writer ${i}: ${outcome.stderr}`);
      return (JSON.parse(outcome.stdout) as { snapshots: { id: string | null; parent: string | null }[] })
        .snapshots[0]!;
    });
    const chain = readChain(root, REF);
    assert.equal(chain.length, 1, 'the same content is recorded once');
    const recorded = results.filter((r) => r.id !== null);
    assert.deepEqual(
      recorded.map((r) => r.id),
      [chain[0]!.id],
    );
    for (const result of results.filter((r) => r.id === null))
      assert.equal(
        result.parent,
        chain[0]!.id,
        'an unchanged result names the snapshot that has the content',
      );
    assertFsckClean(root);
  });
});

void describe('a restore racing an edit', () => {
  void test('a file edited while a restore runs is snapshotted with its new bytes', async () => {
    const root = workspace();
    const base = join(root, 'data/d');
    const keep = join(base, 'keep.txt');
    const many = (version: string): Tree =>
      new Map(
        Array.from({ length: 200 }, (_, i): [string, TreeEntry] => [
          `many/f${i}.txt`,
          fileEntry(`${version} ${i}\n`),
        ]),
      );
    mkdirSync(base, { recursive: true });
    writeFileSync(keep, 'original\n');
    writeTree(base, many('A'));
    const idA = (await recordSnapshot(root, 'd'))!;
    writeTree(base, many('B'));
    const idB = (await recordSnapshot(root, 'd'))!;

    // keep.txt is the same in A and B, so the restore does not write it; the user edits it meanwhile.
    const edited = 'edited while the restore ran\n';
    const running = startSluice(['restore', 'd', idA], root);
    let editedAt: number | undefined;
    const watcher = watch(join(base, 'many'), (_event, name) => {
      // The first file the restore puts in place shows it is running.
      if (editedAt === undefined && name !== null && /^f\d+\.txt$/.test(name)) {
        writeFileSync(keep, edited);
        editedAt = Date.now();
      }
    });
    const outcome = await running.done;
    watcher.close();
    assert.equal(outcome.status, 0, outcome.stderr);
    assert.ok(editedAt !== undefined, 'the edit happened during the restore');

    sluiceJson(['snapshot', 'd'], root);
    assert.equal(recordedHashes(root).get('keep.txt'), sha256(edited), 'the snapshot holds the edited bytes');
    await restoreSnapshot(root, 'd', idB);
    await restoreSnapshot(root, 'd', readChain(root, REF)[0]!.id);
    assert.deepEqual(readTree(base).get('keep.txt'), fileEntry(edited), 'the edit is not lost');
  });
});
