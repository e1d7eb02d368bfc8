// Worker threads for reading folders and hashing files. The workers are
// started only when there is enough work to pay for them (one costs 50 to 150
// ms to start here), and the main thread keeps its event loop: it only hands
// out work and collects results. Each thread runs the bundle
// scanWorker.js, built from scanWorker.ts beside this file.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FolderRead, FolderReadError, FolderSplit, ReadUnit } from '../fs/folderReads';
import type { HashFailure, HashJob, HashedFiles } from './hashJobs';

/** What the main thread asks of a worker (scanWorker.ts answers). */
export type PoolRequest =
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

export interface PoolReply {
  readonly id: number;
  readonly folders?: (FolderRead | FolderReadError | FolderSplit)[];
  readonly hashed?: HashedFiles | HashFailure;
  readonly failed?: { readonly message: string; readonly code: string | undefined };
}

const WORKER_BUNDLE = 'scanWorker.js';
let workerBundle: string | undefined;

/**
 * Where the worker bundle is: beside the bundle running this code (dist/ for
 * the extension and the CLI), or, for a test bundle in a folder of out/test/,
 * in a folder above it.
 */
function workerBundlePath(): string {
  if (workerBundle !== undefined) return workerBundle;
  for (let folder = __dirname, depth = 0; depth < 4; folder = dirname(folder), depth++) {
    const candidate = join(folder, WORKER_BUNDLE);
    if (existsSync(candidate)) return (workerBundle = candidate);
  }
  throw new Error(
    `${WORKER_BUNDLE} is missing beside ${__dirname}: the build is incomplete (run the build again).`,
  );
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
  readonly worker = new Worker(workerBundlePath());
  private readonly waiting = new Map<
    number,
    { resolve: (reply: PoolReply) => void; reject: (error: Error) => void }
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
    this.worker.on('message', (reply: PoolReply) => {
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

  send(request: PoolRequest): Promise<PoolReply> {
    const id = this.nextId++;
    return new Promise<PoolReply>((resolve, reject) => {
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
