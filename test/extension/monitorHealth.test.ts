// Issue 19 in a real VS Code, on the churn example with a `monitor:` added to
// staging: real `sluice monitor` processes (dist/cli.js) write the health
// history outside the editor, and the editor learns of it by watching refs.
// The Environments view shows healthy, then failing naming the checks; the
// status bar warns and its click reveals the health; a long-running monitor
// rolls back by itself and the editor says so once (not again when it reads
// everything again); the metric check's values open as a chart; and with no
// run within 2 × every the health turns unknown by itself. Everything this
// file adds (commits, refs, .sluice/) is taken away at the end.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'mocha';
import * as vscode from 'vscode';
import type { StageJson } from '../../src/core/operations/results';
import type { EnvironmentsNode } from '../../src/extension/environments/model';
import type { HealthChartTarget } from '../../src/extension/environments/healthCommands';
import type { SluiceApi } from '../../src/extension/sluiceExtension';
import { activatedApi } from './support/sluiceExtension';
import { waitFor } from './support/waitFor';
import { workspaceFolder } from './support/workspace';

/** Staging runs the pipeline and the checks in a clean worktree: give it room on a busy machine. */
const STAGE_TIMEOUT_MS = 90_000;
const CLI = join(__dirname, '../../../dist/cli.js');
/** While this file exists, the monitor's command check fails. */
const FAIL_FLAG = '.sluice/monitor-fails';

const MONITOR = `
    monitor:
      every: 1s
      on_failure: rollback
      after: 2
      checks:
        - name: service answers
          run: sh scripts/monitor-check.sh
          metrics: [.sluice/monitor.json]
        - name: latency
          metric: .sluice/monitor.json#latency_ms
          max: 1000
`;
const CHECK_SCRIPT = `mkdir -p .sluice
printf '{"latency_ms": %s}' "$(( $$ % 500 ))" > .sluice/monitor.json
[ ! -f ${FAIL_FLAG} ]
`;

let api: SluiceApi;
let root: string;
let originalHead: string;

function git(...args: string[]): string {
  const result = spawnSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args], {
    cwd: root,
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}

function sluice(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [CLI, ...args], { cwd: root, encoding: 'utf8' });
}

async function children(node?: EnvironmentsNode): Promise<EnvironmentsNode[]> {
  return (await api.environmentsView.getChildren(node)) ?? [];
}

async function shown(node: EnvironmentsNode): Promise<string> {
  const item = await api.environmentsView.getTreeItem(node);
  return `${typeof item.label === 'string' ? item.label : (item.label?.label ?? '')}: ${String(item.description)}`;
}

async function staging(): Promise<EnvironmentsNode> {
  const found = (await children()).find(
    (node) => node.kind === 'environment' && node.environment.name === 'staging',
  );
  assert.ok(found, 'the view lists staging');
  return found;
}

async function healthNode(): Promise<EnvironmentsNode | undefined> {
  return (await children(await staging())).find((node) => node.kind === 'health');
}

/** Waits until staging's row (label: description) matches. */
async function stagingShows(pattern: RegExp, timeoutMs?: number): Promise<string> {
  return waitFor(
    `staging to show ${String(pattern)}`,
    async () => {
      const text = await shown(await staging());
      return pattern.test(text) ? text : undefined;
    },
    timeoutMs,
  );
}

async function stage(): Promise<string> {
  const result = await vscode.commands.executeCommand<StageJson | undefined>('sluice.stageRelease');
  assert.ok(result?.passed, 'Stage Release staged a release (see the Sluice log otherwise)');
  return result.release.id;
}

describe('Health of monitored environments', function () {
  this.timeout(STAGE_TIMEOUT_MS);
  let first = '';
  let second = '';

  before(async function () {
    this.timeout(3 * STAGE_TIMEOUT_MS);
    api = await activatedApi();
    root = workspaceFolder().uri.fsPath;
    originalHead = git('rev-parse', 'HEAD');
    const manifest = join(root, 'sluice.yaml');
    const text = spawnSync('git', ['show', 'HEAD:sluice.yaml'], { cwd: root, encoding: 'utf8' }).stdout;
    assert.equal(text.split('    pipeline: train\n').length, 2, 'staging names its pipeline once');
    writeFileSync(manifest, text.replace('    pipeline: train\n', `    pipeline: train${MONITOR}`));
    writeFileSync(join(root, 'scripts/monitor-check.sh'), CHECK_SCRIPT);
    git('add', 'sluice.yaml', 'scripts/monitor-check.sh');
    git('commit', '-q', '-m', 'Monitor staging');
    await api.refresh();
    await vscode.commands.executeCommand('sluice.snapshotDatasets', { message: 'Before staging' });
    first = await stage();
    git('commit', '-q', '--allow-empty', '-m', 'A second release');
    second = await stage();
    assert.notEqual(first, second);
  });

  after(async () => {
    for (const ref of git('for-each-ref', '--format=%(refname)', 'refs/sluice/').split('\n')) {
      if (ref !== '') git('update-ref', '-d', ref);
    }
    git('reset', '-q', '--hard', originalHead);
    rmSync(join(root, 'deploy'), { recursive: true, force: true, maxRetries: 3 });
    rmSync(join(root, '.sluice'), { recursive: true, force: true, maxRetries: 3 });
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await api.refresh();
  });

  it('before any run the health is unknown; a passing `sluice monitor --once` outside the editor makes it healthy', async () => {
    await stagingShows(/ · health unknown$/);
    const health = await healthNode();
    assert.ok(health, 'staging has a Health element');
    assert.match(await shown(health), /^Health: health unknown: no monitor run yet$/);
    const once = sluice('monitor', 'staging', '--once');
    assert.equal(once.status, 0, once.stderr);
    await stagingShows(/ · healthy$/);
    const runs = await children(await healthNode());
    assert.equal(runs.length, 1);
    assert.match(await shown(runs[0]!), new RegExp(`^pass · ${second.slice(0, 12)}: `));
    const checks = await Promise.all((await children(runs[0])).map(shown));
    assert.equal(checks[0], 'service answers: pass · exit code 0');
    assert.match(checks[1] ?? '', /^latency: pass · \.sluice\/monitor\.json#latency_ms = \d+/);
    assert.equal(api.statusBar().warning, false);
  });

  it('a failing run turns staging and the status bar to a warning; the click reveals the health', async () => {
    writeFileSync(join(root, FAIL_FLAG), '');
    const once = sluice('monitor', 'staging', '--once');
    assert.equal(once.status, 1, 'a failed check is exit 1');
    await stagingShows(/ · failing$/);
    assert.match(await shown((await healthNode())!), /^Health: failing: service answers · last run /);
    const bar = await waitFor('the status bar to warn', () =>
      api.statusBar().warning ? api.statusBar() : undefined,
    );
    assert.match(bar.text, /^\$\(warning\) .*staging /);
    assert.match(bar.tooltip, /staging is failing: service answers\./);
    assert.deepEqual(bar.reveals, { root, environment: 'staging' });
    const revealed = await vscode.commands.executeCommand('sluice.showHealth', bar.reveals);
    assert.deepEqual(revealed, { root, environment: 'staging' }, 'Show Health revealed the element');
    // From the environment's context menu: the tree element is the argument.
    const fromMenu = await vscode.commands.executeCommand('sluice.showHealth', await staging());
    assert.deepEqual(fromMenu, { root, environment: 'staging' });
  });

  it('a `sluice monitor` process rolls back by itself: one notification with the reason, not repeated on a full reread', async () => {
    assert.deepEqual(api.rollbackNotices(), []);
    const monitor = spawn(process.execPath, [CLI, 'monitor', 'staging'], { cwd: root, stdio: 'ignore' });
    try {
      const [notice] = await waitFor(
        'the rollback notification',
        () => (api.rollbackNotices().length > 0 ? api.rollbackNotices() : undefined),
        30_000,
      );
      assert.equal(notice?.environment, 'staging');
      assert.equal(notice.release, second);
      assert.equal(notice.rolledBackTo, first);
      assert.match(notice.reason, /2 consecutive failed runs .*service answers/);
    } finally {
      rmSync(join(root, FAIL_FLAG), { force: true });
      monitor.kill('SIGTERM');
      await new Promise((resolve) => monitor.once('exit', resolve));
    }
    assert.match(git('log', '-1', '--format=%s', 'refs/sluice/environments/staging'), /^auto-rollback /);
    await stagingShows(new RegExp(`^staging: ${first.slice(0, 12)} · auto-rollback `));
    await api.refresh();
    await api.whenIdle();
    assert.equal(api.rollbackNotices().length, 1, 'said once');
  });

  it("Show Metric Chart draws the latency check's values over time in a Plots panel", async () => {
    const target = await vscode.commands.executeCommand<HealthChartTarget | undefined>(
      'sluice.showHealthChart',
      {
        root,
        environment: 'staging',
        check: 'latency',
      },
    );
    assert.deepEqual(target, { root, environment: 'staging', checks: ['latency'] });
    const document = await waitFor(
      'the chart',
      () => api.plotsPanels.shownPlots().find((open) => open.health?.environment === 'staging')?.document,
    );
    assert.deepEqual(
      document.plots.map((plot) => plot.title),
      ['latency in staging'],
    );
    const [source] = document.plots[0]!.sources;
    assert.ok(source?.kind === 'rows' && source.rows.length >= 2, 'one point per run that measured it');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('with no run within 2 × every, the health turns unknown by itself (no file event needed)', async () => {
    // The monitor is stopped; one more run makes the rolled-back release healthy, then none comes.
    const once = sluice('monitor', 'staging', '--once');
    assert.equal(once.status, 0, once.stderr);
    await stagingShows(/ · healthy$/);
    const healthy = Date.now();
    const health = await waitFor(
      'the health to turn unknown',
      async () => {
        const node = await healthNode();
        const text = node === undefined ? '' : await shown(node);
        return /health unknown/.test(text) ? text : undefined;
      },
      10_000,
    );
    assert.match(health, /^Health: health unknown: no run lately · last run /);
    assert.ok(Date.now() - healthy >= 1000, 'healthy until 2 × every (2 s) after the run');
    assert.match(await shown(await staging()), / · health unknown$/);
    assert.equal(api.statusBar().warning, false);
  });
});
