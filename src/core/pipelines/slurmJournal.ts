// The Slurm jobs of a workspace that are submitted and not yet recorded, kept
// in .sluice/state/slurm-jobs.jsonl so that they outlive the run that
// submitted them: `run --detach` returns with its jobs in the queue, a laptop
// closes its lid, a run is killed. The next run adopts each open job instead
// of submitting its stage again, and records it when it ends.
//
// An append-only journal, one JSON line per event (submitted, settled),
// written and fdatasync'ed before the runner goes on: a job sbatch accepted
// is in the journal before anything else happens, so no stage is submitted
// twice. A torn last line (a crash mid-write) is ignored. Written only under
// the run lock; read without it (status, the editor).
import { createHash } from 'node:crypto';
import { closeSync, fdatasyncSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomicWrite';
import { makeFolder } from '../fs/makeFolder';
import type { StagePlan } from './plan';
import type { StageInputs } from './state';

/** A stage's job that was submitted and is not yet recorded. */
export interface OpenJob {
  /** `pipeline.stage`. */
  readonly stage: string;
  /** Slurm's job id. */
  readonly job: string;
  /** The run id its log and record take. */
  readonly runId: string;
  /** The job's output file: the stage's log. */
  readonly logFile: string;
  readonly submittedAt: string;
  /** What the job runs (planDigest): a stage changed since then is not the job's to record. */
  readonly plan: string;
  /** Its signature and inputs when they were known at submission (no upstream job to wait for). */
  readonly signature?: string;
  readonly inputs?: StageInputs;
  /** Upstream stages whose jobs it was submitted behind, with the run id of each. */
  readonly behind: Readonly<Record<string, string>>;
}

type Line =
  | { readonly t: 'submitted'; readonly entry: OpenJob }
  | { readonly t: 'settled'; readonly stage: string; readonly job: string };

/** Open entries beyond which, with as many settled lines, the journal is rewritten at the next run. */
const COMPACT_AFTER = 1000;

export function journalFile(sluiceDir: string): string {
  return join(sluiceDir, 'state', 'slurm-jobs.jsonl');
}

/** The open jobs of a workspace, by stage id, as the journal says; an absent or torn journal reads as what it holds. */
export function readOpenJobs(sluiceDir: string): Map<string, OpenJob> {
  return fold(readLines(journalFile(sluiceDir))).open;
}

/** What a stage's job runs: its command, folder, inputs and outputs as planned. */
export function planDigest(stage: StagePlan): string {
  const { id, run, wdir, deps, datasets, params, paramFiles, outs } = stage;
  return createHash('sha256')
    .update(JSON.stringify({ id, run, wdir, deps, datasets, params, paramFiles, outs }))
    .digest('hex')
    .slice(0, 32);
}

export class SlurmJournal {
  private descriptor: number | undefined;

  private constructor(
    private readonly file: string,
    private readonly entries: Map<string, OpenJob>,
  ) {}

  /** Opens the journal for a run (under the run lock), compacting it when it grew long. */
  static open(sluiceDir: string): SlurmJournal {
    const file = journalFile(sluiceDir);
    const { open, lines } = fold(readLines(file));
    const journal = new SlurmJournal(file, open);
    if (open.size === 0 && lines > 0) rmSync(file, { force: true });
    else if (lines > COMPACT_AFTER && lines > 2 * open.size)
      writeFileAtomic(file, [...open.values()].map((entry) => serialise({ t: 'submitted', entry })).join(''));
    return journal;
  }

  /** Open jobs, by stage id. */
  get open(): ReadonlyMap<string, OpenJob> {
    return this.entries;
  }

  submitted(entry: OpenJob): void {
    this.entries.set(entry.stage, entry);
    this.append({ t: 'submitted', entry });
  }

  /** The stage's job is recorded (or dropped): it is no longer open. */
  settled(stage: string): void {
    const entry = this.entries.get(stage);
    if (entry === undefined) return;
    this.entries.delete(stage);
    this.append({ t: 'settled', stage, job: entry.job });
  }

  close(): void {
    if (this.descriptor !== undefined) closeSync(this.descriptor);
    this.descriptor = undefined;
    // Nothing open: nothing to keep (the next open would remove it anyway).
    if (this.entries.size === 0) rmSync(this.file, { force: true });
  }

  private append(line: Line): void {
    if (this.descriptor === undefined) {
      makeFolder(join(this.file, '..'));
      this.descriptor = openSync(this.file, 'a');
    }
    writeSync(this.descriptor, serialise(line));
    fdatasyncSync(this.descriptor);
  }
}

function serialise(line: Line): string {
  return `${JSON.stringify(line)}\n`;
}

function readLines(file: string): Line[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const lines: Line[] = [];
  for (const raw of text.split('\n')) {
    if (raw === '') continue;
    try {
      const line = JSON.parse(raw) as { readonly t?: unknown };
      if (line.t === 'submitted' || line.t === 'settled') lines.push(line as Line);
    } catch {
      // A line cut short by a crash mid-append: the event it began never happened.
    }
  }
  return lines;
}

function fold(lines: readonly Line[]): { open: Map<string, OpenJob>; lines: number } {
  const open = new Map<string, OpenJob>();
  for (const line of lines) {
    if (line.t === 'submitted') open.set(line.entry.stage, line.entry);
    else if (open.get(line.stage)?.job === line.job) open.delete(line.stage);
  }
  return { open, lines: lines.length };
}

/**
 * What `run --attach` runs when no target is named: the pipelines (in plan
 * order) with a job in the journal. Empty when there is none.
 */
export function attachTargets(
  pipelines: ReadonlyMap<string, { readonly stages: readonly { readonly id: string }[] }>,
  sluiceDir: string,
): string[] {
  const open = readOpenJobs(sluiceDir);
  return [...pipelines]
    .filter(([, pipeline]) => pipeline.stages.some((stage) => open.has(stage.id)))
    .map(([name]) => name);
}
