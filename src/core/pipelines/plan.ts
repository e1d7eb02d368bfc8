// What the runner works from: each pipeline's stages in an order where every
// stage comes after what it depends on, with paths normalized and references
// resolved. The manifest was validated before (no cycles, no unknown names,
// no path leaving the workspace), so building the plan cannot fail.
import { dependencyGraph } from '../manifest/graph';
import type {
  CheckDecl,
  Manifest,
  PipelineDecl,
  PlotDecl,
  PlotTemplate,
  ResourcesDecl,
  StageDecl,
} from '../manifest/model';
import { plotFileOf, plotTemplate, type PlotFile } from '../manifest/plots';
import { normalizeRelative } from '../paths';
import { SluiceError } from '../errors';
import { rememberedPlan, rememberPlan } from './planCache';

export type ExecutorName = 'local' | 'slurm';

/** A stage's resources, in Slurm's spellings (checked by validation). */
export interface StageResources {
  readonly cpus?: number;
  readonly memory?: string | number;
  readonly gpus?: number;
  readonly time?: string | number;
  readonly partition?: string;
  /** More sbatch options, as written. */
  readonly extra: readonly string[];
}

export interface StagePlan {
  /** `pipeline.stage`, how the CLI and the logs name a stage. */
  readonly id: string;
  readonly pipeline: string;
  readonly name: string;
  readonly run: string;
  /** Workspace-relative paths the stage reads. */
  readonly deps: readonly string[];
  /** Datasets the stage reads, with their workspace-relative paths. */
  readonly datasets: readonly { readonly name: string; readonly path: string }[];
  /** Dotted keys into the params file. */
  readonly params: readonly string[];
  /** Other params files (workspace-relative) and the dotted keys read from each; undefined keys: the whole file. */
  readonly paramFiles: readonly { readonly file: string; readonly keys: readonly string[] | undefined }[];
  /** Everything the stage writes: `outs`, then `metrics`. */
  readonly outs: readonly string[];
  readonly metrics: readonly string[];
  /** Of `outs`, those written `cache: false`: fingerprinted for staleness, never stored. */
  readonly uncached: readonly string[];
  /** Of `outs`, those written `persist: true`: not cleared before the stage runs. */
  readonly persistent: readonly string[];
  /** The folder the command runs in, workspace-relative; '' for the workspace root. */
  readonly wdir: string;
  /** `frozen: true`: never run; its state is still reported. */
  readonly frozen: boolean;
  /** `always_changed: true`: always run, never skipped or restored. */
  readonly alwaysChanged: boolean;
  /** The template that generated it (`foreach`, `matrix`), and its key there. */
  readonly template: { readonly name: string; readonly key: string } | undefined;
  /** Where its command runs, as the manifest says (the stage's, else its pipeline's, else local). */
  readonly executor: ExecutorName;
  /** What it asks for: its pipeline's `resources`, with the stage's own over them. */
  readonly resources: StageResources;
  /** What `sluice plots show` draws of this stage's outputs, in manifest order. */
  readonly plots: readonly PlotPlan[];
  /** Stages of the same pipeline this one runs after (by `needs` or by reading their outputs). */
  readonly upstream: readonly string[];
  /** Offset of the stage's name in sluice.yaml, for "reveal in manifest". */
  readonly offset: number;
}

/** One of a stage's `plots:`, with its file's kind and the fields it draws. */
export interface PlotPlan {
  /** Workspace-relative path of the image or data file. */
  readonly path: string;
  readonly file: PlotFile;
  /** `image` for an image file; for data, the template (`line` unless written). */
  readonly template: PlotTemplate | 'image';
  /**
   * The column on the horizontal axis. Undefined: the row number, or, with
   * `defaults`, the first column.
   */
  readonly x: string | undefined;
  /** Columns drawn against x; empty with `defaults`. */
  readonly y: readonly string[];
  /** Neither `x` nor `y` was written: x is the first column, y every other numeric one. */
  readonly defaults: boolean;
  readonly actual: string | undefined;
  readonly predicted: string | undefined;
  readonly title: string | undefined;
  readonly xLabel: string | undefined;
  readonly yLabel: string | undefined;
  /** Offset of the plot in sluice.yaml. */
  readonly offset: number;
}

export type CheckPlan = {
  readonly name: string;
  readonly pipeline: string;
  readonly offset: number;
} & (
  | { readonly kind: 'command'; readonly run: string; readonly timeoutSeconds: number | undefined }
  | {
      readonly kind: 'metric';
      readonly file: string;
      readonly key: string;
      readonly min: number | undefined;
      readonly max: number | undefined;
    }
);

export interface PipelinePlan {
  readonly name: string;
  /** Topological: every stage after the stages it depends on, otherwise in manifest order. */
  readonly stages: readonly StagePlan[];
  readonly checks: readonly CheckPlan[];
  /** Names of its stage templates (`foreach`, `matrix`), one that generated nothing included. */
  readonly templates: readonly string[];
}

export interface WorkspacePlan {
  readonly paramsFile: string | undefined;
  readonly pipelines: ReadonlyMap<string, PipelinePlan>;
}

/**
 * Plans by model. A model is never changed once read, so its plan is made once
 * per process however many callers ask (a command asks more than once: the
 * params file to check `--set` against, then the run itself), and read back
 * from the plan cache when an earlier command made it (planCache.ts).
 */
const plans = new WeakMap<Manifest, WorkspacePlan>();

export function planWorkspace(manifest: Manifest): WorkspacePlan {
  let plan = plans.get(manifest) ?? rememberedPlan(manifest);
  if (plan === undefined) {
    plan = makePlan(manifest);
    rememberPlan(manifest, plan);
  }
  plans.set(manifest, plan);
  return plan;
}

function makePlan(manifest: Manifest): WorkspacePlan {
  const pipelines = new Map<string, PipelinePlan>();
  for (const pipeline of manifest.pipelines.values())
    pipelines.set(pipeline.name, planPipeline(manifest, pipeline));
  const params = manifest.params?.value;
  return { paramsFile: params === undefined ? undefined : normalizeRelative(params), pipelines };
}

function planPipeline(manifest: Manifest, pipeline: PipelineDecl): PipelinePlan {
  const graph = dependencyGraph(pipeline);
  const stages = new Map<string, StagePlan>();
  for (const stage of pipeline.stages.values()) {
    const upstream = (graph.dependsOn.get(stage.name) ?? []).map((edge) => edge.to);
    stages.set(stage.name, planStage(manifest, pipeline, stage, upstream));
  }
  return {
    name: pipeline.name,
    stages: topologicalOrder(stages),
    checks: pipeline.checks.flatMap((check, index) => planCheck(pipeline.name, check, index)),
    templates: [...pipeline.templates.keys()],
  };
}

function planStage(
  manifest: Manifest,
  pipeline: PipelineDecl,
  stage: StageDecl,
  upstream: string[],
): StagePlan {
  const paths = (items: StageDecl['deps']) => unique(items.map((item) => normalizeRelative(item.value)));
  const metrics = paths(stage.metrics);
  return {
    id: `${pipeline.name}.${stage.name}`,
    pipeline: pipeline.name,
    name: stage.name,
    run: stage.run?.value ?? '',
    deps: paths(stage.deps),
    datasets: unique(stage.datasets.map((item) => item.value)).flatMap((name) => {
      const path = manifest.datasets.get(name)?.path?.value;
      return path === undefined ? [] : [{ name, path: normalizeRelative(path) }];
    }),
    params: unique(stage.params.map((item) => item.value)),
    paramFiles: stage.paramFiles.map((entry) => ({
      file: normalizeRelative(entry.file.value),
      keys: entry.keys && unique(entry.keys.map((key) => key.value)),
    })),
    outs: unique([...paths(stage.outs), ...metrics]),
    metrics,
    uncached: paths(stage.uncached),
    persistent: paths(stage.persistent),
    wdir: stage.wdir ? normalizeRelative(stage.wdir.value) : '',
    frozen: stage.frozen,
    alwaysChanged: stage.alwaysChanged,
    template: stage.template,
    executor: (stage.executor ?? pipeline.executor)?.value === 'slurm' ? 'slurm' : 'local',
    resources: mergeResources(pipeline.resources, stage.resources),
    plots: stage.plots.flatMap(planPlot),
    upstream,
    offset: stage.nameStart,
  };
}

/** A pipeline's default resources with a stage's own over them, field by field. */
function mergeResources(base: ResourcesDecl | undefined, own: ResourcesDecl | undefined): StageResources {
  const pick = (key: 'cpus' | 'gpus'): number | undefined => own?.[key] ?? base?.[key];
  const resources: { -readonly [K in keyof StageResources]: StageResources[K] } = {
    extra: [...(base?.sbatch ?? []), ...(own?.sbatch ?? [])].map((option) => option.value),
  };
  const cpus = pick('cpus');
  const gpus = pick('gpus');
  const memory = (own?.memory ?? base?.memory)?.value;
  const time = (own?.time ?? base?.time)?.value;
  const partition = (own?.partition ?? base?.partition)?.value;
  if (cpus !== undefined) resources.cpus = cpus;
  if (gpus !== undefined) resources.gpus = gpus;
  if (memory !== undefined) resources.memory = memory;
  if (time !== undefined) resources.time = time;
  if (partition !== undefined) resources.partition = partition;
  return resources;
}

function planPlot(plot: PlotDecl): PlotPlan[] {
  if (plot.path === undefined) return [];
  const path = normalizeRelative(plot.path.value);
  // Validation reports a file Sluice cannot plot; a plan is only built from a valid manifest.
  const file = plotFileOf(path);
  if (file === undefined) return [];
  const y = unique((plot.y ?? []).map((field) => field.value));
  return [
    {
      path,
      file,
      template: file.kind === 'image' ? 'image' : plotTemplate(plot),
      x: plot.x?.value,
      y,
      defaults: plot.x === undefined && y.length === 0,
      actual: plot.actual?.value,
      predicted: plot.predicted?.value,
      title: plot.title,
      xLabel: plot.xLabel,
      yLabel: plot.yLabel,
      offset: plot.start,
    },
  ];
}

function planCheck(pipeline: string, check: CheckDecl, index: number): CheckPlan[] {
  const name = check.name?.value ?? `check ${index + 1}`;
  const common = { name, pipeline, offset: check.start };
  if (check.run) return [{ ...common, kind: 'command', run: check.run.value, timeoutSeconds: check.timeout }];
  if (check.metric) {
    const { file, key } = splitMetric(check.metric.value);
    return [{ ...common, kind: 'metric', file, key, min: check.min, max: check.max }];
  }
  return [];
}

/** `metrics.json#scores.accuracy` → the file and the dotted key. */
export function splitMetric(reference: string): { file: string; key: string } {
  const hash = reference.indexOf('#');
  if (hash < 0) {
    throw new SluiceError(`Metric '${reference}' names no key.`, 'manifest', 'Write it as FILE#dotted.key.');
  }
  return { file: normalizeRelative(reference.slice(0, hash)), key: reference.slice(hash + 1) };
}

function unique<T>(items: readonly T[]): T[] {
  // Most lists hold no item or one: no Set for those (a plan of 5,000 stages makes 45,000 lists).
  return items.length < 2 ? items.slice() : [...new Set(items)];
}

/**
 * Depth-first, upstream before downstream, starting from each stage in
 * manifest order: linear in stages and edges, and the order stays close to
 * the manifest's, which is what people expect to see in logs.
 */
function topologicalOrder(stages: ReadonlyMap<string, StagePlan>): StagePlan[] {
  const state = new Map<string, 'visiting' | 'done'>();
  const order: StagePlan[] = [];
  for (const root of stages.values()) {
    if (state.has(root.name)) continue;
    const stack: { stage: StagePlan; next: number }[] = [{ stage: root, next: 0 }];
    state.set(root.name, 'visiting');
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const up = top.stage.upstream[top.next++];
      if (up === undefined) {
        stack.pop();
        state.set(top.stage.name, 'done');
        order.push(top.stage);
        continue;
      }
      const seen = state.get(up);
      if (seen === 'visiting') {
        // Validation rejects cycles; reaching here means the model and the check disagree.
        throw new SluiceError('The stages form a cycle.', 'manifest', 'Run `sluice validate` to see it.');
      }
      const next = stages.get(up);
      if (seen === undefined && next) {
        state.set(up, 'visiting');
        stack.push({ stage: next, next: 0 });
      }
    }
  }
  return order;
}
