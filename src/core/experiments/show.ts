// The experiments table (`sluice exp show`, the Experiments view): every
// record as a row of params and metrics, each marked with the environments it
// is live in, with deltas against one baseline: the newest plain run at the
// checked-out commit (HEAD), or an environment's live release. Releases staged
// before experiments were recorded appear too, from their release records.
import { SluiceError } from '../errors';
import { environmentRef, parseDeployment } from '../environments/history';
import { parseRelease, releaseRecordName, RELEASE_REFS, type Release } from '../environments/releases';
import type { Workspace } from '../workspace';
import {
  EXPERIMENT_REFS,
  experimentRecordName,
  flattenMetrics,
  newestFirst,
  parseExperiments,
  type Experiment,
} from './records';
import type { ExperimentRow, ExperimentTable, QueuedExperiment } from './table';
import { readQueue } from './queueFile';

export interface ShowOptions {
  /** `HEAD` (default) or an environment's name. */
  readonly vs?: string | undefined;
  /** A metric (`FILE#key`) or param column to sort by, ascending; `-` in front for descending. */
  readonly sort?: string | undefined;
}

/** The newest record at `commit` that ran the params as they are (no overrides), else the newest at it. */
export function baselineAtCommit(experiments: readonly Experiment[], commit: string): Experiment | undefined {
  const atCommit = experiments.filter((experiment) => experiment.code.commit === commit);
  return (
    atCommit.find((experiment) => Object.keys(experiment.overrides).length === 0 && !experiment.code.dirty) ??
    atCommit[0]
  );
}

/** A row for a release that has no experiment record of its own (staged before records were kept). */
function releaseAsExperiment(release: Release): Experiment {
  return {
    id: release.id,
    format: 'sluice-experiment 1',
    name: `release-${release.id.slice(0, 8)}`,
    origin: 'release',
    time: release.time,
    actor: release.actor,
    code: { commit: release.code, dirty: false, changes: null },
    snapshots: release.snapshots,
    params: release.params,
    overrides: {},
    metrics: flattenMetrics(release.metrics),
    stages: [],
    signatures: {},
    outputs: release.outputs,
    release: release.id,
    from: null,
  };
}

/** What the table is made of, read with one ref listing and one `git cat-file --batch`. */
interface TableSources {
  /** Every record, plus releases without one, newest first. */
  readonly experiments: Experiment[];
  /** Environment → the release live there. */
  readonly live: Map<string, string>;
  /** The commit checked out (undefined: none yet). */
  readonly head: string | undefined;
}

async function readTableSources(workspace: Workspace): Promise<TableSources> {
  const refs = await workspace.git.listRefs('refs/sluice');
  const experimentIds: string[] = [];
  const releaseIds: string[] = [];
  for (const ref of refs.keys()) {
    if (ref.startsWith(EXPERIMENT_REFS)) experimentIds.push(ref.slice(EXPERIMENT_REFS.length));
    else if (ref.startsWith(RELEASE_REFS)) releaseIds.push(ref.slice(RELEASE_REFS.length));
  }
  const environments = [...workspace.manifest.environments.keys()].filter((name) =>
    refs.has(environmentRef(name)),
  );
  const objects = await workspace.git.readObjects([
    ...experimentIds.map((id) => experimentRecordName(id)),
    ...releaseIds.map((id) => releaseRecordName(id)),
    ...environments.map(environmentRef),
    'HEAD',
  ]);
  const contents = objects.map((object) => object?.content);
  // Ids are not re-derived here (fsck does): the table only shows what the refs name.
  const { experiments } = parseExperiments(experimentIds, contents.slice(0, experimentIds.length), {
    verify: false,
  });
  const recorded = new Set(experiments.map((experiment) => experiment.release).filter((id) => id !== null));
  const releases: Experiment[] = [];
  releaseIds.forEach((id, index) => {
    if (recorded.has(id)) return;
    try {
      releases.push(releaseAsExperiment(parseRelease(id, contents[experimentIds.length + index])));
    } catch {
      // A damaged release record is fsck's to report; the table shows the rest.
    }
  });
  const live = new Map<string, string>();
  environments.forEach((name, index) => {
    const commit = objects[experimentIds.length + releaseIds.length + index];
    if (commit?.type !== 'commit') return;
    const text = commit.content.toString('utf8');
    const blank = text.indexOf('\n\n');
    try {
      live.set(name, parseDeployment(name, commit.id, blank < 0 ? '' : text.slice(blank + 2)).release);
    } catch {
      // A damaged history marks nothing live; fsck names it.
    }
  });
  const head = objects.at(-1);
  return {
    experiments: newestFirst([...experiments, ...releases]),
    live,
    head: head?.type === 'commit' ? head.id : undefined,
  };
}

/** Every record, plus releases without one, newest first. */
export async function readExperimentRows(workspace: Workspace): Promise<Experiment[]> {
  return (await readTableSources(workspace)).experiments;
}

/** Environment → the release live there (environments with none left out). */
export async function liveReleases(workspace: Workspace): Promise<Map<string, string>> {
  return (await readTableSources(workspace)).live;
}

export async function showExperiments(
  workspace: Workspace,
  options: ShowOptions = {},
): Promise<ExperimentTable> {
  const { experiments, live, head } = await readTableSources(workspace);
  const vs = options.vs ?? 'HEAD';
  let baseline: Experiment | undefined;
  let kind: 'commit' | 'environment';
  if (vs === 'HEAD') {
    kind = 'commit';
    baseline = head === undefined ? undefined : baselineAtCommit(experiments, head);
  } else {
    kind = 'environment';
    if (!workspace.manifest.environments.has(vs))
      throw new SluiceError(
        `--vs ${vs}: no environment of that name.`,
        'usage',
        `Compare with HEAD or one of: ${[...workspace.manifest.environments.keys()].join(', ') || '(none declared)'}.`,
        { code: 'not-found', data: { sought: 'environment', id: vs } },
      );
    const release = live.get(vs);
    baseline =
      release === undefined ? undefined : experiments.find((experiment) => experiment.release === release);
  }
  const environmentsOf = new Map<string, string[]>();
  for (const [environment, release] of live) {
    environmentsOf.set(release, [...(environmentsOf.get(release) ?? []), environment]);
  }
  const params = new Set<string>();
  const metrics = new Set<string>();
  const rows = experiments.map((experiment): ExperimentRow => {
    for (const key of Object.keys(experiment.params)) params.add(key);
    for (const key of Object.keys(experiment.metrics)) metrics.add(key);
    return toRow(
      experiment,
      baseline,
      experiment.release === null ? [] : (environmentsOf.get(experiment.release) ?? []),
    );
  });
  const sorted = options.sort === undefined ? rows : sortRows(rows, options.sort, params, metrics);
  return {
    baseline: { kind, name: vs, id: baseline?.id ?? null },
    params: [...params].sort(),
    metrics: [...metrics].sort(),
    experiments: sorted,
    queue: readQueue(workspace),
  };
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  // Lists and mappings compare by content; scalars that are not === differ.
  return typeof a === 'object' && typeof b === 'object' && JSON.stringify(a) === JSON.stringify(b);
}

function toRow(
  experiment: Experiment,
  baseline: Experiment | undefined,
  environments: string[],
): ExperimentRow {
  const deltas: Record<string, number | null> = {};
  const changedParams: string[] = [];
  if (baseline) {
    for (const [key, value] of Object.entries(experiment.metrics)) {
      const base = baseline.metrics[key];
      deltas[key] = base === undefined ? null : value - base;
    }
    for (const key of new Set([...Object.keys(experiment.params), ...Object.keys(baseline.params)])) {
      if (!sameValue(experiment.params[key], baseline.params[key])) changedParams.push(key);
    }
  }
  return {
    id: experiment.id,
    name: experiment.name,
    origin: experiment.origin,
    time: experiment.time,
    actor: experiment.actor,
    commit: experiment.code.commit,
    dirty: experiment.code.dirty,
    release: experiment.release,
    environments,
    params: experiment.params,
    overrides: experiment.overrides,
    metrics: experiment.metrics,
    deltas,
    changedParams: changedParams.sort(),
    succeeded: experiment.stages.every((stage) => stage.result !== 'failed' && stage.result !== 'not-run'),
    stages: experiment.stages,
    from: experiment.from,
  };
}

/** Rows sorted by a column; rows without a value go last either way, ties keep their order (newest first). */
function sortRows(
  rows: readonly ExperimentRow[],
  sort: string,
  params: ReadonlySet<string>,
  metrics: ReadonlySet<string>,
): ExperimentRow[] {
  const descending = sort.startsWith('-');
  const key = descending ? sort.slice(1) : sort;
  const isMetric = metrics.has(key);
  if (!isMetric && !params.has(key) && key !== 'time' && key !== 'name') {
    throw new SluiceError(
      `--sort ${key}: no metric or param of that name.`,
      'usage',
      `Metrics: ${[...metrics].sort().slice(0, 8).join(', ') || '(none yet)'}.`,
      { code: 'not-found', data: { sought: 'column', id: key } },
    );
  }
  const valueOf = (row: ExperimentRow): unknown =>
    key === 'time' ? row.time : key === 'name' ? row.name : isMetric ? row.metrics[key] : row.params[key];
  const compare = (a: unknown, b: unknown): number => {
    if (typeof a === 'number' && typeof b === 'number') return a - b;
    return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
  };
  return rows
    .map((row, index) => ({ row, index, value: valueOf(row) }))
    .sort((a, b) => {
      const aMissing = a.value === undefined || a.value === null;
      const bMissing = b.value === undefined || b.value === null;
      if (aMissing || bMissing) return aMissing === bMissing ? a.index - b.index : aMissing ? 1 : -1;
      const order = compare(a.value, b.value);
      return (descending ? -order : order) || a.index - b.index;
    })
    .map(({ row }) => row);
}

export type { QueuedExperiment };
