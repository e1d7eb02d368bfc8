// Diagnostics travel from the language server (a child process of the
// extension host) to VS Code's problem list, on the right lines, and go away
// when the manifest is fixed. Edits are made in the editor and never saved.
import assert from 'node:assert/strict';
import { afterEach, before, describe, it } from 'mocha';
import * as vscode from 'vscode';
import { activatedApi } from './support/sluiceExtension';
import { waitFor } from './support/waitFor';
import { lineContaining, openManifest, replaceOnLine, revertAndCloseEditors } from './support/workspace';

interface Reported {
  /** 1-based, as a person reads it. */
  readonly line: number;
  readonly code: string;
  readonly severity: string;
}

function reported(document: vscode.TextDocument): Reported[] {
  return vscode.languages
    .getDiagnostics(document.uri)
    .map((diagnostic) => {
      assert.equal(diagnostic.source, 'sluice');
      const { code } = diagnostic;
      return {
        line: diagnostic.range.start.line + 1,
        code: typeof code === 'object' ? String(code.value) : String(code),
        severity: vscode.DiagnosticSeverity[diagnostic.severity],
      };
    })
    .sort((a, b) => a.line - b.line);
}

/**
 * Replaces `from` with `to` on the one line holding `lineText`, waits for the
 * server's diagnostics, compares them with `expected` (lines given by the text
 * on them after the edit), then undoes the edit and waits for the list to empty.
 */
async function breakAndFix(
  lineText: string,
  from: string,
  to: string,
  expected: readonly { readonly onLineWith: string; readonly code: string; readonly severity: string }[],
): Promise<void> {
  const document = await openManifest();
  const line = lineContaining(document, lineText);
  await replaceOnLine(document, line, from, to);
  const want = expected
    .map(({ onLineWith, code, severity }) => ({
      line: lineContaining(document, onLineWith) + 1,
      code,
      severity,
    }))
    .sort((a, b) => a.line - b.line);
  const got = await waitFor(`diagnostics ${want.map((d) => d.code).join(', ')}`, () => {
    const now = reported(document);
    return now.length >= want.length && now;
  });
  assert.deepEqual(got, want);

  await replaceOnLine(document, line, to, from);
  await waitFor('the diagnostics to clear after the fix', () => reported(document).length === 0).catch(
    (error: unknown) => {
      throw new Error(`${String(error)} Still reported: ${JSON.stringify(reported(document))}`);
    },
  );
}

describe('Manifest diagnostics from the language server', () => {
  before(async () => {
    const api = await activatedApi();
    await waitFor('the language client to be running', () => api.languageClient.isRunning());
  });

  afterEach(revertAndCloseEditors);

  it('reports a misspelt dataset where it is used, and the dataset left unread, until fixed', async () => {
    await breakAndFix('datasets: [events, users]', 'events', 'evnts', [
      { onLineWith: 'datasets: [evnts, users]', code: 'unknown-dataset', severity: 'Error' },
      { onLineWith: '  events:', code: 'unused-dataset', severity: 'Warning' },
    ]);
  });

  it('reports an unknown top-level key on its line, until fixed', async () => {
    await breakAndFix('name: churn-model', 'name', 'nmae', [
      { onLineWith: 'nmae: churn-model', code: 'unknown-key', severity: 'Error' },
    ]);
  });
});
