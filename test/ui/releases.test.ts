// Releases through the UI, on the churn example: Snapshot → Stage → Promote
// (confirming the modal) from the view → Stage a second release → Promote and
// Roll Back from the palette. After each step the Environments view's rows,
// the status bar and the disk (refs, deploy/production/current) agree.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SHORT_ID_LENGTH } from '../../src/core/format';
import { editorSessionForSuite } from './support/editorSession';
import { UI_TIMEOUT_MS } from './support/workbench';

/** A release id as both faces show it (core/format.ts). */
const SHORT_ID = `[0-9a-f]{${String(SHORT_ID_LENGTH)}}`;

/** Staging runs the pipeline and its checks in a clean worktree. */
const STAGE_TIMEOUT_MS = 90_000;

void describe('Releases: stage, promote and roll back (UI)', () => {
  const session = editorSessionForSuite({ scenario: 'releases', trust: 'trusted' });

  const git = (...args: string[]): string => {
    const result = spawnSync('git', ['-c', 'user.name=UI Test', '-c', 'user.email=ui@example.com', ...args], {
      cwd: session().workspace,
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, `git ${args.join(' ')}: ${result.stderr}`);
    return result.stdout.trim();
  };
  const liveInProduction = (): string =>
    readlinkSync(join(session().workspace, 'deploy/production/current'))
      .split('/')
      .pop()!
      .slice(0, SHORT_ID_LENGTH);
  const row = (name: RegExp) => session().workbench.treeItem('Environments', name);
  const quickPick = (name: RegExp) =>
    session().workbench.page.locator('.quick-input-widget').getByRole('option', { name }).first();

  let first = '';

  void it('stages a release and promotes it into production from the view, confirming the modal', async () => {
    const { workbench } = session();
    await workbench.step('environments-view', async () => {
      await workbench.openViewContainer('Sluice');
      await row(/^production, nothing live/).waitFor({ timeout: UI_TIMEOUT_MS });
    });
    await workbench.step('snapshot', async () => {
      await workbench.runCommand('Sluice: Snapshot Datasets');
      // The message box follows the palette: answer it (empty: the default message) once it shows.
      const message = workbench.page.locator(
        '.quick-input-widget input[placeholder="Snapshot of each dataset"]',
      );
      await message.waitFor({ timeout: UI_TIMEOUT_MS });
      await message.press('Enter');
      await workbench.treeItem('Data Snapshots', /^events, data\/raw\/events/).click();
      await workbench
        .treeItem('Data Snapshots', /^Changes on disk, none/)
        .waitFor({ timeout: UI_TIMEOUT_MS });
      assert.match(git('rev-parse', 'refs/sluice/datasets/events'), /^[0-9a-f]{40}$/);
    });
    await workbench.step('stage', async () => {
      await workbench.runCommand('Sluice: Stage Release');
      await row(new RegExp(`^staging, ${SHORT_ID} · stage`)).waitFor({ timeout: STAGE_TIMEOUT_MS });
      first = git('log', '-1', '--format=%s', 'refs/sluice/environments/staging')
        .split(' ')[1]!
        .slice(0, SHORT_ID_LENGTH);
      await workbench.statusBarItem(`staging ${first}`).waitFor({ timeout: UI_TIMEOUT_MS });
    });
    await workbench.step('promote-from-view', async () => {
      const production = row(/^production, /);
      await production.hover();
      await production.locator('a.action-label[aria-label^="Promote Release"]').click();
      const dialog = await workbench.dialog();
      assert.match(
        await dialog.innerText(),
        new RegExp(`Promote release ${SHORT_ID} from staging into production\\?`),
      );
      assert.match(await dialog.innerText(), /Metrics:/);
      await workbench.answerDialog('Promote');
      await row(new RegExp(`^production, ${first} · promote`)).waitFor({ timeout: STAGE_TIMEOUT_MS });
      assert.equal(liveInProduction(), first);
      await workbench
        .statusBarItem(`production ${first} · staging ${first}`)
        .waitFor({ timeout: UI_TIMEOUT_MS });
    });
  });

  void it('promotes a second release and rolls it back from the palette', async () => {
    const { workbench, workspace } = session();
    let second = '';
    await workbench.step('stage-second', async () => {
      appendFileSync(join(workspace, 'sluice.yaml'), '# a comment, so the code commit changes\n');
      git('commit', '-q', '-am', 'Explain the manifest');
      await workbench.runCommand('Sluice: Stage Release');
      const staged = row(new RegExp(`^staging, (?!${first})${SHORT_ID} · stage`));
      await staged.waitFor({ timeout: STAGE_TIMEOUT_MS });
      second = git('log', '-1', '--format=%s', 'refs/sluice/environments/staging')
        .split(' ')[1]!
        .slice(0, SHORT_ID_LENGTH);
    });
    await workbench.step('promote-from-palette', async () => {
      await workbench.runCommand('Sluice: Promote Release…');
      await quickPick(/^production/).click();
      const dialog = await workbench.dialog();
      assert.match(await dialog.innerText(), /1 commit added/);
      await workbench.answerDialog('Promote');
      await row(new RegExp(`^production, ${second} · promote`)).waitFor({ timeout: STAGE_TIMEOUT_MS });
      assert.equal(liveInProduction(), second);
    });
    await workbench.step('roll-back-from-palette', async () => {
      await workbench.runCommand('Sluice: Roll Back Environment…');
      await quickPick(/^production/).click();
      await quickPick(new RegExp(`^${first}`)).click();
      const dialog = await workbench.dialog();
      assert.match(
        await dialog.innerText(),
        new RegExp(`Roll production back from ${second} to ${first}\\?`),
      );
      await workbench.answerDialog('Roll Back');
      await row(new RegExp(`^production, ${first} · rollback`)).waitFor({ timeout: UI_TIMEOUT_MS });
      assert.equal(liveInProduction(), first);
      await workbench
        .statusBarItem(`production ${first} · staging ${second}`)
        .waitFor({ timeout: UI_TIMEOUT_MS });
    });
  });
});
