// What changes when one release replaces another: the code commits between
// them, each dataset's snapshot (counted, and judged by content), the params,
// the metric deltas and the outputs. Computed here once, for the CLI's promote
// and rollback and for the editor's confirmation and comparison document; the
// faces only lay out the lines of `describeComparison`.
import { SluiceError } from '../errors';
import { formatNumber, formatSigned, plural, shortId } from '../format';
import { compareSnapshots, listSnapshots, type SnapshotSummary } from '../snapshots/snapshots';
import type { Workspace } from '../workspace';
import { readHead } from './history';
import { releaseLayout } from './materialize';
import { readRelease, type Release } from './releases';

/** Commits read from either side before the comparison gives up looking for the other end. */
export const COMMITS_READ_LIMIT = 500;

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
  /**
   * True when both snapshots hold the same bytes (a re-snapshot: the ids differ
   * because a snapshot id digests its message and time too).
   */
  readonly sameContent: boolean;
}

export interface ParamChange {
  /** Dotted key, as a stage reads it. */
  readonly name: string;
  readonly before: unknown;
  readonly after: unknown;
}

export interface MetricDelta {
  /** `metrics.json#accuracy`. */
  readonly name: string;
  readonly before: number | undefined;
  readonly after: number | undefined;
}

export interface ReleaseComparison {
  /** "production", "staging", "rollback" …: what each side is. */
  readonly fromLabel: string;
  readonly toLabel: string;
  /** Undefined when nothing is live on that side. */
  readonly from: Release | undefined;
  readonly to: Release;
  readonly code: CodeChange;
  /** Only datasets whose snapshot id differs. */
  readonly data: readonly DataChange[];
  /** Only params whose value differs (or that one side lacks). */
  readonly params: readonly ParamChange[];
  /** Every metric of either side, changed or not. */
  readonly metrics: readonly MetricDelta[];
  /** True when the stage outputs differ (always, when nothing is live on the `from` side). */
  readonly outputs: boolean;
  /** Same code, same data content, same outputs: `to` is what `from` has. */
  readonly unchanged: boolean;
}

export interface ComparisonSides {
  readonly fromLabel: string;
  readonly from: Release | undefined;
  readonly toLabel: string;
  readonly to: Release;
}

export async function compareReleases(
  workspace: Workspace,
  sides: ComparisonSides,
): Promise<ReleaseComparison> {
  const { from, to } = sides;
  const code: CodeChange =
    from === undefined ? { direction: 'forward', commits: [] } : await codeChange(workspace, from, to);
  const data = await dataChanges(workspace, from, to);
  const outputs = from === undefined || !sameOutputs(from, to);
  return {
    fromLabel: sides.fromLabel,
    toLabel: sides.toLabel,
    from,
    to,
    code,
    data,
    params: paramChanges(from, to),
    metrics: metricDeltas(from, to),
    outputs,
    unchanged:
      from !== undefined &&
      code.direction === 'same' &&
      data.every((change) => change.sameContent) &&
      !outputs,
  };
}

/**
 * The live releases of two environments, the newer side being the one that
 * has a release: what is live in `toName` against what is live in `fromName`
 * (or, when only `fromName` has one, that one against nothing).
 */
export async function compareLiveReleases(
  workspace: Workspace,
  fromName: string,
  toName: string,
): Promise<ReleaseComparison> {
  const live = async (name: string): Promise<Release | undefined> => {
    const head = await readHead(workspace.git, name);
    return head === undefined ? undefined : readRelease(workspace.git, head.release);
  };
  const [from, to] = await Promise.all([live(fromName), live(toName)]);
  if (to !== undefined) return compareReleases(workspace, { fromLabel: fromName, from, toLabel: toName, to });
  if (from !== undefined)
    return compareReleases(workspace, { fromLabel: toName, from: undefined, toLabel: fromName, to: from });
  throw new SluiceError(
    `Nothing is live in ${fromName} or ${toName}: there is nothing to compare.`,
    'failed',
    undefined,
    { code: 'nothing-live', data: { environments: [fromName, toName] } },
  );
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
  let history;
  try {
    history = await workspace.git.history(tip, COMMITS_READ_LIMIT);
  } catch {
    return undefined; // a commit no longer in the repository: the sides are shown as diverged
  }
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
  const datasets = [...new Set([...Object.keys(to.snapshots), ...Object.keys(from?.snapshots ?? {})])];
  const changes: DataChange[] = [];
  for (const dataset of datasets) {
    const before = from?.snapshots[dataset];
    const after = to.snapshots[dataset];
    if (before === after) continue;
    const snapshots = workspace.manifest.datasets.has(dataset) ? await listSnapshots(workspace, dataset) : [];
    const find = (id: string | undefined): SnapshotSummary | undefined =>
      id === undefined ? undefined : snapshots.find((snapshot) => snapshot.id === id);
    const [beforeSummary, afterSummary] = [find(before), find(after)];
    // Snapshot ids digest the header (message, time, parent) too: the content digest decides.
    const sameContent =
      beforeSummary !== undefined &&
      afterSummary !== undefined &&
      beforeSummary.content !== '' &&
      beforeSummary.content === afterSummary.content;
    let counts: Pick<DataChange, 'added' | 'modified' | 'removed'> = {
      added: undefined,
      modified: undefined,
      removed: undefined,
    };
    // Either side may be missing (a dataset added or removed between releases); the other must be known.
    const known =
      (before === undefined || beforeSummary !== undefined) &&
      (after === undefined || afterSummary !== undefined);
    if (known && afterSummary !== undefined) {
      const changed = await compareSnapshots(workspace, beforeSummary, afterSummary);
      counts = {
        added: changed.added.length,
        modified: changed.modified.length,
        removed: changed.removed.length,
      };
    } else if (known && beforeSummary !== undefined) {
      const gone = await compareSnapshots(workspace, undefined, beforeSummary);
      counts = { added: 0, modified: 0, removed: gone.added.length };
    }
    changes.push({ dataset, before, after, ...counts, sameContent });
  }
  return changes;
}

function sameOutputs(a: Release, b: Release): boolean {
  try {
    return JSON.stringify(releaseLayout(a.id, a.outputs)) === JSON.stringify(releaseLayout(b.id, b.outputs));
  } catch {
    return false;
  }
}

function paramChanges(from: Release | undefined, to: Release): ParamChange[] {
  const before = from?.params ?? {};
  const names = [...new Set([...Object.keys(to.params), ...Object.keys(before)])];
  return names
    .filter((name) => JSON.stringify(before[name]) !== JSON.stringify(to.params[name]))
    .map((name) => ({ name, before: before[name], after: to.params[name] }));
}

/** `metrics.json#accuracy` → value, in file then key order. */
export function metricEntries(release: Release): [string, number][] {
  return Object.entries(release.metrics).flatMap(([file, values]) =>
    Object.entries(values).map(([key, value]): [string, number] => [`${file}#${key}`, value]),
  );
}

export function metricDeltas(from: Release | undefined, to: Release): MetricDelta[] {
  const before = new Map(from === undefined ? [] : metricEntries(from));
  const after = new Map(metricEntries(to));
  const names = [...new Set([...after.keys(), ...before.keys()])];
  return names.map((name) => ({ name, before: before.get(name), after: after.get(name) }));
}

/** One line of a section; `nested` lines belong to the line above (a commit under its count). */
export interface ComparisonLine {
  readonly text: string;
  readonly nested: boolean;
}

export interface ComparisonSection {
  readonly heading: 'Code' | 'Data' | 'Params' | 'Metrics';
  readonly lines: readonly ComparisonLine[];
}

/** How a side is named: `production 1a2b3c4d5e6f`, or `production (nothing live)`. */
export function sideName(label: string, release: Release | undefined): string {
  return release === undefined ? `${label} (nothing live)` : `${label} ${shortId(release.id)}`;
}

/**
 * The comparison in words, section by section, with at most `commitsListed`
 * commits named: the same words in the terminal, the confirmation and the
 * comparison document.
 */
export function describeComparison(
  comparison: ReleaseComparison,
  commitsListed = Number.MAX_SAFE_INTEGER,
): ComparisonSection[] {
  const line = (text: string, nested = false): ComparisonLine => ({ text, nested });
  const { code, from, to } = comparison;
  const codeLines: ComparisonLine[] = [];
  if (from === undefined)
    codeLines.push(line(`Nothing is live in ${comparison.fromLabel}: all of commit ${shortId(to.code)}.`));
  else if (code.direction === 'same') codeLines.push(line(`Same commit ${shortId(to.code)}.`));
  else if (code.direction === 'diverged')
    codeLines.push(
      line(
        `${shortId(from.code)} and ${shortId(to.code)} are on different branches (or more than ${COMMITS_READ_LIMIT} commits apart).`,
      ),
    );
  else {
    const count = code.commits.length;
    codeLines.push(
      line(
        `${shortId(from.code)} → ${shortId(to.code)}: ${plural(count, 'commit')} ${code.direction === 'forward' ? 'added' : 'taken away (going back)'}`,
      ),
    );
    for (const commit of code.commits.slice(0, commitsListed))
      codeLines.push(line(`${shortId(commit.id)} ${commit.subject}`, true));
    if (count > commitsListed) codeLines.push(line(`… and ${count - commitsListed} more`, true));
  }
  const dataLines =
    comparison.data.length === 0
      ? [line('No dataset changed.')]
      : comparison.data.map((change) => line(describeData(change)));
  if (
    from !== undefined &&
    comparison.outputs &&
    code.direction === 'same' &&
    comparison.data.every((c) => c.sameContent)
  )
    dataLines.push(line('The stage outputs differ.'));
  const paramLines =
    comparison.params.length === 0
      ? [line('No param changed.')]
      : comparison.params.map((param) =>
          line(`${param.name}: ${shownValue(param.before)} → ${shownValue(param.after)}`),
        );
  const metricLines =
    comparison.metrics.length === 0
      ? [line('No metrics.')]
      : comparison.metrics.map((metric) => line(describeMetric(metric)));
  return [
    { heading: 'Code', lines: codeLines },
    { heading: 'Data', lines: dataLines },
    { heading: 'Params', lines: paramLines },
    { heading: 'Metrics', lines: metricLines },
  ];
}

/**
 * The comparison in one line, when one line says it all: nothing live on the
 * `from` side, or a release that is what is live already by content.
 */
export function comparisonVerdict(comparison: ReleaseComparison): string | undefined {
  if (comparison.from === undefined) return `nothing is live in ${comparison.fromLabel} yet`;
  if (comparison.unchanged)
    return `nothing changed: the candidate is what ${comparison.fromLabel} has (same code, data and outputs)`;
  return undefined;
}

function shownValue(value: unknown): string {
  return value === undefined ? '(none)' : JSON.stringify(value);
}

function describeMetric(metric: MetricDelta): string {
  const { before, after } = metric;
  if (after === undefined)
    return `${metric.name}: ${before === undefined ? '(none)' : formatNumber(before)} → (none)`;
  if (before === undefined) return `${metric.name}: ${formatNumber(after)} (new)`;
  if (before === after) return `${metric.name}: ${formatNumber(after)} (unchanged)`;
  return `${metric.name}: ${formatNumber(before)} → ${formatNumber(after)} (${formatSigned(after - before)})`;
}

function describeData(change: DataChange): string {
  const ids = `${change.before === undefined ? '(none)' : shortId(change.before)} → ${change.after === undefined ? '(none)' : shortId(change.after)}`;
  if (change.sameContent)
    return `${change.dataset}: ${ids}: the same content (a new snapshot of the same files)`;
  if (change.added === undefined) return `${change.dataset}: ${ids} (snapshot records not found)`;
  return `${change.dataset}: ${ids}: ${change.added} added, ${change.modified} modified, ${change.removed} removed`;
}

/** The --json shape of a comparison: ids in full, the releases by id only. */
/** The comparison as `promote --json` and `rollback --json` print it (schema: promote.json#/$defs/comparison). */
export interface ComparisonJson {
  readonly from: { readonly label: string; readonly release: string | null; readonly code: string | null };
  readonly to: { readonly label: string; readonly release: string; readonly code: string };
  readonly code: CodeChange;
  readonly data: readonly {
    readonly dataset: string;
    readonly before: string | null;
    readonly after: string | null;
    readonly added: number | null;
    readonly modified: number | null;
    readonly removed: number | null;
    readonly sameContent: boolean;
  }[];
  readonly params: readonly { readonly name: string; readonly before: unknown; readonly after: unknown }[];
  readonly metrics: readonly {
    readonly name: string;
    readonly before: number | null;
    readonly after: number | null;
  }[];
  readonly outputs: boolean;
  readonly unchanged: boolean;
}

export function comparisonJson(comparison: ReleaseComparison): ComparisonJson {
  return {
    from: {
      label: comparison.fromLabel,
      release: comparison.from?.id ?? null,
      code: comparison.from?.code ?? null,
    },
    to: { label: comparison.toLabel, release: comparison.to.id, code: comparison.to.code },
    code: comparison.code,
    data: comparison.data.map((change) => ({
      dataset: change.dataset,
      before: change.before ?? null,
      after: change.after ?? null,
      added: change.added ?? null,
      modified: change.modified ?? null,
      removed: change.removed ?? null,
      sameContent: change.sameContent,
    })),
    params: comparison.params.map((param) => ({
      name: param.name,
      before: param.before ?? null,
      after: param.after ?? null,
    })),
    metrics: comparison.metrics.map((metric) => ({
      name: metric.name,
      before: metric.before ?? null,
      after: metric.after ?? null,
    })),
    outputs: comparison.outputs,
    unchanged: comparison.unchanged,
  };
}
