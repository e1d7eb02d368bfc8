// The Pipelines view in the browser editor, through the packaged extension:
// the example's stages show as never run, Run from the view's inline button
// runs them (outputs on disk, states up to date, a message with the counts),
// the pipeline graph opens and a click on a stage reveals it in sluice.yaml.
// Untrusted, the states still show (a stage template's too, grouped) and Run
// Pipeline, or Run on a template, refuses, saying why.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Frame, Locator } from 'playwright-core';
import { editorSessionForSuite } from './support/editorSession';
import { UI_TIMEOUT_MS, type Workbench } from './support/workbench';

const VIEW = 'Pipelines';

/** A stage's row (level 2: under its pipeline, whose row may read the same, such as "train, up to date"). */
function stageRow(workbench: Workbench, name: string, state: string): Locator {
  return workbench.view(VIEW).getByRole('treeitem', { name: new RegExp(`^${name}, ${state}$`), level: 2 });
}

function pipelineRow(workbench: Workbench, name: string, summary: string): Locator {
  return workbench.view(VIEW).getByRole('treeitem', { name: new RegExp(`^${name}, ${summary}$`), level: 1 });
}

/** The frame of the graph's page (webviews nest their page in iframes), once it has drawn a node. */
async function graphFrame(workbench: Workbench): Promise<Frame> {
  const deadline = Date.now() + UI_TIMEOUT_MS;
  for (;;) {
    for (const frame of workbench.page.frames()) {
      if (
        (await frame
          .locator('svg g.node')
          .count()
          .catch(() => 0)) > 0
      )
        return frame;
    }
    if (Date.now() > deadline)
      throw new Error('Timed out waiting for the pipeline graph to draw its stages.');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

void describe('The Pipelines view (UI)', () => {
  const session = editorSessionForSuite({ scenario: 'pipelines', trust: 'trusted' });

  void it('shows the example pipeline with prepare and train never run', async () => {
    const { workbench } = session();
    await workbench.step('pipelines-never-run', async () => {
      await workbench.openViewContainer('Sluice');
      await stageRow(workbench, 'prepare', 'never run').waitFor({ timeout: UI_TIMEOUT_MS });
      await stageRow(workbench, 'train', 'never run').waitFor({ timeout: UI_TIMEOUT_MS });
      await pipelineRow(workbench, 'train', '2 never run').waitFor({ timeout: UI_TIMEOUT_MS });
    });
  });

  void it('runs the pipeline from the view: outputs on disk, every stage up to date, a message with the counts', async () => {
    const { workbench, workspace } = session();
    await workbench.step('run-from-view', async () => {
      const row = pipelineRow(workbench, 'train', '2 never run');
      await row.hover();
      await row.locator('.action-label[aria-label="Run Pipeline"]').click();
    });
    await workbench.step('stages-up-to-date', async () => {
      await stageRow(workbench, 'prepare', 'up to date').waitFor({ timeout: UI_TIMEOUT_MS });
      await stageRow(workbench, 'train', 'up to date').waitFor({ timeout: UI_TIMEOUT_MS });
      await pipelineRow(workbench, 'train', 'up to date').waitFor({ timeout: UI_TIMEOUT_MS });
      await workbench
        .notification(/train: 2 ran, 0 restored, 0 up to date, 0 failed, checks 2\/2 passed/)
        .waitFor({ timeout: UI_TIMEOUT_MS });
    });
    for (const out of ['data/prepared', 'models/model.json', 'metrics.json'])
      assert.ok(existsSync(join(workspace, out)), `${out} was written`);
  });

  void it('opens the pipeline graph, coloured by state; a click on a stage reveals it in sluice.yaml', async () => {
    const { workbench } = session();
    const frame = await workbench.step('graph-open', async () => {
      await workbench.runCommand('Sluice: Show Pipeline Graph');
      await workbench.page
        .locator('.tab.active[aria-label^="Pipeline train"]')
        .waitFor({ timeout: UI_TIMEOUT_MS });
      return graphFrame(workbench);
    });
    assert.deepEqual(
      await frame
        .locator('svg g.node')
        .evaluateAll((nodes) =>
          nodes.map((node) => `${node.getAttribute('data-stage') ?? ''} ${node.getAttribute('class') ?? ''}`),
        ),
      ['prepare node state-up-to-date', 'train node state-up-to-date'],
    );
    assert.equal(await frame.locator('svg path.edge').count(), 1);
    await workbench.step('graph-click-reveals-stage', async () => {
      await frame.locator('svg g.node[data-stage="train"]').click();
      await workbench.page
        .locator('.tab.active[aria-label^="sluice.yaml"]')
        .waitFor({ timeout: UI_TIMEOUT_MS });
    });
  });
});

void describe('The Pipelines view untrusted, in Restricted Mode (UI)', () => {
  const session = editorSessionForSuite({ scenario: 'pipelines-restricted', trust: 'prompt' });

  void it('shows the stage states read from files, Run Pipeline refuses, offering to manage trust, and Cancel Slurm Jobs does not', async () => {
    const { workbench, workspace, manifestPath } = session();
    await workbench.step('restricted-mode', async () => {
      await workbench.answerDialog(/^No, I don't trust the authors/);
      await workbench.statusBarItem('Restricted Mode').waitFor({ timeout: UI_TIMEOUT_MS });
    });
    await workbench.step('states-shown', async () => {
      await workbench.openViewContainer('Sluice');
      await stageRow(workbench, 'prepare', 'never run').waitFor({ timeout: UI_TIMEOUT_MS });
      await workbench
        .view(VIEW)
        .getByText(/the states are read from the files only/)
        .waitFor({ timeout: UI_TIMEOUT_MS });
    });
    await workbench.step('restricted-template', async () => {
      // A pipeline with a `foreach` template, written on disk as another editor would.
      const regions = [
        '  regions:',
        '    stages:',
        '      split:',
        '        foreach: [us, eu-west]',
        '        do:',
        '          run: echo ${item} > region-${item}.txt',
        '          outs:',
        '            - region-${item}.txt',
        '',
      ].join('\n');
      const manifest = readFileSync(manifestPath, 'utf8');
      writeFileSync(manifestPath, manifest.replace('\nenvironments:', `${regions}\nenvironments:`));
      const template = workbench
        .view(VIEW)
        .getByRole('treeitem', { name: /^split, 2 stages · 2 never run$/, level: 2 });
      await template.waitFor({ timeout: UI_TIMEOUT_MS });
      await workbench
        .view(VIEW)
        .getByRole('treeitem', { name: /^eu-west, never run$/, level: 3 })
        .waitFor({ timeout: UI_TIMEOUT_MS });
      await template.hover();
      await template.locator('.action-label[aria-label="Run"]').click();
      const refusal = workbench.notification(/Sluice does not run pipelines in Restricted Mode/);
      await refusal.waitFor({ timeout: UI_TIMEOUT_MS });
      // Cleared, so the next step sees its own refusal.
      await workbench.runCommand('Notifications: Clear All Notifications');
      await refusal.waitFor({ state: 'hidden', timeout: UI_TIMEOUT_MS });
    });
    assert.ok(!existsSync(join(workspace, 'region-us.txt')), 'the template did not run');
    await workbench.step('run-refused', async () => {
      await workbench.runCommand('Sluice: Run Pipeline');
      const refusal = workbench.notification(/Sluice does not run pipelines in Restricted Mode/);
      await refusal.waitFor({ timeout: UI_TIMEOUT_MS });
      await refusal
        .getByRole('button', { name: 'Manage Workspace Trust' })
        .waitFor({ timeout: UI_TIMEOUT_MS });
    });
    assert.ok(!existsSync(join(workspace, 'data/prepared')), 'nothing ran');
    assert.ok(!existsSync(join(workspace, '.sluice/logs')), 'no run was logged');
    await workbench.step('cancel-allowed', async () => {
      // Cancelling Slurm jobs runs none of the workspace's code: it is not refused here,
      // and with no job open it says so (a real cluster's jobs: test/extension/slurmJobs.test.ts).
      await workbench.runCommand('Notifications: Clear All Notifications');
      await workbench.runCommand('Sluice: Cancel Slurm Jobs');
      await workbench
        .notification(/No Slurm job of this workspace is queued or running/)
        .waitFor({ timeout: UI_TIMEOUT_MS });
    });
  });
});
