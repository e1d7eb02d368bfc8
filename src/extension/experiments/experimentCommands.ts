// The Experiments commands: Show Experiments opens the table; the others are
// what its buttons do (run with changed params or a grid, apply one to the
// workspace, stage a release from one, remove some). Each calls the engine in
// process, as `sluice exp …` does; long ones run with progress and Cancel
// (the AbortSignal reaches the engine, which kills the runs' process groups),
// and the queue shows in the table as it goes. Apply and Remove ask first.
// The action commands take an options object (root, ids, set…), so a
// keybinding, another extension or a test can call them without the page.
import * as vscode from 'vscode';
import { describeApply, expApplyJson } from '../../core/operations/experimentResults';
import { stagingProgress } from '../environments/environmentCommands';
import { hasCode, SluiceError } from '../../core/errors';
import { applyExperiment } from '../../core/experiments/apply';
import { runExperiments } from '../../core/experiments/queue';
import { stageExperiment } from '../../core/experiments/stage';
import type { QueuedExperiment } from '../../core/experiments/table';
import { shortId } from '../../core/format';
import type { Workspace } from '../../core/workspace';
import { stageJson } from '../../core/operations/results';
import { removeExperimentRecords } from '../../core/operations/sync/removeExperiments';
import { listRemotes, resolveRemote, type RemoteConfig } from '../../core/workspace/remotes';
import { outcome, unchanged } from '../changes';
import { FailureWithNextSteps, type CommandTable, type NextStep } from '../commands';
import type { SluiceContext } from '../context';
import type { WorkspaceModel } from '../model';
import { stageMessage } from '../resultMessages';
import { EXPERIMENTS_RESTRICTED_REASON } from './experimentPanels';

/** Options of the action commands; `root` is the workspace (the folder of sluice.yaml). */
export interface ExperimentOptions {
  readonly root?: string;
  /** Run: `KEY=VALUE` or `KEY=V1,V2` (a grid) each. */
  readonly set?: readonly string[];
  readonly jobs?: number;
  readonly name?: string;
  /** Apply, stage: one experiment (id or unique prefix). */
  readonly id?: string;
  /** Remove: experiments (ids or unique prefixes). */
  readonly ids?: readonly string[];
  /** Skip the confirmation Apply and Remove ask for. */
  readonly confirmed?: boolean;
  /** Remove: also from this remote's git remote (a name under `remotes:`), first. */
  readonly remote?: string;
}

const SHOW_LOG: NextStep = {
  title: 'Show Log',
  run: () => vscode.commands.executeCommand('sluice.showLog'),
};

export function experimentCommands(context: SluiceContext): CommandTable {
  const { model, operations, log, experiments } = context;
  const warn = (text: string): void => {
    log.warn(text);
    void vscode.window.showWarningMessage(`Sluice: ${text}`);
  };
  return {
    // Reading: in Restricted Mode it opens too, and the page says why it is empty.
    showExperiments: async (arg) => {
      const root = await chooseRoot(model, parseOptions(arg).root);
      return root === undefined ? undefined : experiments.show(root);
    },
    runExperiments: {
      writes: 'run experiments',
      run: async (arg) => {
        const options = parseOptions(arg);
        const root = await chooseRoot(model, options.root);
        if (root === undefined) return unchanged(undefined);
        const workspace = workspaceAt(model, root);
        const set = options.set ?? [];
        const result = await operations.run(describeRun(set), async (signal, report) => {
          const done = await withSnapshotStep(() =>
            runExperiments(workspace, {
              set,
              ...(options.jobs === undefined ? {} : { jobs: options.jobs }),
              ...(options.name === undefined ? {} : { name: options.name }),
              signal,
              onProgress: (queue) => {
                experiments.showQueue(root, queue);
                report(describeProgress(queue));
              },
              onOutput: (name, text) => {
                log.info(`${name} │ ${text.trimEnd()}`);
              },
              onWarning: warn,
            }),
          );
          // The page drops the queue rows whose records it now has.
          await experiments.reload(root);
          return done;
        });
        const failed = result.experiments.filter((record) =>
          record.stages.some((stage) => stage.result === 'failed'),
        ).length;
        const text = `${String(result.experiments.length)} experiment${result.experiments.length === 1 ? '' : 's'} recorded, ${String(failed)} failed${result.cancelled ? '; the rest was cancelled' : ''}.`;
        if (failed > 0)
          void vscode.window.showWarningMessage(`Sluice: ${text} Their logs are in the Sluice log.`);
        else void vscode.window.showInformationMessage(`Sluice: ${text}`);
        // A workspace run writes stage records and outputs too.
        return outcome(result, [{ kind: 'pipelines', root }]);
      },
    },
    applyExperiment: {
      writes: 'apply an experiment',
      run: async (arg) => {
        const options = parseOptions(arg);
        const root = await chooseRoot(model, options.root);
        const id = requireId(options.id);
        if (root === undefined) return unchanged(undefined);
        const workspace = workspaceAt(model, root);
        if (options.confirmed !== true) {
          const apply = 'Apply';
          const choice = await vscode.window.showWarningMessage(
            `Apply experiment ${shortId(id)} to the workspace?`,
            {
              modal: true,
              detail:
                'Its params are written into the params file and its stages’ outputs replace those on disk. ' +
                'Commit or snapshot what you want to keep first.',
            },
            apply,
          );
          if (choice !== apply) return unchanged(undefined);
        }
        const result = await operations.run(`Applying experiment ${shortId(id)}`, (signal) =>
          applyExperiment(workspace, id, { signal }),
        );
        // The sentences `sluice exp apply` prints, stages it could not restore included.
        const json = expApplyJson(result);
        const text = describeApply(json)
          .map((line) => line.trim())
          .join(' ');
        if (json.stages.some((stage) => stage.result === 'not-run'))
          void vscode.window.showWarningMessage(`Sluice: ${text}`);
        else void vscode.window.showInformationMessage(`Sluice: ${text}`);
        return outcome(result, [{ kind: 'pipelines', root }]);
      },
    },
    stageExperiment: {
      writes: 'stage a release',
      run: async (arg) => {
        const options = parseOptions(arg);
        const root = await chooseRoot(model, options.root);
        const id = requireId(options.id);
        if (root === undefined) return unchanged(undefined);
        const workspace = workspaceAt(model, root);
        const result = await operations.run(
          `Staging a release from experiment ${shortId(id)}`,
          (signal, report) =>
            withSnapshotStep(() =>
              stageExperiment(workspace, id, { signal, ...stagingProgress(log, report) }),
            ),
        );
        // What `sluice stage --json` prints: from here on, only this is read.
        const json = stageJson(result);
        const message = stageMessage(json);
        if (message.failed) throw new FailureWithNextSteps(message.text, [SHOW_LOG]);
        void vscode.window.showInformationMessage(`Sluice: ${message.text}`);
        return outcome(json, [
          { kind: 'pipelines', root },
          { kind: 'environments', root },
        ]);
      },
    },
    removeExperiments: {
      writes: 'remove experiments',
      run: async (arg) => {
        const options = parseOptions(arg);
        const root = await chooseRoot(model, options.root);
        const ids = options.ids ?? [];
        if (root === undefined || ids.length === 0) return unchanged(undefined);
        const workspace = workspaceAt(model, root);
        let remoteName = options.remote;
        if (options.confirmed !== true) {
          const remove = 'Remove Here';
          // Like a git tag, a record removed here alone comes back with the next pull: offer the remote too.
          const remote = defaultRemote(workspace);
          const everywhere = remote && `Remove Here and from ${remote.name}`;
          const choice = await vscode.window.showWarningMessage(
            ids.length === 1
              ? `Remove experiment ${shortId(ids[0]!)}?`
              : `Remove ${String(ids.length)} experiments?`,
            {
              modal: true,
              detail: remote
                ? `Removed here only, a record pushed before comes back with the next pull from ${remote.name}. Releases and environments are not touched.`
                : 'Their records go from this repository. Releases and environments are not touched.',
            },
            remove,
            ...(everywhere ? [everywhere] : []),
          );
          if (choice === undefined) return unchanged(undefined);
          if (choice === everywhere) remoteName = remote?.name;
        }
        const result = await removeExperimentRecords(
          workspace,
          ids,
          remoteName === undefined ? undefined : resolveRemote(workspace, remoteName),
        );
        await experiments.reload(root);
        const count = `${String(result.removed.length)} experiment${result.removed.length === 1 ? '' : 's'}`;
        void vscode.window.showInformationMessage(
          result.remote
            ? `Sluice: ${count} removed here, ${String(result.remote.removed.length)} of them from ${result.remote.name}.`
            : `Sluice: ${count} removed.`,
        );
        return unchanged(result.removed);
      },
    },
  };
}

/**
 * Experiments run on the datasets' latest snapshots: a dataset without one
 * fails with the CLI's hint; here the next step is a button.
 */
async function withSnapshotStep<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (hasCode(error, 'not-found') && error.data['sought'] === 'snapshot')
      throw new FailureWithNextSteps(
        `${error.message} Experiments run on each dataset's latest snapshot.`,
        [
          {
            title: 'Snapshot Datasets',
            run: () => vscode.commands.executeCommand('sluice.snapshotDatasets'),
          },
        ],
        error,
      );
    throw error;
  }
}

function describeRun(set: readonly string[]): string {
  const grid = set.some((item) => item.slice(item.indexOf('=') + 1).includes(','));
  return grid ? 'Running an experiment grid' : 'Running an experiment';
}

/** "3/8 done, 2 running": the notification's line while a queue runs. */
export function describeProgress(queue: readonly QueuedExperiment[]): string {
  const finished = queue.filter((entry) => entry.status !== 'queued' && entry.status !== 'running').length;
  const running = queue.filter((entry) => entry.status === 'running').length;
  return `${String(finished)}/${String(queue.length)} done${running > 0 ? `, ${String(running)} running` : ''}`;
}

function workspaceAt(model: WorkspaceModel, root: string): Workspace {
  return model.workspaceAt(root, EXPERIMENTS_RESTRICTED_REASON);
}

function requireId(id: string | undefined): string {
  if (id === undefined)
    throw new SluiceError('Which experiment? Select one row in the Experiments view.', 'usage');
  return id;
}

function parseOptions(value: unknown): ExperimentOptions {
  if (typeof value !== 'object' || value === null) return {};
  const { root, set, jobs, name, id, ids, confirmed, remote } = value as Record<string, unknown>;
  const strings = (list: unknown): readonly string[] | undefined =>
    Array.isArray(list) && list.every((item) => typeof item === 'string') ? list : undefined;
  const setList = strings(set);
  const idList = strings(ids);
  return {
    ...(typeof root === 'string' ? { root } : {}),
    ...(setList === undefined ? {} : { set: setList }),
    ...(typeof jobs === 'number' && Number.isInteger(jobs) && jobs >= 1 ? { jobs } : {}),
    ...(typeof name === 'string' && name !== '' ? { name } : {}),
    ...(typeof id === 'string' && id !== '' ? { id } : {}),
    ...(idList === undefined ? {} : { ids: idList }),
    ...(confirmed === true ? { confirmed: true } : {}),
    ...(typeof remote === 'string' && remote !== '' ? { remote } : {}),
  };
}

/** The default remote, if one is configured and readable (a bad .sluice/remotes.yaml offers none here; push says why). */
function defaultRemote(workspace: Workspace): RemoteConfig | undefined {
  try {
    return listRemotes(workspace).find((remote) => remote.isDefault);
  } catch {
    return undefined;
  }
}

/** The workspace to act in: the given one, the only one with a manifest, or the user's pick. */
async function chooseRoot(model: WorkspaceModel, given: string | undefined): Promise<string | undefined> {
  await model.start();
  if (given !== undefined) return given;
  const roots = [
    ...new Set(
      model.folders.flatMap(({ state }) =>
        state.kind === 'ready' || state.kind === 'restricted' ? [state.root] : [],
      ),
    ),
  ];
  if (roots.length === 0)
    throw new SluiceError('No folder has a readable sluice.yaml in a git repository.', 'usage');
  if (roots.length === 1) return roots[0];
  return vscode.window.showQuickPick(roots, { title: 'Sluice: the experiments of which workspace?' });
}
