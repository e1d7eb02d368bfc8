// How the model (model.ts) reads a folder's environments for the Environments
// view and the status bar, through the engine's own calls (the ones `sluice
// envs` and `sluice history` make). No vscode import.
import { describeError } from '../../core/errors';
import { readHistory } from '../../core/environments/history';
import { readReleases } from '../../core/environments/releases';
import type { FolderState } from '../folders';
import { declaredEnvironments, type EnvironmentHistory, type FolderEnvironments } from './model';

export async function loadFolderEnvironments(state: FolderState): Promise<FolderEnvironments> {
  if (state.kind === 'restricted') {
    return { state, head: undefined, environments: declaredEnvironments(state.manifest) };
  }
  if (state.kind !== 'ready') return { state, head: undefined, environments: [] };
  const { workspace } = state;
  const histories = new Map<string, EnvironmentHistory>();
  for (const name of workspace.manifest.environments.keys()) {
    try {
      const deployments = await readHistory(workspace.git, name);
      const head = deployments[0];
      const [live] = head === undefined ? [] : await readReleases(workspace.git, [head.release]);
      histories.set(name, { kind: 'read', deployments, live });
    } catch (error) {
      histories.set(name, { kind: 'failed', message: describeError(error) });
    }
  }
  let head: string | undefined;
  try {
    head = await workspace.git.headCommit();
  } catch {
    head = undefined; // a repository without a commit yet: the workspace node says "your working tree"
  }
  return {
    state,
    head,
    environments: declaredEnvironments(workspace.manifest, (name) => histories.get(name)!),
  };
}
