// The Environments commands: Stage Release, Promote Release…, Roll Back
// Environment…, Compare with Upstream and Compare Environments. Each calls the
// engine's own functions in-process, as the CLI does; changing an environment
// nothing is promoted from (production) first shows what changes and asks.
import * as vscode from 'vscode';
import { formatAge } from '../../core/format';
import { ambiguousId, describeError, notFound, SluiceError } from '../../core/errors';
import type { DeployResult } from '../../core/environments/deploy';
import { readHistory } from '../../core/environments/history';
import {
  gateRefusal,
  planPromotion,
  promote,
  rollback,
  type PromotionPlan,
} from '../../core/environments/promotion';
import { readRelease, type Release } from '../../core/environments/releases';
import { stageRelease, type StageResult } from '../../core/environments/staging';
import type { Workspace } from '../../core/workspace';
import { FailureWithNextSteps, type CommandTable, type NextStep } from '../commands';
import type { LongOperations } from '../progress';
import type { SnapshotContent } from '../snapshots/snapshotContent';
import { compareReleases, formatComparison, summarizeComparison, type ReleaseComparison } from './comparison';
import type { EnvironmentsView } from './environmentsView';
import { shortRelease, WORKSPACE_ENVIRONMENT, type EnvironmentNode, type EnvironmentState } from './model';

/** What a keybinding, another extension or a test may pass instead of answering prompts. */
export interface EnvironmentOptions {
  /** The workspace root (the folder of sluice.yaml); needed only in a window with several. */
  readonly root?: string;
  /** The environment to promote into or roll back. */
  readonly environment?: string;
  /** A release id or a unique prefix: the one to promote (from the upstream's history) or go back to. */
  readonly release?: string;
  /** Skip the modal confirmation a final environment (production) needs. */
  readonly confirmed?: boolean;
}

const SHOW_LOG: NextStep = {
  title: 'Show Log',
  run: () => vscode.commands.executeCommand('sluice.showLog'),
};

export function environmentCommands(
  view: EnvironmentsView,
  operations: LongOperations,
  content: SnapshotContent,
  log: vscode.LogOutputChannel,
): CommandTable {
  return {
    stageRelease: {
      writes: 'stage a release',
      run: async (options) => {
        const root = await chooseRoot(view, parseOptions(options).root);
        if (root === undefined) return undefined;
        return stage(view.workspaceAt(root), operations, log);
      },
    },
    promoteRelease: {
      writes: 'promote a release',
      run: async (nodeOrOptions, options) => {
        const target = await chooseTarget(view, nodeOrOptions, options, 'promote');
        if (target === undefined) return undefined;
        return promoteInto(view, operations, content, target);
      },
    },
    rollBackEnvironment: {
      writes: 'roll back an environment',
      run: async (nodeOrOptions, options) => {
        const target = await chooseTarget(view, nodeOrOptions, options, 'rollback');
        if (target === undefined) return undefined;
        return rollBack(view, operations, content, target);
      },
    },
    // Reading releases runs git, which Restricted Mode does not allow: these are refused there too.
    compareWithUpstream: {
      writes: 'compare releases',
      run: async (nodeOrOptions, options) => {
        const target = await chooseTarget(view, nodeOrOptions, options, 'promote');
        if (target === undefined) return undefined;
        const workspace = view.workspaceAt(target.root);
        const upstream = target.environment.from;
        if (upstream === undefined || upstream === WORKSPACE_ENVIRONMENT) {
          throw new SluiceError(
            `${target.environment.name} is fed from ${upstream ?? 'nothing'}, not from another environment.`,
            'usage',
            'Compare Environments compares any two.',
          );
        }
        const comparison = await compareLive(workspace, upstream, target.environment.name);
        await content.showSummary(
          `${target.environment.name} ← ${upstream}.md`,
          formatComparison(comparison),
        );
        return comparison;
      },
    },
    compareEnvironments: {
      writes: 'compare releases',
      run: async (options) => {
        const parsed = parseOptions(options);
        const root = await chooseRoot(view, parsed.root);
        if (root === undefined) return undefined;
        const environments = environmentsAt(view, root);
        const first = await pickEnvironment(environments, 'Compare which environment…', parsed.environment);
        if (first === undefined) return undefined;
        const second =
          parsed.release === undefined
            ? await pickEnvironment(
                environments.filter((environment) => environment.name !== first.name),
                `…with which environment? (${first.name} is the older side)`,
                undefined,
              )
            : environments.find((environment) => environment.name === parsed.release);
        if (second === undefined) return undefined;
        const comparison = await compareLive(view.workspaceAt(root), first.name, second.name);
        await content.showSummary(`${first.name} → ${second.name}.md`, formatComparison(comparison));
        return comparison;
      },
    },
  };
}

interface Target {
  readonly root: string;
  readonly environment: EnvironmentState;
  readonly options: EnvironmentOptions;
}

async function stage(
  workspace: Workspace,
  operations: LongOperations,
  log: vscode.LogOutputChannel,
): Promise<StageResult> {
  const result = await operations.run('Staging a release', (signal, report) =>
    stageRelease(workspace, {
      signal,
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
    }),
  );
  const { release, environment, deployment } = result;
  const id = shortRelease(release.id);
  if (!result.passed) {
    const problems = [
      ...release.failures,
      ...release.checks
        .filter((check) => check.outcome !== 'pass')
        .map((c) => `${c.name}: ${c.outcome} (${c.detail})`),
    ];
    throw new FailureWithNextSteps(
      `Release ${id} was recorded but not deployed to ${environment}: ${problems.join('; ')}. Fix it, commit, and stage again.`,
      [SHOW_LOG],
    );
  }
  if (deployment?.failure !== undefined) throw deploymentFailure(deployment);
  void vscode.window.showInformationMessage(
    `Sluice: release ${id} (code ${release.code.slice(0, 7)}) is live in ${environment}.`,
  );
  return result;
}

async function promoteInto(
  view: EnvironmentsView,
  operations: LongOperations,
  content: SnapshotContent,
  target: Target,
): Promise<DeployResult | undefined> {
  const workspace = view.workspaceAt(target.root);
  const name = target.environment.name;
  const plan = await planPromotion(workspace, { to: name, release: target.options.release });
  // The engine's refusal (what promote() would throw), without calling it: a refused promotion writes nothing.
  const refusal = gateRefusal(plan);
  if (refusal)
    throw new FailureWithNextSteps(describeError(refusal), [compareStep(target), SHOW_LOG], refusal);
  if (plan.candidate.id === plan.live?.id) {
    void vscode.window.showInformationMessage(
      `Sluice: release ${shortRelease(plan.candidate.id)} is live in ${name} already.`,
    );
    return undefined;
  }
  if (plan.final && target.options.confirmed !== true) {
    const comparison = await compareReleases(workspace, {
      fromLabel: name,
      from: plan.live,
      toLabel: plan.upstream,
      to: plan.candidate,
    });
    const confirmed = await confirm(
      content,
      `Promote release ${shortRelease(plan.candidate.id)} from ${plan.upstream} into ${name}?`,
      describeGates(plan),
      comparison,
      'Promote',
    );
    if (!confirmed) return undefined;
  }
  const result = await operations.run(`Promoting ${shortRelease(plan.candidate.id)} into ${name}`, (signal) =>
    promote(workspace, plan, { signal }),
  );
  if (result.failure !== undefined) throw deploymentFailure(result);
  void vscode.window.showInformationMessage(
    `Sluice: release ${shortRelease(result.release)} is live in ${name}${result.previous === null ? '' : ` (was ${shortRelease(result.previous)})`}.`,
  );
  return result;
}

async function rollBack(
  view: EnvironmentsView,
  operations: LongOperations,
  content: SnapshotContent,
  target: Target,
): Promise<DeployResult | undefined> {
  const workspace = view.workspaceAt(target.root);
  const name = target.environment.name;
  const history = await readHistory(workspace.git, name);
  const head = history[0];
  if (head === undefined) {
    throw new SluiceError(`Nothing was ever deployed to ${name}; there is nothing to go back to.`, 'failed');
  }
  let releaseId = target.options.release;
  if (releaseId === undefined) {
    // Each earlier release once, newest first: the first is the default, the one live before.
    const seen = new Set([head.release]);
    const earlier = history.filter(
      (deployment) => !seen.has(deployment.release) && seen.add(deployment.release),
    );
    if (earlier.length === 0) {
      throw new SluiceError(
        `${name} has had only release ${shortRelease(head.release)}; there is nothing to go back to.`,
        'failed',
      );
    }
    const picked = await vscode.window.showQuickPick(
      earlier.map((deployment, index) => ({
        label: shortRelease(deployment.release),
        description: `${deployment.action} by ${deployment.actor}, ${formatAge(deployment.time)}${index === 0 ? ' · the one before' : ''}`,
        ...(deployment.reason === null ? {} : { detail: deployment.reason }),
        release: deployment.release,
      })),
      {
        title: `Roll Back ${name}`,
        placeHolder: `Go back to which release? (live: ${shortRelease(head.release)})`,
      },
    );
    if (picked === undefined) return undefined;
    releaseId = picked.release;
  }
  if (target.environment.final && target.options.confirmed !== true) {
    const [live, earlier] = await Promise.all([
      readRelease(workspace.git, head.release),
      readRelease(workspace.git, resolveInHistory(history, releaseId, name)),
    ]);
    const comparison = await compareReleases(workspace, {
      fromLabel: name,
      from: live,
      toLabel: 'rollback',
      to: earlier,
    });
    const confirmed = await confirm(
      content,
      `Roll ${name} back from ${shortRelease(live.id)} to ${shortRelease(earlier.id)}?`,
      `${name} is where nothing is promoted from: the release goes back to what its users get.`,
      comparison,
      'Roll Back',
    );
    if (!confirmed) return undefined;
  }
  const to = releaseId;
  const result = await operations.run(`Rolling back ${name}`, (signal) =>
    rollback(workspace, name, { to, signal }),
  );
  if (result.failure !== undefined) throw deploymentFailure(result);
  void vscode.window.showInformationMessage(
    `Sluice: ${name} is back on release ${shortRelease(result.release)}${result.previous === null ? '' : ` (was ${shortRelease(result.previous)})`}.`,
  );
  return result;
}

/** The full id of a release `idOrPrefix` in `history`; the engine resolves and checks again when it rolls back. */
function resolveInHistory(history: readonly { release: string }[], idOrPrefix: string, name: string): string {
  const matches = [...new Set(history.map((d) => d.release).filter((id) => id.startsWith(idOrPrefix)))];
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0)
    throw notFound('release', idOrPrefix, `Release ${idOrPrefix} was never live in ${name}.`, undefined, {
      data: { environment: name },
    });
  throw ambiguousId(
    'release',
    idOrPrefix,
    matches,
    `Release id ${idOrPrefix} is ambiguous in ${name}'s history.`,
    {
      data: { environment: name },
    },
  );
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

function deploymentFailure(result: DeployResult): FailureWithNextSteps {
  return new FailureWithNextSteps(
    `${result.environment}: ${result.failure ?? 'the deployment failed'}.${result.rolledBack ? ` Rolled back to ${shortRelease(result.release)}; the history says why.` : ''}`,
    [SHOW_LOG],
  );
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

/** The live releases of two environments (nothing live on the `from` side is allowed). */
async function compareLive(
  workspace: Workspace,
  fromName: string,
  toName: string,
): Promise<ReleaseComparison> {
  const [fromHead, toHead] = await Promise.all([
    readHistory(workspace.git, fromName, 1),
    readHistory(workspace.git, toName, 1),
  ]);
  const live = async (head: { release: string } | undefined): Promise<Release | undefined> =>
    head === undefined ? undefined : readRelease(workspace.git, head.release);
  const [from, to] = await Promise.all([live(fromHead[0]), live(toHead[0])]);
  // The newer side is the one that has a release: compare what is live downstream with what would come.
  if (to !== undefined) return compareReleases(workspace, { fromLabel: fromName, from, toLabel: toName, to });
  if (from !== undefined)
    return compareReleases(workspace, { fromLabel: toName, from: undefined, toLabel: fromName, to: from });
  throw new SluiceError(
    `Nothing is live in ${fromName} or ${toName}: there is nothing to compare.`,
    'failed',
  );
}

function parseOptions(value: unknown): EnvironmentOptions {
  if (typeof value !== 'object' || value === null) return {};
  const { root, environment, release, confirmed } = value as Record<string, unknown>;
  return {
    ...(typeof root === 'string' ? { root } : {}),
    ...(typeof environment === 'string' ? { environment } : {}),
    ...(typeof release === 'string' ? { release } : {}),
    ...(confirmed === true ? { confirmed: true } : {}),
  };
}

function isEnvironmentNode(value: unknown): value is EnvironmentNode {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'environment';
}

/** The folder to act in: the given one, the only readable one, or the user's pick. */
async function chooseRoot(view: EnvironmentsView, given: string | undefined): Promise<string | undefined> {
  const roots = view.folders().flatMap(({ state }) => (state.kind === 'ready' ? [state.root] : []));
  if (given !== undefined) return given;
  if (roots.length === 0) {
    throw new SluiceError('No folder has a readable sluice.yaml in a git repository.', 'usage');
  }
  if (roots.length === 1) return roots[0];
  return vscode.window.showQuickPick(roots, { title: 'Sluice: which workspace?' });
}

function environmentsAt(view: EnvironmentsView, root: string): readonly EnvironmentState[] {
  const folder = view.folders().find(({ state }) => 'root' in state && state.root === root);
  if (folder === undefined) return [];
  return folder.environments;
}

/**
 * The environment a command acts on: the clicked element, options.environment,
 * or a pick among those the action applies to (promote: fed from another
 * environment; rollback: anything with a history).
 */
async function chooseTarget(
  view: EnvironmentsView,
  nodeOrOptions: unknown,
  moreOptions: unknown,
  action: 'promote' | 'rollback',
): Promise<Target | undefined> {
  if (isEnvironmentNode(nodeOrOptions)) {
    return {
      root: nodeOrOptions.root,
      environment: nodeOrOptions.environment,
      options: parseOptions(moreOptions),
    };
  }
  const options = parseOptions(nodeOrOptions);
  const root = await chooseRoot(view, options.root);
  if (root === undefined) return undefined;
  const applicable = environmentsAt(view, root).filter((environment) =>
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
  return head === undefined ? `${from}nothing live` : `${from}live: ${shortRelease(head.release)}`;
}
