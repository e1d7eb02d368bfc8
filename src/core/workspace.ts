// A Sluice workspace: the folder holding sluice.yaml, its valid manifest, the
// git repository that keeps the records, and the .sluice/ cache.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { SluiceError } from './errors';
import { MANIFEST_FILE, readManifestFile, type ManifestAnalysis } from './manifest';
import type { Manifest } from './manifest/model';
import { GitRepository } from './git/repository';
import { ObjectStore } from './store/objectStore';

export const SLUICE_DIR = '.sluice';

export interface Workspace {
  readonly root: string;
  readonly manifest: Manifest;
  readonly analysis: ManifestAnalysis;
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
 * its first error, before anything runs or is written.
 */
export async function openWorkspace(start: string): Promise<Workspace> {
  const file = findManifest(start);
  if (!file) {
    throw new SluiceError(
      `No ${MANIFEST_FILE} in ${resolve(start)} or any folder above it.`,
      'usage',
      'Run `sluice init` to create one.',
    );
  }
  const analysis = readManifestFile(file);
  const errors = analysis.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) {
    const first = errors[0]!;
    const at = analysis.lineIndex.position(first.start);
    throw new SluiceError(
      `${file}:${at.line + 1}:${at.character + 1}: ${first.message}${errors.length > 1 ? ` (and ${errors.length - 1} more error${errors.length > 2 ? 's' : ''})` : ''}`,
      'manifest',
      'Run `sluice validate` to see every problem.',
    );
  }
  const root = dirname(file);
  const sluiceDir = join(root, SLUICE_DIR);
  const store = new ObjectStore(sluiceDir);
  const git = new GitRepository(root, store.scratch);
  await git.requireRepository();
  await git.ignoreLocally(SLUICE_DIR);
  return { root, manifest: analysis.manifest, analysis, sluiceDir, store, git };
}
