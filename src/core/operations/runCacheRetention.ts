// What gc keeps besides the records' blobs: each stage's recent run-cache
// entries (so a stage whose inputs come back restores its outputs instead of
// running again), and the trash (.sluice/trash/, bytes no run produced that a
// run moved aside) until it is older than gc's minimum age.
import { chmodSync, lstatSync, readdirSync, readFileSync, rmSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { CachedRun } from '../pipelines/outputs';

export interface RunCacheRetention {
  /** Blobs of the kept entries, with where each is used. */
  readonly reachable: ReadonlyMap<string, string>;
  readonly kept: number;
  readonly removed: number;
}

/**
 * Keeps the `keep` newest run-cache entries of each stage and removes the
 * others (unless `dryRun`). An entry that cannot be read is left alone (the
 * runner ignores it too); its blobs are not kept.
 */
export function pruneRunCache(folder: string, options: { keep: number; dryRun: boolean }): RunCacheRetention {
  const byStage = new Map<string, { file: string; run: CachedRun }[]>();
  for (const file of runFiles(folder)) {
    let run: CachedRun;
    try {
      run = JSON.parse(readFileSync(file, 'utf8')) as CachedRun;
    } catch {
      continue;
    }
    if (typeof run.stage !== 'string' || !Array.isArray(run.outs)) continue;
    const runs = byStage.get(run.stage) ?? [];
    runs.push({ file, run });
    byStage.set(run.stage, runs);
  }
  const reachable = new Map<string, string>();
  let kept = 0;
  let removed = 0;
  for (const [stage, runs] of byStage) {
    runs.sort((a, b) => (a.run.createdAt > b.run.createdAt ? -1 : a.run.createdAt < b.run.createdAt ? 1 : 0));
    for (const [index, { file, run }] of runs.entries()) {
      if (index >= options.keep) {
        removed++;
        if (!options.dryRun) rmSync(file, { force: true });
        continue;
      }
      kept++;
      for (const out of run.outs)
        for (const entry of out.entries)
          if (entry.type === 'file' && !reachable.has(entry.sha256))
            reachable.set(entry.sha256, `run cache of stage ${stage}, output ${out.path}`);
    }
  }
  return { reachable, kept, removed };
}

function runFiles(folder: string): string[] {
  const files: string[] = [];
  let fans: string[];
  try {
    fans = readdirSync(folder);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return files;
    throw error;
  }
  for (const fan of fans) {
    if (!/^[0-9a-f]{2}$/.test(fan)) continue;
    for (const name of readdirSync(join(folder, fan)))
      if (name.endsWith('.json')) files.push(join(folder, fan, name));
  }
  return files;
}

/** Removes (unless `dryRun`) the entries of the trash folder older than `minAgeMs`; returns how many and their bytes. */
export function emptyTrash(
  folder: string,
  minAgeMs: number,
  dryRun: boolean,
): { removed: number; bytes: number } {
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { removed: 0, bytes: 0 };
    throw error;
  }
  const now = Date.now();
  let removed = 0;
  let bytes = 0;
  for (const name of names) {
    const path = join(folder, name);
    const stat = lstatSync(path);
    if (now - stat.mtimeMs < minAgeMs) continue;
    removed++;
    bytes += sizeOf(path, stat);
    if (!dryRun) removeAll(path);
  }
  return { removed, bytes };
}

function sizeOf(path: string, stat: Stats): number {
  if (!stat.isDirectory()) return stat.isFile() ? stat.size : 0;
  let total = 0;
  for (const name of readdirSync(path)) {
    const child = join(path, name);
    total += sizeOf(child, lstatSync(child));
  }
  return total;
}

/** Removes a tree, read-only folders included (a stage may write its outputs read-only). */
function removeAll(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch {
    const makeWritable = (at: string): void => {
      const stat = lstatSync(at);
      if (!stat.isDirectory()) return;
      chmodSync(at, stat.mode | 0o700);
      for (const name of readdirSync(at)) makeWritable(join(at, name));
    };
    makeWritable(path);
    rmSync(path, { recursive: true, force: true });
  }
}
