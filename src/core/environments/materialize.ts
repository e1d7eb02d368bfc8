// Writing a release's outputs into a folder (releases/<id>/ of a deploy
// folder). A release's outputs are declarations, and declarations overlap: a
// folder out holding a declared metrics file (DVC's own shape), one file
// declared twice through different spellings (`eval/m.json`, `./eval//m.json`).
// So the outputs are first merged into one layout, each path once, and only
// then written; two declarations that disagree about a path are refused.
//
// A release may also carry links (recorded by an older Sluice, or by hand):
// one that leads out of the release folder is refused, by the rule datasets
// and manifest paths follow (src/core/paths/): no absolute target, no way
// up and out, lexically or through another link.
import { lstatSync, mkdirSync, readlinkSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, posix, relative, sep, isAbsolute } from 'node:path';
import { SluiceError } from '../errors';
import { shortId } from '../format';
import { lexicalEscape, normalizeRelative } from '../paths';
import type { TreeEntry } from '../pipelines/fingerprint';
import type { CachedOutput } from '../pipelines/outputs';
import type { FileEntry } from '../snapshots/snapshots';
import type { Placer } from './placement';

/**
 * Worktrees Sluice makes under .sluice/tmp/ are named
 * `sluice-wt-<pid>-<random>` (a stage's, or a promotion's checks gate), so
 * that a later command can tell a dead owner's from a running one's.
 */
export const WORKTREE_PREFIX = 'sluice-wt-';

/** One path of a release layout: what is written there (path relative to the release folder). */
export type LayoutEntry = TreeEntry;

function sameEntry(a: TreeEntry, b: TreeEntry): boolean {
  if (a.type === 'file' && b.type === 'file') return a.sha256 === b.sha256;
  if (a.type === 'link' && b.type === 'link') return a.target === b.target;
  return a.type === 'dir' && b.type === 'dir';
}

function conflict(releaseId: string, path: string, why: string): SluiceError {
  return new SluiceError(
    `Release ${shortId(releaseId)} declares ${path} twice, differently (${why}).`,
    'failed',
    'Fix the overlapping outs/metrics declarations and stage again.',
    { code: 'release-outputs-conflict', data: { release: releaseId, path } },
  );
}

export function linkEscapes(releaseId: string, path: string, target: string): SluiceError {
  return new SluiceError(
    `Release ${shortId(releaseId)} holds a link ${path} → ${target} that leads out of the release folder.`,
    'failed',
    'Releases may only hold links to their own files: replace the link with the file, or remove it, and stage again.',
    { code: 'release-link-escapes', data: { release: releaseId, path, target } },
  );
}

/**
 * Merges a release's outputs into one layout: normalized path → entry, each
 * path once, parents before children. Throws `release-outputs-conflict` when
 * two declarations disagree about a path, `release-path-escapes` for an output
 * path that leaves the release, and `release-link-escapes` for a link whose
 * target leaves it by its own spelling (absolute, or `..` past the top).
 */
export function releaseLayout(releaseId: string, outputs: readonly CachedOutput[]): LayoutEntry[] {
  const layout = new Map<string, TreeEntry>();
  for (const output of outputs) {
    const base = normalizeRelative(output.path);
    if (base === '' || lexicalEscape(output.path) !== undefined) {
      throw new SluiceError(
        `Release ${shortId(releaseId)} has an output path (${output.path}) outside its folder.`,
        'failed',
        'The release record is damaged or hand-made; stage a new release.',
        { code: 'release-path-escapes', data: { release: releaseId, path: output.path } },
      );
    }
    for (const entry of output.entries) {
      const path = entry.path === '' ? base : normalizeRelative(`${base}/${entry.path}`);
      if (path !== base && !path.startsWith(`${base}/`)) {
        throw new SluiceError(
          `Release ${shortId(releaseId)} has an entry (${base}/${entry.path}) outside its output.`,
          'failed',
          'The release record is damaged or hand-made; stage a new release.',
          { code: 'release-path-escapes', data: { release: releaseId, path: `${base}/${entry.path}` } },
        );
      }
      const placed = { ...entry, path } as TreeEntry;
      if (
        placed.type === 'link' &&
        (lexicalEscape(placed.target) === 'absolute' ||
          lexicalEscape(posix.join(posix.dirname(path), placed.target)) !== undefined)
      )
        throw linkEscapes(releaseId, path, placed.target);
      const before = layout.get(path);
      if (before === undefined) layout.set(path, placed);
      else if (!sameEntry(before, placed))
        throw conflict(releaseId, path, `${before.type} and ${placed.type}`);
    }
  }
  // Every parent of a path must be a folder of the layout (or absent: made on the way).
  for (const path of layout.keys()) {
    for (let parent = posix.dirname(path); parent !== '.'; parent = posix.dirname(parent)) {
      const above = layout.get(parent);
      if (above !== undefined && above.type !== 'dir')
        throw conflict(releaseId, parent, `a ${above.type} that also holds ${path}`);
    }
  }
  const depth = (path: string): number => path.split('/').length;
  return [...layout.values()].sort((a, b) => depth(a.path) - depth(b.path) || (a.path < b.path ? -1 : 1));
}

/** Writes a layout below `folder` (which exists and is empty), files through `placer`. */
export function writeLayout(folder: string, layout: readonly LayoutEntry[], placer: Placer): void {
  for (const entry of layout) {
    const target = join(folder, entry.path);
    mkdirSync(dirname(target), { recursive: true });
    if (entry.type === 'dir') mkdirSync(target, { recursive: true, mode: entry.mode | 0o700 });
    else if (entry.type === 'link') symlinkSync(entry.target, target);
    else placer.place(entry.sha256, target, entry.mode);
  }
}

/**
 * True when the link at `path` (relative to `root`) leads out of `root` once
 * written: resolved one segment at a time, each existing step through the
 * kernel (so `a/l → .` then `l/../..` is seen for what it is), the rest
 * lexically. A loop counts as leading out: where it leads cannot be told.
 */
export function linkLeadsOutside(root: string, path: string): boolean {
  try {
    const realRoot = realpathSync(root);
    const target = readlinkSync(join(root, path));
    if (lexicalEscape(target) === 'absolute') return true;
    let at = realpathSync(dirname(join(root, path)));
    const segments = target.split(/[/\\]+/).filter((segment) => segment !== '' && segment !== '.');
    for (let i = 0; i < segments.length; i++) {
      const next = join(at, segments[i]!);
      let exists = true;
      try {
        lstatSync(next);
      } catch {
        exists = false;
      }
      if (!exists) {
        at = join(at, ...segments.slice(i));
        break;
      }
      at = realpathSync(next);
    }
    const inside = relative(realRoot, at);
    return inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside);
  } catch {
    return true;
  }
}

/**
 * Writes a snapshot's entries at `base` (the dataset's path: a folder, or the
 * file itself for the entry ''), replacing whatever the checkout put there.
 * Files are read-only: a stage that writes into a dataset fails loudly
 * instead of changing the release's data.
 */
export function placeDataset(base: string, entries: readonly FileEntry[], placer: Placer): void {
  rmSync(base, { recursive: true, force: true });
  mkdirSync(entries.some((entry) => entry.path === '') ? dirname(base) : base, { recursive: true });
  // Parents before children.
  for (const entry of [...entries].sort((a, b) => a.path.length - b.path.length)) {
    const target = entry.path === '' ? base : join(base, entry.path);
    mkdirSync(dirname(target), { recursive: true });
    if (entry.type === 'dir') mkdirSync(target, { recursive: true, mode: entry.mode | 0o700 });
    else if (entry.type === 'link') symlinkSync(entry.target, target);
    else placer.place(entry.sha256, target, entry.mode);
  }
}
