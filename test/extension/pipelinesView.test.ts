// The Pipelines view and its commands inside a real VS Code (code-server
// offline, @vscode/test-electron online), run by mocha in the extension host,
// on a fresh `sluice init --example churn` opened trusted. Each step checks the
// effect where it lands: the view's items, the outputs and records on disk, the
// editor that opens, the graph the webview was sent, and processes that must be
// gone after a cancel; then a pipeline with a `foreach` template, grouped
// under one node that Run runs whole. (Restricted Mode needs an untrusted
// window: the UI scenario test/ui/pipelines.test.ts checks that nothing runs
// there.)
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'mocha';
import * as vscode from 'vscode';
import type { RunJson } from '../../src/core/operations/results';
import type {
  PipelineNode,
  PipelinesNode,
  StageNode,
  TemplateNode,
} from '../../src/extension/pipelines/pipelineNodes';
import type { SluiceApi } from '../../src/extension/sluiceExtension';
import { activatedApi } from './support/sluiceExtension';
import { waitFor } from './support/waitFor';
import { revertAndCloseEditors, workspaceFolder } from './support/workspace';

let api: SluiceApi;
let root: string;

async function children(node?: PipelinesNode): Promise<PipelinesNode[]> {
  return (await api.pipelinesView.getChildren(node)) ?? [];
}

async function pipeline(name: string): Promise<PipelineNode | undefined> {
  return (await children()).find(
    (node): node is PipelineNode => node.kind === 'pipeline' && node.pipeline.name === name,
  );
}

async function stage(pipelineName: string, name: string): Promise<StageNode> {
  const owner = await pipeline(pipelineName);
  assert.ok(owner, `the view lists pipeline ${pipelineName}`);
  const found = (await children(owner)).find(
    (node): node is StageNode => node.kind === 'stage' && node.stage.name === name,
  );
  assert.ok(found, `pipeline ${pipelineName} lists stage ${name}`);
  return found;
}

async function templateNode(pipelineName: string, name: string): Promise<TemplateNode> {
  const owner = await pipeline(pipelineName);
  assert.ok(owner, `the view lists pipeline ${pipelineName}`);
  const found = (await children(owner)).find(
    (node): node is TemplateNode => node.kind === 'template' && node.template.name === name,
  );
  assert.ok(found, `pipeline ${pipelineName} lists template ${name}`);
  return found;
}

/** A node as the tree shows it: "label: description". */
async function shown(node: PipelinesNode): Promise<string> {
  const item = await api.pipelinesView.getTreeItem(node);
  return `${labelOf(item)}: ${String(item.description)}`;
}

/** A pipeline's children and, indented, each template's stages, as "label: description". */
async function outline(pipelineName: string): Promise<string[]> {
  const owner = await pipeline(pipelineName);
  if (owner === undefined) return [];
  const lines: string[] = [];
  for (const node of await children(owner)) {
    lines.push(await shown(node));
    for (const stageNode of await children(node)) lines.push(`  ${await shown(stageNode)}`);
  }
  return lines;
}

async function untilOutline(pipelineName: string, expected: readonly string[]): Promise<void> {
  await waitFor(`pipeline ${pipelineName} to show ${expected.join(' | ')}`, async () => {
    const lines = await outline(pipelineName);
    return JSON.stringify(lines) === JSON.stringify(expected) ? lines : false;
  });
}

/** Each stage of a pipeline as "name: description" (the state word the tree shows). */
async function stageStates(pipelineName: string): Promise<string[]> {
  const owner = await pipeline(pipelineName);
  if (owner === undefined) return [];
  const nodes = await children(owner);
  return Promise.all(
    nodes.map(async (node) => {
      const item = await api.pipelinesView.getTreeItem(node);
      return `${labelOf(item)}: ${String(item.description)}`;
    }),
  );
}

async function untilStates(pipelineName: string, expected: readonly string[]): Promise<void> {
  await waitFor(`pipeline ${pipelineName} to show ${expected.join(', ')}`, async () => {
    const states = await stageStates(pipelineName);
    return JSON.stringify(states) === JSON.stringify(expected) ? states : false;
  });
}

function labelOf(item: vscode.TreeItem): string {
  return typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('Pipelines view', () => {
  before(async () => {
    api = await activatedApi();
    root = workspaceFolder().uri.fsPath;
    assert.ok(vscode.workspace.isTrusted, 'these tests need a trusted workspace');
    await api.refresh();
  });

  after(async () => {
    await revertAndCloseEditors();
  });

  it('lists pipeline train with prepare and train, never run', async () => {
    const train = await pipeline('train');
    assert.ok(train, 'pipeline train is listed');
    const item = await api.pipelinesView.getTreeItem(train);
    assert.equal(item.contextValue, 'pipeline');
    assert.equal(item.description, '2 never run');
    await untilStates('train', ['prepare: never run', 'train: never run']);
    const prepare = await api.pipelinesView.getTreeItem(await stage('train', 'prepare'));
    assert.equal(prepare.contextValue, 'stage');
    assert.equal((prepare.iconPath as vscode.ThemeIcon).id, 'circle-large-outline');
  });

  it('Run Pipeline runs the stale stages: outputs on disk, every stage up to date, the log kept', async () => {
    const report = await vscode.commands.executeCommand<RunJson | undefined>('sluice.runPipeline', {
      pipeline: 'train',
    });
    assert.ok(report, 'the command returns the run, as `sluice run --json` prints it');
    assert.deepEqual(
      report.stages.map((s) => `${s.stage} ${s.result}`),
      ['prepare ran', 'train ran'],
    );
    assert.deepEqual(
      report.checks.map((check) => `${check.name} ${check.outcome}`),
      ['enough rows pass', 'accuracy floor pass'],
    );
    assert.equal(report.summary.ran, 2, 'the counts both faces print');
    for (const out of ['data/prepared', 'models/model.json', 'metrics.json'])
      assert.ok(existsSync(join(root, out)), `${out} was written`);
    await untilStates('train', ['prepare: up to date', 'train: up to date']);

    const editor = await vscode.commands.executeCommand<vscode.TextEditor>(
      'sluice.showStageLog',
      await stage('train', 'train'),
    );
    assert.equal(editor.document.uri.scheme, 'sluice-stage-log');
    assert.match(editor.document.getText(), /train: accuracy [\d.]+ on \d+ test users/);
    assert.match(editor.document.getText(), /— ran at .* exit code 0\n$/);
  });

  it('a changed param makes train stale; Force Run of a stage runs it and what it depends on, not what follows', async () => {
    const params = join(root, 'params.yaml');
    const original = readFileSync(params, 'utf8');
    try {
      writeFileSync(params, original.replace('epochs: 400', 'epochs: 50'));
      await untilStates('train', ['prepare: up to date', 'train: stale']);
      const tooltip = (await api.pipelinesView.getTreeItem(await stage('train', 'train'))).tooltip;
      assert.ok(typeof tooltip === 'string');
      assert.match(tooltip, /param train\.epochs changed \(400 → 50\)/);
    } finally {
      writeFileSync(params, original);
    }
    await untilStates('train', ['prepare: up to date', 'train: up to date']);

    const report = await vscode.commands.executeCommand<RunJson>(
      'sluice.forceRunStage',
      await stage('train', 'prepare'),
    );
    assert.deepEqual(
      report.stages.map((s) => `${s.stage} ${s.result}`),
      ['prepare ran'],
    );
    // The same inputs gave the same outputs: what reads them stays up to date.
    await untilStates('train', ['prepare: up to date', 'train: up to date']);
  });

  it('Reveal in Manifest selects the stage name in sluice.yaml', async () => {
    const editor = await vscode.commands.executeCommand<vscode.TextEditor>(
      'sluice.revealStageInManifest',
      await stage('train', 'prepare'),
    );
    assert.equal(editor.document.uri.fsPath, join(root, 'sluice.yaml'));
    assert.equal(editor.document.getText(editor.selection), 'prepare');
    assert.match(editor.document.lineAt(editor.selection.start.line).text, /^ {6}prepare:/);
  });

  it('Show Pipeline Graph opens a webview whose script asks for the graph: every stage coloured by state', async () => {
    const train = await pipeline('train');
    assert.ok(train);
    const panel = await vscode.commands.executeCommand<vscode.WebviewPanel>(
      'sluice.showPipelineGraph',
      train,
    );
    assert.equal(panel.title, 'Pipeline train');
    assert.match(
      panel.webview.html,
      /Content-Security-Policy" content="default-src 'none'; style-src [^;]+; script-src 'nonce-/,
    );
    // The graph is sent when the page's script says it is ready: it loaded under the policy.
    const graph = await waitFor('the graph page to receive the graph', () =>
      api.pipelineGraphs.shownGraphs().find((shown) => shown.pipeline === 'train'),
    );
    assert.deepEqual(
      graph.nodes.map((node) => `${node.id} ${node.state}`),
      ['prepare up-to-date', 'train up-to-date'],
    );
    assert.deepEqual(graph.edges, [{ from: 'prepare', to: 'train' }]);
    panel.dispose();
  });

  describe('a slow pipeline', () => {
    const manifestFile = (): string => join(root, 'sluice.yaml');
    let manifest: string;

    before(async () => {
      manifest = readFileSync(manifestFile(), 'utf8');
      // The stage records its pid and its child's, then waits: only a kill ends it.
      writeFileSync(
        join(root, 'slow.js'),
        [
          "const { spawn } = require('node:child_process');",
          "const child = spawn('sleep', ['120'], { stdio: 'ignore' });",
          "require('node:fs').writeFileSync('slow.pids', `${process.pid} ${child.pid}`);",
          'setTimeout(() => {}, 120000);',
          '',
        ].join('\n'),
      );
      const slow =
        '  slow:\n    stages:\n      wait:\n        run: node slow.js\n        deps: [slow.js]\n        outs: [slow.out]\n';
      writeFileSync(manifestFile(), manifest.replace('\nenvironments:', `${slow}\nenvironments:`));
      await waitFor('pipeline slow to be listed', () => pipeline('slow'));
    });

    after(async () => {
      writeFileSync(manifestFile(), manifest);
      for (const file of ['slow.js', 'slow.pids', 'slow.out']) rmSync(join(root, file), { force: true });
      await api.refresh();
    });

    it('Cancel stops the stage and everything it started, and records no success', async () => {
      const controller = new AbortController();
      const run = vscode.commands.executeCommand('sluice.runPipeline', {
        pipeline: 'slow',
        signal: controller.signal,
      });
      const pids = await waitFor('the slow stage to start', () => {
        try {
          // Both pids, or not yet: the file may be caught half written (and pid 0 is our own group).
          const pids = readFileSync(join(root, 'slow.pids'), 'utf8').trim().split(' ').map(Number);
          return pids.length === 2 && pids.every((pid) => Number.isInteger(pid) && pid > 0)
            ? pids
            : undefined;
        } catch {
          return undefined;
        }
      });
      await untilStates('slow', ['wait: running']);
      controller.abort();
      // A cancelled command resolves with nothing (the wrapper reports the cancel), not a report.
      assert.equal(await run, undefined);
      await waitFor('the stage and its child to be gone', () => pids.every((pid) => !isAlive(pid)), 5000);
      await untilStates('slow', ['wait: never run']);
      assert.ok(!existsSync(join(root, 'slow.out')));
      assert.ok(!existsSync(join(root, '.sluice/state/run.lock')), 'the run lock is released');
    });
  });

  describe('a foreach template', () => {
    const manifestFile = (): string => join(root, 'sluice.yaml');
    const KEYS = ['us', 'eu-west', 'ap+1'];
    const outputs = KEYS.map((key) => `region-${key}.txt`);
    let manifest: string;

    before(async () => {
      manifest = readFileSync(manifestFile(), 'utf8');
      const regions = [
        '  regions:',
        '    stages:',
        '      split:',
        `        foreach: [${KEYS.join(', ')}]`,
        '        do:',
        '          run: echo ${item} > region-${item}.txt',
        '          outs:',
        '            - region-${item}.txt',
        '',
      ].join('\n');
      writeFileSync(manifestFile(), manifest.replace('\nenvironments:', `${regions}\nenvironments:`));
      await waitFor('pipeline regions to be listed', () => pipeline('regions'));
    });

    after(async () => {
      writeFileSync(manifestFile(), manifest);
      for (const file of outputs) rmSync(join(root, file), { force: true });
      await api.refresh();
    });

    it('lists the template with its generated stages, labelled by key, the full name in each tooltip', async () => {
      await untilOutline('regions', [
        'split: 3 stages · 3 never run',
        '  us: never run',
        '  eu-west: never run',
        '  ap+1: never run',
      ]);
      const split = await templateNode('regions', 'split');
      const item = await api.pipelinesView.getTreeItem(split);
      assert.equal(item.contextValue, 'template');
      assert.equal(item.collapsibleState, vscode.TreeItemCollapsibleState.Expanded);
      const stages = await children(split);
      const tooltips = await Promise.all(
        stages.map(async (node) => {
          const { tooltip } = await api.pipelinesView.getTreeItem(node);
          return typeof tooltip === 'string' ? tooltip : '';
        }),
      );
      assert.deepEqual(
        tooltips.map((tooltip) => tooltip.split('\n')[0]),
        KEYS.map((key) => `regions.split@${key}: never run`),
      );
      // TreeView.reveal walks up through getParent: a generated stage's parent is its template.
      const parent = await api.pipelinesView.getParent?.(stages[0]!);
      assert.equal(parent?.kind, 'template');
      assert.equal((await api.pipelinesView.getTreeItem(parent)).id, item.id);
    });

    it('Run on the template runs every stage it generated: their files on disk, all up to date', async () => {
      const report = await vscode.commands.executeCommand<RunJson>(
        'sluice.runStage',
        await templateNode('regions', 'split'),
      );
      assert.ok(report, 'the command returns the run');
      assert.deepEqual(
        report.stages.map((s) => `${s.pipeline}.${s.stage} ${s.result}`),
        KEYS.map((key) => `regions.split@${key} ran`),
      );
      KEYS.forEach((key, index) => {
        assert.equal(readFileSync(join(root, outputs[index]!), 'utf8').trim(), key);
      });
      await untilOutline('regions', [
        'split: 3 stages · up to date',
        '  us: up to date',
        '  eu-west: up to date',
        '  ap+1: up to date',
      ]);

      // One output removed: that stage is stale, and so is its template (its worst).
      rmSync(join(root, outputs[1]!));
      await untilOutline('regions', [
        'split: 3 stages · 1 stale',
        '  us: up to date',
        '  eu-west: stale',
        '  ap+1: up to date',
      ]);
      const icon = (await api.pipelinesView.getTreeItem(await templateNode('regions', 'split')))
        .iconPath as vscode.ThemeIcon;
      assert.equal(icon.id, 'history');
      const again = await vscode.commands.executeCommand<RunJson>(
        'sluice.runStage',
        await templateNode('regions', 'split'),
      );
      assert.deepEqual(
        again.stages.map((s) => `${s.stage} ${s.result}`),
        ['split@us skipped', 'split@eu-west restored', 'split@ap+1 skipped'],
      );
      assert.equal(readFileSync(join(root, outputs[1]!), 'utf8').trim(), 'eu-west');
      await untilOutline('regions', [
        'split: 3 stages · up to date',
        '  us: up to date',
        '  eu-west: up to date',
        '  ap+1: up to date',
      ]);
    });

    it('a generated stage keeps its log and Reveal in Manifest; both reveal the template line', async () => {
      const split = await templateNode('regions', 'split');
      const eu = (await children(split))[1] as StageNode;
      const log = await vscode.commands.executeCommand<vscode.TextEditor>('sluice.showStageLog', eu);
      assert.equal(log.document.uri.scheme, 'sluice-stage-log');
      assert.match(log.document.getText(), /— ran at .* exit code 0\n$/);
      for (const node of [split, eu]) {
        const editor = await vscode.commands.executeCommand<vscode.TextEditor>(
          'sluice.revealStageInManifest',
          node,
        );
        assert.equal(editor.document.getText(editor.selection), 'split');
        assert.match(editor.document.lineAt(editor.selection.start.line).text, /^ {6}split:$/);
      }
    });

    it('the graph draws the stages by key inside a box for the template', async () => {
      const regions = await pipeline('regions');
      assert.ok(regions);
      const panel = await vscode.commands.executeCommand<vscode.WebviewPanel>(
        'sluice.showPipelineGraph',
        regions,
      );
      const graph = await waitFor('the graph of regions to be sent', () =>
        api.pipelineGraphs.shownGraphs().find((shownGraph) => shownGraph.pipeline === 'regions'),
      );
      assert.deepEqual(
        graph.nodes.map((node) => `${node.id} ${node.label} ${String(node.group)}`),
        KEYS.map((key) => `split@${key} ${key} template:split`),
      );
      assert.deepEqual(
        graph.groups.map((group) => `${group.label} ${group.state}`),
        ['split up-to-date'],
      );
      panel.dispose();
    });
  });
});
