// Issue 19 across machines: `sluice push`, `fetch` and `pull` carry health
// histories (refs/sluice/health/ENV) as they carry deployments. A history that
// grew on one side fast-forwards the other; one that grew on both is refused
// by push naming the environment ("pull, then retry"), and pull puts this
// machine's runs after the remote's, so the push that follows goes and both
// machines end with every run. Two clones of one bare repository and a folder
// blob remote, the built CLI as a process.
import Ajv2020 from 'ajv/dist/2020';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { onlyJson } from '../support/environments';
import { clearVariablesRefusedBySimpleGit, git, ROOT, sluice } from '../support/workspace';

clearVariablesRefusedBySimpleGit();

const base = mkdtempSync(join(tmpdir(), 'sluice-cli-sync-health-'));
after(() => {
  rmSync(base, { recursive: true, force: true });
});

const ajv = new Ajv2020({ allErrors: true, strict: true });
const SCHEMAS = join(ROOT, 'src/cli/schemas');
for (const file of readdirSync(SCHEMAS).filter((name) => name.endsWith('.schema.json')))
  ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS, file), 'utf8')) as object);

interface SyncRef {
  ref: string;
  kind: string;
  name: string;
  action?: string;
}

function run(root: string, ...args: string[]): Record<string, unknown> {
  const result = sluice([...args, '--json'], root);
  assert.equal(result.status, 0, `sluice ${args.join(' ')}: ${result.stderr}${result.stdout}`);
  const json = onlyJson(result);
  if (['push', 'fetch', 'pull'].includes(args[0]!)) {
    const validate = ajv.getSchema(`https://sluice.dev/schemas/v1/${args[0]!}.json`)!;
    assert.ok(validate(json), `${args[0]!} --json: ${ajv.errorsText(validate.errors)}`);
  }
  return json;
}

function monitorOnce(root: string): void {
  const result = sluice(['monitor', 'staging', '--once'], root);
  assert.equal(result.status, 0, result.stderr);
}

function healthRuns(root: string): string[] {
  const json = run(root, 'health', 'staging', '-n', '100') as { history: { time: string }[] };
  return json.history.map((record) => record.time);
}

void describe('issue 19: remotes carry health histories', () => {
  void test('push and pull carry refs/sluice/health/*, fast-forward only; a diverged one is refused by push until pull', () => {
    const origin = join(base, 'origin.git');
    const blobs = join(base, 'blobs');
    mkdirSync(blobs);
    git(base, 'init', '--quiet', '--bare', '--initial-branch=main', origin);
    const alice = join(base, 'alice');
    assert.equal(sluice(['init', alice, '--example', 'churn'], base).status, 0);
    git(alice, 'config', 'user.name', 'Alice');
    git(alice, 'config', 'user.email', 'alice@sluice.invalid');
    const manifest = join(alice, 'sluice.yaml');
    writeFileSync(
      manifest,
      readFileSync(manifest, 'utf8').replace(
        '    pipeline: train\n',
        '    pipeline: train\n    monitor:\n      every: 30s\n      checks:\n        - name: answers\n          run: "true"\n',
      ),
    );
    assert.equal(sluice(['remote', 'add', 'team', blobs, '--default'], alice).status, 0);
    git(alice, 'commit', '--quiet', '-am', 'Monitor staging; the team remote');
    git(alice, 'remote', 'add', 'origin', origin);
    git(alice, 'push', '--quiet', 'origin', 'HEAD:refs/heads/main');
    run(alice, 'snapshot');
    run(alice, 'stage');
    monitorOnce(alice);

    const pushed = (run(alice, 'push')['refs'] as SyncRef[]).filter((ref) => ref.kind === 'health');
    assert.deepEqual(
      pushed.map(({ ref, name }) => [ref, name]),
      [['refs/sluice/health/staging', 'staging']],
    );

    const bob = join(base, 'bob');
    git(base, 'clone', '--quiet', origin, bob);
    git(bob, 'config', 'user.name', 'Bob');
    git(bob, 'config', 'user.email', 'bob@sluice.invalid');
    const taken = (run(bob, 'pull')['refs'] as SyncRef[]).filter((ref) => ref.kind === 'health');
    assert.deepEqual(
      taken.map(({ name, action }) => [name, action]),
      [['staging', 'created']],
    );
    assert.deepEqual(healthRuns(bob), healthRuns(alice), 'Bob sees the run Alice’s monitor recorded');

    // Alice's monitor runs again and she pushes: Bob's pull fast-forwards.
    monitorOnce(alice);
    run(alice, 'push');
    const forward = (run(bob, 'pull')['refs'] as SyncRef[]).filter((ref) => ref.kind === 'health');
    assert.deepEqual(
      forward.map(({ action }) => action),
      ['fast-forward'],
    );

    // Both record a run: the second push is refused naming the environment, and moves nothing.
    monitorOnce(alice);
    monitorOnce(bob);
    run(alice, 'push');
    const onOrigin = git(origin, 'rev-parse', 'refs/sluice/health/staging');
    const refused = sluice(['push', '--json'], bob);
    assert.equal(refused.status, 1);
    const error = (
      onlyJson(refused) as { error: { code: string; message: string; data: { refs: string[] } } }
    ).error;
    assert.equal(error.code, 'remote-moved');
    assert.deepEqual(error.data.refs, ['refs/sluice/health/staging']);
    assert.match(
      error.message,
      /^Remote team: The health history of environment staging moved on origin since your last pull: pull, then retry\.$/,
    );
    assert.equal(git(origin, 'rev-parse', 'refs/sluice/health/staging'), onOrigin, 'nothing moved');

    // Pull puts Bob's run after Alice's; then his push goes, and Alice's pull has every run.
    const replayed = (run(bob, 'pull')['refs'] as SyncRef[]).filter((ref) => ref.kind === 'health');
    assert.deepEqual(
      replayed.map(({ action }) => action),
      ['replayed'],
    );
    run(bob, 'push');
    run(alice, 'pull');
    const everyRun = healthRuns(alice);
    assert.equal(everyRun.length, 4, JSON.stringify(everyRun));
    assert.deepEqual(everyRun, healthRuns(bob));
    const fsck = sluice(['fsck', '--json'], alice);
    assert.equal(fsck.status, 0, `the replayed history is whole records: ${fsck.stdout}`);
  });
});
