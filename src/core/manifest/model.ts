// The typed manifest model, read from the YAML tree. Reading is tolerant: a
// value of the wrong type is left out (structure validation reports it), so
// the model of a half-typed manifest is still useful to the editor.
import { getPair, type YMap, type YNode, type YPair } from './yamlTree';

/** A string from the manifest with where it was written. */
export interface Located {
  readonly value: string;
  readonly start: number;
  readonly end: number;
}

interface Declared {
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
  readonly deps: readonly Located[];
  readonly needs: readonly Located[];
  readonly params: readonly Located[];
  readonly outs: readonly Located[];
  readonly metrics: readonly Located[];
  readonly plots: readonly PlotDecl[];
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
  readonly stages: ReadonlyMap<string, StageDecl>;
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
    datasets: 'datasets',
    pipelines: 'pipelines',
    environments: 'environments',
    remotes: 'remotes',
  },
  dataset: { path: 'path', description: 'description' },
  pipeline: { description: 'description', stages: 'stages', checks: 'checks' },
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
    from: 'from',
    description: 'description',
    pipeline: 'pipeline',
    gates: 'gates',
    deploy: 'deploy',
    health: 'health',
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
  remote: Record<string, keyof RemoteDecl>;
};

function asMap(node: YNode | null | undefined): YMap | undefined {
  return node?.kind === 'map' ? node : undefined;
}

function text(map: YMap | undefined, key: string): Located | undefined {
  const value = map ? getPair(map, key)?.value : undefined;
  if (value?.kind !== 'scalar' || typeof value.value !== 'string') return undefined;
  return { value: value.value, start: value.start, end: value.end };
}

function num(map: YMap | undefined, key: string): number | undefined {
  const value = map ? getPair(map, key)?.value : undefined;
  return value?.kind === 'scalar' && typeof value.value === 'number' ? value.value : undefined;
}

function flag(map: YMap | undefined, key: string): LocatedFlag | undefined {
  const value = map ? getPair(map, key)?.value : undefined;
  if (value?.kind !== 'scalar' || typeof value.value !== 'boolean') return undefined;
  return { value: value.value, start: value.start, end: value.end };
}

function list(map: YMap | undefined, key: string): Located[] {
  const value = map ? getPair(map, key)?.value : undefined;
  if (value?.kind !== 'seq') return [];
  const result: Located[] = [];
  for (const item of value.items) {
    if (item.kind === 'scalar' && typeof item.value === 'string') {
      result.push({ value: item.value, start: item.start, end: item.end });
    }
  }
  return result;
}

/** A stage's `plots:`: plain paths and mappings; other items are left to structure validation. */
function plotList(stage: YMap | undefined): PlotDecl[] {
  const value = stage ? getPair(stage, 'plots')?.value : undefined;
  if (value?.kind !== 'seq') return [];
  const plots: PlotDecl[] = [];
  for (const item of value.items) {
    const common = { start: item.start, end: item.end };
    if (item.kind === 'scalar' && typeof item.value === 'string') {
      plots.push({
        path: { value: item.value, start: item.start, end: item.end },
        template: undefined,
        x: undefined,
        y: undefined,
        title: undefined,
        xLabel: undefined,
        yLabel: undefined,
        actual: undefined,
        predicted: undefined,
        keys: [],
        ...common,
      });
    } else if (item.kind === 'map') {
      const y = getPair(item, 'y')?.value;
      plots.push({
        path: text(item, 'path'),
        template: text(item, 'template'),
        x: text(item, 'x'),
        y:
          y?.kind === 'seq'
            ? list(item, 'y')
            : y === undefined
              ? undefined
              : [text(item, 'y')].filter((f) => f !== undefined),
        title: text(item, 'title')?.value,
        xLabel: text(item, 'x_label')?.value,
        yLabel: text(item, 'y_label')?.value,
        actual: text(item, 'actual'),
        predicted: text(item, 'predicted'),
        keys: item.pairs.map((pair) => ({
          value: String(pair.key.value),
          start: pair.key.start,
          end: pair.key.end,
        })),
        ...common,
      });
    }
  }
  return plots;
}

function declared(pair: YPair, body: YMap | undefined): Declared {
  return {
    name: String(pair.key.value),
    nameStart: pair.key.start,
    nameEnd: pair.key.end,
    start: pair.start,
    end: pair.end,
    description: text(body, 'description')?.value,
  };
}

/** Entries of a name map, first occurrence of each name only (as YAML readers keep). */
function entries(map: YMap | undefined, key: string): YPair[] {
  const section = map ? asMap(getPair(map, key)?.value) : undefined;
  if (!section) return [];
  const seen = new Set<string>();
  return section.pairs.filter((pair) => {
    const name = String(pair.key.value);
    if (seen.has(name)) return false;
    seen.add(name);
    return true;
  });
}

// Objects are built with every field present (undefined when absent) so that
// all stages share one shape: this runs for every stage on every keystroke.
export function readModel(root: YNode | null): Manifest {
  const top = asMap(root);

  const datasets = new Map<string, DatasetDecl>();
  for (const pair of entries(top, 'datasets')) {
    const body = asMap(pair.value);
    datasets.set(String(pair.key.value), { ...declared(pair, body), path: text(body, 'path') });
  }

  const pipelines = new Map<string, PipelineDecl>();
  for (const pair of entries(top, 'pipelines')) {
    const pipelineName = String(pair.key.value);
    const body = asMap(pair.value);
    const stages = new Map<string, StageDecl>();
    for (const stagePair of entries(body, 'stages')) {
      const stage = asMap(stagePair.value);
      stages.set(String(stagePair.key.value), {
        name: String(stagePair.key.value),
        nameStart: stagePair.key.start,
        nameEnd: stagePair.key.end,
        start: stagePair.start,
        end: stagePair.end,
        description: text(stage, 'description')?.value,
        pipeline: pipelineName,
        run: text(stage, 'run'),
        datasets: list(stage, 'datasets'),
        deps: list(stage, 'deps'),
        needs: list(stage, 'needs'),
        params: list(stage, 'params'),
        outs: list(stage, 'outs'),
        metrics: list(stage, 'metrics'),
        plots: plotList(stage),
      });
    }
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
    pipelines.set(pipelineName, { ...declared(pair, body), stages, checks });
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
  return {
    version: num(top, 'version'),
    name: text(top, 'name')?.value,
    description: text(top, 'description')?.value,
    params: text(top, 'params'),
    datasets,
    pipelines,
    environments,
    remotes,
    datasetsSection: datasetsPair
      ? { start: datasetsPair.start, end: datasetsPair.end, keyEnd: datasetsPair.key.end }
      : undefined,
  };
}
