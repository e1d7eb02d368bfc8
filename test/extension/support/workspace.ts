// The open workspace: one folder, a fresh `sluice init --example churn`. Tests
// change it through the editor, as a user would, and put it back afterwards.
import * as vscode from 'vscode';

export function workspaceFolder(): vscode.WorkspaceFolder {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length !== 1) throw new Error(`Expected one workspace folder, got ${String(folders.length)}.`);
  return folders[0]!;
}

export function manifestUri(): vscode.Uri {
  return vscode.Uri.joinPath(workspaceFolder().uri, 'sluice.yaml');
}

/** Opens sluice.yaml in an editor and returns its document. */
export async function openManifest(): Promise<vscode.TextDocument> {
  const document = await vscode.workspace.openTextDocument(manifestUri());
  await vscode.window.showTextDocument(document);
  return document;
}

/** The 0-based line of the only line of `document` that contains `text`. */
export function lineContaining(document: vscode.TextDocument, text: string): number {
  const lines = document.getText().split(/\r?\n/);
  const matches = lines.flatMap((line, index) => (line.includes(text) ? [index] : []));
  if (matches.length !== 1) {
    throw new Error(
      `Expected one line with "${text}" in ${document.uri.fsPath}, found ${String(matches.length)}.`,
    );
  }
  return matches[0]!;
}

/** Replaces the first `from` on `line` with `to`, in the editor (unsaved), as typing would. */
export async function replaceOnLine(
  document: vscode.TextDocument,
  line: number,
  from: string,
  to: string,
): Promise<void> {
  const column = document.lineAt(line).text.indexOf(from);
  if (column < 0) throw new Error(`Line ${String(line + 1)} has no "${from}".`);
  const edit = new vscode.WorkspaceEdit();
  edit.replace(document.uri, new vscode.Range(line, column, line, column + from.length), to);
  if (!(await vscode.workspace.applyEdit(edit)))
    throw new Error(`The edit of line ${String(line + 1)} was refused.`);
}

/** Drops unsaved changes in every editor and closes them: the next test starts from the files on disk. */
export async function revertAndCloseEditors(): Promise<void> {
  for (const document of vscode.workspace.textDocuments) {
    if (!document.isDirty) continue;
    await vscode.window.showTextDocument(document);
    await vscode.commands.executeCommand('workbench.action.files.revert');
  }
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}
