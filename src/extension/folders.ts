// How each folder of the VS Code workspace stands with Sluice: no manifest, a
// manifest with errors, no git repository, or a workspace the views can read.
// Plain TypeScript (no vscode import), so every state is tested without an editor.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describeError, SluiceError } from '../core/errors';
import { GitRepository } from '../core/git/repository';
import { readManifestFile } from '../core/manifest';
import type { Manifest } from '../core/manifest/model';
import { DATASET_REFS } from '../core/snapshots/snapshots';
import { findManifest, openWorkspace, SLUICE_DIR, type Workspace } from '../core/workspace';

interface WithManifest {
  /** The VS Code workspace folder, absolute. */
  readonly folder: string;
  /** The folder holding sluice.yaml: the folder itself or one above it. */
  readonly root: string;
  readonly manifestFile: string;
}

export type FolderState =
  | { readonly kind: 'noManifest'; readonly folder: string }
  | (WithManifest & { readonly kind: 'invalidManifest'; readonly message: string })
  | (WithManifest & { readonly kind: 'noGit'; readonly message: string })
  | (WithManifest & { readonly kind: 'failed'; readonly message: string })
  /** Restricted Mode: the manifest is read, git is not run (see RESTRICTED_MODE_REASON). */
  | (WithManifest & { readonly kind: 'restricted'; readonly manifest: Manifest })
  | (WithManifest & { readonly kind: 'ready'; readonly workspace: Workspace });

/**
 * Why an untrusted folder gets no git at all: a repository's own configuration
 * can make read-only git commands run programs (core.fsmonitor runs on any
 * command that reads the index, such as the check-ignore that opening a
 * workspace does; log.showSignature runs gpg.program on a signed commit).
 */
export const RESTRICTED_MODE_REASON =
  'Restricted Mode: Sluice lists the datasets but reads no snapshots, because reading them runs git, ' +
  "and a repository's own settings can make git run programs. Trust this folder to see snapshots and changes.";

/**
 * Opens the Sluice workspace of `folder`, as far as trust allows. Untrusted,
 * only the manifest is read (in-process); trusted, the engine's openWorkspace
 * does what the CLI does.
 */
export async function discoverFolder(folder: string, options: { trusted: boolean }): Promise<FolderState> {
  const manifestFile = findManifest(folder);
  if (manifestFile === undefined) return { kind: 'noManifest', folder };
  const found: WithManifest = { folder, root: dirname(manifestFile), manifestFile };
  if (!options.trusted) {
    try {
      const analysis = readManifestFile(manifestFile);
      if (analysis.hasErrors) {
        const errors = analysis.diagnostics.filter((d) => d.severity === 'error').length;
        return {
          ...found,
          kind: 'invalidManifest',
          message: `${manifestFile} has ${errors} error${errors === 1 ? '' : 's'}; the Problems panel lists them.`,
        };
      }
      return { ...found, kind: 'restricted', manifest: analysis.manifest };
    } catch (error) {
      return { ...found, kind: 'failed', message: describeError(error) };
    }
  }
  try {
    return { ...found, kind: 'ready', workspace: await openWorkspace(found.root) };
  } catch (error) {
    if (error instanceof SluiceError && error.kind === 'manifest') {
      return { ...found, kind: 'invalidManifest', message: error.message };
    }
    if (!(await isGitRepository(found.root))) {
      return {
        ...found,
        kind: 'noGit',
        message: `${found.root} is not in a git repository: Sluice keeps its snapshot records in git refs.`,
      };
    }
    return { ...found, kind: 'failed', message: describeError(error) };
  }
}

async function isGitRepository(root: string): Promise<boolean> {
  try {
    await new GitRepository(root, join(root, SLUICE_DIR, 'tmp')).requireRepository();
    return true;
  } catch {
    return false;
  }
}

/** The values of the context key the welcome content reads (`sluice.workspaceState`). */
export const WORKSPACE_SUMMARIES = [
  'noFolder',
  'noManifest',
  'invalidManifest',
  'noGit',
  'failed',
  'ready',
] as const;

export type WorkspaceSummary = (typeof WORKSPACE_SUMMARIES)[number];

/**
 * One state for the whole window. Any folder the views can show makes it
 * `ready`; otherwise the state that needs the user's action first.
 */
export function summarizeFolders(states: readonly FolderState[]): WorkspaceSummary {
  if (states.length === 0) return 'noFolder';
  const kinds = new Set(states.map((state) => state.kind));
  if (kinds.has('ready') || kinds.has('restricted')) return 'ready';
  for (const kind of ['invalidManifest', 'noGit', 'failed'] as const) if (kinds.has(kind)) return kind;
  return 'noManifest';
}

export interface GitDirectories {
  /** The repository's own git directory (for a linked worktree, its folder under the main one). */
  readonly gitDir: string;
  /** Where refs and packed-refs live: shared by every worktree of the repository. */
  readonly commonDir: string;
}

/**
 * Finds the git directories of the repository holding `start`, from the files
 * alone: the watchers need them, and running git to ask would cost a process
 * per refresh. Handles a `.git` folder, and a `.git` file (worktrees, submodules).
 */
export function findGitDirectories(start: string): GitDirectories | undefined {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    const dotGit = join(dir, '.git');
    const gitDir = gitDirectoryAt(dotGit);
    if (gitDir !== undefined) {
      const commonFile = join(gitDir, 'commondir');
      const commonDir = existsSync(commonFile)
        ? resolve(gitDir, readFileSync(commonFile, 'utf8').trim())
        : gitDir;
      return { gitDir, commonDir };
    }
    if (dirname(dir) === dir) return undefined;
  }
}

function gitDirectoryAt(dotGit: string): string | undefined {
  try {
    if (statSync(dotGit).isDirectory()) return dotGit;
    const pointer = /^gitdir: (.+)$/m.exec(readFileSync(dotGit, 'utf8'))?.[1];
    return pointer === undefined ? undefined : resolve(dirname(dotGit), pointer.trim());
  } catch {
    return undefined;
  }
}

/**
 * The dataset a ref file belongs to (`refs/sluice/datasets/NAME`, or git's
 * `NAME.lock` while it updates one; `/` or `\\` separators), if it is one.
 */
export function datasetOfRef(refPath: string): string | undefined {
  const ref = refPath
    .split('\\')
    .join('/')
    .replace(/\.lock$/, '');
  return ref.startsWith(DATASET_REFS) && ref.length > DATASET_REFS.length
    ? ref.slice(DATASET_REFS.length)
    : undefined;
}
