// Entry of dist/extension.js. Everything the extension does starts in SluiceExtension.
import type * as vscode from 'vscode';
import { SluiceExtension, type SluiceApi } from './sluiceExtension';

let extension: SluiceExtension | undefined;

export function activate(context: vscode.ExtensionContext): SluiceApi {
  extension = new SluiceExtension(context);
  return extension.api;
}

/** VS Code waits for the returned promise, so the language server shuts down cleanly. */
export function deactivate(): Promise<void> | undefined {
  return extension?.dispose();
}
