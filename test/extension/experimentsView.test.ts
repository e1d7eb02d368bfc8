// The Experiments view inside a real VS Code, on the shared churn example
// opened trusted: two experiment records written by the engine (as a run
// writes them, without running: the other suites expect the pipeline never
// run and no snapshot), then Show Experiments opens the panel and the table
// the page was sent holds them with their params, metrics and deltas; a
// record written meanwhile and a removal through the view's command reach the
// page too. The records are removed at the end. (Restricted Mode and the page
// itself are driven in the browser: test/ui/experiments.test.ts.)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'mocha';
import * as vscode from 'vscode';
import {
  listExperimentIds,
  removeExperiments,
  writeExperiment,
  type Experiment,
} from '../../src/core/experiments/records';
import type { ShowTableMessage } from '../../src/extension/experiments/messages';
import { openWorkspace } from '../../src/core/workspace';
import type { Workspace } from '../../src/core/workspace';
import type { SluiceApi } from '../../src/extension/sluiceExtension';
import { activatedApi } from './support/sluiceExtension';
import { waitFor } from './support/waitFor';
import { manifestUri, revertAndCloseEditors, workspaceFolder } from './support/workspace';

let api: SluiceApi;
let workspace: Workspace;
let panel: vscode.WebviewPanel;
const written: Experiment[] = [];

async function record(
  name: string,
  epochs: number,
  accuracy: number,
  minutesAgo: number,
): Promise<Experiment> {
  const commit = await workspace.git.headCommit();
  const experiment = await writeExperiment(workspace.git, {
    format: 'sluice-experiment 1',
    name,
    origin: 'queue',
    time: new Date(Date.now() - minutesAgo * 60_000).toISOString(),
    actor: 'extension test',
    code: { commit, dirty: false, changes: null },
    snapshots: {},
    params: { 'prepare.test_fraction': 0.25, 'train.epochs': epochs, 'train.learning_rate': 0.5 },
    overrides: epochs === 400 ? {} : { 'train.epochs': epochs },
    metrics: { 'metrics.json#accuracy': accuracy },
    stages: [
      { pipeline: 'train', stage: 'prepare', result: 'ran', durationMs: 10, runId: null },
      { pipeline: 'train', stage: 'train', result: 'ran', durationMs: 20, runId: null },
    ],
    signatures: {},
    outputs: [],
    release: null,
    from: null,
  });
  written.push(experiment);
  return experiment;
}

/** The table the open panel was sent last, once `accept` holds for it. */
async function shownTable(
  what: string,
  accept: (message: ShowTableMessage) => boolean,
  timeoutMs?: number,
): Promise<ShowTableMessage> {
  let last: unknown;
  try {
    return await waitFor(
      what,
      () => {
        const message = api.experimentPanels
          .shownTables()
          .find((shown) => shown.root === workspace.root)?.message;
        last = message?.type === 'table' ? message.table.experiments.map((row) => row.name) : message;
        return message?.type === 'table' && accept(message) ? message : undefined;
      },
      timeoutMs,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message} The page shows: ${JSON.stringify(last)}`, { cause: error });
  }
}

describe('Experiments view', () => {
  before(async () => {
    api = await activatedApi();
    assert.ok(vscode.workspace.isTrusted, 'these tests need a trusted workspace');
    workspace = await openWorkspace(workspaceFolder().uri.fsPath);
  });

  after(async () => {
    await revertAndCloseEditors();
    const left = written.filter((experiment) => experiment.id !== '');
    if (left.length > 0)
      await removeExperiments(
        workspace.git,
        left.map((experiment) => experiment.id),
      ).catch(() => []);
  });

  it('Show Experiments opens the panel and sends the records: params, metrics, deltas against HEAD', async () => {
    const baseline = await record('baseline run', 400, 0.8, 10);
    const varied = await record('fewer epochs', 50, 0.75, 5);
    panel = await vscode.commands.executeCommand<vscode.WebviewPanel>('sluice.showExperiments');
    assert.ok(panel, 'the command returns the panel');
    assert.equal(panel.viewType, 'sluice.experiments');
    const message = await shownTable('the table with both records', (m) => m.table.experiments.length >= 2);
    const { table } = message;
    assert.deepEqual(table.baseline, { kind: 'commit', name: 'HEAD', id: baseline.id });
    assert.ok(table.params.includes('train.epochs'));
    assert.ok(table.metrics.includes('metrics.json#accuracy'));
    const row = table.experiments.find((r) => r.id === varied.id);
    assert.ok(row, 'the varied run is a row');
    assert.equal(row.params['train.epochs'], 50);
    assert.deepEqual(row.changedParams, ['train.epochs']);
    assert.ok(Math.abs(row.deltas['metrics.json#accuracy']! - -0.05) < 1e-9);
    assert.deepEqual(message.environments, ['staging', 'production']);
    assert.deepEqual(message.paramsFile, {
      'prepare.test_fraction': 0.25,
      'train.epochs': 400,
      'train.learning_rate': 0.5,
    });
    assert.deepEqual(message.capabilities, { canRun: true, whyNot: null });

    // One panel per workspace: the command brings the same one forward.
    const again = await vscode.commands.executeCommand<vscode.WebviewPanel>('sluice.showExperiments');
    assert.equal(again, panel);
  });

  it('a record written meanwhile (a run in a terminal) shows when the tab comes back to the front', async () => {
    const late = await record('from a terminal', 200, 0.79, 1);
    // The model's ref watcher reloads the table by itself too, but a watcher's first
    // events after the window opens can be lost; showing the tab again always reads.
    await vscode.window.showTextDocument(manifestUri(), {
      viewColumn: panel.viewColumn ?? vscode.ViewColumn.Active,
    });
    panel.reveal();
    await shownTable('the table with the new record', (m) =>
      m.table.experiments.some((r) => r.id === late.id),
    );
  });

  it('Run Experiments before any snapshot writes no record (it fails, offering Snapshot Datasets)', async () => {
    const before = (await listExperimentIds(workspace.git)).sort();
    const result = await vscode.commands.executeCommand('sluice.runExperiments', {
      root: workspace.root,
      set: ['train.epochs=10,20'],
    });
    assert.equal(result, undefined, 'the registration loop reported the failure');
    assert.deepEqual((await listExperimentIds(workspace.git)).sort(), before);
  });

  it('Remove Experiments (confirmed) removes the records and the page is sent the table without them', async () => {
    const [first] = written;
    assert.ok(first);
    const removed = await vscode.commands.executeCommand<string[]>('sluice.removeExperiments', {
      root: workspace.root,
      ids: [first.id],
      confirmed: true,
    });
    assert.deepEqual(removed, [first.id]);
    written.splice(0, 1);
    await shownTable('the table without the removed record', (m) =>
      m.table.experiments.every((r) => r.id !== first.id),
    );
  });
});
