// A stage's last run as a read-only document: what it printed, then one line
// saying how it ended. The URI names the workspace and the stage, so VS Code
// reopens the same document, and a later run's output replaces it.
import { formatDuration } from '../../core/format';
import * as vscode from 'vscode';
import { SluiceError } from '../../core/errors';
import { openPipelines } from '../../core/pipelines/context';
import { describeEnding, describeRestore, shownRun, type RunLogRecord } from '../../core/pipelines/logs';
import type { Workspace } from '../../core/workspace';

export const STAGE_LOG_SCHEME = 'sluice-stage-log';

export class StageLogs implements vscode.TextDocumentContentProvider, vscode.Disposable {
  readonly #changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.#changed.event;
  readonly #registration: vscode.Disposable;
  readonly #open = new Set<string>();

  constructor(private readonly workspaceAt: (root: string) => Workspace) {
    this.#registration = vscode.workspace.registerTextDocumentContentProvider(STAGE_LOG_SCHEME, this);
  }

  /** Opens the last run of `pipeline.stage` in the workspace at `root`; throws when it never ran. */
  async show(root: string, pipeline: string, stage: string): Promise<vscode.TextEditor> {
    lastRun(this.workspaceAt(root), pipeline, stage);
    const uri = stageLogUri(root, pipeline, stage);
    this.#open.add(uri.toString());
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
    const context = openPipelines(this.workspaceAt(root));
    // After a restore from the cache, the run that produced the outputs on disk, said so.
    const { run, restored } = shownRun(context.logs, context.state, pipeline, stage);
    const header = restored ? `${describeRestore(restored, run, `at ${restored.finishedAt}`)}\n` : '';
    if (run === undefined)
      return header || formatStageLog('', lastRun(this.workspaceAt(root), pipeline, stage));
    return header + formatStageLog(context.logs.output(run), run);
  }

  dispose(): void {
    this.#registration.dispose();
    this.#changed.dispose();
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
