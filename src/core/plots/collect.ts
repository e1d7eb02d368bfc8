// Every plot the manifest declares, read from each source and made ready to
// draw: the PlotsDocument both faces render. A source that lacks a file, or
// whose file cannot be drawn, gets an error in its place, so one bad revision
// never hides the others; the caller decides whether that fails the command.
import { asSluiceError, CancelledError, SluiceError } from '../errors';
import { formatBytes } from '../format';
import type { Manifest } from '../manifest/model';
import { planWorkspace, type PlotPlan, type StagePlan } from '../pipelines/plan';
import { plotFailure, readPlotTable, type PlotFileName, type PlotTable } from './data';
import {
  PLOTS_DOCUMENT_FORMAT,
  type PlotError,
  type PlotFields,
  type PlotRow,
  type PlotsDocument,
  type PlotSourceData,
  type PlotView,
} from './document';
import { WORKSPACE_SOURCE, type PlotSource } from './sources';

export interface CollectPlotsOptions {
  /** The largest image embedded, in bytes (default DEFAULT_MAX_IMAGE_BYTES). */
  readonly maxImageBytes?: number;
  /** The largest data file read, in bytes (default DEFAULT_MAX_DATA_BYTES). */
  readonly maxDataBytes?: number;
  readonly signal?: AbortSignal;
}

/** An image travels base64 inside the page (a third larger): past this the page gets slow to open. */
export const DEFAULT_MAX_IMAGE_BYTES = 5 * 1024 * 1024;
/** A chart of a data file this large already holds more points than a canvas shows. */
export const DEFAULT_MAX_DATA_BYTES = 20 * 1024 * 1024;

export async function collectPlots(
  workspace: { readonly manifest: Manifest },
  sources: readonly PlotSource[],
  options: CollectPlotsOptions = {},
): Promise<PlotsDocument> {
  const declared = declaredPlots(workspace.manifest);
  const seen = new Map<string, number>();
  const plots: PlotView[] = [];
  for (const { stage, plot } of declared) {
    if (options.signal?.aborted === true) throw new CancelledError('Reading the plots');
    const count = (seen.get(plot.path) ?? 0) + 1;
    seen.set(plot.path, count);
    const id = count === 1 ? plot.path : `${plot.path}#${count}`;
    const reads = await Promise.all(sources.map((source) => readFrom(source, stage, plot)));
    plots.push(
      plot.file.kind === 'image'
        ? imageView(id, stage, plot, plot.file.mime, reads, options)
        : dataView(id, stage, plot, reads, options),
    );
  }
  return {
    format: PLOTS_DOCUMENT_FORMAT,
    name: workspace.manifest.name ?? null,
    sources: sources.map((source) => source.label),
    plots,
  };
}

/** The first source of any plot that could not be drawn, in document order. */
export function firstPlotError(
  document: PlotsDocument,
): { readonly plot: PlotView; readonly label: string; readonly error: PlotError } | undefined {
  for (const plot of document.plots) {
    // A revision that has no such file is no failure while another revision draws it: overlays of
    // runs from before a plot was added show what they can.
    const drawn = plot.sources.some((source) => source.kind !== 'error');
    for (const source of plot.sources)
      if (source.kind === 'error' && !(drawn && source.error.code === 'plot-missing'))
        return { plot, label: source.label, error: source.error };
  }
  return undefined;
}

/** The plots of every stage, pipelines and stages in manifest order. */
function declaredPlots(manifest: Manifest): { stage: StagePlan; plot: PlotPlan }[] {
  const plan = planWorkspace(manifest);
  const result: { stage: StagePlan; plot: PlotPlan }[] = [];
  for (const pipeline of manifest.pipelines.values()) {
    const stages = new Map((plan.pipelines.get(pipeline.name)?.stages ?? []).map((s) => [s.name, s]));
    for (const name of pipeline.stages.keys()) {
      const stage = stages.get(name);
      for (const plot of stage?.plots ?? []) result.push({ stage: stage!, plot });
    }
  }
  return result;
}

type Read =
  | { readonly label: string; readonly file: PlotFileName; readonly bytes: Buffer }
  | { readonly label: string; readonly error: PlotError };

function fileName(source: PlotSource, path: string): PlotFileName {
  return { path, shown: source.label === WORKSPACE_SOURCE ? path : `${path} (${source.label})` };
}

async function readFrom(source: PlotSource, stage: StagePlan, plot: PlotPlan): Promise<Read> {
  const file = fileName(source, plot.path);
  const failed = (error: SluiceError): Read => ({ label: source.label, error: error.toJSON() });
  let bytes: Buffer | undefined;
  try {
    bytes = await source.read(plot.path);
  } catch (error) {
    const known = asSluiceError(error);
    if (known === undefined) throw error;
    return failed(known);
  }
  if (bytes === undefined)
    return failed(
      plotFailure(
        file,
        'plot-missing',
        ' does not exist.',
        source.label === WORKSPACE_SOURCE
          ? `Run the stage that writes it: sluice run ${stage.id}.`
          : `That revision has no such file; plot the revisions that do.`,
        { stage: stage.id },
      ),
    );
  return { label: source.label, file, bytes };
}

function tooLarge(file: PlotFileName, bytes: number, limit: number, what: string, hint: string): SluiceError {
  return plotFailure(
    file,
    'plot-too-large',
    ` is ${formatBytes(bytes)}, more than the ${formatBytes(limit)} a plots page takes for ${what}.`,
    hint,
    { bytes, limit },
  );
}

function imageView(
  id: string,
  stage: StagePlan,
  plot: PlotPlan,
  mime: string,
  reads: readonly Read[],
  options: CollectPlotsOptions,
): PlotView {
  const limit = options.maxImageBytes ?? DEFAULT_MAX_IMAGE_BYTES;
  const sources = reads.map((read): PlotSourceData => {
    if ('error' in read) return { label: read.label, kind: 'error', error: read.error };
    if (read.bytes.length > limit)
      return {
        label: read.label,
        kind: 'error',
        error: tooLarge(
          read.file,
          read.bytes.length,
          limit,
          'an image',
          'Save it smaller: fewer pixels, or JPEG for a photograph.',
        ).toJSON(),
      };
    return {
      label: read.label,
      kind: 'image',
      mime,
      dataUri: `data:${mime};base64,${read.bytes.toString('base64')}`,
      bytes: read.bytes.length,
    };
  });
  return {
    id,
    path: plot.path,
    stage: stage.id,
    title: plot.title ?? plot.path,
    template: 'image',
    fields: { x: null, y: [], actual: null, predicted: null },
    xLabel: '',
    yLabel: '',
    sources,
  };
}

type Parsed =
  | { readonly label: string; readonly file: PlotFileName; readonly table: PlotTable }
  | { readonly label: string; readonly error: PlotError };

function dataView(
  id: string,
  stage: StagePlan,
  plot: PlotPlan,
  reads: readonly Read[],
  options: CollectPlotsOptions,
): PlotView {
  const limit = options.maxDataBytes ?? DEFAULT_MAX_DATA_BYTES;
  const format = plot.file.kind === 'data' ? plot.file.format : 'csv';
  const parsed = reads.map((read): Parsed => {
    if ('error' in read) return read;
    try {
      if (read.bytes.length > limit)
        throw tooLarge(
          read.file,
          read.bytes.length,
          limit,
          'a data file',
          'Write fewer rows (every n-th step), or plot a summary.',
        );
      return { label: read.label, file: read.file, table: readPlotTable(read.bytes, read.file, format) };
    } catch (error) {
      if (!(error instanceof SluiceError)) throw error;
      return { label: read.label, error: error.toJSON() };
    }
  });
  const first = parsed.find((entry) => 'table' in entry);
  const fields = resolveFields(plot, first && 'table' in first ? first.table : undefined);
  const sources = parsed.map((entry): PlotSourceData => {
    if ('error' in entry) return { label: entry.label, kind: 'error', error: entry.error };
    try {
      return drawable(entry.label, entry.file, entry.table, plot, fields);
    } catch (error) {
      if (!(error instanceof SluiceError)) throw error;
      return { label: entry.label, kind: 'error', error: error.toJSON() };
    }
  });
  const confusion = plot.template === 'confusion';
  const axis = (field: string, role: string): string => (field === role ? role : `${role} (${field})`);
  return {
    id,
    path: plot.path,
    stage: stage.id,
    title: plot.title ?? plot.path,
    template: plot.template,
    fields,
    xLabel: plot.xLabel ?? (confusion ? axis(fields.predicted ?? '', 'predicted') : (fields.x ?? 'row')),
    yLabel: plot.yLabel ?? (confusion ? axis(fields.actual ?? '', 'actual') : fields.y.join(', ')),
    sources,
  };
}

/**
 * The columns a plot draws. Written ones as written; without `x` and `y`, the
 * first column across every other numeric one, read from the first source
 * that has the file, so every revision is drawn with the same columns.
 */
function resolveFields(plot: PlotPlan, table: PlotTable | undefined): PlotFields {
  if (plot.template === 'confusion')
    return { x: null, y: [], actual: plot.actual ?? null, predicted: plot.predicted ?? null };
  if (!plot.defaults) return { x: plot.x ?? null, y: plot.y, actual: null, predicted: null };
  if (table === undefined) return { x: null, y: [], actual: null, predicted: null };
  const x = table.fields.length >= 2 ? table.fields[0]! : null;
  const y = table.fields.filter(
    (field) =>
      field !== x &&
      table.rows.some((row) => typeof row[field] === 'number') &&
      table.rows.every((row) => row[field] === null || typeof row[field] === 'number'),
  );
  return { x, y, actual: null, predicted: null };
}

function drawable(
  label: string,
  file: PlotFileName,
  table: PlotTable,
  plot: PlotPlan,
  fields: PlotFields,
): PlotSourceData {
  const confusion = plot.template === 'confusion';
  if (!confusion && fields.y.length === 0)
    throw plotFailure(
      file,
      'plot-no-numeric-field',
      ` has no column of numbers to draw (columns: ${list(table.fields)}).`,
      'Name the columns to draw with `x:` and `y:` under the plot in sluice.yaml.',
      { fields: table.fields },
    );
  const needed = confusion
    ? [fields.actual ?? '', fields.predicted ?? '']
    : [...(fields.x === null ? [] : [fields.x]), ...fields.y];
  for (const field of needed)
    if (!table.fields.includes(field))
      throw plotFailure(
        file,
        'plot-unknown-field',
        ` has no column \`${field}\`; its columns are ${list(table.fields)}.`,
        'Fix the field under the plot in sluice.yaml, or the stage that writes the file.',
        { field, fields: table.fields },
      );
  if (confusion) return matrix(label, file, table, fields.actual!, fields.predicted!);
  const numeric = plot.template === 'scatter' && fields.x !== null ? [fields.x, ...fields.y] : fields.y;
  table.rows.forEach((row, index) => {
    for (const field of numeric) {
      const value = row[field] ?? null;
      if (value === null || typeof value === 'number') continue;
      const place = table.where(index);
      throw plotFailure(
        file,
        'plot-not-numeric',
        `, ${place.text}: \`${field}\` is \`${value.length > 24 ? `${value.slice(0, 24)}…` : value}\`, not a number, and the ${plot.template} chart draws it on a numeric axis.`,
        'Write numbers in that column (an empty cell leaves a gap), or draw another column.',
        { ...(place.line === undefined ? {} : { line: place.line }), field, value },
      );
    }
  });
  const used = [...(fields.x === null ? [] : [fields.x]), ...fields.y];
  const rows = table.rows.map((row): PlotRow => {
    const kept: Record<string, PlotRow[string]> = {};
    for (const field of used) kept[field] = row[field] ?? null;
    return kept;
  });
  return { label, kind: 'rows', rows };
}

/** Counts each (actual, predicted) pair; the classes are every value either column holds. */
function matrix(
  label: string,
  file: PlotFileName,
  table: PlotTable,
  actual: string,
  predicted: string,
): PlotSourceData {
  const pairs = table.rows.map((row, index): [string, string] => {
    const pair = [row[actual], row[predicted]];
    const empty = pair.findIndex((value) => value === null);
    if (empty !== -1) {
      const place = table.where(index);
      const field = empty === 0 ? actual : predicted;
      throw plotFailure(
        file,
        'plot-missing-value',
        `, ${place.text}: \`${field}\` is empty, and a confusion matrix counts the class of every row.`,
        'Write a class in every row, or leave such rows out of the file.',
        { ...(place.line === undefined ? {} : { line: place.line }), field },
      );
    }
    return [String(pair[0]), String(pair[1])];
  });
  const labels = [...new Set(pairs.flat())].sort(compareClasses);
  const index = new Map(labels.map((name, at) => [name, at]));
  const counts = labels.map(() => labels.map(() => 0));
  for (const [truth, guess] of pairs) counts[index.get(truth)!]![index.get(guess)!]!++;
  return { label, kind: 'matrix', labels, counts, total: pairs.length };
}

/** Numbers in numeric order (2 before 10), then text in alphabetical order. */
function compareClasses(a: string, b: string): number {
  const [x, y] = [Number(a), Number(b)];
  const [xNumber, yNumber] = [a.trim() !== '' && !Number.isNaN(x), b.trim() !== '' && !Number.isNaN(y)];
  if (xNumber && yNumber) return x - y;
  if (xNumber !== yNumber) return xNumber ? -1 : 1;
  return a.localeCompare(b);
}

function list(fields: readonly string[]): string {
  if (fields.length === 0) return 'none';
  const shown = fields.slice(0, 12).map((field) => `\`${field}\``);
  return fields.length > 12 ? `${shown.join(', ')} and ${fields.length - 12} more` : shown.join(', ');
}
