// Push, fetch and pull between machines: two clones in separate temp folders
// with separate caches, a bare git repository as `origin`, and a folder as
// the blob remote. The churn example keeps its data out of git, so a fresh
// clone has only what Sluice brings.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SluiceError } from '../../src/core/errors';
import { fetch, pull } from '../../src/core/operations/sync/fetch';
import { push } from '../../src/core/operations/sync/push';
import { gcRemote } from '../../src/core/operations/sync/remoteGc';
import { syncStatus } from '../../src/core/operations/sync/syncStatus';
import type { SyncRemote } from '../../src/core/operations/sync/remoteTarget';
import { parseRemoteUrl } from '../../src/core/remotes/transport/transport';
import { openWorkspace } from '../../src/core/workspace';
import { onlyJson } from '../support/environments';
import { clearVariablesRefusedBySimpleGit, git, readTree, sluice } from '../support/workspace';

clearVariablesRefusedBySimpleGit();

const base = mkdtempSync(join(tmpdir(), 'sluice-sync-'));
const origin = join(base, 'origin.git');
const blobsFolder = join(base, 'blobs');
const remote: SyncRemote = { name: 'team', location: parseRemoteUrl(blobsFolder), gitRemote: 'origin' };

function cloneOrigin(name: string): string {
  const root = join(base, name);
  git(base, 'clone', '--quiet', origin, root);
  git(root, 'config', 'user.name', `Tester ${name}`);
  git(root, 'config', 'user.email', `${name}@sluice.invalid`);
  return root;
}

async function errorOf(run: () => Promise<unknown>): Promise<SluiceError> {
  try {
    await run();
  } catch (error) {
    assert.ok(error instanceof SluiceError, `a SluiceError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a failure');
}

function cli(root: string, ...args: string[]): Record<string, unknown> {
  const result = sluice([...args, '--json'], root);
  assert.equal(result.status, 0, `sluice ${args.join(' ')}: ${result.stderr}`);
  return onlyJson(result);
}

let alice: string;

before(() => {
  git(base, 'init', '--quiet', '--bare', '--initial-branch=main', origin);
  mkdirSync(blobsFolder);
  const init = sluice(['init', join(base, 'alice'), '--example', 'churn'], base);
  assert.equal(init.status, 0, init.stderr);
  alice = join(base, 'alice');
  git(alice, 'config', 'user.name', 'Alice');
  git(alice, 'config', 'user.email', 'alice@sluice.invalid');
  git(alice, 'remote', 'add', 'origin', origin);
  git(alice, 'push', '--quiet', 'origin', 'HEAD:refs/heads/main');
  cli(alice, 'snapshot');
  cli(alice, 'stage');
});

after(() => {
  rmSync(base, { recursive: true, force: true });
});

void describe('push, fetch and pull between two clones', () => {
  void test('a fresh clone gets the data by pull, and run restores every output without running a stage', async () => {
    const pushed = await push(await openWorkspace(alice), remote);
    assert.ok(pushed.refs.some((ref) => ref.kind === 'dataset'));
    assert.ok(pushed.refs.some((ref) => ref.kind === 'environment'));
    assert.ok(pushed.blobs.blobs > 0 && pushed.runs > 0);
    // Small blobs travel in packs: far fewer objects than blobs.
    assert.ok(pushed.blobs.requests < pushed.blobs.blobs, JSON.stringify(pushed.blobs));

    const bob = cloneOrigin('bob');
    const pulled = await pull(await openWorkspace(bob), remote);
    assert.ok(
      pulled.datasets.length > 0 && pulled.datasets.every((dataset) => dataset.action === 'restored'),
    );
    for (const folder of ['data/raw'])
      assert.deepEqual(readTree(join(bob, folder)), readTree(join(alice, folder)));

    const run = cli(bob, 'run');
    const results = (run['stages'] as { result: string }[]).map((stage) => stage.result);
    assert.ok(results.length > 0 && results.every((result) => result === 'restored'), JSON.stringify(run));
    cli(alice, 'run');
    assert.equal(
      readFileSync(join(bob, 'models/model.json'), 'utf8'),
      readFileSync(join(alice, 'models/model.json'), 'utf8'),
    );
  });

  void test('a push with nothing new moves no ref and sends nothing', async () => {
    const again = await push(await openWorkspace(alice), remote);
    assert.deepEqual(again.refs, []);
    assert.deepEqual(again.blobs, { blobs: 0, bytes: 0, requests: 0 });
  });

  void test('two clones promote at once: one push wins, the other is refused, and after pull both histories stay', async () => {
    const carol = cloneOrigin('carol');
    await pull(await openWorkspace(carol), remote);
    // Both deploy a new release to staging from their own machine.
    writeFileSync(
      join(alice, 'params.yaml'),
      readFileSync(join(alice, 'params.yaml'), 'utf8') + '\n# alice\n',
    );
    git(alice, 'commit', '--quiet', '-am', 'alice tunes');
    cli(alice, 'stage');
    writeFileSync(
      join(carol, 'params.yaml'),
      readFileSync(join(carol, 'params.yaml'), 'utf8') + '\n# carol\n',
    );
    git(carol, 'commit', '--quiet', '-am', 'carol tunes');
    cli(carol, 'stage');

    const staging = async (root: string) =>
      (await syncStatus(await openWorkspace(root), 'origin')).refs.find((ref) => ref.name === 'staging');
    assert.deepEqual(await staging(carol), { kind: 'environment', name: 'staging', ahead: 1, behind: 0 });
    await push(await openWorkspace(alice), remote);
    assert.equal(await staging(alice), undefined, 'in step with origin after the push');
    const refused = await errorOf(async () => push(await openWorkspace(carol), remote));
    assert.equal(refused.code, 'remote-moved');
    assert.match(
      refused.message,
      /Environment staging moved on origin since your last pull: pull, then retry\./,
    );

    const carolHistoryBefore = cli(carol, 'history', 'staging')['deployments'] as { release: string }[];
    const fetched = await fetch(await openWorkspace(carol), remote);
    assert.deepEqual(await staging(carol), { kind: 'environment', name: 'staging', ahead: 1, behind: 1 });
    assert.ok(fetched.status.refs.some((ref) => ref.name === 'staging'));
    const pulled = await pull(await openWorkspace(carol), remote);
    assert.ok(pulled.refs.some((ref) => ref.kind === 'environment' && ref.action === 'replayed'));
    assert.deepEqual(await staging(carol), { kind: 'environment', name: 'staging', ahead: 1, behind: 0 });
    await push(await openWorkspace(carol), remote);
    await fetch(await openWorkspace(alice), remote);
    assert.deepEqual(await staging(alice), { kind: 'environment', name: 'staging', ahead: 0, behind: 1 });
    await pull(await openWorkspace(alice), remote);
    assert.equal(await staging(alice), undefined);

    const aliceHistory = cli(alice, 'history', 'staging')['deployments'] as { release: string }[];
    const dave = cloneOrigin('dave');
    await pull(await openWorkspace(dave), remote);
    const merged = (cli(dave, 'history', 'staging')['deployments'] as { release: string }[]).map(
      (d) => d.release,
    );
    // Every deployment either side recorded is in the shared history; carol's newest is live.
    for (const deployment of [...aliceHistory, ...carolHistoryBefore])
      assert.ok(merged.includes(deployment.release), `${deployment.release} kept`);
    assert.equal(merged[0], carolHistoryBefore[0]!.release);
  });

  void test('two pushes at once: exactly one wins, the other is refused, and pull + retry keeps both', async () => {
    const carol = join(base, 'carol');
    await pull(await openWorkspace(carol), remote);
    await pull(await openWorkspace(alice), remote);
    cli(alice, 'stage', '-m', 'alice races');
    cli(carol, 'stage', '-m', 'carol races');
    const results = await Promise.allSettled([
      (async () => push(await openWorkspace(alice), remote))(),
      (async () => push(await openWorkspace(carol), remote))(),
    ]);
    const won = results.filter((result) => result.status === 'fulfilled');
    const lost = results.flatMap((result) =>
      result.status === 'rejected' ? [result.reason as SluiceError] : [],
    );
    assert.equal(won.length, 1, 'exactly one push wins');
    assert.equal(lost.length, 1);
    assert.equal(lost[0]!.code, 'remote-moved');
    const loser = results[0].status === 'rejected' ? alice : carol;
    await pull(await openWorkspace(loser), remote);
    await push(await openWorkspace(loser), remote);
    const reasons = (cli(loser, 'history', 'staging')['deployments'] as { reason: string | null }[]).map(
      (deployment) => deployment.reason,
    );
    assert.ok(reasons.includes('alice races') && reasons.includes('carol races'), JSON.stringify(reasons));
  });

  void test('gc --remote removes what no ref reaches, and only once an earlier gc marked it', async () => {
    const workspace = await openWorkspace(alice);
    // Garbage as interrupted pushes and deleted refs leave it: a pack without its index,
    // a temporary upload, a large blob nothing names.
    const orphanPack = join(blobsFolder, 'packs', `${'0'.repeat(64)}.pack`);
    writeFileSync(orphanPack, 'half a pack');
    const temporary = join(blobsFolder, 'packs', `${'1'.repeat(64)}.pack.sluice-tmp-0123456789ab`);
    writeFileSync(temporary, 'cut off');
    mkdirSync(join(blobsFolder, 'blobs', 'ff'), { recursive: true });
    const stray = join(blobsFolder, 'blobs', 'ff', 'f'.repeat(62));
    writeFileSync(stray, 'nobody needs me');
    const before = readdirSync(join(blobsFolder, 'packs')).length;

    const first = await gcRemote(workspace, remote, { dryRun: false });
    assert.equal(first.removed, 0, 'a first gc only marks');
    assert.equal(first.waiting, 3);
    assert.ok(readdirSync(join(blobsFolder, 'blobs', 'ff')).length === 1);

    const dry = await gcRemote(workspace, remote, { dryRun: true, minAgeMs: 0 });
    assert.equal(dry.removed, 3);
    assert.equal(readdirSync(join(blobsFolder, 'packs')).length, before, 'a dry run removes nothing');

    const now = await gcRemote(workspace, remote, { dryRun: false, minAgeMs: 0 });
    assert.equal(now.removed, 3);
    assert.equal(readdirSync(join(blobsFolder, 'packs')).length, before - 2);
    assert.deepEqual(readdirSync(join(blobsFolder, 'blobs', 'ff')), []);
    // Everything a ref reaches is still there: a fresh clone pulls and runs from the cache.
    const gina = cloneOrigin('gina');
    const pulled = await pull(await openWorkspace(gina), remote);
    assert.ok(pulled.datasets.every((dataset) => dataset.action === 'restored'));
  });

  void test('a blob damaged on the remote is refused, named, and not kept', async () => {
    const packs = join(blobsFolder, 'packs');
    for (const name of readdirSync(packs).filter((file) => file.endsWith('.pack'))) {
      const path = join(packs, name);
      const bytes = readFileSync(path);
      bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0xff;
      rmSync(path, { force: true });
      writeFileSync(path, bytes);
    }
    const erin = cloneOrigin('erin');
    const failure = await errorOf(async () => pull(await openWorkspace(erin), remote));
    assert.equal(failure.code, 'remote-damaged');
    assert.match(failure.message, /do not hash to it/);
    // Refs are taken in only after every blob they need arrived: a failed fetch changes nothing here.
    assert.equal(git(erin, 'for-each-ref', 'refs/sluice/'), '');
    const objects = join(erin, '.sluice', 'objects');
    const kept = (() => {
      try {
        return readdirSync(objects).flatMap((fan) => readdirSync(join(objects, fan)));
      } catch {
        return [];
      }
    })();
    assert.equal(
      kept.some((name) => String(failure.data['hash']).endsWith(name)),
      false,
      'the damaged blob is not in the cache',
    );
  });

  void test('a remote nobody pushed to says so', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'sluice-sync-empty-'));
    try {
      const frank = cloneOrigin('frank');
      const failure = await errorOf(async () =>
        fetch(await openWorkspace(frank), { ...remote, location: parseRemoteUrl(empty) }),
      );
      assert.equal(failure.code, 'remote-empty');
      assert.match(failure.message, /nobody has pushed to it yet/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
