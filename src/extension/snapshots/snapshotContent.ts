// Read-only documents for diffs: `sluice-snapshot:` serves a snapshot's file
// bytes straight from the blob cache, `sluice-summary:` the text summary of a
// diff whose files the diff editor cannot show. Neither can be edited or saved.
import { readFile } from 'node:fs/promises';
import * as vscode from 'vscode';
import { describeError } from '../../core/errors';
import { parseSnapshotContentQuery, snapshotContentQuery, type DiffSide } from './diffPlan';

export const SNAPSHOT_SCHEME = 'sluice-snapshot';
export const SUMMARY_SCHEME = 'sluice-summary';

/** Summaries kept for documents that may be reopened (the oldest go first). */
const KEPT_SUMMARIES = 20;

export class SnapshotContent implements vscode.TextDocumentContentProvider, vscode.Disposable {
  readonly #summaries = new Map<string, string>();
  readonly #registrations: vscode.Disposable[];
  #summaryCount = 0;

  constructor() {
    this.#registrations = [
      vscode.workspace.registerTextDocumentContentProvider(SNAPSHOT_SCHEME, this),
      vscode.workspace.registerTextDocumentContentProvider(SUMMARY_SCHEME, this),
    ];
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    if (uri.scheme === SUMMARY_SCHEME) {
      return this.#summaries.get(uri.toString()) ?? 'This summary is no longer kept: run the diff again.\n';
    }
    const content = parseSnapshotContentQuery(uri.query);
    if (content.kind === 'text') return content.text;
    try {
      return (await readFile(content.path)).toString('utf8');
    } catch (error) {
      throw new Error(
        `The cache has no readable copy of ${uri.path.slice(1)} (${describeError(error)}). Run \`sluice fsck\`.`,
        { cause: error },
      );
    }
  }

  /** The address of one side of a file diff; a file on disk is opened as itself. */
  sideUri(root: string, displayedPath: string, side: DiffSide): vscode.Uri {
    if (side.kind === 'disk') return vscode.Uri.file(side.absolutePath);
    return vscode.Uri.from({
      scheme: SNAPSHOT_SCHEME,
      path: `/${displayedPath}`,
      query: snapshotContentQuery(root, side),
    });
  }

  async showSummary(title: string, text: string): Promise<void> {
    const uri = vscode.Uri.from({
      scheme: SUMMARY_SCHEME,
      path: `/${title.replace(/[/\\]/g, '∕')}`,
      query: String(++this.#summaryCount),
    });
    this.#summaries.set(uri.toString(), text);
    for (const old of this.#summaries.keys()) {
      if (this.#summaries.size <= KEPT_SUMMARIES) break;
      this.#summaries.delete(old);
    }
    const document = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(document, { preview: true });
  }

  dispose(): void {
    for (const registration of this.#registrations) registration.dispose();
  }
}
