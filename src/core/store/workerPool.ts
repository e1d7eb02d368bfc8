// Worker threads for reading folders and hashing files (workerJobs.ts). The
// workers are started only when there is enough work to pay for them (one
// costs 50 to 150 ms to start here), and the main thread keeps its event loop:
// it only hands out work and collects results.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import {
  hashFiles,
  readFolders,
  type FolderRead,
  type FolderReadError,
  type FolderSplit,
  type HashFailure,
  type HashJob,
  type HashedFiles,
  type ReadUnit,
} from './workerJobs';

// The workers run the very functions the main thread runs, from their source
// text: no second copy of the code, and no dependence on how the bundles are laid out.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const { createHash } = require('node:crypto');
const readFolders = (${readFolders.toString()});
const hashFiles = (${hashFiles.toString()});
const buffer = Buffer.allocUnsafe(1 << 20);
parentPort.on('message', async (request) => {
  try {
    if (request.kind === 'read') {
      const folders = readFolders(fs, request.root, request.units, request.chunk);
      const transfer = [];
      for (const folder of folders) if (folder.ids) transfer.push(folder.ids.buffer, folder.kinds.buffer);
      parentPort.postMessage({ id: request.id, folders }, transfer);
    } else {
      const hashed = await hashFiles(fs, createHash, buffer, request.objects, request.jobs, request.flushLater);
      const transfer = hashed.digests ? [hashed.digests.buffer, hashed.numbers.buffer, hashed.unflushed.buffer] : [];
      parentPort.postMessage({ id: request.id, hashed }, transfer);
    }
  } catch (error) {
    parentPort.postMessage({ id: request.id, failed: { message: String(error && error.message), code: error && error.code } });
  }
});
`;

type Request =
  | {
      readonly kind: 'read';
      readonly root: string;
      readonly units: readonly ReadUnit[];
      readonly chunk: number;
    }
  | {
      readonly kind: 'hash';
      readonly objects: string;
      readonly jobs: readonly HashJob[];
      readonly flushLater: boolean;
    };

interface Reply {
  readonly id: number;
  readonly folders?: (FolderRead | FolderReadError | FolderSplit)[];
  readonly hashed?: HashedFiles | HashFailure;
  readonly failed?: { readonly message: string; readonly code: string | undefined };
}

export class WorkerFailure extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** How many threads are worth having: one per core, at most four. */
export function usefulThreads(): number {
  return Math.max(1, Math.min(availableParallelism(), 4));
}

class PooledWorker {
  readonly worker = new Worker(WORKER_SOURCE, { eval: true });
  private readonly waiting = new Map<
    number,
    { resolve: (reply: Reply) => void; reject: (error: Error) => void }
  >();
  private nextId = 0;
  /** Whether the thread has started (requests sent before wait in its queue). */
  online = false;
  /** Whether the thread failed or ended: it is never handed work again. */
  dead = false;
  /** Requests sent and not answered yet. */
  get busy(): number {
    return this.waiting.size;
  }

  constructor() {
    this.worker.once('online', () => {
      this.online = true;
    });
    this.worker.on('message', (reply: Reply) => {
      const waiter = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if (!waiter) return;
      if (reply.failed) waiter.reject(new WorkerFailure(reply.failed.message, reply.failed.code));
      else waiter.resolve(reply);
    });
    this.worker.on('error', (error) => {
      this.dead = true;
      for (const waiter of this.waiting.values()) waiter.reject(error);
      this.waiting.clear();
    });
    this.worker.once('exit', () => {
      this.dead = true;
    });
  }

  send(request: Request): Promise<Reply> {
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, ...request });
    });
  }
}

/** Workers started ahead of need (prestartWorkers), waiting to join the next pool. */
const prestarted: PooledWorker[] = [];

/**
 * Starts `count` workers now, so that they run by the time a scan wants
 * them: a command calls this first thing, and the workers start while it
 * reads the manifest and asks git. Idle, they do not keep the process alive.
 */
export function prestartWorkers(count = usefulThreads() - 1): void {
  for (let i = prestarted.length - 1; i >= 0; i--) if (prestarted[i]!.dead) prestarted.splice(i, 1);
  while (prestarted.length < count) {
    const pooled = new PooledWorker();
    pooled.worker.unref();
    prestarted.push(pooled);
  }
}

/** A few worker threads, started on demand (or taken from those prestarted) and stopped together. */
export class WorkerPool {
  private readonly workers: PooledWorker[] = [];

  constructor(readonly maxWorkers: number) {}

  get size(): number {
    return this.workers.length;
  }

  /** The threads in this pool, by id (to tell a reused thread from a new one). */
  get threadIds(): number[] {
    return this.workers.map((pooled) => pooled.worker.threadId);
  }

  /** Takes up to `count` prestarted workers, if there are any. */
  adoptPrestarted(count: number): void {
    while (this.workers.length < Math.min(count, this.maxWorkers) && prestarted.length > 0) {
      const pooled = prestarted.pop()!;
      if (pooled.dead) continue;
      pooled.worker.ref();
      this.workers.push(pooled);
    }
  }

  /** Starts workers until there are `count` (at most maxWorkers), prestarted ones first. */
  grow(count: number): void {
    this.adoptPrestarted(count);
    while (this.workers.length < Math.min(count, this.maxWorkers)) this.workers.push(new PooledWorker());
  }

  /** The running worker with the fewest requests in flight, if it has fewer than `limit`. */
  idleWorker(limit: number, startedOnly = true): PooledWorker | undefined {
    let best: PooledWorker | undefined;
    for (const worker of this.workers) {
      if ((startedOnly && !worker.online) || worker.dead) continue;
      if (worker.busy < limit && (!best || worker.busy < best.busy)) best = worker;
    }
    return best;
  }

  async readFolders(
    worker: PooledWorker,
    root: string,
    units: readonly ReadUnit[],
    chunk: number,
  ): Promise<(FolderRead | FolderReadError | FolderSplit)[]> {
    const reply = await worker.send({ kind: 'read', root, units, chunk });
    return reply.folders ?? [];
  }

  async hashFiles(
    worker: PooledWorker,
    objects: string,
    jobs: readonly HashJob[],
    flushLater: boolean,
  ): Promise<HashedFiles | HashFailure> {
    const reply = await worker.send({ kind: 'hash', objects, jobs, flushLater });
    if (!reply.hashed) throw new WorkerFailure('a worker answered without results', undefined);
    return reply.hashed;
  }

  /**
   * Stops every worker with work in flight (abandoned: its temporary files are
   * the caller's to remove). Idle workers go back to wait for the next pool,
   * up to usefulThreads(): a restore scans the disk and then hashes what it
   * copies out, and each pool starting its own workers cost it 5% of its time.
   * Waiting, they do not keep the process alive.
   */
  async close(): Promise<void> {
    const stopping: Promise<number>[] = [];
    for (const pooled of this.workers.splice(0)) {
      if (pooled.online && !pooled.dead && pooled.busy === 0 && prestarted.length < usefulThreads()) {
        pooled.worker.unref();
        prestarted.push(pooled);
      } else stopping.push(pooled.worker.terminate());
    }
    await Promise.all(stopping);
  }
}

export type { PooledWorker };
