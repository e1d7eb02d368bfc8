// What changes when one release replaces another: the code commits between
// them, the data changes of each dataset's snapshot, and the metric deltas.
// Read through the engine's git layer and snapshot comparison, formatted here
// for the comparison document and the confirmation before changing a final
// environment. No vscode import.
import type { Release } from '../../core/environments/releases';
import { compareSnapshots, listSnapshots, type SnapshotSummary } from '../../core/snapshots/snapshots';
import type { Workspace } from '../../core/workspace';
import { formatNumber, metricEntries, shortRelease } from './model';

/** Commits read from either side before the comparison gives up looking for the other end. */
const COMMITS_READ_LIMIT = 500;

export interface CodeChange {
  /** `forward`: `to` descends from `from`; `backward`: it is older (the commits are taken away). */
  readonly direction: 'same' | 'forward' | 'backward' | 'diverged';
  /** Newest first, as `git log FROM..TO --oneline` lists them (for `backward`, TO..FROM). */
  readonly commits: readonly { readonly id: string; readonly subject: string }[];
}

export interface DataChange {
  readonly dataset: string;
  readonly before: string | undefined;
  readonly after: string | undefined;
  /** Counts of changed paths; undefined when a snapshot record could not be found. */
  readonly added: number | undefined;
  readonly modified: number | undefined;
  readonly removed: number | undefined;
}

export interface MetricDelta {
  readonly name: string;
  readonly before: number | undefined;
  readonly after: number | undefined;
}

export interface ReleaseComparison {
  /** "staging", "production (live)" …: what each side is. */
  readonly fromLabel: string;
  readonly toLabel: string;
  readonly from: Release | undefined;
  readonly to: Release;
  readonly code: CodeChange;
  /** Only datasets whose snapshot differs. */
  readonly data: readonly DataChange[];
  /** Every metric of either side, changed or not. */
  readonly metrics: readonly MetricDelta[];
}

export async function compareReleases(
  workspace: Workspace,
  sides: { fromLabel: string; from: Release | undefined; toLabel: string; to: Release },
): Promise<ReleaseComparison> {
  const { from, to } = sides;
  return {
    ...sides,
    code: from === undefined ? { direction: 'forward', commits: [] } : await codeChange(workspace, from, to),
    data: await dataChanges(workspace, from, to),
    metrics: metricDeltas(from, to),
  };
}

/**
 * The commits between two code commits along first parents, as the engine's
 * git layer reads a history: those of `to` down to `from`, or, when `to` is
 * the older one (a rollback), those of `from` down to `to`.
 */
async function codeChange(workspace: Workspace, from: Release, to: Release): Promise<CodeChange> {
  if (from.code === to.code) return { direction: 'same', commits: [] };
  const forward = await commitsDownTo(workspace, to.code, from.code);
  if (forward !== undefined) return { direction: 'forward', commits: forward };
  const backward = await commitsDownTo(workspace, from.code, to.code);
  if (backward !== undefined) return { direction: 'backward', commits: backward };
  return { direction: 'diverged', commits: [] };
}

async function commitsDownTo(
  workspace: Workspace,
  tip: string,
  base: string,
): Promise<{ id: string; subject: string }[] | undefined> {
  const history = await workspace.git.history(tip, COMMITS_READ_LIMIT);
  const end = history.findIndex((commit) => commit.id === base);
  if (end < 0) return undefined;
  return history
    .slice(0, end)
    .map((commit) => ({ id: commit.id, subject: commit.message.split('\n', 1)[0] ?? '' }));
}

async function dataChanges(
  workspace: Workspace,
  from: Release | undefined,
  to: Release,
): Promise<DataChange[]> {
  const datasets = [...new Set([...Object.keys(from?.snapshots ?? {}), ...Object.keys(to.snapshots)])];
  const changes: DataChange[] = [];
  for (const dataset of datasets) {
    const before = from?.snapshots[dataset];
    const after = to.snapshots[dataset];
    if (before === after) continue;
    const snapshots = workspace.manifest.datasets.has(dataset) ? await listSnapshots(workspace, dataset) : [];
    const find = (id: string | undefined): SnapshotSummary | undefined =>
      snapshots.find((snapshot) => snapshot.id === id);
    const [beforeSummary, afterSummary] = [find(before), find(after)];
    let counts: Pick<DataChange, 'added' | 'modified' | 'removed'> = {
      added: undefined,
      modified: undefined,
      removed: undefined,
    };
    // Either side may be missing (a dataset added or removed between releases); the other must be known.
    const known = (before === undefined || beforeSummary) && (after === undefined || afterSummary);
    if (known && (beforeSummary ?? afterSummary)) {
      const changed = afterSummary
        ? await compareSnapshots(workspace, beforeSummary, afterSummary)
        : await compareSnapshots(workspace, afterSummary, beforeSummary!);
      counts = afterSummary
        ? { added: changed.added.length, modified: changed.modified.length, removed: changed.removed.length }
        : { added: 0, modified: 0, removed: changed.added.length };
    }
    changes.push({ dataset, before, after, ...counts });
  }
  return changes;
}

export function metricDeltas(from: Release | undefined, to: Release): MetricDelta[] {
  const before = new Map(from === undefined ? [] : metricEntries(from));
  const after = new Map(metricEntries(to));
  const names = [...new Set([...after.keys(), ...before.keys()])];
  return names.map((name) => ({ name, before: before.get(name), after: after.get(name) }));
}

function signed(value: number): string {
  return `${value > 0 ? '+' : ''}${formatNumber(value)}`;
}

function describeMetric(metric: MetricDelta): string {
  const { before, after } = metric;
  if (before === undefined) return `${metric.name}: ${formatNumber(after!)} (new)`;
  if (after === undefined) return `${metric.name}: ${formatNumber(before)} → (none)`;
  if (before === after) return `${metric.name}: ${formatNumber(after)} (unchanged)`;
  return `${metric.name}: ${formatNumber(before)} → ${formatNumber(after)} (${signed(after - before)})`;
}

function describeData(change: DataChange): string {
  const ids = `${change.before?.slice(0, 12) ?? '(none)'} → ${change.after?.slice(0, 12) ?? '(none)'}`;
  if (change.added === undefined) return `${change.dataset}: ${ids} (snapshot records not found)`;
  return `${change.dataset}: ${ids}: ${change.added} added, ${change.modified} modified, ${change.removed} removed`;
}

/** The lines of the three sections, shared by the document and the confirmation. */
function sections(comparison: ReleaseComparison, commitsListed: number): [string, string[]][] {
  const { code, from, to } = comparison;
  const codeLines: string[] = [];
  if (from === undefined)
    codeLines.push(`Nothing is live in ${comparison.fromLabel}: all of commit ${to.code.slice(0, 7)}.`);
  else if (code.direction === 'same') codeLines.push(`Same commit ${to.code.slice(0, 7)}.`);
  else if (code.direction === 'diverged')
    codeLines.push(
      `${from.code.slice(0, 7)} and ${to.code.slice(0, 7)} are on different branches (or more than ${COMMITS_READ_LIMIT} commits apart).`,
    );
  else {
    const count = code.commits.length;
    codeLines.push(
      `${from.code.slice(0, 7)} → ${to.code.slice(0, 7)}: ${count} ${count === 1 ? 'commit' : 'commits'} ${code.direction === 'forward' ? 'added' : 'taken away (going back)'}`,
    );
    for (const commit of code.commits.slice(0, commitsListed))
      codeLines.push(`  ${commit.id.slice(0, 7)} ${commit.subject}`);
    if (count > commitsListed) codeLines.push(`  … and ${count - commitsListed} more`);
  }
  const dataLines =
    comparison.data.length === 0 ? ['No dataset changed.'] : comparison.data.map(describeData);
  const metricLines =
    comparison.metrics.length === 0 ? ['No metrics.'] : comparison.metrics.map(describeMetric);
  return [
    ['Code', codeLines],
    ['Data', dataLines],
    ['Metrics', metricLines],
  ];
}

function sideName(label: string, release: Release | undefined): string {
  return release === undefined ? `${label} (nothing live)` : `${label} ${shortRelease(release.id)}`;
}

/** The comparison document's text (Markdown). */
export function formatComparison(comparison: ReleaseComparison): string {
  const title = `# ${sideName(comparison.fromLabel, comparison.from)} → ${sideName(comparison.toLabel, comparison.to)}`;
  const body = sections(comparison, Number.MAX_SAFE_INTEGER).flatMap(([heading, lines]) => [
    '',
    `## ${heading}`,
    '',
    ...lines.map((line) => (line.startsWith('  ') ? `    ${line.trimStart()}` : `- ${line}`)),
  ]);
  return [title, ...body, ''].join('\n');
}

/** A modal confirmation's detail: short, the commits cut at a few. */
export function summarizeComparison(comparison: ReleaseComparison): string {
  return sections(comparison, 5)
    .map(([heading, lines]) => [`${heading}:`, ...lines.map((line) => `  ${line}`)].join('\n'))
    .join('\n\n');
}
