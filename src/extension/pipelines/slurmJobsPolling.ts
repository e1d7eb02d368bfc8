// When the model asks Slurm about a workspace's jobs: at once when asked (a
// Cancel, a job the editor's run submitted, a folder read again), shortly after
// the journal of jobs changes, and every few seconds while any job may still
// start or end; never while nothing is open. Reads run one after another, apart
// from the model's other reads: a controller that does not answer (squeue waits
// up to 30 s) must not hold back the views' other refreshes, and only these
// reads replace a folder's jobs, so an older answer never overwrites a newer
// one. No vscode import: timers and promises only.

/** How often Slurm is asked about the jobs while any may still start or end: one squeue per folder. */
const JOBS_POLL_MS = 5_000;

/** Quiet time after the journal of jobs changes (a run appends a line per job it submits). */
const JOURNAL_QUIET_MS = 100;

export class SlurmJobsPolling {
  #poll: NodeJS.Timeout | undefined;
  #journalChanged: NodeJS.Timeout | undefined;
  #reading: Promise<void> = Promise.resolve();
  /** Reads queued or under way: while any is, the last of them decides on the next poll. */
  #reads = 0;
  #disposed = false;

  constructor(
    /** Reads the jobs of these folders (by the model's keys) and stores what changed; never rejects. */
    private readonly read: (keys: readonly string[]) => Promise<void>,
    /** Every folder's key, for the polls. */
    private readonly allKeys: () => readonly string[],
    /** Whether some folder has a job Slurm may still start or end, as last read. */
    private readonly following: () => boolean,
  ) {}

  /** Reads the jobs of these folders after the reads before; resolves when the model has them. */
  readNow(keys: readonly string[]): Promise<void> {
    this.#reads++;
    this.#reading = this.#reading
      .then(() => this.read(keys))
      .finally(() => {
        this.#reads--;
        this.schedule();
      });
    return this.#reading;
  }

  /** A run wrote the journal: read every folder's jobs once the burst of lines is over. */
  journalWritten(): void {
    clearTimeout(this.#journalChanged);
    this.#journalChanged = setTimeout(() => {
      this.#journalChanged = undefined;
      void this.readNow(this.allKeys());
    }, JOURNAL_QUIET_MS);
  }

  /** Polls again in a while if some job may still start or end; stops when none may. */
  schedule(): void {
    if (this.#reads > 0 || this.#disposed) return;
    if (!this.following()) {
      clearTimeout(this.#poll);
      this.#poll = undefined;
    } else if (this.#poll === undefined) {
      this.#poll = setTimeout(() => {
        this.#poll = undefined;
        void this.readNow(this.allKeys());
      }, JOBS_POLL_MS);
    }
  }

  dispose(): void {
    this.#disposed = true;
    clearTimeout(this.#poll);
    clearTimeout(this.#journalChanged);
  }
}
