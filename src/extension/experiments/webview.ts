/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The Experiments page, bundled by esbuild into dist/experiments.js (an IIFE
// for the browser). It draws the table the extension sends and keeps how the
// user arranged it (sort, filter, hidden and pinned columns, folded commits)
// in the webview's state. Each row's cells are built once per table; a sort
// or a filter moves or hides those rows and rebuilds nothing, so a thousand
// rows sort in a frame. Actions go to the extension as messages (messages.ts),
// which runs them through the same commands as the rest of the editor.
//
// Timing, read by the UI test: `sluice-experiments-first-paint` measures from
// a table's arrival to the first frame painted after it was built (every
// table message ends one), `sluice-experiments-sort` from a header click to
// the frame after the rows moved; each measure's detail holds the table's row count.
import type { ExperimentRow, ExperimentTable, QueuedExperiment } from '../../core/experiments/table';
import {
  parseToPage,
  type Capabilities,
  type FromPageMessage,
  type ShowTableMessage,
  type ToPageMessage,
} from './messages';
import { openParamsForm, renderCompare, type FormContext } from './pageDialogs';
import {
  buildGroupRow,
  buildHead,
  buildQueueRow,
  buildRow,
  columnLayout,
  columnWindow,
  create,
  describeQueue,
  sortMark,
  type ColumnLayout,
  type ColumnWindow,
} from './pageTable';
import {
  arrangeColumns,
  columnsOf,
  DEFAULT_SETTINGS,
  groupRows,
  matchesFilter,
  nextSort,
  searchTextOf,
  toggleHidden,
  togglePinned,
  type Column,
  type ViewSettings,
} from './tableModel';

interface VsCodeApi {
  postMessage(message: FromPageMessage): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();

/** An element the page's HTML (experimentPanels.ts) must hold, of the kind the script needs. */
function byId<T extends HTMLElement>(id: string, kind: abstract new () => T): T {
  const found = document.getElementById(id);
  if (!(found instanceof kind)) throw new Error(`The page lacks #${id}.`);
  return found;
}

const grid = byId('experiments', HTMLTableElement);
const notice = byId('notice', HTMLParagraphElement);
const filterBox = byId('filter', HTMLInputElement);
const onlySucceeded = byId('only-succeeded', HTMLInputElement);
const baselineChooser = byId('baseline', HTMLSelectElement);
const columnsButton = byId('columns-button', HTMLButtonElement);
const columnsPanel = byId('columns-panel', HTMLDivElement);
const selectionCount = byId('selection-count', HTMLSpanElement);
const comparePanel = byId('compare-panel', HTMLElement);
const rowCount = byId('row-count', HTMLSpanElement);
const scroller = byId('scroller', HTMLDivElement);
const buttons = {
  refresh: byId('refresh', HTMLButtonElement),
  trust: byId('trust', HTMLButtonElement),
  run: byId('run', HTMLButtonElement),
  grid: byId('grid', HTMLButtonElement),
  compare: byId('compare', HTMLButtonElement),
  plot: byId('plot', HTMLButtonElement),
  apply: byId('apply', HTMLButtonElement),
  stage: byId('stage', HTMLButtonElement),
  remove: byId('remove', HTMLButtonElement),
};

interface Shown {
  readonly table: ExperimentTable;
  readonly byId: ReadonlyMap<string, ExperimentRow>;
  readonly columns: readonly Column[];
  /** Built once per table (and again when the columns change); sorting and filtering move them. */
  readonly rows: Map<string, HTMLTableRowElement>;
  readonly searchText: ReadonlyMap<string, string>;
}

/** What the table's body scrolls over: group headers and the rows the filter and folds let through. */
type Item =
  | { readonly kind: 'group'; readonly key: string; readonly element: HTMLTableRowElement }
  | { readonly kind: 'row'; readonly row: ExperimentRow };

let settings: ViewSettings = readSettings();
let layout: ColumnLayout = columnLayout([], []);
let items: readonly Item[] = [];
/** The ids of the rows the filter lets through, in order (folded ones included in none). */
let filteredIds: readonly string[] = [];
let shown: Shown | undefined;
let environments: readonly string[] = [];
let paramsFile: Readonly<Record<string, unknown>> | null = null;
// Until the extension says otherwise (its first message), nothing is refused for trust.
let capabilities: Capabilities = { canRun: true, whyNot: null };
let queue: readonly QueuedExperiment[] = [];
const selected = new Set<string>();
/** The row a shift-click extends from. */
let anchor: string | undefined;
let busy = false;

/** How the user left the table, from the webview's state (checked: it outlives versions of this script). */
function readSettings(): ViewSettings {
  const saved = vscode.getState();
  if (typeof saved !== 'object' || saved === null) return DEFAULT_SETTINGS;
  const s = saved as Partial<Record<keyof ViewSettings, unknown>>;
  const strings = (value: unknown): string[] =>
    Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
  const sort = (typeof s.sort === 'object' && s.sort !== null ? s.sort : {}) as Record<string, unknown>;
  const { column, direction } = sort;
  return {
    sort:
      typeof column === 'string' && (direction === 'asc' || direction === 'desc')
        ? { column, direction }
        : null,
    filter: typeof s.filter === 'string' ? s.filter : '',
    onlySucceeded: s.onlySucceeded === true,
    hidden: strings(s.hidden),
    pinned: Array.isArray(s.pinned) ? strings(s.pinned) : DEFAULT_SETTINGS.pinned,
    collapsed: strings(s.collapsed),
  };
}

function saveSettings(next: ViewSettings): void {
  settings = next;
  vscode.setState(next);
}

function post(message: FromPageMessage): void {
  vscode.postMessage(message);
}

// ---- Building the table ------------------------------------------------------

function currentLayout(): ColumnLayout {
  const { pinned, rest } = arrangeColumns(shown?.columns ?? [], settings);
  return columnLayout(pinned, rest);
}

function rowsBody(): HTMLTableSectionElement {
  return byId('rows', HTMLTableSectionElement);
}

function toggleFold(key: string, then: () => void): void {
  const collapsed = settings.collapsed.includes(key)
    ? settings.collapsed.filter((k) => k !== key)
    : [...settings.collapsed, key];
  saveSettings({ ...settings, collapsed });
  then();
  renderWindow();
  document.querySelector<HTMLElement>(`tr[data-group="${CSS.escape(key)}"] button`)?.focus();
}

/** Takes a new table: builds each row's cells once. */
function showTable(table: ExperimentTable): void {
  const byIdMap = new Map(table.experiments.map((row) => [row.id, row]));
  for (const id of [...selected]) if (!byIdMap.has(id)) selected.delete(id);
  shown = {
    table,
    byId: byIdMap,
    columns: columnsOf(table),
    rows: new Map(),
    searchText: new Map(table.experiments.map((row) => [row.id, searchTextOf(row)])),
  };
  rebuildRows();
}

/** Builds the header again and drops the built rows: a new table, or columns hidden, shown or pinned. */
function rebuildRows(): void {
  if (shown === undefined) return;
  layout = currentLayout();
  buildHead(grid, layout, settings.sort, sortBy, selectVisible);
  shown.rows.clear();
  buildColumnsPanel();
  placeQueue();
  // The body is empty now: reading where the view is costs the header's layout only.
  readView();
  placeRows();
}

/** A row's element, built the first time it scrolls into view and kept while its columns in view stay. */
function rowElement(row: ExperimentRow, window: ColumnWindow): HTMLTableRowElement {
  const key = `${String(window.from)}-${String(window.to)}`;
  const built = shown!.rows.get(row.id);
  if (built?.dataset['columns'] === key) return built;
  const tr = buildRow(row, layout, window, shown!.table.baseline.id, selected.has(row.id));
  tr.dataset['columns'] = key;
  shown!.rows.set(row.id, tr);
  return tr;
}

/**
 * Orders the rows (groups, sort) and keeps those the filter and folds let
 * through, as the list the window scrolls over; then draws the window. Only
 * what is in view is in the DOM, rows and columns: a thousand rows of sixty
 * columns laid out at once take seconds, the forty rows in view, ten columns
 * wide, a few milliseconds.
 */
function placeRows(): void {
  if (shown === undefined) return;
  const span = layout.all.length + 1;
  const list: Item[] = [];
  let visible = 0;
  for (const group of groupRows(shown.table.experiments, settings.sort)) {
    const folded = settings.collapsed.includes(group.key);
    const matching = group.rows.filter((row) => matchesFilter(row, shown!.searchText.get(row.id)!, settings));
    if (matching.length === 0) continue;
    visible += matching.length;
    const header = buildGroupRow(group.key, group.label, span, folded, () => {
      toggleFold(group.key, placeRows);
    });
    header.count.textContent = `${String(matching.length)} experiment${matching.length === 1 ? '' : 's'}`;
    list.push({ kind: 'group', key: group.key, element: header.row });
    if (!folded) for (const row of matching) list.push({ kind: 'row', row });
  }
  items = list;
  filteredIds = list.flatMap((item) => (item.kind === 'row' ? [item.row.id] : []));
  grid.setAttribute('aria-rowcount', String(list.length + 1));
  const total = shown.table.experiments.length;
  rowCount.textContent =
    visible === total ? `${String(total)} experiments` : `${String(visible)} of ${String(total)} shown`;
  renderWindow();
  updateSelection();
}

/** Height of every body row (media/experiments.css sets the same): the window is computed, not measured. */
const ROW_HEIGHT = 24;
/** Rows drawn above and below the view, so a small scroll shows drawn rows at once. */
const OVERSCAN = 4;

function spacer(height: number): HTMLTableRowElement {
  const tr = create('tr', 'spacer');
  tr.setAttribute('aria-hidden', 'true');
  const td = create('td');
  td.colSpan = layout.all.length + 1;
  tr.append(td);
  // CSSOM: the Content-Security-Policy allows no style attributes.
  tr.style.height = `${String(height)}px`;
  return tr;
}

/**
 * Where the view is, as last read: kept so that drawing after a sort or a
 * filter reads no layout (a read would lay out the old rows first, for nothing).
 */
const view = { top: 0, height: 600, left: 0, width: 1000, bodyTop: undefined as number | undefined };

function readView(): void {
  view.top = scroller.scrollTop;
  view.height = scroller.clientHeight;
  view.left = scroller.scrollLeft;
  view.width = scroller.clientWidth;
}

/** Puts the items in view (and a few around them) in the DOM, between two spacers that keep the scroll height. */
function renderWindow(): void {
  const body = document.getElementById('rows');
  if (body === null) return;
  // The header's and the queue's height: read once after they change, while the body is empty or unchanged.
  view.bodyTop ??= body.offsetTop;
  const above = Math.max(0, view.top - view.bodyTop);
  const first = Math.max(0, Math.floor(above / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(items.length, first + Math.ceil(view.height / ROW_HEIGHT) + 2 * OVERSCAN);
  const columns = columnWindow(layout, view.left, view.width);
  // Read before the rows move into the fragment: moving the focused one out of the page blurs it.
  const focused = document.activeElement;
  const fragment = document.createDocumentFragment();
  if (first > 0) fragment.append(spacer(first * ROW_HEIGHT));
  for (let index = first; index < last; index++) {
    const item = items[index]!;
    const tr = item.kind === 'group' ? item.element : rowElement(item.row, columns);
    tr.setAttribute('aria-rowindex', String(index + 2));
    tr.dataset['index'] = String(index);
    fragment.append(tr);
  }
  if (last < items.length) fragment.append(spacer((items.length - last) * ROW_HEIGHT));
  body.replaceChildren(fragment);
  // A row scrolled out and back keeps its element, and focus stays where it was when it is still drawn.
  if (focused instanceof HTMLElement && focused !== document.body && body.contains(focused)) focused.focus();
}

/** Scrolls so that item `index` is drawn and in view. */
function revealItem(index: number): void {
  readView();
  const top = (view.bodyTop ?? rowsBody().offsetTop) + index * ROW_HEIGHT;
  const headerHeight = grid.tHead?.offsetHeight ?? 0;
  if (top - headerHeight < view.top) scroller.scrollTop = top - headerHeight;
  else if (top + ROW_HEIGHT > view.top + view.height) scroller.scrollTop = top + ROW_HEIGHT - view.height;
  readView();
  renderWindow();
}

let scrollFrame = 0;
scroller.addEventListener('scroll', () => {
  if (scrollFrame !== 0) return;
  scrollFrame = requestAnimationFrame(() => {
    scrollFrame = 0;
    readView();
    renderWindow();
  });
});
window.addEventListener('resize', () => {
  readView();
  renderWindow();
});

/** The queue's rows, above the records: what is queued or running now, and what failed or was cancelled. */
function placeQueue(): void {
  const body = document.getElementById('queue-rows');
  if (body === null || shown === undefined) return;
  const known = shown.byId;
  // A finished combination is a row of the table once its record is read; until then it shows here.
  const pending = queue.filter(
    (entry) => entry.status !== 'done' || entry.id === null || !known.has(entry.id),
  );
  // The queue's rows move the records' rows down: where they start is read again when next drawn.
  view.bodyTop = undefined;
  if (pending.length === 0) {
    body.replaceChildren();
    return;
  }
  const folded = settings.collapsed.includes('queue');
  const header = buildGroupRow('queue', 'Queue', layout.all.length + 1, folded, () => {
    toggleFold('queue', placeQueue);
  });
  header.count.textContent = describeQueue(pending);
  body.replaceChildren(header.row, ...(folded ? [] : pending.map((entry) => buildQueueRow(entry, layout))));
}

// ---- Sorting, filtering, columns --------------------------------------------

function sortBy(column: string): void {
  performance.mark('sluice-experiments-sort-start');
  saveSettings({ ...settings, sort: nextSort(settings.sort, column) });
  const { sort } = settings;
  for (const th of grid.tHead?.querySelectorAll<HTMLElement>('th[data-column]') ?? []) {
    const mark = sortMark(sort !== null && sort.column === th.dataset['column'] ? sort.direction : undefined);
    th.setAttribute('aria-sort', mark.aria);
    th.querySelector('.arrow')!.textContent = mark.arrow;
  }
  placeRows();
  afterPaint(() => {
    performance.mark('sluice-experiments-sort-end');
    performance.measure('sluice-experiments-sort', {
      start: 'sluice-experiments-sort-start',
      end: 'sluice-experiments-sort-end',
      detail: { rows: shown?.table.experiments.length ?? 0, column },
    });
  });
}

/** Runs `then` once the frame showing the current DOM has been painted. */
function afterPaint(then: () => void): void {
  requestAnimationFrame(() => {
    setTimeout(then, 0);
  });
}

let filterTimer: ReturnType<typeof setTimeout> | undefined;
filterBox.addEventListener('input', () => {
  clearTimeout(filterTimer);
  // Typing a word filters once it pauses, not at each key.
  filterTimer = setTimeout(() => {
    saveSettings({ ...settings, filter: filterBox.value });
    placeRows();
  }, 120);
});
onlySucceeded.addEventListener('change', () => {
  saveSettings({ ...settings, onlySucceeded: onlySucceeded.checked });
  placeRows();
});

function buildColumnsPanel(): void {
  if (shown === undefined) return;
  const list = create('ul');
  for (const column of shown.columns) {
    const item = create('li');
    const show = create('input');
    show.type = 'checkbox';
    show.checked = !settings.hidden.includes(column.key);
    show.id = `show-${column.key}`;
    show.setAttribute('aria-label', `Show ${column.label}`);
    show.disabled = column.kind === 'name';
    show.addEventListener('change', () => {
      saveSettings(toggleHidden(settings, column.key));
      rebuildRows();
      document.getElementById(`show-${column.key}`)?.focus();
    });
    const pinBox = create('input');
    pinBox.type = 'checkbox';
    pinBox.checked = settings.pinned.includes(column.key);
    pinBox.id = `pin-${column.key}`;
    pinBox.setAttribute('aria-label', `Pin ${column.label} to the left`);
    pinBox.addEventListener('change', () => {
      saveSettings(togglePinned(settings, column.key));
      rebuildRows();
      document.getElementById(`pin-${column.key}`)?.focus();
    });
    const label = create('span', `column-name col-${column.kind}`, column.label);
    item.append(show, pinBox, label);
    list.append(item);
  }
  const heading = create('p', 'columns-heading', 'Show · Pin · Column');
  heading.setAttribute('aria-hidden', 'true');
  columnsPanel.replaceChildren(heading, list);
}

columnsButton.addEventListener('click', () => {
  const open = columnsPanel.hidden;
  columnsPanel.hidden = !open;
  columnsButton.setAttribute('aria-expanded', String(open));
  if (open) columnsPanel.querySelector<HTMLInputElement>('input:not([disabled])')?.focus();
});
columnsPanel.addEventListener('keydown', (event) => {
  if (event.key === 'Escape') {
    columnsPanel.hidden = true;
    columnsButton.setAttribute('aria-expanded', 'false');
    columnsButton.focus();
  }
});

// ---- Selection ----------------------------------------------------------------

/** The rows shown (drawn or scrolled away), in order: what select-all and a shift-range take. */
function visibleRowIds(): readonly string[] {
  return filteredIds;
}

function setSelected(id: string, on: boolean): void {
  if (on) selected.add(id);
  else selected.delete(id);
  const tr = shown?.rows.get(id);
  if (tr === undefined) return;
  tr.setAttribute('aria-selected', String(on));
  tr.querySelector<HTMLInputElement>('td.select input')!.checked = on;
}

function selectVisible(on: boolean): void {
  for (const id of visibleRowIds()) setSelected(id, on);
  updateSelection();
}

/** Shift-click or shift-space: every shown row from the anchor to `id` takes `on`. */
function selectRange(id: string, on: boolean): void {
  const ids = visibleRowIds();
  const from = anchor === undefined ? -1 : ids.indexOf(anchor);
  const to = ids.indexOf(id);
  if (from < 0 || to < 0) setSelected(id, on);
  else for (const each of ids.slice(Math.min(from, to), Math.max(from, to) + 1)) setSelected(each, on);
}

grid.addEventListener('click', (event) => {
  const target = event.target as HTMLElement;
  if (!(target instanceof HTMLInputElement) || target.closest('td.select') === null) return;
  const id = target.closest('tr')?.dataset['id'];
  if (id === undefined) return;
  if (event.shiftKey) selectRange(id, target.checked);
  else setSelected(id, target.checked);
  anchor = id;
  updateSelection();
});

grid.addEventListener('keydown', (event) => {
  const target = event.target as HTMLElement;
  const tr = target.closest('tr');
  if (tr === null || tr.parentElement?.id !== 'rows') return;
  if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
    event.preventDefault();
    const next = Number(tr.dataset['index']) + (event.key === 'ArrowDown' ? 1 : -1);
    if (!(next >= 0 && next < items.length)) return;
    revealItem(next);
    rowsBody()
      .querySelector<HTMLElement>(`tr[data-index="${String(next)}"]`)
      ?.querySelector<HTMLElement>('td.select input, button.group-toggle')
      ?.focus();
  } else if (event.key === ' ' && event.shiftKey && target instanceof HTMLInputElement) {
    // A keyboard toggle's click carries no shift: the range is taken here.
    event.preventDefault();
    const id = tr.dataset['id'];
    if (id === undefined) return;
    selectRange(id, !target.checked);
    anchor = id;
    updateSelection();
  }
});

function selectedRows(): ExperimentRow[] {
  if (shown === undefined) return [];
  const rows = shown.table.experiments;
  return rows.filter((row) => selected.has(row.id));
}

/** Buttons follow the selection; each disabled one says why in its tooltip. */
function updateSelection(): void {
  const count = selected.size;
  selectionCount.textContent = count === 0 ? 'No row selected' : `${String(count)} selected`;
  const all = document.getElementById('select-all') as HTMLInputElement | null;
  if (all !== null) {
    const visible = visibleRowIds();
    all.checked = visible.length > 0 && visible.every((id) => selected.has(id));
    all.indeterminate = !all.checked && visible.some((id) => selected.has(id));
  }
  buttons.trust.hidden = capabilities.canRun;
  const restricted = capabilities.canRun ? undefined : (capabilities.whyNot ?? 'Not available here.');
  const enable = (button: HTMLButtonElement, why: string | undefined): void => {
    button.disabled = why !== undefined || (busy && button !== buttons.compare && button !== buttons.plot);
    button.title = why ?? (busy && button.disabled ? 'Waiting for the running action to end.' : '');
  };
  const noTable = shown === undefined ? 'No experiments are shown.' : undefined;
  enable(buttons.run, restricted ?? noTable);
  enable(buttons.grid, restricted ?? noTable);
  enable(buttons.compare, count < 2 ? 'Select two rows or more to compare them.' : undefined);
  enable(buttons.plot, count < 1 ? 'Select the rows to plot.' : undefined);
  const one = count === 1 ? undefined : 'Select exactly one row.';
  enable(buttons.apply, restricted ?? one);
  enable(buttons.stage, restricted ?? one);
  enable(buttons.remove, restricted ?? (count < 1 ? 'Select the rows to remove.' : undefined));
}

// ---- Actions -----------------------------------------------------------------

function startAction(message: FromPageMessage): void {
  busy = true;
  updateSelection();
  post(message);
}

function formContext(): FormContext | undefined {
  if (shown === undefined) return undefined;
  const { table } = shown;
  const baseline = table.experiments.find((row) => row.id === table.baseline.id);
  return { paramsFile, baseline, submit: startAction };
}

buttons.run.addEventListener('click', () => {
  const context = formContext();
  if (context !== undefined) openParamsForm(context, false);
});
buttons.grid.addEventListener('click', () => {
  const context = formContext();
  if (context !== undefined) openParamsForm(context, true);
});
buttons.compare.addEventListener('click', () => {
  showCompare(selectedRows());
});
buttons.plot.addEventListener('click', () => {
  post({ type: 'plot', ids: selectedRows().map((row) => row.id) });
});
buttons.apply.addEventListener('click', () => {
  const [row] = selectedRows();
  if (row !== undefined) startAction({ type: 'apply', id: row.id });
});
buttons.stage.addEventListener('click', () => {
  const [row] = selectedRows();
  if (row !== undefined) startAction({ type: 'stage', id: row.id });
});
buttons.remove.addEventListener('click', () => {
  const ids = selectedRows().map((row) => row.id);
  if (ids.length > 0) startAction({ type: 'remove', ids });
});
buttons.trust.addEventListener('click', () => {
  post({ type: 'manageTrust' });
});
buttons.refresh.addEventListener('click', () => {
  post({ type: 'refresh' });
});
baselineChooser.addEventListener('change', () => {
  post({ type: 'baseline', vs: baselineChooser.value });
});

function showCompare(rows: readonly ExperimentRow[]): void {
  if (shown === undefined || rows.length === 0) return;
  renderCompare(comparePanel, rows, shown.table, () => {
    comparePanel.hidden = true;
    buttons.compare.focus();
  });
  comparePanel.hidden = false;
  comparePanel.querySelector<HTMLElement>('h2')?.focus();
}

function fillBaselineChooser(table: ExperimentTable): void {
  const options = ['HEAD', ...environments];
  const current = table.baseline.name;
  if (!options.includes(current)) options.push(current);
  baselineChooser.replaceChildren(
    ...options.map((name) => {
      const option = create(
        'option',
        undefined,
        name === 'HEAD' ? 'HEAD (latest run at the checked-out commit)' : name,
      );
      option.value = name;
      option.selected = name === current;
      return option;
    }),
  );
}

function showNotice(text: string): void {
  notice.textContent = text;
  notice.hidden = text === '';
}

// ---- Messages from the extension ----------------------------------------------

function onTable(message: ShowTableMessage): void {
  performance.mark('sluice-experiments-table-received');
  environments = message.environments;
  paramsFile = message.paramsFile;
  capabilities = message.capabilities;
  queue = message.table.queue;
  fillBaselineChooser(message.table);
  showTable(message.table);
  const { table } = message;
  const nothing = table.experiments.length === 0 && table.queue.length === 0;
  const baseline =
    table.baseline.id === null ? `Baseline ${table.baseline.name}: no run to compare with yet.` : '';
  showNotice(
    [
      nothing
        ? 'No experiment yet: every `sluice run` records one, and Run with Changed Params queues more.'
        : '',
      baseline,
      capabilities.canRun ? '' : (capabilities.whyNot ?? ''),
    ]
      .filter(Boolean)
      .join(' '),
  );
  afterPaint(() => {
    performance.mark('sluice-experiments-painted');
    // The detail says which table: a reader can tell a thousand rows from a reload of three.
    performance.measure('sluice-experiments-first-paint', {
      start: 'sluice-experiments-table-received',
      end: 'sluice-experiments-painted',
      detail: { rows: table.experiments.length },
    });
    document.body.dataset['state'] = 'shown';
  });
}

function onMessage(message: ToPageMessage): void {
  switch (message.type) {
    case 'table':
      onTable(message);
      break;
    case 'unavailable':
      capabilities = message.capabilities;
      shown = undefined;
      items = [];
      filteredIds = [];
      selected.clear();
      grid.replaceChildren();
      rowCount.textContent = '';
      showNotice(message.reason);
      updateSelection();
      document.body.dataset['state'] = 'unavailable';
      break;
    case 'queue':
      queue = message.queue;
      placeQueue();
      renderWindow();
      break;
    case 'compare':
      showCompare(
        selectedRows().length > 0 ? selectedRows() : message.ids.flatMap((id) => shown?.byId.get(id) ?? []),
      );
      break;
    case 'actionDone':
      busy = false;
      updateSelection();
      break;
  }
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const message = parseToPage(event.data);
  if (message !== undefined) onMessage(message);
});

filterBox.value = settings.filter;
onlySucceeded.checked = settings.onlySucceeded;
updateSelection();
post({ type: 'ready' });
