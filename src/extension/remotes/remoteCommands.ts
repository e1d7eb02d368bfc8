// Push, Pull, Fetch and Add Remote: the editor's face of remotes. The engine
// decides what moves and whether it may; these commands choose the folder and
// the remote, show progress with Cancel, and render the results `sluice
// push|fetch|pull --json` prints. A push refused because a teammate moved an
// environment first (code `remote-moved`) offers Pull and Retry.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { hasCode, SluiceError } from '../../core/errors';
import { formatBytes } from '../../core/format';
import {
  describeFetch,
  describePull,
  describePush,
  fetchJson,
  pullJson,
  pushJson,
  type FetchJson,
  type PullJson,
  type PushJson,
} from '../../core/operations/results';
import { fetch, pull } from '../../core/operations/sync/fetch';
import { push } from '../../core/operations/sync/push';
import type { Progress } from '../../core/remotes/remoteBlobs';
import { addRemote } from '../../core/workspace/remoteChanges';
import { listRemotes, resolveRemote, type RemoteConfig } from '../../core/workspace/remotes';
import type { Workspace } from '../../core/workspace';
import { outcome, unchanged, type Outcome } from '../changes';
import { FailureWithNextSteps, type CommandTable } from '../commands';
import type { SluiceContext } from '../context';
import type { FolderState } from '../folders';
import type { ReportProgress } from '../progress';

/** What a keybinding, another extension or a test may pass instead of answering prompts. */
export interface SyncOptions {
  /** The workspace root (the folder of sluice.yaml); without it, the only one, or a pick. */
  readonly folder?: string;
  /** A remote's name; without it, the default remote, or a pick. */
  readonly remote?: string;
}

export interface AddRemoteOptions {
  readonly folder?: string;
  readonly name?: string;
  readonly url?: string;
}

type ReadyFolder = Extract<FolderState, { kind: 'ready' }>;

export function remoteCommands(context: SluiceContext): CommandTable {
  return {
    push: { writes: 'push to a remote', run: (arg) => pushCommand(context, syncOptions(arg)) },
    pull: { writes: 'pull from a remote', run: (arg) => pullCommand(context, syncOptions(arg)) },
    fetch: { writes: 'fetch from a remote', run: (arg) => fetchCommand(context, syncOptions(arg)) },
    addRemote: { writes: 'add a remote', run: (arg) => addRemoteCommand(context, addOptions(arg)) },
  };
}

async function pushCommand(
  context: SluiceContext,
  options: SyncOptions,
): Promise<Outcome<PushJson | undefined>> {
  const target = await chooseTarget(context, options);
  if (!target) return unchanged(undefined);
  const { folder, remote } = target;
  let json: PushJson;
  try {
    const result = await context.operations.run(`Push to ${remote.name}`, (signal, report) =>
      push(folder.workspace, remote, { signal, progress: progressOf(report) }),
    );
    json = pushJson(result);
  } catch (error) {
    if (!hasCode(error, 'remote-moved')) throw error;
    throw new FailureWithNextSteps(
      error.message,
      [
        {
          title: 'Pull and Retry',
          run: async () => {
            const again = { folder: folder.root, remote: remote.name };
            await vscode.commands.executeCommand('sluice.pull', again);
            await vscode.commands.executeCommand('sluice.push', again);
          },
        },
      ],
      error,
    );
  }
  context.log.info(describePush(json));
  void vscode.window.showInformationMessage(`Sluice: ${describePush(json)}`);
  return outcome(json, [{ kind: 'folder', root: folder.root }]);
}

async function fetchCommand(
  context: SluiceContext,
  options: SyncOptions,
): Promise<Outcome<FetchJson | undefined>> {
  const target = await chooseTarget(context, options);
  if (!target) return unchanged(undefined);
  const { folder, remote } = target;
  const result = await context.operations.run(`Fetch from ${remote.name}`, (signal, report) =>
    fetch(folder.workspace, remote, { signal, progress: progressOf(report) }),
  );
  const json = fetchJson(result);
  const lines = describeFetch(json);
  for (const line of lines) context.log.info(line);
  void vscode.window.showInformationMessage(`Sluice: ${lines[lines.length - 1] ?? ''}`);
  return outcome(json, [{ kind: 'folder', root: folder.root }]);
}

async function pullCommand(
  context: SluiceContext,
  options: SyncOptions,
): Promise<Outcome<PullJson | undefined>> {
  const target = await chooseTarget(context, options);
  if (!target) return unchanged(undefined);
  const { folder, remote } = target;
  const result = await context.operations.run(`Pull from ${remote.name}`, (signal, report) =>
    pull(folder.workspace, remote, { signal, progress: progressOf(report) }),
  );
  const json = pullJson(result);
  const lines = describePull(json);
  for (const line of lines) context.log.info(line);
  if (json.error) {
    // The rest was pulled; the datasets holding unsaved bytes were left as they were, and say so.
    void vscode.window.showWarningMessage(`Sluice: ${json.error.message} ${json.error.hint ?? ''}`.trim());
  } else
    void vscode.window.showInformationMessage(
      `Sluice: ${lines.find((line) => line.startsWith('Pulled')) ?? ''}`,
    );
  return outcome(json, [{ kind: 'folder', root: folder.root }]);
}

async function addRemoteCommand(
  context: SluiceContext,
  options: AddRemoteOptions,
): Promise<Outcome<{ name: string; url: string } | undefined>> {
  const folder = await chooseFolder(context, options.folder);
  if (!folder) return unchanged(undefined);
  const name =
    options.name ??
    (await vscode.window.showInputBox({
      title: 'Add Remote (1/2)',
      prompt: 'A name for the remote, as push and pull will call it',
      value: 'team',
      validateInput: (value) =>
        /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(value) ? undefined : 'Letters, digits, . _ -',
    }));
  if (name === undefined) return unchanged(undefined);
  const url =
    options.url ??
    (await vscode.window.showInputBox({
      title: 'Add Remote (2/2)',
      prompt:
        'Where blobs go: a folder, ssh://host/path, host:path or s3://bucket/prefix (credentials never go here)',
    }));
  if (url === undefined || url.trim() === '') return unchanged(undefined);
  const change = addRemote(folder.workspace, name, { url: url.trim(), makeDefault: true });
  context.log.info(
    `Added remote ${change.name} (${url.trim()}) to ${change.files.map((f) => f.path).join(', ')}.`,
  );
  void vscode.window.showInformationMessage(`Sluice: remote ${name} added and made the default.`);
  return outcome({ name, url: url.trim() }, [{ kind: 'folder', root: folder.root }]);
}

async function chooseTarget(
  context: SluiceContext,
  options: SyncOptions,
): Promise<{ folder: ReadyFolder; remote: RemoteConfig } | undefined> {
  const folder = await chooseFolder(context, options.folder);
  if (!folder) return undefined;
  const remote = await chooseRemote(folder.workspace, options.remote);
  return remote ? { folder, remote } : undefined;
}

async function chooseFolder(
  context: SluiceContext,
  root: string | undefined,
): Promise<ReadyFolder | undefined> {
  // Run right after activation, a command would otherwise find no folder read yet.
  await context.model.start();
  const ready = context.model.folders.flatMap(({ state }) => (state.kind === 'ready' ? [state] : []));
  if (root !== undefined) {
    const named = ready.find((state) => state.root === root || state.folder === root);
    if (!named) throw new SluiceError(`${root} is not an open Sluice workspace.`, 'usage');
    return named;
  }
  if (ready.length === 0)
    throw new SluiceError('No folder holds a Sluice workspace that can be read now.', 'usage');
  if (ready.length === 1) return ready[0];
  const choice = await vscode.window.showQuickPick(
    ready.map((state) => ({ label: basename(state.root), description: state.root, state })),
    { placeHolder: 'Which workspace?' },
  );
  return choice?.state;
}

/** The named remote, the default one, or the user's pick when there are several and none is the default. */
async function chooseRemote(
  workspace: Workspace,
  name: string | undefined,
): Promise<RemoteConfig | undefined> {
  try {
    return resolveRemote(workspace, name);
  } catch (error) {
    if (hasCode(error, 'remote-not-configured')) {
      throw new FailureWithNextSteps(
        'This workspace has no remote yet: declare where teammates share its data.',
        [{ title: 'Add Remote…', run: () => vscode.commands.executeCommand('sluice.addRemote') }],
        error,
      );
    }
    if (!hasCode(error, 'remote-no-default')) throw error;
    const choice = await vscode.window.showQuickPick(
      listRemotes(workspace).map((remote) => ({ label: remote.name, description: remote.url, remote })),
      { placeHolder: 'Which remote? (none is the default)' },
    );
    return choice?.remote;
  }
}

function progressOf(report: ReportProgress): Progress {
  return ({ blobs, bytes }) => {
    report(`${blobs} blobs, ${formatBytes(bytes)}`);
  };
}

function syncOptions(value: unknown): SyncOptions {
  if (typeof value !== 'object' || value === null) return {};
  const { folder, remote, root } = value as { folder?: unknown; remote?: unknown; root?: unknown };
  // A tree node of the Data Snapshots or Environments view carries its workspace root.
  const where = typeof folder === 'string' ? folder : typeof root === 'string' ? root : undefined;
  return {
    ...(where === undefined ? {} : { folder: where }),
    ...(typeof remote === 'string' ? { remote } : {}),
  };
}

function addOptions(value: unknown): AddRemoteOptions {
  if (typeof value !== 'object' || value === null) return {};
  const { folder, name, url } = value as { folder?: unknown; name?: unknown; url?: unknown };
  return {
    ...(typeof folder === 'string' ? { folder } : {}),
    ...(typeof name === 'string' ? { name } : {}),
    ...(typeof url === 'string' ? { url } : {}),
  };
}
