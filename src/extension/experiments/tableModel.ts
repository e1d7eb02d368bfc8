// What the Experiments view computes from the engine's table before drawing
// it: the columns (hidden, pinned), the groups by commit, the sort, the
// filter, the cells as text with how they differ from the baseline, the
// comparison of selected rows and the grid a form describes. Plain data: no
// vscode, no DOM, no Node.js, so the page bundle and node's tests share it.
import type { ExperimentRow, ExperimentTable } from '../../core/experiments/table';

export type ColumnKind = 'name' | 'time' | 'param' | 'metric';

export interface Column {
  /** Unique among the columns: `name`, `time`, `param:KEY` or `metric:FILE#KEY`. */
  readonly key: string;
  readonly kind: ColumnKind;
  /** The param key or metric key (the column's own name for name and time). */
  readonly field: string;
  readonly label: string;
}

export type SortDirection = 'asc' | 'desc';

export interface SortOrder {
  readonly column: string;
  readonly direction: SortDirection;
}

/** How the user arranged the table; kept by the page across reloads. */
export interface ViewSettings {
  readonly sort: SortOrder | null;
  readonly filter: string;
  readonly onlySucceeded: boolean;
  /** Column keys not shown. */
  readonly hidden: readonly string[];
  /** Column keys kept left, in this order. */
  readonly pinned: readonly string[];
  /** Commit groups folded (by group key). */
  readonly collapsed: readonly string[];
}

export const DEFAULT_SETTINGS: ViewSettings = {
  sort: null,
  filter: '',
  onlySucceeded: false,
  hidden: [],
  pinned: ['name'],
  collapsed: [],
};

export function columnsOf(table: Pick<ExperimentTable, 'params' | 'metrics'>): Column[] {
  return [
    { key: 'name', kind: 'name', field: 'name', label: 'Experiment' },
    { key: 'time', kind: 'time', field: 'time', label: 'Time' },
    ...table.params.map((field): Column => ({ key: `param:${field}`, kind: 'param', field, label: field })),
    ...table.metrics.map((field): Column => ({
      key: `metric:${field}`,
      kind: 'metric',
      field,
      label: field,
    })),
  ];
}

/** The shown columns: pinned ones first, in pin order, then the rest in table order. */
export function arrangeColumns(
  columns: readonly Column[],
  settings: Pick<ViewSettings, 'hidden' | 'pinned'>,
): { readonly pinned: Column[]; readonly rest: Column[] } {
  const hidden = new Set(settings.hidden);
  const byKey = new Map(columns.map((column) => [column.key, column]));
  const pinned = settings.pinned.flatMap((key) => {
    const column = byKey.get(key);
    return column === undefined || hidden.has(key) ? [] : [column];
  });
  const pinnedKeys = new Set(pinned.map((column) => column.key));
  const rest = columns.filter((column) => !hidden.has(column.key) && !pinnedKeys.has(column.key));
  return { pinned, rest };
}

export function togglePinned(settings: ViewSettings, key: string): ViewSettings {
  const pinned = settings.pinned.includes(key)
    ? settings.pinned.filter((k) => k !== key)
    : [...settings.pinned, key];
  return { ...settings, pinned };
}

export function toggleHidden(settings: ViewSettings, key: string): ViewSettings {
  const hidden = settings.hidden.includes(key)
    ? settings.hidden.filter((k) => k !== key)
    : [...settings.hidden, key];
  return { ...settings, hidden };
}

/** A click on a column header: ascending first, then descending, then the table's own order. */
export function nextSort(current: SortOrder | null, column: string): SortOrder | null {
  if (current?.column !== column) return { column, direction: 'asc' };
  if (current.direction === 'asc') return { column, direction: 'desc' };
  return null;
}

/** The key of a row's commit group (rows without a commit share one). */
export function groupKey(row: Pick<ExperimentRow, 'commit'>): string {
  return row.commit ?? 'no-commit';
}

export interface CommitGroup {
  readonly key: string;
  readonly commit: string | null;
  /** The short sha, or what stands for no commit. */
  readonly label: string;
  readonly rows: readonly ExperimentRow[];
}

/**
 * Rows grouped by commit. Without a sort, groups come in the order of their
 * first row in the table (newest first, as the engine gives them) and rows
 * keep the table's order; with one, rows are sorted inside each group and the
 * groups follow their top rows, so the best value heads the page.
 */
export function groupRows(rows: readonly ExperimentRow[], sort: SortOrder | null): CommitGroup[] {
  const groups = new Map<string, ExperimentRow[]>();
  for (const row of rows) {
    const key = groupKey(row);
    const list = groups.get(key);
    if (list === undefined) groups.set(key, [row]);
    else list.push(row);
  }
  const compare = sort === null ? undefined : rowComparator(sort);
  const result = [...groups].map(([key, list]): CommitGroup => {
    const commit = list[0]!.commit;
    return {
      key,
      commit,
      label: commit === null ? 'no commit' : commit.slice(0, 7),
      rows: compare === undefined ? list : sortStable(list, compare),
    };
  });
  if (compare === undefined) return result;
  return sortStable(result, (a, b) => compare(a.rows[0]!, b.rows[0]!));
}

/** Rows in the order a sort gives (stable: ties keep the table's order). */
export function sortRows(rows: readonly ExperimentRow[], sort: SortOrder | null): ExperimentRow[] {
  return sort === null ? [...rows] : sortStable(rows, rowComparator(sort));
}

function sortStable<T>(items: readonly T[], compare: (a: T, b: T) => number): T[] {
  return items
    .map((item, index) => ({ item, index }))
    .sort((a, b) => compare(a.item, b.item) || a.index - b.index)
    .map(({ item }) => item);
}

/** Orders rows by a column; rows lacking the value go last whichever the direction. */
export function rowComparator(sort: SortOrder): (a: ExperimentRow, b: ExperimentRow) => number {
  const valueOf = sortValue(sort.column);
  const sign = sort.direction === 'asc' ? 1 : -1;
  return (a, b) => {
    const x = valueOf(a);
    const y = valueOf(b);
    if (x === undefined || y === undefined) return x === undefined ? (y === undefined ? 0 : 1) : -1;
    return sign * compareValues(x, y);
  };
}

function sortValue(column: string): (row: ExperimentRow) => number | string | undefined {
  if (column === 'name') return (row) => row.name;
  if (column === 'time') return (row) => Date.parse(row.time);
  if (column.startsWith('metric:')) {
    const field = column.slice('metric:'.length);
    return (row) => row.metrics[field];
  }
  if (column.startsWith('param:')) {
    const field = column.slice('param:'.length);
    return (row) => {
      const value = row.params[field];
      if (value === undefined || value === null) return undefined;
      return typeof value === 'number' ? value : formatValue(value);
    };
  }
  return () => undefined;
}

/** Numbers before text; numbers by value, text in natural order ("run-2" before "run-10"). */
function compareValues(x: number | string, y: number | string): number {
  if (typeof x === 'number' && typeof y === 'number') return x - y;
  if (typeof x === 'number') return -1;
  if (typeof y === 'number') return 1;
  return COLLATOR.compare(x, y);
}

const COLLATOR = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/** A param's value as the table and the form show it (what `--set KEY=…` would take back). */
export function formatValue(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** A metric's value: up to 4 significant decimals, no exponent for ordinary sizes. */
export function formatMetric(value: number): string {
  if (Number.isInteger(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude < 1e-4 || magnitude >= 1e9)) return value.toExponential(3);
  return String(Number(value.toPrecision(magnitude >= 1 ? 6 : 4)));
}

/** A delta with its sign always shown: "+0.02", "-1.5", "±0". */
export function formatDelta(delta: number): string {
  if (delta === 0) return '±0';
  const text = formatMetric(delta);
  return delta > 0 ? `+${text}` : text;
}

export type DeltaDirection = 'up' | 'down' | 'same';

export interface Cell {
  readonly text: string;
  /** A param that differs from the baseline's. */
  readonly changed: boolean;
  /** A metric's difference from the baseline, when both have it. */
  readonly delta?: { readonly text: string; readonly direction: DeltaDirection };
}

const EMPTY_CELL: Cell = { text: '', changed: false };

/** A cell's text and its difference from the baseline (the baseline row itself differs from nothing). */
export function cellOf(row: ExperimentRow, column: Column, baselineId: string | null): Cell {
  switch (column.kind) {
    case 'name':
      return { text: row.name, changed: false };
    case 'time':
      return { text: formatTime(row.time), changed: false };
    case 'param': {
      if (!(column.field in row.params)) return EMPTY_CELL;
      const changed = row.id !== baselineId && row.changedParams.includes(column.field);
      return { text: formatValue(row.params[column.field]), changed };
    }
    case 'metric': {
      const value = row.metrics[column.field];
      if (value === undefined) return EMPTY_CELL;
      const delta = row.id === baselineId ? null : (row.deltas[column.field] ?? null);
      if (delta === null) return { text: formatMetric(value), changed: false };
      const direction: DeltaDirection = delta > 0 ? 'up' : delta < 0 ? 'down' : 'same';
      return { text: formatMetric(value), changed: false, delta: { text: formatDelta(delta), direction } };
    }
  }
}

/** "2026-12-07 14:42" in UTC: the same text on every machine, sortable by eye. */
export function formatTime(iso: string): string {
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return iso;
  return new Date(time).toISOString().slice(0, 16).replace('T', ' ');
}

/**
 * What the filter box matches a row on, lowercased: its name, origin,
 * environments, and each param and metric as `key=value`.
 */
export function searchTextOf(row: ExperimentRow): string {
  const parts = [row.name, row.id.slice(0, 12), row.origin, ...row.environments];
  for (const [key, value] of Object.entries(row.params)) parts.push(`${key}=${formatValue(value)}`);
  for (const [key, value] of Object.entries(row.metrics)) parts.push(`${key}=${formatMetric(value)}`);
  return parts.join('\n').toLowerCase();
}

/**
 * Whether a row passes the filter: every word of the text appears in its
 * search text (so "lr=0.1 train" narrows twice), and it succeeded if asked.
 */
export function matchesFilter(
  row: ExperimentRow,
  searchText: string,
  settings: Pick<ViewSettings, 'filter' | 'onlySucceeded'>,
): boolean {
  if (settings.onlySucceeded && !row.succeeded) return false;
  const words = settings.filter.toLowerCase().split(/\s+/).filter(Boolean);
  return words.every((word) => searchText.includes(word));
}

export interface ComparedField {
  readonly kind: 'param' | 'metric';
  readonly key: string;
  /** One per compared row, in the rows' order ('' where a row lacks it). */
  readonly values: readonly string[];
  /** Not every row has the same value. */
  readonly differs: boolean;
}

/** The selected rows side by side: every param and metric any of them has, differences marked. */
export function compareRows(
  rows: readonly ExperimentRow[],
  table: Pick<ExperimentTable, 'params' | 'metrics'>,
): ComparedField[] {
  const fields = (kind: 'param' | 'metric', keys: readonly string[]): ComparedField[] =>
    keys.flatMap((key) => {
      const values = rows.map((row) => {
        if (kind === 'param') return key in row.params ? formatValue(row.params[key]) : '';
        const value = row.metrics[key];
        return value === undefined ? '' : formatMetric(value);
      });
      if (values.every((value) => value === '')) return [];
      return [{ kind, key, values, differs: new Set(values).size > 1 }];
    });
  return [...fields('param', table.params), ...fields('metric', table.metrics)];
}

/** A form's field: a param key and what the user typed (comma-separated values in a grid). */
export interface ParamField {
  readonly key: string;
  /** What the params file holds now: what a run takes for a param it is not given. */
  readonly file: string;
  /** What the field held when the form opened: the baseline's value, else the file's. */
  readonly initial: string;
  readonly value: string;
}

/**
 * The form's fields: every param of the params file, holding the baseline
 * row's value where it has one (so a run from the form reproduces the
 * baseline with the user's changes), else the file's.
 */
export function formFields(
  paramsFile: Readonly<Record<string, unknown>>,
  baseline: Pick<ExperimentRow, 'params'> | undefined,
): ParamField[] {
  return Object.keys(paramsFile)
    .sort()
    .map((key) => {
      const file = formatValue(paramsFile[key]);
      const initial =
        baseline !== undefined && key in baseline.params ? formatValue(baseline.params[key]) : file;
      return { key, file, initial, value: initial };
    });
}

/** The values a field stands for: one, or in a grid each comma-separated one (blanks dropped). */
export function fieldValues(field: ParamField, grid: boolean): string[] {
  if (!grid) return [field.value.trim()];
  return field.value
    .split(',')
    .map((value) => value.trim())
    .filter((value) => value !== '');
}

/** Fields that differ from the params file: only those are sent with `--set` (a run takes the file's for the rest). */
export function changedFields(fields: readonly ParamField[]): ParamField[] {
  return fields.filter((field) => field.value.trim() !== field.file.trim());
}

/** How many runs a grid queues: the product of each changed field's count of values. */
export function gridCombinations(fields: readonly ParamField[]): number {
  return changedFields(fields).reduce((count, field) => count * fieldValues(field, true).length, 1);
}

/** Why the form cannot be sent as it is, or undefined when it can. */
export function formProblem(fields: readonly ParamField[], grid: boolean): string | undefined {
  for (const field of changedFields(fields)) {
    const values = fieldValues(field, grid);
    if (values.length === 0 || values.some((value) => value === ''))
      return `${field.key} needs a value${grid ? ' (or several, comma-separated)' : ''}.`;
    if (!grid && field.value.includes(','))
      return `${field.key} holds a comma: one run takes one value; Queue a Grid runs several.`;
  }
  if (grid && changedFields(fields).length === 0)
    return 'Set at least one param other than the params file has: a grid runs each combination of the values given.';
  return undefined;
}

/** The `--set` arguments of the form: `KEY=VALUE`, or `KEY=V1,V2` in a grid. */
export function setArguments(fields: readonly ParamField[], grid: boolean): string[] {
  return changedFields(fields).map((field) => `${field.key}=${fieldValues(field, grid).join(',')}`);
}
