// Workspace paths: the manifest names files relative to the workspace root,
// and none of them may leave it, lexically or through a link.
import { lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import { SluiceError } from '../errors';

/** Why a manifest path leaves the workspace, or undefined when it stays inside. */
export function lexicalEscape(path: string): 'absolute' | 'parent' | undefined {
  // Fast path: most paths have nothing that could lead out.
  if (!path.includes('..') && !/^[/~\\]|^[A-Za-z]:/.test(path)) return undefined;
  if (isAbsolute(path) || posix.isAbsolute(path) || /^[A-Za-z]:[\\/]/.test(path) || path.startsWith('~')) {
    return 'absolute';
  }
  const normalized = posix.normalize(path.replace(/\\/g, '/'));
  if (normalized === '..' || normalized.startsWith('../')) return 'parent';
  return undefined;
}

/**
 * Why a link at `linkPath` (relative to a root: an output, a dataset) whose
 * target is `target` leads outside that root, or undefined when it stays in:
 * an absolute target, or one whose `..` climbs above the root. Decided from
 * the text alone, as the link would be recreated elsewhere (a restore, a
 * release), never by following it.
 */
export function linkEscape(linkPath: string, target: string): 'absolute' | 'parent' | undefined {
  if (lexicalEscape(target) === 'absolute') return 'absolute';
  return lexicalEscape(posix.join(posix.dirname(linkPath), target.replace(/\\/g, '/')));
}

const ODD_PATH = /(?:^|\/)\.{1,2}(?:\/|$)|\/\/|\\|\/$|^$/;

/** `./data//raw/` → `data/raw`: the form used to compare paths. */
export function normalizeRelative(path: string): string {
  // Fast path: already in normal form (no `.`/`..` segments, doubled or trailing slashes, backslashes).
  if (!ODD_PATH.test(path)) return path;
  const normalized = posix.normalize(path.replace(/\\/g, '/')).replace(/\/+$/, '');
  return normalized === '.' ? '' : normalized.replace(/^\.\//, '');
}

/** True when `child` is `parent` or inside it (both normalized relative paths). */
export function isWithin(child: string, parent: string): boolean {
  return parent === '' || child === parent || child.startsWith(`${parent}/`);
}

/** Whether `real` (an absolute path with every link resolved) is `realRoot` or inside it. */
export function realPathInside(real: string, realRoot: string): boolean {
  const rel = relative(realRoot, real);
  return rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/**
 * Throws unless `path` (relative to `root`) is inside the workspace, following
 * links on the way: a dataset path must not lead out through a link.
 */
export function requireInsideWorkspace(root: string, path: string, what: string): string {
  const absolute = join(root, path);
  let real: string;
  try {
    real = realpathSync(absolute);
  } catch {
    return absolute; // does not exist (yet): nothing to escape through
  }
  if (!realPathInside(real, realpathSync(root))) {
    throw new SluiceError(
      `${what} (${path}) leads outside the workspace through a link.`,
      'manifest',
      'Fix the path or the link.',
    );
  }
  return absolute;
}

/** Names asked about in one folder before RealPaths lists it instead. */
const LIST_AFTER = 16;
/** About 30,000 entries on ext4: a listing that still costs less than the lstats it replaces. */
const MAX_LISTED_FOLDER_BYTES = 1 << 20;

/**
 * Where workspace-relative paths really lead, as workspace-relative paths
 * (undefined when outside). Each path and folder is resolved once: stages
 * share folders, and one stage's output is often the next one's dep.
 */
export class RealPaths {
  private readonly folders = new Map<string, string | undefined>();
  private readonly paths = new Map<string, string | undefined>();
  /** Per real folder: its links and folders once listed (listing), and how often it was asked about before. */
  private readonly listings = new Map<string, Map<string, 'link' | 'folder'> | 'unlisted'>();
  private readonly asked = new Map<string, number>();
  private readonly realRoot: string;
  /** The root and the real root, each ending in a separator: what paths inside them start with. */
  private readonly rootPrefix: string;
  private readonly realPrefix: string;

  constructor(private readonly root: string) {
    this.realRoot = realpathSync.native(root);
    const withSeparator = (folder: string): string => (folder.endsWith(sep) ? folder : `${folder}${sep}`);
    this.rootPrefix = withSeparator(join(root));
    this.realPrefix = withSeparator(this.realRoot);
  }

  of(path: string): string | undefined {
    if (this.paths.has(path)) return this.paths.get(path);
    const real = this.resolve(path);
    this.paths.set(path, real);
    return real;
  }

  private resolve(path: string): string | undefined {
    if (lexicalEscape(path)) return undefined;
    if (normalizeRelative(path) === '') return '';
    const { folder, name } = this.place(path);
    if (folder === undefined) return undefined;
    // A real folder is normalized, and the name is neither `.` nor `..`: no need for path.join.
    let leaf = folder.endsWith(sep) ? `${folder}${name}` : `${folder}${sep}${name}`;
    // In a real folder only a link leads elsewhere; a name that is no link stays as it is.
    const listed = this.listing(folder);
    if (listed !== undefined && listed.get(name) !== 'link') return this.inside(leaf);
    try {
      // No exception for a missing path: a run asks this of every output.
      if (lstatSync(leaf, { throwIfNoEntry: false })?.isSymbolicLink() === true) {
        try {
          leaf = realpathSync.native(leaf);
        } catch {
          // A link to something not there yet: writing through it creates its target.
          const target = resolve(folder, readlinkSync(leaf));
          const targetFolder = this.folder(dirname(target));
          if (targetFolder === undefined) return undefined;
          leaf = join(targetFolder, basename(target));
        }
      }
    } catch {
      // Missing: it is what its folder makes it.
    }
    return this.inside(leaf);
  }

  /**
   * True when `path` is known to be neither a folder nor a link (a file, or
   * nothing), from the listing of its folder; false when it may be either.
   */
  isNoFolder(path: string): boolean {
    if (lexicalEscape(path) || normalizeRelative(path) === '') return false;
    const { folder, name } = this.place(path);
    return folder !== undefined && this.listing(folder, false)?.has(name) === false;
  }

  /**
   * The real folder a workspace path is in (undefined when it leads nowhere)
   * and its last name. The path leaves neither the workspace nor names it.
   */
  private place(path: string): { folder: string | undefined; name: string } {
    if (sep === '/' && normalizeRelative(path) === path) {
      // A plain path (most are) is joined by hand: path.join reads every character to normalize it.
      const absolute = `${this.rootPrefix}${path}`;
      const last = absolute.lastIndexOf('/');
      return {
        folder: this.folder(last === 0 ? '/' : absolute.slice(0, last)),
        name: absolute.slice(last + 1),
      };
    }
    const absolute = join(this.root, path);
    return { folder: this.folder(dirname(absolute)), name: basename(absolute) };
  }

  /**
   * The links and folders of a real folder by name (files are left out), once
   * it has been asked about often enough that one listing costs less than an
   * lstat per name (a run's outputs share a few folders); undefined before
   * then, for a folder too big to list cheaply, and for one that cannot be
   * listed. `ask`: count this question towards listing it.
   */
  private listing(folder: string, ask = true): Map<string, 'link' | 'folder'> | undefined {
    const known = this.listings.get(folder);
    if (known !== undefined) return known === 'unlisted' ? undefined : known;
    if (!ask) return undefined;
    const asked = (this.asked.get(folder) ?? 0) + 1;
    this.asked.set(folder, asked);
    if (asked < LIST_AFTER) return undefined;
    let listing: Map<string, 'link' | 'folder'> | 'unlisted' = 'unlisted';
    try {
      // A folder's size grows with its entries: past this, listing it could cost more than it saves.
      if (statSync(folder).size <= MAX_LISTED_FOLDER_BYTES) {
        listing = new Map();
        for (const entry of readdirSync(folder, { withFileTypes: true })) {
          if (entry.isSymbolicLink()) listing.set(entry.name, 'link');
          else if (entry.isDirectory()) listing.set(entry.name, 'folder');
        }
      }
    } catch {
      listing = 'unlisted'; // gone or unreadable: each name is asked on its own
    }
    this.listings.set(folder, listing);
    return listing === 'unlisted' ? undefined : listing;
  }

  private folder(absolute: string): string | undefined {
    if (this.folders.has(absolute)) return this.folders.get(absolute);
    let real: string | undefined;
    try {
      real = realpathSync.native(absolute);
    } catch {
      // The folder does not exist yet, or is a link to something not there yet:
      // its parent, and the link's target, decide where it will be.
      this.folders.set(absolute, undefined); // a circle of links leads nowhere
      const parent = dirname(absolute);
      const above = parent === absolute ? undefined : this.folder(parent);
      const here = above === undefined ? undefined : join(above, basename(absolute));
      const target = here === undefined ? undefined : linkTarget(here);
      real = here !== undefined && target !== undefined ? this.folder(resolve(dirname(here), target)) : here;
    }
    this.folders.set(absolute, real);
    return real;
  }

  private inside(real: string): string | undefined {
    // Both are real, absolute and normalized: inside is a matter of prefix (path.relative costs more).
    if (real === this.realRoot) return '';
    if (!real.startsWith(this.realPrefix)) return undefined;
    const rel = real.slice(this.realPrefix.length);
    return sep === '/' ? rel : rel.split(sep).join('/');
  }
}

function linkTarget(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** What the analyzer needs to know about the files of a workspace. */
export interface FileProbe {
  /** The absolute workspace root. */
  readonly root: string;
  exists(path: string): boolean;
  isDirectory(path: string): boolean;
  /** True when the path, or a folder on the way to it, is a link leading outside the workspace. */
  escapesThroughLink(path: string): boolean;
  readText(path: string): string | undefined;
  /** Where the path really leads through links, workspace-relative; undefined when outside or unknown. */
  resolve?(path: string): string | undefined;
  /** Entries of a folder (names, and whether each is a folder); empty when it is not one. */
  list(path: string): readonly { readonly name: string; readonly directory: boolean }[];
}

/**
 * Reads the disk, remembering answers until `invalidate()`: an analysis of a
 * 5,000-stage manifest asks about tens of thousands of paths per keystroke.
 */
export class DiskProbe implements FileProbe {
  private readonly stats = new Map<string, 'file' | 'directory' | 'missing'>();
  private readonly escapes = new Map<string, boolean>();
  private readonly texts = new Map<string, string | undefined>();
  private readonly resolved = new Map<string, string | undefined>();
  private realRoot: string | undefined;
  private realPaths: RealPaths | undefined;

  constructor(readonly root: string) {}

  invalidate(): void {
    this.realPaths = undefined;
    this.resolved.clear();
    this.stats.clear();
    this.escapes.clear();
    this.texts.clear();
    this.realRoot = undefined;
  }

  private kind(path: string): 'file' | 'directory' | 'missing' {
    const key = normalizeRelative(path);
    let kind = this.stats.get(key);
    if (kind === undefined) {
      try {
        kind = statSync(join(this.root, key)).isDirectory() ? 'directory' : 'file';
      } catch {
        kind = 'missing';
      }
      this.stats.set(key, kind);
    }
    return kind;
  }

  exists(path: string): boolean {
    return this.kind(path) !== 'missing';
  }

  isDirectory(path: string): boolean {
    return this.kind(path) === 'directory';
  }

  escapesThroughLink(path: string): boolean {
    const key = normalizeRelative(path);
    const cached = this.escapes.get(key);
    if (cached !== undefined) return cached;
    let escapes = false;
    try {
      this.realRoot ??= realpathSync(this.root);
      // The deepest part of the path that exists decides where it really leads.
      let existing = key;
      while (existing !== '' && !this.exists(existing))
        existing = posix.dirname(existing).replace(/^\.$/, '');
      if (existing !== '') {
        const real = realpathSync(join(this.root, existing));
        const rel = relative(this.realRoot, real);
        escapes = rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
      }
    } catch {
      escapes = false;
    }
    this.escapes.set(key, escapes);
    return escapes;
  }

  resolve(path: string): string | undefined {
    // Asked of every output and dep on every keystroke; each answer costs an lstat.
    if (this.resolved.has(path)) return this.resolved.get(path);
    let real: string | undefined;
    try {
      this.realPaths ??= new RealPaths(this.root);
      real = this.realPaths.of(path);
    } catch {
      real = undefined; // the root itself is gone
    }
    this.resolved.set(path, real);
    return real;
  }

  readText(path: string): string | undefined {
    const key = normalizeRelative(path);
    if (this.texts.has(key)) return this.texts.get(key);
    let content: string | undefined;
    try {
      content = readFileSync(join(this.root, key), 'utf8');
    } catch {
      content = undefined;
    }
    this.texts.set(key, content);
    return content;
  }

  list(path: string): { name: string; directory: boolean }[] {
    try {
      return readdirSync(join(this.root, normalizeRelative(path)), { withFileTypes: true }).map((entry) => ({
        name: entry.name,
        directory: entry.isDirectory(),
      }));
    } catch {
      return [];
    }
  }
}
