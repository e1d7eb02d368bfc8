// A DVC project as one Sluice manifest: tracked data becomes datasets, the
// stages one pipeline, and the top-level sections land where Sluice keeps
// them (metrics and plots on the stage that writes their file, vars and the
// params file at the top). Pure apart from reading the values files: the
// caller reads dvc.yaml and walks the folder, and writes the result.
import { existsSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import {
  convertBody,
  DEFAULT_PARAMS_FILE,
  literalPath,
  outputPath,
  plotEntry,
  type StageContext,
} from './convertStage';
import type { DvcStage, DvcTopPlot, DvcYaml } from './dvcYaml';
import type { Conversion, NotCarried, SluiceDataset, SluicePlotOptions, SluiceStage } from './model';
import { dvcRemotes, insideRoot, type ProjectScan } from './trackedData';
import { isMapping, readValuesFile, TemplateValues, wholeTemplate } from './values';

export interface ConvertInput {
  /** The project folder: where dvc.yaml is and sluice.yaml goes. */
  readonly root: string;
  readonly dvcYaml: DvcYaml;
  readonly scan: ProjectScan;
  readonly pipeline: string;
}

const NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

export function convertProject(input: ConvertInput): Conversion {
  const { root, dvcYaml, scan } = input;
  const notCarried: NotCarried[] = [];
  const report = (item: NotCarried): void => {
    notCarried.push(item);
  };
  const datasets = convertTrackedData(scan, report);
  const datasetFor = (path: string): string | undefined => {
    const holder = datasets
      .filter(
        (dataset) => path === dataset.path || path.startsWith(`${dataset.path}/`) || dataset.path === '.',
      )
      .sort((a, b) => b.path.length - a.path.length)[0];
    return holder?.name;
  };
  const { vars, values, unreadable } = convertVars(root, dvcYaml, report);
  const plotNotes = new Map<SluicePlotOptions, string>();
  const names = new Set<string>();
  const stages = dvcYaml.stages.map((stage) => {
    const name = uniqueName(sanitize(stage.name, 'stage'), names);
    if (name !== stage.name)
      report({
        what: `stage '${stage.name}'`,
        reason: `Sluice names start with a letter and hold letters, digits, _ and - only: it is written as '${name}'; rename it by hand if you prefer another`,
        code: 'stage-renamed',
      });
    const context: StageContext = {
      label: `stage '${stage.name}'`,
      datasetFor,
      values: values.with(sampleItem(stage, values, unreadable, report)),
      report,
      plotNotes,
    };
    return convertStage(stage, name, context);
  });
  const usesDefaultParams = stages.some(
    (stage) =>
      stage.body.wdir === undefined && (stage.body.params ?? []).some((param) => typeof param === 'string'),
  );
  const params =
    usesDefaultParams ||
    existsSync(join(root, DEFAULT_PARAMS_FILE)) ||
    dvcYaml.params.some((file) => insideRoot(file) === DEFAULT_PARAMS_FILE)
      ? DEFAULT_PARAMS_FILE
      : undefined;
  placeTopLevelMetrics(dvcYaml.metrics, stages, report);
  placeTopLevelPlots(root, dvcYaml.plots, stages, { report, plotNotes });
  reportTopLevelParams(dvcYaml.params, params, stages, report);
  reportProjectLeftovers(input, report);
  return {
    manifest: { params, vars, datasets, pipeline: input.pipeline, stages, plotNotes },
    notCarried,
  };
}

function convertStage(stage: DvcStage, name: string, context: StageContext): SluiceStage {
  const body = convertBody(stage.body, context);
  if (stage.kind === 'plain') return { name, dvcName: stage.name, body };
  if (stage.kind === 'matrix') return { name, dvcName: stage.name, matrix: stage.matrix, body };
  for (const key of stage.otherKeys)
    context.report({
      what: `${context.label}: ${key}`,
      reason: `a foreach stage holds \`foreach\` and \`do\` only; \`${key}\` is left out: move it under \`do\` by hand if it belongs to each stage`,
      code: 'stage-key',
    });
  return { name, dvcName: stage.name, foreach: stage.foreach, body };
}

/**
 * `item` (and `key`) as the first generated stage sees them, so that a
 * command's `${item}` is known to be a dictionary (or not); reports a
 * `${name}` source that neither the params file nor `vars` holds.
 */
function sampleItem(
  stage: DvcStage,
  values: TemplateValues,
  unreadable: readonly string[],
  report: (item: NotCarried) => void,
): Record<string, unknown> {
  const maybeFrom =
    unreadable.length === 0 ? '' : ` (it may be in ${unreadable.join(', ')}, which Sluice cannot read)`;
  const source = (text: unknown, what: string, code: 'foreach-source' | 'matrix-source'): unknown => {
    if (typeof text !== 'string') return text;
    const expression = wholeTemplate(text) ?? text;
    const found = values.resolve(expression);
    if (found.found && (Array.isArray(found.value) || (code === 'foreach-source' && isMapping(found.value))))
      return found.value;
    report({
      what: `stage '${stage.name}': ${what} ${text}`,
      reason: found.found
        ? `\`${expression}\` is not a ${code === 'foreach-source' ? 'list or mapping' : 'list'}; give the values by hand`
        : `\`${expression}\` is in neither params.yaml nor the vars of dvc.yaml${maybeFrom}; add a file that holds it to \`vars\` in sluice.yaml, or write the values in place`,
      code,
    });
    return undefined;
  };
  if (stage.kind === 'foreach') {
    const items = source(stage.foreach, 'foreach', 'foreach-source');
    if (Array.isArray(items)) return items.length > 0 ? { item: items[0] } : {};
    if (isMapping(items)) {
      const [key, item] = Object.entries(items)[0] ?? [];
      return key === undefined ? {} : { key, item };
    }
    return {};
  }
  if (stage.kind === 'matrix') {
    const item: Record<string, unknown> = {};
    for (const [variable, list] of Object.entries(stage.matrix)) {
      const resolved = source(list, `matrix ${variable}`, 'matrix-source');
      if (Array.isArray(resolved)) item[variable] = resolved[0];
    }
    return { item, key: '' };
  }
  return {};
}

function convertTrackedData(scan: ProjectScan, report: (item: NotCarried) => void): SluiceDataset[] {
  const datasets: SluiceDataset[] = [];
  const names = new Set<string>();
  for (const broken of scan.broken)
    report({
      what: `${broken.dvcFile}:${broken.line}:${broken.column}`,
      reason: `the .dvc file cannot be read (${broken.reason}); declare its data under \`datasets\` by hand`,
      code: 'dvc-file-invalid',
    });
  const sorted = [...scan.tracked].sort((a, b) => ((a.path ?? '') < (b.path ?? '') ? -1 : 1));
  for (const data of sorted) {
    if (data.path === undefined) {
      report({
        what: `${data.dvcFile}: ${data.written}`,
        reason:
          'the data lies outside this folder, and a Sluice dataset lies inside the workspace; copy or move it in and declare it by hand',
        code: 'dataset-outside',
      });
      continue;
    }
    if (datasets.some((dataset) => dataset.path === data.path)) continue;
    const name = uniqueName(sanitize(posix.basename(data.path), 'data'), names);
    datasets.push({
      name,
      path: data.path,
      dvcFile: data.dvcFile,
      ...(data.desc === undefined ? {} : { description: data.desc }),
    });
    for (const [key, value] of Object.entries(data.flags)) {
      const reason =
        key === 'cache' && value === false
          ? 'Sluice snapshots every dataset into its cache; if this data must stay out of it, remove the dataset'
          : key === 'remote'
            ? 'Sluice pushes every dataset to the workspace remote; declare that with `sluice remote add`'
            : key === 'push' && value === false
              ? 'Sluice pushes every snapshot; keep the data out of the push by hand'
              : `\`${key}\` has no Sluice equivalent`;
      if (key === 'cache' && value === true) continue;
      report({
        what: `${data.dvcFile}: ${key}`,
        reason: `${reason} (dataset '${name}')`,
        code: 'dataset-option',
      });
    }
    if (data.hasMeta)
      report({
        what: `${data.dvcFile}: meta`,
        reason: `Sluice datasets have no free-form metadata; keep what matters in the description of dataset '${name}'`,
        code: 'dataset-option',
      });
    if (data.importedFrom !== undefined)
      report({
        what: `${data.dvcFile}: imported from ${data.importedFrom}`,
        reason: `Sluice does not fetch data from its source again: dataset '${name}' is the copy on disk; refresh it by hand, then \`sluice snapshot ${name}\``,
        code: 'dataset-import',
      });
  }
  return datasets;
}

function convertVars(
  root: string,
  dvcYaml: DvcYaml,
  report: (item: NotCarried) => void,
): { vars: unknown[]; values: TemplateValues; unreadable: string[] } {
  const vars: unknown[] = [];
  const layers: Record<string, unknown>[] = [];
  const unreadable: string[] = [];
  const load = (file: string): void => {
    const read = readValuesFile(join(root, file));
    if (read.kind === 'values') layers.push({ ...read.values });
    else if (read.kind !== 'missing') unreadable.push(file);
  };
  // DVC loads the default params file first, then each entry of vars in order.
  load(DEFAULT_PARAMS_FILE);
  for (const entry of dvcYaml.vars) {
    if (entry.kind === 'values') {
      vars.push(entry.values);
      layers.push({ ...entry.values });
      continue;
    }
    const selection = /^(.+?):([\w.-]+(,[\w.-]+)*)$/.exec(entry.entry);
    const file = selection ? selection[1]! : entry.entry;
    if (file.toLowerCase().endsWith('.py')) {
      unreadable.push(file);
      report({
        what: `vars: ${entry.entry}`,
        reason:
          'Sluice reads values from YAML, JSON and TOML files, not Python; move these values into a YAML file and list it under `vars` in sluice.yaml',
        code: 'python-params',
      });
      continue;
    }
    vars.push(file);
    load(file);
    if (selection)
      report({
        what: `vars: ${entry.entry}`,
        reason: `Sluice loads the whole of ${file}, not only ${selection[2]!}: its other top-level keys become names too; rename any that clash, or split the file`,
        code: 'vars-keys',
      });
  }
  // Earlier layers win, as `TemplateValues` looks them up in order: DVC refuses a clash anyway.
  return { vars, values: TemplateValues.layered(layers), unreadable };
}

/** Each stage output (path from the project folder) with where it is declared. */
function outputsOf(stage: SluiceStage): { list: 'outs' | 'metrics'; index: number; path: string }[] {
  if (stage.foreach !== undefined || stage.matrix !== undefined) return [];
  return (['outs', 'metrics'] as const).flatMap((list) =>
    (stage.body[list] ?? []).flatMap((output, index) => {
      const path = literalPath(stage.body.wdir, outputPath(output));
      return path === undefined ? [] : [{ list, index, path }];
    }),
  );
}

function placeTopLevelMetrics(
  files: readonly string[],
  stages: readonly SluiceStage[],
  report: (item: NotCarried) => void,
): void {
  for (const file of files) {
    const path = insideRoot(file);
    const writer = stages
      .flatMap((stage) => outputsOf(stage).map((output) => ({ stage, ...output })))
      .find((output) => output.path === path);
    if (writer === undefined) {
      report({
        what: `metrics: ${file}`,
        reason:
          'no stage writes this file, and Sluice metrics are files a stage writes; declare it under the `metrics` of the stage that writes it',
        code: 'metrics-no-stage',
      });
      continue;
    }
    if (writer.list === 'metrics') continue;
    const { body } = writer.stage;
    const [output] = body.outs!.splice(writer.index, 1);
    if (body.outs!.length === 0) delete body.outs;
    body.metrics = [...(body.metrics ?? []), output!];
  }
}

function placeTopLevelPlots(
  root: string,
  plots: readonly DvcTopPlot[],
  stages: readonly SluiceStage[],
  context: Pick<StageContext, 'report' | 'plotNotes'>,
): void {
  for (const plot of plots) {
    const flags = plot.flags ?? {};
    const what = `plots: ${plot.id}`;
    const x = flags['x'];
    const y = flags['y'];
    const files = new Set<string>();
    if (isMapping(y)) Object.keys(y).forEach((file) => files.add(file));
    if (isMapping(x)) Object.keys(x).forEach((file) => files.add(file));
    if (!isMapping(y)) files.add(plot.id);
    if (files.size > 1) {
      context.report({
        what,
        reason: `it draws ${[...files].join(', ')} together, and a Sluice plot draws one file; add one plot per file to the stages that write them`,
        code: 'plot-several-files',
      });
      continue;
    }
    const file = [...files][0]!;
    const path = insideRoot(file);
    const writer =
      path === undefined
        ? undefined
        : stages.find((stage) =>
            outputsOf(stage).some((output) => output.path === path || path.startsWith(`${output.path}/`)),
          );
    if (writer === undefined || path === undefined) {
      context.report({
        what,
        reason: `no stage writes ${file}, and a Sluice plot belongs to the stage that writes its file; add it to that stage's \`plots\` by hand`,
        code: 'plot-no-stage',
      });
      continue;
    }
    if (isDirectory(join(root, path))) {
      context.report({
        what,
        reason: `${file} is a folder, and a Sluice plot names one file; list each file of it under the \`plots\` of stage '${writer.name}'`,
        code: 'plot-folder',
      });
      continue;
    }
    for (const key of Object.keys(flags).filter(
      (key) => !['x', 'y', 'x_label', 'y_label', 'title', 'template'].includes(key),
    ))
      context.report({
        what: `${what}: ${key}`,
        reason: `\`${key}\` has no Sluice equivalent; it is left out`,
        code: 'plot-option',
      });
    const drawn: Record<string, unknown> = { ...flags };
    if (isMapping(x)) drawn['x'] = x[file];
    if (isMapping(y)) drawn['y'] = y[file];
    // DVC titles a named plot after its id; Sluice after its file, unless told.
    if (file !== plot.id && drawn['title'] === undefined) drawn['title'] = plot.id;
    const inWdir =
      writer.body.wdir === undefined ? path : posix.relative(posix.normalize(writer.body.wdir), path);
    const entry = plotEntry(inWdir, drawn, what, context);
    const body = writer.body;
    const existing = (body.plots ?? []).findIndex(
      (known) => (typeof known === 'string' ? known : known.path) === inWdir,
    );
    if (existing === -1) body.plots = [...(body.plots ?? []), entry];
    else {
      // The stage already draws this file: the top-level options add to (and override) its own.
      const known = body.plots![existing]!;
      if (typeof entry !== 'string')
        body.plots![existing] = typeof known === 'string' ? entry : { ...known, ...entry };
    }
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function reportTopLevelParams(
  files: readonly string[],
  params: string | undefined,
  stages: readonly SluiceStage[],
  report: (item: NotCarried) => void,
): void {
  const read = new Set<string>();
  for (const stage of stages)
    for (const param of stage.body.params ?? []) {
      if (typeof param === 'string') continue;
      for (const file of Object.keys(param)) {
        const path = literalPath(stage.body.wdir, file);
        if (path !== undefined) read.add(path);
      }
    }
  for (const file of files) {
    const path = insideRoot(file);
    if (path !== undefined && (read.has(path) || path === params)) continue;
    report({
      what: `params: ${file}`,
      reason:
        "Sluice tracks params a stage reads; no stage reads this file, so its values are not compared across runs; list the keys a stage reads under that stage's `params`",
      code: 'params-file',
    });
  }
}

function reportProjectLeftovers(input: ConvertInput, report: (item: NotCarried) => void): void {
  const { dvcYaml, scan, root } = input;
  for (const artifact of dvcYaml.artifacts)
    report({
      what: `artifacts: ${artifact.id}`,
      reason: `Sluice has no model registry; ${artifact.path === undefined ? 'the artifact' : artifact.path} stays what a stage writes (an output) or a dataset, and a release records it`,
      code: 'artifacts',
    });
  for (const key of dvcYaml.unknownKeys)
    report({
      what: `dvc.yaml: ${key}`,
      reason: `\`${key}\` is not part of DVC's dvc.yaml format and has no Sluice equivalent; it is left out`,
      code: 'unknown-key',
    });
  for (const stageFile of scan.stageFiles)
    report({
      what: stageFile,
      reason:
        'an old-style DVC stage file (it has a `cmd`), which DVC 2 and later no longer read either; declare its stage under the pipeline by hand',
      code: 'dvc-file-stage',
    });
  for (const other of scan.otherPipelines)
    report({
      what: other,
      reason:
        'its stages are not carried: one sluice.yaml holds the workspace; copy them into a pipeline of this one by hand, or run `sluice import-dvc` in that folder for a workspace of its own',
      code: 'other-dvc-yaml',
    });
  for (const remote of dvcRemotes(root))
    report({
      what: `.dvc/config: remote ${remote.name}`,
      reason: `Sluice keeps its own remotes: run \`sluice remote add ${remote.name} ${remote.url === '' ? 'URL' : remote.url}\` (a folder, ssh:// or s3://) and push again`,
      code: 'dvc-remote',
    });
  if (existsSync(join(root, 'dvc.lock')))
    report({
      what: 'dvc.lock',
      reason:
        "the hashes of DVC's last run are not carried: the first `sluice run` runs every stage once and records its outputs",
      code: 'dvc-lock',
    });
}

function sanitize(name: string, prefix: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9_-]/g, '_');
  return NAME.test(cleaned) ? cleaned : `${prefix}-${cleaned}`;
}

function uniqueName(name: string, taken: Set<string>): string {
  let unique = name;
  for (let suffix = 2; taken.has(unique); suffix++) unique = `${name}-${suffix}`;
  taken.add(unique);
  return unique;
}
