// A Sluice workspace: the folder holding sluice.yaml, its valid manifest, the
// git repository that keeps the records, and the .sluice/ cache.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { SluiceError } from '../errors';
import { writeCacheAsync } from '../fs/cacheWrite';
import { MANIFEST_FILE, readManifestFile } from '../manifest';
import { MAX_MANIFEST_BYTES } from '../manifest/limits';
import { cachedModel, manifestDigest, rememberModel } from '../manifest/modelCache';
import type { Manifest } from '../manifest/model';
import { GitRepository } from '../git/repository';
import { ObjectStore } from '../store/objectStore';

export const SLUICE_DIR = '.sluice';

export interface Workspace {
  readonly root: string;
  /** The absolute path of sluice.yaml. */
  readonly manifestFile: string;
  readonly manifest: Manifest;
  /** Absolute path of .sluice/. */
  readonly sluiceDir: string;
  readonly store: ObjectStore;
  readonly git: GitRepository;
}

/** Finds sluice.yaml in `start` or a folder above it. */
export function findManifest(start: string): string | undefined {
  let dir = resolve(start);
  for (;;) {
    const candidate = join(dir, MANIFEST_FILE);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * Opens the workspace around `start`. A manifest with errors stops here, with
 * its first error, before anything runs or is written. Opening spawns no
 * process: a no-op command on an unchanged workspace costs a few file reads.
 */
export async function openWorkspace(start: string): Promise<Workspace> {
  const file = findManifest(start);
  if (!file) {
    throw new SluiceError(
      `No ${MANIFEST_FILE} in ${resolve(start)} or any folder above it.`,
      'usage',
      'Run `sluice init` to create one.',
      { code: 'no-workspace', data: { folder: resolve(start) } },
    );
  }
  const root = dirname(file);
  const sluiceDir = join(root, SLUICE_DIR);
  const store = new ObjectStore(sluiceDir);
  const git = new GitRepository(root, store.scratch, join(sluiceDir, 'state', 'git.json'));
  requireGitWorkTree(root);
  // The first time only (before anything creates .sluice/): afterwards it is ignored already.
  const firstUse = !existsSync(sluiceDir);
  const manifest = readCleanManifest(file, join(sluiceDir, 'state', 'manifest-model.json'));
  // On a read-only or full disk nothing creates .sluice/ either: the next command that can write adds the rule.
  if (firstUse)
    await writeCacheAsync('the git exclude rule for .sluice/', () => git.ignoreLocally(SLUICE_DIR));
  return { root, manifestFile: file, manifest, sluiceDir, store, git };
}

function readCleanManifest(file: string, cacheFile: string): Manifest {
  let digest: string | undefined;
  try {
    // Past the size limit the full read below refuses it unread.
    if (statSync(file).size > MAX_MANIFEST_BYTES) throw new Error('too large');
    digest = manifestDigest(readFileSync(file, 'utf8'));
    const cached = cachedModel(cacheFile, digest, dirname(file));
    if (cached) return cached;
  } catch {
    // Unreadable: the full read below says why.
  }
  const analysis = cleanAnalysis(file);
  try {
    rememberModel(cacheFile, manifestDigest(analysis.text), analysis.manifest, analysis.inputs);
  } catch {
    // A read-only .sluice/ only costs the next command the same analysis.
  }
  return analysis.manifest;
}

/** The analysis of a manifest, refused when it has errors (naming the first, where it is). */
function cleanAnalysis(file: string, options: Parameters<typeof readManifestFile>[1] = {}) {
  const analysis = readManifestFile(file, options);
  const errors = analysis.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) {
    const first = errors[0]!;
    const at = analysis.lineIndex.position(first.start);
    throw new SluiceError(
      `${file}:${at.line + 1}:${at.character + 1}: ${first.message}${errors.length > 1 ? ` (and ${errors.length - 1} more error${errors.length > 2 ? 's' : ''})` : ''}`,
      'manifest',
      'Run `sluice validate` to see every problem.',
      { code: 'manifest-invalid', data: { file, errors: errors.length } },
    );
  }
  return analysis;
}

/**
 * The model of the workspace's manifest with params given for one run
 * (`run --set`): `${…}` that names an overridden param takes its new value.
 * The workspace's own model when nothing is overridden.
 */
export function manifestWithOverrides(
  workspace: Pick<Workspace, 'manifest' | 'manifestFile'>,
  overrides: Readonly<Record<string, unknown>>,
): Manifest {
  if (Object.keys(overrides).length === 0) return workspace.manifest;
  return cleanAnalysis(workspace.manifestFile, { overrides }).manifest;
}

/**
 * Sluice keeps its records in git refs. Looking for `.git` (a folder, or a
 * file in a linked worktree) costs a few stats where `git rev-parse` costs a
 * process; git itself is asked when a record is read or written.
 */
function requireGitWorkTree(root: string): void {
  if (process.env['GIT_DIR'] !== undefined) return;
  for (let dir = root; ; dir = dirname(dir)) {
    if (existsSync(join(dir, '.git'))) return;
    if (dirname(dir) === dir) break;
  }
  throw new SluiceError(
    `${root} is not a git repository.`,
    'usage',
    'Run `git init` there first: Sluice keeps its records in git refs.',
    { code: 'not-a-git-repository', data: { root } },
  );
}
