// Experiment records: one immutable record per pipeline run (a `sluice run`,
// each `sluice exp run` combination, each staged release). A record is a JSON
// blob in a root commit under refs/sluice/experiments/<id>, its id the digest
// of its content, so remotes carry records like snapshots and releases, and
// the whole list is read with one ref listing and one `git cat-file --batch`.
import { createHash } from 'node:crypto';
import { ambiguousId, notFound, SluiceError } from '../errors';
import { shortId } from '../format';
import { writeImmutableRecord } from '../git/immutableRecord';
import type { GitRepository } from '../git/repository';
import type { CachedOutput } from '../pipelines/outputs';
import type { ExperimentOrigin, ExperimentStage } from './table';

export const EXPERIMENT_REFS = 'refs/sluice/experiments/';
/** The record's file in its commit's tree. */
export const EXPERIMENT_FILE = 'experiment.json';
const FORMAT = 'sluice-experiment 1';

export interface ExperimentContent {
  readonly format: typeof FORMAT;
  readonly name: string;
  readonly origin: ExperimentOrigin;
  /** When the run finished (ISO). */
  readonly time: string;
  readonly actor: string;
  readonly code: {
    /** The commit checked out (null: a repository without commits). */
    readonly commit: string | null;
    /** Uncommitted changes to the code when it ran (workspace runs). */
    readonly dirty: boolean;
    /** A digest of those changes (`git diff HEAD` and the untracked names), so two dirty runs can be told apart. */
    readonly changes: string | null;
  };
  /** Dataset → its latest snapshot id when the run started (null: none yet). */
  readonly snapshots: Readonly<Record<string, string | null>>;
  /** Every param of the params file, dotted key → value, overrides applied. */
  readonly params: Readonly<Record<string, unknown>>;
  readonly overrides: Readonly<Record<string, unknown>>;
  /** `FILE#dotted.key` → number. */
  readonly metrics: Readonly<Record<string, number>>;
  readonly stages: readonly ExperimentStage[];
  /** Stage id → the signature its outputs have, for `exp apply` from the run cache. */
  readonly signatures: Readonly<Record<string, string>>;
  /**
   * The stages' outputs as blobs in the object store: what plots and push
   * read. A record does not keep them from gc: they live as long as the run
   * cache keeps their run (`gc --keep-runs`), and a record whose outputs were
   * collected still has its params and metrics.
   */
  readonly outputs: readonly CachedOutput[];
  /** For origin `release`: the release recorded. */
  readonly release: string | null;
  /** The record this run varied, when it was queued from one. */
  readonly from: string | null;
}

export interface Experiment extends ExperimentContent {
  readonly id: string;
}

export function experimentId(content: ExperimentContent): string {
  return createHash('sha256').update(JSON.stringify(content)).digest('hex');
}

/** The record's bytes as written (its id is the digest of the content, not of these bytes). */
export function experimentText(content: ExperimentContent): string {
  return `${JSON.stringify(content)}\n`;
}

export function experimentRef(id: string): string {
  return `${EXPERIMENT_REFS}${id}`;
}

/** `exp-1a2b3c4d` for a record that was given no name. */
export function defaultExperimentName(overrides: Readonly<Record<string, unknown>>): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([overrides, Date.now(), process.pid, Math.random()]))
    .digest('hex');
  return `exp-${digest.slice(0, 8)}`;
}

export async function writeExperiment(git: GitRepository, content: ExperimentContent): Promise<Experiment> {
  const id = experimentId(content);
  await writeImmutableRecord(git, {
    ref: experimentRef(id),
    file: EXPERIMENT_FILE,
    text: experimentText(content),
    message: `experiment ${content.name}\n\nSluice-Experiment: ${id}`,
    what: `Experiment ${content.name}`,
  });
  return { id, ...content };
}

/** Every experiment id recorded. */
export async function listExperimentIds(git: GitRepository): Promise<string[]> {
  const refs = await git.listRefs(EXPERIMENT_REFS.replace(/\/$/, ''));
  return [...refs.keys()].map((ref) => ref.slice(EXPERIMENT_REFS.length));
}

/**
 * Reads records by full id in one git call. A record that is missing or not
 * ours is left out and named in `damaged` (fsck reports them), so one bad ref
 * never hides the rest of the table.
 */
export async function readExperiments(
  git: GitRepository,
  ids: readonly string[],
  refsPrefix = EXPERIMENT_REFS,
): Promise<{ experiments: Experiment[]; damaged: string[] }> {
  const objects = await git.readObjects(ids.map((id) => experimentRecordName(id, refsPrefix)));
  return parseExperiments(
    ids,
    objects.map((object) => object?.content),
  );
}

/** How `git cat-file` names an experiment's record file. */
export function experimentRecordName(id: string, refsPrefix = EXPERIMENT_REFS): string {
  return `${refsPrefix}${id}:${EXPERIMENT_FILE}`;
}

/** Records from their files' bytes; one that is missing or not ours (its content is not its id) is `damaged`. */
export function parseExperiments(
  ids: readonly string[],
  contents: readonly (Buffer | undefined)[],
  options: { readonly verify: boolean } = { verify: true },
): { experiments: Experiment[]; damaged: string[] } {
  const experiments: Experiment[] = [];
  const damaged: string[] = [];
  ids.forEach((id, index) => {
    try {
      const content = JSON.parse(contents[index]!.toString('utf8')) as Omit<ExperimentContent, 'format'> & {
        format: unknown;
      };
      if (content.format !== FORMAT) throw new Error('not a record');
      const record: ExperimentContent = { ...content, format: FORMAT };
      if (options.verify && experimentId(record) !== id) throw new Error('not this record');
      experiments.push({ id, ...record });
    } catch {
      damaged.push(id);
    }
  });
  return { experiments, damaged };
}

/** Newest first. */
export function newestFirst<T extends { readonly time: string }>(records: T[]): T[] {
  return records.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0));
}

/** Every record, newest first. */
export async function readAllExperiments(git: GitRepository): Promise<Experiment[]> {
  const { experiments } = await readExperiments(git, await listExperimentIds(git));
  return newestFirst(experiments);
}

/**
 * The one record `text` names: a full id, a unique prefix of 4 or more hex
 * characters, or a name (the newest record of that name).
 */
export function findExperiment(experiments: readonly Experiment[], text: string): Experiment {
  const named = experiments.filter((experiment) => experiment.name === text);
  if (named.length > 0) return named[0]!;
  if (/^[0-9a-f]{4,64}$/.test(text)) {
    const matches = experiments.filter((experiment) => experiment.id.startsWith(text));
    if (matches.length > 1)
      throw ambiguousId(
        'experiment',
        text,
        matches.map((experiment) => experiment.id),
        `Experiment id ${text} is ambiguous.`,
      );
    if (matches.length === 1) return matches[0]!;
  }
  throw notFound('experiment', text, `No experiment ${text}.`, 'Run `sluice exp list` for names and ids.', {
    kind: 'usage',
  });
}

/** Deletes records (their refs; the objects go with git's own gc) and returns the full ids removed. */
export async function removeExperiments(git: GitRepository, texts: readonly string[]): Promise<string[]> {
  const experiments = await readAllExperiments(git);
  return deleteExperimentRefs(git, [...new Set(texts.map((text) => findExperiment(experiments, text).id))]);
}

/** Deletes the refs of the records `chosen` names (full ids); one already gone is no failure. */
export async function deleteExperimentRefs(git: GitRepository, chosen: readonly string[]): Promise<string[]> {
  for (const id of chosen) {
    const ref = experimentRef(id);
    const at = await git.resolveRef(ref);
    if (at === undefined) continue;
    try {
      await git.deleteRef(ref, at);
    } catch (error) {
      if (!(error instanceof SluiceError) || error.kind !== 'conflict') throw error;
    }
  }
  return [...chosen];
}

/** `metrics.json#accuracy` keys from per-file metrics. */
export function flattenMetrics(
  metrics: Readonly<Record<string, Readonly<Record<string, number>>>>,
): Record<string, number> {
  const flat: Record<string, number> = {};
  for (const [file, values] of Object.entries(metrics)) {
    for (const [key, value] of Object.entries(values)) flat[`${file}#${key}`] = value;
  }
  return flat;
}

export function describeExperiment(experiment: Pick<Experiment, 'id' | 'name'>): string {
  return `${experiment.name} (${shortId(experiment.id)})`;
}
