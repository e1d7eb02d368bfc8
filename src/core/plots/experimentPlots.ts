// Plots of the experiments table itself, for the editor's Plots view: each
// metric across the selected experiments (oldest first), and each numeric
// param that varies among them against each metric. experimentPlots is pure
// (the table in, PlotViews out, in the shape the page draws); plotsForExperiments
// reads the table and the stage plot files of each selected experiment and
// puts both into one PlotsDocument, every source labelled the same way.
import { SluiceError } from '../errors';
import { resolveRevision } from '../experiments/revisions';
import { showExperiments } from '../experiments/show';
import type { ExperimentTable } from '../experiments/table';
import { shortId } from '../format';
import type { Workspace } from '../workspace';
import { collectPlots, type CollectPlotsOptions } from './collect';
import type { PlotError, PlotRow, PlotsDocument, PlotSourceData, PlotView } from './document';
import { plotSources, WORKSPACE_SOURCE, type PlotSource } from './sources';

/** More trend charts than this bury the one a person looks for; the view lets them choose. */
export const MAX_TREND_PLOTS = 8;
/** Params drawn against the metrics when none are chosen. */
export const MAX_SCATTER_PARAMS = 3;
/** Param/metric pairs drawn at most, chosen or not. */
export const MAX_SCATTER_PLOTS = 12;

/** The field naming each point of a trend: its source's label, on a category axis. */
export const TREND_X_FIELD = 'experiment';

/** A revision's own values: the workspace's params file and metric files as they are on disk. */
export interface RevisionValues {
  readonly params: Readonly<Record<string, unknown>>;
  readonly metrics: Readonly<Record<string, number>>;
}

export interface ExperimentPlotsOptions {
  /** Params drawn against metrics; default: the numeric ones that vary among the selected (the first MAX_SCATTER_PARAMS). */
  readonly params?: readonly string[] | undefined;
  /** Metrics drawn; default: those a selected run has, the ones that vary first (the first MAX_TREND_PLOTS). */
  readonly metrics?: readonly string[] | undefined;
  /** The workspace's values, when `workspace` is among the ids (it is no row of the table). */
  readonly workspace?: RevisionValues | undefined;
}

/** One selected revision, as every plot of the document names it. */
export interface SelectedExperiment extends RevisionValues {
  /** The record's id, or `workspace`. */
  readonly id: string;
  /** Its name, with a short id when two selected share one. */
  readonly label: string;
}

export interface Selection {
  /** Oldest first, the workspace (now) last: the order of the trends' axis and of the document's sources. */
  readonly selected: readonly SelectedExperiment[];
  /** Ids asked for that the table does not hold (removed since they were chosen). */
  readonly unknown: readonly string[];
}

/** The rows of `ids`, oldest first, each with a label unique in the selection. */
export function selectExperiments(
  table: ExperimentTable,
  ids: readonly string[],
  workspace?: RevisionValues,
): Selection {
  const rows = new Map(table.experiments.map((row) => [row.id, row]));
  const unknown: string[] = [];
  const timed: { id: string; name: string; time: number; values: RevisionValues }[] = [];
  for (const id of new Set(ids)) {
    const row = rows.get(id);
    if (row !== undefined) timed.push({ id, name: row.name, time: Date.parse(row.time), values: row });
    else if (id === WORKSPACE_SOURCE && workspace !== undefined)
      // The files on disk are as of now: after every record.
      timed.push({ id, name: WORKSPACE_SOURCE, time: Number.POSITIVE_INFINITY, values: workspace });
    else unknown.push(id);
  }
  timed.sort((a, b) => a.time - b.time || a.id.localeCompare(b.id));
  const names = new Map<string, number>();
  for (const { name } of timed) names.set(name, (names.get(name) ?? 0) + 1);
  const taken = new Set<string>();
  const selected = timed.map(({ id, name, values }) => {
    let label = names.get(name)! > 1 && id !== WORKSPACE_SOURCE ? `${name} (${shortId(id)})` : name;
    // Ids that share their first characters too: a counter is all that is left to tell them apart.
    for (let n = 2; taken.has(label); n++) label = `${name} (${shortId(id)}) #${String(n)}`;
    taken.add(label);
    return { id, label, params: values.params, metrics: values.metrics };
  });
  return { selected, unknown };
}

/** The trend and param/metric plots of the experiments `ids`, sources in selectExperiments' order. */
export function experimentPlots(
  table: ExperimentTable,
  ids: readonly string[],
  options: ExperimentPlotsOptions = {},
): PlotView[] {
  return plotsOfSelection(selectExperiments(table, ids, options.workspace).selected, options);
}

/** The derived plots of a selection; a single run has no trend and nothing varies. */
export function plotsOfSelection(
  selected: readonly SelectedExperiment[],
  options: Pick<ExperimentPlotsOptions, 'params' | 'metrics'> = {},
): PlotView[] {
  if (selected.length < 2) return [];
  const metrics = chosenMetrics(selected, options.metrics);
  const trends = metrics.map((metric) => trendPlot(selected, metric));
  // A metric every run has the same value of draws a flat row of points against any param.
  const scatterMetrics =
    options.metrics === undefined ? metrics.filter((metric) => varies(selected, metric, 'metrics')) : metrics;
  const scatters: PlotView[] = [];
  for (const param of chosenParams(selected, options.params))
    for (const metric of scatterMetrics)
      if (scatters.length < MAX_SCATTER_PLOTS) scatters.push(scatterPlot(selected, param, metric));
  return [...trends, ...scatters];
}

function numberOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function varies(selected: readonly SelectedExperiment[], key: string, where: 'params' | 'metrics'): boolean {
  const values = new Set(selected.flatMap((run) => numberOf(run[where][key]) ?? []));
  return values.size > 1;
}

function chosenMetrics(
  selected: readonly SelectedExperiment[],
  asked: readonly string[] | undefined,
): string[] {
  const present = [...new Set(selected.flatMap((run) => Object.keys(run.metrics)))].sort();
  if (asked !== undefined) return asked.filter((metric) => present.includes(metric));
  const moving = present.filter((metric) => varies(selected, metric, 'metrics'));
  const flat = present.filter((metric) => !moving.includes(metric));
  return [...moving, ...flat].slice(0, MAX_TREND_PLOTS);
}

function chosenParams(
  selected: readonly SelectedExperiment[],
  asked: readonly string[] | undefined,
): string[] {
  const numeric = [...new Set(selected.flatMap((run) => Object.keys(run.params)))]
    .sort()
    .filter((param) => selected.some((run) => numberOf(run.params[param]) !== undefined));
  if (asked !== undefined) return asked.filter((param) => numeric.includes(param));
  return numeric.filter((param) => varies(selected, param, 'params')).slice(0, MAX_SCATTER_PARAMS);
}

function absent(label: string, what: string, data: Readonly<Record<string, unknown>>): PlotSourceData {
  const error: PlotError = {
    code: 'plot-value-missing',
    message: `${label} has no ${what}.`,
    hint: null,
    data,
  };
  return { label, kind: 'error', error };
}

function trendPlot(selected: readonly SelectedExperiment[], metric: string): PlotView {
  return {
    id: `experiments:trend:${metric}`,
    path: metric,
    stage: '',
    title: metric,
    template: 'line',
    fields: { x: TREND_X_FIELD, y: [metric], actual: null, predicted: null },
    xLabel: 'experiment, oldest first',
    yLabel: metric,
    sources: selected.map((run): PlotSourceData => {
      const value = numberOf(run.metrics[metric]);
      if (value === undefined) return absent(run.label, `metric ${metric}`, { metric });
      const row: PlotRow = { [TREND_X_FIELD]: run.label, [metric]: value };
      return { label: run.label, kind: 'rows', rows: [row] };
    }),
    derived: { kind: 'trend', metric },
  };
}

function scatterPlot(selected: readonly SelectedExperiment[], param: string, metric: string): PlotView {
  return {
    id: `experiments:param:${param}:${metric}`,
    path: metric,
    stage: '',
    title: `${metric} against ${param}`,
    template: 'scatter',
    fields: { x: param, y: [metric], actual: null, predicted: null },
    xLabel: param,
    yLabel: metric,
    sources: selected.map((run): PlotSourceData => {
      const x = numberOf(run.params[param]);
      if (x === undefined) return absent(run.label, `numeric param ${param}`, { param });
      const y = numberOf(run.metrics[metric]);
      if (y === undefined) return absent(run.label, `metric ${metric}`, { metric });
      return { label: run.label, kind: 'rows', rows: [{ [param]: x, [metric]: y }] };
    }),
    derived: { kind: 'param-metric', param, metric },
  };
}

export interface ExperimentPlotsResult {
  /** The stage plot files of every selected run overlaid, then the trends and the param/metric plots. */
  readonly document: PlotsDocument;
  /** Ids that name no record any more: left out, for the view to say so. */
  readonly unknown: readonly string[];
}

/**
 * Everything the Plots view draws for the experiments `ids` (record ids, or
 * `workspace` for the files on disk): one source per run, oldest first. Throws
 * `not-found` when none of them exists any more.
 */
export async function plotsForExperiments(
  workspace: Workspace,
  ids: readonly string[],
  options: Omit<ExperimentPlotsOptions, 'workspace'> & CollectPlotsOptions = {},
): Promise<ExperimentPlotsResult> {
  const table = await showExperiments(workspace, {});
  const own = ids.includes(WORKSPACE_SOURCE) ? await resolveRevision(workspace, WORKSPACE_SOURCE) : undefined;
  const { selected, unknown } = selectExperiments(table, ids, own);
  if (selected.length === 0)
    throw new SluiceError(
      ids.length === 1
        ? `Experiment ${shortId(ids[0]!)} does not exist any more.`
        : `None of the ${String(ids.length)} experiments to plot exists any more.`,
      'failed',
      'Choose others with Sluice: Show Plots, or `sluice exp list`.',
      { code: 'not-found', data: { sought: 'experiment', id: ids.join(' ') } },
    );
  const revisions = await plotSources(
    workspace,
    selected.map((run) => run.id),
  );
  // The table's names, not the revisions' own labels, so the file plots and the trends name a run alike.
  const sources: PlotSource[] = revisions.map((revision, at) => ({
    label: selected[at]!.label,
    read: (path) => revision.read(path),
  }));
  const files = await collectPlots(workspace, sources, options);
  return { document: { ...files, plots: [...files.plots, ...plotsOfSelection(selected, options)] }, unknown };
}
