// Generated experiment tables, shaped as the engine's showExperiments returns
// them: random params and metrics over a few commits, some values missing,
// some tied, deltas and changed params computed against the first row. For the
// Experiments view's logic (test/models) and its speed in the browser (test/ui).
import { seededRandom } from '../../src/core/seededRandom';
import type { ExperimentRow, ExperimentTable } from '../../src/core/experiments/table';

export interface TableShape {
  readonly rows: number;
  readonly params: number;
  readonly metrics: number;
  /** How many commits the rows spread over. */
  readonly commits?: number;
  readonly seed?: number;
  /** The share of values left out (a param a run did not have, a metric it did not write). */
  readonly missing?: number;
}

export function paramKey(index: number): string {
  return `train.p${String(index).padStart(2, '0')}`;
}

export function metricKey(index: number): string {
  return `metrics.json#m${String(index).padStart(2, '0')}`;
}

export function generateTable(shape: TableShape): ExperimentTable {
  const random = seededRandom(shape.seed ?? 1);
  const missing = shape.missing ?? 0.05;
  const commits = Array.from({ length: shape.commits ?? 3 }, (_, i) =>
    (i + 1).toString(16).padStart(2, '0').repeat(20),
  );
  const params = Array.from({ length: shape.params }, (_, i) => paramKey(i));
  const metrics = Array.from({ length: shape.metrics }, (_, i) => metricKey(i));
  const start = Date.parse('2026-12-01T00:00:00Z');
  const rows: ExperimentRow[] = [];
  for (let r = 0; r < shape.rows; r++) {
    const paramValues: Record<string, unknown> = {};
    for (const [i, key] of params.entries()) {
      if (random() < missing) continue;
      // Few distinct values, so ties are common; every third param is text.
      const pick = Math.floor(random() * 4);
      paramValues[key] = i % 3 === 2 ? `opt-${String(pick)}` : pick / 10;
    }
    const metricValues: Record<string, number> = {};
    for (const key of metrics) {
      if (random() < missing) continue;
      metricValues[key] = random() < 0.1 ? 0.5 : Math.round(random() * 10_000) / 10_000;
    }
    const id = (r + 1).toString(16).padStart(64, '0');
    rows.push({
      id,
      name: `exp-${String(r + 1)}`,
      origin: r % 50 === 7 ? 'release' : 'queue',
      // Newest first, as the engine lists them.
      time: new Date(start - r * 60_000).toISOString(),
      actor: 'tester',
      commit: commits[Math.floor((r / shape.rows) * commits.length)] ?? null,
      dirty: false,
      release: null,
      environments: r === 3 ? ['staging'] : r === 5 ? ['production', 'staging'] : [],
      params: paramValues,
      overrides: {},
      metrics: metricValues,
      deltas: {},
      changedParams: [],
      succeeded: r % 13 !== 4,
      stages: [],
      from: null,
    });
  }
  const baseline = rows[0];
  const withDeltas = rows.map((row): ExperimentRow => {
    if (baseline === undefined) return row;
    const deltas: Record<string, number | null> = {};
    for (const key of metrics) {
      const mine = row.metrics[key];
      const theirs = baseline.metrics[key];
      deltas[key] = mine === undefined || theirs === undefined ? null : mine - theirs;
    }
    const changedParams = params.filter(
      (key) => JSON.stringify(row.params[key]) !== JSON.stringify(baseline.params[key]),
    );
    return { ...row, deltas, changedParams };
  });
  return {
    baseline: { kind: 'commit', name: 'HEAD', id: baseline?.id ?? null },
    params,
    metrics,
    experiments: withDeltas,
    queue: [],
  };
}
