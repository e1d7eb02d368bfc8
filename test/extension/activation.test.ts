// The extension starts by itself on a Sluice workspace and hands out its API.
import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import * as vscode from 'vscode';
import { activatedApi, sluiceExtension } from './support/sluiceExtension';
import { waitFor } from './support/waitFor';
import { openManifest, revertAndCloseEditors } from './support/workspace';

describe('Activation on the churn example', () => {
  it('activates by itself, because the workspace holds sluice.yaml', async () => {
    const api = await activatedApi();
    assert.ok(sluiceExtension().isActive);
    assert.ok(api.languageClient, 'the exported API has the language client');
  });

  it('exports a language client that gets the server running', async () => {
    const api = await activatedApi();
    await waitFor('the language client to be running', () => api.languageClient.isRunning());
    assert.equal(api.languageClient.name, 'Sluice Language Server');
  });

  it('registers a handler for every command package.json contributes', async () => {
    await activatedApi();
    const contributed = (
      sluiceExtension().packageJSON as { contributes: { commands: readonly { command: string }[] } }
    ).contributes.commands.map(({ command }) => command);
    assert.ok(contributed.length > 0);
    const registered = new Set(await vscode.commands.getCommands(true));
    assert.deepEqual(
      contributed.filter((command) => !registered.has(command)),
      [],
      'contributed commands with no handler',
    );
  });

  it('opens sluice.yaml in the Sluice language', async () => {
    try {
      const document = await openManifest();
      assert.equal(document.languageId, 'sluice');
    } finally {
      await revertAndCloseEditors();
    }
  });
});
