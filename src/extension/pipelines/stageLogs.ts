// A stage's last run as a read-only document: what it printed, then one line
// saying how it ended. The URI names the workspace and the stage, so VS Code
// reopens the same document, and a later run's output replaces it. While the
// stage has a Slurm job that is not yet recorded, the document is the job's
// output file instead, followed as it grows until the job ends.
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { formatDuration } from '../../core/format';
import * as vscode from 'vscode';
import { SluiceError } from '../../core/errors';
import { openPipelines } from '../../core/pipelines/context';
import { describeEnding, describeRestore, shownRun, type RunLogRecord } from '../../core/pipelines/logs';
import { isActive, stageJobPhase } from '../../core/pipelines/slurmJobPhase';
import type { StageJob } from '../../core/pipelines/slurmJobs';
import type { Workspace } from '../../core/workspace';

export const STAGE_LOG_SCHEME = 'sluice-stage-log';

/** How often a followed job's output file is looked at (a stat; read only when it changed). */
const FOLLOW_MS = 1_000;

export class StageLogs implements vscode.TextDocumentContentProvider, vscode.Disposable {
  readonly #changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.#changed.event;
  readonly #registration: vscode.Disposable;
  readonly #closing: vscode.Disposable;
  readonly #open = new Set<string>();
  /** Documents following a job's output: the file's size and time as last shown, and the timer looking again. */
  readonly #followed = new Map<string, { shown: string; timer: NodeJS.Timeout }>();

  constructor(
    private readonly workspaceAt: (root: string) => Workspace,
    /** The stage's open Slurm job as the model last read it. */
    private readonly jobOf: (root: string, stageId: string) => StageJob | undefined,
  ) {
    this.#registration = vscode.workspace.registerTextDocumentContentProvider(STAGE_LOG_SCHEME, this);
    this.#closing = vscode.workspace.onDidCloseTextDocument((document) => {
      this.#unfollow(document.uri.toString());
    });
  }

  /**
   * Opens the log of `pipeline.stage` in the workspace at `root`: its open
   * Slurm job's output, followed while the job runs, or else its last run;
   * throws when it has neither.
   */
  async show(root: string, pipeline: string, stage: string): Promise<vscode.TextEditor> {
    const job = this.jobOf(root, `${pipeline}.${stage}`);
    if (job === undefined) lastRun(this.workspaceAt(root), pipeline, stage);
    const uri = stageLogUri(root, pipeline, stage);
    this.#open.add(uri.toString());
    if (job !== undefined && isActive(job)) this.#follow(uri, job);
    // A document already open shows its old text until told: tell it.
    this.#changed.fire(uri);
    const document = await vscode.workspace.openTextDocument(uri);
    return vscode.window.showTextDocument(document, { preview: true });
  }

  /** After a run: open logs show the new output. */
  refresh(): void {
    for (const uri of this.#open) this.#changed.fire(vscode.Uri.parse(uri));
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    const { root, pipeline, stage } = parseStageLogUri(uri);
    const job = this.jobOf(root, `${pipeline}.${stage}`);
    if (job !== undefined) return formatJobLog(readOutput(resolve(root, job.logFile)), job);
    const context = openPipelines(this.workspaceAt(root));
    // After a restore from the cache, the run that produced the outputs on disk, said so.
    const { run, restored } = shownRun(context.logs, context.state, pipeline, stage);
    const header = restored ? `${describeRestore(restored, run, `at ${restored.finishedAt}`)}\n` : '';
    if (run === undefined)
      return header || formatStageLog('', lastRun(this.workspaceAt(root), pipeline, stage));
    return header + formatStageLog(context.logs.output(run), run);
  }

  dispose(): void {
    for (const uri of [...this.#followed.keys()]) this.#unfollow(uri);
    this.#closing.dispose();
    this.#registration.dispose();
    this.#changed.dispose();
  }

  /**
   * Looks at the job's output file every second and shows it again when it
   * grew; once the model says the job ended (or a run recorded it), shows
   * that one last time and stops.
   */
  #follow(uri: vscode.Uri, job: StageJob): void {
    const key = uri.toString();
    if (this.#followed.has(key)) return;
    const { root, pipeline, stage } = parseStageLogUri(uri);
    const file = resolve(root, job.logFile);
    const timer = setInterval(() => {
      const followed = this.#followed.get(key);
      if (followed === undefined) return;
      const now = this.jobOf(root, `${pipeline}.${stage}`);
      const still = now !== undefined && now.id === job.id && isActive(now);
      const seen = fileMark(file);
      if (!still) this.#unfollow(key);
      else if (seen === followed.shown) return;
      followed.shown = seen;
      this.#changed.fire(uri);
    }, FOLLOW_MS);
    this.#followed.set(key, { shown: fileMark(file), timer });
  }

  #unfollow(key: string): void {
    const followed = this.#followed.get(key);
    if (followed === undefined) return;
    clearInterval(followed.timer);
    this.#followed.delete(key);
  }
}

/** The output so far of a job, followed while it runs, then a line saying where the job is. */
export function formatJobLog(output: string, job: StageJob): string {
  const ending = output === '' || output.endsWith('\n') ? '' : '\n';
  const following = !isActive(job)
    ? ''
    : output === '' && stageJobPhase(job) === 'queued'
      ? '; its output shows here once it runs'
      : '; shown as it grows';
  return `${output}${ending}— Slurm job ${job.id}: ${job.description}${following}\n`;
}

function readOutput(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    // Not written yet: a job that has not started.
    return '';
  }
}

/** A file's size and modification time, or nothing yet: what tells a grown output from the one shown. */
function fileMark(file: string): string {
  try {
    const { size, mtimeMs } = statSync(file);
    return `${String(size)} ${String(mtimeMs)}`;
  } catch {
    return '';
  }
}

function lastRun(workspace: Workspace, pipeline: string, stage: string): RunLogRecord {
  const record = openPipelines(workspace).logs.list(pipeline, stage)[0];
  if (record === undefined) {
    throw new SluiceError(`Stage ${pipeline}.${stage} has not run yet, so it has no log.`, 'failed');
  }
  return record;
}

export function formatStageLog(output: string, record: RunLogRecord): string {
  const ending = output === '' || output.endsWith('\n') ? '' : '\n';
  return `${output}${ending}— ${record.result} at ${record.startedAt} after ${formatDuration(record.durationMs)}, ${describeEnding(record)}\n`;
}

function stageLogUri(root: string, pipeline: string, stage: string): vscode.Uri {
  return vscode.Uri.from({
    scheme: STAGE_LOG_SCHEME,
    path: `/${pipeline}.${stage}.log`,
    query: new URLSearchParams({ root, pipeline, stage }).toString(),
  });
}

function parseStageLogUri(uri: vscode.Uri): { root: string; pipeline: string; stage: string } {
  const query = new URLSearchParams(uri.query);
  return {
    root: query.get('root') ?? '',
    pipeline: query.get('pipeline') ?? '',
    stage: query.get('stage') ?? '',
  };
}
