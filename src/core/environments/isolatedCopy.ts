// A clean copy to run a pipeline in, never the developer's tree: a git
// worktree of one commit under .sluice/tmp/ with the datasets placed from the
// cache at given snapshots (reflinks, else read-only hard links, else copies).
// It shares the developer's object store and run cache, so unchanged stages
// restore; its state, logs and lock are its own. `stage` builds releases in
// one and `exp run` runs each queued combination in one. The copy goes away
// afterwards, also after a failure or a cancel; one left by a killed process
// is removed by the next stage (removeLeftoverWorktrees).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { compareSnapshots, readSnapshot, requireDataset } from '../snapshots/snapshots';
import { openWorkspace, type Workspace } from '../workspace';
import { placeDataset, WORKTREE_PREFIX } from './materialize';
import { Placer } from './placement';

export interface IsolatedCopy {
  /** The copy as a workspace: its root is inside the worktree, its store the developer's. */
  readonly workspace: Workspace;
  /** The developer's run cache folder, for openPipelines' runCacheDir. */
  readonly runCacheDir: string;
}

export async function withIsolatedCopy<T>(
  workspace: Workspace,
  code: string,
  snapshots: Readonly<Record<string, string>>,
  options: { readonly signal?: AbortSignal | undefined },
  use: (copy: IsolatedCopy) => Promise<T>,
): Promise<T> {
  const prefix = await workspace.git.prefix();
  const worktree = join(
    workspace.store.scratchFolder(),
    `${WORKTREE_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`,
  );
  try {
    await workspace.git.addWorktree(worktree, code);
    const opened = await openWorkspace(join(worktree, prefix));
    const clean: Workspace = { ...opened, store: workspace.store };
    // Nothing is read back or re-hashed: the placer probes once how to place files.
    const placer = new Placer(workspace.store);
    for (const [name, id] of Object.entries(snapshots)) {
      const snapshot = await readSnapshot(workspace, name, id);
      const { added: entries } = await compareSnapshots(
        workspace,
        undefined,
        snapshot,
        options.signal ? { signal: options.signal } : {},
      );
      placeDataset(join(clean.root, requireDataset(clean, name).path.value), entries, placer);
    }
    return await use({ workspace: clean, runCacheDir: join(workspace.sluiceDir, 'runs') });
  } finally {
    await workspace.git.removeWorktree(worktree);
  }
}
