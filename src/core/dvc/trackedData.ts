// What DVC tracks outside its pipelines: the `.dvc` files of `dvc add` and
// `dvc import` anywhere under the project folder, each naming a file or folder
// of data, plus the other dvc.yaml files a project may hold and the remotes of
// .dvc/config. One walk finds them all; it never enters .git, .dvc,
// node_modules or .sluice, follows no link, and skips the folders it has just
// learnt are tracked data (they can hold millions of files).
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { isMapping } from './values';

/** One output of a `.dvc` file: a file or folder of data, by its path from the project folder. */
export interface TrackedData {
  /** The `.dvc` file, from the project folder. */
  readonly dvcFile: string;
  /** The data, from the project folder (posix separators), or undefined when it leaves the folder. */
  readonly path: string | undefined;
  /** The path as the `.dvc` file writes it. */
  readonly written: string;
  readonly desc: string | undefined;
  /** Options of the output besides its hashes and sizes (`remote`, `push`, `cache`, `type`, …). */
  readonly flags: Readonly<Record<string, unknown>>;
  /** Where the data was imported from (`dvc import`, `dvc import-url`), when it was. */
  readonly importedFrom: string | undefined;
  readonly hasMeta: boolean;
}

/** A `.dvc` file that cannot be read, with where. */
export interface BrokenDvcFile {
  readonly dvcFile: string;
  readonly line: number;
  readonly column: number;
  readonly reason: string;
}

export interface ProjectScan {
  readonly tracked: readonly TrackedData[];
  readonly broken: readonly BrokenDvcFile[];
  /** Other dvc.yaml files under the folder, from it. */
  readonly otherPipelines: readonly string[];
  /** Old-style `.dvc` files that are stages (with a `cmd`), from the folder. */
  readonly stageFiles: readonly string[];
}

/** Keys of a `.dvc` output that record state (hashes, sizes), not configuration. */
const STATE_KEYS = new Set([
  'path',
  'md5',
  'etag',
  'checksum',
  'size',
  'nfiles',
  'hash',
  'isexec',
  'files',
  'version_id',
  'cloud',
]);
const NEVER_ENTERED = new Set(['.git', '.dvc', 'node_modules', '.sluice']);

/** Walks `root` for `.dvc` files and dvc.yaml files other than `pipelineFile` (both absolute). */
export function scanProject(root: string, pipelineFile: string): ProjectScan {
  const tracked: TrackedData[] = [];
  const broken: BrokenDvcFile[] = [];
  const otherPipelines: string[] = [];
  const stageFiles: string[] = [];
  const visit = (folder: string): void => {
    let entries;
    try {
      entries = readdirSync(folder, { withFileTypes: true });
    } catch {
      // A folder that cannot be listed holds nothing this import could read.
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const trackedHere = new Set<string>();
    for (const entry of entries) {
      if (!entry.isFile()) continue;
      const path = join(folder, entry.name);
      const fromRoot = toPosix(relative(root, path));
      if (entry.name === 'dvc.yaml' && path !== pipelineFile) otherPipelines.push(fromRoot);
      if (!entry.name.endsWith('.dvc')) continue;
      const read = readDvcFile(fromRoot, path);
      if (read === 'stage') {
        stageFiles.push(fromRoot);
        continue;
      }
      if ('reason' in read) broken.push(read);
      for (const data of 'reason' in read ? [] : read) {
        tracked.push(data);
        if (data.path !== undefined) trackedHere.add(data.path);
      }
    }
    for (const entry of entries) {
      if (!entry.isDirectory() || NEVER_ENTERED.has(entry.name)) continue;
      const path = join(folder, entry.name);
      if (trackedHere.has(toPosix(relative(root, path)))) continue;
      visit(path);
    }
  };
  visit(root);
  return { tracked, broken, otherPipelines, stageFiles };
}

function readDvcFile(dvcFile: string, path: string): TrackedData[] | BrokenDvcFile | 'stage' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return {
      dvcFile,
      line: 1,
      column: 1,
      reason: `it cannot be read (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`,
    };
  }
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  const [syntax] = document.errors;
  if (syntax) {
    const { line, col } = lineCounter.linePos(syntax.pos[0]);
    return { dvcFile, line, column: col, reason: syntax.message.split('\n')[0]! };
  }
  const content: unknown = document.toJS();
  // DVC 0.x and 1.x wrote a stage per .dvc file; its outputs are what the stage makes, not data to version.
  if (isMapping(content) && 'cmd' in content) return 'stage';
  const outs = isMapping(content) ? content['outs'] : undefined;
  if (!Array.isArray(outs) || outs.some((out) => !isMapping(out) || typeof out['path'] !== 'string'))
    return { dvcFile, line: 1, column: 1, reason: 'it has no `outs` list of paths' };
  const file = content as Record<string, unknown>;
  // Paths in a .dvc file are relative to its folder (or to its `wdir`, in files written by DVC 1).
  const wdir = typeof file['wdir'] === 'string' ? file['wdir'] : '.';
  const base = posix.join(posix.dirname(dvcFile), wdir);
  const deps = Array.isArray(file['deps']) ? file['deps'].filter(isMapping) : [];
  const source = deps[0];
  const importedFrom =
    source === undefined
      ? undefined
      : isMapping(source['repo']) && typeof source['repo']['url'] === 'string'
        ? `${source['repo']['url']}${typeof source['path'] === 'string' ? ` (${source['path']})` : ''}`
        : typeof source['path'] === 'string'
          ? source['path']
          : 'another location';
  return (outs as Record<string, unknown>[]).map((out) => {
    const written = out['path'] as string;
    const path = insideRoot(posix.join(base, written));
    return {
      dvcFile,
      path,
      written,
      desc: typeof out['desc'] === 'string' ? out['desc'] : undefined,
      flags: Object.fromEntries(
        Object.entries(out).filter(([key]) => !STATE_KEYS.has(key) && key !== 'desc'),
      ),
      importedFrom,
      hasMeta: 'meta' in file,
    };
  });
}

/** A normalized path from the project folder, or undefined when it leaves it (or is absolute). */
export function insideRoot(path: string): string | undefined {
  if (posix.isAbsolute(path) || /^[A-Za-z]:[\\/]/.test(path)) return undefined;
  const normal = posix.normalize(path).replace(/\/+$/, '');
  if (normal === '..' || normal.startsWith('../')) return undefined;
  return normal === '' ? '.' : normal;
}

function toPosix(path: string): string {
  return path.split(sep).join('/');
}

/** The remotes of `.dvc/config` (and `.dvc/config.local`): name and url, in the order written. */
export function dvcRemotes(root: string): { readonly name: string; readonly url: string }[] {
  const remotes: { name: string; url: string }[] = [];
  for (const file of ['config', 'config.local']) {
    let text: string;
    try {
      text = readFileSync(join(root, '.dvc', file), 'utf8');
    } catch {
      continue;
    }
    let current: { name: string; url: string } | undefined;
    for (const line of text.split(/\r?\n/)) {
      const section = /^\s*\[\s*(.+?)\s*\]\s*$/.exec(line);
      if (section) {
        const remote = /^['"]?remote\s+"([^"]+)"['"]?$/.exec(section[1]!);
        current = remote ? { name: remote[1]!, url: '' } : undefined;
        if (current && !remotes.some((known) => known.name === current!.name)) remotes.push(current);
        continue;
      }
      const url = /^\s*url\s*=\s*(.+?)\s*$/.exec(line);
      if (current && url) remotes.find((known) => known.name === current!.name)!.url = url[1]!;
    }
  }
  return remotes;
}
