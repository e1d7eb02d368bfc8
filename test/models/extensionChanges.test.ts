// What a command says it changed, turned into what a folder reads again:
// scopes merge (two dataset changes read both datasets, anything with a
// whole-folder change reads the folder), and each kind of change names only its part.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mergeScopes, scopeOf, WHOLE_FOLDER, type FolderScope } from '../../src/extension/changes';

const ROOT = '/work/project';

function plain(scope: FolderScope): unknown {
  return { ...scope, datasets: [...scope.datasets].sort() };
}

describe('change scopes', () => {
  test('a snapshot of one dataset reads that dataset, and neither environments nor the folder', () => {
    assert.deepEqual(plain(scopeOf({ kind: 'datasets', root: ROOT, names: ['users'] })), {
      whole: false,
      datasets: ['users'],
      environments: false,
      pipelines: false,
      jobs: false,
    });
  });

  test('a promotion reads environments only; a run reads pipelines and their Slurm jobs only', () => {
    assert.deepEqual(plain(scopeOf({ kind: 'environments', root: ROOT })), {
      whole: false,
      datasets: [],
      environments: true,
      pipelines: false,
      jobs: false,
    });
    assert.deepEqual(plain(scopeOf({ kind: 'pipelines', root: ROOT })), {
      whole: false,
      datasets: [],
      environments: false,
      pipelines: true,
      jobs: true,
    });
  });

  test('changes waiting for the same folder add up', () => {
    const users = scopeOf({ kind: 'datasets', root: ROOT, names: ['users'] });
    const events = scopeOf({ kind: 'datasets', root: ROOT, names: ['events'] });
    const promoted = scopeOf({ kind: 'environments', root: ROOT });
    assert.deepEqual(plain(mergeScopes(mergeScopes(users, events), promoted)), {
      whole: false,
      datasets: ['events', 'users'],
      environments: true,
      pipelines: false,
      jobs: false,
    });
    assert.deepEqual(plain(mergeScopes(undefined, users)), plain(users));
  });

  test('a manifest or repository change reads the whole folder, whatever else waits', () => {
    const users = scopeOf({ kind: 'datasets', root: ROOT, names: ['users'] });
    assert.equal(scopeOf({ kind: 'folder', root: ROOT }), WHOLE_FOLDER);
    assert.equal(mergeScopes(users, WHOLE_FOLDER), WHOLE_FOLDER);
    assert.equal(mergeScopes(WHOLE_FOLDER, users), WHOLE_FOLDER);
  });
});
