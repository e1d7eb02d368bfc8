// Monitoring through the UI (issue 19), on the churn example with a `monitor:`
// added to staging: `sluice monitor` runs outside the editor, as a service
// manager would run it, and the editor follows. Screenshots show the
// Environments view and the status bar healthy, failing (the status bar in its
// warning colour), and after the monitor rolled back by itself: the
// notification with the reason, and its button revealing the health history.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SHORT_ID_LENGTH } from '../../src/core/format';
import { CLI } from '../e2e/paths';
import { editorSessionForSuite } from './support/editorSession';
import { UI_TIMEOUT_MS } from './support/workbench';

const SHORT_ID = `[0-9a-f]{${String(SHORT_ID_LENGTH)}}`;
/** Staging runs the pipeline and its checks in a clean worktree. */
const STAGE_TIMEOUT_MS = 90_000;
const FAIL_FLAG = '.sluice/monitor-fails';

void describe('Monitoring: health in the view and the status bar, an automatic rollback (UI)', () => {
  const session = editorSessionForSuite({ scenario: 'monitor', trust: 'trusted' });

  const inWorkspace = (command: string, args: string[]): string => {
    const result = spawnSync(command, args, {
      cwd: session().workspace,
      encoding: 'utf8',
      env: { ...process.env, GIT_AUTHOR_NAME: 'UI Test', GIT_AUTHOR_EMAIL: 'ui@example.com' },
    });
    assert.equal(result.status, 0, `${command} ${args.join(' ')}: ${result.stderr}`);
    return result.stdout.trim();
  };
  const git = (...args: string[]): string =>
    inWorkspace('git', ['-c', 'user.name=UI Test', '-c', 'user.email=ui@example.com', ...args]);
  const sluice = (...args: string[]): ReturnType<typeof spawnSync> =>
    spawnSync(process.execPath, [CLI, ...args], { cwd: session().workspace, encoding: 'utf8' });
  const row = (name: RegExp) => session().workbench.treeItem('Environments', name);
  const liveInStaging = (): string =>
    git('log', '-1', '--format=%s', 'refs/sluice/environments/staging')
      .split(' ')[1]!
      .slice(0, SHORT_ID_LENGTH);

  let first = '';
  let second = '';

  void it('shows staging healthy, then failing with the status bar as a warning', async () => {
    const { workbench, workspace, manifestPath } = session();
    await workbench.step('monitored-releases', async () => {
      await workbench.openViewContainer('Sluice');
      // Wider, so a row's whole description (health included) shows in the screenshots.
      const sidebar = await workbench.page.locator('.part.sidebar').boundingBox();
      if (sidebar !== null) {
        const edge = { x: sidebar.x + sidebar.width + 1, y: sidebar.y + sidebar.height / 2 };
        await workbench.page.mouse.move(edge.x, edge.y);
        await workbench.page.mouse.down();
        await workbench.page.mouse.move(edge.x + 320, edge.y, { steps: 8 });
        await workbench.page.mouse.up();
      }
      await row(/^staging, nothing live/).waitFor({ timeout: UI_TIMEOUT_MS });
      writeFileSync(
        manifestPath,
        readFileSync(manifestPath, 'utf8').replace(
          '    pipeline: train\n',
          `    pipeline: train
    monitor:
      every: 2s
      on_failure: rollback
      after: 2
      checks:
        - name: service answers
          run: sh scripts/monitor-check.sh
          metrics: [.sluice/monitor.json]
        - name: latency
          metric: .sluice/monitor.json#latency_ms
          max: 1000
`,
        ),
      );
      writeFileSync(
        join(workspace, 'scripts/monitor-check.sh'),
        `mkdir -p .sluice\nprintf '{"latency_ms": %s}' "$(( $$ % 500 ))" > .sluice/monitor.json\n[ ! -f ${FAIL_FLAG} ]\n`,
      );
      git('add', 'sluice.yaml', 'scripts/monitor-check.sh');
      git('commit', '-q', '-m', 'Monitor staging');
      assert.equal(sluice('snapshot').status, 0);
      assert.equal(sluice('stage').status, 0);
      first = liveInStaging();
      git('commit', '-q', '--allow-empty', '-m', 'A second release');
      assert.equal(sluice('stage').status, 0);
      second = liveInStaging();
      await row(new RegExp(`^staging, ${second} · stage .* · health unknown`)).waitFor({
        timeout: STAGE_TIMEOUT_MS,
      });
      // It had nothing live when the view drew it: expand it to see its Live release, Health and History.
      const staging = row(/^staging, /);
      if ((await staging.getAttribute('aria-expanded')) !== 'true') await staging.click();
      await row(/^Health, health unknown: no monitor run yet/).waitFor({ timeout: UI_TIMEOUT_MS });
    });
    await workbench.step('healthy', async () => {
      assert.equal(sluice('monitor', 'staging', '--once').status, 0);
      await row(new RegExp(`^staging, ${second} · stage .* · healthy`)).waitFor({ timeout: UI_TIMEOUT_MS });
      await row(/^Health, healthy/).waitFor({ timeout: UI_TIMEOUT_MS });
      await workbench.statusBarItem(`staging ${second}`).waitFor({ timeout: UI_TIMEOUT_MS });
    });
    await workbench.step('failing', async () => {
      writeFileSync(join(workspace, FAIL_FLAG), '');
      assert.equal(sluice('monitor', 'staging', '--once').status, 1);
      await row(new RegExp(`^staging, ${second} · stage .* · failing`)).waitFor({ timeout: UI_TIMEOUT_MS });
      await row(/^Health, failing: service answers/).waitFor({ timeout: UI_TIMEOUT_MS });
      const item = workbench.page.locator('.part.statusbar .statusbar-item.warning-kind', {
        hasText: `staging ${second}`,
      });
      await item.waitFor({ timeout: UI_TIMEOUT_MS });
    });
  });

  void it('a monitor outside the editor rolls back by itself: a notification with the reason, and its button shows the history', async () => {
    const { workbench, workspace } = session();
    const monitor = spawn(process.execPath, [CLI, 'monitor', 'staging'], { cwd: workspace, stdio: 'ignore' });
    try {
      await workbench.step('rollback-notification', async () => {
        const toast = workbench.notification(/the monitor rolled staging back/);
        await toast.waitFor({ timeout: STAGE_TIMEOUT_MS });
        assert.match(
          await toast.innerText(),
          new RegExp(`from ${second} to ${first}: monitor: 2 consecutive failed runs`),
        );
        rmSync(join(workspace, FAIL_FLAG), { force: true });
        await row(new RegExp(`^staging, ${first} · auto-rollback`)).waitFor({ timeout: UI_TIMEOUT_MS });
      });
      await workbench.step('health-history', async () => {
        await workbench
          .notification(/the monitor rolled staging back/)
          .getByRole('button', { name: 'Show Health History' })
          .click();
        await row(/^Health, /).waitFor({ timeout: UI_TIMEOUT_MS });
        await row(new RegExp(`^fail · ${second}, .* · rolled back to ${first}`)).waitFor({
          timeout: UI_TIMEOUT_MS,
        });
        await workbench.statusBarItem(new RegExp(`staging ${first}`)).waitFor({ timeout: UI_TIMEOUT_MS });
      });
    } finally {
      monitor.kill('SIGTERM');
      await new Promise((resolve) => monitor.once('exit', resolve));
    }
    assert.match(
      git('log', '-1', '--format=%s', 'refs/sluice/environments/staging'),
      new RegExp(`^auto-rollback ${SHORT_ID}`),
    );
  });
});
