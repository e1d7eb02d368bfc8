// The store's safety (issue 12): gc and fsck with damaged refs, every exit of
// a blob from the cache verified against its hash, and what gc keeps (recent
// run-cache entries, young trash, recent release folders), from the built CLI
// in real git repositories.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { damageBlob, expectOk, jsonError, pipelineWorkspace, setSalt, type FsckJson } from '../support/store';
import {
  blobPath,
  clearVariablesRefusedBySimpleGit,
  git,
  listBlobs,
  removeTree,
  sha256,
  sluice,
  sluiceJson,
} from '../support/workspace';

clearVariablesRefusedBySimpleGit();

const made: string[] = [];
after(() => {
  for (const dir of made.splice(0)) removeTree(dir);
});

interface GcJson {
  removed: number;
  bytes: number;
  trash: { removed: number; bytes: number };
  runs: { kept: number; removed: number };
  releases: { kept: number; removed: { environment: string; release: string }[] };
}

interface RunJson {
  stages: { stage: string; result: string }[];
}

const ALWAYS = () => 0.5;

/** Runs `sluice run --json` and returns build's result. */
function runBuild(root: string): string {
  const result = expectOk(sluice(['run', '--json'], root), 'run');
  const report = JSON.parse(result.stdout) as RunJson;
  return report.stages.find((stage) => stage.stage === 'build')!.result;
}

/** Runs `sluice stage --json` (its stage's progress goes to stderr) and returns the release id. */
function stageRelease(root: string): string {
  const result = expectOk(sluice(['stage', '--json'], root), 'stage');
  return (JSON.parse(result.stdout) as { release: { id: string } }).release.id;
}

/** Asserts gc refuses with damaged-ref naming `ref`, and that every blob is still there. */
function assertGcRefuses(root: string, ref: string): void {
  const before = listBlobs(root);
  const result = sluice(['gc', '--min-age', '0', '--json'], root);
  assert.equal(result.status, 1, `gc exit code: ${result.stdout}${result.stderr}`);
  const error = jsonError(result);
  assert.equal(error.code, 'damaged-ref');
  assert.ok(error.message.includes(ref), error.message);
  assert.ok(
    (error.data['refs'] as { ref: string }[]).some((entry) => entry.ref === ref),
    JSON.stringify(error.data),
  );
  assert.deepEqual(listBlobs(root), before, 'gc removed nothing');
}

function assertFsckReportsRef(root: string, ref: string): void {
  const result = sluice(['fsck', '--json'], root);
  assert.equal(result.status, 1, `fsck exit code: ${result.stdout}`);
  const report = JSON.parse(result.stdout) as FsckJson;
  assert.ok(
    report.damagedRefs.some((entry) => entry.ref === ref && entry.reason.length > 0),
    result.stdout,
  );
  const text = sluice(['fsck'], root);
  assert.equal(text.status, 1);
  assert.match(text.stdout, new RegExp(`damaged ref\\s+${ref}`));
}

describe('store: damaged refs', () => {
  const RAW = 'refs/sluice/datasets/raw';
  const damages: [string, (root: string) => void][] = [
    ['a tree', (root) => git(root, 'update-ref', RAW, git(root, 'rev-parse', 'HEAD^{tree}'))],
    ['a blob', (root) => git(root, 'update-ref', RAW, git(root, 'rev-parse', 'HEAD:build.js'))],
    ['a code commit', (root) => git(root, 'update-ref', RAW, git(root, 'rev-parse', 'HEAD'))],
    [
      'a commit that claims to be a snapshot but holds none',
      (root) => {
        const empty = git(root, 'mktree');
        const commit = git(root, 'commit-tree', empty, '-m', 'fake\n\nSluice-Snapshot: 1234');
        git(root, 'update-ref', RAW, commit);
      },
    ],
    [
      'a missing object',
      (root) => {
        const file = join(root, '.git', RAW);
        mkdirSync(join(file, '..'), { recursive: true });
        writeFileSync(file, `${'1'.repeat(40)}\n`);
      },
    ],
    [
      'garbage',
      (root) => {
        const file = join(root, '.git', RAW);
        writeFileSync(file, 'not an object id\n');
      },
    ],
  ];
  for (const [what, damage] of damages) {
    test(`a dataset ref pointing at ${what}: gc refuses, fsck and log report it`, () => {
      const root = pipelineWorkspace(made);
      damage(root);
      assertGcRefuses(root, RAW);
      assertFsckReportsRef(root, RAW);
      const log = sluice(['log', 'raw', '--json'], root);
      assert.equal(log.status, 1, log.stdout);
      assert.equal(jsonError(log).code, 'damaged-ref');
      assert.doesNotMatch(sluice(['log', 'raw'], root).stdout, /no snapshot yet/);
    });
  }

  test('a snapshot of another dataset under this one’s ref is damage', () => {
    const root = pipelineWorkspace(made);
    git(root, 'update-ref', 'refs/sluice/datasets/other', git(root, 'rev-parse', RAW));
    assertGcRefuses(root, 'refs/sluice/datasets/other');
    assertFsckReportsRef(root, 'refs/sluice/datasets/other');
  });

  test('damaged environment and release refs, and refs of an unknown kind', () => {
    const root = pipelineWorkspace(made);
    expectOk(sluice(['stage'], root), 'stage');
    const refs = git(root, 'for-each-ref', '--format=%(refname)', 'refs/sluice').split('\n');
    const release = refs.find((ref) => ref.startsWith('refs/sluice/releases/'))!;
    const environment = 'refs/sluice/environments/staging';
    assert.ok(release && refs.includes(environment), refs.join(' '));
    const good = git(root, 'rev-parse', release);
    const deployed = git(root, 'rev-parse', environment);

    git(root, 'update-ref', release, git(root, 'rev-parse', `${release}^{tree}`));
    assertGcRefuses(root, release);
    assertFsckReportsRef(root, release);
    git(root, 'update-ref', release, good);

    // The environment's deployment names a release whose record is gone.
    git(root, 'update-ref', '-d', release);
    assertGcRefuses(root, environment);
    assertFsckReportsRef(root, environment);
    git(root, 'update-ref', release, good);

    git(root, 'update-ref', environment, git(root, 'rev-parse', RAW));
    assertGcRefuses(root, environment);
    git(root, 'update-ref', environment, deployed);

    git(root, 'update-ref', 'refs/sluice/experiments/e1', good);
    assertGcRefuses(root, 'refs/sluice/experiments/e1');
    assertFsckReportsRef(root, 'refs/sluice/experiments/e1');
    git(root, 'update-ref', '-d', 'refs/sluice/experiments/e1');

    const fsck = sluice(['fsck', '--json'], root);
    assert.equal(fsck.status, 0, fsck.stdout);
    expectOk(sluice(['gc', '--min-age', '0'], root), 'gc once every ref is whole again');
  });
});

describe('store: blobs leave the cache verified', () => {
  test('restore of a damaged blob fails with damaged-blob and writes none of its bytes', () => {
    const root = pipelineWorkspace(made);
    const file = join(root, 'data', 'raw', 'two.csv');
    const original = readFileSync(file);
    const hash = sha256(original);
    damageBlob(root, hash, 'flip', ALWAYS, undefined);
    writeFileSync(file, 'changed\n');
    expectOk(sluice(['snapshot', 'raw'], root), 'snapshot of the change');
    const log = sluiceJson(['log', 'raw'], root) as { snapshots: { id: string }[] };
    const result = sluice(['restore', 'raw', log.snapshots[1]!.id, '--json'], root);
    assert.equal(result.status, 1, result.stdout);
    const error = jsonError(result);
    assert.equal(error.code, 'damaged-blob');
    assert.equal(error.data['hash'], hash);
    assert.equal(error.data['path'], blobPath(root, hash));
    assert.equal(readFileSync(file, 'utf8'), 'changed\n', 'the workspace file is untouched');
    const text = sluice(['restore', 'raw', log.snapshots[1]!.id], root);
    assert.equal(text.stderr.trim().split('\n').length, 1, text.stderr);
    assert.match(text.stderr, /sluice fsck/);
    assert.deepEqual(readdirSync(join(root, '.sluice', 'tmp')), [], 'no temporary file left');
  });

  test('the run cache does not restore outputs from a damaged blob: the stage runs instead', () => {
    const root = pipelineWorkspace(made);
    assert.equal(runBuild(root), 'ran');
    const big = readFileSync(join(root, 'out', 'big.bin'));
    setSalt(root, 'b');
    assert.equal(runBuild(root), 'ran');
    damageBlob(root, sha256(big), 'truncate', ALWAYS, undefined);
    setSalt(root, 'a');
    assert.equal(runBuild(root), 'ran');
    assert.deepEqual(readFileSync(join(root, 'out', 'big.bin')), big);
    assert.ok(!existsSync(join(root, '.sluice', 'trash')), 'nothing restored was taken for user bytes');
    // The run wrote the blob afresh: the damaged file is replaced.
    const fsck = sluice(['fsck', '--json'], root);
    assert.equal(fsck.status, 0, fsck.stdout);
  });

  test('staging does not place a damaged dataset blob', () => {
    const root = pipelineWorkspace(made);
    const hash = sha256(readFileSync(join(root, 'data', 'raw', 'two.csv')));
    damageBlob(root, hash, 'extend', ALWAYS, undefined);
    const result = sluice(['stage', '--json'], root);
    assert.equal(result.status, 1, result.stdout);
    assert.equal(jsonError(result).code, 'damaged-blob');
    assert.ok(!existsSync(join(root, 'deploy', 'staging', 'current')), 'nothing deployed');
  });

  test('a release folder is not written from a damaged output blob', () => {
    const root = pipelineWorkspace(made);
    const first = stageRelease(root);
    const releaseFolder = join(root, 'deploy', 'staging', 'releases', first);
    const big = readFileSync(join(releaseFolder, 'out', 'big.bin'));
    setSalt(root, 'b', true);
    expectOk(sluice(['stage'], root), 'second stage');
    // Roll back to the first after its folder is gone: it is written again from the cache.
    removeTree(releaseFolder);
    damageBlob(root, sha256(big), 'flip', ALWAYS, undefined);
    const result = sluice(['rollback', 'staging', '--yes', '--json'], root);
    assert.equal(result.status, 1, result.stdout);
    assert.equal(jsonError(result).code, 'damaged-blob');
    assert.ok(!existsSync(releaseFolder), 'no release folder with damaged bytes');
  });
});

describe('store: what gc keeps', () => {
  test('gc keeps the blobs of each stage’s recent runs, so they restore', () => {
    const root = pipelineWorkspace(made);
    assert.equal(runBuild(root), 'ran');
    setSalt(root, 'b');
    assert.equal(runBuild(root), 'ran');
    const gc = sluiceJson(['gc', '--min-age', '0'], root) as GcJson;
    assert.deepEqual(gc.runs, { kept: 2, removed: 0 });
    setSalt(root, 'a');
    assert.equal(runBuild(root), 'restored');
  });

  test('--keep-runs N keeps the newest N entries per stage and collects the rest', () => {
    const root = pipelineWorkspace(made);
    for (const salt of ['a', 'b', 'c']) {
      setSalt(root, salt);
      assert.equal(runBuild(root), 'ran');
    }
    const dry = sluiceJson(['gc', '--min-age', '0', '--keep-runs', '1', '--dry-run'], root) as GcJson;
    assert.deepEqual(dry.runs, { kept: 1, removed: 2 });
    const gc = sluiceJson(['gc', '--min-age', '0', '--keep-runs', '1'], root) as GcJson;
    assert.deepEqual(gc.runs, { kept: 1, removed: 2 });
    assert.ok(gc.removed > 0, 'the older runs’ blobs are collected');
    setSalt(root, 'a');
    assert.equal(runBuild(root), 'ran');
    const bad = sluice(['gc', '--keep-runs', 'two'], root);
    assert.equal(bad.status, 2);
  });

  test('gc empties trash entries older than --min-age and says so', () => {
    const root = pipelineWorkspace(made);
    const trash = join(root, '.sluice', 'trash');
    mkdirSync(join(trash, 'old', 'out'), { recursive: true });
    writeFileSync(join(trash, 'old', 'out', 'kept-by-hand.txt'), 'x'.repeat(1000));
    const hoursAgo = new Date(Date.now() - 2 * 3600 * 1000);
    utimesSync(join(trash, 'old'), hoursAgo, hoursAgo);
    mkdirSync(join(trash, 'young'), { recursive: true });
    writeFileSync(join(trash, 'young', 'file'), 'y');
    const gc = sluiceJson(['gc'], root) as GcJson;
    assert.deepEqual(gc.trash, { removed: 1, bytes: 1000 });
    assert.deepEqual(readdirSync(trash), ['young']);
    assert.match(expectOk(sluice(['gc', '--min-age', '0'], root), 'gc').stdout, /Removed 1 trash entry, 1 B/);
    assert.deepEqual(readdirSync(trash), []);
  });

  test('gc keeps the release folders of the last --keep-releases deployments, the live one and the one before', () => {
    const root = pipelineWorkspace(made);
    const ids: string[] = [];
    for (const salt of ['p', 'q', 'r', 's']) {
      setSalt(root, salt, true);
      ids.push(stageRelease(root));
    }
    const releases = join(root, 'deploy', 'staging', 'releases');
    assert.deepEqual(readdirSync(releases).sort(), [...ids].sort());
    const gc = sluiceJson(['gc', '--min-age', '0', '--keep-releases', '1'], root) as GcJson;
    assert.deepEqual(gc.releases.removed.map((removed) => removed.release).sort(), [ids[0]!, ids[1]!].sort());
    assert.deepEqual(readdirSync(releases).sort(), [ids[2]!, ids[3]!].sort());
    // What was removed comes back on a rollback to it, from the cache.
    expectOk(sluice(['rollback', 'staging', '--yes'], root), 'rollback');
    expectOk(sluice(['rollback', 'staging', '--yes', '--to', ids[0]!], root), 'rollback to a pruned release');
    assert.ok(existsSync(join(releases, ids[0]!, 'out', 'big.bin')));
    const fsck = sluice(['fsck', '--json'], root);
    assert.equal(fsck.status, 0, fsck.stdout);
  });
});
