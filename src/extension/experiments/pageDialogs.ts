/// <reference lib="dom" />
// The Experiments page's two panels besides the table: the comparison of the
// selected rows side by side, and the params form behind Run with Changed
// Params and Queue a Grid. Part of the page bundle (dist/experiments.js);
// what they compute lives in tableModel.ts.
import type { ExperimentRow, ExperimentTable } from '../../core/experiments/table';
import type { RunMessage } from './messages';
import {
  compareRows,
  formFields,
  formProblem,
  gridCombinations,
  setArguments,
  type ParamField,
} from './tableModel';

function create<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const made = document.createElement(tag);
  if (className !== undefined) made.className = className;
  if (text !== undefined) made.textContent = text;
  return made;
}

/** Fills `panel` with the rows' params and metrics side by side; rows that differ are marked. */
export function renderCompare(
  panel: HTMLElement,
  rows: readonly ExperimentRow[],
  table: Pick<ExperimentTable, 'params' | 'metrics'>,
  close: () => void,
): void {
  const heading = create('h2', undefined, `Comparing ${String(rows.length)} experiments`);
  heading.tabIndex = -1;
  const closeButton = create('button', 'close', 'Close Comparison');
  closeButton.type = 'button';
  closeButton.addEventListener('click', close);
  const fields = compareRows(rows, table);
  const differing = fields.filter((field) => field.differs).length;
  const summary = create(
    'p',
    'compare-summary',
    `${String(differing)} of ${String(fields.length)} params and metrics differ (marked ≠).`,
  );
  const grid = create('table', 'compare');
  grid.setAttribute('role', 'grid');
  grid.setAttribute('aria-label', 'Selected experiments side by side');
  const head = create('tr');
  head.setAttribute('role', 'row');
  const corner = create('th', undefined, 'param / metric');
  corner.setAttribute('role', 'columnheader');
  head.append(corner);
  for (const row of rows) {
    const th = create('th', undefined, row.name);
    th.setAttribute('role', 'columnheader');
    th.dataset['id'] = row.id;
    head.append(th);
  }
  const thead = create('thead');
  thead.append(head);
  const body = create('tbody');
  for (const field of fields) {
    const tr = create('tr', field.differs ? `differs ${field.kind}` : field.kind);
    tr.setAttribute('role', 'row');
    tr.dataset['key'] = field.key;
    const th = create('th', undefined, `${field.differs ? '≠ ' : ''}${field.key}`);
    th.setAttribute('role', 'rowheader');
    tr.append(th);
    for (const value of field.values) {
      const td = create('td', undefined, value);
      td.setAttribute('role', 'gridcell');
      tr.append(td);
    }
    body.append(tr);
  }
  grid.append(thead, body);
  panel.replaceChildren(heading, closeButton, summary, grid);
  panel.onkeydown = (event) => {
    if (event.key === 'Escape') close();
  };
}

export interface FormContext {
  /** The params file now, dotted key → value (null: the manifest names none). */
  readonly paramsFile: Readonly<Record<string, unknown>> | null;
  /** Whose values fill the form: the baseline row, or the params file when there is none. */
  readonly baseline: ExperimentRow | undefined;
  readonly submit: (message: RunMessage) => void;
}

/** Most runs one grid may queue from the page: more is a typo ("1,2,3" in five fields is 243 runs). */
const MAX_GRID = 1000;

/**
 * The params form as a modal dialog: one field per param, holding the
 * baseline's value. `grid` lets a field take comma-separated values, shows how
 * many runs that makes and how many run at once (-j).
 */
export function openParamsForm(context: FormContext, grid: boolean): void {
  const dialog = create('dialog', 'params-form');
  dialog.setAttribute('aria-labelledby', 'form-title');
  const form = create('form');
  form.method = 'dialog';
  const title = create('h2', undefined, grid ? 'Queue a Grid' : 'Run with Changed Params');
  title.id = 'form-title';
  const from =
    context.baseline === undefined
      ? 'Values from the params file.'
      : `Values from ${context.baseline.name}, the baseline.`;
  const help = create(
    'p',
    'help',
    `${from} Params that differ from the params file are set for the run (marked); the file itself is not changed.${grid ? ' Give several values comma-separated: each combination runs once.' : ''}`,
  );
  form.append(title, help);

  const initial = formFields(context.paramsFile ?? {}, context.baseline);
  const fields: { field: ParamField; input: HTMLInputElement }[] = [];
  const list = create('div', 'fields');
  for (const field of initial) {
    const label = create('label', 'field');
    const input = create('input');
    input.type = 'text';
    input.name = field.key;
    input.value = field.value;
    input.spellcheck = false;
    input.title = `The params file has ${field.file === '' ? 'no value' : field.file}`;
    label.append(create('span', 'field-name', field.key), input);
    list.append(label);
    fields.push({ field, input });
  }
  if (initial.length === 0)
    list.append(
      create(
        'p',
        'help',
        context.paramsFile === null
          ? 'No params to set: the manifest names no params file (`params:` in sluice.yaml).'
          : 'No params to set: the params file is empty.',
      ),
    );
  form.append(list);

  const nameLabel = create('label', 'field');
  const nameInput = create('input');
  nameInput.type = 'text';
  nameInput.name = 'experiment-name';
  nameInput.placeholder = grid ? 'optional: a prefix for the runs’ names' : 'optional: generated when empty';
  nameLabel.append(create('span', 'field-name', 'Name'), nameInput);
  form.append(nameLabel);

  const jobsInput = create('input');
  if (grid) {
    const jobsLabel = create('label', 'field');
    jobsInput.type = 'number';
    jobsInput.name = 'jobs';
    jobsInput.min = '1';
    jobsInput.max = '64';
    jobsInput.value = '1';
    jobsLabel.append(create('span', 'field-name', 'Runs at a time (-j)'), jobsInput);
    form.append(jobsLabel);
  }

  const status = create('p', 'form-status');
  status.setAttribute('role', 'status');
  status.setAttribute('aria-live', 'polite');
  const submit = create('button', 'primary', grid ? 'Queue' : 'Run');
  submit.type = 'submit';
  const cancel = create('button', undefined, 'Cancel');
  cancel.type = 'button';
  cancel.addEventListener('click', () => {
    dialog.close();
  });
  const buttons = create('div', 'form-buttons');
  buttons.append(submit, cancel);
  form.append(status, buttons);
  dialog.append(form);

  const current = (): ParamField[] => fields.map(({ field, input }) => ({ ...field, value: input.value }));
  const jobs = (): number | undefined => {
    const value = Number(jobsInput.value);
    return Number.isInteger(value) && value >= 1 && value <= 64 ? value : undefined;
  };
  const problem = (): string | undefined => {
    const found = formProblem(current(), grid);
    if (found !== undefined) return found;
    if (grid && jobs() === undefined) return 'Runs at a time is a whole number from 1 to 64.';
    if (grid && gridCombinations(current()) > MAX_GRID)
      return `That is ${String(gridCombinations(current()))} runs; at most ${String(MAX_GRID)} from here.`;
    return undefined;
  };
  const update = (): void => {
    for (const { input, field } of fields)
      input.classList.toggle('changed', input.value.trim() !== field.file.trim());
    const why = problem();
    submit.disabled = why !== undefined;
    if (why !== undefined) status.textContent = why;
    else if (grid) {
      const count = gridCombinations(current());
      status.textContent = `${String(count)} run${count === 1 ? '' : 's'} will be queued.`;
    } else
      status.textContent = `1 run with ${String(setArguments(current(), false).length)} changed param(s).`;
  };
  form.addEventListener('input', update);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (problem() !== undefined) return;
    const name = nameInput.value.trim();
    const count = jobs();
    context.submit({
      type: 'run',
      set: setArguments(current(), grid),
      ...(grid && count !== undefined ? { jobs: count } : {}),
      ...(name === '' ? {} : { name }),
    });
    dialog.close();
  });
  dialog.addEventListener('close', () => {
    dialog.remove();
  });
  update();
  document.body.append(dialog);
  dialog.showModal();
  (fields[0]?.input ?? nameInput).focus();
}
