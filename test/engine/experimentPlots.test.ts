// The Plots view's plots of the experiments table, on generated tables: one
// trend per metric with a point per selected run in time order, param/metric
// scatters only for numeric params that vary, capped, choosable; a run that
// lacks a value is a "not in this run" entry in its place, never a missing
// source; labels unique and shared by every plot of the document.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ExperimentRow, ExperimentTable } from '../../src/core/experiments/table';
import type { PlotSourceData, PlotView } from '../../src/core/plots/document';
import {
  experimentPlots,
  MAX_SCATTER_PLOTS,
  MAX_TREND_PLOTS,
  selectExperiments,
  TREND_X_FIELD,
} from '../../src/core/plots/experimentPlots';
import { shortId } from '../../src/core/format';
import { seededRandom } from '../../src/core/seededRandom';

interface Shape {
  readonly rows: number;
  /** Numeric params p00…; every third is text instead. */
  readonly params: number;
  readonly metrics: number;
  readonly seed?: number;
  /** The share of metric values a run did not write. */
  readonly missing?: number;
}

const START = Date.parse('2026-12-01T00:00:00Z');
const param = (index: number): string => `train.p${String(index).padStart(2, '0')}`;
const metric = (index: number): string => `metrics.json#m${String(index).padStart(2, '0')}`;

function row(index: number, fields: Partial<ExperimentRow>): ExperimentRow {
  return {
    // Ids that differ in their first characters, as digests do.
    id: ((((index + 1) * 2654435761) % 2 ** 32) >>> 0).toString(16).padStart(8, '0').repeat(8),
    name: `exp-${String(index + 1)}`,
    origin: 'queue',
    // Newest first, as the engine lists them.
    time: new Date(START - index * 60_000).toISOString(),
    actor: 'tester',
    commit: 'ab'.repeat(20),
    dirty: false,
    release: null,
    environments: [],
    params: {},
    overrides: {},
    metrics: {},
    deltas: {},
    changedParams: [],
    succeeded: true,
    stages: [],
    from: null,
    ...fields,
  };
}

function generate(shape: Shape): ExperimentTable {
  const random = seededRandom(shape.seed ?? 7);
  const params = Array.from({ length: shape.params }, (_, i) => param(i));
  const metrics = Array.from({ length: shape.metrics }, (_, i) => metric(i));
  const experiments = Array.from({ length: shape.rows }, (_, r) => {
    const paramValues: Record<string, unknown> = {};
    params.forEach((key, i) => {
      paramValues[key] = i % 3 === 2 ? `opt-${String(r % 2)}` : Math.floor(random() * 4) / 10;
    });
    const metricValues: Record<string, number> = {};
    for (const key of metrics)
      if (random() >= (shape.missing ?? 0)) metricValues[key] = Math.round(random() * 10_000) / 10_000;
    return row(r, { params: paramValues, metrics: metricValues });
  });
  return {
    baseline: { kind: 'commit', name: 'HEAD', id: experiments[0]?.id ?? null },
    params,
    metrics,
    experiments,
    queue: [],
  };
}

const ids = (table: ExperimentTable, ...indexes: number[]): string[] =>
  indexes.map((index) => table.experiments[index]!.id);

function pointOf(source: PlotSourceData): Readonly<Record<string, unknown>> {
  assert.equal(source.kind, 'rows', `${source.label} is drawn`);
  assert.equal(source.rows.length, 1, 'one point per run');
  return source.rows[0]!;
}

const trends = (plots: readonly PlotView[]) => plots.filter((plot) => plot.derived?.kind === 'trend');
const scatters = (plots: readonly PlotView[]) =>
  plots.filter((plot) => plot.derived?.kind === 'param-metric');

void describe('experimentPlots', () => {
  void test('a trend per metric: one point per run, oldest first, labelled by name, on a category axis', () => {
    const table = generate({ rows: 10, params: 2, metrics: 3 });
    const plots = experimentPlots(table, ids(table, 0, 4, 2));
    const drawn = trends(plots);
    assert.equal(drawn.length, 3);
    for (const plot of drawn) {
      assert.equal(plot.template, 'line');
      assert.equal(plot.fields.x, TREND_X_FIELD);
      assert.deepEqual(
        plot.sources.map((source) => source.label),
        ['exp-5', 'exp-3', 'exp-1'],
        'the order of time, whatever the order asked',
      );
      const key = plot.fields.y[0]!;
      assert.equal(plot.derived?.kind === 'trend' && plot.derived.metric, key);
      plot.sources.forEach((source, at) => {
        const point = pointOf(source);
        assert.equal(point[TREND_X_FIELD], source.label);
        assert.equal(point[key], table.experiments[[4, 2, 0][at]!]!.metrics[key]);
      });
    }
    assert.equal(new Set(plots.map((plot) => plot.id)).size, plots.length, 'ids are unique');
  });

  void test('scatters only for numeric params that vary among the selected, each against each metric that varies', () => {
    const table: ExperimentTable = {
      ...generate({ rows: 0, params: 0, metrics: 0 }),
      experiments: [
        row(0, {
          params: { 'train.lr': 0.3, 'train.epochs': 10, 'train.kind': 'a' },
          metrics: { 'm.json#acc': 0.9, 'm.json#users': 100 },
        }),
        row(1, {
          params: { 'train.lr': 0.1, 'train.epochs': 10, 'train.kind': 'b' },
          metrics: { 'm.json#acc': 0.8, 'm.json#users': 100 },
        }),
      ],
    };
    const plots = experimentPlots(
      table,
      table.experiments.map((r) => r.id),
    );
    assert.deepEqual(
      trends(plots).map((plot) => plot.title),
      ['m.json#acc', 'm.json#users'],
      'metrics that vary first; a flat one still has its trend',
    );
    const pairs = scatters(plots).map((plot) => [plot.fields.x, plot.fields.y[0]]);
    assert.deepEqual(
      pairs,
      [['train.lr', 'm.json#acc']],
      'text params, constant params and flat metrics are left out',
    );
    const scatter = scatters(plots)[0]!;
    assert.equal(scatter.template, 'scatter');
    assert.deepEqual(scatter.sources.map(pointOf), [
      { 'train.lr': 0.1, 'm.json#acc': 0.8 },
      { 'train.lr': 0.3, 'm.json#acc': 0.9 },
    ]);
  });

  void test('capped on a wide table; the view chooses params and metrics by name', () => {
    const table = generate({ rows: 30, params: 12, metrics: 20, seed: 3 });
    const all = table.experiments.map((r) => r.id);
    const plots = experimentPlots(table, all);
    assert.equal(trends(plots).length, MAX_TREND_PLOTS);
    assert.ok(scatters(plots).length <= MAX_SCATTER_PLOTS);
    assert.ok(scatters(plots).length > 0);
    for (const plot of scatters(plots)) assert.ok(!/p0[258]|p11/.test(plot.fields.x ?? ''), 'no text param');

    const chosen = experimentPlots(table, all, {
      params: [param(1), param(2), 'train.nothing'],
      metrics: [metric(19), metric(0), 'metrics.json#nothing'],
    });
    assert.deepEqual(
      trends(chosen).map((plot) => plot.title),
      [metric(19), metric(0)],
      'in the order asked, unknown ones dropped',
    );
    assert.deepEqual(
      scatters(chosen).map((plot) => `${plot.fields.x ?? ''} ${plot.fields.y[0] ?? ''}`),
      [`${param(1)} ${metric(19)}`, `${param(1)} ${metric(0)}`],
      'a text param is not drawn on a numeric axis even when asked',
    );
  });

  void test('a run without a metric is "not in this run" in its place; the others are drawn', () => {
    const table = generate({ rows: 40, params: 2, metrics: 4, missing: 0.3, seed: 11 });
    const plots = experimentPlots(
      table,
      table.experiments.map((r) => r.id),
    );
    let absent = 0;
    for (const plot of plots) {
      assert.equal(plot.sources.length, 40, `${plot.id}: every run has its entry`);
      for (const source of plot.sources) {
        if (source.kind !== 'error') continue;
        absent++;
        assert.equal(source.error.code, 'plot-value-missing');
        assert.match(source.error.message, new RegExp(`^${source.label} has no `));
      }
    }
    assert.ok(absent > 0, 'the generated table lacks some values');
  });

  void test('one run has no trend and no scatter; unknown ids are reported, not drawn', () => {
    const table = generate({ rows: 5, params: 2, metrics: 2 });
    assert.deepEqual(experimentPlots(table, ids(table, 1)), []);
    const selection = selectExperiments(table, [...ids(table, 1, 3), 'f'.repeat(64)]);
    assert.deepEqual(selection.unknown, ['f'.repeat(64)]);
    assert.deepEqual(
      selection.selected.map((run) => run.label),
      ['exp-4', 'exp-2'],
    );
  });

  void test('the workspace is the newest point; two runs of one name are told apart by their short ids', () => {
    const table: ExperimentTable = {
      ...generate({ rows: 0, params: 0, metrics: 0 }),
      experiments: [
        row(0, { name: 'lr-sweep', params: { lr: 0.2 }, metrics: { 'm#a': 0.7 } }),
        row(1, { name: 'lr-sweep', params: { lr: 0.1 }, metrics: { 'm#a': 0.6 } }),
      ],
    };
    const plots = experimentPlots(table, ['workspace', ...table.experiments.map((r) => r.id)], {
      workspace: { params: { lr: 0.4 }, metrics: { 'm#a': 0.9 } },
    });
    const [trend] = trends(plots);
    assert.ok(trend);
    assert.deepEqual(
      trend.sources.map((source) => source.label),
      [
        `lr-sweep (${shortId(table.experiments[1]!.id)})`,
        `lr-sweep (${shortId(table.experiments[0]!.id)})`,
        'workspace',
      ],
    );
    assert.deepEqual(pointOf(trend.sources[2]!), { [TREND_X_FIELD]: 'workspace', 'm#a': 0.9 });
    assert.deepEqual(
      scatters(plots).map((plot) => plot.sources.map((source) => pointOf(source)['lr'])),
      [[0.1, 0.2, 0.4]],
    );
  });
});
