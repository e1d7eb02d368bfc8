// The Pipelines view's data and looks, and the pipeline graph's layout input,
// without VS Code: the churn example in a temp folder, read through the same
// calls the view makes (trusted and in Restricted Mode), run by the real
// runner, turned into the view's elements, their labels, icons and menus, and
// into the graph dagre lays out.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { initWorkspace } from '../../src/core/operations/init';
import { openPipelines } from '../../src/core/pipelines/context';
import { runPipelines } from '../../src/core/pipelines/runner';
import { openWorkspace } from '../../src/core/workspace';
import { discoverFolder, type FolderState } from '../../src/extension/folders';
import { layoutGraph, layoutInput, nodeWidth } from '../../src/extension/pipelines/graph/graphLayout';
import { parseWebviewMessage, pipelineGraph } from '../../src/extension/pipelines/graph/graphModel';
import {
  describeNode,
  rootNodes,
  shownState,
  stageNodes,
  summarizeStages,
  type FolderPipelines,
  type NodeLook,
  type PipelineNode,
  type RunProgress,
  type StageNode,
} from '../../src/extension/pipelines/pipelineNodes';
import { readFolderPipelines } from '../../src/extension/pipelines/pipelineStates';
import { clearVariablesRefusedBySimpleGit, removeTree } from '../support/workspace';

clearVariablesRefusedBySimpleGit();

async function example(t: TestContext): Promise<string> {
  const parent = mkdtempSync(join(tmpdir(), 'sluice-pipelines-view-'));
  t.after(() => {
    removeTree(parent);
  });
  const root = join(parent, 'churn');
  await initWorkspace(root, { example: 'churn' });
  return root;
}

async function read(root: string, trusted = true): Promise<{ state: FolderState; view: FolderPipelines }> {
  const state = await discoverFolder(root, { trusted });
  return { state, view: readFolderPipelines(state) };
}

function onlyPipeline(view: FolderPipelines): PipelineNode {
  const nodes = rootNodes([view]);
  assert.equal(nodes.length, 1, 'one folder: its pipelines are the top of the tree');
  const node = nodes[0];
  assert.ok(node?.kind === 'pipeline', 'the top node is a pipeline');
  return node;
}

function stages(node: PipelineNode, progress: Record<string, RunProgress> = {}): StageNode[] {
  return stageNodes(node, (_root, id) => progress[id]);
}

/** The looks of the example's two stages, prepare then train. */
function looks(node: PipelineNode, progress: Record<string, RunProgress> = {}): [NodeLook, NodeLook] {
  const [prepare, train, ...more] = stages(node, progress).map((stage) => describeNode(stage));
  assert.ok(prepare && train && more.length === 0, 'the example has two stages');
  return [prepare, train];
}

async function runAll(root: string): Promise<void> {
  const report = await runPipelines(openPipelines(await openWorkspace(root)), { jobs: 1 });
  assert.deepEqual(
    report.stages.map((stage) => [stage.stage, stage.result]),
    [
      ['prepare', 'ran'],
      ['train', 'ran'],
    ],
  );
}

void describe('Pipelines view model', () => {
  void test('a fresh example: pipeline train with prepare → train, both never run', async (t) => {
    const root = await example(t);
    const { view } = await read(root);
    assert.equal(view.problem, undefined);
    const pipeline = onlyPipeline(view);
    const pipelineLook = describeNode(pipeline);
    assert.equal(pipelineLook.label, 'train');
    assert.equal(pipelineLook.description, '2 never run');
    assert.equal(pipelineLook.contextValue, 'pipeline');
    assert.equal(pipelineLook.collapsible, 'expanded');

    const [prepare, train] = looks(pipeline);
    assert.equal(prepare.label, 'prepare');
    assert.equal(prepare.description, 'never run');
    assert.deepEqual(prepare.icon, { id: 'circle-large-outline', color: 'testing.iconUnset' });
    assert.equal(prepare.contextValue, 'stage');
    assert.match(prepare.tooltip, /^train\.prepare: never run\n/);
    assert.match(prepare.tooltip, /\$ node src\/prepare\.js/);
    assert.equal(train.label, 'train');
    assert.match(train.tooltip, /after prepare/);
    assert.match(train.tooltip, /writes models\/model\.json, plots, metrics\.json/);

    // Reveal in Manifest selects the stage's name: the offset points at it.
    const manifest = readFileSync(join(root, 'sluice.yaml'), 'utf8');
    for (const stage of pipeline.pipeline.stages) {
      assert.equal(manifest.slice(stage.offset, stage.offset + stage.name.length), stage.name);
    }
  });

  void test('after a run every stage is up to date; a param change makes train stale, with the reason in its tooltip', async (t) => {
    const root = await example(t);
    await runAll(root);
    const after = onlyPipeline((await read(root)).view);
    assert.equal(describeNode(after).description, 'up to date');
    assert.deepEqual(
      looks(after).map((look) => [look.label, look.description, look.icon.id]),
      [
        ['prepare', 'up to date', 'pass'],
        ['train', 'up to date', 'pass'],
      ],
    );

    const params = join(root, 'params.yaml');
    writeFileSync(params, readFileSync(params, 'utf8').replace('epochs: 400', 'epochs: 50'));
    const edited = onlyPipeline((await read(root)).view);
    const [prepare, train] = looks(edited);
    assert.equal(prepare.description, 'up to date');
    assert.equal(train.description, 'stale');
    assert.deepEqual(train.icon, { id: 'history', color: 'list.warningForeground' });
    assert.match(train.tooltip, /• param train\.epochs changed \(400 → 50\)/);
    assert.equal(describeNode(edited).description, '1 stale, 1 up to date');
  });

  void test('a failing stage shows failed, with why; what depends on it says so', async (t) => {
    const root = await example(t);
    const script = join(root, 'src/prepare.js');
    writeFileSync(script, 'process.exit(3);\n');
    const report = await runPipelines(openPipelines(await openWorkspace(root)), { jobs: 1 });
    assert.equal(report.stages.find((stage) => stage.stage === 'prepare')?.result, 'failed');
    const [prepare, train] = looks(onlyPipeline((await read(root)).view));
    assert.equal(prepare.description, 'failed');
    assert.deepEqual(prepare.icon, { id: 'error', color: 'testing.iconFailed' });
    assert.match(prepare.tooltip, /exit code 3/);
    assert.match(train.tooltip, /upstream stage prepare is failed/);
  });

  void test('while a run goes on, a running stage spins and offers no Run; a finished one shows its result', async (t) => {
    const root = await example(t);
    const pipeline = onlyPipeline((await read(root)).view);
    const [prepare, train] = looks(pipeline, {
      'train.prepare': { kind: 'finished', result: 'ran' },
      'train.train': { kind: 'running' },
    });
    assert.equal(prepare.description, 'up to date');
    assert.equal(train.description, 'running');
    assert.deepEqual(train.icon, { id: 'loading~spin', color: undefined });
    assert.equal(train.contextValue, 'stage.running');

    const stage = pipeline.pipeline.stages[0]!;
    assert.equal(shownState(stage, undefined), 'never-run');
    assert.equal(shownState(stage, { kind: 'finished', result: 'restored' }), 'up-to-date');
    assert.equal(shownState(stage, { kind: 'finished', result: 'failed' }), 'failed');
    assert.equal(shownState(stage, { kind: 'finished', result: 'not-run' }), 'never-run');
    assert.equal(
      summarizeStages(['up-to-date', 'running', 'failed', 'failed']),
      '1 running, 2 failed, 1 up to date',
    );
  });

  void test('Restricted Mode shows the same states, reading files only: nothing is written', async (t) => {
    const root = await example(t);
    await runAll(root);
    const params = join(root, 'params.yaml');
    writeFileSync(params, readFileSync(params, 'utf8').replace('epochs: 400', 'epochs: 50'));
    const stateDir = join(root, '.sluice/state');
    const before = listing(stateDir);

    const { state, view } = await read(root, false);
    assert.equal(state.kind, 'restricted');
    assert.equal(view.problem, undefined);
    assert.deepEqual(
      looks(onlyPipeline(view)).map((look) => [look.label, look.description]),
      [
        ['prepare', 'up to date'],
        ['train', 'stale'],
      ],
    );
    assert.deepEqual(listing(stateDir), before, 'no record or cache in .sluice/state/ was written');
  });

  void test('several folders: a node per folder with a manifest; folders without one are left out', async (t) => {
    const root = await example(t);
    const { view } = await read(root);
    const empty = mkdtempSync(join(tmpdir(), 'sluice-no-manifest-'));
    t.after(() => {
      removeTree(empty);
    });
    const none = await read(empty);
    const nodes = rootNodes([view, none.view]);
    assert.deepEqual(
      nodes.map((node) => [node.kind, describeNode(node).label]),
      [['folder', 'churn']],
    );
  });
});

void describe('Pipeline graph', () => {
  void test('a node per stage coloured by its shown state, an edge from each upstream stage, laid out left to right', async (t) => {
    const root = await example(t);
    const pipeline = onlyPipeline((await read(root)).view);
    const graph = pipelineGraph(pipeline.pipeline, (stage) =>
      stage.name === 'train' ? 'running' : stage.state,
    );
    assert.deepEqual(
      graph.nodes.map((node) => [node.id, node.state]),
      [
        ['prepare', 'never-run'],
        ['train', 'running'],
      ],
    );
    assert.equal(graph.nodes[0]?.detail.split('\n')[0], 'train.prepare: never run');
    assert.deepEqual(graph.edges, [{ from: 'prepare', to: 'train' }]);

    const input = layoutInput(graph);
    assert.deepEqual(input.nodes(), ['prepare', 'train']);
    assert.deepEqual(
      input.edges().map((edge) => [edge.v, edge.w]),
      [['prepare', 'train']],
    );
    assert.equal(input.node('prepare').width, nodeWidth('prepare'));

    const placed = layoutGraph(graph);
    const [prepare, train] = placed.nodes;
    assert.ok(prepare && train);
    assert.ok(prepare.x + prepare.width <= train.x, 'the upstream stage is left of what reads its outputs');
    assert.ok(placed.width >= train.x + train.width && placed.height >= train.y + train.height);
    assert.ok((placed.edges[0]?.points.length ?? 0) >= 2, 'the edge has a route');
  });

  void test('a wider DAG: independent stages share a rank; names outside the pipeline draw no edge', () => {
    const stage = (name: string, upstream: string[]) => ({
      id: `p.${name}`,
      pipeline: 'p',
      name,
      run: 'true',
      state: 'never-run' as const,
      reasons: [],
      upstream,
      outs: [],
      offset: 0,
      frozen: false,
      template: undefined,
    });
    const graph = pipelineGraph(
      {
        name: 'p',
        stages: [stage('a', []), stage('b', ['a']), stage('c', ['a']), stage('d', ['b', 'c', 'elsewhere'])],
        templates: [],
      },
      (s) => s.state,
    );
    assert.equal(graph.edges.length, 4);
    const byId = new Map(layoutGraph(graph).nodes.map((node) => [node.id, node]));
    assert.equal(byId.get('b')?.x, byId.get('c')?.x, 'b and c are in one column');
    assert.notEqual(byId.get('b')?.y, byId.get('c')?.y);
    assert.ok(byId.get('d')!.x > byId.get('b')!.x);
  });

  void test('messages from the page are checked before they are acted on', () => {
    assert.deepEqual(parseWebviewMessage({ type: 'reveal', stage: 'train' }), {
      type: 'reveal',
      stage: 'train',
    });
    assert.deepEqual(parseWebviewMessage({ type: 'ready' }), { type: 'ready' });
    assert.equal(parseWebviewMessage({ type: 'reveal', stage: 3 }), undefined);
    assert.equal(parseWebviewMessage('reveal'), undefined);
    assert.equal(parseWebviewMessage(null), undefined);
  });
});

/** Names, sizes and modification times of the files in a folder. */
function listing(folder: string): string[] {
  return readdirSync(folder)
    .sort()
    .map((name) => {
      const stat = statSync(join(folder, name));
      return `${name} ${String(stat.size)} ${String(stat.mtimeMs)}`;
    });
}
