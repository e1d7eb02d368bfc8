// What the editor says when a command's result comes back. Each handler turns
// the engine's result into the JSON-contract object (src/core/operations/results.ts,
// what `sluice … --json` prints) once, where the engine's call returns, with the
// builder the CLI uses; these functions read only that object. The sentences
// both faces say are worded in core (`describe…`); what is here is the editor's
// own framing: which message kind, the button, the next step. Every text is
// shown as `Sluice: TEXT` (information messages by the handler, failures by the
// registration loop). No vscode import: test/models/resultMessages.test.ts runs
// these on real engine results.
import {
  describeDeployment,
  describeRestore,
  describeRunCheck,
  describeRunStage,
  describeSnapshots,
  describeStage,
  type DeploymentJson,
  type RestoreJson,
  type RunJson,
  type RunStageJson,
  type SnapshotJson,
  type StageJson,
} from '../core/operations/results';
import { describeRunCounts } from '../core/pipelines/runSummary';

/** A message the user sees: information, or the failure the command ends with. */
export interface ResultMessage {
  readonly failed: boolean;
  readonly text: string;
}

/** Snapshot Dataset / Snapshot Datasets: what was recorded, what did not change. */
export function snapshotMessage(json: SnapshotJson): ResultMessage {
  return { failed: false, text: describeSnapshots(json) };
}

/** Restore Snapshot: the counts, and where the replaced files went. */
export function restoreMessage(json: RestoreJson): ResultMessage {
  return { failed: false, text: describeRestore(json) };
}

/** The end of a run of `what` (the pipelines or stages asked for). */
export interface RunMessage extends ResultMessage {
  /** The first stage that failed: its log is a click away. */
  readonly failedStage: RunStageJson | undefined;
}

/** `train: 2 ran, 0 restored, 0 up to date, 0 failed, checks 2/2 passed`, and each check that failed. */
export function runMessage(what: string, json: RunJson): RunMessage {
  const failedStage = json.stages.find((stage) => stage.result === 'failed');
  const failedChecks = json.checks
    .filter((check) => check.outcome === 'fail')
    .map((check) => `check ${check.name} failed: ${check.detail}`);
  return {
    failed: failedStage !== undefined || failedChecks.length > 0,
    text: `${what}: ${[runSummary(json), ...failedChecks].join('; ')}`,
    failedStage,
  };
}

/** The counts of a run, as `sluice run` prints them. */
export function runSummary(json: RunJson): string {
  return describeRunCounts(json.summary);
}

/** The log's line for a stage that finished: `ran p.train in 2.4 s`. */
export function runStageLine(stage: RunStageJson): string {
  return describeRunStage(stage);
}

/** The log's line for a check that finished. */
export function runCheckLine(check: RunJson['checks'][number]): string {
  return describeRunCheck(check);
}

/** Stage Release: live in the first environment, or why not (a failure, with what to do next). */
export function stageMessage(json: StageJson): ResultMessage {
  if (!json.passed) {
    return { failed: true, text: `${describeStage(json)} Fix it, commit, and stage again.` };
  }
  if (json.failure !== null) return { failed: true, text: deployFailure(describeStage(json), json) };
  return { failed: false, text: describeStage(json) };
}

/** Promote Release and Roll Back Environment: what is live now, or the hook's failure. */
export function deploymentMessage(json: DeploymentJson): ResultMessage {
  if (json.failure !== null) return { failed: true, text: deployFailure(describeDeployment(json), json) };
  return { failed: false, text: describeDeployment(json) };
}

/** A failed deployment that was rolled back: the environment's history in the view records why. */
function deployFailure(text: string, json: { readonly rolledBack: boolean }): string {
  return json.rolledBack ? `${text} The history says why.` : text;
}
