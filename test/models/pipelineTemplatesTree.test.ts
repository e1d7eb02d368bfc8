// Stage templates in the Pipelines view and the pipeline graph, without VS
// Code: real git repositories in temp folders whose manifests mix plain stages
// with `foreach` (over a list, over a mapping, over nothing) and `matrix`
// templates, read through the same calls the view makes (trusted and in
// Restricted Mode), run by the real runner with the targets the view's Run
// passes, and turned into the tree's nodes and looks and the graph's layout
// (the layout also over generated shapes, with edges across template boxes).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { openPipelines } from '../../src/core/pipelines/context';
import { runPipelines } from '../../src/core/pipelines/runner';
import { seededRandom } from '../../src/core/seededRandom';
import { openWorkspace } from '../../src/core/workspace';
import { discoverFolder } from '../../src/extension/folders';
import { layoutGraph, layoutInput } from '../../src/extension/pipelines/graph/graphLayout';
import { pipelineGraph } from '../../src/extension/pipelines/graph/graphModel';
import {
  describeNode,
  manifestName,
  parentOf,
  pipelineChildren,
  rootNodes,
  runTarget,
  shownState,
  stageNodes,
  summarizeTemplate,
  worstState,
  type FolderPipelines,
  type PipelineChild,
  type PipelineNode,
  type RunProgress,
  type StageNode,
  type StageView,
  type TemplateNode,
} from '../../src/extension/pipelines/pipelineNodes';
import { readFolderPipelines } from '../../src/extension/pipelines/pipelineStates';
import { clearVariablesRefusedBySimpleGit, git, removeTree } from '../support/workspace';

clearVariablesRefusedBySimpleGit();

/** Plain stages around templates of every shape; keys with `.`, `+` and `-`. */
const MIXED = `version: 1
pipelines:
  p:
    stages:
      prepare:
        run: echo prepared > prepared.txt
        outs: [prepared.txt]
      train:
        foreach: [us, eu, ap]
        do:
          run: cat prepared.txt in/\${item}.txt > model-\${item}.txt
          deps:
            - prepared.txt
            - in/\${item}.txt
          outs:
            - model-\${item}.txt
      later:
        foreach: []
        do:
          run: echo never
      fit:
        matrix:
          lr: [0.1, 0.01]
          opt: [adam, sgd+m]
        run: echo \${item.lr} \${item.opt} > fit-\${item.lr}-\${item.opt}.txt
        outs:
          - fit-\${item.lr}-\${item.opt}.txt
      report:
        run: cat model-us.txt model-eu.txt model-ap.txt > report.txt
        needs: [train]
        outs: [report.txt]
      pinned:
        run: cat in/us.txt > pinned.txt
        deps: [in/us.txt]
        outs: [pinned.txt]
      export:
        foreach:
          v1.2: {to: a}
          v2-beta: {to: b}
        do:
          run: echo \${item.to} > export-\${key}.txt
          outs:
            - export-\${key}.txt
`;

function repository(t: TestContext, files: Readonly<Record<string, string>>): string {
  const root = mkdtempSync(join(tmpdir(), 'sluice-templates-view-'));
  t.after(() => {
    removeTree(root);
  });
  git(root, 'init', '--quiet');
  git(root, 'config', 'user.name', 'Sluice Test');
  git(root, 'config', 'user.email', 'test@sluice.invalid');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

function mixed(t: TestContext): string {
  return repository(t, {
    'sluice.yaml': MIXED,
    'in/us.txt': 'us\n',
    'in/eu.txt': 'eu\n',
    'in/ap.txt': 'ap\n',
    '.gitignore': '.sluice/\n',
  });
}

async function read(root: string, trusted = true): Promise<FolderPipelines> {
  const view = readFolderPipelines(await discoverFolder(root, { trusted }));
  assert.equal(view.problem, undefined);
  return view;
}

function onlyPipeline(view: FolderPipelines): PipelineNode {
  const [node, ...more] = rootNodes([view]);
  assert.ok(node?.kind === 'pipeline' && more.length === 0, 'one folder, one pipeline: it is the top');
  return node;
}

function children(node: PipelineNode, progress: Record<string, RunProgress> = {}): PipelineChild[] {
  return pipelineChildren(node, (_root, id) => progress[id]);
}

function template(
  node: PipelineNode,
  name: string,
  progress: Record<string, RunProgress> = {},
): TemplateNode {
  const found = children(node, progress).find(
    (child): child is TemplateNode => child.kind === 'template' && child.template.name === name,
  );
  assert.ok(found, `template ${name} is listed`);
  return found;
}

/** The top level as `label: description`, and each template's children the same way, indented. */
function outline(node: PipelineNode, progress: Record<string, RunProgress> = {}): string[] {
  return children(node, progress).flatMap((child) => {
    const look = describeNode(child);
    const line = `${look.label}: ${String(look.description)}`;
    if (child.kind === 'stage') return [line];
    return [
      line,
      ...child.stages.map(
        (stage) => `  ${describeNode(stage).label}: ${String(describeNode(stage).description)}`,
      ),
    ];
  });
}

async function run(root: string, targets: readonly string[] = []): Promise<string[]> {
  const report = await runPipelines(openPipelines(await openWorkspace(root)), { jobs: 1, targets });
  return report.stages.map((stage) => `${stage.stage} ${stage.result}`);
}

void describe('Pipelines view: stage templates', () => {
  void test('generated stages are grouped under their template, in its place, labelled by key', async (t) => {
    const root = mixed(t);
    const pipeline = onlyPipeline(await read(root));
    assert.deepEqual(outline(pipeline), [
      'prepare: never run',
      'train: 3 stages · 3 never run',
      '  us: never run',
      '  eu: never run',
      '  ap: never run',
      'later: no stages',
      'fit: 4 stages · 4 never run',
      '  0.1-adam: never run',
      '  0.1-sgd+m: never run',
      '  0.01-adam: never run',
      '  0.01-sgd+m: never run',
      'report: never run',
      'pinned: never run',
      'export: 2 stages · 2 never run',
      '  v1.2: never run',
      '  v2-beta: never run',
    ]);
    // The pipeline counts every stage, generated ones included.
    assert.equal(describeNode(pipeline).description, '12 never run');

    const train = template(pipeline, 'train');
    const look = describeNode(train);
    assert.equal(look.contextValue, 'template');
    assert.equal(look.collapsible, 'expanded');
    assert.deepEqual(look.icon, { id: 'circle-large-outline', color: 'testing.iconUnset' });
    assert.match(look.tooltip, /^p\.train: foreach template, 3 stages, 3 never run\n/);
    assert.match(look.tooltip, /Run runs p\.train: every stage it generated\./);
    assert.match(describeNode(template(pipeline, 'fit')).tooltip, /^p\.fit: matrix template, 4 stages/);
    const later = describeNode(template(pipeline, 'later'));
    assert.equal(later.collapsible, 'none');
    assert.equal(later.icon.id, 'layers');

    // Each generated stage: its key as label, its full name in the tooltip and the id.
    const [us] = train.stages;
    assert.ok(us);
    const usLook = describeNode(us);
    assert.equal(usLook.label, 'us');
    assert.match(usLook.tooltip, /^p\.train@us: never run\n/);
    assert.equal(usLook.id, `stage:${root}:p.train@us`);
    assert.equal(usLook.contextValue, 'stage');
    const ids = stageNodes(pipeline, () => undefined).map((stage) => describeNode(stage).id);
    assert.equal(new Set(ids).size, 12, 'every stage has its own id');

    // Parents: a generated stage's is its template's node, the template's the pipeline.
    assert.equal(parentOf(us), train);
    assert.equal(parentOf(train), pipeline);
    assert.equal(us.parent, pipeline, 'commands still find the workspace through the pipeline');

    // What Run passes to the engine, and where Reveal in Manifest goes: the template's name.
    assert.equal(runTarget(train), 'p.train');
    assert.equal(runTarget(us), 'p.train@us');
    const manifest = readFileSync(join(root, 'sluice.yaml'), 'utf8');
    for (const node of [train, us, template(pipeline, 'later'), template(pipeline, 'export').stages[1]!]) {
      const { offset, name } = manifestName(node);
      assert.equal(manifest.slice(offset, offset + name.length), name);
      assert.match(manifest.slice(offset - 6, offset + name.length + 1), /^ {6}\w+:$/);
    }
    assert.equal(manifestName(us).name, 'train');
  });

  void test('Run on a template runs every stage it generated (and what they need), nothing else', async (t) => {
    const root = mixed(t);
    const train = template(onlyPipeline(await read(root)), 'train');
    assert.deepEqual(await run(root, [runTarget(train)]), [
      'prepare ran',
      'train@us ran',
      'train@eu ran',
      'train@ap ran',
    ]);
    for (const key of ['us', 'eu', 'ap'])
      assert.equal(readFileSync(join(root, `model-${key}.txt`), 'utf8'), `prepared\n${key}\n`);
    assert.deepEqual(outline(onlyPipeline(await read(root))).slice(0, 5), [
      'prepare: up to date',
      'train: 3 stages · up to date',
      '  us: up to date',
      '  eu: up to date',
      '  ap: up to date',
    ]);
    assert.deepEqual(
      await run(root, [runTarget(template(onlyPipeline(await read(root)), 'fit').stages[3]!)]),
      ['fit@0.01-sgd+m ran'],
    );
    assert.equal(readFileSync(join(root, 'fit-0.01-sgd+m.txt'), 'utf8'), '0.01 sgd+m\n');
  });

  void test('a template shows the worst state of its stages; only those needing attention are counted', async (t) => {
    const root = mixed(t);
    await run(root);
    let pipeline = onlyPipeline(await read(root));
    assert.equal(describeNode(pipeline).description, 'up to date');
    assert.deepEqual(describeNode(template(pipeline, 'train')).icon, {
      id: 'pass',
      color: 'testing.iconPassed',
    });

    writeFileSync(join(root, 'in/eu.txt'), 'eu, changed\n');
    pipeline = onlyPipeline(await read(root));
    const train = describeNode(template(pipeline, 'train'));
    assert.equal(train.description, '3 stages · 1 stale');
    assert.deepEqual(train.icon, { id: 'history', color: 'list.warningForeground' });
    assert.match(train.tooltip, /3 stages, 1 stale, 2 up to date/);
    assert.deepEqual(outline(pipeline).slice(2, 5), ['  us: up to date', '  eu: stale', '  ap: up to date']);
    // What reads every instance waits for the stale one.
    assert.deepEqual(outline(pipeline).slice(11, 12), ['report: stale']);

    // While one of its stages runs, the template spins and offers no Run.
    const running = template(pipeline, 'train', {
      'p.train@us': { kind: 'finished', result: 'skipped' },
      'p.train@eu': { kind: 'running' },
    });
    const look = describeNode(running);
    assert.equal(look.contextValue, 'template.running');
    assert.deepEqual(look.icon, { id: 'loading~spin', color: undefined });
    assert.equal(look.description, '3 stages · 1 running');
    const failed = template(pipeline, 'train', { 'p.train@ap': { kind: 'finished', result: 'failed' } });
    assert.equal(describeNode(failed).description, '3 stages · 1 failed, 1 stale');
    assert.equal(describeNode(failed).icon.id, 'error');

    assert.equal(worstState(['up-to-date', 'never-run', 'stale']), 'stale');
    assert.equal(worstState([]), undefined);
    assert.equal(summarizeTemplate(['up-to-date']), '1 stage · up to date');
    assert.equal(summarizeTemplate(['never-run', 'up-to-date', 'never-run']), '3 stages · 2 never run');
  });

  void test('a frozen stage says so while still showing its state; a run that skips it changes nothing shown', async (t) => {
    const root = mixed(t);
    await run(root);
    const manifestFile = join(root, 'sluice.yaml');
    writeFileSync(
      manifestFile,
      readFileSync(manifestFile, 'utf8').replace('      pinned:\n', '      pinned:\n        frozen: true\n'),
    );
    let pinned = stageNamed(onlyPipeline(await read(root)), 'pinned');
    let look = describeNode(pinned);
    assert.equal(look.description, 'up to date · frozen');
    assert.match(look.tooltip, /^p\.pinned: up to date, frozen\n/);
    assert.equal(look.icon.id, 'pass');

    writeFileSync(join(root, 'in/us.txt'), 'us, changed\n');
    pinned = stageNamed(onlyPipeline(await read(root)), 'pinned');
    look = describeNode(pinned);
    assert.equal(look.description, 'stale · frozen');
    assert.deepEqual(look.icon, { id: 'history', color: 'list.warningForeground' });
    assert.equal(
      look.contextValue,
      'stage',
      'Run stays offered: the engine says what it does with a frozen stage',
    );

    const ran = await run(root, [runTarget(pinned)]);
    assert.deepEqual(ran, ['pinned skipped']);
    assert.equal(readFileSync(join(root, 'pinned.txt'), 'utf8'), 'us\n', 'a frozen stage keeps its outputs');
    assert.equal(shownState(pinned.stage, { kind: 'finished', result: 'skipped' }), 'stale');
    assert.equal(
      describeNode(stageNamed(onlyPipeline(await read(root)), 'pinned')).description,
      'stale · frozen',
    );
  });

  void test('frozen in a template: every generated stage is frozen, and the template counts them', async (t) => {
    const root = repository(t, {
      'sluice.yaml': `version: 1
pipelines:
  p:
    stages:
      copy:
        foreach: [a, b]
        do:
          frozen: true
          run: echo \${item} > \${item}.txt
          outs:
            - \${item}.txt
`,
      '.gitignore': '.sluice/\n',
    });
    const copy = template(onlyPipeline(await read(root)), 'copy');
    assert.deepEqual(
      copy.stages.map((stage) => describeNode(stage).description),
      ['never run · frozen', 'never run · frozen'],
    );
    assert.match(describeNode(copy).tooltip, /\n2 frozen \(never run\)\n/);
  });

  void test('Restricted Mode groups the same way, from the files only', async (t) => {
    const root = mixed(t);
    await run(root);
    writeFileSync(join(root, 'in/ap.txt'), 'ap, changed\n');
    const trusted = outline(onlyPipeline(await read(root)));
    const folder = await discoverFolder(root, { trusted: false });
    assert.equal(folder.kind, 'restricted');
    const restricted = onlyPipeline(readFolderPipelines(folder));
    assert.deepEqual(outline(restricted), trusted);
    assert.equal(describeNode(template(restricted, 'train')).description, '3 stages · 1 stale');
  });

  void test('Restricted Mode expands a foreach over a list from the params file too', async (t) => {
    const root = repository(t, {
      'sluice.yaml': `version: 1
params: params.yaml
pipelines:
  p:
    stages:
      greet:
        foreach: \${regions}
        do:
          run: echo \${item}
`,
      'params.yaml': 'regions: [north, south]\n',
      '.gitignore': '.sluice/\n',
    });
    const folder = await discoverFolder(root, { trusted: false });
    assert.equal(folder.kind, 'restricted');
    assert.deepEqual(outline(onlyPipeline(readFolderPipelines(folder))), [
      'greet: 2 stages · 2 never run',
      '  north: never run',
      '  south: never run',
    ]);
  });

  void test('a template larger than ten stages starts collapsed; many templates keep their manifest order', async (t) => {
    const keys = Array.from({ length: 12 }, (_, i) => `k${String(i)}`);
    const root = repository(t, {
      'sluice.yaml': `version: 1
pipelines:
  p:
    stages:
      many:
        foreach: [${keys.join(', ')}]
        do:
          run: echo \${item}
      one:
        foreach: [x]
        do:
          run: echo x
      plain:
        run: echo plain
`,
      '.gitignore': '.sluice/\n',
    });
    const pipeline = onlyPipeline(await read(root));
    assert.deepEqual(
      children(pipeline).map((child) => `${child.kind} ${describeNode(child).label}`),
      ['template many', 'template one', 'stage plain'],
    );
    assert.equal(describeNode(template(pipeline, 'many')).collapsible, 'collapsed');
    assert.equal(describeNode(template(pipeline, 'one')).description, '1 stage · 1 never run');
    assert.deepEqual(
      template(pipeline, 'many').stages.map((stage) => describeNode(stage).label),
      keys,
    );
  });
  void test('templates whose stages interleave in run order are each listed once, where their first stage runs', async (t) => {
    // train@a needs prep@a: in run order prep@a, train@a, prep@b, train@b.
    const root = repository(t, {
      'sluice.yaml': `version: 1
pipelines:
  p:
    stages:
      train:
        foreach: [a, b]
        do:
          run: echo train \${item}
          needs:
            - prep@\${item}
      prep:
        foreach: [a, b]
        do:
          run: echo prep \${item}
`,
      '.gitignore': '.sluice/\n',
    });
    const pipeline = onlyPipeline(await read(root));
    assert.deepEqual(
      pipeline.pipeline.stages.map((stage) => stage.name),
      ['prep@a', 'train@a', 'prep@b', 'train@b'],
    );
    assert.deepEqual(outline(pipeline), [
      'prep: 2 stages · 2 never run',
      '  a: never run',
      '  b: never run',
      'train: 2 stages · 2 never run',
      '  a: never run',
      '  b: never run',
    ]);
    assert.match(describeNode(template(pipeline, 'train').stages[1]!).tooltip, /\nafter prep@b$/m);
  });
});

void describe('Pipeline graph: stage templates', () => {
  void test('generated stages are drawn by key inside a box per template; ids keep the full names', async (t) => {
    const root = mixed(t);
    const pipeline = onlyPipeline(await read(root));
    const graph = pipelineGraph(pipeline.pipeline, (stage) =>
      stage.name === 'fit@0.1-sgd+m' ? 'running' : stage.state,
    );
    const byId = new Map(graph.nodes.map((node) => [node.id, node]));
    const fit = byId.get('fit@0.1-sgd+m');
    assert.ok(fit);
    assert.equal(fit.label, '0.1-sgd+m');
    assert.equal(fit.group, 'template:fit');
    assert.equal(fit.detail.split('\n')[0], 'p.fit@0.1-sgd+m: running');
    assert.equal(byId.get('export@v1.2')?.label, 'v1.2');
    assert.equal(byId.get('prepare')?.group, undefined);
    assert.deepEqual(
      graph.groups.map((group) => `${group.id} ${group.label} ${group.state}`),
      ['template:train train never-run', 'template:fit fit running', 'template:export export never-run'],
    );
    assert.equal(graph.groups[1]?.detail, 'p.fit: 4 stages · 1 running, 3 never run');
    // `needs: [train]` is an edge from each stage train generated.
    assert.deepEqual(
      graph.edges.filter((edge) => edge.to === 'report').map((edge) => edge.from),
      ['train@us', 'train@eu', 'train@ap'],
    );

    const input = layoutInput(graph);
    assert.ok(input.nodes().includes('fit@0.01-adam') && input.nodes().includes('template:fit'));
    const placed = layoutGraph(graph);
    const boxes = new Map(placed.groups.map((group) => [group.id, group]));
    for (const node of placed.nodes) {
      assert.ok(Number.isFinite(node.x) && Number.isFinite(node.y), `${node.id} is placed`);
      if (node.group === undefined) continue;
      const box = boxes.get(node.group);
      assert.ok(box, `the box of ${node.id}`);
      assert.ok(
        box.x <= node.x &&
          box.y + 14 <= node.y &&
          node.x + node.width <= box.x + box.width &&
          node.y + node.height <= box.y + box.height,
        `${node.id} lies inside its template's box, below its label`,
      );
    }
    const train = boxes.get('template:train')!;
    const report = placed.nodes.find((node) => node.id === 'report')!;
    assert.ok(train.x + train.width <= report.x, 'what reads the template is right of its box');
  });

  void test('generated shapes: every stage lies inside its own box, and no two boxes overlap', () => {
    const random = seededRandom(0x7e3a);
    for (let round = 0; round < 60; round++) {
      const stages: StageView[] = [];
      const templateCount = 1 + Math.floor(random() * 4);
      for (let t = 0; t < templateCount; t++)
        for (let k = 0, size = 1 + Math.floor(random() * 6); k < size; k++)
          stages.push(stageView(`t${String(t)}`, `${String(k)}.${String(round)}-x+y`));
      for (let p = 0, plain = Math.floor(random() * 4); p < plain; p++)
        stages.push(stageView(undefined, `s${String(p)}`));
      // Random edges, each from an earlier stage to a later one: a DAG, across boxes too.
      const withEdges = stages.map((stage, index) => ({
        ...stage,
        upstream: stages.slice(0, index).flatMap((up) => (random() < 0.15 ? [up.name] : [])),
      }));
      const templates = [...new Set(withEdges.flatMap((stage) => stage.template?.name ?? []))];
      const graph = pipelineGraph(
        {
          name: 'p',
          stages: withEdges,
          templates: templates.map((name, offset) => ({ name, kind: 'foreach' as const, offset })),
        },
        (stage) => stage.state,
      );
      const placed = layoutGraph(graph);
      const boxes = new Map(placed.groups.map((group) => [group.id, group]));
      assert.equal(boxes.size, templateCount);
      for (const node of placed.nodes) {
        if (node.group === undefined) continue;
        const box = boxes.get(node.group)!;
        assert.ok(
          box.x <= node.x + 0.01 &&
            box.y + 14 <= node.y &&
            node.x + node.width <= box.x + box.width + 0.01 &&
            node.y + node.height <= box.y + box.height + 0.01,
          `round ${String(round)}: ${node.id} lies inside its box`,
        );
      }
      for (const a of placed.groups)
        for (const b of placed.groups) {
          if (a.id >= b.id) continue;
          const apart =
            a.x + a.width <= b.x + 0.01 ||
            b.x + b.width <= a.x + 0.01 ||
            a.y + a.height <= b.y + 0.01 ||
            b.y + b.height <= a.y + 0.01;
          assert.ok(apart, `round ${String(round)}: ${a.id} and ${b.id} do not overlap`);
        }
    }
  });

  void test('a frozen stage is said so in the graph too', async (t) => {
    const root = mixed(t);
    const manifestFile = join(root, 'sluice.yaml');
    writeFileSync(
      manifestFile,
      readFileSync(manifestFile, 'utf8').replace('      pinned:\n', '      pinned:\n        frozen: true\n'),
    );
    const graph = pipelineGraph(onlyPipeline(await read(root)).pipeline, (stage) => stage.state);
    assert.equal(
      graph.nodes.find((node) => node.id === 'pinned')?.detail.split('\n')[0],
      'p.pinned: never run, frozen',
    );
  });
});

/** A stage as the view reads it: `template` undefined for a plain stage named `key`. */
function stageView(template: string | undefined, key: string): StageView {
  const name = template === undefined ? key : `${template}@${key}`;
  return {
    id: `p.${name}`,
    pipeline: 'p',
    name,
    run: 'true',
    state: 'never-run',
    reasons: [],
    upstream: [],
    outs: [],
    offset: 0,
    frozen: false,
    template: template === undefined ? undefined : { name: template, key },
  };
}

function stageNamed(pipeline: PipelineNode, name: string): StageNode {
  const found = stageNodes(pipeline, () => undefined).find((stage) => stage.stage.name === name);
  assert.ok(found, `stage ${name} is listed`);
  return found;
}
