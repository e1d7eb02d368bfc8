// The Sluice language in the browser editor, through the packaged extension:
// the manifest opens as Sluice, completion offers the declared datasets, and a
// mistake shows in the Problems panel on its line until it is fixed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { editorSessionForSuite } from './support/editorSession';
import { positionOf } from './support/textPosition';
import { UI_TIMEOUT_MS } from './support/workbench';

void describe('The Sluice language in the editor (UI)', () => {
  const session = editorSessionForSuite({ scenario: 'language', trust: 'trusted' });

  void it('shows the example in the Explorer and opens sluice.yaml in the Sluice language mode', async () => {
    const { workbench } = session();
    await workbench.step('explorer', async () => {
      await workbench.openViewContainer('Explorer');
      const labels = await workbench.treeLabels('Explorer');
      for (const name of ['checks', 'data', 'src', 'params.yaml', 'sluice.yaml']) {
        assert.ok(labels.includes(name), `the Explorer lists ${name}: ${labels.join(', ')}`);
      }
    });
    await workbench.step('manifest-open', async () => {
      await workbench.treeItem('Explorer', 'sluice.yaml').click();
      await workbench.page
        .locator('.tab.active[aria-label^="sluice.yaml"]')
        .waitFor({ timeout: UI_TIMEOUT_MS });
      await workbench.statusBarItem(/^Sluice$/).waitFor({ timeout: UI_TIMEOUT_MS });
    });
  });

  void it('shows a misspelt dataset in the Problems panel on its line, and clears it when fixed', async () => {
    const { workbench, manifestPath } = session();
    const use = positionOf(manifestPath, 'datasets: [events, users]', 'events');
    const declaration = positionOf(manifestPath, '  events:', 'events');
    await workbench.openFile('sluice.yaml');

    await workbench.step('dataset-misspelt', () => workbench.replaceWordAt(use.line, use.column, 'evnts'));
    const shown = await workbench.step('problems-show-the-mistake', () =>
      workbench.waitForProblems([
        { severity: 'Error', message: 'Unknown dataset `evnts`', ...use, source: 'sluice' },
        { severity: 'Warning', message: 'No stage reads dataset `events`', ...declaration, source: 'sluice' },
      ]),
    );
    assert.equal(shown.length, 2);

    await workbench.step('dataset-fixed', () => workbench.replaceWordAt(use.line, use.column, 'events'));
    await workbench.step('problems-clear', () => workbench.waitForProblems([]));
  });

  void it('offers the declared datasets as completions in a stage dataset list', async () => {
    const { workbench, manifestPath } = session();
    const use = positionOf(manifestPath, 'datasets: [events, users]', 'events');
    await workbench.openFile('sluice.yaml');
    await workbench.goTo(use.line, use.column);
    const offered = await workbench.step('completions-offered', () => workbench.suggestions());
    await workbench.page.keyboard.press('Escape');
    // Exactly the datasets: the language server answered, not the editor's word-based fallback.
    assert.deepEqual([...offered].sort(), ['events', 'users']);
  });

  void it('runs Sluice: Restart Language Server from the palette, after which the manifest is still checked', async () => {
    const { workbench, manifestPath } = session();
    const use = positionOf(manifestPath, 'datasets: [events, users]', 'users');
    await workbench.step('server-restarted', () => workbench.runCommand('Sluice: Restart Language Server'));
    await workbench.openFile('sluice.yaml');
    await workbench.replaceWordAt(use.line, use.column, 'usrs');
    await workbench.step('problems-after-restart', () =>
      workbench.waitForProblems([
        { severity: 'Error', message: 'Unknown dataset `usrs`', ...use },
        { severity: 'Warning', message: 'No stage reads dataset `users`' },
      ]),
    );
    await workbench.replaceWordAt(use.line, use.column, 'users');
    await workbench.waitForProblems([]);
  });
});
