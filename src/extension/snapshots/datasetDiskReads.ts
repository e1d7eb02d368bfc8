// The model's reads of datasets (model.ts): each dataset's last walk of its
// files is kept, and a read reuses it, without walking, while the dataset's
// watch (diskWatch.ts) vouches that nothing under it changed since and its
// latest snapshot is the one the walk compared with. A window that starts has
// none kept, so its first read walks; an event, a doubt of the watch, or a
// command of Sluice's own that wrote the files (snapshot, restore, pull, run)
// makes the next read walk. The list of snapshots is kept too, while the
// dataset's ref names the same commit (read from the ref files, refValue.ts),
// so a vouched read starts no process. No vscode import.
import { join } from 'node:path';
import { datasetRef, requireDataset, type SnapshotSummary } from '../../core/snapshots/snapshots';
import type { Workspace } from '../../core/workspace';
import { loadDataset, type DatasetState, type DiskState } from './datasets';
import { DatasetWatches, type WatchOptions } from './diskWatch';
import { refValueWithoutGit } from './refValue';

interface Walk {
  /** The watch's mark when the walk began. */
  readonly mark: number;
  /** The latest snapshot the disk was compared with. */
  readonly latest: string | undefined;
  readonly disk: DiskState;
}

export class DatasetDiskReads {
  readonly #watches: DatasetWatches;
  /** By workspace root, dataset name and absolute path. */
  readonly #walks = new Map<string, Walk>();
  /** By the same key: the snapshots last listed, and the commit the dataset's ref named then. */
  readonly #lists = new Map<string, { readonly ref: string; readonly snapshots: SnapshotSummary[] }>();
  readonly #walkCounts = new Map<string, number>();
  readonly #readMs = new Map<string, number>();

  constructor(log: (message: string) => void, options: WatchOptions = {}) {
    this.#watches = new DatasetWatches(log, options);
  }

  /** How often each dataset's files were walked, by name (tests check a vouched read walks nothing). */
  get walks(): ReadonlyMap<string, number> {
    return new Map(this.#walkCounts);
  }

  /** How long the latest read of each dataset took (ms, snapshots listed and disk compared or reused), by name. */
  get readMs(): ReadonlyMap<string, number> {
    return new Map(this.#readMs);
  }

  /**
   * The dataset `name` of `workspace` now; `onChange` hears of each change
   * under its path from then on (the model reads the dataset again).
   */
  async load(workspace: Workspace, name: string, onChange: () => void): Promise<DatasetState> {
    const started = performance.now();
    const absolute = join(workspace.root, requireDataset(workspace, name).path.value);
    const watch = this.#watches.watchOf(absolute, workspace.root, onChange);
    const key = keyOf(workspace.root, name, absolute);
    // Events of a change finished just before this read (a terminal's `echo >>`) are in the
    // kernel's queue; a full turn of the event loop delivers them before the watch is asked.
    await turnOfTheEventLoop();
    // Read before the list, so a ref moved meanwhile makes the next read list again.
    const ref = refValueWithoutGit(workspace.root, datasetRef(name));
    const state = await loadDataset(workspace, name, {
      snapshots: () => {
        const list = this.#lists.get(key);
        return ref !== undefined && list?.ref === ref ? list.snapshots : undefined;
      },
      listed: (snapshots) => {
        if (ref === undefined) this.#lists.delete(key);
        else this.#lists.set(key, { ref, snapshots });
      },
      vouched: (latest) => {
        const walk = this.#walks.get(key);
        return walk !== undefined && walk.latest === latest && watch.vouchesSince(walk.mark)
          ? walk.disk
          : undefined;
      },
      walking: () => {
        this.#walks.delete(key);
        this.#walkCounts.set(name, (this.#walkCounts.get(name) ?? 0) + 1);
        const mark = watch.beforeWalk();
        return (latest, disk) => {
          // A failed read is not kept: the next one tries again.
          if (disk.kind === 'read') this.#walks.set(key, { mark, latest, disk });
        };
      },
    });
    this.#readMs.set(name, performance.now() - started);
    return state;
  }

  /**
   * Sluice itself wrote these datasets of the workspace at `root` (all of them
   * when `names` is undefined): their next read walks, whatever the watch says
   * (its events may not have arrived yet when the command's refresh reads).
   */
  forget(root: string, names?: ReadonlySet<string>): void {
    for (const [key] of this.#walks) {
      const [walkRoot, name] = key.split('\0');
      if (walkRoot === root && (names === undefined || names.has(name!))) this.#walks.delete(key);
    }
    for (const [key] of this.#lists) {
      const [listRoot, name] = key.split('\0');
      if (listRoot === root && (names === undefined || names.has(name!))) this.#lists.delete(key);
    }
  }

  /** Stops watching (and forgets) every dataset path not in `paths` (absolute). */
  keepOnly(paths: ReadonlySet<string>): void {
    this.#watches.keepOnly(paths);
    for (const [key] of this.#walks) if (!paths.has(key.split('\0')[2]!)) this.#walks.delete(key);
    for (const [key] of this.#lists) if (!paths.has(key.split('\0')[2]!)) this.#lists.delete(key);
  }

  dispose(): void {
    this.#watches.dispose();
    this.#walks.clear();
    this.#lists.clear();
  }
}

function keyOf(root: string, name: string, absolute: string): string {
  return [root, name, absolute].join('\0');
}

/**
 * Two hops of setImmediate: the loop polls for I/O between them, so file
 * events the kernel already holds are delivered before the promise resolves.
 */
async function turnOfTheEventLoop(): Promise<void> {
  for (let hop = 0; hop < 2; hop++) await new Promise((resolve) => setImmediate(resolve));
}
