// An immutable record in git: a JSON file in a root commit under its own ref,
// named by the digest of its content. The same content is the same record, so
// a second writer of it (another process, the same moment) is no conflict.
import { SluiceError } from '../errors';
import { FILE_MODE, type GitRepository } from './repository';

export interface ImmutableRecord {
  readonly ref: string;
  /** The file name inside the record's tree (`release.json`). */
  readonly file: string;
  readonly text: string;
  /** The commit message. */
  readonly message: string;
  /** How the reflog names it (`Release 1a2b3c4d`). */
  readonly what: string;
}

/** Writes the record (blob, tree, commit, then its ref) unless its ref exists already. */
export async function writeImmutableRecord(git: GitRepository, record: ImmutableRecord): Promise<void> {
  const [blob] = await git.writeBlobs([record.text]);
  const [tree] = await git.writeTrees([new Map([[record.file, [FILE_MODE, blob!] as const]])]);
  const commit = await git.commit(tree!, undefined, record.message);
  if ((await git.resolveRef(record.ref)) !== undefined) return;
  try {
    await git.compareAndSwap(record.ref, commit, undefined, record.what);
  } catch (error) {
    if (!(error instanceof SluiceError) || error.kind !== 'conflict') throw error;
  }
}
