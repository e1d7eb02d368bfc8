// The Environments view and its commands inside a real VS Code, on the churn
// example: Stage Release puts a release live in staging, a refused promotion
// changes nothing, Promote (confirmed through the command's options, as a
// keybinding would) puts it in production, Roll Back goes back. Each step is
// checked in the refs, on disk (deploy/production/current) and in the view.
// The workspace is shared with the other files: everything this file adds
// (commits, refs, .sluice/, deploy/) is taken away at the end.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'mocha';
import * as vscode from 'vscode';
import type { DeploymentJson, StageJson } from '../../src/core/operations/results';
import type { EnvironmentsNode } from '../../src/extension/environments/model';
import type { SluiceApi } from '../../src/extension/sluiceExtension';
import { activatedApi } from './support/sluiceExtension';
import { waitFor } from './support/waitFor';
import { workspaceFolder } from './support/workspace';

/** Staging runs the pipeline and the checks in a clean worktree: give it room on a busy machine. */
const STAGE_TIMEOUT_MS = 90_000;

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

function refOf(environment: string): string | undefined {
  const result = spawnSync(
    'git',
    ['rev-parse', '--verify', '-q', `refs/sluice/environments/${environment}`],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );
  return result.status === 0 ? result.stdout.trim() : undefined;
}

function liveOnDisk(): string {
  return readlinkSync(join(root, 'deploy/production/current')).split('/').pop()!;
}

/** Commits a change to the manifest, as a developer would before staging. */
function commitManifest(change: (text: string) => string, message: string): void {
  const file = join(root, 'sluice.yaml');
  writeFileSync(file, change(readFileSync(file, 'utf8')));
  git('commit', '-q', '-am', message);
}

async function children(node?: EnvironmentsNode): Promise<EnvironmentsNode[]> {
  return (await api.environmentsView.getChildren(node)) ?? [];
}

async function environment(name: string): Promise<EnvironmentsNode> {
  const found = (await children()).find(
    (node) => node.kind === 'environment' && node.environment.name === name,
  );
  assert.ok(found, `the view lists ${name}`);
  return found;
}

async function describe_(node: EnvironmentsNode): Promise<string> {
  const item = await api.environmentsView.getTreeItem(node);
  return `${typeof item.label === 'string' ? item.label : (item.label?.label ?? '')}: ${String(item.description)}`;
}

/** Stage Release resolves with what `sluice stage --json` prints. */
async function stage(): Promise<StageJson> {
  const result = await vscode.commands.executeCommand<StageJson | undefined>('sluice.stageRelease');
  assert.ok(result, 'Stage Release returned its result (it failed otherwise: see the Sluice log)');
  return result;
}

describe('Environments view', function () {
  this.timeout(STAGE_TIMEOUT_MS);

  before(async () => {
    api = await activatedApi();
    root = workspaceFolder().uri.fsPath;
    originalHead = git('rev-parse', 'HEAD');
    await api.refresh();
  });

  after(async () => {
    for (const ref of git('for-each-ref', '--format=%(refname)', 'refs/sluice/').split('\n')) {
      if (ref !== '') git('update-ref', '-d', ref);
    }
    git('reset', '-q', '--hard', originalHead);
    rmSync(join(root, 'deploy'), { recursive: true, force: true, maxRetries: 3 });
    rmSync(join(root, '.sluice'), { recursive: true, force: true, maxRetries: 3 });
    await api.refresh();
  });

  it('lists the workspace, then staging and production in promotion order, nothing live', async () => {
    const labels = await Promise.all((await children()).map(describe_));
    assert.deepEqual(labels, [
      `workspace: code ${originalHead.slice(0, 12)}`,
      'staging: nothing live · from workspace',
      'production: nothing live · from staging',
    ]);
    assert.equal(api.statusBarText(), '$(rocket) production — · staging —');
  });

  it('Stage Release puts a release live in staging: its ref moves and the view shows the release', async () => {
    await vscode.commands.executeCommand('sluice.snapshotDatasets', { message: 'Before staging' });
    const result = await stage();
    assert.equal(result.passed, true);
    const short = result.release.id.slice(0, 12);
    assert.match(refOf('staging') ?? '', /^[0-9a-f]{40}$/);
    assert.equal(refOf('production'), undefined);
    const staging = await environment('staging');
    assert.match(await describe_(staging), new RegExp(`^staging: ${short} · stage `));
    const [live, history] = await children(staging);
    assert.match(
      await describe_(live!),
      new RegExp(`^Live release ${short}: code ${originalHead.slice(0, 12)} · `),
    );
    const details = await Promise.all((await children(live)).map(describe_));
    assert.ok(details.includes(`code: ${originalHead.slice(0, 12)}`), details.join('\n'));
    assert.ok(
      details.some((line) => line.startsWith('metrics.json#accuracy: 0.')),
      details.join('\n'),
    );
    assert.ok(
      details.some((line) => line.startsWith('accuracy floor: pass')),
      details.join('\n'),
    );
    assert.deepEqual(
      (await Promise.all((await children(history)).map(describe_))).map((line) => line.split(':')[0]),
      [`stage ${short}`],
    );
    await waitFor('the status bar to show staging', () =>
      api.statusBarText().includes(`staging ${short}`) ? true : undefined,
    );
  });

  it('a promotion refused by a gate changes nothing', async () => {
    // On a first promotion the gates come from the candidate's own commit: make them unreachable there.
    commitManifest(
      (text) => text.replace('no_regression: 0.01', 'no_regression: 0.01\n        min: 0.999'),
      'Demand an accuracy no model reaches',
    );
    await stage();
    const stagingRef = refOf('staging');
    const result = await vscode.commands.executeCommand('sluice.promoteRelease', {
      environment: 'production',
      confirmed: true,
    });
    assert.equal(result, undefined, 'the command reports the refusal instead of a result');
    assert.equal(refOf('production'), undefined, 'production has no history');
    assert.equal(refOf('staging'), stagingRef);
    assert.match(await describe_(await environment('production')), /nothing live/);
    commitManifest((text) => text.replace('\n        min: 0.999', ''), 'Back to the usual gates');
  });

  let first: string;
  let second: string;

  it('Promote puts the staged release live in production: history, `current` and the view agree', async () => {
    first = (await stage()).release.id;
    await api.whenIdle();
    const readsBefore = new Map(api.datasetReads());
    const result = await vscode.commands.executeCommand<DeploymentJson | undefined>('sluice.promoteRelease', {
      environment: 'production',
      confirmed: true,
    });
    await api.whenIdle();
    assert.ok(result, 'the promotion ran');
    // A promotion moves environment refs: the environments are read again, no dataset is.
    assert.deepEqual(new Map(api.datasetReads()), readsBefore, 'no dataset was read again');
    assert.equal(result.release, first);
    assert.equal(result.failure, null);
    assert.equal(result.action, 'promote');
    assert.ok(result.gates && result.gates.length > 0, 'every gate is in the result, as in promote --json');
    assert.equal(liveOnDisk(), first);
    assert.match(git('log', '-1', '--format=%B', 'refs/sluice/environments/production'), /^promote /);
    const production = await environment('production');
    assert.match(await describe_(production), new RegExp(`^production: ${first.slice(0, 12)} · promote `));
    await waitFor('the status bar to show production', () =>
      api.statusBarText().startsWith(`$(rocket) production ${first.slice(0, 12)} · staging`)
        ? true
        : undefined,
    );
  });

  it('Compare with Upstream lists the commit between two live releases; Roll Back goes back, and the history says so', async () => {
    commitManifest((text) => `${text}# a comment, so the code commit changes\n`, 'Explain the manifest');
    second = (await stage()).release.id;
    assert.notEqual(second, first);
    const comparison = await vscode.commands.executeCommand<{ code: { commits: unknown[] } } | undefined>(
      'sluice.compareWithUpstream',
      await environment('production'),
    );
    assert.ok(comparison, 'the comparison ran');
    assert.equal(comparison.code.commits.length, 1, 'one commit between the live releases');
    const document = await waitFor('the comparison document', () =>
      vscode.window.activeTextEditor?.document.uri.scheme === 'sluice-summary'
        ? vscode.window.activeTextEditor.document
        : undefined,
    );
    assert.match(document.getText(), /Explain the manifest/);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');

    await vscode.commands.executeCommand('sluice.promoteRelease', {
      environment: 'production',
      confirmed: true,
    });
    assert.equal(liveOnDisk(), second);
    const result = await vscode.commands.executeCommand<DeploymentJson | undefined>(
      'sluice.rollBackEnvironment',
      {
        environment: 'production',
        release: first,
        confirmed: true,
      },
    );
    assert.ok(result, 'the rollback ran');
    assert.equal(result.release, first);
    assert.equal(result.previous, second);
    assert.equal(result.action, 'rollback');
    assert.equal(result.comparison?.to.release, first, 'the comparison shown before, as in rollback --json');
    assert.equal(liveOnDisk(), first);
    const history = (await children(await environment('production')))[1]!;
    assert.deepEqual(
      (await Promise.all((await children(history)).map(describe_))).map((line) => line.split(':')[0]),
      [`rollback ${first.slice(0, 12)}`, `promote ${second.slice(0, 12)}`, `promote ${first.slice(0, 12)}`],
    );
  });

  it('Compare Environments takes both sides as options: environment, then with', async () => {
    const comparison = await vscode.commands.executeCommand<
      { fromLabel: string; toLabel: string; to: { id: string } } | undefined
    >('sluice.compareEnvironments', { environment: 'production', with: 'staging' });
    assert.ok(comparison, 'the comparison ran without a prompt');
    assert.deepEqual([comparison.fromLabel, comparison.toLabel], ['production', 'staging']);
    assert.equal(comparison.to.id, second, 'the newer side is what is live in staging');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });
});
