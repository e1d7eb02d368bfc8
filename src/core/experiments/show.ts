// The experiments table (`sluice exp show`, the Experiments view): every
// record as a row of params and metrics, each marked with the environments it
// is live in, with deltas against one baseline: the newest plain run at the
// checked-out commit (HEAD), or an environment's live release. Releases staged
// before experiments were recorded appear too, from their release records.
import { SluiceError } from '../errors';
import { environmentRef, parseDeployment } from '../environments/history';
import { parseRelease, RELEASE_FILE, RELEASE_REFS, type Release } from '../environments/releases';
import type { Workspace } from '../workspace';
import {
  EXPERIMENT_FILE,
  EXPERIMENT_REFS,
  flattenMetrics,
  newestFirst,
  parseExperiments,
  type Experiment,
} from './records';
import type { ExperimentRow, ExperimentTable, QueuedExperiment } from './table';
import { readQueue } from './queueFile';
import { RecordCache } from './recordCache';

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
export interface TableSources {
  /** Every record, plus releases without one, newest first. */
  readonly experiments: Experiment[];
  /** Environment → the release live there. */
  readonly live: Map<string, string>;
  /** The commit checked out (undefined: none yet). */
  readonly head: string | undefined;
}

export async function readTableSources(workspace: Workspace): Promise<TableSources> {
  const environmentNames = [...workspace.manifest.environments.keys()];
  // Both at once: what the environments and HEAD name does not depend on the listing.
  const [refs, fixed] = await Promise.all([
    workspace.git.listRefs('refs/sluice'),
    workspace.git.readObjects([...environmentNames.map(environmentRef), 'HEAD']),
  ]);
  const cache = RecordCache.read(workspace.sluiceDir);
  // Records the cache does not hold yet, read from git by the commit their ref names.
  const unreadExperiments: { id: string; commit: string }[] = [];
  const unreadReleases: { id: string; commit: string }[] = [];
  for (const [ref, commit] of refs) {
    if (ref.startsWith(EXPERIMENT_REFS) && !cache.experiment(commit))
      unreadExperiments.push({ id: ref.slice(EXPERIMENT_REFS.length), commit });
    else if (ref.startsWith(RELEASE_REFS) && !cache.release(commit))
      unreadReleases.push({ id: ref.slice(RELEASE_REFS.length), commit });
  }
  if (unreadExperiments.length + unreadReleases.length > 0) {
    const contents = (
      await workspace.git.readObjects([
        ...unreadExperiments.map(({ commit }) => `${commit}:${EXPERIMENT_FILE}`),
        ...unreadReleases.map(({ commit }) => `${commit}:${RELEASE_FILE}`),
      ])
    ).map((object) => object?.content);
    // Ids are not re-derived here (fsck does): the table only shows what the refs name.
    const parsed = parseExperiments(
      unreadExperiments.map(({ id }) => id),
      contents.slice(0, unreadExperiments.length),
      { verify: false },
    ).experiments;
    const commitOf = new Map(unreadExperiments.map(({ id, commit }) => [id, commit]));
    for (const experiment of parsed) cache.addExperiment(commitOf.get(experiment.id)!, experiment);
    unreadReleases.forEach(({ id, commit }, index) => {
      try {
        cache.addRelease(commit, parseRelease(id, contents[unreadExperiments.length + index]));
      } catch {
        // A damaged release record is fsck's to report; the table shows the rest.
      }
    });
  }
  cache.save(new Set(refs.values()));
  // In the listing's order (by ref name), whichever way each record was read: ties sort the same every time.
  const experiments: Experiment[] = [];
  const releases: Release[] = [];
  // A record's id is the name of its ref, as a read from git gives it (two refs may name one commit).
  for (const [ref, commit] of refs) {
    if (ref.startsWith(EXPERIMENT_REFS)) {
      const experiment = cache.experiment(commit);
      if (experiment) experiments.push({ ...experiment, id: ref.slice(EXPERIMENT_REFS.length) });
    } else if (ref.startsWith(RELEASE_REFS)) {
      const release = cache.release(commit);
      if (release) releases.push({ ...release, id: ref.slice(RELEASE_REFS.length) });
    }
  }
  const recorded = new Set(experiments.map((experiment) => experiment.release).filter((id) => id !== null));
  const unrecordedReleases = releases.filter((release) => !recorded.has(release.id)).map(releaseAsExperiment);
  const live = new Map<string, string>();
  environmentNames.forEach((name, index) => {
    const commit = fixed[index];
    if (commit?.type !== 'commit') return;
    const text = commit.content.toString('utf8');
    const blank = text.indexOf('\n\n');
    try {
      live.set(name, parseDeployment(name, commit.id, blank < 0 ? '' : text.slice(blank + 2)).release);
    } catch {
      // A damaged history marks nothing live; fsck names it.
    }
  });
  const head = fixed.at(-1);
  return {
    experiments: newestFirst([...experiments, ...unrecordedReleases]),
    live,
    head: head?.type === 'commit' ? head.id : undefined,
  };
}

export async function readExperimentRows(workspace: Workspace): Promise<Experiment[]> {
  return (await readTableSources(workspace)).experiments;
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
