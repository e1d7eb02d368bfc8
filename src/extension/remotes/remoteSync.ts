// Where a folder stands against its default remote, as the views show it:
// "↑1 ↓2" beside a dataset or an environment, and the status bar's count of
// what there is to pull. Read from the refs the last fetch, pull or push
// kept (the engine's syncStatus), so a refresh never makes a network call.
// Plain TypeScript, no vscode import.
import { asSluiceError, describeError } from '../../core/errors';
import { syncStatus, type SyncStatus } from '../../core/operations/sync/syncStatus';
import { resolveRemote } from '../../core/workspace/remotes';
import type { FolderState } from '../folders';

export type FolderRemote =
  /** No default remote (none configured, or several and none chosen): nothing to show. */
  | { readonly kind: 'none' }
  | { readonly kind: 'failed'; readonly message: string }
  | { readonly kind: 'read'; readonly name: string; readonly status: SyncStatus };

export const NO_REMOTE: FolderRemote = { kind: 'none' };

export async function loadFolderRemote(state: FolderState): Promise<FolderRemote> {
  if (state.kind !== 'ready') return NO_REMOTE;
  try {
    const remote = resolveRemote(state.workspace, undefined);
    return { kind: 'read', name: remote.name, status: await syncStatus(state.workspace, remote.gitRemote) };
  } catch (error) {
    const code = asSluiceError(error)?.code;
    if (code === 'remote-not-configured' || code === 'remote-no-default') return NO_REMOTE;
    return { kind: 'failed', message: describeError(error) };
  }
}

/** `↑1 ↓2` for one dataset or environment, or undefined when it is in step (or never fetched). */
export function syncBadge(
  remote: FolderRemote | undefined,
  kind: 'dataset' | 'environment',
  name: string,
): string | undefined {
  if (remote?.kind !== 'read') return undefined;
  const state = remote.status.refs.find((ref) => ref.kind === kind && ref.name === name);
  if (!state) return undefined;
  return [
    ...(state.ahead > 0 ? [`↑${state.ahead}`] : []),
    ...(state.behind > 0 ? [`↓${state.behind}`] : []),
  ].join(' ');
}

/** A tooltip line for the same: `team: 2 to pull, 1 to push (as of the last fetch).` */
export function syncTooltip(
  remote: FolderRemote | undefined,
  kind: 'dataset' | 'environment',
  name: string,
): string | undefined {
  if (remote?.kind !== 'read') return undefined;
  const state = remote.status.refs.find((ref) => ref.kind === kind && ref.name === name);
  if (!state) return undefined;
  const what = kind === 'dataset' ? 'snapshot' : 'deployment';
  const parts = [
    ...(state.behind > 0 ? [`${state.behind} ${what}${state.behind === 1 ? '' : 's'} to pull`] : []),
    ...(state.ahead > 0 ? [`${state.ahead} to push`] : []),
  ];
  return `${remote.name}: ${parts.join(', ')} (as of the last fetch).`;
}

/** How many snapshots and deployments the default remotes have that these folders lack. */
export function behindCount(remotes: readonly FolderRemote[]): number {
  let behind = 0;
  for (const remote of remotes)
    if (remote.kind === 'read') for (const ref of remote.status.refs) behind += ref.behind;
  return behind;
}
