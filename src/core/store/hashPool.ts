// Hashing in parallel: worker threads read files in 1 MiB blocks, hash them
// and (when asked) copy them into a temporary blob file in the same pass, so
// each byte is read once. The worker's code is a string evaluated by the
// worker, which keeps it independent of how the bundles are laid out.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

export interface HashJob {
  readonly path: string;
  /** Copy the bytes here while hashing (fsynced), or only hash when undefined. */
  readonly copyTo: string | undefined;
}

export interface HashResult {
  readonly hash: string;
  readonly size: number;
  /** Modification time (ns) and size seen after reading, to detect a file changing underneath. */
  readonly mtimeNs: string;
  readonly sizeAfter: number;
}

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const buffer = Buffer.allocUnsafe(1 << 20);
parentPort.on('message', ({ id, jobs }) => {
  const results = [];
  try {
    for (const job of jobs) {
      const hash = createHash('sha256');
      const input = fs.openSync(job.path, 'r');
      const output = job.copyTo ? fs.openSync(job.copyTo, 'wx', 0o644) : undefined;
      let size = 0;
      try {
        for (;;) {
          const read = fs.readSync(input, buffer, 0, buffer.length, null);
          if (read === 0) break;
          hash.update(buffer.subarray(0, read));
          if (output !== undefined) fs.writeSync(output, buffer, 0, read);
          size += read;
        }
        if (output !== undefined) fs.fsyncSync(output);
        const after = fs.fstatSync(input, { bigint: true });
        results.push({ hash: hash.digest('hex'), size, mtimeNs: after.mtimeNs.toString(), sizeAfter: Number(after.size) });
      } finally {
        fs.closeSync(input);
        if (output !== undefined) fs.closeSync(output);
      }
    }
    parentPort.postMessage({ id, results });
  } catch (error) {
    parentPort.postMessage({ id, error: { message: error.message, code: error.code, path: error.path } });
  }
});
`;

/** Jobs are sent in batches of about this many bytes, so small files do not cost a message each. */
const BATCH_BYTES = 8 << 20;
const BATCH_FILES = 256;

interface WorkerReply {
  readonly id: number;
  readonly results?: HashResult[];
  readonly error?: { message: string; code?: string; path?: string };
}

export class HashError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly path: string | undefined,
  ) {
    super(message);
  }
}

/** Hashes (and copies) files on worker threads; results come back in job order. */
export async function hashFiles(
  jobs: readonly (HashJob & { readonly size: number })[],
  options: { threads?: number } = {},
): Promise<HashResult[]> {
  if (jobs.length === 0) return [];
  const batches: { start: number; jobs: HashJob[] }[] = [];
  let current: { start: number; jobs: HashJob[]; bytes: number } | undefined;
  jobs.forEach((job, index) => {
    if (!current || current.bytes >= BATCH_BYTES || current.jobs.length >= BATCH_FILES) {
      current = { start: index, jobs: [], bytes: 0 };
      batches.push(current);
    }
    current.jobs.push({ path: job.path, copyTo: job.copyTo });
    current.bytes += job.size;
  });
  const threads = Math.max(1, Math.min(options.threads ?? availableParallelism(), batches.length, 8));
  const results: HashResult[] = new Array<HashResult>(jobs.length);
  const workers = Array.from({ length: threads }, () => new Worker(WORKER_SOURCE, { eval: true }));
  let next = 0;
  try {
    await Promise.all(
      workers.map(async (worker) => {
        while (next < batches.length) {
          const batch = batches[next]!;
          const id = next++;
          const reply = await new Promise<WorkerReply>((resolve, reject) => {
            const onMessage = (message: WorkerReply): void => {
              if (message.id !== id) return;
              worker.off('message', onMessage);
              worker.off('error', reject);
              resolve(message);
            };
            worker.on('message', onMessage);
            worker.once('error', reject);
            worker.postMessage({ id, jobs: batch.jobs });
          });
          if (reply.error) throw new HashError(reply.error.message, reply.error.code, reply.error.path);
          reply.results!.forEach((result, offset) => {
            results[batch.start + offset] = result;
          });
        }
      }),
    );
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
  return results;
}
