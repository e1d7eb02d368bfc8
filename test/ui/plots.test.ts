// The Plots view in the browser editor, through the packaged extension, on the
// churn example with two experiments (the built CLI snapshots the data and runs
// `exp run --set train.epochs=5,400`): Sluice: Show Plots from the palette asks
// which runs, with the workspace and the newest checked; checking the other
// run too opens the view, whose canvases have drawn (not blank) for the loss
// curve, a metric's trend and the epochs/metric scatter, and the keyboard
// reaches a figure.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Frame } from 'playwright-core';
import { editorSessionForSuite } from './support/editorSession';
import { UI_TIMEOUT_MS, type Workbench } from './support/workbench';

const CLI = join(__dirname, '../../../dist/cli.js');

function sluice(cwd: string, ...args: string[]): string {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8' });
  assert.equal(result.status, 0, `sluice ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** The frame of the Plots page (webviews nest their page in iframes), once it has drawn a figure. */
async function plotsFrame(workbench: Workbench): Promise<Frame> {
  const deadline = Date.now() + UI_TIMEOUT_MS;
  for (;;) {
    for (const frame of workbench.page.frames()) {
      const figures = await frame
        .locator('#sluice-plots figure.plot canvas')
        .count()
        .catch(() => 0);
      if (figures > 0) return frame;
    }
    if (Date.now() > deadline) throw new Error('Timed out waiting for the Plots view to draw a figure.');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** How many pixels of the first canvas of the figures matching `selector` are not transparent. */
function inkOf(frame: Frame, selector: string): Promise<number> {
  return frame
    .locator(`${selector} canvas`)
    .first()
    .evaluate((canvas: HTMLCanvasElement) => {
      const context = canvas.getContext('2d');
      if (!context) return 0;
      const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
      let ink = 0;
      for (let at = 3; at < data.length; at += 4) if (data[at]! > 0) ink++;
      return ink;
    });
}

void describe('The Plots view (UI)', () => {
  const session = editorSessionForSuite({ scenario: 'plots', trust: 'trusted' });

  void it('Show Plots from the palette: pick two experiments, and the curve, the trend and the scatter draw', async () => {
    const { workbench, workspace } = session();
    sluice(workspace, 'snapshot', '-m', 'Plots UI test');
    const queued = JSON.parse(
      sluice(workspace, 'exp', 'run', '--set', 'train.epochs=5,400', '--name', 'plots', '--json'),
    ) as { experiments: { name: string }[] };
    assert.deepEqual(
      queued.experiments.map((run) => run.name),
      ['plots-1', 'plots-2'],
    );

    const pick = workbench.page.locator('.quick-input-widget');
    await workbench.step('pick-experiments', async () => {
      await workbench.runCommand('Sluice: Show Plots');
      // A multi-select pick's rows are checkboxes (role and aria-checked on the row).
      const rows = pick.locator('.quick-input-list .monaco-list-row');
      const older = rows.filter({ hasText: 'plots-1' });
      await older.waitFor({ timeout: UI_TIMEOUT_MS });
      const checked = (): Promise<string[]> =>
        pick
          .locator('.quick-input-list .monaco-list-row[aria-checked="true"]')
          .evaluateAll((found) => found.map((row) => row.textContent));
      const first = await checked();
      assert.equal(first.length, 2, `the workspace and the newest run are checked: ${first.join(' | ')}`);
      assert.ok(first[0]!.includes('workspace') && first[1]!.includes('plots-2'));
      // A click on a row of a multi-select pick toggles its check.
      await older.click();
      await pick
        .locator('.quick-input-list .monaco-list-row[aria-checked="true"]', { hasText: 'plots-1' })
        .waitFor({ timeout: UI_TIMEOUT_MS });
    });
    const frame = await workbench.step('plots-drawn', async () => {
      await workbench.page.keyboard.press('Enter');
      await workbench.page.locator('.tab.active[aria-label^="Plots"]').waitFor({ timeout: UI_TIMEOUT_MS });
      return plotsFrame(workbench);
    });
    const header = await frame.locator('#sluice-plots header').innerText();
    for (const name of ['plots-1', 'plots-2', 'workspace']) assert.match(header, new RegExp(name));

    for (const [what, selector] of [
      ['the loss curve', 'figure[data-plot="plots/loss.csv"]'],
      ['the accuracy trend', 'figure[data-plot="experiments:trend:metrics.json#accuracy"]'],
      ['a param/metric scatter', 'figure[data-plot^="experiments:param:train.epochs:"]'],
    ] as const) {
      await frame.locator(selector).first().scrollIntoViewIfNeeded();
      assert.ok((await inkOf(frame, selector)) > 500, `${what} drew on its canvas`);
    }
    await workbench.step('plots-scatter', async () => {
      await frame.locator('figure[data-plot^="experiments:param:"]').first().scrollIntoViewIfNeeded();
    });

    await workbench.step('keyboard-reaches-a-figure', async () => {
      await frame.locator('#sluice-plots header h1').click();
      await workbench.page.keyboard.press('Tab');
      const focused = await frame.evaluate(() => document.activeElement?.getAttribute('data-plot') ?? null);
      assert.equal(focused, 'plots/loss.csv', 'Tab moves to the first figure');
    });
  });
});
