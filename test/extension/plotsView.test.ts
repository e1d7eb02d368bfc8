// The Plots view inside a real VS Code, on the shared churn example opened
// trusted (its train stage writes plots/loss.csv and plots/predictions.csv).
// Real records: the built CLI snapshots the data and runs `exp run --set`
// twice over, and one older record written without outputs stands for a run
// from before the plots were declared. Show Plots with {root, ids}, as the
// Experiments view calls it, opens the panel, and the document the page was
// sent overlays the runs' files, says which run lacks them, and holds the
// trends and the param/metric plots; a removed record leaves the view on its
// own. Everything added is taken away at the end. (The page itself, its
// canvases and the palette's pick are driven in the browser: test/ui/plots.test.ts.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'mocha';
import * as vscode from 'vscode';
import { writeExperiment } from '../../src/core/experiments/records';
import type { PlotSourceData, PlotView } from '../../src/core/plots/document';
import type { SluiceApi } from '../../src/extension/sluiceExtension';
import type { ShownPlots } from '../../src/extension/plots/plotsPanels';
import { openWorkspace } from '../../src/core/workspace';
import { activatedApi } from './support/sluiceExtension';
import { waitFor } from './support/waitFor';
import { revertAndCloseEditors, workspaceFolder } from './support/workspace';

const CLI = join(__dirname, '../../../dist/cli.js');

let api: SluiceApi;
let root: string;
let refsBefore: Set<string>;
/** Oldest first: the record without plot files, then the two `exp run` combinations. */
const runs: { id: string; name: string }[] = [];

function run(command: string, ...args: string[]): string {
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}

const sluice = (...args: string[]): string => run(process.execPath, CLI, ...args);

function sluiceRefs(): Set<string> {
  return new Set(run('git', 'for-each-ref', '--format=%(refname)', 'refs/sluice/').split('\n'));
}

/** What the open panel of the workspace was sent, once `accept` holds for it. */
async function shown(what: string, accept: (shown: ShownPlots) => boolean): Promise<ShownPlots> {
  let last: unknown;
  try {
    return await waitFor(
      what,
      () => {
        const panel = api.plotsPanels.shownPlots().find((open) => open.root === root);
        last = panel && { sources: panel.document?.sources, notice: panel.notice };
        return panel !== undefined && accept(panel) ? panel : undefined;
      },
      30_000,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message} Last shown: ${JSON.stringify(last)}`, { cause: error });
  }
}

function plot(panel: ShownPlots, id: string): PlotView {
  const found = panel.document?.plots.find((candidate) => candidate.id === id);
  assert.ok(
    found,
    `the document has ${id}; it has ${panel.document?.plots.map((p) => p.id).join(', ') ?? 'none'}`,
  );
  return found;
}

const kinds = (view: PlotView): string[] =>
  view.sources.map((source: PlotSourceData) =>
    source.kind === 'error' ? `${source.label}: ${source.error.code}` : `${source.label}: ${source.kind}`,
  );

describe('Plots view', function () {
  // Two isolated runs of the pipeline before the first test.
  this.timeout(120_000);

  before(async () => {
    api = await activatedApi();
    root = workspaceFolder().uri.fsPath;
    assert.ok(vscode.workspace.isTrusted, 'these tests need a trusted workspace');
    refsBefore = sluiceRefs();
    const workspace = await openWorkspace(root);
    const commit = await workspace.git.headCommit();
    const older = await writeExperiment(workspace.git, {
      format: 'sluice-experiment 1',
      name: 'before-plots',
      origin: 'queue',
      time: new Date(Date.now() - 60 * 60_000).toISOString(),
      actor: 'extension test',
      code: { commit, dirty: false, changes: null },
      snapshots: {},
      params: { 'prepare.test_fraction': 0.25, 'train.epochs': 100, 'train.learning_rate': 0.5 },
      overrides: { 'train.epochs': 100 },
      metrics: { 'metrics.json#accuracy': 0.8, 'metrics.json#precision': 0.7 },
      stages: [],
      signatures: {},
      outputs: [],
      release: null,
      from: null,
    });
    runs.push({ id: older.id, name: older.name });
    sluice('snapshot', '-m', 'Plots view test');
    const queued = JSON.parse(
      sluice('exp', 'run', '--set', 'train.epochs=5,400', '--name', 'plots', '--json'),
    ) as { experiments: { id: string; name: string }[] };
    runs.push(...queued.experiments.map(({ id, name }) => ({ id, name })));
    assert.deepEqual(
      runs.map((r) => r.name),
      ['before-plots', 'plots-1', 'plots-2'],
    );
  });

  after(async () => {
    await revertAndCloseEditors();
    for (const ref of sluiceRefs())
      if (ref !== '' && !refsBefore.has(ref)) run('git', 'update-ref', '-d', ref);
    await api.refresh();
  });

  it('Show Plots with {root, ids} overlays each run’s plot files, and a run without them is “not in this run”', async () => {
    const result = await vscode.commands.executeCommand('sluice.showPlots', {
      root,
      ids: runs.map((r) => r.id).reverse(),
    });
    assert.deepEqual(result, { root, ids: runs.map((r) => r.id).reverse() });
    const panel = await shown('the plots of the three runs', (open) => open.document?.sources.length === 3);
    assert.deepEqual(panel.document?.sources, ['before-plots', 'plots-1', 'plots-2'], 'oldest first');
    assert.equal(panel.notice, null);

    const loss = plot(panel, 'plots/loss.csv');
    assert.equal(loss.template, 'line');
    assert.deepEqual(kinds(loss), ['before-plots: plot-missing', 'plots-1: rows', 'plots-2: rows']);
    const [, short, long] = loss.sources;
    assert.ok(short?.kind === 'rows' && long?.kind === 'rows');
    assert.ok(long.rows.length > short.rows.length, 'a loss point every few epochs: more for more epochs');
    assert.deepEqual(Object.keys(short.rows[0]!), ['epoch', 'loss']);

    const confusion = plot(panel, 'plots/predictions.csv');
    assert.equal(confusion.template, 'confusion');
    assert.deepEqual(kinds(confusion), ['before-plots: plot-missing', 'plots-1: matrix', 'plots-2: matrix']);
    const matrix = confusion.sources[2]!;
    assert.ok(matrix.kind === 'matrix');
    assert.deepEqual(matrix.labels, ['0', '1']);
    assert.equal(matrix.total, 40, 'one row per test user');
  });

  it('the document holds each metric across the runs and train.epochs against the metrics that vary', async () => {
    const panel = await shown('the plots of the three runs', (open) => open.document?.sources.length === 3);
    const accuracy = plot(panel, 'experiments:trend:metrics.json#accuracy');
    assert.deepEqual(accuracy.derived, { kind: 'trend', metric: 'metrics.json#accuracy' });
    assert.deepEqual(
      accuracy.sources.map((source) =>
        source.kind === 'rows' ? source.rows[0]?.['experiment'] : source.kind,
      ),
      ['before-plots', 'plots-1', 'plots-2'],
    );
    const users = plot(panel, 'experiments:trend:metrics.json#test_users');
    assert.deepEqual(
      kinds(users)[0],
      'before-plots: plot-value-missing',
      'the older run wrote no such metric',
    );

    const scatters = panel.document!.plots.filter((view) => view.derived?.kind === 'param-metric');
    assert.ok(scatters.length > 0, 'at least one metric varies with the epochs');
    for (const view of scatters) {
      assert.equal(view.template, 'scatter');
      assert.equal(view.fields.x, 'train.epochs');
      const xs = view.sources.flatMap((source) =>
        source.kind === 'rows' ? [source.rows[0]?.['train.epochs']] : [],
      );
      assert.deepEqual(xs, [100, 5, 400]);
    }
  });

  it('a record removed under it (refs/sluice/ moves) is left out, and the view says so', async () => {
    // The ref writes of before() make the model read the folder again, watchers included: let that settle.
    await api.whenIdle();
    sluice('exp', 'remove', runs[1]!.id);
    const panel = await shown(
      'the view without plots-1',
      (open) => open.document?.sources.length === 2 && open.notice !== null,
    );
    assert.deepEqual(panel.document?.sources, ['before-plots', 'plots-2']);
    assert.match(panel.notice ?? '', /1 of the chosen experiments was removed/);
    assert.deepEqual(panel.ids, [runs[2]!.id, runs[0]!.id]);
  });
});
