// The Environments commands: Stage Release, Promote Release…, Roll Back
// Environment…, Compare with Upstream and Compare Environments. Each calls the
// engine's own functions in-process, as the CLI does; changing an environment
// nothing is promoted from (production) first shows what changes and asks. A
// stage, promotion or rollback is read as `sluice … --json` prints it.
import * as vscode from 'vscode';
import { formatAge, shortId } from '../../core/format';
import { describeError, SluiceError } from '../../core/errors';
import {
  compareLiveReleases,
  comparisonJson,
  type ReleaseComparison,
} from '../../core/environments/comparison';
import { readHistory } from '../../core/environments/history';
import {
  gateRefusal,
  gatesJson,
  planPromotion,
  planRollback,
  promote,
  rollback,
  type PromotionPlan,
} from '../../core/environments/promotion';
import { rollbackChoices } from '../../core/environments/rollbackTarget';
import { stageRelease, type StageOptions as StagingOptions } from '../../core/environments/staging';
import {
  deploymentJson,
  stageJson,
  type DeploymentJson,
  type StageJson,
} from '../../core/operations/results';
import type { Workspace } from '../../core/workspace';
import { outcome, unchanged, type Changes } from '../changes';
import { FailureWithNextSteps, type CommandTable, type NextStep } from '../commands';
import type { SluiceContext } from '../context';
import type { WorkspaceModel } from '../model';
import type { LongOperations } from '../progress';
import { deploymentMessage, stageMessage, type ResultMessage } from '../resultMessages';
import type { SnapshotContent } from '../snapshots/snapshotContent';
import { formatComparison, summarizeComparison } from './comparison';
import {
  ENVIRONMENTS_RESTRICTED_REASON,
  WORKSPACE_ENVIRONMENT,
  type EnvironmentNode,
  type EnvironmentState,
  type FolderEnvironments,
} from './model';

/** Stage Release's options: a keybinding, another extension or a test may pass them instead of answering prompts. */
export interface StageOptions {
  /** The workspace root (the folder of sluice.yaml); needed only in a window with several. */
  readonly root?: string;
}

/** Promote Release's, Roll Back Environment's and Compare with Upstream's options. */
export interface EnvironmentOptions extends StageOptions {
  /** The environment to promote into or roll back. */
  readonly environment?: string;
  /** A release id or a unique prefix: the one to promote (from the upstream's history) or go back to. */
  readonly release?: string;
  /** Skip the modal confirmation a final environment (production) needs. */
  readonly confirmed?: boolean;
}

/** Compare Environments' options. */
export interface CompareOptions extends StageOptions {
  /** The older side. */
  readonly environment?: string;
  /** The environment compared with it (the newer side). */
  readonly with?: string;
}

const SHOW_LOG: NextStep = {
  title: 'Show Log',
  run: () => vscode.commands.executeCommand('sluice.showLog'),
};

export function environmentCommands(context: SluiceContext): CommandTable {
  const { model, operations, content, log } = context;
  return {
    stageRelease: {
      writes: 'stage a release',
      run: async (options) => {
        const root = await chooseRoot(model, parseStageOptions(options).root);
        if (root === undefined) return unchanged(undefined);
        const result = await stage(workspaceAt(model, root), operations, log);
        // Staging runs the pipeline, records a release and deploys it.
        return outcome(result, [
          { kind: 'pipelines', root },
          { kind: 'environments', root },
        ]);
      },
    },
    promoteRelease: {
      writes: 'promote a release',
      run: async (node, options) => {
        const target = await chooseTarget(model, parseTargetArguments(node, options), 'promote');
        if (target === undefined) return unchanged(undefined);
        return outcome(await promoteInto(model, operations, content, target), environmentsOf(target));
      },
    },
    rollBackEnvironment: {
      writes: 'roll back an environment',
      run: async (node, options) => {
        const target = await chooseTarget(model, parseTargetArguments(node, options), 'rollback');
        if (target === undefined) return unchanged(undefined);
        return outcome(await rollBack(model, operations, content, target), environmentsOf(target));
      },
    },
    // Reading releases runs git, which Restricted Mode does not allow: these are refused there too.
    compareWithUpstream: {
      writes: 'compare releases',
      run: async (node, options) => {
        const target = await chooseTarget(model, parseTargetArguments(node, options), 'promote');
        if (target === undefined) return unchanged(undefined);
        const workspace = workspaceAt(model, target.root);
        const upstream = target.environment.from;
        if (upstream === undefined || upstream === WORKSPACE_ENVIRONMENT) {
          throw new SluiceError(
            `${target.environment.name} is fed from ${upstream ?? 'nothing'}, not from another environment.`,
            'usage',
            'Compare Environments compares any two.',
          );
        }
        const comparison = await compareLiveReleases(workspace, upstream, target.environment.name);
        await content.showSummary(
          `${target.environment.name} ← ${upstream}.md`,
          formatComparison(comparison),
        );
        return unchanged(comparison);
      },
    },
    compareEnvironments: {
      writes: 'compare releases',
      run: async (options) => {
        const parsed = parseCompareOptions(options);
        const root = await chooseRoot(model, parsed.root);
        if (root === undefined) return unchanged(undefined);
        const environments = environmentsAt(model, root);
        const first = await pickEnvironment(environments, 'Compare which environment…', parsed.environment);
        if (first === undefined) return unchanged(undefined);
        const second =
          parsed.with === undefined
            ? await pickEnvironment(
                environments.filter((environment) => environment.name !== first.name),
                `…with which environment? (${first.name} is the older side)`,
                undefined,
              )
            : environments.find((environment) => environment.name === parsed.with);
        if (second === undefined) return unchanged(undefined);
        const comparison = await compareLiveReleases(workspaceAt(model, root), first.name, second.name);
        await content.showSummary(`${first.name} → ${second.name}.md`, formatComparison(comparison));
        return unchanged(comparison);
      },
    },
  };
}

interface Target {
  readonly root: string;
  readonly environment: EnvironmentState;
  readonly options: EnvironmentOptions;
}

/** Promote and roll back move one environment's refs: only environments are read again. */
function environmentsOf(target: Target): Changes {
  return [{ kind: 'environments', root: target.root }];
}

function workspaceAt(model: WorkspaceModel, root: string): Workspace {
  return model.workspaceAt(root, ENVIRONMENTS_RESTRICTED_REASON);
}

/**
 * How a stage shows in the editor while it goes: warnings as messages and in
 * the log, every stage's command and output in the log, the stage running in
 * the progress notification. Stage Release and Stage as Release share it.
 */
export function stagingProgress(
  log: vscode.LogOutputChannel,
  report: (text: string) => void,
): Pick<StagingOptions, 'onWarning' | 'onOutput' | 'events'> {
  return {
    onWarning: (text) => {
      log.warn(text);
      void vscode.window.showWarningMessage(`Sluice: ${text}`);
    },
    onOutput: (text) => {
      log.info(text.trimEnd());
    },
    events: {
      stageStarted: (stage) => {
        report(stage.id);
        log.info(`▶ ${stage.id}: ${stage.run}`);
      },
      stageOutput: (stage, text) => {
        log.info(`${stage.id} │ ${text.trimEnd()}`);
      },
      checkOutput: (_check, text) => {
        log.info(text.trimEnd());
      },
    },
  };
}

async function stage(
  workspace: Workspace,
  operations: LongOperations,
  log: vscode.LogOutputChannel,
): Promise<StageJson> {
  const result = await operations.run('Staging a release', (signal, report) =>
    stageRelease(workspace, { signal, ...stagingProgress(log, report) }),
  );
  // What `sluice stage --json` prints: from here on, only this is read.
  const json = stageJson(result);
  announce(stageMessage(json));
  return json;
}

async function promoteInto(
  model: WorkspaceModel,
  operations: LongOperations,
  content: SnapshotContent,
  target: Target,
): Promise<DeploymentJson | undefined> {
  const workspace = workspaceAt(model, target.root);
  const name = target.environment.name;
  const plan = await planPromotion(workspace, { to: name, release: target.options.release });
  // The engine's refusal (what promote() would throw), without calling it: a refused promotion writes nothing.
  const refusal = gateRefusal(plan);
  if (refusal)
    throw new FailureWithNextSteps(describeError(refusal), [compareStep(target), SHOW_LOG], refusal);
  if (plan.candidate.id === plan.live?.id) {
    void vscode.window.showInformationMessage(
      `Sluice: release ${shortId(plan.candidate.id)} is live in ${name} already.`,
    );
    return undefined;
  }
  if (plan.final && target.options.confirmed !== true) {
    const confirmed = await confirm(
      content,
      `Promote release ${shortId(plan.candidate.id)} from ${plan.upstream} into ${name}?`,
      describeGates(plan),
      plan.comparison,
      'Promote',
    );
    if (!confirmed) return undefined;
  }
  const result = await operations.run(`Promoting ${shortId(plan.candidate.id)} into ${name}`, (signal) =>
    promote(workspace, plan, { signal }),
  );
  // What `sluice promote --json` prints: from here on, only this is read.
  const json = deploymentJson(result, {
    gates: gatesJson(plan),
    unchanged: plan.comparison.unchanged,
    comparison: comparisonJson(plan.comparison),
  });
  announce(deploymentMessage(json));
  return json;
}

async function rollBack(
  model: WorkspaceModel,
  operations: LongOperations,
  content: SnapshotContent,
  target: Target,
): Promise<DeploymentJson | undefined> {
  const workspace = workspaceAt(model, target.root);
  const name = target.environment.name;
  let releaseId = target.options.release;
  if (releaseId === undefined) {
    const history = await readHistory(workspace.git, name);
    const head = history[0];
    // Each earlier release once, newest first: the first is the default, the one live before.
    const choices = rollbackChoices(history);
    // Nothing to choose from: the engine says why (nothing-to-roll-back) when it plans.
    if (head !== undefined && choices.length > 0) {
      const picked = await vscode.window.showQuickPick(
        choices.map((deployment, index) => ({
          label: shortId(deployment.release),
          description: `${deployment.action} by ${deployment.actor}, ${formatAge(deployment.time)}${index === 0 ? ' · the one before' : ''}`,
          ...(deployment.reason === null ? {} : { detail: deployment.reason }),
          release: deployment.release,
        })),
        {
          title: `Roll Back ${name}`,
          placeHolder: `Go back to which release? (live: ${shortId(head.release)})`,
        },
      );
      if (picked === undefined) return undefined;
      releaseId = picked.release;
    }
  }
  const plan = await planRollback(workspace, name, { to: releaseId });
  if (plan.final && target.options.confirmed !== true) {
    const confirmed = await confirm(
      content,
      `Roll ${name} back from ${shortId(plan.live.id)} to ${shortId(plan.target.id)}?`,
      `${name} is where nothing is promoted from: the release goes back to what its users get.`,
      plan.comparison,
      'Roll Back',
    );
    if (!confirmed) return undefined;
  }
  const result = await operations.run(`Rolling back ${name}`, (signal) =>
    rollback(workspace, plan, { signal }),
  );
  // What `sluice rollback --json` prints: from here on, only this is read.
  const json = deploymentJson(result, { comparison: comparisonJson(plan.comparison) });
  announce(deploymentMessage(json));
  return json;
}

/** Shows a result's message; a failed one ends the command, with the log a click away. */
function announce(message: ResultMessage): void {
  if (message.failed) throw new FailureWithNextSteps(message.text, [SHOW_LOG]);
  void vscode.window.showInformationMessage(`Sluice: ${message.text}`);
}

/**
 * The modal confirmation before changing a final environment: the difference
 * in short, with "Show Comparison" opening the whole of it (and asking again).
 */
async function confirm(
  content: SnapshotContent,
  question: string,
  preface: string,
  comparison: ReleaseComparison,
  action: string,
): Promise<boolean> {
  const showAll = 'Show Comparison';
  for (;;) {
    const choice = await vscode.window.showWarningMessage(
      question,
      { modal: true, detail: `${preface}\n\n${summarizeComparison(comparison)}` },
      action,
      showAll,
    );
    if (choice !== showAll) return choice === action;
    await content.showSummary(
      `${comparison.fromLabel} → ${comparison.toLabel}.md`,
      formatComparison(comparison),
    );
  }
}

function describeGates(plan: PromotionPlan): string {
  const gates = plan.gates.map((gate) => `  pass ${gate.gate}: ${gate.detail}`);
  return [
    `${plan.environment} is where nothing is promoted from: its users get this release.`,
    ...(gates.length === 0 ? [] : ['Gates:', ...gates]),
  ].join('\n');
}

function compareStep(target: Target): NextStep {
  return {
    title: 'Compare with Upstream',
    run: () =>
      vscode.commands.executeCommand('sluice.compareWithUpstream', {
        root: target.root,
        environment: target.environment.name,
      }),
  };
}

function parseStageOptions(value: unknown): StageOptions {
  if (typeof value !== 'object' || value === null) return {};
  const { root } = value as Record<string, unknown>;
  return typeof root === 'string' ? { root } : {};
}

function parseEnvironmentOptions(value: unknown): EnvironmentOptions {
  if (typeof value !== 'object' || value === null) return {};
  const { environment, release, confirmed } = value as Record<string, unknown>;
  return {
    ...parseStageOptions(value),
    ...(typeof environment === 'string' ? { environment } : {}),
    ...(typeof release === 'string' ? { release } : {}),
    ...(confirmed === true ? { confirmed: true } : {}),
  };
}

function parseCompareOptions(value: unknown): CompareOptions {
  if (typeof value !== 'object' || value === null) return {};
  const { environment, with: other } = value as Record<string, unknown>;
  return {
    ...parseStageOptions(value),
    ...(typeof environment === 'string' ? { environment } : {}),
    ...(typeof other === 'string' ? { with: other } : {}),
  };
}

/**
 * Promote, Roll Back and Compare with Upstream take (node, options) from a
 * tree item, or (options) from the palette or another command.
 */
type TargetArguments =
  | { readonly node: EnvironmentNode; readonly options: EnvironmentOptions }
  | { readonly node: undefined; readonly options: EnvironmentOptions };

function parseTargetArguments(first: unknown, second: unknown): TargetArguments {
  return isEnvironmentNode(first)
    ? { node: first, options: parseEnvironmentOptions(second) }
    : { node: undefined, options: parseEnvironmentOptions(first) };
}

function isEnvironmentNode(value: unknown): value is EnvironmentNode {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'environment';
}

function folderEnvironments(model: WorkspaceModel): FolderEnvironments[] {
  return model.folders.map((folder) => folder.environments);
}

/** The folder to act in: the given one, the only readable one, or the user's pick. */
async function chooseRoot(model: WorkspaceModel, given: string | undefined): Promise<string | undefined> {
  await model.start();
  const roots = folderEnvironments(model).flatMap(({ state }) =>
    state.kind === 'ready' ? [state.root] : [],
  );
  if (given !== undefined) return given;
  if (roots.length === 0) {
    throw new SluiceError('No folder has a readable sluice.yaml in a git repository.', 'usage');
  }
  if (roots.length === 1) return roots[0];
  return vscode.window.showQuickPick(roots, { title: 'Sluice: which workspace?' });
}

function environmentsAt(model: WorkspaceModel, root: string): readonly EnvironmentState[] {
  const folder = folderEnvironments(model).find(({ state }) => 'root' in state && state.root === root);
  if (folder === undefined) return [];
  return folder.environments;
}

/**
 * The environment a command acts on: the clicked element, options.environment,
 * or a pick among those the action applies to (promote: fed from another
 * environment; rollback: anything with a history).
 */
async function chooseTarget(
  model: WorkspaceModel,
  { node, options }: TargetArguments,
  action: 'promote' | 'rollback',
): Promise<Target | undefined> {
  if (node !== undefined) return { root: node.root, environment: node.environment, options };
  const root = await chooseRoot(model, options.root);
  if (root === undefined) return undefined;
  const applicable = environmentsAt(model, root).filter((environment) =>
    action === 'promote'
      ? environment.from !== undefined && environment.from !== WORKSPACE_ENVIRONMENT
      : environment.history.kind === 'read' && environment.history.deployments.length > 0,
  );
  const environment = await pickEnvironment(
    applicable,
    action === 'promote' ? 'Promote into which environment?' : 'Roll back which environment?',
    options.environment,
  );
  return environment === undefined ? undefined : { root, environment, options };
}

async function pickEnvironment(
  environments: readonly EnvironmentState[],
  title: string,
  given: string | undefined,
): Promise<EnvironmentState | undefined> {
  if (given !== undefined) {
    const found = environments.find((environment) => environment.name === given);
    if (found === undefined) {
      throw new SluiceError(
        `'${given}' is not an environment this applies to.`,
        'usage',
        `Choose one of: ${environments.map((e) => e.name).join(', ') || '(none)'}.`,
      );
    }
    return found;
  }
  if (environments.length === 0) {
    throw new SluiceError(`No environment to choose from for this: ${title}`, 'usage');
  }
  const picked = await vscode.window.showQuickPick(
    environments.map((environment) => ({
      label: environment.name,
      description: describeLive(environment),
      environment,
    })),
    { title: `Sluice: ${title}` },
  );
  return picked?.environment;
}

function describeLive(environment: EnvironmentState): string {
  const from = environment.from === undefined ? '' : `from ${environment.from} · `;
  const { history } = environment;
  if (history.kind !== 'read') return `${from}not read`;
  const head = history.deployments[0];
  return head === undefined ? `${from}nothing live` : `${from}live: ${shortId(head.release)}`;
}
