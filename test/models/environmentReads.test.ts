// The Environments view's reads are kept while nothing they were read from
// moved (src/extension/environments/environments.ts): on a real repository,
// whatever a terminal does between two reads (promote, roll back, a monitor
// run, a commit, `git pack-refs`, a manifest edit, nothing), the kept read
// equals a fresh one, and a read with nothing moved runs no git.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { seededRandom } from '../../src/core/seededRandom';
import { EnvironmentReads, loadFolderEnvironments } from '../../src/extension/environments/environments';
import type { FolderEnvironments } from '../../src/extension/environments/model';
import { discoverFolder, type FolderState } from '../../src/extension/folders';
import { commitEverything, environmentWorkspace } from '../support/environments';
import { git, removeTree, sluice } from '../support/workspace';

const MANIFEST = `version: 1
pipelines:
  p:
    stages:
      build:
        run: cat v.txt > out.txt
        deps: [v.txt]
        outs: [out.txt]
environments:
  staging:
    from: workspace
    monitor:
      every: 1h
      checks:
        - name: up
          run: test -f v.txt
  production:
    from: staging
`;

/** What the view shows of a read: the state object aside (a new one each discovery). */
function shown(read: FolderEnvironments): unknown {
  return { head: read.head, environments: read.environments };
}

async function ready(root: string): Promise<FolderState> {
  const state = await discoverFolder(root, { trusted: true });
  assert.equal(state.kind, 'ready', `${root}: ${state.kind}`);
  return state;
}

function cli(root: string, ...args: string[]): void {
  const result = sluice(args, root);
  assert.equal(result.status, 0, `sluice ${args.join(' ')}: ${result.stderr}`);
}

/** A workspace with one release staged, removed when the test ends. */
function stagedWorkspace(t: TestContext): string {
  const root = environmentWorkspace(MANIFEST, { 'v.txt': 'one\n' }, 'sluice-envreads-');
  t.after(() => {
    removeTree(root);
  });
  writeFileSync(join(root, '.gitignore'), '.sluice/\ndeploy/\nout.txt\n');
  commitEverything(root, 'ignore');
  cli(root, 'stage');
  return root;
}

void describe('the Environments view keeps a read while its refs stay', () => {
  void test('a kept read equals a fresh one, whatever happened between', async (t) => {
    const root = stagedWorkspace(t);
    const reads = new EnvironmentReads();
    const random = seededRandom(1919);
    const steps: string[] = [];
    let version = 1;
    for (let step = 0; step < 14; step++) {
      const roll = random();
      if (roll < 0.2) {
        writeFileSync(join(root, 'v.txt'), `v${++version}\n`);
        commitEverything(root, `v${version}`);
        cli(root, 'stage');
        steps.push('commit and stage');
      } else if (roll < 0.35) {
        const promoted = sluice(['promote', '--to', 'production', '--yes'], root);
        steps.push(`promote (${promoted.status})`);
      } else if (roll < 0.5) {
        const rolledBack = sluice(['rollback', 'staging', '--yes'], root);
        steps.push(`rollback (${rolledBack.status})`);
      } else if (roll < 0.65) {
        cli(root, 'monitor', 'staging', '--once');
        steps.push('monitor run');
      } else if (roll < 0.75) {
        git(root, 'pack-refs', '--all');
        steps.push('pack-refs');
      } else if (roll < 0.85) {
        git(root, 'commit', '--quiet', '--allow-empty', '-m', 'empty');
        steps.push('commit');
      } else {
        steps.push('nothing');
      }
      const kept = await reads.load(await ready(root));
      const fresh = await loadFolderEnvironments(await ready(root));
      assert.deepEqual(shown(kept), shown(fresh), `after ${steps.join(', ')}`);
    }
    // A manifest edit is another model: read again (here: an environment more).
    writeFileSync(join(root, 'sluice.yaml'), `${MANIFEST}  qa:\n    from: staging\n`);
    const edited = await reads.load(await ready(root));
    assert.deepEqual(
      edited.environments.map((environment) => environment.name),
      ['staging', 'production', 'qa'],
    );
  });

  void test('with nothing moved, a read runs no git; a ref that moves is read', async (t) => {
    const root = stagedWorkspace(t);
    const reads = new EnvironmentReads();
    const first = await reads.load(await ready(root));
    // git gone from PATH: a read that needed it would fail, a kept one does not notice.
    const path = process.env['PATH'];
    process.env['PATH'] = '';
    try {
      const again = await reads.load(await ready(root));
      assert.deepEqual(shown(again), shown(first));
    } finally {
      process.env['PATH'] = path;
    }
    cli(root, 'monitor', 'staging', '--once');
    const after = await reads.load(await ready(root));
    const health = after.environments.find((environment) => environment.name === 'staging')?.health;
    assert.equal(health?.kind, 'read', 'the monitor run is read');
    assert.notDeepEqual(shown(after), shown(first));
  });
});
