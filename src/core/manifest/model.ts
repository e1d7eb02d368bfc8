// The typed manifest model, read from the YAML tree. Reading is tolerant: a
// value of the wrong type is left out (structure validation reports it), so
// the model of a half-typed manifest is still useful to the editor.
import { asMap, declared, entries, flag, list, num, readResources, stringOf, text } from './reading';
import { StageReader, type StageReading, type StageReadingResult } from './stages';
import type { TemplateScope } from './templates';
import { getPair, type YNode } from './yamlTree';

/** A string from the manifest with where it was written. */
export interface Located {
  readonly value: string;
  readonly start: number;
  readonly end: number;
}

export interface Declared {
  readonly name: string;
  /** Where the name is written (the mapping key). */
  readonly nameStart: number;
  readonly nameEnd: number;
  /** The whole entry, name and body. */
  readonly start: number;
  readonly end: number;
  readonly description: string | undefined;
}

export interface DatasetDecl extends Declared {
  readonly path: Located | undefined;
}

export interface StageDecl extends Declared {
  readonly pipeline: string;
  readonly run: Located | undefined;
  readonly datasets: readonly Located[];
  /** Workspace-relative (joined to `wdir`), with `${…}` resolved; positions are where each is written. */
  readonly deps: readonly Located[];
  readonly needs: readonly Located[];
  /** Dotted keys of the default params file. */
  readonly params: readonly Located[];
  /** Other params files (workspace-relative) and the keys read from each; `keys` undefined: the whole file. */
  readonly paramFiles: readonly ParamFileDecl[];
  readonly outs: readonly Located[];
  readonly metrics: readonly Located[];
  readonly plots: readonly PlotDecl[];
  /** Outputs and metrics files written with `cache: false` (the same Located objects). */
  readonly uncached: readonly Located[];
  /** Outputs and metrics files written with `persist: true`. */
  readonly persistent: readonly Located[];
  /** The folder the command runs in, workspace-relative; undefined: the workspace root. */
  readonly wdir: Located | undefined;
  readonly frozen: boolean;
  readonly alwaysChanged: boolean;
  /** Set on a stage a `foreach` or `matrix` generated: its template's name and its own key. */
  readonly template: { readonly name: string; readonly key: string } | undefined;
  /** `executor:` as written on the stage (the pipeline's applies when absent). */
  readonly executor: Located | undefined;
  readonly resources: ResourcesDecl | undefined;
}

/** A `resources:` mapping; each field as written, for diagnostics at its place. */
export interface ResourcesDecl {
  readonly cpus: number | undefined;
  readonly memory: LocatedValue | undefined;
  readonly gpus: number | undefined;
  readonly time: LocatedValue | undefined;
  readonly partition: Located | undefined;
  readonly sbatch: readonly Located[];
}

/** A text or number from the manifest with where it was written (memory `16G` or `16000`). */
export interface LocatedValue {
  readonly value: string | number;
  readonly start: number;
  readonly end: number;
}

export interface ParamFileDecl {
  readonly file: Located;
  readonly keys: readonly Located[] | undefined;
}

/** A stage template (`foreach` or `matrix`) and the names of the stages it generated. */
export interface TemplateDecl extends Declared {
  readonly kind: 'foreach' | 'matrix';
  readonly instances: readonly string[];
}

/** How a data plot is drawn (`template:`); an image is shown as it is. */
export type PlotTemplate = 'line' | 'scatter' | 'bar' | 'confusion';

/** One item of a stage's `plots:`, a plain path or a mapping (every field but `path` absent then). */
export interface PlotDecl {
  readonly path: Located | undefined;
  readonly template: Located | undefined;
  readonly x: Located | undefined;
  /** `y: loss` or `y: [loss, val_loss]`; undefined when not written. */
  readonly y: readonly Located[] | undefined;
  readonly title: string | undefined;
  readonly xLabel: string | undefined;
  readonly yLabel: string | undefined;
  readonly actual: Located | undefined;
  readonly predicted: Located | undefined;
  /** Every key written in the mapping (none for a plain path), for diagnostics that point at a key. */
  readonly keys: readonly Located[];
  readonly start: number;
  readonly end: number;
}

export interface CheckDecl {
  readonly name: Located | undefined;
  readonly description: string | undefined;
  readonly run: Located | undefined;
  readonly metric: Located | undefined;
  readonly min: number | undefined;
  readonly max: number | undefined;
  readonly timeout: number | undefined;
  readonly start: number;
  readonly end: number;
}

export interface PipelineDecl extends Declared {
  /** Every stage, those templates generated included (in the place of their template). */
  readonly stages: ReadonlyMap<string, StageDecl>;
  /** The stage templates, by name. */
  readonly templates: ReadonlyMap<string, TemplateDecl>;
  /** Defaults for the pipeline's stages. */
  readonly executor: Located | undefined;
  readonly resources: ResourcesDecl | undefined;
  readonly checks: readonly CheckDecl[];
}

export type GateDecl =
  | { readonly kind: 'checks'; readonly start: number; readonly end: number }
  | {
      readonly kind: 'metric';
      readonly metric: Located | undefined;
      readonly min: number | undefined;
      readonly max: number | undefined;
      readonly noRegression: number | undefined;
      readonly start: number;
      readonly end: number;
    };

export interface EnvironmentDecl extends Declared {
  /** Where `stage` builds this environment's releases; undefined: as the stages say. */
  readonly executor: Located | undefined;
  readonly from: Located | undefined;
  readonly pipeline: Located | undefined;
  readonly gates: readonly GateDecl[];
  readonly deploy: { readonly path: Located | undefined; readonly run: Located | undefined } | undefined;
  readonly health:
    | {
        readonly run: Located | undefined;
        readonly timeout: number | undefined;
        readonly rollbackOnFailure: boolean;
      }
    | undefined;
  /** `monitor:`, what watches the live release after it is deployed. */
  readonly monitor: MonitorDecl | undefined;
}

/** What `sluice monitor` does when checks keep failing. */
export type MonitorAction = 'rollback' | 'alert';

/**
 * An environment's `monitor:` section. Values are kept as written (with their
 * places) so semantics can say what is wrong with `every: 15 minutes`.
 */
export interface MonitorDecl {
  readonly every: LocatedValue | undefined;
  readonly onFailure: Located | undefined;
  readonly after: number | undefined;
  readonly checks: readonly MonitorCheckDecl[];
  readonly start: number;
  readonly end: number;
}

/** One monitor check: a command (with the metrics files it writes) or a metric rule. */
export interface MonitorCheckDecl {
  readonly name: Located | undefined;
  readonly description: string | undefined;
  readonly run: Located | undefined;
  /** Files the command writes, which the monitor's metric checks read. */
  readonly metrics: readonly Located[];
  readonly timeout: number | undefined;
  readonly metric: Located | undefined;
  readonly min: number | undefined;
  readonly max: number | undefined;
  /** At most this much below the live release's own metric (`baseline`). */
  readonly noRegression: number | undefined;
  /** The release metric (`metrics.json#accuracy`) a no_regression rule compares with. */
  readonly baseline: Located | undefined;
  readonly start: number;
  readonly end: number;
}

/** A `true`/`false` from the manifest with where it was written. */
export interface LocatedFlag {
  readonly value: boolean;
  readonly start: number;
  readonly end: number;
}

export interface RemoteDecl extends Declared {
  readonly url: Located | undefined;
  readonly default: LocatedFlag | undefined;
  readonly git: Located | undefined;
  readonly endpoint: Located | undefined;
  readonly region: Located | undefined;
  readonly pathStyle: LocatedFlag | undefined;
  /** Every key written in the entry (its name and where), for diagnostics that point at a key. */
  readonly keys: readonly Located[];
}

export interface Manifest {
  readonly version: number | undefined;
  readonly name: string | undefined;
  readonly description: string | undefined;
  readonly params: Located | undefined;
  /** Files named under `vars:`, workspace-relative. */
  readonly varsFiles: readonly Located[];
  readonly datasets: ReadonlyMap<string, DatasetDecl>;
  readonly pipelines: ReadonlyMap<string, PipelineDecl>;
  readonly environments: ReadonlyMap<string, EnvironmentDecl>;
  readonly remotes: ReadonlyMap<string, RemoteDecl>;
  /** The top-level `datasets:` entry, where a quick fix adds a dataset. */
  readonly datasetsSection:
    { readonly start: number; readonly end: number; readonly keyEnd: number } | undefined;
}

/**
 * Field lists of the model, checked by the compiler against the model's types
 * and by a test against the JSON Schema's properties: the two cannot drift.
 * Each maps a schema key to the model field that holds it.
 */
export const MODEL_FIELDS = {
  manifest: {
    version: 'version',
    name: 'name',
    description: 'description',
    params: 'params',
    vars: 'varsFiles',
    datasets: 'datasets',
    pipelines: 'pipelines',
    environments: 'environments',
    remotes: 'remotes',
  },
  dataset: { path: 'path', description: 'description' },
  pipeline: {
    description: 'description',
    stages: 'stages',
    checks: 'checks',
    executor: 'executor',
    resources: 'resources',
  },
  stage: {
    run: 'run',
    description: 'description',
    datasets: 'datasets',
    deps: 'deps',
    needs: 'needs',
    params: 'params',
    outs: 'outs',
    metrics: 'metrics',
    plots: 'plots',
    wdir: 'wdir',
    frozen: 'frozen',
    always_changed: 'alwaysChanged',
    foreach: 'template',
    do: 'template',
    matrix: 'template',
    executor: 'executor',
    resources: 'resources',
  },
  plot: {
    path: 'path',
    template: 'template',
    x: 'x',
    y: 'y',
    title: 'title',
    x_label: 'xLabel',
    y_label: 'yLabel',
    actual: 'actual',
    predicted: 'predicted',
  },
  check: {
    name: 'name',
    description: 'description',
    run: 'run',
    metric: 'metric',
    min: 'min',
    max: 'max',
    timeout: 'timeout',
  },
  environment: {
    executor: 'executor',
    from: 'from',
    description: 'description',
    pipeline: 'pipeline',
    gates: 'gates',
    deploy: 'deploy',
    health: 'health',
    monitor: 'monitor',
  },
  monitor: { every: 'every', on_failure: 'onFailure', after: 'after', checks: 'checks' },
  monitorCheck: {
    name: 'name',
    description: 'description',
    run: 'run',
    metrics: 'metrics',
    timeout: 'timeout',
    metric: 'metric',
    min: 'min',
    max: 'max',
    no_regression: 'noRegression',
    baseline: 'baseline',
  },
  metricGate: { metric: 'metric', min: 'min', max: 'max', no_regression: 'noRegression' },
  deploy: { path: 'path', run: 'run' },
  health: { run: 'run', timeout: 'timeout', rollback_on_failure: 'rollbackOnFailure' },
  remote: {
    url: 'url',
    description: 'description',
    default: 'default',
    git: 'git',
    endpoint: 'endpoint',
    region: 'region',
    path_style: 'pathStyle',
  },
} as const satisfies {
  manifest: Record<string, keyof Manifest>;
  dataset: Record<string, keyof DatasetDecl>;
  pipeline: Record<string, keyof PipelineDecl>;
  stage: Record<string, keyof StageDecl>;
  plot: Record<string, keyof PlotDecl>;
  check: Record<string, keyof CheckDecl>;
  environment: Record<string, keyof EnvironmentDecl>;
  metricGate: Record<string, keyof Extract<GateDecl, { kind: 'metric' }>>;
  deploy: Record<string, keyof NonNullable<EnvironmentDecl['deploy']>>;
  health: Record<string, keyof NonNullable<EnvironmentDecl['health']>>;
  monitor: Record<string, keyof MonitorDecl>;
  monitorCheck: Record<string, keyof MonitorCheckDecl>;
  remote: Record<string, keyof RemoteDecl>;
};

// Objects are built with every field present (undefined when absent) so that
// all stages share one shape: this runs for every stage on every keystroke.
export function readModel(root: YNode | null, reading: StageReading = {}): Manifest {
  return readManifestModel(root, reading).manifest;
}

/** The model, with what reading its stages found: templating problems and the files it read. */
export function readManifestModel(
  root: YNode | null,
  reading: StageReading = {},
): { manifest: Manifest; templating: StageReadingResult; scope: () => TemplateScope } {
  const top = asMap(root);
  const stageReader = new StageReader(top, reading);

  const datasets = new Map<string, DatasetDecl>();
  for (const pair of entries(top, 'datasets')) {
    const body = asMap(pair.value);
    datasets.set(String(pair.key.value), { ...declared(pair, body), path: text(body, 'path') });
  }

  const pipelines = new Map<string, PipelineDecl>();
  for (const pair of entries(top, 'pipelines')) {
    const pipelineName = String(pair.key.value);
    const body = asMap(pair.value);
    const { stages, templates } = stageReader.read(pipelineName, entries(body, 'stages'));
    const checks: CheckDecl[] = [];
    const checkList = body ? getPair(body, 'checks')?.value : undefined;
    if (checkList?.kind === 'seq') {
      for (const item of checkList.items) {
        const check = asMap(item);
        if (!check) continue;
        checks.push({
          name: text(check, 'name'),
          description: text(check, 'description')?.value,
          run: text(check, 'run'),
          metric: text(check, 'metric'),
          min: num(check, 'min'),
          max: num(check, 'max'),
          timeout: num(check, 'timeout'),
          start: item.start,
          end: item.end,
        });
      }
    }
    pipelines.set(pipelineName, {
      ...declared(pair, body),
      stages,
      templates,
      checks,
      executor: text(body, 'executor'),
      resources: readResources(body),
    });
  }

  const environments = new Map<string, EnvironmentDecl>();
  for (const pair of entries(top, 'environments')) {
    const body = asMap(pair.value);
    const gates: GateDecl[] = [];
    const gateList = body ? getPair(body, 'gates')?.value : undefined;
    if (gateList?.kind === 'seq') {
      for (const item of gateList.items) {
        if (item.kind === 'scalar' && item.value === 'checks') {
          gates.push({ kind: 'checks', start: item.start, end: item.end });
        } else if (item.kind === 'map') {
          gates.push({
            kind: 'metric',
            metric: text(item, 'metric'),
            min: num(item, 'min'),
            max: num(item, 'max'),
            noRegression: num(item, 'no_regression'),
            start: item.start,
            end: item.end,
          });
        }
      }
    }
    const deploy = asMap(body ? getPair(body, 'deploy')?.value : undefined);
    const health = asMap(body ? getPair(body, 'health')?.value : undefined);
    const rollback = health ? getPair(health, 'rollback_on_failure')?.value : undefined;
    environments.set(String(pair.key.value), {
      ...declared(pair, body),
      executor: text(body, 'executor'),
      from: text(body, 'from'),
      pipeline: text(body, 'pipeline'),
      gates,
      deploy: deploy ? { path: text(deploy, 'path'), run: text(deploy, 'run') } : undefined,
      health: health
        ? {
            run: text(health, 'run'),
            timeout: num(health, 'timeout'),
            rollbackOnFailure: !(rollback?.kind === 'scalar' && rollback.value === false),
          }
        : undefined,
      monitor: readMonitor(body ? getPair(body, 'monitor')?.value : undefined),
    });
  }

  const remotes = new Map<string, RemoteDecl>();
  for (const pair of entries(top, 'remotes')) {
    const body = asMap(pair.value);
    remotes.set(String(pair.key.value), {
      ...declared(pair, body),
      url: text(body, 'url'),
      default: flag(body, 'default'),
      git: text(body, 'git'),
      endpoint: text(body, 'endpoint'),
      region: text(body, 'region'),
      pathStyle: flag(body, 'path_style'),
      keys: (body?.pairs ?? []).map((keyed) => ({
        value: String(keyed.key.value),
        start: keyed.key.start,
        end: keyed.key.end,
      })),
    });
  }

  const datasetsPair = top ? getPair(top, 'datasets') : undefined;
  const varsNode = top ? getPair(top, 'vars')?.value : undefined;
  // Vars files are checked (they exist, they parse) even before a `${…}` names them.
  if (varsNode) stageReader.scope();
  const manifest: Manifest = {
    version: num(top, 'version'),
    name: text(top, 'name')?.value,
    description: text(top, 'description')?.value,
    params: text(top, 'params'),
    varsFiles:
      varsNode?.kind === 'seq'
        ? varsNode.items.map((item) => stringOf(item)).filter((f) => f !== undefined)
        : [],
    datasets,
    pipelines,
    environments,
    remotes,
    datasetsSection: datasetsPair
      ? { start: datasetsPair.start, end: datasetsPair.end, keyEnd: datasetsPair.key.end }
      : undefined,
  };
  stageReader.commit();
  return { manifest, templating: stageReader.result, scope: () => stageReader.scope() };
}

function readMonitor(node: YNode | null | undefined): MonitorDecl | undefined {
  const monitor = asMap(node);
  if (!monitor) return undefined;
  const every = getPair(monitor, 'every')?.value;
  const checks: MonitorCheckDecl[] = [];
  const checkList = getPair(monitor, 'checks')?.value;
  if (checkList?.kind === 'seq') {
    for (const item of checkList.items) {
      const check = asMap(item);
      if (!check) continue;
      checks.push({
        name: text(check, 'name'),
        description: text(check, 'description')?.value,
        run: text(check, 'run'),
        metrics: list(check, 'metrics'),
        timeout: num(check, 'timeout'),
        metric: text(check, 'metric'),
        min: num(check, 'min'),
        max: num(check, 'max'),
        noRegression: num(check, 'no_regression'),
        baseline: text(check, 'baseline'),
        start: item.start,
        end: item.end,
      });
    }
  }
  return {
    // A number (`every: 30`) is kept too, so semantics can propose `30s`.
    every:
      every?.kind === 'scalar' && (typeof every.value === 'string' || typeof every.value === 'number')
        ? { value: every.value, start: every.start, end: every.end }
        : undefined,
    onFailure: text(monitor, 'on_failure'),
    after: num(monitor, 'after'),
    checks,
    start: monitor.start,
    end: monitor.end,
  };
}
