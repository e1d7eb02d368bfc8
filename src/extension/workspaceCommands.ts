// Commands about the workspace itself, shared by every view: Initialize
// Workspace, Create Git Repository (the welcome views' buttons), Open Manifest,
// Show Log and Refresh.
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { basename } from 'node:path';
import { promisify } from 'node:util';
import * as vscode from 'vscode';
import { describeError, SluiceError } from '../core/errors';
import { GitRepository } from '../core/git/repository';
import { EXAMPLES, initWorkspace, type InitResult } from '../core/operations/init';
import { MANIFEST_FILE } from '../core/manifest';
import { outcome, unchanged, type Outcome } from './changes';
import { FailureWithNextSteps, type CommandTable } from './commands';
import type { SluiceContext } from './context';
import type { FolderState } from './folders';
import type { WorkspaceModel } from './model';

/** Options a keybinding, another extension or a test may pass instead of answering prompts. */
export interface InitializeOptions {
  /** The folder to initialize (absolute); without it, the only folder without a manifest, or a pick. */
  readonly folder?: string;
  /** Create this example (the folder must be empty) instead of the starter manifest. */
  readonly example?: string;
}

export function workspaceCommands({ model: workspaces, log }: SluiceContext): CommandTable {
  return {
    initializeWorkspace: {
      writes: 'initialize a workspace',
      run: (options) => initialize(workspaces, log, initializeOptions(options)),
    },
    createGitRepository: {
      writes: 'create a git repository',
      run: (node) => createGitRepository(workspaces, log, folderOfNode(node)),
    },
    openManifest: async (node) => {
      const withManifest = workspaces.folders.flatMap(({ state }) =>
        state.kind === 'noManifest' ? [] : [state],
      );
      if (withManifest.length === 0) throw new SluiceError(`No folder has a ${MANIFEST_FILE}.`, 'usage');
      const state = await pickFolder(withManifest, folderOfNode(node), `Open which ${MANIFEST_FILE}?`);
      if (state !== undefined) await vscode.window.showTextDocument(vscode.Uri.file(state.manifestFile));
    },
    showLog: () => {
      log.show();
    },
    refresh: () => workspaces.refreshAll(),
  };
}

async function initialize(
  workspaces: WorkspaceModel,
  log: vscode.LogOutputChannel,
  options: InitializeOptions,
): Promise<Outcome<InitResult | undefined>> {
  if ((vscode.workspace.workspaceFolders ?? []).length === 0) {
    throw new FailureWithNextSteps('Open a folder first: Sluice initializes the folder you work in.', [
      {
        title: 'Open Folder',
        run: () => vscode.commands.executeCommand('workbench.action.files.openFolder'),
      },
    ]);
  }
  const candidates = workspaces.folders.flatMap(({ state }) => (state.kind === 'noManifest' ? [state] : []));
  if (candidates.length === 0) {
    void vscode.window.showInformationMessage(`Sluice: every folder already has a ${MANIFEST_FILE}.`);
    return unchanged(undefined);
  }
  const state = await pickFolder(candidates, options.folder, `Initialize which folder?`);
  if (state === undefined) return unchanged(undefined);
  const example = options.example ?? (await pickStart(state.folder));
  if (example === null) return unchanged(undefined);
  const result = await initWorkspace(state.folder, { example });
  log.info(
    result.example
      ? `Created the ${result.example.name} example in ${result.dir} (${result.files.length} files, a git repository).`
      : `Wrote ${MANIFEST_FILE} in ${result.dir}.`,
  );
  await vscode.window.showTextDocument(vscode.Uri.joinPath(vscode.Uri.file(result.dir), MANIFEST_FILE));
  // A manifest (and for an example, a repository) where there was none: the folder is discovered again.
  return outcome(result, [{ kind: 'folder', root: state.folder }]);
}

/**
 * An empty folder can take an example workspace; any other gets the starter
 * manifest. Returns the example's name, undefined for the starter, null when dismissed.
 */
async function pickStart(folder: string): Promise<string | undefined | null> {
  if (readdirSync(folder).length > 0) return undefined;
  const starter = {
    label: 'Starter manifest',
    description: `a commented ${MANIFEST_FILE}`,
    example: undefined,
  };
  const examples = EXAMPLES.map((example) => ({
    label: `Example: ${example.name}`,
    description: example.description,
    example: example.name,
  }));
  const choice = await vscode.window.showQuickPick([starter, ...examples], {
    title: 'Initialize Workspace',
    placeHolder: 'This folder is empty: start from a starter manifest or a runnable example',
  });
  return choice === undefined ? null : choice.example;
}

async function createGitRepository(
  workspaces: WorkspaceModel,
  log: vscode.LogOutputChannel,
  folder: string | undefined,
): Promise<Outcome<undefined>> {
  const candidates = workspaces.folders.flatMap(({ state }) => (state.kind === 'noGit' ? [state] : []));
  if (candidates.length === 0) {
    void vscode.window.showInformationMessage('Sluice: every Sluice folder is in a git repository already.');
    return unchanged(undefined);
  }
  const state = await pickFolder(candidates, folder, 'Create a git repository for which folder?');
  if (state === undefined) return unchanged(undefined);
  await GitRepository.requireGit();
  try {
    // The engine has no plain `git init` (its one creates the example's first commit as well).
    await promisify(execFile)('git', ['init', '--quiet'], { cwd: state.root });
  } catch (error) {
    throw new SluiceError(`git init in ${state.root} failed: ${describeError(error)}`, 'failed');
  }
  log.info(`Created a git repository in ${state.root}.`);
  void vscode.window.showInformationMessage(`Sluice: created a git repository in ${state.root}.`);
  return outcome(undefined, [{ kind: 'folder', root: state.root }]);
}

/** The folder named (by path), the only candidate, or the one the user picks; undefined when dismissed. */
async function pickFolder<S extends FolderState>(
  candidates: readonly S[],
  folder: string | undefined,
  placeHolder: string,
): Promise<S | undefined> {
  if (folder !== undefined) {
    const named = candidates.find((state) => state.folder === folder);
    if (named === undefined)
      throw new SluiceError(`${folder} is not one of the folders this command can use.`, 'usage');
    return named;
  }
  if (candidates.length <= 1) return candidates[0];
  const choice = await vscode.window.showQuickPick(
    candidates.map((state) => ({ label: basename(state.folder), description: state.folder, state })),
    { placeHolder },
  );
  return choice?.state;
}

/** The folder of a view element (a folder or dataset node), when the command came from one. */
function folderOfNode(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const node = value as {
    kind?: unknown;
    state?: { folder?: unknown };
    parent?: { state?: { folder?: unknown } };
  };
  const folder =
    node.kind === 'folder'
      ? node.state?.folder
      : node.kind === 'dataset'
        ? node.parent?.state?.folder
        : undefined;
  return typeof folder === 'string' ? folder : undefined;
}

function initializeOptions(value: unknown): InitializeOptions {
  if (typeof value !== 'object' || value === null) return {};
  const { folder, example } = value as { folder?: unknown; example?: unknown };
  return {
    ...(typeof folder === 'string' ? { folder } : {}),
    ...(typeof example === 'string' ? { example } : {}),
  };
}
