// Snapshots: immutable records of a dataset's files, one commit chain per
// dataset under refs/sluice/datasets/. Write order: blobs, then the record,
// then the ref by compare-and-swap, so a crash leaves the old state or the new.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SluiceError } from '../errors';
import type { DatasetDecl } from '../manifest/model';
import type { Workspace } from '../workspace';
import { requireInside, scanDataset, type FileEntry, type ScanStats } from './scan';
import { StatCache } from './statCache';

export const DATASET_REFS = 'refs/sluice/datasets/';
const RECORD_FILE = 'snapshot.json';

export function datasetRef(name: string): string {
  return `${DATASET_REFS}${name}`;
}

export interface SnapshotRecord {
  readonly format: 1;
  readonly dataset: string;
  /** The dataset's path in the workspace when the snapshot was taken. */
  readonly path: string;
  readonly parent: string | null;
  readonly message: string;
  readonly author: string;
  readonly time: string;
  readonly files: readonly FileEntry[];
}

/** What `log` shows of a snapshot, read from its commit alone. */
export interface SnapshotSummary {
  readonly id: string;
  readonly parent: string | null;
  readonly message: string;
  readonly time: string;
  readonly author: string;
  readonly files: number;
  readonly bytes: number;
  /** The commit holding the record. */
  readonly commit: string;
}

export interface Snapshot extends SnapshotSummary {
  readonly record: SnapshotRecord;
}

export interface Changes {
  readonly added: string[];
  readonly modified: string[];
  readonly removed: string[];
}

/** Wall-clock time in ns (ms precision), never later than file times written after it. */
function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/** The snapshot id: a digest of the record's content. */
export function snapshotId(record: SnapshotRecord): string {
  return createHash('sha256').update(JSON.stringify(record)).digest('hex');
}

/** A digest of just the file list: equal lists mean nothing changed. */
function contentDigest(files: readonly FileEntry[]): string {
  return createHash('sha256').update(JSON.stringify(files)).digest('hex');
}

const TRAILERS = [
  'Sluice-Snapshot',
  'Sluice-Content',
  'Sluice-Files',
  'Sluice-Bytes',
  'Sluice-Time',
  'Sluice-Author',
];

function commitMessage(id: string, record: SnapshotRecord, content: string, bytes: number): string {
  const values = [
    id,
    content,
    record.files.filter((f) => f.type === 'file').length,
    bytes,
    record.time,
    record.author,
  ];
  return `${record.message}\n\n${TRAILERS.map((name, i) => `${name}: ${String(values[i])}`).join('\n')}`;
}

function parseSummary(commit: string, message: string): SnapshotSummary & { content: string } {
  const trailers = new Map<string, string>();
  const lines = message.split('\n');
  let bodyEnd = lines.length;
  for (let i = lines.length - 1; i >= 0; i--) {
    const match = /^(Sluice-[A-Za-z]+): (.*)$/.exec(lines[i]!);
    if (!match) break;
    trailers.set(match[1]!, match[2]!);
    bodyEnd = i;
  }
  const id = trailers.get('Sluice-Snapshot');
  if (!id)
    throw new SluiceError(
      `Commit ${commit} is not a Sluice snapshot record.`,
      'failed',
      'Run `sluice fsck`.',
    );
  return {
    id,
    parent: null,
    message: lines.slice(0, bodyEnd).join('\n').trim(),
    time: trailers.get('Sluice-Time') ?? '',
    author: trailers.get('Sluice-Author') ?? '',
    files: Number(trailers.get('Sluice-Files') ?? 0),
    bytes: Number(trailers.get('Sluice-Bytes') ?? 0),
    commit,
    content: trailers.get('Sluice-Content') ?? '',
  };
}

export function requireDataset(
  workspace: Workspace,
  name: string,
): DatasetDecl & { path: { value: string } } {
  const dataset = workspace.manifest.datasets.get(name);
  if (!dataset) {
    const known = [...workspace.manifest.datasets.keys()];
    throw new SluiceError(
      `Unknown dataset '${name}'.`,
      'usage',
      known.length > 0 ? `Datasets: ${known.join(', ')}.` : 'Declare one under `datasets:` in sluice.yaml.',
    );
  }
  if (!dataset.path) throw new SluiceError(`Dataset '${name}' has no path.`, 'manifest');
  return dataset as DatasetDecl & { path: { value: string } };
}

function statCacheFor(workspace: Workspace, name: string): StatCache {
  return StatCache.load(join(workspace.sluiceDir, 'state', 'stat', name));
}

/** Newest first. */
export async function listSnapshots(
  workspace: Workspace,
  name: string,
  limit?: number,
): Promise<SnapshotSummary[]> {
  requireDataset(workspace, name);
  const commits = await workspace.git.history(datasetRef(name), limit);
  const summaries = commits.map((commit) => parseSummary(commit.id, commit.message));
  return summaries.map(({ content: _content, ...summary }, index) => ({
    ...summary,
    parent: summaries[index + 1]?.id ?? null,
  }));
}

async function readRecord(workspace: Workspace, commit: string): Promise<SnapshotRecord> {
  const [record] = await readRecords(workspace, [commit]);
  return record!;
}

/** Several records in as few git calls as possible. */
export async function readRecords(
  workspace: Workspace,
  commits: readonly string[],
): Promise<SnapshotRecord[]> {
  const records: SnapshotRecord[] = [];
  for (let i = 0; i < commits.length; i += 200) {
    const paths = commits.slice(i, i + 200).map((commit) => `${commit}:${RECORD_FILE}`);
    const text = await workspace.git.readBlobs(paths);
    for (const line of text.split('\n'))
      if (line.trim() !== '') records.push(JSON.parse(line) as SnapshotRecord);
  }
  return records;
}

/** The snapshot `idOrPrefix` of a dataset (a unique prefix of at least 4 characters will do). */
export async function readSnapshot(
  workspace: Workspace,
  name: string,
  idOrPrefix: string,
): Promise<Snapshot> {
  const all = await listSnapshots(workspace, name);
  if (idOrPrefix === 'latest') {
    const latest = all[0];
    if (!latest) throw noSnapshots(name);
    return { ...latest, record: await readRecord(workspace, latest.commit) };
  }
  if (!/^[0-9a-f]{4,64}$/.test(idOrPrefix)) {
    throw new SluiceError(
      `'${idOrPrefix}' is not a snapshot id.`,
      'usage',
      `Run \`sluice log ${name}\` for the ids.`,
    );
  }
  const matches = all.filter((summary) => summary.id.startsWith(idOrPrefix));
  if (matches.length === 0) {
    throw new SluiceError(
      `Dataset '${name}' has no snapshot ${idOrPrefix}.`,
      'usage',
      `Run \`sluice log ${name}\` for the ids.`,
    );
  }
  if (matches.length > 1) {
    throw new SluiceError(
      `Snapshot id ${idOrPrefix} is ambiguous in '${name}'.`,
      'usage',
      'Give more characters.',
    );
  }
  const summary = matches[0]!;
  return { ...summary, record: await readRecord(workspace, summary.commit) };
}

function noSnapshots(name: string): SluiceError {
  return new SluiceError(
    `Dataset '${name}' has no snapshot yet.`,
    'failed',
    `Run \`sluice snapshot ${name}\` first.`,
  );
}

export function compareFiles(from: readonly FileEntry[], to: readonly FileEntry[]): Changes {
  const before = new Map(from.map((entry) => [entry.path, entry]));
  const changes: Changes = { added: [], modified: [], removed: [] };
  const seen = new Set<string>();
  for (const entry of to) {
    seen.add(entry.path);
    const old = before.get(entry.path);
    if (!old) changes.added.push(entry.path);
    else if (JSON.stringify(old) !== JSON.stringify(entry)) changes.modified.push(entry.path);
  }
  for (const entry of from) if (!seen.has(entry.path)) changes.removed.push(entry.path);
  return changes;
}

export interface SnapshotResult extends Changes {
  readonly dataset: string;
  /** Undefined when nothing changed since the latest snapshot (none was recorded). */
  readonly id: string | undefined;
  readonly parent: string | null;
  readonly files: number;
  readonly bytes: number;
  readonly scan: ScanStats;
}

/** Records a snapshot of one dataset, if it changed. Retries when another writer got there first. */
export async function snapshotDataset(
  workspace: Workspace,
  name: string,
  message: string,
): Promise<SnapshotResult> {
  const dataset = requireDataset(workspace, name);
  const absolute = requireInside(workspace.root, dataset.path.value, `Dataset '${name}'`);
  if (!existsSync(absolute)) {
    throw new SluiceError(
      `Dataset '${name}' has nothing at ${dataset.path.value}: the path does not exist.`,
      'failed',
      `Put the data there, fix the path in sluice.yaml, or restore a snapshot (sluice log ${name}).`,
    );
  }
  const cache = statCacheFor(workspace, name);
  const scanStartNs = nowNs();
  const { entries, stats } = await scanDataset(absolute, cache, workspace.store);
  const content = contentDigest(entries);
  const ref = datasetRef(name);
  const author = await workspace.git.actor();
  for (let attempt = 0; ; attempt++) {
    const head = await workspace.git.resolveRef(ref);
    const latest = head ? (await workspace.git.history(ref, 1))[0] : undefined;
    const latestSummary = latest ? parseSummary(latest.id, latest.message) : undefined;
    if (latestSummary?.content === content) {
      cache.save(scanStartNs);
      return {
        dataset: name,
        id: undefined,
        parent: latestSummary.id,
        files: stats.files,
        bytes: stats.bytes,
        scan: stats,
        added: [],
        modified: [],
        removed: [],
      };
    }
    const previous = head ? await readRecord(workspace, head) : undefined;
    restoreMissingBlobs(workspace, absolute, entries, previous);
    const record: SnapshotRecord = {
      format: 1,
      dataset: name,
      path: dataset.path.value,
      parent: latestSummary?.id ?? null,
      message: message || `Snapshot of ${name}`,
      author,
      time: new Date().toISOString(),
      files: entries,
    };
    const id = snapshotId(record);
    // One line per record, so several can be read back in one `git show`.
    const blob = await workspace.git.writeBlob(`${JSON.stringify(record)}\n`);
    const tree = await workspace.git.writeTree(new Map([[RECORD_FILE, blob]]));
    const commit = await workspace.git.commit(tree, head, commitMessage(id, record, content, stats.bytes));
    try {
      await workspace.git.compareAndSwap(ref, commit, head, `Dataset '${name}'`);
    } catch (error) {
      // Another process recorded a snapshot meanwhile: ours goes on top of it.
      if (error instanceof SluiceError && error.kind === 'conflict' && attempt < 20) continue;
      throw error;
    }
    cache.save(scanStartNs);
    return {
      dataset: name,
      id,
      parent: record.parent,
      files: stats.files,
      bytes: stats.bytes,
      scan: stats,
      ...compareFiles(previous?.files ?? [], entries),
    };
  }
}

/**
 * The stat cache says which hash a file has, not that the store still holds
 * the bytes (a blob may have been lost since). Before a record refers to a
 * blob its parent did not, the blob must exist: read the file into the store
 * again if it does not.
 */
function restoreMissingBlobs(
  workspace: Workspace,
  absolute: string,
  entries: readonly FileEntry[],
  previous: SnapshotRecord | undefined,
): void {
  const before = new Set(previous?.files.flatMap((entry) => (entry.type === 'file' ? [entry.sha256] : [])));
  for (const entry of entries) {
    if (entry.type !== 'file' || before.has(entry.sha256) || workspace.store.has(entry.sha256)) continue;
    const path = entry.path === '' ? absolute : join(absolute, entry.path);
    const stored = workspace.store.importFile(path);
    if (stored.hash !== entry.sha256) {
      throw new SluiceError(
        `${path} changed while it was being read.`,
        'failed',
        'Let whatever writes it finish, then snapshot again.',
      );
    }
  }
}

/** Reads the dataset as it is on disk now (hashing only what changed). */
export async function readDisk(workspace: Workspace, name: string): Promise<FileEntry[]> {
  const dataset = requireDataset(workspace, name);
  const absolute = requireInside(workspace.root, dataset.path.value, `Dataset '${name}'`);
  const cache = statCacheFor(workspace, name);
  const scanStartNs = nowNs();
  const { entries } = await scanDataset(absolute, cache, undefined);
  cache.save(scanStartNs);
  return entries;
}

/** Changes from snapshot FROM (default: the latest) to TO (default: the disk). */
export async function diffDataset(
  workspace: Workspace,
  name: string,
  from: string | undefined,
  to: string | undefined,
): Promise<Changes & { from: string; to: string }> {
  const source = await readSnapshot(workspace, name, from ?? 'latest');
  if (to === undefined) {
    return {
      ...compareFiles(source.record.files, await readDisk(workspace, name)),
      from: source.id,
      to: 'disk',
    };
  }
  const target = await readSnapshot(workspace, name, to);
  return { ...compareFiles(source.record.files, target.record.files), from: source.id, to: target.id };
}
