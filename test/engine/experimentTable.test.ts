// The experiments table on generated records: whatever the params, metrics,
// commits and overrides, the baseline is the newest run at HEAD without
// overrides, every delta is the row's value minus the baseline's, the
// changed params are exactly those that differ, and a sort puts values in
// order with rows lacking the value last, ties newest first.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { experimentRef, writeExperiment, type ExperimentContent } from '../../src/core/experiments/records';
import { showExperiments } from '../../src/core/experiments/show';
import { seededRandom } from '../../src/core/seededRandom';
import { openWorkspace } from '../../src/core/workspace';
import { createWorkspace, git, removeTree } from '../support/workspace';

type Random = () => number;

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function record(random: Random, index: number, commits: readonly string[]): ExperimentContent {
  const params: Record<string, unknown> = {};
  for (const key of ['train.lr', 'train.epochs', 'model.kind', 'model.depth'])
    if (random() < 0.9)
      params[key] = key === 'model.kind' ? pick(random, ['tree', 'linear']) : pick(random, [0.1, 0.3, 1, 2]);
  const metrics: Record<string, number> = {};
  for (const key of ['m.json#accuracy', 'm.json#loss', 'eval.json#f1'])
    if (random() < 0.8) metrics[key] = pick(random, [0.5, 0.75, 0.9, 0.9, 1]);
  const overrides = random() < 0.5 ? { 'train.lr': params['train.lr'] ?? null } : {};
  return {
    format: 'sluice-experiment 1',
    name: `exp-${index}`,
    origin: pick(random, ['workspace', 'queue'] as const),
    time: new Date(Date.UTC(2026, 0, 1) + index * 1000).toISOString(),
    actor: 'Test <t@sluice.invalid>',
    code: { commit: pick(random, commits), dirty: random() < 0.2, changes: null },
    snapshots: {},
    params,
    overrides,
    metrics,
    stages: [],
    signatures: {},
    outputs: [],
    release: null,
    from: null,
  };
}

void describe('the experiments table', () => {
  void test('baseline, deltas, changed params and sorts hold on generated records', async (t) => {
    const root = createWorkspace({ events: 'data/events' });
    t.after(() => {
      removeTree(root);
    });
    git(root, 'add', '--all');
    git(root, 'commit', '--quiet', '-m', 'one');
    const first = git(root, 'rev-parse', 'HEAD');
    git(root, 'commit', '--quiet', '--allow-empty', '-m', 'two');
    const head = git(root, 'rev-parse', 'HEAD');
    const workspace = await openWorkspace(root);
    const random = seededRandom(15);
    const contents: ExperimentContent[] = [];
    for (let index = 0; index < 40; index++) {
      const content = record(random, index, [first, head]);
      contents.push(content);
      await writeExperiment(workspace.git, content);
    }
    const table = await showExperiments(workspace);
    assert.equal(table.experiments.length, 40);
    // The baseline, told from the records themselves.
    const newest = [...contents].reverse();
    const expected =
      newest.find(
        (content) =>
          content.code.commit === head && Object.keys(content.overrides).length === 0 && !content.code.dirty,
      ) ?? newest.find((content) => content.code.commit === head);
    const baseline = table.experiments.find((row) => row.id === table.baseline.id);
    assert.equal(baseline?.name, expected?.name);
    for (const row of table.experiments) {
      for (const [key, value] of Object.entries(row.metrics)) {
        const base = baseline!.metrics[key];
        assert.equal(row.deltas[key], base === undefined ? null : value - base, `${row.name} ${key}`);
      }
      const differing = [...new Set([...Object.keys(row.params), ...Object.keys(baseline!.params)])]
        .filter((key) => JSON.stringify(row.params[key]) !== JSON.stringify(baseline!.params[key]))
        .sort();
      assert.deepEqual(row.changedParams, differing, row.name);
    }
    for (const column of [...table.metrics, ...table.params]) {
      for (const descending of [false, true]) {
        const sorted = await showExperiments(workspace, { sort: `${descending ? '-' : ''}${column}` });
        const valueOf = (row: (typeof sorted.experiments)[number]): unknown =>
          column in row.metrics ? row.metrics[column] : row.params[column];
        const values = sorted.experiments.map(valueOf);
        const present = values.filter((value) => value !== undefined && value !== null);
        assert.deepEqual(
          values.slice(0, present.length),
          present,
          `${column}: rows lacking the value come last`,
        );
        for (let i = 1; i < present.length; i++) {
          const [a, b] = [present[i - 1], present[i]];
          // Numbers by value, text by code units: what the engine promises.
          const order =
            typeof a === 'number' && typeof b === 'number'
              ? a - b
              : (a as string) < (b as string)
                ? -1
                : (a as string) > (b as string)
                  ? 1
                  : 0;
          assert.ok(descending ? order >= 0 : order <= 0, `${column} ${descending ? 'desc' : 'asc'} at ${i}`);
        }
        // Ties keep the table's own order (newest first).
        const rank = new Map(table.experiments.map((row, index) => [row.id, index]));
        for (let i = 1; i < sorted.experiments.length; i++) {
          const [a, b] = [sorted.experiments[i - 1]!, sorted.experiments[i]!];
          if (JSON.stringify(valueOf(a)) === JSON.stringify(valueOf(b)))
            assert.ok(rank.get(a.id)! < rank.get(b.id)!, `${column}: a tie keeps newest first`);
        }
      }
    }
  });
  void test('the table read through the record cache is the table read from git, whatever happens between', async (t) => {
    const root = createWorkspace({ events: 'data/events' });
    t.after(() => {
      removeTree(root);
    });
    git(root, 'add', '--all');
    git(root, 'commit', '--quiet', '-m', 'one');
    const head = git(root, 'rev-parse', 'HEAD');
    const workspace = await openWorkspace(root);
    const cacheFile = join(workspace.sluiceDir, 'state', 'experiment-records.json');
    const random = seededRandom(1515);
    const ids: string[] = [];
    const steps: string[] = [];
    for (let step = 0; step < 60; step++) {
      const roll = random();
      if (roll < 0.45 || ids.length < 2) {
        ids.push((await writeExperiment(workspace.git, record(random, step, [head]))).id);
        steps.push('add');
      } else if (roll < 0.6) {
        const [removed] = ids.splice(Math.floor(random() * ids.length), 1);
        git(root, 'update-ref', '-d', experimentRef(removed!));
        steps.push('remove');
      } else if (roll < 0.7) {
        // A ref moved to another record's commit (by hand, or a fetch): the row is that commit's record.
        const [from, to] = [pick(random, ids), pick(random, ids)];
        git(root, 'update-ref', experimentRef(from), git(root, 'rev-parse', experimentRef(to)));
        steps.push('repoint');
      } else if (roll < 0.8) {
        // A ref at a commit that holds no record: no row, from the cache or not.
        const tree = git(root, 'rev-parse', 'HEAD^{tree}');
        const damaged = pick(random, ids);
        git(root, 'update-ref', experimentRef(damaged), git(root, 'commit-tree', tree, '-m', 'not a record'));
        steps.push('damage');
      } else if (roll < 0.9) {
        writeFileSync(
          cacheFile,
          pick(random, ['', '{', '{"format":1}', '{"format":99,"experiments":[]}', 'null']),
        );
        steps.push('garble the cache');
      } else {
        steps.push('show twice');
        await showExperiments(workspace);
      }
      const cached = await showExperiments(workspace);
      rmSync(cacheFile, { force: true });
      const fromGit = await showExperiments(workspace);
      assert.deepEqual(cached, fromGit, `after ${steps.join(', ')}`);
    }
  });
});
