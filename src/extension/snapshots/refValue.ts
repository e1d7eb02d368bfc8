// A dataset ref's value read from the repository's files, without a git
// process: what lets a read the watch vouches for also keep its list of
// snapshots (a history is a pure function of the commit its ref names), where
// listing it again would cost a `git log` each refresh. Only the two plain ref
// stores are read (a loose file, then packed-refs); anything else (reftable, a
// symbolic ref, a file that does not parse) is "cannot tell", and the caller
// lists the history with git. No vscode import.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readRef as readLooseOrPackedRef } from '../../core/git/looseRefs';
import { findGitDirectories } from '../folders';

/** The commit `ref` names, 'none' when it does not exist, undefined when the files cannot tell. */
export function refValueWithoutGit(root: string, ref: string): string | undefined {
  try {
    return readRef(root, ref);
  } catch {
    return undefined;
  }
}

/** The commit HEAD names, 'none' on an unborn branch, undefined when the files cannot tell. */
export function headValueWithoutGit(root: string): string | undefined {
  try {
    const git = findGitDirectories(root);
    if (git === undefined) return undefined;
    const head = readText(join(git.gitDir, 'HEAD'))?.trim();
    if (head === undefined) return undefined;
    const symbolic = /^ref: (refs\/\S+)$/.exec(head)?.[1];
    if (symbolic !== undefined) return readRef(root, symbolic);
    return /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(head) ? head : undefined;
  } catch {
    return undefined;
  }
}

function readRef(root: string, ref: string): string | undefined {
  const git = findGitDirectories(root);
  if (git === undefined) return undefined;
  const { commonDir } = git;
  // reftable (git 2.45+) keeps refs in binary tables: git is asked.
  if (existsSync(join(commonDir, 'reftable'))) return undefined;
  // The engine's reading of loose and packed refs; a symbolic, damaged or sha256 value throws: git is asked.
  return readLooseOrPackedRef(commonDir, ref) ?? 'none';
}

/** The file's text; undefined when it is missing (an answer); throws on anything else (no answer). */
function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
