// Which release folders under each environment's deploy.path gc keeps: those
// of the history's last N deployments, the live release and the one before it
// (what a rollback goes back to), and whatever `current` points at. Older
// folders are removed; their records stay in git, so a later deployment of
// such a release writes its folder again from the cache.
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Workspace } from '../workspace';
import { deployFolder, linkedRelease, RELEASES_FOLDER } from './deploy';
import { readHistory } from './history';

export const DEFAULT_KEEP_RELEASES = 10;

export interface ReleaseFolder {
  readonly environment: string;
  readonly release: string;
  readonly path: string;
}

export interface ReleaseRetention {
  readonly kept: readonly ReleaseFolder[];
  readonly removed: readonly ReleaseFolder[];
}

const RELEASE_ID = /^[0-9a-f]{64}$/;

/**
 * Removes (unless `dryRun`) the release folders no environment keeps. A
 * folder younger than `minAgeMs` is kept whatever the history says: a
 * deployment writes its folder before it records itself.
 */
export async function pruneReleaseFolders(
  workspace: Workspace,
  options: { keep: number; minAgeMs: number; dryRun: boolean },
): Promise<ReleaseRetention> {
  // Two environments could share a deploy folder: a folder is kept if any of them keeps it.
  const folders = new Map<string, { environment: string; keep: Set<string> }>();
  for (const name of workspace.manifest.environments.keys()) {
    const folder = deployFolder(workspace, name);
    if (folder === undefined) continue;
    const history = await readHistory(workspace.git, name);
    const keep = new Set(history.slice(0, Math.max(options.keep, 0)).map((deployment) => deployment.release));
    const live = history[0]?.release;
    if (live !== undefined) keep.add(live);
    const previous = history.find((deployment) => deployment.release !== live)?.release;
    if (previous !== undefined) keep.add(previous);
    const linked = linkedRelease(folder);
    if (linked !== undefined) keep.add(linked);
    const known = folders.get(folder);
    if (known) for (const id of keep) known.keep.add(id);
    else folders.set(folder, { environment: name, keep });
  }
  const kept: ReleaseFolder[] = [];
  const removed: ReleaseFolder[] = [];
  const now = Date.now();
  for (const [folder, { environment, keep }] of folders) {
    const releases = join(folder, RELEASES_FOLDER);
    let names: string[];
    try {
      names = readdirSync(releases);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    for (const release of names.sort()) {
      // Partial folders (.partial-…) belong to a deployment writing now, or are removed by it.
      if (!RELEASE_ID.test(release)) continue;
      const path = join(releases, release);
      const item = { environment, release, path };
      if (keep.has(release) || now - statSync(path).mtimeMs < options.minAgeMs) {
        kept.push(item);
        continue;
      }
      removed.push(item);
      if (!options.dryRun) rmSync(path, { recursive: true, force: true });
    }
  }
  return { kept, removed };
}
