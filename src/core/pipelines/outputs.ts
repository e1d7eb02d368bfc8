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
import { dirname, join, relative } from 'node:path';
import { SluiceError } from '../errors';
import { writeFileAtomic } from '../fs/atomicWrite';
import { linkEscape, realPathInside } from '../paths';
import { refuseRepositoryOutputs } from '../manifest/protectedRuntime';
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
  /** The run that produced the outputs (absent in entries written before it was kept). */
  readonly runId?: string | undefined;
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

  write(signature: string, stage: string, outs: readonly CachedOutput[], runId: string): void {
    const run: CachedRun = {
      format: FORMAT,
      signature,
      stage,
      outs,
      createdAt: new Date().toISOString(),
      runId,
    };
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
 * Whether a cache entry can stand in for running a stage whose declared
 * outputs are `outs`: it holds exactly those outputs (an entry made for
 * another declaration would leave one missing or restore one no longer
 * asked for), every blob they need, and no link leading out of its output.
 */
export function restorable(run: CachedRun, outs: readonly string[], store: ObjectStore): boolean {
  const paths = run.outs.map((out) => out.path).sort();
  const declared = [...outs].sort();
  if (paths.length !== declared.length || paths.some((path, index) => path !== declared[index])) return false;
  const linksStayIn = run.outs.every((out) =>
    out.entries.every(
      (entry) =>
        entry.type !== 'link' ||
        (out.kind === 'link' ? linkEscape(out.path, entry.target) : linkEscape(entry.path, entry.target)) ===
          undefined,
    ),
  );
  return linksStayIn && blobsPresent(run, store);
}

/**
 * Refuses a link captured in an output that leads outside it (`relative` is
 * the link's path in the output), or, for an output that is itself a link
 * (`relative` is its path), outside the workspace: restored or released
 * elsewhere, it would point at whatever is there.
 */
function requireLinkInside(
  stageId: string,
  output: string,
  relative: string,
  target: string,
  scope: 'output' | 'workspace',
): void {
  const escape = linkEscape(relative, target);
  if (escape === undefined) return;
  const link = scope === 'output' ? `${output}/${relative}` : output;
  throw new SluiceError(
    `Output ${output} of stage ${stageId} holds a link, ${link} → ${target}, that leads outside the ${scope}.`,
    'failed',
    'Make the stage write a copy, or a relative link to a path inside the output.',
    { code: 'output-link-escapes', data: { stage: stageId, output, link, target, escape } },
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
  // Every output written is taken into the store, even when one is missing:
  // the bytes a run produced are then never mistaken for hand edits.
  const missing: string[] = [];
  const captured = outs.flatMap((path): CachedOutput[] => {
    const absolute = join(root, path);
    let stat;
    try {
      stat = lstatSync(absolute);
    } catch {
      missing.push(path);
      return [];
    }
    const real = realpathSync(dirname(absolute));
    if (!realPathInside(real, realRoot)) {
      throw new SluiceError(
        `Output ${path} of stage ${stageId} leads outside the workspace through a link (${relative(realRoot, real)}).`,
        'failed',
        'Write outputs inside the workspace.',
        { code: 'output-outside-workspace', data: { stage: stageId, output: path } },
      );
    }
    fingerprints.invalidate(path);
    if (stat.isDirectory()) {
      const entries: TreeEntry[] = [];
      captureFolder(root, path, '', store, fingerprints, entries);
      for (const entry of entries)
        if (entry.type === 'link') requireLinkInside(stageId, path, entry.path, entry.target, 'output');
      return [{ path, kind: 'dir', entries }];
    }
    if (stat.isSymbolicLink()) {
      // Kept as written, never followed; an output that is a link may point anywhere in the workspace.
      const target = readlinkSync(absolute);
      requireLinkInside(stageId, path, path, target, 'workspace');
      return [{ path, kind: 'link', entries: [{ path: '', type: 'link', target }] }];
    }
    const { hash } = store.importFile(absolute);
    fingerprints.remember(path, stat, hash);
    return [
      {
        path,
        kind: 'file',
        entries: [{ path: '', type: 'file', sha256: hash, mode: stat.mode & 0o777 }],
      },
    ];
  });
  if (missing.length > 0) {
    throw new SluiceError(
      `Stage ${stageId} did not write its output${missing.length > 1 ? 's' : ''} ${missing.join(', ')}.`,
      'failed',
      'Make the command write it, or remove it from `outs` in sluice.yaml.',
      { code: 'output-not-written', data: { stage: stageId, outputs: missing } },
    );
  }
  return captured;
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

/** What a stage's earlier runs left in its outputs: bytes that may be deleted without a copy in the trash. */
export interface RunLeftovers {
  /** Output path → fingerprint, as the last successful run and the last failed one left them. */
  readonly fingerprints: readonly Readonly<Record<string, string>>[];
  /** Workspace path of each link the last successful run left → its target. */
  readonly links: ReadonlyMap<string, string>;
}

/**
 * Clears a stage's outputs before they are rewritten, so an output it fails
 * to write is noticed rather than left over. Bytes sluice has a copy of are
 * deleted: an output as a recorded run left it, or whose every file is in
 * the store (a run produced it, perhaps under another declaration: `eval`
 * then `eval/plots`). Anything else, such as a file edited by hand, is moved
 * into `trash` and reported: never lost. Returns the paths it was moved to.
 */
export function clearOutputs(
  root: string,
  outs: readonly string[],
  leftovers: RunLeftovers,
  fingerprints: Fingerprints,
  store: ObjectStore,
  trash: string,
): string[] {
  refuseRepositoryOutputs(root, outs);
  const saved: string[] = [];
  for (const path of outs) {
    const current = fingerprints.of(path);
    if (current === undefined) {
      fingerprints.invalidate(path);
      continue;
    }
    const absolute = join(root, path);
    const copied =
      leftovers.fingerprints.some((recorded) => recorded[path] === current) ||
      (fingerprints.entries(path) ?? []).every((entry) => {
        const at = entry.path === '' ? path : `${path}/${entry.path}`;
        if (entry.type === 'file') return store.has(entry.sha256);
        return entry.type === 'dir' || leftovers.links.get(at) === entry.target;
      });
    fingerprints.invalidate(path);
    if (copied) {
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

/** The links a cached run's outputs hold, by workspace path. */
export function linksOf(run: CachedRun | undefined): Map<string, string> {
  const links = new Map<string, string>();
  for (const out of run?.outs ?? [])
    for (const entry of out.entries)
      if (entry.type === 'link')
        links.set(entry.path === '' ? out.path : `${out.path}/${entry.path}`, entry.target);
  return links;
}
