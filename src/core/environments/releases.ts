// Releases: immutable records of what a pipeline produced from one code commit
// and one set of dataset snapshots. A release is a JSON blob in a root commit
// under refs/sluice/releases/<id>, its id the digest of its content, so the
// same record is never written twice and never changes.
import { createHash } from 'node:crypto';
import { ambiguousId, notFound, SluiceError } from '../errors';
import { shortId } from '../format';
import { writeImmutableRecord } from '../git/immutableRecord';
import type { GitRepository } from '../git/repository';
import type { CachedOutput } from '../pipelines/outputs';

export const RELEASE_REFS = 'refs/sluice/releases/';
export const RELEASE_FILE = 'release.json';
const FORMAT = 'sluice-release 1';

export type CheckOutcome = 'pass' | 'fail' | 'inconclusive';

export interface ReleaseCheck {
  readonly name: string;
  readonly outcome: CheckOutcome;
  readonly detail: string;
}

export interface ReleaseContent {
  readonly format: typeof FORMAT;
  readonly pipeline: string;
  /** The code commit the pipeline ran at. */
  readonly code: string;
  /** Dataset name → snapshot id. */
  readonly snapshots: Readonly<Record<string, string>>;
  /** The stage outputs, as blobs in the object store. */
  readonly outputs: readonly CachedOutput[];
  /** Dotted param key → value, for every param a stage reads. */
  readonly params: Readonly<Record<string, unknown>>;
  /** Metrics file → dotted key → number. */
  readonly metrics: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly checks: readonly ReleaseCheck[];
  /** Stages that failed or did not run ("train.prepare: exit code 1"): such a release never deploys. */
  readonly failures: readonly string[];
  readonly time: string;
  readonly actor: string;
}

export interface Release extends ReleaseContent {
  readonly id: string;
}

export function releaseId(content: ReleaseContent): string {
  return createHash('sha256').update(JSON.stringify(content)).digest('hex');
}

export function releaseRef(id: string): string {
  return `${RELEASE_REFS}${id}`;
}

/** True when every stage succeeded and every check passed. */
export function releasePassed(release: ReleaseContent): boolean {
  return release.failures.length === 0 && release.checks.every((check) => check.outcome === 'pass');
}

/** A check that did not pass, in words: `enough rows: fail (exit code 1)`. */
export function describeCheckProblem(check: {
  readonly name: string;
  readonly outcome: CheckOutcome;
  readonly detail: string;
}): string {
  return `${check.name}: ${check.outcome} (${check.detail})`;
}

/** Why a release did not pass: its failed stages, then its checks that did not pass. */
export function releaseProblems(release: ReleaseContent): string[] {
  return [
    ...release.failures,
    ...release.checks.filter((check) => check.outcome !== 'pass').map(describeCheckProblem),
  ];
}

/** Writes a release record (blob, tree, commit, then its ref) and returns it with its id. */
export async function writeRelease(git: GitRepository, content: ReleaseContent): Promise<Release> {
  const id = releaseId(content);
  await writeImmutableRecord(git, {
    ref: releaseRef(id),
    file: RELEASE_FILE,
    text: `${JSON.stringify(content, null, 2)}\n`,
    message: `release ${id}\n\nSluice-Release: ${id}`,
    what: `Release ${shortId(id)}`,
  });
  return { id, ...content };
}

/** Every release id recorded. */
export async function listReleaseIds(git: GitRepository): Promise<string[]> {
  const refs = await git.listRefs(RELEASE_REFS.replace(/\/$/, ''));
  return [...refs.keys()].map((ref) => ref.slice(RELEASE_REFS.length));
}

/** Full ids for ids or unique prefixes of at least 4 characters, among every recorded release. */
export async function resolveReleaseId(git: GitRepository, idOrPrefix: string): Promise<string> {
  return resolveIdPrefix(idOrPrefix, await listReleaseIds(git), 'Run `sluice history ENV` for the ids.');
}

/**
 * The one id of `ids` that is `idOrPrefix` or starts with it. Refusals are
 * typed: `not-found`, or `ambiguous-id` with every candidate in `data`, so a
 * face can offer them without reading the message.
 */
export function resolveIdPrefix(idOrPrefix: string, ids: readonly string[], hint: string): string {
  if (!/^[0-9a-f]{4,64}$/.test(idOrPrefix)) {
    throw new SluiceError(`'${idOrPrefix}' is not a release id.`, 'usage', hint, {
      code: 'not-a-release-id',
      data: { id: idOrPrefix },
    });
  }
  const matches = [...new Set(ids.filter((id) => id.startsWith(idOrPrefix)))];
  if (matches.length === 0)
    throw notFound(
      'release',
      idOrPrefix,
      `No release ${idOrPrefix}.`,
      'Run `sluice history ENV` for the ids.',
      {
        kind: 'failed',
      },
    );
  if (matches.length > 1)
    throw ambiguousId('release', idOrPrefix, matches, `Release id ${idOrPrefix} is ambiguous.`);
  return matches[0]!;
}

/**
 * Reads release records by full id, in one git call; `refsPrefix` is where
 * their refs are (another namespace holding a remote's refs, as fetched).
 */
export async function readReleases(
  git: GitRepository,
  ids: readonly string[],
  refsPrefix = RELEASE_REFS,
): Promise<Release[]> {
  const objects = await git.readObjects(ids.map((id) => releaseRecordName(id, refsPrefix)));
  return ids.map((id, index) => parseRelease(id, objects[index]?.content));
}

/** How `git cat-file` names a release's record file. */
export function releaseRecordName(id: string, refsPrefix = RELEASE_REFS): string {
  return `${refsPrefix}${id}:${RELEASE_FILE}`;
}

/** A release record from its file's bytes (undefined: git has none). */
export function parseRelease(id: string, bytes: Buffer | undefined): Release {
  if (!bytes) {
    throw new SluiceError(`Release ${shortId(id)} has no record.`, 'failed', 'Run `sluice fsck`.');
  }
  const content = JSON.parse(bytes.toString('utf8')) as Omit<ReleaseContent, 'format'> & {
    format: unknown;
  };
  if (content.format !== FORMAT) {
    throw new SluiceError(
      `Release ${shortId(id)} has an unknown format (${String(content.format)}).`,
      'failed',
      'Update Sluice.',
    );
  }
  return { id, ...content, format: FORMAT };
}

export async function readRelease(git: GitRepository, id: string): Promise<Release> {
  return (await readReleases(git, [id]))[0]!;
}
