// Placing blobs from the object store as read-only files elsewhere (a staging
// worktree's datasets, a deployed release): a reflink where the file system
// can, else a hard link, else a copy. Which one works is probed once per
// destination folder and remembered for the rest of the command.
import { chmodSync, constants, copyFileSync, linkSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { CachedOutput } from '../pipelines/outputs';
import type { ObjectStore } from '../store/objectStore';

export type PlacementMethod = 'reflink' | 'hardlink' | 'copy';

const READ_ONLY = ~0o222;

export class Placer {
  private method: PlacementMethod | undefined;

  constructor(private readonly store: ObjectStore) {}

  /** How files were placed so far (undefined before the first). */
  get placement(): PlacementMethod | undefined {
    return this.method;
  }

  /** Places blob `hash` at `target` (which must not exist), read-only. */
  place(hash: string, target: string, mode: number): void {
    const source = this.store.pathOf(hash);
    if (this.method === undefined) {
      this.method = this.probe(source, target, mode);
      return;
    }
    if (this.method === 'reflink') copyFileSync(source, target, constants.COPYFILE_FICLONE_FORCE);
    else if (this.method === 'hardlink') linkSync(source, target);
    else copyFileSync(source, target);
    // A hard link shares the blob's inode, read-only already; a copy gets the recorded mode, read-only.
    if (this.method !== 'hardlink') chmodSync(target, mode & READ_ONLY);
  }

  private probe(source: string, target: string, mode: number): PlacementMethod {
    try {
      copyFileSync(source, target, constants.COPYFILE_FICLONE_FORCE);
      chmodSync(target, mode & READ_ONLY);
      return 'reflink';
    } catch {
      rmSync(target, { force: true });
    }
    try {
      linkSync(source, target);
      return 'hardlink';
    } catch {
      rmSync(target, { force: true });
    }
    copyFileSync(source, target);
    chmodSync(target, mode & READ_ONLY);
    return 'copy';
  }

  /** Writes stage outputs below `folder`, each at its workspace path. */
  placeOutputs(folder: string, outputs: readonly CachedOutput[]): void {
    for (const output of outputs) {
      const base = join(folder, output.path);
      mkdirSync(output.kind === 'dir' ? base : join(base, '..'), { recursive: true });
      // Parents before children: entries come in walk order.
      for (const entry of output.entries) {
        const target = entry.path === '' ? base : join(base, entry.path);
        if (entry.type === 'dir') mkdirSync(target, { recursive: true, mode: entry.mode | 0o700 });
        else if (entry.type === 'link') symlinkSync(entry.target, target);
        else this.place(entry.sha256, target, entry.mode);
      }
    }
  }
}
