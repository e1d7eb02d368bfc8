// The hashing and reading threads outlive the pool that started them when they
// are idle: a restore scans the disk with one pool and verifies what it copies
// out with another, and starting threads twice cost it 5% of its time. Threads
// with work in flight, or that died, are never handed on.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { WorkerPool } from '../../src/core/store/workerPool';

async function onlinePool(size: number): Promise<WorkerPool> {
  const pool = new WorkerPool(size);
  pool.grow(size);
  // A trivial request each: answered once the thread runs.
  const folder = mkdtempSync(join(tmpdir(), 'sluice-pool-'));
  writeFileSync(join(folder, 'a'), 'a');
  try {
    // One request to each thread at once (the least busy one takes the next).
    const answers = [];
    for (let n = 0; n < size; n++)
      answers.push(
        pool.hashFiles(
          pool.idleWorker(1, false)!,
          '',
          [{ path: join(folder, 'a'), temporary: undefined }],
          false,
        ),
      );
    await Promise.all(answers);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
  return pool;
}

describe('worker pool', () => {
  const pools: WorkerPool[] = [];
  after(async () => {
    for (const pool of pools) await pool.close();
  });

  test('idle threads of a closed pool serve the next pool instead of new ones', async () => {
    const first = await onlinePool(2);
    const before = first.threadIds;
    await first.close();
    const second = new WorkerPool(2);
    pools.push(second);
    second.adoptPrestarted(2);
    assert.deepEqual(second.threadIds.sort(), before.sort(), 'both idle threads were handed on');
    await second.close();
  });

  test('a thread that ended is not handed on, nor one with work in flight', async () => {
    const pool = await onlinePool(2);
    const ended = pool.idleWorker(Infinity)!;
    await ended.worker.terminate();
    const working = pool.idleWorker(Infinity)!;
    assert.notEqual(working, ended, 'an ended thread is given no work');
    // A request in flight when the pool closes (its answer comes after).
    void pool.readFolders(working, tmpdir(), [], 1).catch(() => undefined);
    await pool.close();
    const next = new WorkerPool(2);
    pools.push(next);
    next.adoptPrestarted(2);
    assert.deepEqual(next.threadIds, [], 'neither thread was handed on');
  });
});
