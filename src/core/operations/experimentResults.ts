// `sluice exp …`, `metrics …` and `params diff` as data (their `--json`) and
// the sentences and tables both faces print of them. `exp show --json` is the
// ExperimentTable itself (src/core/experiments/table.ts).
import type { ApplyResult } from '../experiments/apply';
import type { ExperimentQueueResult } from '../experiments/queue';
import type { Experiment } from '../experiments/records';
import type { ExperimentRow, ExperimentTable } from '../experiments/table';
import type { ValuesDiff } from '../experiments/revisions';
import { plural, shortId } from '../format';
import type { ErrorJson } from '../errors';
import { runStageJson, type RunStageJson } from './results';

export interface ExperimentSummaryJson {
  readonly id: string;
  readonly name: string;
  readonly overrides: Readonly<Record<string, unknown>>;
  readonly succeeded: boolean;
  readonly metrics: Readonly<Record<string, number>>;
}

export interface ExpRunJson {
  readonly experiments: readonly ExperimentSummaryJson[];
  readonly queue: ExperimentQueueResult['queue'];
  readonly cancelled: boolean;
  readonly error?: ErrorJson;
}

function summary(experiment: Experiment): ExperimentSummaryJson {
  return {
    id: experiment.id,
    name: experiment.name,
    overrides: experiment.overrides,
    succeeded: experiment.stages.every((stage) => stage.result !== 'failed' && stage.result !== 'not-run'),
    metrics: experiment.metrics,
  };
}

/** `exp run --json`; `error` is `experiments-failed` (exit 1) when a run failed, `cancelled` on Ctrl-C. */
export function expRunJson(result: ExperimentQueueResult, cancel: ErrorJson | undefined): ExpRunJson {
  const experiments = result.experiments.map(summary);
  const failed = experiments
    .filter((experiment) => !experiment.succeeded)
    .map((experiment) => experiment.name);
  const error: ErrorJson | undefined =
    cancel ??
    (failed.length > 0
      ? {
          code: 'experiments-failed',
          message: `Experiment ${failed.join(', ')} failed.`,
          hint: 'See `sluice exp show` and `sluice logs PIPELINE.STAGE`.',
          data: { experiments: failed },
        }
      : undefined);
  return { experiments, queue: result.queue, cancelled: result.cancelled, ...(error ? { error } : {}) };
}

export interface ExpApplyJson {
  readonly id: string;
  readonly name: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly missingParams: readonly string[];
  readonly savedParams: string | null;
  readonly stages: readonly RunStageJson[];
}

export function expApplyJson(result: ApplyResult): ExpApplyJson {
  return { ...result, stages: result.stages.map(runStageJson) };
}

export function describeApply(result: ExpApplyJson): string[] {
  const lines: string[] = [];
  const changed = Object.entries(result.params);
  lines.push(
    changed.length === 0
      ? `Applied ${result.name} (${shortId(result.id)}): the params file already held its params.`
      : `Applied ${result.name} (${shortId(result.id)}): ${changed.map(([key, value]) => `${key}=${JSON.stringify(value)}`).join(', ')}.`,
  );
  if (result.savedParams !== null) lines.push(`The params file as it was is kept in ${result.savedParams}.`);
  if (result.missingParams.length > 0)
    lines.push(`Not in the params file any more, left out: ${result.missingParams.join(', ')}.`);
  const restored = result.stages.filter((stage) => stage.result === 'restored').length;
  const notRun = result.stages.filter((stage) => stage.result === 'not-run');
  lines.push(`${plural(restored, 'stage')} restored from the cache.`);
  for (const stage of notRun)
    lines.push(`  ${stage.pipeline}.${stage.stage}: ${stage.reason ?? 'not restored'} (\`sluice run\`).`);
  return lines;
}

function formatValue(value: unknown): string {
  if (value === undefined) return '—';
  if (typeof value === 'number')
    return Number.isInteger(value) ? String(value) : value.toPrecision(4).replace(/\.?0+$/, '');
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function formatDelta(delta: number | null | undefined): string {
  if (delta === null || delta === undefined || delta === 0) return '';
  const text = formatValue(Math.abs(delta));
  return delta > 0 ? ` (+${text})` : ` (-${text})`;
}

/** The table as text: one line per row, params that differ from the baseline marked with `*`. */
export function formatExperimentTable(table: ExperimentTable): string[] {
  if (table.experiments.length === 0)
    return ['No experiments yet. `sluice run` records one; `sluice exp run --set KEY=V1,V2` queues a grid.'];
  const header = ['name', 'commit', 'live', ...table.params, ...table.metrics];
  const rows = table.experiments.map((row) => [
    `${row.id === table.baseline.id ? '● ' : ''}${row.name}${row.succeeded ? '' : ' ✗'}`,
    row.commit === null ? '—' : `${shortId(row.commit).slice(0, 7)}${row.dirty ? '+' : ''}`,
    row.environments.join(',') || '',
    ...table.params.map(
      (key) => `${formatValue(row.params[key])}${row.changedParams.includes(key) ? '*' : ''}`,
    ),
    ...table.metrics.map((key) => `${formatValue(row.metrics[key])}${formatDelta(row.deltas[key])}`),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd();
  const baseline =
    table.baseline.id === null
      ? `No baseline at ${table.baseline.name} yet: no deltas.`
      : `● baseline: ${table.baseline.name} (${shortId(table.baseline.id)}); deltas in brackets; * a param that differs.`;
  return [line(header), ...rows.map(line), '', baseline];
}

function csvCell(value: unknown): string {
  const text =
    value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The table as CSV (RFC 4180): one column per param and metric, and one per metric delta. */
export function experimentTableCsv(table: ExperimentTable): string {
  const header = [
    'id',
    'name',
    'origin',
    'time',
    'commit',
    'dirty',
    'release',
    'environments',
    'succeeded',
    ...table.params,
    ...table.metrics,
    ...table.metrics.map((key) => `Δ ${key}`),
  ];
  const rows = table.experiments.map((row: ExperimentRow) => [
    row.id,
    row.name,
    row.origin,
    row.time,
    row.commit,
    row.dirty,
    row.release,
    row.environments.join(' '),
    row.succeeded,
    ...table.params.map((key) => row.params[key]),
    ...table.metrics.map((key) => row.metrics[key]),
    ...table.metrics.map((key) => row.deltas[key]),
  ]);
  return [header, ...rows].map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

export function describeQueueResult(json: ExpRunJson): string[] {
  const lines = json.experiments.map((experiment) => {
    const set = Object.entries(experiment.overrides)
      .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
      .join(' ');
    const metrics = Object.entries(experiment.metrics)
      .slice(0, 4)
      .map(([key, value]) => `${key}=${formatValue(value)}`)
      .join(' ');
    return `${experiment.succeeded ? 'done  ' : 'failed'} ${experiment.name} (${shortId(experiment.id)})${set ? ` ${set}` : ''}${metrics ? ` → ${metrics}` : ''}`;
  });
  lines.push(
    `${plural(json.experiments.length, 'experiment')} recorded.${json.cancelled ? ' Cancelled: the rest did not run.' : ''}`,
  );
  return lines;
}

/** `metrics diff` / `params diff` as text: key, A, B, change. */
export function formatValuesDiff(diff: ValuesDiff, numeric: boolean): string[] {
  if (diff.changes.length === 0)
    return [`No ${diff.what} differ between ${diff.a.label} and ${diff.b.label}.`];
  const header = [
    diff.what === 'metrics' ? 'metric' : 'param',
    diff.a.label,
    diff.b.label,
    ...(numeric ? ['change'] : []),
  ];
  const rows = diff.changes.map((change) => [
    change.key,
    formatValue(change.a),
    formatValue(change.b),
    ...(numeric
      ? [
          typeof change.a === 'number' && typeof change.b === 'number'
            ? formatDelta(change.b - change.a)
                .trim()
                .replace(/[()]/g, '')
            : '',
        ]
      : []),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  return [header, ...rows].map((cells) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd(),
  );
}
