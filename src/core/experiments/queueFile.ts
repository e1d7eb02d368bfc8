// The experiment queue's progress, kept in .sluice/state/ while `exp run`
// works so that another window (or the CLI's `exp show`) sees it. Entries of
// a queue whose process is gone (killed) read as cancelled, never as running.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomicWrite';
import type { Workspace } from '../workspace';
import type { QueuedExperiment } from './table';
import { processAlive } from '../process/alive';

interface QueueFile {
  readonly pid: number;
  readonly queue: readonly QueuedExperiment[];
}

function queuePath(workspace: Workspace): string {
  return join(workspace.sluiceDir, 'state', 'experiments-queue.json');
}

export function writeQueue(workspace: Workspace, queue: readonly QueuedExperiment[]): void {
  const file: QueueFile = { pid: process.pid, queue };
  writeFileAtomic(queuePath(workspace), `${JSON.stringify(file)}\n`);
}

/** The last queue's entries; empty when there was none or the file is unreadable. */
export function readQueue(workspace: Workspace): QueuedExperiment[] {
  let file: Partial<Record<keyof QueueFile, unknown>>;
  try {
    file = JSON.parse(readFileSync(queuePath(workspace), 'utf8')) as typeof file;
  } catch {
    return [];
  }
  if (!Array.isArray(file.queue) || typeof file.pid !== 'number') return [];
  const queue = file.queue as QueuedExperiment[];
  if (processAlive(file.pid)) return queue;
  return queue.map((entry) =>
    entry.status === 'queued' || entry.status === 'running' ? { ...entry, status: 'cancelled' } : entry,
  );
}
