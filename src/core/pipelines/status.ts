// Which stages are up to date, and why the others are not. A stage is stale
// when its command, deps, datasets or params differ from its last successful
// run, when something upstream is not up to date or ran with other inputs,
// or when one of its outputs is missing or was modified.
import { readInputs, type PipelineContext } from './context';
import type { StagePlan } from './plan';
import { describeChanges, signatureOf } from './state';

export type StageState = 'up-to-date' | 'stale' | 'never-run' | 'failed';

export interface StageStatus {
  readonly pipeline: string;
  readonly stage: string;
  readonly state: StageState;
  readonly reasons: readonly string[];
  /** The signature of the stage's current inputs, when all of them are known (upstream up to date). */
  readonly signature: string | undefined;
}

export function stageStatuses(context: PipelineContext): StageStatus[] {
  const result: StageStatus[] = [];
  for (const pipeline of context.plan.pipelines.values()) {
    const signatures = new Map<string, string>();
    const states = new Map<string, StageState>();
    for (const stage of pipeline.stages) {
      const status = statusOf(context, stage, signatures, states);
      states.set(stage.name, status.state);
      if (status.state === 'up-to-date' && status.signature !== undefined)
        signatures.set(stage.name, status.signature);
      result.push(status);
    }
  }
  return result;
}

function statusOf(
  context: PipelineContext,
  stage: StagePlan,
  signatures: ReadonlyMap<string, string>,
  states: ReadonlyMap<string, StageState>,
): StageStatus {
  const base = { pipeline: stage.pipeline, stage: stage.name };
  const blocked = stage.upstream.filter((name) => states.get(name) !== 'up-to-date');
  if (blocked.length > 0) {
    // Its inputs are not known until those run: it will run after them.
    const record = context.state.get(stage.id);
    const reasons = blocked.map((name) => `upstream stage ${name} is ${states.get(name) ?? 'stale'}`);
    const state = record?.success ? 'stale' : record?.failure ? 'failed' : 'never-run';
    return { ...base, state, reasons, signature: undefined };
  }
  const { inputs, missingDeps, missingParams } = readInputs(context, stage, signatures);
  const signature = signatureOf(inputs);
  // The common case first, from the summary alone: same inputs as the last success.
  const last = context.state.lastSuccess(stage.id);
  if (last?.signature === signature) {
    const reasons: string[] = [];
    for (const out of stage.outs) {
      const now = context.fingerprints.of(out);
      if (now === undefined) reasons.push(`output ${out} is missing`);
      else if (last.outs[out] !== now) reasons.push(`output ${out} was modified`);
    }
    return { ...base, state: reasons.length > 0 ? 'stale' : 'up-to-date', reasons, signature };
  }
  const problems = [
    ...missingDeps.map((dep) => `dep ${dep} does not exist`),
    ...missingParams.map((key) => `param ${key} is not in ${context.plan.paramsFile ?? 'the params file'}`),
  ];
  const record = context.state.get(stage.id);
  if (record?.failure?.signature === signature) {
    return { ...base, state: 'failed', reasons: [record.failure.reason, ...problems], signature };
  }
  const success = record?.success;
  if (!success) return { ...base, state: 'never-run', reasons: problems, signature };
  return {
    ...base,
    state: 'stale',
    reasons: [...describeChanges(success.inputs, inputs), ...problems],
    signature,
  };
}
