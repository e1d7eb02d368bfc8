// What each worker thread of a WorkerPool runs: a bundle of its own
// (dist/scanWorker.js), loaded by file name, so the threads run the very
// functions the main thread runs (folder reads for scans, hashing for
// snapshots and restores), with their imports, and nothing is shipped as
// source text.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { readFolders } from '../fs/folderReads';
import { hashFiles } from './hashJobs';
import type { PoolReply, PoolRequest } from './workerPool';

/** One read buffer per thread, reused by every hash job it runs. */
const buffer = Buffer.allocUnsafe(1 << 20);

async function answer(request: PoolRequest & { readonly id: number }): Promise<void> {
  const port = parentPort!;
  try {
    if (request.kind === 'read') {
      const folders = readFolders(fs, request.root, request.units, request.chunk);
      const transfer: ArrayBuffer[] = [];
      for (const folder of folders)
        if ('ids' in folder)
          transfer.push(folder.ids.buffer as ArrayBuffer, folder.kinds.buffer as ArrayBuffer);
      port.postMessage({ id: request.id, folders } satisfies PoolReply, transfer);
    } else {
      const hashed = await hashFiles(
        fs,
        createHash,
        buffer,
        request.objects,
        request.jobs,
        request.flushLater,
      );
      const transfer =
        'digests' in hashed
          ? [hashed.digests.buffer, hashed.numbers.buffer, hashed.unflushed.buffer].map(
              (b) => b as ArrayBuffer,
            )
          : [];
      port.postMessage({ id: request.id, hashed } satisfies PoolReply, transfer);
    }
  } catch (error) {
    const { message, code } = error as { message?: unknown; code?: unknown };
    const failed = { message: String(message), code: typeof code === 'string' ? code : undefined };
    port.postMessage({ id: request.id, failed } satisfies PoolReply);
  }
}

parentPort?.on('message', (request: PoolRequest & { readonly id: number }) => {
  void answer(request);
});
