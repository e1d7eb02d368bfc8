// Checks that need the whole manifest (and a look at the disk): references,
// cycles, overlapping outputs, paths that leave the workspace, and warnings
// about things that are legal but probably not meant.
import { lexicalEscape, normalizeRelative, type FileProbe } from '../paths';
import type { ManifestDiagnostic, QuickFix } from './diagnostics';
import { extraOptionProblem } from '../process/slurm';
import { parseSlurmMemory, parseSlurmTime } from '../process/slurmResources';
import type { EnvironmentDecl, Located, Manifest, PipelineDecl, ResourcesDecl, StageDecl } from './model';
import { closestName } from './spelling';
import { dependencyGraph, type StageEdge } from './graph';
import { checkPlots } from './plots';
import { checkProtectedPaths } from './protection';
import { checkRemotes } from './remotes';
import { describeParseFailure, parseValues, type ParsedValues } from './valueFiles';
import { contentOffset } from './yamlTree';

export { contentOffset };

export const WORKSPACE = 'workspace';

export interface SemanticContext {
  readonly text: string;
  readonly manifest: Manifest;
  readonly probe: FileProbe | undefined;
  /** Gives the 1-based line of an offset, for messages that point elsewhere. */
  readonly lineOf: (offset: number) => number;
}

/** Runs every check; yields between the larger ones (see ManifestDocument.updateInSteps). */
export function* checkSemantics(context: SemanticContext, out: ManifestDiagnostic[]): Generator<void> {
  checkReferences(context, out);
  checkEnvironmentCycles(context, out);
  yield;
  checkStageCycles(context, out);
  yield;
  checkOutputs(context, out);
  checkProtectedPaths(context.manifest, context.probe, out);
  yield;
  checkPaths(context, out);
  yield;
  checkParams(context, out);
  checkUsage(context, out);
  checkRemotes(context.text, context.manifest, out);
  checkPlots(context.manifest, out);
  checkResources(context.manifest, out);
}

/**
 * `resources:` in Slurm's own spellings: memory as `--mem` takes it, time as
 * `-t` does, extra options Sluice does not set itself. A spelling Slurm would
 * read otherwise (`16gb`, `2 hours`) is an error with the right one as a fix.
 */
function checkResources(manifest: Manifest, out: ManifestDiagnostic[]): void {
  const seen = new Set<ResourcesDecl>();
  const all: ResourcesDecl[] = [];
  for (const pipeline of manifest.pipelines.values()) {
    if (pipeline.resources) all.push(pipeline.resources);
    for (const stage of pipeline.stages.values()) if (stage.resources) all.push(stage.resources);
  }
  for (const resources of all) {
    if (seen.has(resources)) continue;
    seen.add(resources);
    for (const [field, parse] of [
      ['memory', parseSlurmMemory],
      ['time', parseSlurmTime],
    ] as const) {
      const written = resources[field];
      if (written === undefined) continue;
      const parsed = parse(written.value);
      if (parsed.ok) continue;
      out.push({
        severity: 'error',
        code: 'invalid-value',
        message: `\`resources.${field}\`: ${parsed.message}`,
        start: written.start,
        end: written.end,
        ...(parsed.suggestion !== undefined
          ? {
              fixes: [
                {
                  title: `Change to \`${parsed.suggestion}\``,
                  edits: [{ start: written.start, end: written.end, newText: parsed.suggestion }],
                  preferred: true,
                },
              ],
            }
          : {}),
      });
    }
    for (const option of resources.sbatch) {
      const problem = extraOptionProblem(option.value);
      if (problem === undefined) continue;
      out.push({
        severity: 'error',
        code: 'invalid-value',
        message: `\`${option.value}\` cannot be an extra sbatch option: ${problem}.`,
        start: option.start,
        end: option.end,
      });
    }
  }
}

/** The pipeline an environment carries: its own, its upstream's, or the only one. */
export function pipelineOf(manifest: Manifest, environment: EnvironmentDecl): string | undefined {
  const seen = new Set<string>();
  let current: EnvironmentDecl | undefined = environment;
  while (current && !seen.has(current.name)) {
    seen.add(current.name);
    if (current.pipeline) return current.pipeline.value;
    current = current.from ? manifest.environments.get(current.from.value) : undefined;
  }
  return manifest.pipelines.size === 1 ? [...manifest.pipelines.keys()][0] : undefined;
}

/** The file part of `FILE#key`, with its own range. */
export function metricFile(text: string, metric: Located): Located | undefined {
  const hash = metric.value.indexOf('#');
  if (hash <= 0) return undefined;
  const start = metric.start + contentOffset(text, metric.start);
  return { value: metric.value.slice(0, hash), start, end: start + hash };
}

function unknownReference(
  code: ManifestDiagnostic['code'],
  ref: Located,
  what: string,
  candidates: readonly string[],
  extraFixes: readonly QuickFix[] = [],
  /** Where the name was looked for, for example " in pipeline `train`". */
  scope = '',
): ManifestDiagnostic {
  const suggestion = closestName(ref.value, candidates);
  const fixes: QuickFix[] = [];
  if (suggestion) {
    fixes.push({
      title: `Change to \`${suggestion}\``,
      edits: [{ start: ref.start, end: ref.end, newText: suggestion }],
      preferred: true,
    });
  }
  fixes.push(...extraFixes);
  const known =
    candidates.length > 0
      ? `Known: ${candidates
          .slice(0, 8)
          .map((c) => `\`${c}\``)
          .join(', ')}.`
      : `None is declared.`;
  return {
    severity: 'error',
    code,
    message: suggestion
      ? `Unknown ${what} \`${ref.value}\`${scope}. Did you mean \`${suggestion}\`?`
      : `Unknown ${what} \`${ref.value}\`${scope}. ${known}`,
    start: ref.start,
    end: ref.end,
    ...(fixes.length > 0 ? { fixes } : {}),
  };
}

/** A quick fix that declares a missing dataset under `datasets:` (creating the section if needed). */
function addDatasetFix(context: SemanticContext, name: string): QuickFix {
  const { manifest, text } = context;
  const entry = `  ${name}:\n    path: data/${name}\n`;
  const section = manifest.datasetsSection;
  if (section) {
    // After the section's last line that is not blank.
    let last = section.end;
    while (last > section.start && /\s/.test(text.charAt(last - 1))) last--;
    const lineEnd = text.indexOf('\n', last);
    const at = lineEnd === -1 ? text.length : lineEnd + 1;
    const prefix = lineEnd === -1 ? '\n' : '';
    return { title: `Add dataset \`${name}\``, edits: [{ start: at, end: at, newText: prefix + entry }] };
  }
  const at = text.length;
  const prefix = text.endsWith('\n') || text.length === 0 ? '' : '\n';
  return {
    title: `Add dataset \`${name}\``,
    edits: [{ start: at, end: at, newText: `${prefix}datasets:\n${entry}` }],
  };
}

function checkReferences(context: SemanticContext, out: ManifestDiagnostic[]): void {
  const { manifest, text } = context;
  const datasetNames = [...manifest.datasets.keys()];
  const pipelineNames = [...manifest.pipelines.keys()];
  const environmentNames = [...manifest.environments.keys()];
  for (const pipeline of manifest.pipelines.values()) {
    const stageNames = [...pipeline.stages.keys(), ...pipeline.templates.keys()];
    const metricFiles = metricFilesOf(pipeline);
    for (const stage of pipeline.stages.values()) {
      for (const ref of stage.datasets) {
        if (!manifest.datasets.has(ref.value)) {
          out.push(
            unknownReference('unknown-dataset', ref, 'dataset', datasetNames, [
              addDatasetFix(context, ref.value),
            ]),
          );
        }
      }
      for (const ref of stage.needs) {
        if (!pipeline.stages.has(ref.value) && !pipeline.templates.has(ref.value)) {
          out.push(
            unknownReference(
              'unknown-stage',
              ref,
              'stage',
              stageNames,
              [],
              ` in pipeline \`${pipeline.name}\``,
            ),
          );
        }
      }
    }
    for (const check of pipeline.checks) {
      const file = check.metric ? metricFile(text, check.metric) : undefined;
      if (file && !metricFiles.has(normalizeRelative(file.value))) {
        out.push(unknownMetricFile(file, pipeline, metricFiles));
      }
    }
  }
  for (const environment of manifest.environments.values()) {
    const from = environment.from;
    if (from && from.value !== WORKSPACE && !manifest.environments.has(from.value)) {
      out.push(
        unknownReference('unknown-environment', from, 'environment', [
          WORKSPACE,
          ...environmentNames.filter((name) => name !== environment.name),
        ]),
      );
    }
    if (environment.pipeline && !manifest.pipelines.has(environment.pipeline.value)) {
      out.push(unknownReference('unknown-pipeline', environment.pipeline, 'pipeline', pipelineNames));
    }
    if (!environment.pipeline && from?.value === WORKSPACE && manifest.pipelines.size > 1) {
      out.push({
        severity: 'error',
        code: 'ambiguous-pipeline',
        message: `Environment \`${environment.name}\` is fed from the workspace but does not say which pipeline it carries: add \`pipeline:\` with one of ${pipelineNames.map((n) => `\`${n}\``).join(', ')}.`,
        start: environment.nameStart,
        end: environment.nameEnd,
      });
    }
    const pipelineName = pipelineOf(manifest, environment);
    const pipeline = pipelineName === undefined ? undefined : manifest.pipelines.get(pipelineName);
    if (!pipeline) continue;
    const metricFiles = metricFilesOf(pipeline);
    for (const gate of environment.gates) {
      const file = gate.kind === 'metric' && gate.metric ? metricFile(text, gate.metric) : undefined;
      if (file && !metricFiles.has(normalizeRelative(file.value))) {
        out.push(unknownMetricFile(file, pipeline, metricFiles));
      }
    }
  }
}

export function metricFilesOf(pipeline: PipelineDecl): Set<string> {
  const files = new Set<string>();
  for (const stage of pipeline.stages.values()) {
    for (const metric of stage.metrics) files.add(normalizeRelative(metric.value));
  }
  return files;
}

function unknownMetricFile(file: Located, pipeline: PipelineDecl, known: Set<string>): ManifestDiagnostic {
  const suggestion = closestName(file.value, known);
  return {
    severity: 'error',
    code: 'unknown-metric-file',
    message: `No stage of pipeline \`${pipeline.name}\` declares the metrics file \`${file.value}\`.${
      suggestion
        ? ` Did you mean \`${suggestion}\`?`
        : known.size > 0
          ? ` Declared: ${[...known].map((k) => `\`${k}\``).join(', ')}.`
          : ' Add it to a stage’s `metrics:` list.'
    }`,
    start: file.start,
    end: file.end,
    ...(suggestion
      ? {
          fixes: [
            {
              title: `Change to \`${suggestion}\``,
              edits: [{ start: file.start, end: file.end, newText: suggestion }],
              preferred: true,
            },
          ],
        }
      : {}),
  };
}

function checkStageCycles(context: SemanticContext, out: ManifestDiagnostic[]): void {
  for (const pipeline of context.manifest.pipelines.values()) {
    const graph = dependencyGraph(pipeline);
    for (const cycle of graph.cycles) {
      const names = cycle.map((edge) => edge.from);
      const spelled = [...names, names[0]!].map((name) => `\`${name}\``).join(' → ');
      const reasons = cycle.map((edge) => describeEdge(edge)).join('; ');
      for (const edge of cycle) {
        out.push({
          severity: 'error',
          code: 'stage-cycle',
          message: `Stages of pipeline \`${pipeline.name}\` depend on each other in a circle: ${spelled} (${reasons}). Remove one of these dependencies.`,
          start: edge.at.start,
          end: edge.at.end,
        });
      }
    }
  }
}

function describeEdge(edge: StageEdge): string {
  return edge.kind === 'needs'
    ? `\`${edge.from}\` needs \`${edge.to}\``
    : `\`${edge.from}\` reads \`${edge.at.value}\`, which \`${edge.to}\` writes`;
}

function checkEnvironmentCycles(context: SemanticContext, out: ManifestDiagnostic[]): void {
  const { environments } = context.manifest;
  const reported = new Set<string>();
  for (const start of environments.values()) {
    const chain: EnvironmentDecl[] = [];
    const position = new Map<string, number>();
    let current: EnvironmentDecl | undefined = start;
    while (current && !position.has(current.name) && !reported.has(current.name)) {
      position.set(current.name, chain.length);
      chain.push(current);
      current = current.from ? environments.get(current.from.value) : undefined;
    }
    if (!current || !position.has(current.name)) continue;
    const cycle = chain.slice(position.get(current.name));
    const spelled = [...cycle, cycle[0]!].map((env) => `\`${env.name}\``).join(' ← ');
    for (const env of cycle) {
      reported.add(env.name);
      out.push({
        severity: 'error',
        code: 'environment-cycle',
        message: `Environments feed each other in a circle: ${spelled}. One of them must come \`from: workspace\` or from an environment outside the circle.`,
        start: env.from!.start,
        end: env.from!.end,
      });
    }
  }
}

interface Output {
  readonly path: string;
  readonly located: Located;
  readonly stage: StageDecl;
}

function checkOutputs(context: SemanticContext, out: ManifestDiagnostic[]): void {
  const { manifest } = context;
  const byPath = new Map<string, Output>();
  /** Every folder above an output, with one output below it. */
  const below = new Map<string, Output>();
  const describe = (o: Output): string =>
    `stage \`${o.stage.pipeline}.${o.stage.name}\` (line ${context.lineOf(o.located.start)})`;
  for (const pipeline of manifest.pipelines.values()) {
    for (const stage of pipeline.stages.values()) {
      for (const located of [...stage.outs, ...stage.metrics]) {
        if (lexicalEscape(located.value)) continue;
        const path = normalizeRelative(located.value);
        const output: Output = { path, located, stage };
        const same = byPath.get(path);
        let clash: string | undefined;
        if (same && same.stage !== stage) {
          clash = `\`${path}\` is also written by ${describe(same)}; two stages cannot write the same output.`;
        } else if (!same) {
          const nested = below.get(path);
          const outer = ancestors(path)
            .map((a) => byPath.get(a))
            .find((o) => o !== undefined);
          if (outer && outer.stage !== stage) {
            clash = `\`${path}\` lies inside \`${outer.path}\`, an output of ${describe(outer)}; outputs of two stages cannot overlap.`;
          } else if (nested && nested.stage !== stage) {
            clash = `\`${path}\` contains \`${nested.path}\`, an output of ${describe(nested)}; outputs of two stages cannot overlap.`;
          }
        }
        if (clash) {
          out.push({
            severity: 'error',
            code: 'duplicate-output',
            message: clash,
            start: located.start,
            end: located.end,
          });
        }
        if (!same) byPath.set(path, output);
        for (const folder of ancestors(path)) if (!below.has(folder)) below.set(folder, output);
      }
    }
  }
}

/** `a/b/c` → [`a/b`, `a`]. */
export function ancestors(path: string): string[] {
  const result: string[] = [];
  let at = path.lastIndexOf('/');
  while (at > 0) {
    result.push(path.slice(0, at));
    at = path.lastIndexOf('/', at - 1);
  }
  return result;
}

/** Every path the manifest names, with what it is for. */
function* manifestPaths(manifest: Manifest, text: string): Generator<{ located: Located; role: string }> {
  if (manifest.params) yield { located: manifest.params, role: 'params file' };
  for (const file of manifest.varsFiles) yield { located: file, role: 'vars file' };
  for (const dataset of manifest.datasets.values()) {
    if (dataset.path) yield { located: dataset.path, role: `path of dataset \`${dataset.name}\`` };
  }
  for (const pipeline of manifest.pipelines.values()) {
    for (const stage of pipeline.stages.values()) {
      if (stage.wdir) yield { located: stage.wdir, role: `wdir of stage \`${stage.name}\`` };
      for (const file of stage.paramFiles)
        yield { located: file.file, role: `params file of stage \`${stage.name}\`` };
      for (const dep of stage.deps) yield { located: dep, role: `dep of stage \`${stage.name}\`` };
      for (const o of stage.outs) yield { located: o, role: `output of stage \`${stage.name}\`` };
      for (const m of stage.metrics) yield { located: m, role: `metrics file of stage \`${stage.name}\`` };
      for (const plot of stage.plots)
        if (plot.path) yield { located: plot.path, role: `plot of stage \`${stage.name}\`` };
    }
    for (const check of pipeline.checks) {
      const file = check.metric ? metricFile(text, check.metric) : undefined;
      if (file) yield { located: file, role: 'metrics file of a check' };
    }
  }
  for (const environment of manifest.environments.values()) {
    if (environment.deploy?.path) {
      yield { located: environment.deploy.path, role: `deploy path of environment \`${environment.name}\`` };
    }
    for (const gate of environment.gates) {
      const file = gate.kind === 'metric' && gate.metric ? metricFile(text, gate.metric) : undefined;
      if (file) yield { located: file, role: 'metrics file of a gate' };
    }
    for (const check of environment.monitor?.checks ?? [])
      for (const file of check.metrics)
        yield { located: file, role: `metrics file of a monitor check of \`${environment.name}\`` };
  }
}

function checkPaths(context: SemanticContext, out: ManifestDiagnostic[]): void {
  const { manifest, probe, text } = context;
  for (const { located, role } of manifestPaths(manifest, text)) {
    const escape = lexicalEscape(located.value);
    let reason: string | undefined;
    if (escape === 'absolute') reason = 'is absolute';
    else if (escape === 'parent') reason = 'climbs out with `..`';
    else if (probe?.escapesThroughLink(located.value)) reason = 'leads outside through a link';
    if (reason) {
      out.push({
        severity: 'error',
        code: 'path-escapes-workspace',
        message: `The ${role}, \`${located.value}\`, ${reason}: paths in sluice.yaml are relative to its folder and must stay inside the workspace.`,
        start: located.start,
        end: located.end,
      });
    }
  }
  if (!probe) return;
  // A dep may be missing because a stage will write it, or because it is a dataset not yet pulled.
  const produced = new Set<string>();
  for (const pipeline of manifest.pipelines.values()) {
    for (const stage of pipeline.stages.values()) {
      for (const o of [...stage.outs, ...stage.metrics]) produced.add(normalizeRelative(o.value));
    }
  }
  for (const dataset of manifest.datasets.values())
    if (dataset.path) produced.add(normalizeRelative(dataset.path.value));
  // A dep may also be a folder that outputs will be written into.
  const containers = new Set<string>();
  for (const path of produced) for (const folder of ancestors(path)) containers.add(folder);
  for (const pipeline of manifest.pipelines.values()) {
    for (const stage of pipeline.stages.values()) {
      for (const dep of stage.deps) {
        if (lexicalEscape(dep.value)) continue;
        const path = normalizeRelative(dep.value);
        if (
          produced.has(path) ||
          containers.has(path) ||
          ancestors(path).some((a) => produced.has(a)) ||
          probe.exists(path)
        )
          continue;
        out.push({
          severity: 'warning',
          code: 'missing-dep',
          message: `\`${dep.value}\` does not exist and no stage writes it. Create it, fix the path, or add the stage that writes it.`,
          start: dep.start,
          end: dep.end,
        });
      }
    }
  }
}

/** The parsed content of params files by their text: the same file is read for every stage and keystroke. */
const parsedFiles = new Map<string, { text: string; parsed: ParsedValues }>();

function parsedParams(path: string, text: string): ParsedValues {
  const known = parsedFiles.get(path);
  if (known?.text === text) return known.parsed;
  const parsed = parseValues(path, text);
  if (parsedFiles.size > 64) parsedFiles.clear();
  parsedFiles.set(path, { text, parsed });
  return parsed;
}

function checkParams(context: SemanticContext, out: ManifestDiagnostic[]): void {
  const { manifest, probe } = context;
  const reads: Located[] = [];
  const otherFiles: { file: Located; keys: readonly Located[] | undefined }[] = [];
  for (const pipeline of manifest.pipelines.values()) {
    for (const stage of pipeline.stages.values()) {
      reads.push(...stage.params);
      otherFiles.push(...stage.paramFiles);
    }
  }
  if (probe) {
    for (const { file, keys } of otherFiles) {
      if (lexicalEscape(file.value)) continue;
      checkParamsFile(probe, file, file.value, keys ?? [], out, 'error');
    }
  }
  if (!manifest.params) {
    for (const param of reads) {
      out.push({
        severity: 'warning',
        code: 'missing-params-file',
        message: `A stage reads \`${param.value}\`, but the manifest names no params file. Add \`params: params.yaml\` at the top.`,
        start: param.start,
        end: param.end,
      });
    }
    return;
  }
  if (!probe || lexicalEscape(manifest.params.value)) return;
  checkParamsFile(probe, manifest.params, manifest.params.value, reads, out, 'warning');
}

/**
 * One params file and the keys read from it: it must exist, parse, and hold
 * each key. A missing default file is a warning (a stage may create it); a
 * missing file a stage names itself is an error.
 */
function checkParamsFile(
  probe: FileProbe,
  at: Located,
  path: string,
  keys: readonly Located[],
  out: ManifestDiagnostic[],
  missingSeverity: 'warning' | 'error',
): void {
  const content = probe.readText(path);
  if (content === undefined) {
    out.push({
      severity: missingSeverity,
      code: 'missing-params-file',
      message: `The params file \`${path}\` does not exist. Create it, or fix the path.`,
      start: at.start,
      end: at.end,
    });
    return;
  }
  const parsed = parsedParams(path, content);
  if (!parsed.ok) {
    out.push({
      severity: 'error',
      code: 'bad-values-file',
      message: `${describeParseFailure(path, parsed)} Fix the file: stages read their params from it.`,
      start: at.start,
      end: at.end,
    });
    return;
  }
  for (const param of keys) {
    const { found, parent, missing } = lookupDotted(parsed.value, param.value);
    if (found) continue;
    const siblings = parent !== null && typeof parent === 'object' ? Object.keys(parent) : [];
    const suggestion = missing === undefined ? undefined : closestName(missing, siblings);
    // The file exists and lacks it: the run would fail on this stage, so it is an error now.
    out.push({
      severity: 'error',
      code: 'unknown-param',
      message: `\`${path}\` has no \`${param.value}\`.${suggestion ? ` Did you mean \`${param.value.slice(0, param.value.length - missing!.length)}${suggestion}\`?` : ''}`,
      start: param.start,
      end: param.end,
    });
  }
}

/** Looks `a.b.c` up in parsed params. */
export function lookupDotted(
  values: unknown,
  dotted: string,
): { found: boolean; value?: unknown; parent: unknown; missing?: string | undefined } {
  let current: unknown = values;
  const parts = dotted.split('.');
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (current === null || typeof current !== 'object' || !(part in current)) {
      return { found: false, parent: current, missing: i === parts.length - 1 ? part : undefined };
    }
    current = (current as Record<string, unknown>)[part];
  }
  return { found: true, value: current, parent: undefined };
}

function checkUsage(context: SemanticContext, out: ManifestDiagnostic[]): void {
  const { manifest } = context;
  const used = new Set<string>();
  for (const pipeline of manifest.pipelines.values()) {
    for (const stage of pipeline.stages.values()) {
      for (const ref of stage.datasets) used.add(ref.value);
      if (stage.outs.length === 0 && stage.metrics.length === 0) {
        out.push({
          severity: 'warning',
          code: 'stage-without-outputs',
          message: `Stage \`${stage.name}\` declares no \`outs\` or \`metrics\`, so its results cannot be cached or released. Declare what it writes.`,
          start: stage.nameStart,
          end: stage.nameEnd,
        });
      }
    }
  }
  for (const dataset of manifest.datasets.values()) {
    if (used.has(dataset.name)) continue;
    out.push({
      severity: 'warning',
      code: 'unused-dataset',
      message: `No stage reads dataset \`${dataset.name}\`. List it under a stage's \`datasets:\`, or remove it.`,
      start: dataset.nameStart,
      end: dataset.nameEnd,
    });
  }
}
