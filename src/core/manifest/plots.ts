// The rules of a stage's `plots:`, one copy for the diagnostics (here), the
// plan (pipelines/plan.ts) and the plots engine (plots/): which files can be
// plotted and how, which fields each template needs, and that a plot is an
// output some stage declares, as in DVC.
import { isWithin, lexicalEscape, normalizeRelative } from '../paths';
import type { ManifestDiagnostic } from './diagnostics';
import type { Located, Manifest, PlotDecl, PlotTemplate, StageDecl } from './model';

export const PLOT_TEMPLATES: readonly PlotTemplate[] = ['line', 'scatter', 'bar', 'confusion'];

/** Image files shown as they are, by extension, with their mime type. */
export const PLOT_IMAGE_TYPES: Readonly<Record<string, string>> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.gif': 'image/gif',
};

export type PlotDataFormat = 'csv' | 'tsv' | 'json';

const DATA_FORMATS: Readonly<Record<string, PlotDataFormat>> = {
  '.csv': 'csv',
  '.tsv': 'tsv',
  '.json': 'json',
};

/** What a plot's file is, by its extension (case does not matter); undefined when Sluice cannot plot it. */
export type PlotFile =
  | { readonly kind: 'image'; readonly mime: string }
  | { readonly kind: 'data'; readonly format: PlotDataFormat };

export function plotFileOf(path: string): PlotFile | undefined {
  const dot = path.lastIndexOf('.');
  if (dot === -1 || path.indexOf('/', dot) !== -1) return undefined;
  const extension = path.slice(dot).toLowerCase();
  const mime = PLOT_IMAGE_TYPES[extension];
  if (mime !== undefined) return { kind: 'image', mime };
  const format = DATA_FORMATS[extension];
  return format === undefined ? undefined : { kind: 'data', format };
}

/** The extensions Sluice plots, in words, for messages. */
export const PLOTTABLE_EXTENSIONS = [...Object.keys(PLOT_IMAGE_TYPES), ...Object.keys(DATA_FORMATS)].join(
  ', ',
);

function isTemplate(value: string): value is PlotTemplate {
  return (PLOT_TEMPLATES as readonly string[]).includes(value);
}

/** The template a plot is drawn with (`line` unless another known one is written). */
export function plotTemplate(plot: PlotDecl): PlotTemplate {
  const written = plot.template?.value;
  return written !== undefined && isTemplate(written) ? written : 'line';
}

/** The keys each kind of plot uses; any other key written is ignored, and said so. */
const USED_KEYS: Readonly<Record<PlotTemplate | 'image', readonly string[]>> = {
  line: ['path', 'template', 'x', 'y', 'title', 'x_label', 'y_label'],
  scatter: ['path', 'template', 'x', 'y', 'title', 'x_label', 'y_label'],
  bar: ['path', 'template', 'x', 'y', 'title', 'x_label', 'y_label'],
  confusion: ['path', 'template', 'actual', 'predicted', 'title', 'x_label', 'y_label'],
  image: ['path', 'title'],
};

/**
 * Diagnostics of every stage's plots: a file Sluice cannot plot, a field the
 * template needs and lacks, a field it would ignore, and a plot no stage
 * writes. Paths that leave the workspace are reported with every other path
 * (semantics.ts); they are skipped here.
 */
export function checkPlots(manifest: Manifest, out: ManifestDiagnostic[]): void {
  let outputs: string[] | undefined;
  for (const pipeline of manifest.pipelines.values()) {
    for (const stage of pipeline.stages.values()) {
      for (const plot of stage.plots) {
        const path = plot.path;
        if (path === undefined || lexicalEscape(path.value)) continue;
        const file = plotFileOf(normalizeRelative(path.value));
        if (file === undefined) {
          out.push({
            severity: 'error',
            code: 'plot-unknown-format',
            message: `Sluice cannot plot \`${path.value}\`: a plot is an image or a data file (${PLOTTABLE_EXTENSIONS}).`,
            start: path.start,
            end: path.end,
          });
          continue;
        }
        checkFields(stage, plot, file.kind === 'image' ? 'image' : plotTemplate(plot), out);
        outputs ??= declaredOutputs(manifest);
        const normalized = normalizeRelative(path.value);
        if (!outputs.some((output) => isWithin(normalized, output))) {
          out.push({
            severity: 'warning',
            code: 'plot-not-an-output',
            message: `No stage declares \`${path.value}\` as an output, so it is not cached or kept in releases, and other revisions cannot be plotted. Add it to the \`outs\` or \`metrics\` of the stage that writes it.`,
            start: path.start,
            end: path.end,
          });
        }
      }
    }
  }
}

function checkFields(
  stage: StageDecl,
  plot: PlotDecl,
  kind: PlotTemplate | 'image',
  out: ManifestDiagnostic[],
): void {
  const where = `Plot \`${plot.path?.value ?? ''}\` of stage \`${stage.name}\``;
  const missing = (what: string, fix: string, at: Located | undefined): void => {
    out.push({
      severity: 'error',
      code: 'plot-field-missing',
      message: `${where} ${what}: ${fix}`,
      start: at?.start ?? plot.start,
      end: at?.end ?? plot.end,
    });
  };
  if (kind === 'confusion') {
    const lacking = [plot.actual ? undefined : 'actual', plot.predicted ? undefined : 'predicted'].filter(
      (key) => key !== undefined,
    );
    if (lacking.length > 0)
      missing(
        `is a confusion matrix without ${lacking.map((key) => `\`${key}\``).join(' and ')}`,
        'name the columns holding the true and the predicted class (`actual: label`, `predicted: prediction`).',
        plot.template,
      );
  } else if (kind !== 'image' && plot.x !== undefined && (plot.y === undefined || plot.y.length === 0)) {
    missing(
      `draws \`x: ${plot.x.value}\` against nothing`,
      'add `y:` with the column (or list of columns) to draw, or remove `x` to draw every numeric column.',
      plot.x,
    );
  }
  const used = USED_KEYS[kind];
  for (const key of plot.keys) {
    if (used.includes(key.value)) continue;
    out.push({
      severity: 'warning',
      code: 'plot-field-unused',
      message:
        kind === 'image'
          ? `${where} is an image, shown as it is: \`${key.value}\` has no effect. Remove it.`
          : `${where} is drawn as \`${kind}\`, which does not use \`${key.value}\`${
              kind === 'confusion' ? ' (it counts `actual` against `predicted`)' : ''
            }. Remove it${kind === 'confusion' ? '' : ', or use `template: confusion`'}.`,
      start: key.start,
      end: key.end,
    });
  }
}

/** Every stage's outs and metrics, normalized. */
function declaredOutputs(manifest: Manifest): string[] {
  const outputs: string[] = [];
  for (const pipeline of manifest.pipelines.values())
    for (const stage of pipeline.stages.values())
      for (const output of [...stage.outs, ...stage.metrics])
        if (!lexicalEscape(output.value)) outputs.push(normalizeRelative(output.value));
  return outputs;
}
