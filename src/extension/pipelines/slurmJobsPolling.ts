// When the model asks about a workspace's Slurm jobs: at once when asked (a
// Cancel, a job the editor's run submitted, a folder read again), shortly after
// the watcher sees the journal of jobs change, and on a tick every few seconds:
// Slurm is asked then only while some job may still start or end; otherwise the
// tick only compares the journals' size and time with the last tick's, which
// catches a journal the watcher did not report (VS Code's watcher can miss a
// file created in a folder it watches). Reads run one after another, apart from
// the model's other reads: a controller that does not answer (squeue waits up
// to 30 s) must not hold back the views' other refreshes, and only these reads
// replace a folder's jobs, so an older answer never overwrites a newer one.
// No vscode import: timers and promises only.

/** How often Slurm is asked about the jobs while any may still start or end: one squeue per folder. */
const JOBS_POLL_MS = 5_000;

/** Quiet time after the journal of jobs changes (a run appends a line per job it submits). */
const JOURNAL_QUIET_MS = 100;

export interface JobsPollingParts {
  /** Reads the jobs of these folders (by the model's keys) and stores what changed; never rejects. */
  readonly read: (keys: readonly string[]) => Promise<void>;
  /** Every folder's key. */
  readonly allKeys: () => readonly string[];
  /** Whether some folder has a job Slurm may still start or end, as last read. */
  readonly following: () => boolean;
  /** The size and time of every folder's journal, in one string: a stat each. */
  readonly journalMarks: () => string;
}

export class SlurmJobsPolling {
  readonly #tick: NodeJS.Timeout;
  #journalChanged: NodeJS.Timeout | undefined;
  #reading: Promise<void> = Promise.resolve();
  /** Reads queued or under way: a tick then adds none. */
  #reads = 0;
  #lastMarks: string | undefined;

  constructor(private readonly parts: JobsPollingParts) {
    this.#tick = setInterval(() => {
      this.#onTick();
    }, JOBS_POLL_MS);
  }

  /** Reads the jobs of these folders after the reads before; resolves when the model has them. */
  readNow(keys: readonly string[]): Promise<void> {
    this.#reads++;
    this.#reading = this.#reading
      .then(() => this.parts.read(keys))
      .finally(() => {
        this.#reads--;
      });
    return this.#reading;
  }

  /** The watcher saw a run write the journal: read every folder's jobs once the burst of lines is over. */
  journalWritten(): void {
    clearTimeout(this.#journalChanged);
    this.#journalChanged = setTimeout(() => {
      this.#journalChanged = undefined;
      void this.readNow(this.parts.allKeys());
    }, JOURNAL_QUIET_MS);
  }

  dispose(): void {
    clearInterval(this.#tick);
    clearTimeout(this.#journalChanged);
  }

  #onTick(): void {
    const marks = this.parts.journalMarks();
    // The first tick reads once: a journal written since the folders' first read is caught too.
    const moved = marks !== this.#lastMarks;
    this.#lastMarks = marks;
    if (this.#reads > 0) return;
    if (moved || this.parts.following()) void this.readNow(this.parts.allKeys());
  }
}
