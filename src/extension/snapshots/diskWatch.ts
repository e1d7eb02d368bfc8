// Whether a dataset's files may have changed since they were last walked, from
// the operating system's file events: one fs.watch (inotify on Linux) per
// folder of the dataset, plus its parent folder for the dataset's own entry.
// While a watch vouches, the model (datasetDiskReads.ts) reuses the last walk
// instead of statting every file again; any doubt makes it walk: an event, a
// watch that could not be set up (the inotify limit, a path through a symbolic
// link, a network file system whose changes from other machines raise no
// event), a watcher error, or a burst of events large enough that the kernel's
// queue may have overflowed (Node drops the overflow notice unseen).
// No vscode import: tested on real folders without an editor.
import { lstatSync, readdirSync, readFileSync, statfsSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { describeError } from '../../core/errors';

/**
 * File systems whose changes made elsewhere (another machine, the Windows side
 * of WSL) raise no inotify event here, by statfs magic number: NFS, SMB/CIFS,
 * SMB2, FUSE (sshfs, rclone…), 9p (WSL's drvfs), AFS, Coda, Ceph, Lustre, GPFS.
 */
const UNWATCHABLE_FILE_SYSTEMS = new Set([
  0x6969, 0xff534d42, 0xfe534d42, 0x517b, 0x65735546, 0x01021997, 0x5346414f, 0x73757245, 0x00c36400,
  0x0bd00bd0, 0x47504653,
]);

/** Events delivered in one go (between two turns of the event loop) that may mean the queue overflowed. */
function overflowSuspicion(): number {
  try {
    const queued = Number(readFileSync('/proc/sys/fs/inotify/max_queued_events', 'utf8').trim());
    // Half: other watchers of this process (other extensions) share the queue unseen.
    if (Number.isFinite(queued) && queued > 0) return Math.max(1, Math.floor(queued / 2));
  } catch {
    // Not Linux: the events of other platforms' watchers are not counted against a queue like this.
  }
  return 8192;
}

/**
 * Folders one dataset may watch: each costs an inotify watch, of which a user
 * may have as few as 8,192 (older kernels' default) for every program, VS
 * Code's own watcher included. A dataset with more is walked on every read.
 */
const MOST_WATCHED_FOLDERS = 10_000;

export interface WatchOptions {
  /** Events in one turn of the event loop that make every watch doubt (default: half the kernel's queue). */
  readonly overflowSuspicion?: number;
  /** Folders one dataset may watch (default MOST_WATCHED_FOLDERS). */
  readonly mostFolders?: number;
}

/** Why a watch cannot vouch now (logged once per reason and path). */
type Doubt = string;

/**
 * The watches of every dataset folder of the window, by absolute path. They
 * share one event count per turn of the event loop: an overflow of the kernel's
 * queue drops events of any of them, so a suspected one makes them all doubt.
 */
export class DatasetWatches {
  readonly #watches = new Map<string, DatasetWatch>();
  readonly #suspicion: number;
  readonly #mostFolders: number;
  #burst = 0;

  constructor(
    private readonly log: (message: string) => void,
    options: WatchOptions = {},
  ) {
    this.#suspicion = options.overflowSuspicion ?? overflowSuspicion();
    this.#mostFolders = options.mostFolders ?? MOST_WATCHED_FOLDERS;
  }

  /** The watch of `path` (inside `root`), made the first time; `onChange` hears every event under it. */
  watchOf(path: string, root: string, onChange: () => void): DatasetWatch {
    let found = this.#watches.get(path);
    if (found === undefined) {
      found = new DatasetWatch(
        path,
        root,
        () => {
          this.#counted();
        },
        this.log,
        this.#mostFolders,
      );
      this.#watches.set(path, found);
    }
    found.listener = onChange;
    return found;
  }

  /** Stops watching every path not in `wanted` (a dataset removed or moved in the manifest, a folder closed). */
  keepOnly(wanted: ReadonlySet<string>): void {
    for (const [path, found] of this.#watches) {
      if (wanted.has(path)) continue;
      found.dispose();
      this.#watches.delete(path);
    }
  }

  dispose(): void {
    this.keepOnly(new Set());
  }

  #counted(): void {
    if (this.#burst++ === 0)
      setImmediate(() => {
        this.#burst = 0;
      });
    if (this.#burst !== this.#suspicion) return;
    this.log(
      `${String(this.#burst)} file events arrived at once: some may have been lost, so every dataset is walked again.`,
    );
    for (const each of this.#watches.values()) each.changed('events may have been lost');
  }
}

/** The watch of one dataset path (a folder, a file, or nothing yet). */
export class DatasetWatch {
  /** Absolute folder → its watcher: the dataset's parent, and every folder of the dataset. */
  readonly #folders = new Map<string, FSWatcher>();
  /** Events and doubts seen so far; a walk is vouched for while this is what it was when the walk began. */
  #seen = 0;
  /** Why the watch does not cover the dataset now; undefined when it does. */
  #doubt: Doubt | undefined = 'not watched yet';
  #logged: Doubt | undefined;
  /** Who hears about changes (the model, which reads the dataset again). */
  listener: () => void = () => undefined;

  constructor(
    readonly path: string,
    private readonly root: string,
    private readonly counted: () => void,
    private readonly log: (message: string) => void,
    private readonly mostFolders: number,
  ) {}

  /**
   * Call just before walking the dataset: sets the watch up (again) to cover
   * every folder there is now, and returns the mark its walk is vouched with.
   * Set up before the walk, so a change during it is an event, never missed.
   */
  beforeWalk(): number {
    if (this.#doubt !== undefined) this.#setUp();
    return this.#seen;
  }

  /** Whether nothing under the path may have changed since the walk that began at `mark`. */
  vouchesSince(mark: number): boolean {
    return this.#doubt === undefined && this.#seen === mark;
  }

  /** Sluice wrote the files itself (restore, pull, a run): the next read walks, and the watch is set up again. */
  invalidate(reason: Doubt): void {
    this.#seen++;
    // Folders may have come or gone: the watch is set up again before the next walk.
    this.#doubt ??= reason;
  }

  /** Something changed under the path, or may have: the next read walks, and the listener hears of it. */
  changed(reason: Doubt): void {
    this.invalidate(reason);
    this.listener();
  }

  dispose(): void {
    this.#closeAll();
    this.#doubt = 'disposed';
  }

  /**
   * Watches every folder there is now, each afresh: an inode is watched, not a
   * path, and a folder removed and made again under the same path (rm -r and
   * cp, a restore) is another inode, perhaps with the same number. Watchers are
   * closed before the walk that follows starts, so that walk sees any change
   * made while they were not there.
   */
  #setUp(): void {
    this.#closeAll();
    const reason = this.#cover();
    if (reason === undefined) {
      this.#doubt = undefined;
      this.#logged = undefined;
      return;
    }
    // Without a whole watch, nothing is vouched for: every read walks, as before watches.
    this.#closeAll();
    this.#doubt = reason;
    if (reason !== this.#logged) {
      this.#logged = reason;
      this.log(`${this.path} is walked on every refresh: ${reason}.`);
    }
  }

  /** Watches the parent and every folder now under the path; returns why it could not, if it could not. */
  #cover(): Doubt | undefined {
    const trip = relative(this.root, this.path);
    if (trip === '') return 'it is the workspace folder itself';
    if (trip.startsWith('..') || isAbsolute(trip)) return 'it is not inside the workspace';
    // A link on the way can be re-pointed by a change no watched folder sees.
    for (let at = this.path; at !== this.root && at !== dirname(at); at = dirname(at)) {
      if (lstatSync(at, { throwIfNoEntry: false })?.isSymbolicLink())
        return `${at} is a symbolic link, whose target's changes are not watched`;
    }
    try {
      const parent = dirname(this.path);
      const name = basename(this.path);
      this.#watchFolder(parent, (entry) => entry === name);
      if (lstatSync(this.path, { throwIfNoEntry: false })?.isDirectory()) {
        const queue = [this.path];
        for (let folder = queue.pop(); folder !== undefined; folder = queue.pop()) {
          // Watched before it is listed: a folder made in it meanwhile is an event.
          // #folders holds the parent too: size - 1 of the dataset's folders are watched so far.
          if (this.#folders.size > this.mostFolders)
            return `it has more than ${String(this.mostFolders)} folders, more inotify watches than it should take`;
          const unwatchable = this.#watchFolder(folder, () => true);
          if (unwatchable !== undefined) return unwatchable;
          for (const entry of readdirSync(folder, { withFileTypes: true }))
            if (entry.isDirectory()) queue.push(join(folder, entry.name));
        }
      }
    } catch (error) {
      // ENOSPC: the system's inotify watches are used up; EMFILE, EACCES, or a folder gone meanwhile.
      return `it cannot be watched (${describeError(error)})`;
    }
    return undefined;
  }

  #closeAll(): void {
    for (const watcher of this.#folders.values()) watcher.close();
    this.#folders.clear();
  }

  /** Watches `folder`; returns why not, for a file system without local events. */
  #watchFolder(folder: string, relevant: (entry: string) => boolean): Doubt | undefined {
    const type = statfsSync(folder).type;
    if (UNWATCHABLE_FILE_SYSTEMS.has(type))
      return `${folder} is on a network or FUSE file system (type 0x${type.toString(16)}), whose changes made elsewhere raise no event here`;
    const watcher = watch(folder, { persistent: false }, (_event, entry) => {
      this.counted();
      // An event without a name (some platforms) may concern anything in the folder.
      if (entry === null || relevant(entry)) this.changed('changed');
    });
    watcher.on('error', () => {
      // The folder went, or the watcher broke: set up again before the next walk.
      if (this.#folders.get(folder) === watcher) this.#folders.delete(folder);
      watcher.close();
      this.changed('a watcher failed');
    });
    this.#folders.set(folder, watcher);
    return undefined;
  }
}
