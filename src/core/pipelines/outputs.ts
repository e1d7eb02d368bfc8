// Stage outputs in the content-addressed store, and the run cache: for each
// signature a successful run had, the outputs it produced. A run whose
// signature is in the cache is not run again: its outputs come back from the
// store. Order of writes: blobs, then the cache entry (atomic), then state.
import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { SluiceError } from '../errors';
import { writeFileAtomic } from '../fs/atomicWrite';
import { refuseRepositoryOutputs } from '../protectedRuntime';
import type { ObjectStore } from '../store/objectStore';
import { entryFingerprint, treeFingerprint, type Fingerprints, type TreeEntry } from './fingerprint';

export interface CachedOutput {
  readonly path: string;
  /** 'file' and 'link': one entry with path ''. 'dir': the folder's entries. */
  readonly kind: 'file' | 'link' | 'dir';
  readonly entries: readonly TreeEntry[];
}

export interface CachedRun {
  readonly format: string;
  readonly signature: string;
  readonly stage: string;
  readonly outs: readonly CachedOutput[];
  readonly createdAt: string;
}

const FORMAT = 'sluice-run 1';

export class RunCache {
  constructor(private readonly folder: string) {}

  private fileOf(signature: string): string {
    return join(this.folder, signature.slice(0, 2), `${signature.slice(2)}.json`);
  }

  read(signature: string): CachedRun | undefined {
    try {
      const run = JSON.parse(readFileSync(this.fileOf(signature), 'utf8')) as CachedRun;
      return run.format === FORMAT && run.signature === signature ? run : undefined;
    } catch {
      return undefined;
    }
  }

  write(signature: string, stage: string, outs: readonly CachedOutput[]): void {
    const run: CachedRun = { format: FORMAT, signature, stage, outs, createdAt: new Date().toISOString() };
    writeFileAtomic(this.fileOf(signature), JSON.stringify(run));
  }
}

export function outputFingerprint(output: CachedOutput): string {
  if (output.kind === 'dir') return treeFingerprint(output.entries);
  return entryFingerprint(output.entries[0]!);
}

/** True when every blob the run's outputs need is in the store. */
export function blobsPresent(run: CachedRun, store: ObjectStore): boolean {
  return run.outs.every((out) =>
    out.entries.every((entry) => entry.type !== 'file' || store.has(entry.sha256)),
  );
}

/**
 * Copies a stage's outputs into the store (hashing as it reads) and returns
 * what the run cache records. An output that is missing, or that leads out of
 * the workspace through a link, is an error naming it.
 */
export function captureOutputs(
  root: string,
  stageId: string,
  outs: readonly string[],
  store: ObjectStore,
  fingerprints: Fingerprints,
): CachedOutput[] {
  const realRoot = realpathSync(root);
  return outs.map((path) => {
    const absolute = join(root, path);
    let stat;
    try {
      stat = lstatSync(absolute);
    } catch {
      throw new SluiceError(
        `Stage ${stageId} did not write its output ${path}.`,
        'failed',
        'Make the command write it, or remove it from `outs` in sluice.yaml.',
      );
    }
    const real = realpathSync(dirname(absolute));
    if (real !== realRoot && !real.startsWith(realRoot + sep)) {
      throw new SluiceError(
        `Output ${path} of stage ${stageId} leads outside the workspace through a link (${relative(realRoot, real)}).`,
        'failed',
        'Write outputs inside the workspace.',
      );
    }
    fingerprints.invalidate(path);
    if (stat.isDirectory()) {
      const entries: TreeEntry[] = [];
      captureFolder(root, path, '', store, fingerprints, entries);
      return { path, kind: 'dir', entries };
    }
    if (stat.isSymbolicLink()) {
      return { path, kind: 'link', entries: [{ path: '', type: 'link', target: readlinkSync(absolute) }] }; // kept as written, never followed
    }
    const { hash } = store.importFile(absolute);
    fingerprints.remember(path, stat, hash);
    return {
      path,
      kind: 'file',
      entries: [{ path: '', type: 'file', sha256: hash, mode: stat.mode & 0o777 }],
    };
  });
}

function captureFolder(
  root: string,
  base: string,
  relativePath: string,
  store: ObjectStore,
  fingerprints: Fingerprints,
  into: TreeEntry[],
): void {
  const folder = relativePath === '' ? base : `${base}/${relativePath}`;
  for (const name of readdirSync(join(root, folder))) {
    const child = relativePath === '' ? name : `${relativePath}/${name}`;
    const workspacePath = `${base}/${child}`;
    const absolute = join(root, workspacePath);
    const stat = lstatSync(absolute);
    if (stat.isDirectory()) {
      into.push({ path: child, type: 'dir', mode: stat.mode & 0o777 });
      captureFolder(root, base, child, store, fingerprints, into);
    } else if (stat.isSymbolicLink()) {
      into.push({ path: child, type: 'link', target: readlinkSync(absolute) });
    } else if (stat.isFile()) {
      const { hash } = store.importFile(absolute);
      fingerprints.remember(workspacePath, stat, hash);
      into.push({ path: child, type: 'file', sha256: hash, mode: stat.mode & 0o777 });
    }
  }
}

/** Puts a cached run's outputs back in place of whatever is there now. */
export async function restoreOutputs(
  root: string,
  run: CachedRun,
  store: ObjectStore,
  fingerprints: Fingerprints,
): Promise<void> {
  refuseRepositoryOutputs(
    root,
    run.outs.map((out) => out.path),
  );
  for (const out of run.outs) {
    const absolute = join(root, out.path);
    rmSync(absolute, { recursive: true, force: true });
    mkdirSync(dirname(absolute), { recursive: true });
    if (out.kind === 'dir') {
      mkdirSync(absolute, { recursive: true });
      // Parents before children: entries of a folder listing come in walk order.
      for (const entry of out.entries) {
        const target = join(absolute, entry.path);
        if (entry.type === 'dir') mkdirSync(target, { recursive: true, mode: entry.mode });
        else if (entry.type === 'link') symlinkSync(entry.target, target);
        else await store.materialize(entry.sha256, target, entry.mode);
      }
    } else {
      const entry = out.entries[0]!;
      if (entry.type === 'link') symlinkSync(entry.target, absolute);
      else if (entry.type === 'file') await store.materialize(entry.sha256, absolute, entry.mode);
    }
    fingerprints.invalidate(out.path);
  }
}

/**
 * Clears a stage's outputs before it runs, so an output it fails to write is
 * noticed rather than left over. Outputs whose content is the last run's (in
 * the cache) are deleted; anything else, such as a file edited by hand, is
 * moved into .sluice/trash/ and reported: never lost.
 */
export function clearOutputs(
  root: string,
  outs: readonly string[],
  cachedFingerprints: Readonly<Record<string, string>> | undefined,
  fingerprints: Fingerprints,
  trash: string,
): string[] {
  refuseRepositoryOutputs(root, outs);
  const saved: string[] = [];
  for (const path of outs) {
    const current = fingerprints.of(path);
    fingerprints.invalidate(path);
    if (current === undefined) continue;
    const absolute = join(root, path);
    if (cachedFingerprints?.[path] === current) {
      rmSync(absolute, { recursive: true, force: true });
      continue;
    }
    const target = join(trash, path);
    mkdirSync(dirname(target), { recursive: true });
    renameSync(absolute, target);
    saved.push(target);
  }
  return saved;
}
