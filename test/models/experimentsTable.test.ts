// The Experiments view's own logic, without VS Code or a browser: columns
// hidden and pinned, rows grouped by commit, sorted (missing values last,
// ties stable), filtered, cells marked against the baseline, the comparison
// of selected rows, the params form's grid, and the messages' checks. The
// tables are generated (random params and metrics, missing values, ties).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ExperimentRow } from '../../src/core/experiments/table';
import { parseFromPage, parseToPage } from '../../src/extension/experiments/messages';
import {
  arrangeColumns,
  cellOf,
  changedFields,
  columnsOf,
  compareRows,
  DEFAULT_SETTINGS,
  formatDelta,
  formFields,
  formProblem,
  gridCombinations,
  groupRows,
  matchesFilter,
  nextSort,
  rowComparator,
  searchTextOf,
  setArguments,
  sortRows,
  toggleHidden,
  togglePinned,
  type ParamField,
} from '../../src/extension/experiments/tableModel';
import { generateTable, metricKey, paramKey } from '../support/experimentTables';

const table = generateTable({ rows: 200, params: 6, metrics: 5, commits: 3, seed: 7, missing: 0.1 });

void describe('Experiments view: columns', () => {
  test('name, time, then every param and metric, in the table order', () => {
    const columns = columnsOf(table);
    assert.deepEqual(
      columns.map((c) => c.key),
      ['name', 'time', ...table.params.map((p) => `param:${p}`), ...table.metrics.map((m) => `metric:${m}`)],
    );
  });

  test('pinned columns come first in pin order; hidden ones are left out, pinned or not', () => {
    const columns = columnsOf(table);
    let settings = togglePinned(DEFAULT_SETTINGS, `metric:${metricKey(2)}`);
    settings = toggleHidden(settings, 'time');
    settings = toggleHidden(settings, `param:${paramKey(1)}`);
    const { pinned, rest } = arrangeColumns(columns, settings);
    assert.deepEqual(
      pinned.map((c) => c.key),
      ['name', `metric:${metricKey(2)}`],
    );
    assert.ok(!rest.some((c) => c.key === 'time' || c.key === `param:${paramKey(1)}`));
    assert.ok(!rest.some((c) => c.key === `metric:${metricKey(2)}`), 'a pinned column shows once');
    assert.equal(pinned.length + rest.length, columns.length - 2);
    // Toggling again undoes.
    const back = toggleHidden(toggleHidden(settings, 'time'), `param:${paramKey(1)}`);
    assert.equal(arrangeColumns(columns, back).rest.length + 2, columns.length);
    assert.deepEqual(togglePinned(settings, 'name').pinned, [`metric:${metricKey(2)}`]);
  });

  test('pinning a hidden column shows nothing for it', () => {
    const settings = toggleHidden(togglePinned(DEFAULT_SETTINGS, 'time'), 'time');
    assert.deepEqual(
      arrangeColumns(columnsOf(table), settings).pinned.map((c) => c.key),
      ['name'],
    );
  });
});

void describe('Experiments view: groups and sort', () => {
  test('without a sort, groups follow their first row and rows keep the table order', () => {
    const groups = groupRows(table.experiments, null);
    assert.equal(groups.length, 3);
    assert.deepEqual(
      groups.flatMap((g) => g.rows.map((r) => r.id)),
      table.experiments.map((r) => r.id),
    );
    for (const group of groups) {
      assert.equal(group.label, group.commit!.slice(0, 7));
      assert.ok(group.rows.every((row) => row.commit === group.commit));
    }
  });

  test('rows without a commit form one group', () => {
    const rows = table.experiments
      .slice(0, 4)
      .map((row, i) => (i % 2 === 0 ? { ...row, commit: null } : row));
    const groups = groupRows(rows, null);
    const none = groups.find((group) => group.commit === null);
    assert.ok(none, 'a group without a commit');
    assert.equal(none.label, 'no commit');
    assert.equal(none.rows.length, 2);
  });

  test('a metric sorts ascending then descending, missing values last both ways, ties in table order', () => {
    const key = `metric:${metricKey(0)}`;
    const field = metricKey(0);
    for (const direction of ['asc', 'desc'] as const) {
      const sorted = sortRows(table.experiments, { column: key, direction });
      const values = sorted.map((row) => row.metrics[field]);
      const present = values.filter((v): v is number => v !== undefined);
      assert.ok(present.length < values.length, 'the generated table has missing values');
      assert.ok(
        values.slice(present.length).every((v) => v === undefined),
        'missing values go last',
      );
      for (let i = 1; i < present.length; i++) {
        assert.ok(direction === 'asc' ? present[i - 1]! <= present[i]! : present[i - 1]! >= present[i]!);
      }
      // Ties (0.5 is common in the generated metrics) keep the table's order.
      const tied = sorted.filter((row) => row.metrics[field] === 0.5).map((row) => row.id);
      const inTable = table.experiments.filter((row) => row.metrics[field] === 0.5).map((row) => row.id);
      assert.ok(tied.length > 1, 'the generated table has ties');
      assert.deepEqual(tied, inTable);
    }
  });

  test('a sort orders rows inside each group and the groups by their top row', () => {
    const sort = { column: `metric:${metricKey(1)}`, direction: 'desc' as const };
    const groups = groupRows(table.experiments, sort);
    const compare = rowComparator(sort);
    for (const group of groups)
      for (let i = 1; i < group.rows.length; i++) assert.ok(compare(group.rows[i - 1]!, group.rows[i]!) <= 0);
    for (let i = 1; i < groups.length; i++)
      assert.ok(compare(groups[i - 1]!.rows[0]!, groups[i]!.rows[0]!) <= 0);
  });

  test('text params sort naturally and after numbers; names sort as people read them', () => {
    const rows = ['exp-10', 'exp-2', 'exp-1'].map((name, i) => ({ ...table.experiments[i]!, name }));
    assert.deepEqual(
      sortRows(rows, { column: 'name', direction: 'asc' }).map((r) => r.name),
      ['exp-1', 'exp-2', 'exp-10'],
    );
    const mixed = [
      { ...rows[0]!, params: { p: 'b' } },
      { ...rows[1]!, params: { p: 3 } },
      { ...rows[2]!, params: { p: 'a' } },
    ];
    assert.deepEqual(
      sortRows(mixed, { column: 'param:p', direction: 'asc' }).map((r) => r.params['p']),
      [3, 'a', 'b'],
    );
  });

  test('time sorts by the instant; a header click cycles asc, desc, none', () => {
    const sorted = sortRows(table.experiments, { column: 'time', direction: 'asc' });
    assert.equal(sorted[0]!.id, table.experiments.at(-1)!.id);
    assert.deepEqual(nextSort(null, 'time'), { column: 'time', direction: 'asc' });
    assert.deepEqual(nextSort({ column: 'time', direction: 'asc' }, 'time'), {
      column: 'time',
      direction: 'desc',
    });
    assert.equal(nextSort({ column: 'time', direction: 'desc' }, 'time'), null);
    assert.deepEqual(nextSort({ column: 'time', direction: 'desc' }, 'name'), {
      column: 'name',
      direction: 'asc',
    });
  });

  test('sorting 1,000 rows by a metric takes well under the page budget', () => {
    const big = generateTable({ rows: 1000, params: 30, metrics: 30, seed: 3 });
    const started = performance.now();
    groupRows(big.experiments, { column: `metric:${metricKey(5)}`, direction: 'desc' });
    assert.ok(performance.now() - started < 50, 'grouping and sorting 1,000 rows takes under 50 ms');
  });
});

void describe('Experiments view: filter', () => {
  const settings = { filter: '', onlySucceeded: false };
  const passing = (filter: string, onlySucceeded = false): ExperimentRow[] =>
    table.experiments.filter((row) => matchesFilter(row, searchTextOf(row), { filter, onlySucceeded }));

  test('an empty filter lets every row through; "only succeeded" drops the failed ones', () => {
    assert.equal(passing('').length, table.experiments.length);
    const succeeded = passing('', true);
    assert.ok(succeeded.length < table.experiments.length);
    assert.ok(succeeded.every((row) => row.succeeded));
    assert.ok(matchesFilter(table.experiments[0]!, searchTextOf(table.experiments[0]!), settings));
  });

  test('matches names, params as key=value and metrics as key=value, case-insensitively; every word must match', () => {
    assert.deepEqual(
      passing('EXP-17').map((r) => r.name),
      table.experiments.filter((r) => r.name.startsWith('exp-17')).map((r) => r.name),
    );
    const key = paramKey(2);
    const withOpt = passing(`${key}=opt-1`);
    assert.ok(withOpt.length > 0);
    assert.ok(withOpt.every((row) => row.params[key] === 'opt-1'));
    const both = passing(`${key}=opt-1 ${metricKey(0)}=0.5`);
    // Words match as substrings: "=0.5" also finds 0.5123, as a text filter does.
    assert.ok(both.length > 0);
    assert.ok(
      both.every((row) => row.params[key] === 'opt-1' && String(row.metrics[metricKey(0)]).startsWith('0.5')),
    );
    assert.ok(passing('staging').some((row) => row.environments.includes('staging')));
    assert.equal(passing('no-such-thing').length, 0);
  });
});

void describe('Experiments view: cells against the baseline', () => {
  const columns = columnsOf(table);
  const baselineId = table.baseline.id;
  const baseline = table.experiments[0]!;

  test('a param in changedParams is marked; the baseline row is never marked', () => {
    const row = table.experiments.find((r) => r.changedParams.length > 0 && r.id !== baselineId)!;
    const key = row.changedParams[0]!;
    const column = columns.find((c) => c.key === `param:${key}`)!;
    assert.equal(cellOf(row, column, baselineId).changed, true);
    const same = columns.find(
      (c) => c.kind === 'param' && !row.changedParams.includes(c.field) && c.field in row.params,
    );
    if (same !== undefined) assert.equal(cellOf(row, same, baselineId).changed, false);
    for (const c of columns) assert.equal(cellOf(baseline, c, baselineId).changed, false);
  });

  test('a metric shows its delta with a sign and a direction; none where either side lacks it', () => {
    const column = columns.find((c) => c.key === `metric:${metricKey(0)}`)!;
    let up = 0;
    let down = 0;
    for (const row of table.experiments.slice(1)) {
      const cell = cellOf(row, column, baselineId);
      const delta = row.deltas[column.field];
      if (delta === null || delta === undefined) {
        assert.equal(cell.delta, undefined);
        continue;
      }
      assert.equal(cell.delta?.direction, delta > 0 ? 'up' : delta < 0 ? 'down' : 'same');
      if (delta > 0) {
        up++;
        assert.match(cell.delta.text, /^\+/);
      }
      if (delta < 0) {
        down++;
        assert.match(cell.delta.text, /^-/);
      }
    }
    assert.ok(up > 0 && down > 0);
    assert.equal(cellOf(baseline, column, baselineId).delta, undefined);
    assert.equal(formatDelta(0), '±0');
    assert.equal(formatDelta(0.02), '+0.02');
    assert.equal(formatDelta(-1.5), '-1.5');
  });

  test('a missing value is an empty cell; a structured param is shown as JSON', () => {
    const row = table.experiments.find((r) => Object.keys(r.params).length < table.params.length)!;
    const key = table.params.find((p) => !(p in row.params))!;
    assert.deepEqual(
      cellOf(
        row,
        columns.find((c) => c.field === key)!,
        baselineId,
      ),
      { text: '', changed: false },
    );
    const structured = { ...row, params: { layers: [64, 32] } };
    assert.equal(
      cellOf(structured, { key: 'param:layers', kind: 'param', field: 'layers', label: 'layers' }, null).text,
      '[64,32]',
    );
  });
});

void describe('Experiments view: compare and the params form', () => {
  test('compare lists every param and metric some selected row has, marking those that differ', () => {
    const rows = table.experiments.slice(0, 3);
    const fields = compareRows(rows, table);
    for (const field of fields) {
      assert.equal(field.values.length, 3);
      assert.equal(field.differs, new Set(field.values).size > 1);
    }
    assert.ok(fields.some((f) => f.differs));
    const same = compareRows([rows[0]!, rows[0]!], table);
    assert.ok(same.every((f) => !f.differs));
  });

  /** Fields as [what the params file has, what the user typed]. */
  const fields = (values: Record<string, [string, string]>): ParamField[] =>
    Object.entries(values).map(([key, [file, value]]) => ({ key, file, initial: file, value }));

  test("the form holds every param of the params file, with the baseline's value where it has one", () => {
    const file = { 'train.lr': 0.1, 'train.epochs': 5, 'train.layers': [64, 32] };
    const baseline = { params: { 'train.lr': 0.01, 'old.param': 3 } };
    assert.deepEqual(formFields(file, baseline), [
      { key: 'train.epochs', file: '5', initial: '5', value: '5' },
      { key: 'train.layers', file: '[64,32]', initial: '[64,32]', value: '[64,32]' },
      { key: 'train.lr', file: '0.1', initial: '0.01', value: '0.01' },
    ]);
    // Sent as it is, the baseline's value differs from the file's: the run reproduces the baseline.
    assert.deepEqual(setArguments(formFields(file, baseline), false), ['train.lr=0.01']);
    assert.deepEqual(setArguments(formFields(file, undefined), false), []);
  });

  test('the grid runs each combination of the changed fields; unchanged fields are not set', () => {
    const form = fields({
      'train.lr': ['0.1', '0.1, 0.01,0.001'],
      'train.epochs': ['5', '5,10'],
      seed: ['1', '1'],
    });
    assert.equal(gridCombinations(form), 6);
    assert.deepEqual(
      changedFields(form).map((f) => f.key),
      ['train.lr', 'train.epochs'],
    );
    assert.deepEqual(setArguments(form, true), ['train.lr=0.1,0.01,0.001', 'train.epochs=5,10']);
    assert.equal(formProblem(form, true), undefined);
    assert.equal(gridCombinations(fields({ a: ['1', '1'] })), 1);
    assert.equal(gridCombinations(fields({ a: ['1', '2,,3,'] })), 2, 'blank values are dropped');
  });

  test('one run takes one value per field; a comma there, an emptied field or a grid of nothing is refused', () => {
    assert.deepEqual(setArguments(fields({ 'train.lr': ['0.1', ' 0.2 '] }), false), ['train.lr=0.2']);
    assert.match(formProblem(fields({ a: ['1', '1,2'] }), false)!, /Queue a Grid/);
    assert.match(formProblem(fields({ a: ['1', ''] }), false)!, /needs a value/);
    assert.match(formProblem(fields({ a: ['1', ' , '] }), true)!, /needs a value/);
    assert.match(formProblem(fields({ a: ['1', '1'] }), true)!, /at least one param/);
    assert.equal(formProblem(fields({ a: ['1', '1'] }), false), undefined, 'a plain re-run is allowed');
  });
});

void describe('Experiments view: messages', () => {
  test('the extension takes well-formed page messages only', () => {
    assert.deepEqual(parseFromPage({ type: 'ready' }), { type: 'ready' });
    assert.deepEqual(parseFromPage({ type: 'run', set: ['train.lr=0.1,0.2'], jobs: 2, name: ' grid ' }), {
      type: 'run',
      set: ['train.lr=0.1,0.2'],
      jobs: 2,
      name: 'grid',
    });
    assert.deepEqual(parseFromPage({ type: 'run', set: [] }), { type: 'run', set: [] });
    assert.deepEqual(parseFromPage({ type: 'plot', ids: ['a', 'b'] }), { type: 'plot', ids: ['a', 'b'] });
    for (const bad of [
      null,
      'ready',
      { type: 'run', set: ['no-equals'] },
      { type: 'run', set: ['=1'] },
      { type: 'run', set: ['a=1'], jobs: 0 },
      { type: 'run', set: ['a=1'], jobs: 1.5 },
      { type: 'run', set: ['a=1'], name: 3 },
      { type: 'apply', id: '' },
      { type: 'remove', ids: [] },
      { type: 'remove', ids: [1] },
      { type: 'baseline' },
      { type: 'shell', command: 'rm -rf /' },
    ])
      assert.equal(parseFromPage(bad), undefined, JSON.stringify(bad));
  });

  test('the page takes well-formed extension messages only', () => {
    const capabilities = { canRun: true, whyNot: null };
    const shown = {
      type: 'table',
      table,
      environments: ['staging'],
      paramsFile: { 'train.lr': 0.1 },
      capabilities,
    };
    assert.equal(parseToPage(shown)?.type, 'table');
    assert.equal(parseToPage({ ...shown, paramsFile: null })?.type, 'table');
    for (const bad of [
      { ...shown, table: { ...table, experiments: [1] } },
      { ...shown, capabilities: {} },
      { ...shown, paramsFile: undefined },
      { ...shown, environments: [3] },
    ])
      assert.equal(parseToPage(bad), undefined);
    assert.equal(parseToPage({ type: 'unavailable', reason: 'why', capabilities })?.type, 'unavailable');
    assert.deepEqual(parseToPage({ type: 'compare', ids: ['a'] }), { type: 'compare', ids: ['a'] });
    assert.equal(parseToPage({ type: 'other' }), undefined);
  });
});
