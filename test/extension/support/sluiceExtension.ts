// The extension under test, as other extensions see it: by id, with its exports.
import * as vscode from 'vscode';
import type { SluiceApi } from '../../../src/extension/sluiceExtension';
import { waitFor } from './waitFor';

export const EXTENSION_ID = 'sluice.sluice';

export function sluiceExtension(): vscode.Extension<SluiceApi> {
  const extension = vscode.extensions.getExtension<SluiceApi>(EXTENSION_ID);
  if (extension === undefined) throw new Error(`VS Code does not know the extension ${EXTENSION_ID}.`);
  return extension;
}

/**
 * The API once VS Code has activated the extension by itself (the example's
 * sluice.yaml is its activation event); never activates it on the test's behalf.
 */
export async function activatedApi(): Promise<SluiceApi> {
  const extension = sluiceExtension();
  await waitFor('the Sluice extension to be activated by the workspace', () => extension.isActive);
  return extension.exports;
}
