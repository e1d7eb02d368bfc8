// Everything `run` and `status` share about a workspace's pipelines: the
// plan, the remembered fingerprints and stage records, the run cache and the
// logs, and how a stage's inputs are read from disk.
import { join } from 'node:path';
import { withDottedValues } from '../manifest/valueFiles';
import { manifestWithOverrides, type Workspace } from '../workspace';
import { Fingerprints } from './fingerprint';
import { RunLogs } from './logs';
import { RunCache } from './outputs';
import { planWorkspace, type StagePlan, type WorkspacePlan } from './plan';
import { PipelineState, type StageInputs } from './state';
import { readValues, valueAt } from './values';

export interface PipelineContext {
  readonly workspace: Workspace;
  readonly plan: WorkspacePlan;
  readonly fingerprints: Fingerprints;
  readonly state: PipelineState;
  readonly runCache: RunCache;
  readonly logs: RunLogs;
  /** The params file's content, read once per command, with the run's overrides applied. */
  params(): unknown;
  /** Another params file's content (a stage's `params: [{FILE: [...]}]`), read once per command; undefined when missing. */
  paramsFile(path: string): unknown;
  /** Params given for this run only (`run --set`): dotted key → value. */
  readonly overrides: Readonly<Record<string, unknown>>;
  /** Writes what was learnt (fingerprints, stage records). */
  save(): void;
}

export interface PipelinesOptions {
  /**
   * The run cache's folder, when not the workspace's own: a staging worktree
   * keeps its state, logs and lock apart but shares the developer's cache.
   */
  readonly runCacheDir?: string;
  /** Params for this run only, checked against the params file already (experiments/params.ts). */
  readonly overrides?: Readonly<Record<string, unknown>>;
}

export function openPipelines(workspace: Workspace, options: PipelinesOptions = {}): PipelineContext {
  const stateDir = join(workspace.sluiceDir, 'state');
  const fingerprints = Fingerprints.load(workspace.root, join(stateDir, 'fingerprints.json'));
  const state = PipelineState.load(join(stateDir, 'stages.json'));
  // `${…}` naming an overridden param takes the run's value, so the plan is made with the overrides.
  const plan = planWorkspace(manifestWithOverrides(workspace, options.overrides ?? {}));
  let params: { value: unknown } | undefined;
  const otherParams = new Map<string, unknown>();
  return {
    workspace,
    plan,
    fingerprints,
    state,
    runCache: new RunCache(options.runCacheDir ?? join(workspace.sluiceDir, 'runs')),
    logs: new RunLogs(join(workspace.sluiceDir, 'logs')),
    overrides: options.overrides ?? {},
    params() {
      params ??= {
        value: withDottedValues(
          plan.paramsFile === undefined ? undefined : readValues(workspace.root, plan.paramsFile),
          options.overrides ?? {},
        ),
      };
      return params.value;
    },
    paramsFile(path) {
      if (path === plan.paramsFile) return this.params();
      if (!otherParams.has(path)) otherParams.set(path, readValues(workspace.root, path));
      return otherParams.get(path);
    },
    save() {
      state.save();
      fingerprints.save();
    },
  };
}

export interface InputsReading {
  readonly inputs: StageInputs;
  /** Deps that do not exist (no stage writes them either, or they would be upstream outputs). */
  readonly missingDeps: readonly string[];
  readonly missingParams: readonly string[];
  /** Datasets the stage reads whose folder is not on disk (named as the manifest names them). */
  readonly missingDatasets: readonly string[];
}

/** Reads a stage's inputs from disk, given the signatures its upstream stages have now. */
export function readInputs(
  context: PipelineContext,
  stage: StagePlan,
  upstreamSignatures: ReadonlyMap<string, string>,
): InputsReading {
  const deps: Record<string, string | null> = {};
  const missingDeps: string[] = [];
  for (const dep of stage.deps) {
    const fingerprint = context.fingerprints.of(dep) ?? null;
    if (fingerprint === null) missingDeps.push(dep);
    deps[dep] = fingerprint;
  }
  const datasets: Record<string, string | null> = {};
  const missingDatasets: string[] = [];
  for (const dataset of stage.datasets) {
    const fingerprint = context.fingerprints.of(dataset.path) ?? null;
    if (fingerprint === null) missingDatasets.push(dataset.name);
    datasets[dataset.name] = fingerprint;
  }
  const { params, missingParams } = readParams(context, stage);
  const upstream: Record<string, string> = {};
  for (const name of stage.upstream) upstream[name] = upstreamSignatures.get(name) ?? '';
  const sorted = (paths: readonly string[]): string[] => [...paths].sort();
  return {
    inputs: {
      stage: stage.id,
      run: stage.run,
      deps,
      datasets,
      params,
      upstream,
      outs: sorted(stage.outs),
      metrics: sorted(stage.metrics),
      ...(stage.wdir !== '' ? { wdir: stage.wdir } : {}),
      ...(stage.persistent.length > 0 ? { persist: sorted(stage.persistent) } : {}),
    },
    missingDeps,
    missingParams,
    missingDatasets,
  };
}

/** The params a stage reads, by key (`FILE#key` for other files), and those that are missing. */
export function readParams(
  context: PipelineContext,
  stage: StagePlan,
): { params: Record<string, unknown>; missingParams: string[] } {
  const params: Record<string, unknown> = {};
  const missingParams: string[] = [];
  if (stage.params.length > 0) {
    const document = context.params();
    for (const key of stage.params) {
      const value = valueAt(document, key);
      if (value === undefined) missingParams.push(key);
      params[key] = value ?? null;
    }
  }
  // Other files' params are named `FILE#key` (`FILE#` for a whole file), as metrics are.
  for (const { file, keys } of stage.paramFiles) {
    const document = context.paramsFile(file);
    for (const key of keys ?? ['']) {
      const value = key === '' ? document : valueAt(document, key);
      if (value === undefined) missingParams.push(`${file}#${key}`);
      params[`${file}#${key}`] = value ?? null;
    }
  }
  return { params, missingParams };
}
