// How the model (model.ts) reads a folder's environments for the Environments
// view and the status bar: what the engine reads of what is live where (the
// same call `sluice envs` makes), and the newest runs of each monitored
// environment's health history (what `sluice health` reads). No vscode import.
//
// What it reads is a pure function of a few refs (each environment's history
// and health history, HEAD) and the manifest: a refresh in which none of them
// moved keeps the last read instead of running git for every environment
// (two to three processes each, most of a Refresh's time).
import { healthRef } from '../../core/environments/healthHistory';
import { readHealthHistory } from '../../core/environments/healthStatus';
import { environmentRef } from '../../core/environments/history';
import { derivedCachesOf } from '../../core/manifest/modelCache';
import { readLiveEnvironments } from '../../core/environments/live';
import type { Manifest } from '../../core/manifest/model';
import type { FolderState } from '../folders';
import { headValueWithoutGit, refValueWithoutGit } from '../snapshots/refValue';
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

/** Each folder's environments as last read, kept while what they were read from is unchanged. */
export class EnvironmentReads {
  readonly #last = new Map<string, { readonly key: string; readonly read: FolderEnvironments }>();

  async load(state: FolderState): Promise<FolderEnvironments> {
    if (state.kind !== 'ready') return loadFolderEnvironments(state);
    const root = state.workspace.root;
    const key = readKey(state.workspace.root, state.workspace.manifest);
    const last = this.#last.get(root);
    if (key !== undefined && last?.key === key) return { ...last.read, state };
    // Read before the read: a ref that moves during it gives the next load another key.
    const read = await loadFolderEnvironments(state);
    // A read that failed (git busy, a lock) is tried again next time, not kept.
    const failed = read.environments.some(
      (environment) => environment.history.kind === 'failed' || environment.health.kind === 'failed',
    );
    if (key === undefined || failed) this.#last.delete(root);
    else this.#last.set(root, { key, read });
    return read;
  }
}

/**
 * The manifest's model key and the commit of every ref a read reads, or
 * undefined when the repository's files cannot tell without git (reftable, a
 * manifest the model cache does not know): then every load reads.
 */
function readKey(root: string, manifest: Manifest): string | undefined {
  const model = derivedCachesOf(manifest)?.key;
  if (model === undefined) return undefined;
  const parts = [model, headValueWithoutGit(root)];
  for (const name of manifest.environments.keys())
    parts.push(refValueWithoutGit(root, environmentRef(name)), refValueWithoutGit(root, healthRef(name)));
  return parts.includes(undefined) ? undefined : parts.join(' ');
}
