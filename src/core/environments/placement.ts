// Placing blobs from the object store as read-only files elsewhere (a staging
// worktree's datasets, a deployed release): a reflink where the file system
// can, else a hard link, else a copy. Which one works is probed once per
// destination folder and remembered for the rest of the command. Every blob
// is checked against its hash on the way out (ObjectStore.placeVerified).
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { SluiceError } from '../errors';
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

  /**
   * Places blob `hash` at `target` (which must not exist), read-only, its
   * bytes checked against the hash on the way (ObjectStore.placeVerified): a
   * damaged blob stops the placement with a `damaged-blob` error.
   */
  place(hash: string, target: string, mode: number): void {
    if (this.method === undefined) {
      this.method = this.probe(hash, target, mode);
      return;
    }
    this.store.placeVerified(hash, target, mode & READ_ONLY, this.method);
  }

  private probe(hash: string, target: string, mode: number): PlacementMethod {
    for (const method of ['reflink', 'hardlink'] as const) {
      try {
        this.store.placeVerified(hash, target, mode & READ_ONLY, method);
        return method;
      } catch (error) {
        // A damaged or missing blob is no reason to try another method.
        if (error instanceof SluiceError) throw error;
        rmSync(target, { force: true });
      }
    }
    this.store.placeVerified(hash, target, mode & READ_ONLY, 'copy');
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
