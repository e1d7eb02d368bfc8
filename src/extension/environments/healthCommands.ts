// Sluice: Show Health (the status bar's click when an environment fails, the
// rollback notification's button, the palette) reveals an environment's
// Health element in the Environments view; Sluice: Show Metric Chart (a health
// element's context menu, the palette) charts a monitor's metric checks over
// time in a Plots panel. Both only read.
import * as vscode from 'vscode';
import { SluiceError } from '../../core/errors';
import { healthMetricNames } from '../../core/plots/healthPlots';
import type { CommandTable } from '../commands';
import type { WorkspaceModel } from '../model';
import type { PlotsPanels } from '../plots/plotsPanels';
import type { EnvironmentsView } from './environmentsView';
import type { EnvironmentHealth } from './healthNodes';
import { ENVIRONMENTS_RESTRICTED_REASON, type EnvironmentsNode } from './model';

/** An environment of a workspace, as another command, a test or a keybinding names it. */
export interface HealthTarget {
  readonly root: string;
  readonly environment: string;
}

/** What Show Metric Chart resolves with: the chart opened (`checks` empty: every metric check). */
export interface HealthChartTarget extends HealthTarget {
  readonly checks: readonly string[];
}

export function healthCommands(
  view: EnvironmentsView,
  plots: PlotsPanels,
  model: WorkspaceModel,
): CommandTable {
  return {
    showHealth: async (arg): Promise<HealthTarget | undefined> => {
      const target =
        chartOfNode(arg) ?? parseTarget(model, arg) ?? (await pickMonitored(model, 'Show Health'));
      if (target === undefined) return undefined;
      if ((await view.revealHealth(target.root, target.environment)) === undefined)
        throw noHealth(model, target);
      return { root: target.root, environment: target.environment };
    },
    showHealthChart: async (arg): Promise<HealthChartTarget | undefined> => {
      const fromNode = chartOfNode(arg);
      const target = fromNode ?? parseTarget(model, arg) ?? (await pickMonitored(model, 'Show Metric Chart'));
      if (target === undefined) return undefined;
      const checks =
        fromNode?.checks ?? parseChecks(arg) ?? (await pickMetric(healthOf(model, target), target));
      if (checks === undefined) return undefined;
      plots.showHealth(target.root, { environment: target.environment, checks });
      return { ...target, checks };
    },
  };
}

/** A health element of the view: a check charts itself; the Health element or a run, every metric check. */
function chartOfNode(arg: unknown): HealthChartTarget | undefined {
  if (typeof arg !== 'object' || arg === null) return undefined;
  const node = arg as EnvironmentsNode;
  switch (node.kind) {
    case 'health':
      return { root: node.parent.root, environment: node.parent.environment.name, checks: [] };
    case 'healthRun':
      return chartOfNode(node.parent);
    case 'healthCheck': {
      const environment = node.parent.parent.parent;
      return { root: environment.root, environment: environment.environment.name, checks: [node.check.name] };
    }
    case 'environment':
      return { root: node.root, environment: node.environment.name, checks: [] };
    default:
      return undefined;
  }
}

function parseTarget(model: WorkspaceModel, arg: unknown): HealthTarget | undefined {
  if (typeof arg !== 'object' || arg === null) return undefined;
  const { root, environment } = arg as Record<string, unknown>;
  if (typeof environment !== 'string') return undefined;
  if (typeof root === 'string') return { root, environment };
  // Without a root: the only workspace that declares it.
  const roots = monitoredEnvironments(model).filter((target) => target.environment === environment);
  return roots.length === 1 ? roots[0] : undefined;
}

function parseChecks(arg: unknown): readonly string[] | undefined {
  if (typeof arg !== 'object' || arg === null) return undefined;
  const { check, checks } = arg as Record<string, unknown>;
  if (typeof check === 'string') return [check];
  if (Array.isArray(checks) && checks.every((name) => typeof name === 'string')) return checks;
  return undefined;
}

function monitoredEnvironments(model: WorkspaceModel): HealthTarget[] {
  return model.folders.flatMap(({ environments: folder }) => {
    const { state } = folder;
    if (state.kind !== 'ready' && state.kind !== 'restricted') return [];
    return folder.environments
      .filter((environment) => environment.health.kind !== 'unmonitored')
      .map((environment) => ({ root: state.root, environment: environment.name }));
  });
}

function healthOf(model: WorkspaceModel, target: HealthTarget): EnvironmentHealth | undefined {
  for (const { environments: folder } of model.folders) {
    const { state } = folder;
    if ((state.kind !== 'ready' && state.kind !== 'restricted') || state.root !== target.root) continue;
    return folder.environments.find((environment) => environment.name === target.environment)?.health;
  }
  return undefined;
}

async function pickMonitored(model: WorkspaceModel, title: string): Promise<HealthTarget | undefined> {
  await model.start();
  const targets = monitoredEnvironments(model);
  if (targets.length === 0)
    throw new SluiceError(
      'No environment of this window declares a `monitor:`.',
      'usage',
      'Add a `monitor:` section with `every:` and `checks:` to an environment in sluice.yaml.',
      { code: 'no-monitor', data: {} },
    );
  if (targets.length === 1) return targets[0];
  const several = new Set(targets.map((target) => target.root)).size > 1;
  const picked = await vscode.window.showQuickPick(
    targets.map((target) => ({
      label: target.environment,
      ...(several ? { description: target.root } : {}),
      target,
    })),
    { title, placeHolder: 'Which environment?' },
  );
  return picked?.target;
}

/** The metric check to chart; every one when there is one or none yet (the panel says so). */
async function pickMetric(
  health: EnvironmentHealth | undefined,
  target: HealthTarget,
): Promise<readonly string[] | undefined> {
  const names = health?.kind === 'read' ? healthMetricNames(health.records) : [];
  if (names.length <= 1) return [];
  const all = `All ${names.length} metric checks`;
  const picked = await vscode.window.showQuickPick([all, ...names], {
    title: 'Show Metric Chart',
    placeHolder: `Chart which metric check of ${target.environment} over time?`,
  });
  return picked === undefined ? undefined : picked === all ? [] : [picked];
}

function noHealth(model: WorkspaceModel, target: HealthTarget): SluiceError {
  const health = healthOf(model, target);
  const why =
    health === undefined
      ? `The Environments view has no environment ${target.environment} in ${target.root}.`
      : health.kind === 'unmonitored'
        ? `Environment ${target.environment} declares no \`monitor:\`.`
        : health.kind === 'unread'
          ? ENVIRONMENTS_RESTRICTED_REASON
          : `Nothing is live in ${target.environment} yet, so it has no health to show.`;
  return new SluiceError(why, 'usage', undefined, {
    code: 'no-monitor',
    data: { environment: target.environment },
  });
}
