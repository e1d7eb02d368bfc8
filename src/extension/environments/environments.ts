// How the model (model.ts) reads a folder's environments for the Environments
// view and the status bar: what the engine reads of what is live where (the
// same call `sluice envs` makes), and the newest runs of each monitored
// environment's health history (what `sluice health` reads). No vscode import.
import { readHealthHistory } from '../../core/environments/healthStatus';
import { readLiveEnvironments } from '../../core/environments/live';
import type { Manifest } from '../../core/manifest/model';
import type { FolderState } from '../folders';
import { declaredEnvironments, type EnvironmentHealth, type FolderEnvironments } from './model';

export async function loadFolderEnvironments(state: FolderState): Promise<FolderEnvironments> {
  if (state.kind === 'restricted') {
    // Health histories are in git too: unread, as the releases are.
    return {
      state,
      head: undefined,
      environments: declaredEnvironments(state.manifest, undefined, (name) =>
        monitored(state.manifest, name) ? { kind: 'unread' } : { kind: 'unmonitored' },
      ),
    };
  }
  if (state.kind !== 'ready') return { state, head: undefined, environments: [] };
  const { workspace } = state;
  const live = await readLiveEnvironments(workspace);
  const environments = await Promise.all(
    live.map(async (environment) => {
      const health: EnvironmentHealth = monitored(workspace.manifest, environment.name)
        ? await readHealthHistory(workspace, environment.name)
        : { kind: 'unmonitored' };
      return { ...environment, health };
    }),
  );
  let head: string | undefined;
  try {
    head = await workspace.git.headCommit();
  } catch {
    head = undefined; // a repository without a commit yet: the workspace node says "your working tree"
  }
  return { state, head, environments };
}

function monitored(manifest: Manifest, name: string): boolean {
  return manifest.environments.get(name)?.monitor !== undefined;
}
