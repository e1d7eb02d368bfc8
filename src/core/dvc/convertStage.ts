// One DVC stage body (a plain stage, a foreach's `do`, a matrix stage) in
// Sluice's syntax: `cmd` becomes `run`, deps on tracked data become dataset
// references, outputs keep `cache` and `persist`, stage-level plots become an
// output plus a Sluice plot. Whatever has no Sluice equivalent is reported,
// never dropped in silence.
import { posix } from 'node:path';
import type { DvcOutput, DvcParam, DvcStageBody } from './dvcYaml';
import type {
  NotCarried,
  PlotTemplate,
  SluiceOutput,
  SluiceParam,
  SluicePlot,
  SluicePlotOptions,
  SluiceStageBody,
} from './model';
import { insideRoot } from './trackedData';
import { isMapping, templateExpressions, type TemplateValues } from './values';

export const DEFAULT_PARAMS_FILE = 'params.yaml';

export interface StageContext {
  /** How lines name the stage: `stage 'train'`. */
  readonly label: string;
  /** The dataset whose path is, or holds, this path from the project folder. */
  readonly datasetFor: (path: string) => string | undefined;
  /** What `${…}` can name here (with a foreach's `item` and `key`). */
  readonly values: TemplateValues;
  readonly report: (item: NotCarried) => void;
  readonly plotNotes: Map<SluicePlotOptions, string>;
}

/** DVC's built-in plot templates, as the Sluice template that draws them. */
const TEMPLATES: Readonly<Record<string, PlotTemplate>> = {
  linear: 'line',
  smooth: 'line',
  simple: 'line',
  scatter: 'scatter',
  bar_horizontal: 'bar',
  bar_horizontal_sorted: 'bar',
  confusion: 'confusion',
  confusion_normalized: 'confusion',
};

/** What an output option is in DVC, for the lines that say why it is not carried. */
const OUTPUT_OPTIONS: Readonly<Record<string, string>> = {
  remote: 'Sluice pushes every output to the workspace remote (`sluice remote`)',
  push: 'Sluice pushes every cached output; use `cache: false` to keep it out of the cache and the remote',
  checkpoint: 'checkpoint experiments are gone from DVC 3 and Sluice has none',
  desc: 'Sluice outputs have no description; write it as a YAML comment',
  type: 'Sluice has no artifact types',
  labels: 'Sluice has no artifact labels',
  meta: 'Sluice outputs have no free-form metadata; keep it as a YAML comment',
};

const PLOT_FIELDS = new Set(['x', 'y', 'x_label', 'y_label', 'title', 'template']);

export function convertBody(body: DvcStageBody, context: StageContext): SluiceStageBody {
  const { label, report } = context;
  const wdir = body.wdir === undefined || posix.normalize(body.wdir) === '.' ? undefined : body.wdir;
  const stage: SluiceStageBody = { run: body.cmd.join(' && ') };
  if (body.desc !== undefined) stage.description = body.desc;
  if (wdir !== undefined) stage.wdir = wdir;
  const datasets: string[] = [];
  const deps: string[] = [];
  for (const dep of body.deps) {
    const fromRoot = literalPath(wdir, dep);
    const dataset = fromRoot === undefined ? undefined : context.datasetFor(fromRoot);
    if (dataset === undefined) deps.push(dep);
    else if (!datasets.includes(dataset)) datasets.push(dataset);
  }
  if (datasets.length > 0) stage.datasets = datasets;
  if (deps.length > 0) stage.deps = deps;
  const params = convertParams(body.params, wdir, context);
  if (params.length > 0) stage.params = params;
  const outs = body.outs.map((out) => convertOutput(out, `${label}: outs ${out.path}`, report));
  const metrics = body.metrics.map((out) => convertOutput(out, `${label}: metrics ${out.path}`, report));
  const plots: SluicePlot[] = [];
  for (const plot of body.plots) {
    const what = `${label}: plots ${plot.path}`;
    const outputFlags = Object.fromEntries(
      Object.entries(plot.flags).filter(([key]) => !PLOT_FIELDS.has(key)),
    );
    // A stage-level plot is an output in DVC: Sluice lists it as one, and draws it.
    const declared = [...outs, ...metrics].some((out) => outputPath(out) === plot.path);
    if (!declared)
      outs.push(convertOutput({ path: plot.path, flags: outputFlags }, what, report, ['header']));
    const drawn = Object.fromEntries(Object.entries(plot.flags).filter(([key]) => PLOT_FIELDS.has(key)));
    if (plot.flags['header'] === false)
      report({
        what: `${what}: header: false`,
        reason:
          'Sluice reads the first line of a CSV or TSV file as its header; write a header line into the file',
        code: 'plot-option',
      });
    plots.push(plotEntry(plot.path, drawn, what, context));
  }
  if (outs.length > 0) stage.outs = outs;
  if (metrics.length > 0) stage.metrics = metrics;
  if (plots.length > 0) stage.plots = plots;
  if (body.frozen) stage.frozen = true;
  if (body.alwaysChanged) stage.always_changed = true;
  if (body.hasMeta)
    report({
      what: `${label}: meta`,
      reason:
        'Sluice stages have no free-form metadata; keep it as a YAML comment above the stage in sluice.yaml',
      code: 'stage-meta',
    });
  if (body.hasVars)
    report({
      what: `${label}: vars`,
      reason:
        "Sluice has values for the whole manifest only; move these values (or files) into the top-level `vars` of sluice.yaml, renaming any that clash, or the stage's `${…}` will not resolve",
      code: 'stage-vars',
    });
  for (const key of body.otherKeys)
    report({
      what: `${label}: ${key}`,
      reason: `\`${key}\` is not part of DVC's stage format and has no Sluice equivalent; carry what it does by hand`,
      code: 'stage-key',
    });
  reportUnpacking(body.cmd, context);
  return stage;
}

/** A path from the project folder, for a path of a stage with `wdir`; undefined when templated or outside. */
export function literalPath(wdir: string | undefined, path: string): string | undefined {
  if (path.includes('${') || (wdir?.includes('${') ?? false)) return undefined;
  return insideRoot(posix.join(wdir ?? '.', path));
}

export function outputPath(output: SluiceOutput): string {
  return typeof output === 'string' ? output : output.path;
}

function convertParams(
  params: readonly DvcParam[],
  wdir: string | undefined,
  context: StageContext,
): SluiceParam[] {
  const converted: SluiceParam[] = [];
  // DVC reads a stage's bare keys from params.yaml in its wdir: with a wdir, that file is named.
  let defaultFileKeys: string[] | undefined;
  for (const param of params) {
    if (param.kind === 'key') {
      if (wdir === undefined) converted.push(param.key);
      else if (defaultFileKeys === undefined) {
        defaultFileKeys = [param.key];
        converted.push({ [DEFAULT_PARAMS_FILE]: defaultFileKeys });
      } else defaultFileKeys.push(param.key);
      continue;
    }
    if (param.file.toLowerCase().endsWith('.py')) {
      context.report({
        what: `${context.label}: params ${param.file}`,
        reason:
          'Sluice reads params from YAML, JSON and TOML files, not Python; move these values into a YAML file and list its keys under the stage params',
        code: 'python-params',
      });
      continue;
    }
    converted.push({ [param.file]: param.keys === null ? null : [...param.keys] });
  }
  return converted;
}

/** An output in Sluice's syntax, reporting the options it has no place for (`skip`: handled elsewhere). */
export function convertOutput(
  output: DvcOutput,
  what: string,
  report: (item: NotCarried) => void,
  skip: readonly string[] = [],
): SluiceOutput {
  const options: { cache?: boolean; persist?: boolean } = {};
  for (const [key, value] of Object.entries(output.flags)) {
    if (skip.includes(key)) continue;
    if (key === 'cache' || key === 'persist') {
      if (typeof value !== 'boolean') {
        report({
          what: `${what}: ${key}`,
          reason: `\`${key}\` must be true or false; set it by hand`,
          code: 'output-option',
        });
        continue;
      }
      // Only what differs from the defaults is written: cache true, persist false.
      if (key === 'cache' && !value) options.cache = false;
      if (key === 'persist' && value) options.persist = true;
      continue;
    }
    report({
      what: `${what}: ${key}`,
      reason: `${OUTPUT_OPTIONS[key] ?? `\`${key}\` has no Sluice equivalent`}; it is left out`,
      code: 'output-option',
    });
  }
  return Object.keys(options).length === 0 ? output.path : { path: output.path, ...options };
}

/**
 * A Sluice plot of `path` drawn as DVC's `flags` say (x, y, template, title,
 * labels), already reduced to one file; `title` defaults to nothing.
 */
export function plotEntry(
  path: string,
  flags: Readonly<Record<string, unknown>>,
  what: string,
  context: Pick<StageContext, 'report' | 'plotNotes'>,
): SluicePlot {
  const plot: SluicePlotOptions = { path };
  const text = (key: string): string | undefined => (typeof flags[key] === 'string' ? flags[key] : undefined);
  const y = flags['y'];
  const ys =
    typeof y === 'string' ? [y] : Array.isArray(y) ? y.filter((field) => typeof field === 'string') : [];
  const written = text('template');
  const template = written === undefined ? undefined : TEMPLATES[written];
  if (written !== undefined && template === undefined)
    context.report({
      what: `${what}: template ${written}`,
      reason: `Sluice draws line, scatter, bar and confusion plots only; the plot is drawn as a line: pick the nearest by hand`,
      code: 'plot-template',
    });
  if (template === 'confusion') {
    if (text('x') === undefined || ys.length !== 1) {
      context.report({
        what: `${what}: template ${written ?? ''}`,
        reason:
          'a Sluice confusion plot needs one column of actual classes (DVC x) and one of predicted classes (DVC y); the plot is drawn as a line: set template, actual and predicted by hand',
        code: 'plot-confusion',
      });
    } else {
      plot.template = 'confusion';
      plot.actual = text('x')!;
      plot.predicted = ys[0]!;
    }
  } else {
    if (template !== undefined && template !== 'line') plot.template = template;
    if (text('x') !== undefined) plot.x = text('x')!;
    if (typeof y === 'string') plot.y = y;
    else if (ys.length > 0) plot.y = ys;
  }
  for (const key of ['title', 'x_label', 'y_label'] as const)
    if (text(key) !== undefined) plot[key] = text(key)!;
  // DVC templates that Sluice draws the nearest way: said in a comment above the plot.
  if (written !== undefined && template !== undefined && written !== template && written !== 'linear')
    context.plotNotes.set(plot, `DVC template: ${written}`);
  return Object.keys(plot).length === 1 ? path : plot;
}

/** `${dict}` in a command: DVC unpacks it into `--key value` flags; Sluice copies templates as they are. */
function reportUnpacking(commands: readonly string[], context: StageContext): void {
  const seen = new Set<string>();
  for (const command of commands)
    for (const expression of templateExpressions(command)) {
      if (seen.has(expression)) continue;
      const found = context.values.resolve(expression);
      if (!found.found || !isMapping(found.value)) continue;
      seen.add(expression);
      context.report({
        what: `${context.label}: cmd \${${expression}}`,
        reason:
          'DVC unpacks a dictionary in a command into `--key value` flags, which Sluice does not do; write the flags out in `run` (each as `${' +
          expression +
          '.key}`)',
        code: 'dict-unpacking',
      });
    }
}
