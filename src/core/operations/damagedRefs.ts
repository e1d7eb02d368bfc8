// Whether every ref under refs/sluice/ is a readable record of its kind. gc
// computes what to keep from these records: a ref it cannot read (pointing at
// a tree, a blob, a missing object, a commit that is not a record, a record
// of another dataset, …) would look like "no history", and everything that
// history needs would be collected. So gc refuses while any ref is damaged,
// and fsck lists them.
import { shortId } from '../format';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SluiceError } from '../errors';
import type { GitRepository } from '../git/repository';
import { HEALTH_REFS, readHealth } from '../environments/healthHistory';
import { ENVIRONMENT_REFS, readHistory } from '../environments/history';
import { readReleases, releaseId, RELEASE_REFS, type ReleaseContent } from '../environments/releases';
import { digestOf } from '../snapshots/listing';
import { DATASET_REFS, HEADER_FILE, parseSummary } from '../snapshots/records';
import { EXPERIMENT_REFS, readExperiments } from '../experiments/records';

export interface DamagedRef {
  readonly ref: string;
  /** What is wrong with it, in words. */
  readonly reason: string;
}

/** The kinds of record under refs/sluice/: a ref of any other kind may reach blobs gc cannot see. */
const KINDS = [DATASET_REFS, ENVIRONMENT_REFS, HEALTH_REFS, RELEASE_REFS, EXPERIMENT_REFS] as const;

const SHA256 = /^[0-9a-f]{64}$/;

/** Every ref under refs/sluice/ that is not a valid record of its kind, with why. */
export async function damagedRefs(git: GitRepository): Promise<DamagedRef[]> {
  const refs = await git.listRefs('refs/sluice');
  const damaged: DamagedRef[] = [];
  // for-each-ref skips a ref file it cannot parse ("ignoring broken ref"): it must not pass as absent.
  for (const ref of await looseRefs(git))
    if (!refs.has(ref)) damaged.push({ ref, reason: 'its file does not hold an object id' });
  const objects = await git.readObjects([...refs.values()], { check: true });
  const releases = new Set(
    [...refs.keys()]
      .filter((ref) => ref.startsWith(RELEASE_REFS))
      .map((ref) => ref.slice(RELEASE_REFS.length)),
  );
  let index = 0;
  for (const [ref, id] of refs) {
    const object = objects[index++];
    const reason = await checkRef(git, ref, id, object?.type, releases);
    if (reason !== undefined) damaged.push({ ref, reason });
  }
  return damaged.sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
}

/** Why the one ref `ref` is not a valid record of its kind, or undefined when it is (or does not exist). */
export async function damagedRef(git: GitRepository, ref: string): Promise<DamagedRef | undefined> {
  const refs = await git.listRefs(ref);
  const id = refs.get(ref);
  if (id === undefined) {
    const loose = await looseRefs(git);
    return loose.includes(ref) ? { ref, reason: 'its file does not hold an object id' } : undefined;
  }
  const [object] = await git.readObjects([id], { check: true });
  const releases = new Set(
    [...(await git.listRefs(RELEASE_REFS.replace(/\/$/, ''))).keys()].map((name) =>
      name.slice(RELEASE_REFS.length),
    ),
  );
  const reason = await checkRef(git, ref, id, object?.type, releases);
  return reason === undefined ? undefined : { ref, reason };
}

async function checkRef(
  git: GitRepository,
  ref: string,
  id: string,
  type: string | undefined,
  releases: ReadonlySet<string>,
): Promise<string | undefined> {
  const prefix = KINDS.find((kind) => ref.startsWith(kind) && ref.length > kind.length);
  if (prefix === undefined)
    return 'not a kind of record this Sluice knows (datasets, environments, health, releases, experiments): gc cannot tell what it keeps';
  if (type === undefined) return `points at ${id}, which git does not have`;
  if (type !== 'commit') return `points at a ${type} (${shortId(id)}), not at a record's commit`;
  try {
    const name = ref.slice(prefix.length);
    if (prefix === DATASET_REFS) return await checkDataset(git, ref, name);
    if (prefix === ENVIRONMENT_REFS) return await checkEnvironment(git, name, releases);
    if (prefix === EXPERIMENT_REFS) return await checkExperiment(git, name);
    // Every commit of a health history is a whole record (readHealth refuses one that is not).
    if (prefix === HEALTH_REFS) {
      await readHealth(git, name);
      return undefined;
    }
    return await checkRelease(git, name);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Every snapshot on the chain: a Sluice-Snapshot commit whose tree holds its header, of this dataset, with its content. */
async function checkDataset(git: GitRepository, ref: string, name: string): Promise<string | undefined> {
  const commits = await git.history(ref);
  const headers = await git.readObjects(commits.map((commit) => `${commit.id}:${HEADER_FILE}`));
  const listings: { commit: string; name: string }[] = [];
  for (const [i, commit] of commits.entries()) {
    const at = `snapshot commit ${shortId(commit.id)}`;
    let id: string;
    try {
      id = parseSummary(commit.id, commit.message).id;
    } catch {
      return `${at} is not a snapshot record (no Sluice-Snapshot trailer)`;
    }
    const header = headers[i];
    if (header?.type !== 'blob') return `${at} has no ${HEADER_FILE}`;
    const text = header.content.toString('utf8');
    let parsed: { format?: unknown; dataset?: unknown; content?: unknown; files?: unknown };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      return `${at} has a ${HEADER_FILE} that is not JSON`;
    }
    if (parsed.dataset !== name) return `${at} records dataset '${String(parsed.dataset)}', not '${name}'`;
    if (parsed.format === 1) {
      if (!Array.isArray(parsed.files)) return `${at} has no file list`;
      continue;
    }
    if (parsed.format !== 2 || typeof parsed.content !== 'string') return `${at} is of an unknown format`;
    if (digestOf(text.trimEnd()) !== id)
      return `${at}: its header does not have the snapshot's id ${shortId(id)}`;
    listings.push({ commit: commit.id, name: `${commit.id}:data/listing-${parsed.content}` });
  }
  const found = await git.readObjects(
    listings.map((listing) => listing.name),
    { check: true },
  );
  const lacking = listings.findIndex((_, i) => found[i]?.type !== 'blob');
  if (lacking >= 0) return `snapshot commit ${shortId(listings[lacking]!.commit)} lacks its root listing`;
  return undefined;
}

/** Every deployment on the chain readable, naming a release that has its record. */
async function checkEnvironment(
  git: GitRepository,
  name: string,
  releases: ReadonlySet<string>,
): Promise<string | undefined> {
  for (const deployment of await readHistory(git, name)) {
    const at = `deployment commit ${shortId(deployment.commit)}`;
    if (typeof deployment.release !== 'string' || !SHA256.test(deployment.release))
      return `${at} names no release`;
    if (!releases.has(deployment.release))
      return `${at} deploys release ${shortId(deployment.release)}, which has no record under ${RELEASE_REFS}`;
  }
  return undefined;
}

/** A readable release record whose content has the id its ref is named by. */
async function checkRelease(git: GitRepository, id: string): Promise<string | undefined> {
  if (!SHA256.test(id)) return 'its name is not a release id';
  const [release] = await readReleases(git, [id]);
  // The record as written: every field but the id, in its order.
  const content = Object.fromEntries(
    Object.entries(release!).filter(([key]) => key !== 'id'),
  ) as unknown as ReleaseContent;
  if (releaseId(content) !== id) return `its record's content does not have the id ${shortId(id)}`;
  return undefined;
}

/** A readable experiment record whose content has the id its ref is named by. */
async function checkExperiment(git: GitRepository, id: string): Promise<string | undefined> {
  if (!SHA256.test(id)) return 'its name is not an experiment id';
  const { damaged } = await readExperiments(git, [id]);
  return damaged.length > 0 ? `it holds no experiment record with the id ${shortId(id)}` : undefined;
}

/** Names of the loose ref files under refs/sluice/ (packed refs are always parsed by git). */
async function looseRefs(git: GitRepository): Promise<string[]> {
  const folder = resolve(git.root, await git.gitPath('refs/sluice'));
  const found: string[] = [];
  const walk = (path: string, ref: string): void => {
    let names: string[];
    try {
      names = readdirSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') found.push(ref);
      return;
    }
    // NAME.lock is a writer's lock, never a ref (git reads no ref by such a name); one a killed writer
    // left is taken over by the next (git/looseRefs.ts).
    for (const name of names) if (!name.endsWith('.lock')) walk(join(path, name), `${ref}/${name}`);
  };
  walk(folder, 'refs/sluice');
  return found.filter((ref) => ref !== 'refs/sluice');
}

/** The error gc and other destructive operations raise while refs are damaged. */
export function damagedRefsError(damaged: readonly DamagedRef[], operation: string): SluiceError {
  const first = damaged[0]!;
  return new SluiceError(
    `${operation} refused: ${first.ref} is damaged (${first.reason})${damaged.length > 1 ? `, and ${damaged.length - 1} more ref(s)` : ''}; ` +
      'the blobs its history needs cannot be told apart from garbage.',
    'failed',
    'Run `sluice fsck` to list the damaged refs; point each back at its record (`git reflog` or a teammate’s copy ' +
      'shows the commit; `git update-ref REF COMMIT`) or, if its history is meant to go, delete it (`git update-ref -d REF`).',
    { code: 'damaged-ref', data: { refs: damaged.map(({ ref, reason }) => ({ ref, reason })) } },
  );
}
