// `sluice status` on datasets (issue 12, item 3): a fresh clone has neither the
// data (git-ignored) nor the snapshot refs, and used to call every dataset
// "changed". Each dataset now has a state, `missing`, `no-snapshot`,
// `changed` or `unchanged`, in the text and in --json (beside the contract's
// `changed` boolean, kept).
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  clearVariablesRefusedBySimpleGit,
  createWorkspace,
  git,
  removeTree,
  sluice,
  sluiceJson,
} from '../support/workspace';

clearVariablesRefusedBySimpleGit();

interface StatusJson {
  datasets: { name: string; state: string; changed: boolean; snapshot: string | null }[];
}

const roots: string[] = [];
after(() => {
  roots.forEach(removeTree);
});

/** `same` and `edited` snapshotted (then `edited` changed), `fresh` on disk only, `absent` nowhere. */
function workspace(): string {
  const root = createWorkspace({
    same: 'data/same',
    edited: 'data/edited.csv',
    fresh: 'data/fresh',
    absent: 'data/absent',
  });
  roots.push(root);
  mkdirSync(join(root, 'data/same'), { recursive: true });
  writeFileSync(join(root, 'data/same/a.csv'), 'a\n');
  writeFileSync(join(root, 'data/edited.csv'), 'one\n');
  git(root, 'add', '-A');
  git(root, 'commit', '--quiet', '-m', 'init');
  sluiceJson(['snapshot', 'same', 'edited'], root);
  writeFileSync(join(root, 'data/edited.csv'), 'two\n');
  mkdirSync(join(root, 'data/fresh'), { recursive: true });
  writeFileSync(join(root, 'data/fresh/f.csv'), 'f\n');
  return root;
}

function statesOf(root: string): Record<string, [string, boolean, boolean]> {
  const status = sluiceJson(['status'], root) as StatusJson;
  return Object.fromEntries(
    status.datasets.map((d) => [d.name, [d.state, d.changed, d.snapshot !== null]] as const),
  );
}

describe('status of datasets', () => {
  test('each dataset says whether it is missing, has no snapshot, changed or not', () => {
    const root = workspace();
    assert.deepEqual(statesOf(root), {
      same: ['unchanged', false, true],
      edited: ['changed', true, true],
      fresh: ['no-snapshot', true, false],
      absent: ['missing', true, false],
    });
    const lines = sluice(['status'], root).stdout.split('\n');
    assert.ok(lines.includes('  unchanged   same'), lines.join('\n'));
    assert.ok(lines.includes('  changed     edited'), lines.join('\n'));
    assert.ok(lines.some((line) => /^ {2}no-snapshot fresh: no snapshot yet/.test(line)));
    assert.ok(lines.some((line) => /^ {2}missing {5}absent: not on disk, and no snapshot yet/.test(line)));

    rmSync(join(root, 'data/same'), { recursive: true });
    assert.deepEqual(statesOf(root)['same'], ['missing', true, true], 'deleted after its snapshot');
    assert.ok(
      sluice(['status'], root).stdout.includes('missing     same: not on disk (latest snapshot'),
      'says a restore brings it back',
    );
  });

  test('a fresh clone: every dataset is missing, none is "changed"', () => {
    const root = workspace();
    const clone = `${root}-clone`;
    roots.push(clone);
    git(root, 'clone', '--quiet', root, clone);
    assert.deepEqual(statesOf(clone), {
      same: ['missing', true, false],
      edited: ['missing', true, false],
      fresh: ['missing', true, false],
      absent: ['missing', true, false],
    });
    const text = sluice(['status'], clone);
    assert.equal(text.status, 0, text.stderr);
    assert.doesNotMatch(text.stdout, /^ {2}changed/m);
  });
});
