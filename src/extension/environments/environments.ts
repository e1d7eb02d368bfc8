// How the model (model.ts) reads a folder's environments for the Environments
// view and the status bar: what the engine reads of what is live where (the
// same call `sluice envs` makes). No vscode import.
import { readLiveEnvironments } from '../../core/environments/live';
import type { FolderState } from '../folders';
import { declaredEnvironments, type FolderEnvironments } from './model';

export async function loadFolderEnvironments(state: FolderState): Promise<FolderEnvironments> {
  if (state.kind === 'restricted') {
    return { state, head: undefined, environments: declaredEnvironments(state.manifest) };
  }
  if (state.kind !== 'ready') return { state, head: undefined, environments: [] };
  const { workspace } = state;
  const environments = await readLiveEnvironments(workspace);
  let head: string | undefined;
  try {
    head = await workspace.git.headCommit();
  } catch {
    head = undefined; // a repository without a commit yet: the workspace node says "your working tree"
  }
  return { state, head, environments };
}
