// Sluice: Show Plots. From the Experiments view's "Plot" it comes with the
// workspace and the chosen record ids; from the palette it asks for them: a
// multi-select list of the experiments table, newest first, with the files
// on disk (`workspace`) and the newest run checked.
import * as vscode from 'vscode';
import { SluiceError } from '../../core/errors';
import { showExperiments } from '../../core/experiments/show';
import type { ExperimentRow } from '../../core/experiments/table';
import { WORKSPACE_SOURCE } from '../../core/plots/sources';
import { FailureWithNextSteps, type CommandTable } from '../commands';
import type { WorkspaceModel } from '../model';
import type { PlotsPanels } from './plotsPanels';

/** What the Experiments view (or a keybinding, another extension, a test) passes. */
export interface ShowPlotsOptions {
  /** The folder of sluice.yaml; without it, the only workspace, or a quick pick. */
  readonly root?: string;
  /** Record ids (releases' rows included) or `workspace`; without them, a quick pick. */
  readonly ids?: readonly string[];
}

/** Metrics shown beside a run in the pick list: enough to tell runs apart. */
const PICK_METRICS = 3;

export function plotsCommands(plots: PlotsPanels, model: WorkspaceModel): CommandTable {
  return {
    showPlots: async (arg) => {
      const options = parseOptions(arg);
      const root = options.root ?? (await pickRoot(model));
      if (root === undefined) return undefined;
      const ids = options.ids ?? (await pickExperiments(model, root));
      if (ids === undefined || ids.length === 0) return undefined;
      plots.show(root, ids);
      return { root, ids };
    },
  };
}

function parseOptions(arg: unknown): ShowPlotsOptions {
  if (arg === undefined || arg === null) return {};
  const candidate = arg as { root?: unknown; ids?: unknown };
  const rootOk = candidate.root === undefined || typeof candidate.root === 'string';
  const idsOk =
    candidate.ids === undefined ||
    (Array.isArray(candidate.ids) && candidate.ids.every((id) => typeof id === 'string'));
  if (typeof arg !== 'object' || !rootOk || !idsOk)
    throw new SluiceError(
      'Show Plots takes { root?: string, ids?: string[] }.',
      'usage',
      'Run Sluice: Show Plots from the palette to choose the experiments.',
      { code: 'usage', data: {} },
    );
  return {
    ...(typeof candidate.root === 'string' ? { root: candidate.root } : {}),
    ...(Array.isArray(candidate.ids) ? { ids: candidate.ids as string[] } : {}),
  };
}

/** The workspace to plot: the only one, or the one picked; undefined when the pick was dismissed. */
async function pickRoot(model: WorkspaceModel): Promise<string | undefined> {
  await model.start();
  const roots = model.folders.flatMap(({ state }) => (state.kind === 'noManifest' ? [] : [state.root]));
  if (roots.length === 0)
    throw new FailureWithNextSteps('Sluice: no folder of this window has a sluice.yaml to plot.', [
      {
        title: 'Initialize Workspace',
        run: () => vscode.commands.executeCommand('sluice.initializeWorkspace'),
      },
    ]);
  if (roots.length === 1) return roots[0];
  const picked = await vscode.window.showQuickPick(
    roots.map((root) => ({ label: root.split(/[\\/]/).pop() ?? root, description: root, root })),
    { title: 'Show Plots', placeHolder: 'Plot the experiments of which workspace?' },
  );
  return picked?.root;
}

interface RunItem extends vscode.QuickPickItem {
  readonly id: string;
}

/**
 * The runs to plot, as picked; undefined when dismissed. In Restricted Mode
 * (no git, so no table) or with no record yet, the workspace alone: the
 * panel says why there is nothing more.
 */
async function pickExperiments(model: WorkspaceModel, root: string): Promise<readonly string[] | undefined> {
  const folder = model.folders.find(({ state }) => state.kind === 'ready' && state.root === root);
  if (folder === undefined || folder.state.kind !== 'ready') return [WORKSPACE_SOURCE];
  const table = await showExperiments(folder.state.workspace, {});
  if (table.experiments.length === 0) return [WORKSPACE_SOURCE];
  const items: RunItem[] = [
    {
      id: WORKSPACE_SOURCE,
      label: WORKSPACE_SOURCE,
      description: 'the files on disk now',
      picked: true,
    },
    ...table.experiments.map((row, index) => runItem(row, index === 0)),
  ];
  const picked = await vscode.window.showQuickPick(items, {
    title: 'Show Plots',
    placeHolder: 'Plot which experiments? Newest first; their plots are overlaid.',
    canPickMany: true,
    matchOnDescription: true,
    matchOnDetail: true,
  });
  return picked?.map((item) => item.id);
}

function runItem(row: ExperimentRow, picked: boolean): RunItem {
  const metrics = Object.entries(row.metrics)
    .slice(0, PICK_METRICS)
    .map(([key, value]) => `${key.split('#').pop() ?? key} ${String(Number(value.toPrecision(4)))}`);
  const overrides = Object.entries(row.overrides).map(([key, value]) => `${key}=${JSON.stringify(value)}`);
  const where = row.environments.length > 0 ? ` · live in ${row.environments.join(', ')}` : '';
  const detail = [...overrides, ...metrics].join(' · ');
  return {
    id: row.id,
    label: row.name,
    description: `${row.time.slice(0, 16).replace('T', ' ')} · ${row.origin}${where}${row.succeeded ? '' : ' · failed'}`,
    ...(detail === '' ? {} : { detail }),
    picked,
  };
}
