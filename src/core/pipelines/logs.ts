// Every stage run keeps its output and what happened, readable later:
// .sluice/logs/<pipeline>/<stage>/<run id>.log and .json beside it.
// Run ids sort by time, so the newest is the last name.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomicWrite';
import { describeEnd } from '../process/runCommand';
import type { PipelineState, StageSuccess } from './state';

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

/** The run whose log tells about the outputs on disk, and the restore that put them there, if one did. */
export interface ShownRun {
  /** Undefined when the stage never ran here, or the restored run's log is not kept in this workspace. */
  readonly run: RunLogRecord | undefined;
  readonly restored: StageSuccess | undefined;
}

/**
 * Which run `sluice logs` and the extension show for a stage: the newest,
 * unless the stage's outputs were restored from the cache since, in which
 * case the earlier run that produced them.
 */
export function shownRun(logs: RunLogs, state: PipelineState, pipeline: string, stage: string): ShownRun {
  const runs = logs.list(pipeline, stage);
  const record = state.get(`${pipeline}.${stage}`);
  const success = record?.success;
  const newest = runs[0];
  const restored =
    success?.restored === true &&
    (newest === undefined || newest.startedAt < success.finishedAt) &&
    (record?.failure === undefined || record.failure.finishedAt < success.finishedAt)
      ? success
      : undefined;
  return { run: restored ? runs.find((run) => run.runId === restored.runId) : newest, restored };
}

/** `— restored from the cache 3 minutes ago: the outputs on disk are from run ID of DATE.` */
export function describeRestore(restored: StageSuccess, run: RunLogRecord | undefined, age: string): string {
  const produced = run?.startedAt ?? restored.producedAt;
  const which = restored.runId === undefined ? 'a run whose id was not kept' : `run ${restored.runId}`;
  return (
    `— restored from the cache ${age}: the outputs on disk are from ${which}` +
    (produced === undefined ? '' : ` of ${produced}`) +
    `${run ? '' : '; its log is not kept in this workspace'}.`
  );
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
