// The experiment and release records the table has read, kept in
// `.sluice/state/` under the commit each ref named. A record is an immutable
// git object: the commit a ref names holds the same record forever, so a
// record read once never needs git again. Without this, every `exp show` and
// every refresh of the Experiments view asked `git cat-file` for all 1,000
// records (most of the command's time beyond Node's start); with it, a new
// record costs one read of that record. A cache that is missing, damaged or of
// another format is only a slower read: everything is read from git again.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomicWrite';
import { writeCache } from '../fs/cacheWrite';
import type { Release } from '../environments/releases';
import type { Experiment } from './records';

/** Bump when Experiment or Release change shape, so an older cache is never read as the new shape. */
const FORMAT = 1;

const FILE = 'experiment-records.json';

interface CacheFile {
  readonly format: number;
  /** [commit the ref named, the record as parsed from it]. */
  readonly experiments: [string, Experiment][];
  readonly releases: [string, Release][];
}

export class RecordCache {
  private readonly experiments: Map<string, Experiment>;
  private readonly releases: Map<string, Release>;
  /** Whether a record was added or one the refs no longer name was dropped since the read. */
  private changed = false;

  private constructor(
    private readonly file: string,
    content: CacheFile | undefined,
  ) {
    this.experiments = new Map(content?.experiments);
    this.releases = new Map(content?.releases);
  }

  /** The cache of the workspace whose Sluice folder is `sluiceDir` (empty when there is none yet). */
  static read(sluiceDir: string): RecordCache {
    const file = join(sluiceDir, 'state', FILE);
    try {
      const content = JSON.parse(readFileSync(file, 'utf8')) as CacheFile;
      if (content.format === FORMAT && Array.isArray(content.experiments) && Array.isArray(content.releases))
        return new RecordCache(file, content);
    } catch {
      // None yet, or damaged: read from git.
    }
    return new RecordCache(file, undefined);
  }

  experiment(commit: string): Experiment | undefined {
    return this.experiments.get(commit);
  }

  release(commit: string): Release | undefined {
    return this.releases.get(commit);
  }

  addExperiment(commit: string, experiment: Experiment): void {
    this.experiments.set(commit, experiment);
    this.changed = true;
  }

  addRelease(commit: string, release: Release): void {
    this.releases.set(commit, release);
    this.changed = true;
  }

  /**
   * Writes the cache back when it changed, keeping only the records whose
   * commits `named` holds (removed experiments, gc'd releases leave it).
   */
  save(named: ReadonlySet<string>): void {
    for (const records of [this.experiments, this.releases]) {
      for (const commit of records.keys()) {
        if (named.has(commit)) continue;
        records.delete(commit);
        this.changed = true;
      }
    }
    if (!this.changed) return;
    const content: CacheFile = {
      format: FORMAT,
      experiments: [...this.experiments],
      releases: [...this.releases],
    };
    // Atomic: two commands saving at once leave one whole cache, each entry true of its commit.
    writeCache('the experiment records cache', () => {
      writeFileAtomic(this.file, JSON.stringify(content));
    });
    this.changed = false;
  }
}
