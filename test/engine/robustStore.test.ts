// The store under generated damage (issue 12): blobs damaged at random (a
// flipped bit at a random offset, truncated, extended, swapped with another
// blob's bytes, deleted) before `restore` and before `run` restores from the
// run cache, and refs under refs/sluice/ of every kind damaged at random
// before `gc`. Whatever the damage: a command either fails naming it
// (damaged-blob, missing-blob, damaged-ref) with no damaged byte in the
// workspace and nothing removed, or succeeds with the right bytes; fsck names
// every damaged blob and ref.
//
// SLUICE_ROBUST_TRIALS sets the trials per case (default 2, about a minute in
// all; try 50 before touching the store), SLUICE_ROBUST_SEED replays a run.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { seededRandom } from '../../src/core/seededRandom';
import {
  BLOB_DAMAGES,
  damageBlob,
  expectOk,
  jsonError,
  pipelineWorkspace,
  setSalt,
  type BlobDamage,
  type FsckJson,
} from '../support/store';
import {
  blobPath,
  clearVariablesRefusedBySimpleGit,
  git,
  listBlobs,
  readTree,
  removeTree,
  sha256,
  sluice,
  type Tree,
} from '../support/workspace';

clearVariablesRefusedBySimpleGit();

const TRIALS = Number(process.env['SLUICE_ROBUST_TRIALS'] ?? 2);
const SEED = Number(process.env['SLUICE_ROBUST_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const made: string[] = [];
after(() => {
  for (const dir of made.splice(0)) removeTree(dir);
});

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function fsckReport(root: string): FsckJson {
  const result = sluice(['fsck', '--json'], root);
  return JSON.parse(result.stdout) as FsckJson;
}

/** Puts a blob's original bytes back, read-only. */
function repairBlob(root: string, hash: string, bytes: Buffer): void {
  const path = blobPath(root, hash);
  rmSync(path, { force: true });
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, bytes, { mode: 0o444 });
}

/** Files of a dataset version: a few sizes, one empty, one shared by both versions. */
function writeVersion(root: string, version: string, random: () => number): void {
  const folder = join(root, 'data', 'raw');
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(join(folder, 'part'), { recursive: true });
  writeFileSync(join(folder, 'one.csv'), 'id,value\n1,one\n');
  writeFileSync(join(folder, 'empty.csv'), version === 'v1' ? '' : 'now,full\n');
  for (let i = 0; i < 4; i++) {
    const size = 1 + Math.floor(random() * 300_000);
    const bytes = Buffer.alloc(size);
    for (let j = 0; j < size; j += 97) bytes[j] = Math.floor(random() * 256);
    writeFileSync(join(folder, 'part', `${version}-${i}.bin`), bytes);
  }
}

describe(`robust store (seed ${SEED}, ${TRIALS} trials)`, () => {
  test('restore from damaged blobs: fails naming the blob with no damaged byte on disk, or restores right', () => {
    const random = seededRandom(SEED);
    const root = pipelineWorkspace(made);
    writeVersion(root, 'v1', random);
    const v1 = expectOk(sluice(['snapshot', 'raw', '--json'], root), 'snapshot v1');
    const v1Id = (JSON.parse(v1.stdout) as { snapshots: { id: string }[] }).snapshots[0]!.id;
    const v1Tree = readTree(join(root, 'data', 'raw'));
    writeVersion(root, 'v2', random);
    expectOk(sluice(['snapshot', 'raw'], root), 'snapshot v2');
    const v2Tree = readTree(join(root, 'data', 'raw'));
    // The blobs restoring v1 over v2 writes: v1's files that v2 lacks or holds otherwise.
    const needed = [...v1Tree]
      .filter(([path, entry]) => {
        const now = v2Tree.get(path);
        return entry.type === 'file' && (now?.type !== 'file' || !now.content.equals(entry.content));
      })
      .map(([, entry]) => sha256((entry as { content: Buffer }).content));
    const all = listBlobs(root);
    for (let trial = 0; trial < TRIALS; trial++) {
      const hash = pick(random, needed);
      const damage = pick(random, BLOB_DAMAGES);
      const what = `trial ${trial}: ${damage} blob ${hash.slice(0, 12)} (seed ${SEED})`;
      const original = readFileSync(blobPath(root, hash));
      damageBlob(
        root,
        hash,
        damage,
        random,
        pick(
          random,
          all.filter((other) => other !== hash),
        ),
      );

      const fsck = fsckReport(root);
      const named = damage === 'delete' ? fsck.missing.map((missing) => missing.hash) : fsck.damaged;
      assert.ok(named.includes(hash), `${what}: fsck names it: ${JSON.stringify(fsck)}`);

      const result = sluice(['restore', 'raw', v1Id, '--json'], root);
      const disk = readTree(join(root, 'data', 'raw'));
      if (result.status === 0) {
        assertTreeBytes(disk, v1Tree, what);
      } else {
        assert.equal(result.status, 1, `${what}: ${result.stderr}`);
        const error = jsonError(result);
        assert.ok(['damaged-blob', 'missing-blob'].includes(error.code), `${what}: ${error.code}`);
        assert.equal(error.data['hash'], hash, what);
        assertNoForeignBytes(disk, v1Tree, v2Tree, what);
      }
      repairBlob(root, hash, original);
      expectOk(sluice(['restore', 'raw', 'latest'], root), `${what}: back to v2`);
      assertTreeBytes(readTree(join(root, 'data', 'raw')), v2Tree, what);
    }
  });

  test('run from a run cache with damaged blobs: the right outputs, and fsck names the blob', () => {
    const random = seededRandom(SEED + 1);
    const root = pipelineWorkspace(made);
    const run = (): string => {
      const result = expectOk(sluice(['run', '--json'], root), 'run');
      return (JSON.parse(result.stdout) as { stages: { result: string }[] }).stages[0]!.result;
    };
    setSalt(root, 'a');
    run();
    const expectedA = readTree(join(root, 'out'));
    const hashesA = [...expectedA.values()].map((entry) => sha256((entry as { content: Buffer }).content));
    for (let trial = 0; trial < TRIALS; trial++) {
      setSalt(root, 'b');
      run();
      const hash = pick(random, hashesA);
      const damage: BlobDamage = pick(random, BLOB_DAMAGES);
      const what = `trial ${trial}: ${damage} run-cache blob ${hash.slice(0, 12)} (seed ${SEED})`;
      damageBlob(
        root,
        hash,
        damage,
        random,
        pick(
          random,
          listBlobs(root).filter((other) => other !== hash),
        ),
      );
      // A run-cache blob deleted is a cache miss, not damage: fsck only names a blob whose bytes are wrong.
      if (damage !== 'delete') assert.ok(fsckReport(root).damaged.includes(hash), `${what}: fsck names it`);
      setSalt(root, 'a');
      const result = run();
      assert.ok(['ran', 'restored'].includes(result), `${what}: ${result}`);
      assertTreeBytes(readTree(join(root, 'out')), expectedA, what);
    }
  });

  test('gc with a damaged ref of any kind refuses and removes nothing; fsck reports the ref', () => {
    const random = seededRandom(SEED + 2);
    const root = pipelineWorkspace(made);
    for (const salt of ['p', 'q']) {
      setSalt(root, salt, true);
      expectOk(sluice(['stage'], root), `stage ${salt}`);
    }
    const refs = new Map(
      git(root, 'for-each-ref', '--format=%(refname) %(objectname)', 'refs/sluice')
        .split('\n')
        .map((line) => line.split(' ') as [string, string]),
    );
    const ofKind = (kind: string): string[] => [...refs.keys()].filter((ref) => ref.startsWith(kind));
    const releases = ofKind('refs/sluice/releases/');
    const candidates = [
      ...ofKind('refs/sluice/datasets/'),
      ...ofKind('refs/sluice/environments/'),
      ...releases,
      'refs/sluice/experiments/e1',
      'refs/sluice/stray',
    ];
    const code = git(root, 'rev-parse', 'HEAD');
    /** Each gives the value to write into the ref, or 'garbage' / 'unset-release'. */
    const damages: Record<string, (ref: string) => string> = {
      tree: (ref) => git(root, 'rev-parse', `${refs.get(ref) ?? code}^{tree}`),
      blob: () => git(root, 'rev-parse', 'HEAD:build.js'),
      missing: () => '1'.repeat(40),
      garbage: () => 'garbage',
      'code commit': () => code,
      'record of another kind or name': (ref) =>
        refs.get(
          pick(
            random,
            [...refs.keys()].filter((other) => other !== ref),
          ),
        )!,
      'commit with a forged trailer': () =>
        git(root, 'commit-tree', git(root, 'mktree'), '-m', 'x\n\nSluice-Snapshot: 0\nSluice-Deployment: {}'),
      'release record gone': () => 'unset-release',
    };
    const blobsBefore = listBlobs(root);
    const releaseFolders = readdirSync(join(root, 'deploy', 'staging', 'releases')).sort();
    for (let trial = 0; trial < TRIALS * 2; trial++) {
      const ref = pick(random, candidates);
      const name = pick(random, Object.keys(damages));
      const target = damages[name]!(ref);
      const what = `trial ${trial}: ${ref} → ${name} (seed ${SEED})`;
      // Which ref the damage shows on: a release record gone shows on the environment deploying it.
      let shown = ref;
      let undo: () => void;
      if (target === 'unset-release') {
        const release = pick(random, releases);
        git(root, 'update-ref', '-d', release);
        shown = 'refs/sluice/environments/staging';
        undo = () => git(root, 'update-ref', release, refs.get(release)!);
      } else {
        writeRef(root, ref, target === 'garbage' ? 'not an object id' : target);
        undo = () => {
          const good = refs.get(ref);
          if (good === undefined) rmSync(join(root, '.git', ref), { force: true });
          else writeRef(root, ref, good);
        };
      }
      const gc = sluice(['gc', '--min-age', '0', '--keep-releases', '0', '--keep-runs', '0', '--json'], root);
      assert.equal(gc.status, 1, `${what}: gc refuses: ${gc.stdout}`);
      const error = jsonError(gc);
      assert.equal(error.code, 'damaged-ref', what);
      assert.ok(
        (error.data['refs'] as { ref: string }[]).some((entry) => entry.ref === shown),
        what,
      );
      assert.deepEqual(listBlobs(root), blobsBefore, `${what}: no blob removed`);
      assert.deepEqual(
        readdirSync(join(root, 'deploy', 'staging', 'releases')).sort(),
        releaseFolders,
        `${what}: no release folder removed`,
      );
      const fsck = fsckReport(root);
      assert.ok(Array.isArray(fsck.damagedRefs), `${what}: fsck reports: ${JSON.stringify(fsck)}`);
      assert.ok(
        fsck.damagedRefs.some((entry) => entry.ref === shown),
        `${what}: fsck reports it: ${JSON.stringify(fsck.damagedRefs)}`,
      );
      undo();
    }
    const fsck = sluice(['fsck', '--json'], root);
    assert.equal(fsck.status, 0, `every ref whole again: ${fsck.stdout}`);
  });
});

/** Writes a loose ref file directly (git update-ref refuses trees-as-garbage and missing objects). */
function writeRef(root: string, ref: string, value: string): void {
  const file = join(root, '.git', ref);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, `${value}\n`);
}

/** Same paths and bytes (modes aside: restore may differ from the writer's umask). */
function assertTreeBytes(actual: Tree, expected: Tree, what: string): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), `${what}: paths`);
  for (const [path, entry] of expected) {
    const now = actual.get(path)!;
    if (entry.type === 'file') {
      assert.equal(now.type, 'file', `${what}: ${path}`);
      assert.ok((now as { content: Buffer }).content.equals(entry.content), `${what}: bytes of ${path}`);
    }
  }
}

/** Every file on disk holds the bytes of one of the two versions at its path. */
function assertNoForeignBytes(disk: Tree, v1: Tree, v2: Tree, what: string): void {
  for (const [path, entry] of disk) {
    if (entry.type !== 'file') continue;
    const ok = [v1.get(path), v2.get(path)].some(
      (version) => version?.type === 'file' && version.content.equals(entry.content),
    );
    assert.ok(ok, `${what}: ${path} holds bytes of neither version`);
  }
}
