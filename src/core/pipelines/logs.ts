// Every stage run keeps its output and what happened, readable later:
// .sluice/logs/<pipeline>/<stage>/<run id>.log and .json beside it.
// Run ids sort by time, so the newest is the last name.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomicWrite';
import { describeEnd } from './process';

export interface RunLogRecord {
  readonly runId: string;
  readonly pipeline: string;
  /** The stage, or `check:NAME` for a check. */
  readonly stage: string;
  readonly command: string;
  readonly signature: string | undefined;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly result: string;
  readonly reason: string | undefined;
}

/**
 * How a run ended, each fact said once: `exit code 3`, `killed by SIGTERM
 * (timed out)`, `exit code 0 (Stage p.s did not write its output x.)`. The
 * reason often is the exit already described ("exit code 2 (exit code 2)").
 */
export function describeEnding(record: RunLogRecord): string {
  return withDetail(describeEnd(record.exitCode, record.signal), record.reason);
}

/** `head (detail)`, unless one already says the other: a reason and its detail never repeat each other. */
export function withDetail(head: string, detail: string | undefined): string {
  if (detail === undefined || detail === '' || head.includes(detail)) return head;
  if (detail.includes(head)) return detail;
  return `${head} (${detail})`;
}

export function newRunId(now = new Date()): string {
  return `${now.toISOString().replace(/[-:.]/g, '')}-${randomBytes(3).toString('hex')}`;
}

export class RunLogs {
  constructor(private readonly folder: string) {}

  /** Checks log under a name no stage can have (stage names are identifiers). */
  folderOf(pipeline: string, stage: string): string {
    return join(
      this.folder,
      pipeline,
      stage.startsWith('check:') ? `@checks/${safe(stage.slice(6))}` : stage,
    );
  }

  logFile(pipeline: string, stage: string, runId: string): string {
    return join(this.folderOf(pipeline, stage), `${runId}.log`);
  }

  record(record: RunLogRecord): void {
    writeFileAtomic(
      join(this.folderOf(record.pipeline, record.stage), `${record.runId}.json`),
      JSON.stringify(record),
    );
  }

  /** Runs of a stage, newest first. */
  list(pipeline: string, stage: string): RunLogRecord[] {
    let names: string[];
    try {
      names = readdirSync(this.folderOf(pipeline, stage));
    } catch {
      return [];
    }
    return names
      .filter((name) => name.endsWith('.json'))
      .sort()
      .reverse()
      .flatMap((name) => {
        try {
          return [
            JSON.parse(readFileSync(join(this.folderOf(pipeline, stage), name), 'utf8')) as RunLogRecord,
          ];
        } catch {
          return [];
        }
      });
  }

  output(record: RunLogRecord): string {
    try {
      return readFileSync(this.logFile(record.pipeline, record.stage, record.runId), 'utf8');
    } catch {
      return '';
    }
  }
}

/** A check's name as a folder name. */
function safe(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 80) || 'check';
}
