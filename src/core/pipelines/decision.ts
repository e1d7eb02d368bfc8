// The one decision of whether a stage is up to date, restorable from the run
// cache, or must run. `sluice run`, `sluice status`, `sluice stage` (through
// the runner) and the extension's views (through stageStatuses) all ask it,
// so what `run` does and what `status` says cannot drift apart.
//
// A stage's signature covers everything its result depends on: command,
// deps, datasets, params, upstream signatures, and the declared outputs and
// metrics files. It is up to date only when its last success had that very
// signature and every declared output is on disk as that success left it.
import { readInputs, type PipelineContext } from './context';
import { restorable, type CachedRun } from './outputs';
import type { StagePlan } from './plan';
import { describeChanges, signatureOf, type StageInputs } from './state';

export type StageState = 'up-to-date' | 'stale' | 'never-run' | 'failed';

export type StageAction =
  /** Its outputs are those of a run with its current signature: nothing to do. */
  | { readonly kind: 'skip'; readonly runId: string | undefined }
  /** A run with its current signature is in the cache, with exactly the declared outputs. */
  | { readonly kind: 'restore'; readonly cached: CachedRun }
  | { readonly kind: 'run' }
  /**
   * `frozen: true` and not up to date: never run. `runId` and `signature`
   * name the outputs it keeps (its last success), when it has one.
   */
  | { readonly kind: 'frozen'; readonly signature: string | undefined; readonly missing: readonly string[] }
  /** A dep, a param or a dataset is missing: running it cannot succeed (or would read nothing). */
  | {
      readonly kind: 'refuse';
      readonly reason: string;
      readonly code: 'param-missing' | 'dep-missing' | 'dataset-missing';
      readonly data: {
        readonly params: readonly string[];
        readonly deps: readonly string[];
        readonly datasets: readonly string[];
      };
    };

export interface StageDecision {
  readonly signature: string;
  readonly inputs: StageInputs;
  readonly action: StageAction;
  /** What `status` shows: `up-to-date` exactly when the action is `skip`. */
  readonly state: StageState;
  readonly reasons: readonly string[];
  /** Why the run cache cannot answer for this stage whatever it holds (`cache: false`, `persist`…), if so. */
  readonly notRestorable: string | undefined;
}

/** Why a stage's result can never come from the run cache, or undefined when it can. */
export function whyNotRestorable(stage: StagePlan): string | undefined {
  if (stage.alwaysChanged) return 'it is `always_changed`, so it runs every time';
  if (stage.uncached.length > 0)
    return `its output ${stage.uncached.join(', ')} is \`cache: false\` (not stored), so it cannot be restored from the cache`;
  if (stage.persistent.length > 0)
    return `its output ${stage.persistent.join(', ')} is \`persist: true\` (a run builds on the one before), so it cannot be restored from the cache`;
  return undefined;
}

/**
 * Decides for one stage, given the signatures its upstream stages have now
 * (each up to date, or just run or restored). `force`: never skip or restore.
 */
export function decideStage(
  context: PipelineContext,
  stage: StagePlan,
  upstreamSignatures: ReadonlyMap<string, string>,
  force = false,
): StageDecision {
  const { inputs, missingDeps, missingParams, missingDatasets } = readInputs(
    context,
    stage,
    upstreamSignatures,
  );
  const signature = signatureOf(inputs);
  const notRestorable = whyNotRestorable(stage);
  const decided = (action: StageAction, state: StageState, reasons: readonly string[]): StageDecision => ({
    signature,
    inputs,
    action,
    state,
    reasons,
    notRestorable,
  });
  const problems = [
    ...missingParams.map(
      (key) =>
        `param ${key} is not in ${context.plan.paramsFile ?? 'the params file (the manifest names none)'}`,
    ),
    ...missingDeps.map((dep) => `dep ${dep} does not exist`),
    ...missingDatasets.map((name) => {
      const path = stage.datasets.find((dataset) => dataset.name === name)?.path ?? name;
      return `dataset ${name} (${path}) is not on disk: restore a snapshot of it (sluice restore ${name} latest)`;
    }),
  ];
  // The common case first, from the summary alone: same inputs as the last success.
  const last = context.state.lastSuccess(stage.id);
  const outputReasons: string[] = [];
  if (last?.signature === signature) {
    for (const out of stage.outs) {
      const now = context.fingerprints.of(out);
      if (now === undefined) outputReasons.push(`output ${out} is missing`);
      else if (last.outs[out] !== now) outputReasons.push(`output ${out} was modified`);
    }
    if (outputReasons.length === 0 && problems.length === 0 && !force && !stage.alwaysChanged) {
      return decided({ kind: 'skip', runId: last.runId }, 'up-to-date', []);
    }
  }
  const record = context.state.get(stage.id);
  const failedNow = record?.failure?.signature === signature;
  const state: StageState = failedNow ? 'failed' : record?.success ? 'stale' : 'never-run';
  const reasons = failedNow
    ? [record.failure.reason]
    : last?.signature === signature
      ? outputReasons
      : record?.success
        ? describeChanges(record.success.inputs, inputs)
        : [];
  if (stage.alwaysChanged && record?.success) reasons.push('it is `always_changed`: it runs every time');
  if (stage.frozen) {
    // Frozen: say what is stale, act on none of it (DVC's `frozen`). Its outputs stay as they are.
    const missing = stage.outs.filter((out) => context.fingerprints.of(out) === undefined);
    return decided({ kind: 'frozen', signature: last?.signature, missing }, state, [
      ...reasons,
      ...problems,
      'it is `frozen`: it is not run until `frozen: true` is removed',
    ]);
  }
  if (problems.length > 0)
    return decided(
      {
        kind: 'refuse',
        reason: problems.join('; '),
        code:
          missingParams.length > 0
            ? 'param-missing'
            : missingDeps.length > 0
              ? 'dep-missing'
              : 'dataset-missing',
        data: { params: missingParams, deps: missingDeps, datasets: missingDatasets },
      },
      state,
      [...reasons, ...problems],
    );
  if (!force && notRestorable === undefined) {
    const cached = context.runCache.read(signature);
    if (cached && restorable(cached, stage.outs, context.workspace.store)) {
      return decided({ kind: 'restore', cached }, state, reasons);
    }
  }
  return decided({ kind: 'run' }, state, reasons);
}
