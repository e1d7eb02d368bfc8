// Which stages are up to date, and why the others are not: the runner's own
// decision (decision.ts), stage by stage in plan order. A stage whose
// upstream is not up to date waits for it: its inputs are not known yet.
import { decideStage, type StageState } from './decision';
import type { PipelineContext } from './context';
import type { StagePlan } from './plan';

export type { StageState } from './decision';

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
      const { status, keeps } = statusOf(context, stage, signatures, states);
      // A frozen stage's kept outputs are what its downstream reads, stale or not.
      states.set(stage.name, keeps !== undefined ? 'up-to-date' : status.state);
      if (status.state === 'up-to-date' && status.signature !== undefined)
        signatures.set(stage.name, status.signature);
      else if (keeps !== undefined) signatures.set(stage.name, keeps);
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
): { status: StageStatus; keeps?: string } {
  const base = { pipeline: stage.pipeline, stage: stage.name };
  const blocked = stage.upstream.filter((name) => states.get(name) !== 'up-to-date');
  if (blocked.length > 0) {
    // Its inputs are not known until those run: it will run after them.
    const record = context.state.get(stage.id);
    const reasons = blocked.map((name) => `upstream stage ${name} is ${states.get(name) ?? 'stale'}`);
    const state = record?.success ? 'stale' : record?.failure ? 'failed' : 'never-run';
    return { status: { ...base, state, reasons, signature: undefined } };
  }
  const decision = decideStage(context, stage, signatures);
  const { action } = decision;
  const status = { ...base, state: decision.state, reasons: decision.reasons, signature: decision.signature };
  return action.kind === 'frozen' && action.missing.length === 0 && action.signature !== undefined
    ? { status, keeps: action.signature }
    : { status };
}
