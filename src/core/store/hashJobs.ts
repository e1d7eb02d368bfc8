// Hashing files, and copying them into the object store while reading them.
// Runs on worker threads (scanWorker.ts) for many files and on the main
// thread, through the same function, for a few.

type FsModule = typeof import('node:fs');

export interface HashJob {
  readonly path: string;
  /** Copy the bytes into the store through this temporary file, or only hash when undefined. */
  readonly temporary: string | undefined;
}

/**
 * The results of a list of hash jobs, packed (no object per file): 32 bytes
 * of sha256 per job, and per job the bytes read, then the modification time
 * (ms) and size seen after reading, to detect a file changing underneath.
 */
export interface HashedFiles {
  readonly digests: Uint8Array;
  readonly numbers: Float64Array;
  /** With flushing left to the caller: 1 for each job whose bytes wait in its temporary file. */
  readonly unflushed: Uint8Array;
}

export const HASHED_NUMBERS = 3;

export interface HashFailure {
  readonly error: {
    readonly message: string;
    readonly code: string | undefined;
    readonly path: string;
    /** Whether reading the file failed, or writing its copy into the store. */
    readonly writing: boolean;
  };
}

/**
 * Hashes files, reading each once in blocks of `buffer`'s size. With a
 * temporary path, the bytes also go into the store under `objects`: written
 * to the temporary file, fsynced, made read-only and renamed to their hash,
 * so a blob that exists is always complete. Small files are hashed first and
 * written only when the store lacks them; large ones are copied while read.
 * The fsyncs run in the background (libuv's thread pool), many at a time, so
 * the disk flushes one file while the next is read and the journal commits
 * several at once; the function returns when every blob is in place.
 *
 * With `flushLater`, the temporary files are only written and closed: the
 * caller makes them durable all at once, then renames them (ObjectStore.adoptDurably).
 */
export async function hashFiles(
  fs: FsModule,
  createHash: typeof import('node:crypto').createHash,
  buffer: Buffer,
  objects: string,
  jobs: readonly HashJob[],
  flushLater: boolean,
): Promise<HashedFiles | HashFailure> {
  const digests = new Uint8Array(jobs.length * 32);
  const numbers = new Float64Array(jobs.length * HASHED_NUMBERS);
  const unflushed = new Uint8Array(jobs.length);
  let done = 0;
  const record = (digest: Buffer, size: number, after: { mtimeMs: number; size: number }): string => {
    digests.set(digest, done * 32);
    numbers[done * HASHED_NUMBERS] = size;
    numbers[done * HASHED_NUMBERS + 1] = after.mtimeMs;
    numbers[done * HASHED_NUMBERS + 2] = after.size;
    done++;
    return digest.toString('hex');
  };
  const pending = new Set<Promise<void>>();
  let failure: HashFailure | undefined;
  const fail = (error: unknown, path: string, writing: boolean): void => {
    const { message, code } = error as { message: string; code?: string };
    failure ??= { error: { message, code, path, writing } };
  };
  const madeFolders = new Set<string>();
  /** Moves a complete temporary file into place as blob `hash`, or drops it if the store has the blob. */
  const adopt = (temporary: string, hash: string): void => {
    const folder = `${objects}/${hash.slice(0, 2)}`;
    const target = `${folder}/${hash.slice(2)}`;
    if (fs.existsSync(target)) {
      fs.rmSync(temporary, { force: true });
      // Freshly used again: gc keeps young blobs, so it cannot remove this one
      // between now and the moment the new record is written.
      const now = new Date();
      fs.utimesSync(target, now, now);
      return;
    }
    if (!madeFolders.has(folder)) {
      fs.mkdirSync(folder, { recursive: true });
      madeFolders.add(folder);
    }
    fs.renameSync(temporary, target);
  };
  /** fsyncs and closes `descriptor` in the background, then adopts the file (or leaves both to the caller). */
  const flushThenAdopt = (descriptor: number, temporary: string, hash: string): void => {
    if (flushLater) {
      fs.closeSync(descriptor);
      unflushed[done - 1] = 1;
      return;
    }
    const flushed = new Promise<void>((resolve) => {
      fs.fsync(descriptor, (syncError) => {
        fs.close(descriptor, (closeError) => {
          try {
            const error = syncError ?? closeError;
            if (error) throw error;
            adopt(temporary, hash);
          } catch (error) {
            fail(error, temporary, true);
            fs.rmSync(temporary, { force: true });
          }
          resolve();
        });
      });
    });
    pending.add(flushed);
    void flushed.then(() => pending.delete(flushed));
  };

  for (const job of jobs) {
    if (failure) break;
    // Bound the flushes in flight: each holds a descriptor.
    while (pending.size >= 64) await Promise.race(pending);
    let input: number | undefined;
    let output: number | undefined;
    let writing = false;
    try {
      input = fs.openSync(job.path, 'r');
      const hash = createHash('sha256');
      let size = 0;
      let read = fs.readSync(input, buffer, 0, buffer.length, null);
      if (read < buffer.length) {
        // The whole file fits in the buffer: hash it, and write it only if the store lacks it.
        hash.update(buffer.subarray(0, read));
        size = read;
        const digest = record(hash.digest(), size, fs.fstatSync(input));
        if (job.temporary !== undefined) {
          const target = `${objects}/${digest.slice(0, 2)}/${digest.slice(2)}`;
          if (fs.existsSync(target)) {
            const now = new Date();
            fs.utimesSync(target, now, now);
          } else {
            writing = true;
            output = fs.openSync(job.temporary, 'wx', 0o444);
            fs.writeSync(output, buffer, 0, read);
            flushThenAdopt(output, job.temporary, digest);
            output = undefined;
          }
        }
        continue;
      }
      if (job.temporary !== undefined) {
        writing = true;
        output = fs.openSync(job.temporary, 'wx', 0o444);
        writing = false;
      }
      while (read > 0) {
        hash.update(buffer.subarray(0, read));
        if (output !== undefined) {
          writing = true;
          fs.writeSync(output, buffer, 0, read);
          writing = false;
        }
        size += read;
        read = fs.readSync(input, buffer, 0, buffer.length, null);
      }
      const digest = record(hash.digest(), size, fs.fstatSync(input));
      if (output !== undefined && job.temporary !== undefined) {
        flushThenAdopt(output, job.temporary, digest);
        output = undefined;
      }
    } catch (error) {
      fail(error, writing ? (job.temporary ?? job.path) : job.path, writing);
      if (output !== undefined) {
        fs.closeSync(output);
        if (job.temporary !== undefined) fs.rmSync(job.temporary, { force: true });
      }
    } finally {
      if (input !== undefined) fs.closeSync(input);
    }
  }
  await Promise.all(pending);
  return failure ?? { digests, numbers, unflushed };
}
