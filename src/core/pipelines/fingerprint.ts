// Content fingerprints of workspace paths (a file, a folder, a link), which
// is what decides whether a stage is stale. File hashes are remembered with
// the file's stat identity (inode, mtime, ctime, size), so an unchanged path
// costs a stat per file, not a read.
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomicWrite';
import { writeCache } from '../fs/cacheWrite';
import { hashFile } from '../fs/hashFile';
import { findUnreadableName, printableName, unreadableName } from '../fs/unreadableNames';

/** One entry of a folder, as fingerprints and the output cache both describe it. */
export type TreeEntry =
  | { readonly path: string; readonly type: 'file'; readonly sha256: string; readonly mode: number }
  | { readonly path: string; readonly type: 'link'; readonly target: string }
  | { readonly path: string; readonly type: 'dir'; readonly mode: number };

/**
 * A file modified this recently may be modified again within the same tick of
 * the file system's clock, keeping its identity: its hash is not remembered.
 */
const RACY_MS = 50;

const HEADER = 'sluice-fingerprints 2';

/** Paths with a tab, a newline or a leading quote are written JSON-quoted. */
const NEEDS_QUOTES = /[\t\n\r]|^"/;

function identity(stat: Stats): string {
  return `${stat.ino}:${stat.mtimeMs}:${stat.ctimeMs}:${stat.size}`;
}

/** The fingerprint of a single file: its hash, and whether it is executable (a script's mode matters). */
function fileFingerprint(sha256: string, mode: number): string {
  return `file:${sha256}${mode & 0o111 ? '+x' : ''}`;
}

/** The fingerprint of a folder: a digest of its entries, sorted, so it names its whole content. */
export function treeFingerprint(entries: readonly TreeEntry[]): string {
  const digest = createHash('sha256');
  for (const entry of [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    const value =
      entry.type === 'file'
        ? fileFingerprint(entry.sha256, entry.mode)
        : entry.type === 'link'
          ? `link:${entry.target}`
          : 'dir';
    digest.update(`${entry.path}\0${value}\n`);
  }
  return `tree:${digest.digest('hex')}`;
}

export function entryFingerprint(entry: TreeEntry): string {
  if (entry.type === 'file') return fileFingerprint(entry.sha256, entry.mode);
  return entry.type === 'link' ? `link:${entry.target}` : treeFingerprint([]);
}

export class Fingerprints {
  /** Workspace-relative file path → [stat identity, sha256]. */
  private readonly known = new Map<string, readonly [string, string]>();
  /** Fingerprints computed during this command, by path: each path is read once. */
  private readonly computed = new Map<string, string | undefined>();
  /** Paths this command found missing (or not a file, link or folder). */
  private readonly gone = new Set<string>();
  /** Folders this command walked, with every file and link it found in each. */
  private readonly walked = new Map<string, Set<string>>();
  private dirty = false;

  private constructor(
    private readonly root: string,
    private readonly file: string,
  ) {}

  static load(root: string, file: string): Fingerprints {
    const fingerprints = new Fingerprints(root, file);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return fingerprints;
    }
    // One line per file: `path <tab> stat identity <tab> sha256`.
    const lines = text.split('\n');
    if (lines[0] !== HEADER) return fingerprints;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const second = line.lastIndexOf('\t');
      const first = line.lastIndexOf('\t', second - 1);
      if (first <= 0) continue;
      const field = line.slice(0, first);
      let path = field;
      if (field.startsWith('"')) {
        try {
          path = JSON.parse(field) as string;
        } catch {
          continue;
        }
      }
      fingerprints.known.set(path, [line.slice(first + 1, second), line.slice(second + 1)]);
    }
    return fingerprints;
  }

  /** The fingerprint of a workspace path, or undefined when nothing is there. */
  of(path: string): string | undefined {
    if (this.computed.has(path)) return this.computed.get(path);
    const value = this.compute(path);
    this.computed.set(path, value);
    return value;
  }

  /**
   * The entries of a workspace path as they are now (a file or a link: one
   * entry named ''), or undefined when nothing is there. Hashes come from the
   * stat cache, as for `of`.
   */
  entries(path: string): TreeEntry[] | undefined {
    let stat: Stats;
    try {
      stat = lstatSync(join(this.root, path));
    } catch {
      return undefined;
    }
    if (!stat.isDirectory()) {
      const entry = this.entryOf(path, '', stat);
      return entry ? [entry] : [];
    }
    const entries: TreeEntry[] = [];
    this.walk(path, '', entries);
    return entries;
  }

  /** Records a hash just computed elsewhere (while copying a file into the store). */
  remember(path: string, stat: Stats, sha256: string): void {
    this.computed.delete(path);
    // It exists: neither it nor a folder above it is gone, and the folders walked above it hold it.
    for (let end = path.length; end > 0; end = path.lastIndexOf('/', end - 1)) {
      const above = path.slice(0, end);
      this.gone.delete(above);
      this.walked.get(above)?.add(path);
    }
    if (Date.now() - stat.mtimeMs < RACY_MS) return;
    this.known.set(path, [identity(stat), sha256]);
    this.dirty = true;
  }

  /** Forgets what was computed for `path` during this command (a stage just rewrote it). */
  invalidate(path: string): void {
    const related = (key: string): boolean =>
      key === path || key.startsWith(`${path}/`) || path.startsWith(`${key}/`);
    for (const key of this.computed.keys()) if (related(key)) this.computed.delete(key);
    // What this command saw there is out of date too: nothing is forgotten on its account.
    for (const key of this.walked.keys()) if (related(key)) this.walked.delete(key);
    for (const key of this.gone) if (related(key)) this.gone.delete(key);
  }

  save(): void {
    this.forgetGone();
    if (!this.dirty) return;
    const lines = [HEADER];
    for (const [path, [key, sha256]] of this.known) {
      lines.push(`${NEEDS_QUOTES.test(path) ? JSON.stringify(path) : path}\t${key}\t${sha256}`);
    }
    // Only saves work: a read-only or full disk costs the next command the same hashing.
    writeCache('the fingerprint cache', () => {
      writeFileAtomic(this.file, lines.join('\n') + '\n');
    });
    this.dirty = false;
  }

  private compute(path: string): string | undefined {
    let stat: Stats;
    try {
      stat = lstatSync(join(this.root, path));
    } catch {
      this.gone.add(path);
      return undefined;
    }
    if (stat.isDirectory()) {
      const entries: TreeEntry[] = [];
      this.walk(path, '', entries);
      this.walked.set(path, new Set(entries.map((entry) => `${path}/${entry.path}`)));
      return treeFingerprint(entries);
    }
    const entry = this.entryOf(path, '', stat);
    if (!entry) this.gone.add(path);
    return entry ? entryFingerprint(entry) : undefined;
  }

  /**
   * Forgets remembered files that this command found gone: under a path that
   * no longer exists, or missing from a folder it walked. The cache then holds
   * what the workspace holds instead of every file that ever was. One pass
   * over the cache, a map lookup per level of each path.
   */
  private forgetGone(): void {
    if (this.gone.size === 0 && this.walked.size === 0) return;
    for (const path of this.known.keys()) {
      for (let end = path.length; end > 0; end = path.lastIndexOf('/', end - 1)) {
        const above = path.slice(0, end);
        const seen = this.walked.get(above);
        if (this.gone.has(above) || (seen !== undefined && !seen.has(path))) {
          this.known.delete(path);
          this.dirty = true;
          break;
        }
      }
    }
  }

  private walk(base: string, relative: string, into: TreeEntry[]): void {
    const folder = relative === '' ? base : `${base}/${relative}`;
    const names = readdirSync(join(this.root, folder));
    // A name that is not valid UTF-8 cannot be read back by the name Node gives it: refused, not skipped.
    const unreadable = findUnreadableName(join(this.root, folder), names);
    if (unreadable) throw unreadableName(join(this.root, folder, printableName(unreadable)));
    for (const name of names) {
      const child = relative === '' ? name : `${relative}/${name}`;
      const workspacePath = `${base}/${child}`;
      const stat = lstatSync(join(this.root, workspacePath));
      if (stat.isDirectory()) {
        into.push({ path: child, type: 'dir', mode: stat.mode & 0o777 });
        this.walk(base, child, into);
        continue;
      }
      const entry = this.entryOf(workspacePath, child, stat);
      if (entry) into.push(entry);
    }
  }

  /** A file or link as an entry named `name`; sockets and devices are not content. */
  private entryOf(workspacePath: string, name: string, stat: Stats): TreeEntry | undefined {
    if (stat.isSymbolicLink()) {
      return { path: name, type: 'link', target: readlinkSync(join(this.root, workspacePath)) };
    }
    if (!stat.isFile()) return undefined;
    const known = this.known.get(workspacePath);
    const key = identity(stat);
    let sha256: string;
    if (known?.[0] === key) sha256 = known[1];
    else {
      sha256 = hashFile(join(this.root, workspacePath));
      this.remember(workspacePath, stat, sha256);
    }
    return { path: name, type: 'file', sha256, mode: stat.mode & 0o777 };
  }
}
