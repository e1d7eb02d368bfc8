// The things `metrics show|diff`, `params diff` and `plots show` compare: the
// workspace, a commit, an experiment (name or id), a release (id) or an
// environment (its live release). Each resolves to its params, its metrics
// and a way to read the files its stages wrote (for plots).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SluiceError } from '../errors';
import { shortId } from '../format';
import type { CachedOutput } from '../pipelines/outputs';
import { planWorkspace } from '../pipelines/plan';
import { numericLeaves, readValues } from '../pipelines/values';
import { parse } from 'yaml';
import type { Workspace } from '../workspace';
import { flattenParams, readCurrentParams } from '../pipelines/paramOverrides';
import { findExperiment, flattenMetrics, type Experiment } from './records';
import { baselineAtCommit, readTableSources, type TableSources } from './show';

export type RevisionKind = 'workspace' | 'commit' | 'experiment' | 'release' | 'environment';

export interface Revision {
  readonly kind: RevisionKind;
  /** How tables name it: `workspace`, `HEAD`, `exp-1a2b3c4d`, `production`, … */
  readonly label: string;
  /** The record it stands for, when there is one. */
  readonly id: string | null;
  readonly params: Readonly<Record<string, unknown>>;
  readonly metrics: Readonly<Record<string, number>>;
  /** A file a stage wrote, as this revision has it; undefined when it has none. */
  read(path: string): Promise<Buffer | undefined>;
}

function metricFiles(workspace: Workspace): string[] {
  const plan = planWorkspace(workspace.manifest);
  return [
    ...new Set([...plan.pipelines.values()].flatMap((p) => p.stages.flatMap((stage) => stage.metrics))),
  ];
}

function workspaceRevision(workspace: Workspace): Revision {
  const perFile: Record<string, Record<string, number>> = {};
  for (const file of metricFiles(workspace)) {
    const document = readValues(workspace.root, file);
    if (document !== undefined) perFile[file] = numericLeaves(document);
  }
  return {
    kind: 'workspace',
    label: 'workspace',
    id: null,
    params: readCurrentParams(workspace) ?? {},
    metrics: flattenMetrics(perFile),
    read: (path) => {
      try {
        return Promise.resolve(readFileSync(join(workspace.root, path)));
      } catch {
        return Promise.resolve(undefined);
      }
    },
  };
}

/** The blob of `path` among recorded outputs (a file out, or a file inside a folder out). */
export function outputBlob(outputs: readonly CachedOutput[], path: string): string | undefined {
  for (const output of outputs) {
    const inside =
      path === output.path
        ? ''
        : path.startsWith(`${output.path}/`)
          ? path.slice(output.path.length + 1)
          : undefined;
    if (inside === undefined) continue;
    const entry = output.entries.find((candidate) => candidate.path === inside);
    if (entry?.type === 'file') return entry.sha256;
  }
  return undefined;
}

function experimentRevision(
  workspace: Workspace,
  experiment: Experiment,
  kind: RevisionKind,
  label: string,
): Revision {
  return {
    kind,
    label,
    id: experiment.id,
    params: experiment.params,
    metrics: experiment.metrics,
    read: (path) => {
      const hash = outputBlob(experiment.outputs, path);
      return Promise.resolve(hash === undefined ? undefined : workspace.store.readVerified(hash));
    },
  };
}

async function commitRevision(
  workspace: Workspace,
  commit: string,
  label: string,
  experiments: readonly Experiment[],
): Promise<Revision> {
  // A run recorded at that commit knows its metrics and outputs; else what git has of the files.
  const recorded = baselineAtCommit(experiments, commit);
  if (recorded) return { ...experimentRevision(workspace, recorded, 'commit', label), id: recorded.id };
  const prefix = await workspace.git.prefix();
  const plan = planWorkspace(workspace.manifest);
  const readAt = async (path: string): Promise<Buffer | undefined> =>
    (await workspace.git.readObjects([`${commit}:${prefix}${path}`]))[0]?.content;
  const parseBytes = (bytes: Buffer | undefined): unknown => {
    if (bytes === undefined) return undefined;
    try {
      return parse(bytes.toString('utf8')) as unknown;
    } catch {
      return undefined;
    }
  };
  // The metrics files and the params file in one read.
  const files = metricFiles(workspace);
  const paths = plan.paramsFile === undefined ? files : [...files, plan.paramsFile];
  const contents = (await workspace.git.readObjects(paths.map((path) => `${commit}:${prefix}${path}`))).map(
    (object) => parseBytes(object?.content),
  );
  const perFile: Record<string, Record<string, number>> = {};
  files.forEach((file, index) => {
    const document = contents[index];
    if (document !== undefined) perFile[file] = numericLeaves(document);
  });
  return {
    kind: 'commit',
    label,
    id: null,
    params: plan.paramsFile === undefined ? {} : flattenParams(contents[files.length]),
    metrics: flattenMetrics(perFile),
    read: readAt,
  };
}

/** Resolves what a user typed: `workspace`, an environment, an experiment or release, or a commit. */
export async function resolveRevision(workspace: Workspace, text: string): Promise<Revision> {
  return (await resolveRevisions(workspace, [text]))[0]!;
}

/** Resolves several at once, reading the records once. */
export async function resolveRevisions(workspace: Workspace, texts: readonly string[]): Promise<Revision[]> {
  const needsRecords = texts.some((text) => text !== 'workspace');
  const sources = needsRecords ? await readTableSources(workspace) : undefined;
  const revisions: Revision[] = [];
  for (const text of texts) revisions.push(await resolveOne(workspace, text, sources));
  return revisions;
}

async function resolveOne(
  workspace: Workspace,
  text: string,
  sources: TableSources | undefined,
): Promise<Revision> {
  if (text === 'workspace' || sources === undefined) return workspaceRevision(workspace);
  const { experiments, live } = sources;
  if (workspace.manifest.environments.has(text)) {
    const release = live.get(text);
    const row =
      release === undefined ? undefined : experiments.find((experiment) => experiment.release === release);
    if (!row)
      throw new SluiceError(
        `Environment ${text} has no live release.`,
        'failed',
        'Stage one with `sluice stage`.',
        {
          code: 'not-found',
          data: { sought: 'release', id: text },
        },
      );
    return experimentRevision(workspace, row, 'environment', text);
  }
  const byRelease = /^[0-9a-f]{4,64}$/.test(text)
    ? experiments.filter((experiment) => experiment.release?.startsWith(text) === true)
    : [];
  if (byRelease.length > 0 && new Set(byRelease.map((row) => row.release)).size === 1)
    return experimentRevision(
      workspace,
      byRelease[0]!,
      'release',
      `release ${shortId(byRelease[0]!.release!)}`,
    );
  try {
    const experiment = findExperiment(experiments, text);
    return experimentRevision(workspace, experiment, 'experiment', experiment.name);
  } catch (error) {
    if (!(error instanceof SluiceError) || error.code !== 'not-found') throw error;
  }
  const commit = await workspace.git.resolveCommit(text);
  if (commit !== undefined) return commitRevision(workspace, commit, text, experiments);
  if (text === 'HEAD')
    throw new SluiceError(
      'There is no commit yet, so HEAD names nothing to compare with.',
      'usage',
      'Commit, or name both sides: `sluice metrics diff A B` with an experiment, a release or `workspace`.',
      { code: 'unknown-revision', data: { revision: text } },
    );
  throw new SluiceError(
    `'${text}' is not the workspace, an environment, an experiment, a release or a commit.`,
    'usage',
    'Run `sluice exp list` for experiments and `sluice envs` for environments.',
    { code: 'unknown-revision', data: { revision: text } },
  );
}

export interface ValueChange {
  readonly key: string;
  readonly a: unknown;
  readonly b: unknown;
}

export interface ValuesDiff {
  readonly what: 'metrics' | 'params';
  readonly a: { readonly label: string; readonly kind: RevisionKind; readonly id: string | null };
  readonly b: { readonly label: string; readonly kind: RevisionKind; readonly id: string | null };
  /** Keys whose values differ (or that one side lacks), sorted. */
  readonly changes: readonly ValueChange[];
}

/** What differs between two revisions' metrics or params. */
export function diffValues(what: 'metrics' | 'params', a: Revision, b: Revision): ValuesDiff {
  const left: Readonly<Record<string, unknown>> = what === 'metrics' ? a.metrics : a.params;
  const right: Readonly<Record<string, unknown>> = what === 'metrics' ? b.metrics : b.params;
  const changes: ValueChange[] = [];
  for (const key of [...new Set([...Object.keys(left), ...Object.keys(right)])].sort()) {
    if (JSON.stringify(left[key]) !== JSON.stringify(right[key]))
      changes.push({ key, a: left[key] ?? null, b: right[key] ?? null });
  }
  const side = (revision: Revision): ValuesDiff['a'] => ({
    label: revision.label,
    kind: revision.kind,
    id: revision.id,
  });
  return { what, a: side(a), b: side(b), changes };
}
