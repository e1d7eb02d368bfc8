// Remembers the hash of each file of a dataset together with the file's stat
// identity (inode, mtime and ctime in ns, size): a file whose identity is
// unchanged is not read again, so an unchanged dataset costs a stat per file.
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../fs/atomicWrite';

export interface StatIdentity {
  readonly ino: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  readonly size: bigint;
}

const HEADER = 'sluice-stat-cache 1';

/**
 * Files modified this close to when the cache was written may have changed
 * again within the same timestamp tick ("racy" entries): they are re-hashed.
 */
const RACY_WINDOW_NS = 10_000_000n;

/** The identity as one string: comparing it is cheaper than four bigints, on 100,000 files. */
function identityKey(stat: StatIdentity): string {
  return `${stat.ino}:${stat.mtimeNs}:${stat.ctimeNs}:${stat.size}`;
}

export class StatCache {
  /** Path → [identity key, hash]. */
  private readonly entries = new Map<string, readonly [string, string]>();
  private writtenAtNs = 0n;
  private dirty = false;

  private constructor(private readonly file: string) {}

  static load(file: string): StatCache {
    const cache = new StatCache(file);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return cache;
    }
    const lines = text.split('\n');
    const header = lines[0] ?? '';
    if (!header.startsWith(`${HEADER} `)) return cache; // unknown format: start afresh
    cache.writtenAtNs = BigInt(header.slice(HEADER.length + 1) || '0');
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const first = line.indexOf('\t');
      const second = line.indexOf('\t', first + 1);
      // A one-file dataset's only path is '' (the dataset itself), so the first field may be empty.
      if (first < 0 || second <= first) continue;
      const field = line.slice(0, first);
      const path = field.startsWith('"') ? (JSON.parse(field) as string) : field;
      cache.entries.set(path, [line.slice(first + 1, second), line.slice(second + 1)]);
    }
    return cache;
  }

  /** The remembered hash of `path`, if its stat identity is unchanged and not racy. */
  lookup(path: string, stat: StatIdentity): string | undefined {
    const entry = this.entries.get(path);
    if (!entry || entry[0] !== identityKey(stat)) return undefined;
    const racyAfter = this.writtenAtNs - RACY_WINDOW_NS;
    if (stat.mtimeNs >= racyAfter || stat.ctimeNs >= racyAfter) {
      // Re-hashed now; saving again gives the entry a later cache time, so it can be trusted next time.
      this.dirty = true;
      return undefined;
    }
    return entry[1];
  }

  remember(path: string, stat: StatIdentity, hash: string): void {
    const key = identityKey(stat);
    const entry = this.entries.get(path);
    if (entry?.[0] === key && entry[1] === hash) return;
    this.entries.set(path, [key, hash]);
    this.dirty = true;
  }

  /** Forgets paths that are no longer in the dataset. */
  retainOnly(paths: ReadonlySet<string>): void {
    for (const path of this.entries.keys()) {
      if (!paths.has(path)) {
        this.entries.delete(path);
        this.dirty = true;
      }
    }
  }

  /** Writes the cache atomically, if anything changed. */
  save(nowNs: bigint): void {
    if (!this.dirty) return;
    const lines = [`${HEADER} ${nowNs}`];
    for (const [path, [key, hash]] of this.entries) {
      // Names may hold tabs or newlines: those are written as JSON strings.
      const field = /[\t\n\r"\\]/.test(path) ? JSON.stringify(path) : path;
      lines.push(`${field}\t${key}\t${hash}`);
    }
    writeFileAtomic(this.file, `${lines.join('\n')}\n`);
    this.writtenAtNs = nowNs;
    this.dirty = false;
  }
}
