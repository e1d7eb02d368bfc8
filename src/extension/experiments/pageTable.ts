/// <reference lib="dom" />
// The Experiments page's table elements: the header, an experiment's row, a
// commit group's header and a queued run's row, built with DOM calls (no
// HTML strings: every text is the user's or the engine's and goes in as
// text). Part of the page bundle (dist/experiments.js); webview.ts decides
// when to build and where the rows go.
import type { ExperimentRow, QueuedExperiment } from '../../core/experiments/table';
import { cellOf, type Column, type SortOrder } from './tableModel';

/** Pixel widths: fixed, so pinned columns know their left edge and the layout is computed once. */
export const WIDTHS: Readonly<Record<Column['kind'] | 'select', number>> = {
  select: 34,
  name: 240,
  time: 136,
  param: 120,
  metric: 150,
};

export function create<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const made = document.createElement(tag);
  if (className !== undefined) made.className = className;
  if (text !== undefined) made.textContent = text;
  return made;
}

/** The shown columns in order, where the pinned ones sit and where each other one starts. */
export interface ColumnLayout {
  readonly pinned: readonly Column[];
  readonly rest: readonly Column[];
  readonly all: readonly Column[];
  /** Left edge of each pinned column (after the selection column), by key. */
  readonly offsets: ReadonlyMap<string, number>;
  readonly lastPinned: string | undefined;
  /** Left edge of each unpinned column in the table, in `rest` order. */
  readonly restLeft: readonly number[];
}

export function columnLayout(pinned: readonly Column[], rest: readonly Column[]): ColumnLayout {
  const offsets = new Map<string, number>();
  let left = WIDTHS.select;
  for (const column of pinned) {
    offsets.set(column.key, left);
    left += WIDTHS[column.kind];
  }
  const restLeft: number[] = [];
  for (const column of rest) {
    restLeft.push(left);
    left += WIDTHS[column.kind];
  }
  return { pinned, rest, all: [...pinned, ...rest], offsets, lastPinned: pinned.at(-1)?.key, restLeft };
}

/** The unpinned columns drawn in a row: `rest[from]` up to (not including) `rest[to]`. */
export interface ColumnWindow {
  readonly from: number;
  readonly to: number;
}

/** Unpinned columns drawn beyond each side of the view, so a small scroll shows drawn cells at once. */
const COLUMN_OVERSCAN = 2;

/**
 * The unpinned columns in view between `left` and `left + width` (table
 * pixels). Rows draw only those: laying out sixty cells a row where ten show
 * costs most of a sort's time.
 */
export function columnWindow(layout: ColumnLayout, left: number, width: number): ColumnWindow {
  const { rest, restLeft } = layout;
  let from = 0;
  while (from < rest.length && restLeft[from]! + WIDTHS[rest[from]!.kind] <= left) from++;
  let to = from;
  while (to < rest.length && restLeft[to]! < left + width) to++;
  return { from: Math.max(0, from - COLUMN_OVERSCAN), to: Math.min(rest.length, to + COLUMN_OVERSCAN) };
}

/** A cell standing for `span` undrawn columns, keeping the drawn ones under their headers. */
function gap(span: number): HTMLTableCellElement {
  const td = create('td', 'gap');
  td.colSpan = span;
  td.setAttribute('aria-hidden', 'true');
  return td;
}

function place(cell: HTMLElement, layout: ColumnLayout, key: string): void {
  const left = layout.offsets.get(key);
  if (left === undefined) return;
  cell.classList.add('pinned');
  if (key === layout.lastPinned) cell.classList.add('pinned-last');
  // CSSOM, not a style attribute: the Content-Security-Policy allows no inline styles.
  cell.style.left = `${String(left)}px`;
}

function selectCell(tag: 'td' | 'th'): HTMLTableCellElement {
  const cell = create(tag, 'select pinned');
  cell.style.left = '0px';
  return cell;
}

export function sortMark(direction: SortOrder['direction'] | undefined): {
  aria: string;
  arrow: string;
} {
  if (direction === 'asc') return { aria: 'ascending', arrow: '▲' };
  if (direction === 'desc') return { aria: 'descending', arrow: '▼' };
  return { aria: 'none', arrow: '' };
}

/** Replaces the grid's columns and header; leaves two empty bodies, #queue-rows and #rows. */
export function buildHead(
  grid: HTMLTableElement,
  layout: ColumnLayout,
  sort: SortOrder | null,
  onSort: (column: string) => void,
  onSelectAll: (on: boolean) => void,
): void {
  const colgroup = create('colgroup');
  let total = 0;
  for (const width of [WIDTHS.select, ...layout.all.map((column) => WIDTHS[column.kind])]) {
    const col = create('col');
    col.style.width = `${String(width)}px`;
    total += width;
    colgroup.append(col);
  }
  grid.style.width = `${String(total)}px`;
  const row = create('tr');
  row.setAttribute('role', 'row');
  const selectAll = selectCell('th');
  selectAll.setAttribute('role', 'columnheader');
  const box = create('input');
  box.type = 'checkbox';
  box.id = 'select-all';
  box.setAttribute('aria-label', 'Select every row shown');
  box.addEventListener('change', () => {
    onSelectAll(box.checked);
  });
  selectAll.append(box);
  row.append(selectAll);
  grid.setAttribute('aria-colcount', String(layout.all.length + 1));
  for (const [index, column] of layout.all.entries()) {
    const th = create('th', `col-${column.kind}`);
    th.setAttribute('role', 'columnheader');
    th.setAttribute('aria-colindex', String(index + 2));
    th.dataset['column'] = column.key;
    const mark = sortMark(sort?.column === column.key ? sort.direction : undefined);
    th.setAttribute('aria-sort', mark.aria);
    const button = create('button', 'sort');
    button.type = 'button';
    button.title = `Sort by ${column.label}`;
    const arrow = create('span', 'arrow', mark.arrow);
    arrow.setAttribute('aria-hidden', 'true');
    button.append(create('span', 'label', column.label), arrow);
    button.addEventListener('click', () => {
      onSort(column.key);
    });
    th.append(button);
    place(th, layout, column.key);
    row.append(th);
  }
  const head = create('thead');
  head.append(row);
  const queueRows = create('tbody');
  queueRows.id = 'queue-rows';
  const rows = create('tbody');
  rows.id = 'rows';
  grid.replaceChildren(colgroup, head, queueRows, rows);
}

export function buildRow(
  row: ExperimentRow,
  layout: ColumnLayout,
  window: ColumnWindow,
  baselineId: string | null,
  selected: boolean,
): HTMLTableRowElement {
  const tr = create('tr', row.succeeded ? 'experiment' : 'experiment failed');
  tr.setAttribute('role', 'row');
  tr.dataset['id'] = row.id;
  tr.setAttribute('aria-selected', String(selected));
  const select = selectCell('td');
  const box = create('input');
  box.type = 'checkbox';
  box.checked = selected;
  box.setAttribute('aria-label', `Select ${row.name}`);
  select.append(box);
  tr.append(select);
  const cell = (column: Column, index: number): HTMLTableCellElement => {
    const td = create('td', `col-${column.kind}`);
    td.setAttribute('role', 'gridcell');
    // Screen readers count columns from the header's: undrawn ones are skipped, not renumbered.
    td.setAttribute('aria-colindex', String(index + 2));
    // Which column a cell is: with undrawn columns folded into gaps, its index does not say.
    td.dataset['column'] = column.key;
    if (column.kind === 'name') appendName(td, row, baselineId);
    else {
      const shown = cellOf(row, column, baselineId);
      td.textContent = shown.text;
      if (shown.changed) {
        td.classList.add('changed');
        td.title = 'Differs from the baseline';
      }
      if (shown.delta !== undefined)
        td.append(' ', create('span', `delta ${shown.delta.direction}`, shown.delta.text));
    }
    place(td, layout, column.key);
    return td;
  };
  for (const [index, column] of layout.pinned.entries()) tr.append(cell(column, index));
  if (window.from > 0) tr.append(gap(window.from));
  for (let index = window.from; index < window.to; index++)
    tr.append(cell(layout.rest[index]!, layout.pinned.length + index));
  if (window.to < layout.rest.length) tr.append(gap(layout.rest.length - window.to));
  return tr;
}

function appendName(td: HTMLElement, row: ExperimentRow, baselineId: string | null): void {
  td.append(create('span', 'name', row.name));
  if (row.id === baselineId) td.append(create('span', 'badge baseline', 'baseline'));
  for (const environment of row.environments) {
    const badge = create('span', 'badge environment', environment);
    badge.title = `Live in ${environment}`;
    td.append(badge);
  }
  if (row.origin === 'release') td.append(create('span', 'badge origin', 'release'));
  if (row.dirty) {
    const badge = create('span', 'badge dirty', 'dirty');
    badge.title = 'Ran with uncommitted changes to the code';
    td.append(badge);
  }
  if (!row.succeeded) td.append(create('span', 'badge status-failed', 'failed'));
  td.title = `${row.name} · ${row.id.slice(0, 12)} · ${row.origin} by ${row.actor}`;
}

/** A foldable group header: the commit's short sha (or "Queue") and a count filled in by the caller. */
export function buildGroupRow(
  key: string,
  label: string,
  span: number,
  folded: boolean,
  onToggle: () => void,
): { row: HTMLTableRowElement; count: HTMLElement } {
  const tr = create('tr', 'group');
  tr.setAttribute('role', 'row');
  tr.dataset['group'] = key;
  const td = create('td');
  td.colSpan = span;
  td.setAttribute('role', 'gridcell');
  const button = create('button', 'group-toggle');
  button.type = 'button';
  button.setAttribute('aria-expanded', String(!folded));
  button.title = folded ? 'Unfold' : 'Fold';
  button.append(create('span', 'twisty', folded ? '▸' : '▾'), create('span', 'commit', label));
  button.addEventListener('click', onToggle);
  const count = create('span', 'group-count');
  // The label stays at the left edge however far the table scrolls sideways.
  const sticky = create('div', 'group-label');
  sticky.append(button, count);
  td.append(sticky);
  tr.append(td);
  return { row: tr, count };
}

/** A queued or running combination: its name, a status badge, and the params it sets. */
export function buildQueueRow(entry: QueuedExperiment, layout: ColumnLayout): HTMLTableRowElement {
  const tr = create('tr', `queued status-${entry.status}`);
  tr.setAttribute('role', 'row');
  tr.dataset['status'] = entry.status;
  tr.append(selectCell('td'));
  for (const column of layout.all) {
    const td = create('td', `col-${column.kind}`);
    td.setAttribute('role', 'gridcell');
    if (column.kind === 'name') {
      td.append(
        create('span', 'name', entry.name),
        create('span', `badge status status-${entry.status}`, entry.status),
      );
    } else if (column.kind === 'param' && column.field in entry.overrides) {
      const value = entry.overrides[column.field];
      td.textContent = typeof value === 'string' ? value : JSON.stringify(value);
      td.classList.add('changed');
    }
    place(td, layout, column.key);
    tr.append(td);
  }
  return tr;
}

export function describeQueue(entries: readonly QueuedExperiment[]): string {
  const counts = new Map<string, number>();
  for (const entry of entries) counts.set(entry.status, (counts.get(entry.status) ?? 0) + 1);
  return [...counts].map(([status, count]) => `${String(count)} ${status}`).join(', ');
}
