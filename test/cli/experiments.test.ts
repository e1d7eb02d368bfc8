// Experiments as a user meets them from the built CLI: `run --set`, `exp run`
// over a grid, `exp show|list|apply|remove`, `metrics show|diff`, `params diff`,
// on real git repositories with a three-stage Node pipeline. A trace file
// outside the workspace tells which stage commands really ran.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { commitEverything, environmentWorkspace, onlyJson } from '../support/environments';
import {
  assertOneLineError,
  clearVariablesRefusedBySimpleGit,
  git,
  removeTree,
  sluice,
  startSluice,
} from '../support/workspace';

clearVariablesRefusedBySimpleGit();

const MANIFEST = `version: 1
params: params.yaml
datasets:
  raw:
    path: data/raw.csv
pipelines:
  main:
    stages:
      prepare:
        run: node tools/prepare.js
        datasets: [raw]
        deps: [tools/prepare.js]
        params: [prepare.rows]
        outs: [out/prepared.txt]
      train:
        run: node tools/train.js
        deps: [tools/train.js, out/prepared.txt]
        params: [train.lr, train.epochs]
        outs: [out/model.txt]
        metrics: [metrics.json]
      evaluate:
        run: node tools/evaluate.js
        deps: [tools/evaluate.js, out/model.txt]
        outs: [out/curve.csv]
        plots:
          - path: out/curve.csv
            template: line
            x: step
            y: loss
environments:
  staging:
    from: workspace
    pipeline: main
`;

// Comments and layout that a rewrite of the file would lose.
const PARAMS = `# Params of the test pipeline.
prepare:
  rows: 3   # rows kept
train:
  lr: 0.5    # learning rate
  epochs: 10
  optimizer: sgd
  augment: false
`;

/** Reads `section.key` from params.yaml as the stage commands see it (no YAML library in a stage). */
const READ_PARAM = `
const fs = require('node:fs');
const text = fs.readFileSync('params.yaml', 'utf8');
function param(section, key) {
  const match = new RegExp('^' + section + ':[\\\\s\\\\S]*?^\\\\s+' + key + ':\\\\s*([^\\\\s#]+)', 'm').exec(text);
  return match ? match[1] : undefined;
}
const trace = (name) => fs.appendFileSync(process.env.TRACE, name + '\\n');
`;

const TOOLS: Record<string, string> = {
  'tools/prepare.js': `${READ_PARAM}
trace('prepare');
const rows = fs.readFileSync('data/raw.csv', 'utf8').trim().split('\\n').slice(0, Number(param('prepare', 'rows')));
fs.mkdirSync('out', { recursive: true });
fs.writeFileSync('out/prepared.txt', rows.join('\\n'));
`,
  'tools/train.js': `${READ_PARAM}
trace('train');
if (process.env.TRAIN_SLEEP_MS) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(process.env.TRAIN_SLEEP_MS));
const lr = Number(param('train', 'lr'));
const epochs = Number(param('train', 'epochs'));
fs.writeFileSync('out/model.txt', 'lr=' + lr + ' epochs=' + epochs + ' rows=' + fs.readFileSync('out/prepared.txt', 'utf8').split('\\n').length);
fs.writeFileSync('metrics.json', JSON.stringify({ accuracy: Math.round((1 - Math.abs(lr - 0.3)) * 1000) / 1000, loss: lr * epochs }));
`,
  'tools/evaluate.js': `${READ_PARAM}
trace('evaluate');
const model = fs.readFileSync('out/model.txt', 'utf8');
fs.writeFileSync('out/curve.csv', 'step,loss\\n1,' + model.length + '\\n2,' + (model.length - 1) + '\\n');
`,
};

interface Scene {
  readonly root: string;
  readonly trace: string;
  readonly env: NodeJS.ProcessEnv;
}

function scene(t: TestContext): Scene {
  const root = environmentWorkspace(
    MANIFEST,
    { 'params.yaml': PARAMS, '.gitignore': '.sluice/\nout/\nmetrics.json\ndeploy/\n' },
    'sluice-exp-',
  );
  for (const [path, content] of Object.entries(TOOLS)) {
    mkdirSync(join(root, 'tools'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  mkdirSync(join(root, 'data'));
  writeFileSync(join(root, 'data/raw.csv'), 'a\nb\nc\nd\ne\n');
  commitEverything(root, 'tools');
  const traceDir = mkdtempSync(join(tmpdir(), 'sluice-exp-trace-'));
  t.after(() => {
    removeTree(root);
    removeTree(traceDir);
  });
  const trace = join(traceDir, 'trace');
  const env = { ...process.env, TRACE: trace };
  const snapshot = sluice(['snapshot'], root, env);
  assert.equal(snapshot.status, 0, snapshot.stderr);
  return { root, trace, env };
}

/** The stage commands that ran since the last call, in order. */
function ran(s: Scene): string[] {
  if (!existsSync(s.trace)) return [];
  const lines = readFileSync(s.trace, 'utf8').split('\n').filter(Boolean);
  writeFileSync(s.trace, '');
  return lines;
}

function json(s: Scene, args: readonly string[], status = 0): Record<string, unknown> {
  const result = sluice([...args, '--json'], s.root, s.env);
  assert.equal(result.status, status, `sluice ${args.join(' ')}: ${result.stderr}`);
  return onlyJson(result);
}

interface Row {
  id: string;
  name: string;
  origin: string;
  params: Record<string, unknown>;
  overrides: Record<string, unknown>;
  metrics: Record<string, number>;
  deltas: Record<string, number | null>;
  changedParams: string[];
  environments: string[];
  release: string | null;
  stages: { stage: string; result: string }[];
}

function table(s: Scene, ...args: string[]): { baseline: { id: string | null }; experiments: Row[] } {
  return json(s, ['exp', 'show', ...args]) as unknown as {
    baseline: { id: string | null };
    experiments: Row[];
  };
}

function experimentRefs(root: string): string[] {
  return git(root, 'for-each-ref', '--format=%(refname)', 'refs/sluice/experiments')
    .split('\n')
    .filter(Boolean);
}

void describe('run --set: params for one run', () => {
  void test('the stages read the override, the params file keeps its bytes, the record says what was set', (t) => {
    const s = scene(t);
    const first = json(s, ['run']);
    assert.deepEqual(ran(s), ['prepare', 'train', 'evaluate']);
    assert.ok((first['experiment'] as { id: string }).id, 'a plain run is recorded');

    const set = json(s, ['run', '--set', 'train.lr=0.3', '--set', 'train.optimizer=adam', '--name', 'lr-03']);
    assert.deepEqual(ran(s), ['train', 'evaluate'], 'prepare does not read train.lr');
    assert.equal(readFileSync(join(s.root, 'params.yaml'), 'utf8'), PARAMS, 'byte for byte, comments kept');
    assert.match(readFileSync(join(s.root, 'out/model.txt'), 'utf8'), /^lr=0\.3 /);
    assert.deepEqual(set['overrides'], { 'train.lr': 0.3, 'train.optimizer': 'adam' });
    const row = table(s).experiments.find((candidate) => candidate.name === 'lr-03')!;
    assert.deepEqual(row.overrides, { 'train.lr': 0.3, 'train.optimizer': 'adam' });
    assert.equal(row.params['train.lr'], 0.3);
    assert.equal(row.params['train.epochs'], 10, 'every param, not only the overridden');
    assert.equal(row.metrics['metrics.json#accuracy'], 1);

    // The workspace's outputs are the override's: the params file now disagrees, and says so.
    const status = json(s, ['status']);
    const train = (status['stages'] as { stage: string; state: string }[]).find((x) => x.stage === 'train')!;
    assert.equal(train.state, 'stale');
    // The plain params again: restored from the cache, no command runs, and the first run's record stands.
    const back = json(s, ['run']);
    assert.deepEqual(ran(s), []);
    assert.equal(back['experiment'], null);
    // Nothing changed since: nothing ran, nothing new to record.
    const again = json(s, ['run']);
    assert.equal(again['experiment'], null);
    assert.equal(experimentRefs(s.root).length, 2);
  });

  void test('bad settings are refused before anything runs, one line each, naming the param', (t) => {
    const s = scene(t);
    const cases: [string[], string][] = [
      [['--set', 'train.rl=0.1'], 'train.rl'],
      [['--set', 'train=1'], 'train'],
      [['--set', 'nothing.here=1'], 'nothing.here'],
      [['--set', 'train.lr'], 'KEY=VALUE'],
      [['--set', '=3'], 'KEY=VALUE'],
      [['--set', 'train.lr=0.1,0.2'], 'exp run'],
      [['--set', 'train.lr=1', '--set', 'train.lr=2'], 'twice'],
    ];
    // Every kind the file holds, given a value of every other kind.
    const values: Record<string, string> = {
      number: '12',
      boolean: 'true',
      list: '[1, 2]',
      mapping: '{a: 1}',
    };
    const params: Record<string, string> = { 'train.lr': 'number', 'train.augment': 'boolean' };
    for (const [param, kind] of Object.entries(params))
      for (const [other, text] of Object.entries(values))
        if (other !== kind) cases.push([['--set', `${param}=${text}`], param]);
    for (const [args, mention] of cases) {
      const result = sluice(['run', ...args], s.root, s.env);
      assertOneLineError(result, 2, mention);
      const asJson = sluice(['run', ...args, '--json'], s.root, s.env);
      assert.equal(asJson.status, 2);
      assert.ok((onlyJson(asJson)['error'] as { code: string }).code, 'a code a face can branch on');
    }
    assert.deepEqual(ran(s), [], 'no stage ran');
    assert.deepEqual(experimentRefs(s.root), [], 'nothing recorded');
    assert.equal(readFileSync(join(s.root, 'params.yaml'), 'utf8'), PARAMS);
    // A text param takes any value as text.
    const text = json(s, ['run', '--set', 'train.optimizer=123']);
    assert.deepEqual(text['overrides'], { 'train.optimizer': '123' });
  });

  void test('a run --set killed midway leaves the params file to the next run, which puts it back; an edit during the run is kept', async (t) => {
    const s = scene(t);
    const slow = { ...s.env, TRAIN_SLEEP_MS: '20000' };
    const running = startSluice(['run', '--set', 'train.lr=0.9'], s.root, slow);
    const overridden = join(s.root, 'params.yaml');
    for (let waited = 0; !readFileSync(s.trace, { flag: 'a+' }).toString().includes('train'); waited += 50) {
      assert.ok(waited < 20_000, 'train started');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.match(readFileSync(overridden, 'utf8'), /lr: 0\.9/, 'the stages see the override while they run');
    running.crash();
    await running.done;
    assert.match(readFileSync(overridden, 'utf8'), /lr: 0\.9/, 'a SIGKILL leaves it');
    const next = sluice(['run'], s.root, s.env);
    assert.equal(next.status, 0, next.stderr);
    assert.equal(readFileSync(overridden, 'utf8'), PARAMS, 'the next run put the bytes back before running');
    assert.match(readFileSync(join(s.root, 'out/model.txt'), 'utf8'), /^lr=0\.5 /);

    // Edited by hand while a --set run goes on: the user's edit wins.
    ran(s);
    const second = startSluice(['run', '--set', 'train.lr=0.7'], s.root, slow);
    for (let waited = 0; !readFileSync(s.trace, { flag: 'a+' }).toString().includes('train'); waited += 50) {
      assert.ok(waited < 20_000, 'train started');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const edited = PARAMS.replace('epochs: 10', 'epochs: 11');
    writeFileSync(overridden, edited);
    process.kill(-second.child.pid!, 'SIGINT');
    const ended = await second.done;
    assert.equal(ended.status, 130, ended.stderr);
    assert.equal(readFileSync(overridden, 'utf8'), edited);
    assert.match(ended.stderr, /left as edited/);
  });
});

void describe('exp run: a grid in isolated copies', () => {
  void test('a 2×2 grid at -j 2: four records, the stage the grid does not reach runs once, the workspace untouched', (t) => {
    const s = scene(t);
    const before = readFileSync(join(s.root, 'params.yaml'), 'utf8');
    const result = json(s, [
      'exp',
      'run',
      '--set',
      'train.lr=0.1,0.3',
      '--set',
      'train.epochs=5,20',
      '-j',
      '2',
    ]);
    const trace = ran(s);
    assert.equal(trace.filter((name) => name === 'prepare').length, 1, `prepare once: ${trace.join(' ')}`);
    assert.equal(trace.filter((name) => name === 'train').length, 4);
    assert.equal(trace.filter((name) => name === 'evaluate').length, 4);
    const experiments = result['experiments'] as { overrides: Record<string, unknown>; succeeded: boolean }[];
    assert.deepEqual(
      experiments.map((experiment) => experiment.overrides),
      [
        { 'train.lr': 0.1, 'train.epochs': 5 },
        { 'train.lr': 0.1, 'train.epochs': 20 },
        { 'train.lr': 0.3, 'train.epochs': 5 },
        { 'train.lr': 0.3, 'train.epochs': 20 },
      ],
    );
    assert.ok(experiments.every((experiment) => experiment.succeeded));
    assert.equal(readFileSync(join(s.root, 'params.yaml'), 'utf8'), before);
    assert.ok(!existsSync(join(s.root, 'out')), 'nothing written in the workspace');
    assert.equal(git(s.root, 'worktree', 'list').split('\n').length, 1, 'no copy left');
    assert.deepEqual(
      (result['queue'] as { status: string }[]).map((entry) => entry.status),
      ['done', 'done', 'done', 'done'],
    );

    // The same grid again: every stage restores, nothing runs.
    json(s, ['exp', 'run', '--set', 'train.lr=0.1,0.3', '--set', 'train.epochs=5,20']);
    assert.deepEqual(ran(s), []);

    // Sorted by a metric, descending: what `--sort` promises, checked against the rows' own values.
    const sorted = table(s, '--sort=-metrics.json#loss').experiments;
    const losses = sorted.map((row) => row.metrics['metrics.json#loss']!);
    assert.deepEqual(
      losses,
      [...losses].sort((a, b) => b - a),
    );
    assert.equal(sorted.length, 8);
    const csv = sluice(['exp', 'show', '--csv'], s.root, s.env);
    assert.equal(csv.status, 0, csv.stderr);
    const lines = csv.stdout.trimEnd().split('\r\n');
    assert.equal(lines.length, 9);
    assert.ok(lines[0]!.split(',').includes('metrics.json#accuracy'));
  });

  void test('deltas against HEAD and against an environment; rows of releases are marked live', (t) => {
    const s = scene(t);
    json(s, ['run']);
    const staged = json(s, ['stage']);
    const release = (staged['release'] as { id: string }).id;
    json(s, ['exp', 'run', '--set', 'train.lr=0.3', '--name', 'better']);
    const vsHead = table(s);
    const better = vsHead.experiments.find((row) => row.name === 'better')!;
    const plain = vsHead.experiments.find((row) => row.origin === 'workspace')!;
    // The baseline: the newest run at HEAD with the params as they are (the plain run or the staged release).
    const baseline = vsHead.experiments.find((row) => row.id === vsHead.baseline.id)!;
    assert.deepEqual(baseline.overrides, {});
    assert.deepEqual(baseline.metrics, plain.metrics);
    assert.deepEqual(better.changedParams, ['train.lr']);
    assert.equal(better.deltas['metrics.json#accuracy'], 1 - 0.8);
    const releaseRow = vsHead.experiments.find((row) => row.release === release)!;
    assert.equal(releaseRow.origin, 'release');
    assert.deepEqual(releaseRow.environments, ['staging']);
    const vsStaging = table(s, '--vs', 'staging');
    assert.equal(vsStaging.baseline.id, releaseRow.id);
    assertOneLineError(sluice(['exp', 'show', '--vs', 'prod'], s.root, s.env), 2, 'prod');
    assertOneLineError(sluice(['exp', 'show', '--sort', 'nope'], s.root, s.env), 2, 'nope');
  });

  void test('Ctrl-C stops the queue: what finished stays recorded, the rest is cancelled, no copy is left', async (t) => {
    const s = scene(t);
    const running = startSluice(['exp', 'run', '--set', 'train.lr=0.1,0.2,0.4', '--json'], s.root, {
      ...s.env,
      TRAIN_SLEEP_MS: '1500',
    });
    for (
      let waited = 0;
      readFileSync(s.trace, { flag: 'a+' }).toString().split('train').length < 3;
      waited += 50
    ) {
      assert.ok(waited < 30_000, 'the second run started');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    process.kill(-running.child.pid!, 'SIGINT');
    const ended = await running.done;
    assert.equal(ended.status, 130, ended.stderr);
    const printed = onlyJson(ended);
    assert.equal((printed['error'] as { code: string }).code, 'cancelled');
    const statuses = (printed['queue'] as { status: string }[]).map((entry) => entry.status);
    assert.deepEqual(statuses, ['done', 'cancelled', 'cancelled']);
    assert.equal(experimentRefs(s.root).length, 1);
    assert.equal(git(s.root, 'worktree', 'list').split('\n').length, 1);
  });
});

void describe('exp apply, exp remove, metrics and params', () => {
  void test('apply writes the params and restores the outputs; bytes with no copy go to the trash', (t) => {
    const s = scene(t);
    json(s, ['run']);
    json(s, ['exp', 'run', '--set', 'train.lr=0.2', '--name', 'small-lr']);
    ran(s);
    writeFileSync(join(s.root, 'out/curve.csv'), 'edited by hand\n');
    const applied = json(s, ['exp', 'apply', 'small-lr']);
    assert.deepEqual(ran(s), [], 'restored, not run');
    assert.deepEqual(applied['params'], { 'train.lr': 0.2 });
    assert.equal(
      readFileSync(join(s.root, 'params.yaml'), 'utf8'),
      PARAMS.replace('lr: 0.5 ', 'lr: 0.2 '),
      'only the value changed, comments kept',
    );
    assert.match(readFileSync(join(s.root, 'out/model.txt'), 'utf8'), /^lr=0\.2 /);
    const trash = join(s.root, '.sluice/trash');
    const kept = readdirSync(trash, { recursive: true, encoding: 'utf8' }).map((path) => join(trash, path));
    assert.ok(
      kept.some((path) => path.endsWith('curve.csv') && readFileSync(path, 'utf8') === 'edited by hand\n'),
      'the hand edit is in the trash',
    );
    assert.ok(kept.some((path) => path.endsWith('params.yaml') && readFileSync(path, 'utf8') === PARAMS));
    const status = json(s, ['status']);
    assert.ok((status['stages'] as { state: string }[]).every((stage) => stage.state === 'up-to-date'));
    assertOneLineError(sluice(['exp', 'apply', 'no-such'], s.root, s.env), 2, 'no-such');
  });

  void test('remove deletes the record; a record outlives its outputs, which gc --keep-runs may collect', (t) => {
    const s = scene(t);
    json(s, ['exp', 'run', '--set', 'train.lr=0.25', '--name', 'old']);
    json(s, ['exp', 'run', '--set', 'train.lr=0.35', '--name', 'new']);
    json(s, ['exp', 'run', '--set', 'train.lr=0.45', '--name', 'gone']);
    assert.equal(experimentRefs(s.root).length, 3);
    assert.deepEqual(json(s, ['fsck'])['damaged'], []);
    const removed = json(s, ['exp', 'remove', 'gone']);
    assert.equal((removed['removed'] as string[]).length, 1);
    assert.equal(experimentRefs(s.root).length, 2);
    assert.deepEqual(
      table(s).experiments.map((row) => row.name),
      ['new', 'old'],
    );
    // Keeping one run per stage lets the older experiment's outputs go; its params and metrics stay.
    const gc = json(s, ['gc', '--min-age', '0', '--keep-runs', '1']);
    assert.ok((gc['removed'] as number) > 0);
    assert.deepEqual(json(s, ['fsck'])['missing'], [], 'a record does not claim its outputs');
    assert.equal(json(s, ['metrics', 'show', 'old'])['metrics'] !== undefined, true);
    const applied = json(s, ['exp', 'apply', 'old']);
    const train = (applied['stages'] as { stage: string; result: string }[]).find(
      (x) => x.stage === 'train',
    )!;
    assert.equal(train.result, 'not-run', 'nothing cached for it any more: apply says so instead of running');
    assertOneLineError(sluice(['exp', 'remove', 'gone'], s.root, s.env), 2, 'gone');
  });

  void test('metrics show|diff and params diff between the workspace, HEAD, an experiment, a release and an environment', (t) => {
    const s = scene(t);
    json(s, ['run']);
    const staged = json(s, ['stage']);
    const release = (staged['release'] as { id: string }).id;
    json(s, ['exp', 'run', '--set', 'train.lr=0.3', '--name', 'lr3']);
    const shown = json(s, ['metrics', 'show', 'lr3']);
    assert.equal((shown['metrics'] as Record<string, number>)['metrics.json#accuracy'], 1);
    const diff = json(s, ['metrics', 'diff', 'staging', 'lr3']);
    const changes = diff['changes'] as { key: string; a: number; b: number }[];
    assert.deepEqual(
      changes.find((change) => change.key === 'metrics.json#accuracy'),
      { key: 'metrics.json#accuracy', a: 0.8, b: 1 },
    );
    const params = json(s, ['params', 'diff', release.slice(0, 8), 'lr3']);
    assert.deepEqual(params['changes'], [{ key: 'train.lr', a: 0.5, b: 0.3 }]);
    // Plots overlay revisions: the workspace and an experiment, each with its own rows.
    const page = join(s.root, '..', `${s.root.split('/').pop()!}-plots.html`);
    t.after(() => {
      removeTree(page);
    });
    const plots = json(s, ['plots', 'show', 'workspace', 'lr3', '--out', page]);
    const curve = (
      plots['plots'] as { id: string; sources: { label: string; kind: string; rows: number }[] }[]
    )[0]!;
    assert.deepEqual(
      curve.sources.map((source) => [source.label, source.kind, source.rows]),
      [
        ['workspace', 'rows', 2],
        ['lr3', 'rows', 2],
      ],
    );
    const html = readFileSync(page, 'utf8');
    assert.ok(html.includes('"lr3"'), 'the experiment is in the page');
    const unknown = sluice(['plots', 'show', 'nowhere', '--out', page, '--json'], s.root, s.env);
    assert.equal(unknown.status, 2);
    assert.equal((onlyJson(unknown)['error'] as { code: string }).code, 'unknown-revision');
    const none = json(s, ['params', 'diff']);
    assert.deepEqual(none['changes'], [], 'HEAD and the workspace agree');
    assertOneLineError(sluice(['metrics', 'diff', 'nowhere'], s.root, s.env), 2, 'nowhere');
  });
});

void describe('experiments travel with push and fetch', () => {
  void test('a teammate who fetches sees the records, compares them and plots them from the pushed blobs', (t) => {
    const s = scene(t);
    const base = mkdtempSync(join(tmpdir(), 'sluice-exp-team-'));
    t.after(() => {
      removeTree(base);
    });
    const origin = join(base, 'origin.git');
    git(base, 'init', '--quiet', '--bare', '--initial-branch=main', origin);
    git(s.root, 'remote', 'add', 'origin', origin);
    git(s.root, 'push', '--quiet', 'origin', 'HEAD:main');
    mkdirSync(join(base, 'blobs'));
    assert.equal(
      sluice(['remote', 'add', 'team', join(base, 'blobs'), '--default'], s.root, s.env).status,
      0,
    );
    commitEverything(s.root, 'remote');
    git(s.root, 'push', '--quiet', 'origin', 'HEAD:main');
    json(s, ['exp', 'run', '--set', 'train.lr=0.1,0.3', '--name', 'shared']);
    const pushed = json(s, ['push']);
    const kinds = (pushed['refs'] as { kind: string }[]).map((ref) => ref.kind);
    assert.equal(kinds.filter((kind) => kind === 'experiment').length, 2);

    const bob = join(base, 'bob');
    git(base, 'clone', '--quiet', origin, bob);
    const bobScene: Scene = { ...s, root: bob };
    json(bobScene, ['pull']);
    const names = table(bobScene).experiments.map((row) => row.name);
    assert.deepEqual(names.sort(), ['shared-1', 'shared-2']);
    const diff = json(bobScene, ['metrics', 'diff', 'shared-1', 'shared-2']);
    assert.ok((diff['changes'] as unknown[]).length > 0);
    const page = join(base, 'bob-plots.html');
    const plots = json(bobScene, ['plots', 'show', 'shared-1', 'shared-2', '--out', page]);
    const sources = (plots['plots'] as { sources: { kind: string }[] }[])[0]!.sources;
    assert.deepEqual(
      sources.map((source) => source.kind),
      ['rows', 'rows'],
      'the curves came with the push',
    );

    // Removed here only, a record comes back with the next pull (like a git tag)…
    json(bobScene, ['exp', 'remove', 'shared-1']);
    json(bobScene, ['pull']);
    assert.deepEqual(
      table(bobScene)
        .experiments.map((row) => row.name)
        .sort(),
      ['shared-1', 'shared-2'],
    );
    // …removed with --remote, it is gone from the git remote too, and stays gone for everyone.
    const removed = json(bobScene, ['exp', 'remove', 'shared-1', '--remote', 'team']);
    const shared1 = (removed['removed'] as string[])[0]!;
    assert.deepEqual(removed['remote'], { name: 'team', gitRemote: 'origin', removed: [shared1] });
    assert.equal(git(origin, 'for-each-ref', `refs/sluice/experiments/${shared1}`), '');
    json(bobScene, ['pull']);
    assert.deepEqual(
      table(bobScene).experiments.map((row) => row.name),
      ['shared-2'],
    );
    json(s, ['fetch']);
    assert.ok(
      table(s).experiments.some((row) => row.name === 'shared-1'),
      'a fetch never removes records of yours',
    );
    // Removing again: the remote holds none of them, nothing fails.
    json(s, ['exp', 'remove', 'shared-1', '--remote', 'team']);
    const again = sluice(['exp', 'remove', 'shared-1', '--remote', 'team', '--json'], s.root, s.env);
    assert.equal(again.status, 2, 'gone here too: the name is unknown');
    assert.equal((onlyJson(again)['error'] as { code: string }).code, 'not-found');
    assertOneLineError(
      sluice(['exp', 'remove', 'shared-2', '--remote', 'nowhere'], s.root, s.env),
      2,
      'nowhere',
    );
    assert.ok(
      table(s).experiments.some((row) => row.name === 'shared-2'),
      'an unknown remote removes nothing',
    );
  });
});

void describe('an empty workspace', () => {
  void test('no commit and no record yet: the table says so, and HEAD is refused saying why', (t) => {
    const root = mkdtempSync(join(tmpdir(), 'sluice-exp-empty-'));
    t.after(() => {
      removeTree(root);
    });
    git(root, 'init', '--quiet');
    writeFileSync(join(root, 'sluice.yaml'), MANIFEST);
    writeFileSync(join(root, 'params.yaml'), PARAMS);
    const shown = sluice(['exp', 'show', '--json'], root);
    assert.equal(shown.status, 0, shown.stderr);
    assert.deepEqual((onlyJson(shown)['experiments'] as unknown[]).length, 0);
    assertOneLineError(sluice(['metrics', 'diff'], root), 2, 'no commit yet');
    assertOneLineError(sluice(['exp', 'run'], root), 1, 'no commit yet');
  });
  void test('commits without a record: metrics and params as git holds them at each commit', (t) => {
    const root = mkdtempSync(join(tmpdir(), 'sluice-exp-commits-'));
    t.after(() => {
      removeTree(root);
    });
    git(root, 'init', '--quiet');
    writeFileSync(join(root, 'sluice.yaml'), MANIFEST);
    writeFileSync(join(root, 'params.yaml'), PARAMS);
    writeFileSync(join(root, 'metrics.json'), '{"accuracy": 0.5, "loss": 2}');
    commitEverything(root, 'first');
    writeFileSync(join(root, 'params.yaml'), PARAMS.replace('lr: 0.5 ', 'lr: 0.25'));
    writeFileSync(join(root, 'metrics.json'), '{"accuracy": 0.75}');
    commitEverything(root, 'second');
    const metrics = sluice(['metrics', 'diff', 'HEAD~1', 'HEAD', '--json'], root);
    assert.equal(metrics.status, 0, metrics.stderr);
    assert.deepEqual(onlyJson(metrics)['changes'], [
      { key: 'metrics.json#accuracy', a: 0.5, b: 0.75 },
      { key: 'metrics.json#loss', a: 2, b: null },
    ]);
    const params = sluice(['params', 'diff', 'HEAD~1', 'HEAD', '--json'], root);
    assert.equal(params.status, 0, params.stderr);
    assert.deepEqual(onlyJson(params)['changes'], [{ key: 'train.lr', a: 0.5, b: 0.25 }]);
  });
});
