// Opening the example without trusting it: VS Code asks, the answer "No" puts
// the window in Restricted Mode, and Sluice stays a reader there (its
// package.json declares untrusted workspaces supported): the manifest is still
// checked, while nothing of the user's runs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { editorSessionForSuite } from './support/editorSession';
import { positionOf } from './support/textPosition';
import { UI_TIMEOUT_MS } from './support/workbench';

void describe('The example opened untrusted, in Restricted Mode (UI)', () => {
  const session = editorSessionForSuite({ scenario: 'restricted-mode', trust: 'prompt' });

  void it('asks whether to trust the folder, and after "No" says it is in Restricted Mode', async () => {
    const { workbench } = session();
    const dialog = await workbench.step('trust-asked', () => workbench.dialog());
    assert.match(await dialog.innerText(), /Do you trust the authors of the files in this folder\?/);
    assert.match(
      await dialog.innerText(),
      new RegExp(session().workspace.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
    );

    await workbench.step('restricted-mode', async () => {
      await workbench.answerDialog(/^No, I don't trust the authors/);
      await workbench.statusBarItem('Restricted Mode').waitFor({ timeout: UI_TIMEOUT_MS });
      await workbench.page
        .getByText('Restricted Mode is intended for safe code browsing')
        .waitFor({ timeout: UI_TIMEOUT_MS });
    });
  });

  void it('still reports manifest problems in Restricted Mode, where the language server only reads', async () => {
    const { workbench, manifestPath } = session();
    const use = positionOf(manifestPath, 'datasets: [events, users]', 'users');
    await workbench.openFile('sluice.yaml');
    await workbench.step('dataset-misspelt', () => workbench.replaceWordAt(use.line, use.column, 'usrs'));
    await workbench.step('problem-shown', () =>
      workbench.waitForProblems([
        { severity: 'Error', message: 'Unknown dataset `usrs`', ...use },
        { severity: 'Warning', message: 'No stage reads dataset `users`' },
      ]),
    );
    await workbench.statusBarItem('Restricted Mode').waitFor({ timeout: UI_TIMEOUT_MS });
  });
});
