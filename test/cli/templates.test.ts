// The manifest real pipelines need, from the built CLI on real git
// repositories: generated stages run and are addressed one by one, `${…}`
// takes run --set values, output options and stage flags change what `run`
// does, and bad templates stop `run` before anything starts.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { clearVariablesRefusedBySimpleGit, git, listBlobs, sha256, sluice } from '../support/workspace';

clearVariablesRefusedBySimpleGit();

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** A git workspace holding these files; `trace.log` (outside it) collects what stage commands ran. */
function workspace(files: Readonly<Record<string, string>>): { root: string; trace: string } {
  const base = mkdtempSync(join(tmpdir(), 'sluice-templates-cli-'));
  roots.push(base);
  const root = join(base, 'ws');
  mkdirSync(root);
  git(root, 'init', '--quiet');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return { root, trace: join(base, 'trace.log') };
}

function ran(trace: string): string[] {
  return existsSync(trace) ? readFileSync(trace, 'utf8').trim().split('\n').filter(Boolean).sort() : [];
}

interface RunJson {
  stages: { stage: string; result: string; reason: string | null }[];
}

function runJson(root: string, trace: string, ...args: string[]): { status: number | null; report: RunJson } {
  const result = sluice(['run', ...args, '--json'], root, { ...process.env, TRACE: trace });
  return { status: result.status, report: JSON.parse(result.stdout) as RunJson };
}

const PARAMS = 'train:\n  lr: 0.1\n  lrs: [0.1, 0.01]\nregions: [us, eu]\n';

/** Each stage appends its name to $TRACE, so a test sees which commands really ran. */
const TEMPLATED = `version: 1
params: params.yaml
vars:
  - models: [a, b]
pipelines:
  p:
    stages:
      prep:
        foreach: \${regions}
        do:
          run: mkdir -p data && echo \${item} \${train.lr} > data/\${item}.txt && echo prep@\${item} >> "$TRACE"
          outs:
            - data/\${item}.txt
      fit:
        matrix:
          model: \${models}
          lr: \${train.lrs}
        run: cat data/us.txt data/eu.txt > fit-\${item.model}-\${item.lr}.txt && echo fit@\${item.model}-\${item.lr} >> "$TRACE"
        deps: [data]
        outs:
          - fit-\${item.model}-\${item.lr}.txt
`;

void describe('generated stages run like written ones', () => {
  void test('foreach and matrix run, are addressed one by one or by template, and skip when unchanged', () => {
    const { root, trace } = workspace({ 'sluice.yaml': TEMPLATED, 'params.yaml': PARAMS });
    const env = { ...process.env, TRACE: trace };
    assert.equal(sluice(['validate'], root).stdout.trim(), 'sluice.yaml: no problems');
    const first = sluice(['run', '--json'], root, env);
    assert.equal(first.status, 0, first.stderr);
    const names = ['prep@us', 'prep@eu', 'fit@a-0.1', 'fit@a-0.01', 'fit@b-0.1', 'fit@b-0.01'];
    assert.deepEqual(
      (JSON.parse(first.stdout) as RunJson).stages.map((s) => `${s.stage}:${s.result}`),
      names.map((name) => `${name}:ran`),
    );
    assert.deepEqual(ran(trace), [...names].sort());
    assert.equal(readFileSync(join(root, 'data/eu.txt'), 'utf8'), 'eu 0.1\n');
    assert.equal(readFileSync(join(root, 'fit-b-0.01.txt'), 'utf8'), 'us 0.1\neu 0.1\n');

    rmSync(trace);
    assert.equal(sluice(['run'], root, env).status, 0);
    assert.deepEqual(ran(trace), [], 'nothing changed: nothing ran');

    const one = sluice(['run', 'p.fit@a-0.01', '--force'], root, env);
    assert.equal(one.status, 0, one.stderr);
    assert.deepEqual(ran(trace), ['fit@a-0.01']);

    rmSync(trace);
    const template = sluice(['run', 'p.fit', '--force', '--json'], root, env);
    assert.equal(template.status, 0, template.stderr);
    assert.deepEqual(ran(trace), ['fit@a-0.01', 'fit@a-0.1', 'fit@b-0.01', 'fit@b-0.1']);

    const unknown = sluice(['run', 'p.fit@c-1', '--json'], root, env);
    assert.equal(unknown.status, 2);
    assert.equal((JSON.parse(unknown.stdout) as { error: { code: string } }).error.code, 'unknown-stage');
  });

  void test('run --set reaches ${…}; the params file and the plain run come back after', () => {
    const { root, trace } = workspace({ 'sluice.yaml': TEMPLATED, 'params.yaml': PARAMS });
    const env = { ...process.env, TRACE: trace };
    assert.equal(sluice(['run'], root, env).status, 0);
    const set = sluice(['run', '--set', 'train.lr=0.5'], root, env);
    assert.equal(set.status, 0, set.stderr);
    assert.equal(readFileSync(join(root, 'data/us.txt'), 'utf8'), 'us 0.5\n');
    assert.equal(readFileSync(join(root, 'params.yaml'), 'utf8'), PARAMS);
    rmSync(trace);
    // Back to the file's value: every stage comes back from the run cache, none runs.
    const back = runJson(root, trace);
    assert.equal(back.status, 0);
    assert.ok(
      back.report.stages.every((s) => s.result === 'restored'),
      JSON.stringify(back.report),
    );
    assert.deepEqual(ran(trace), []);
    assert.equal(readFileSync(join(root, 'data/us.txt'), 'utf8'), 'us 0.1\n');
  });
});

void describe('a template that generates nothing', () => {
  void test('validates, and running it by name runs nothing and says so', () => {
    const manifest =
      'version: 1\npipelines:\n  p:\n    stages:\n      t:\n        foreach: []\n        do:\n          run: echo ${item}\n';
    const { root } = workspace({ 'sluice.yaml': manifest });
    assert.equal(sluice(['validate'], root).status, 0);
    for (const args of [['run'], ['run', 'p.t']]) {
      const result = sluice(args, root);
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, /No stages to run/);
    }
  });
});

void describe('bad templates stop run before anything starts', () => {
  const cases: [string, string, Readonly<Record<string, string>>, RegExp][] = [
    [
      'an unknown name',
      TEMPLATED.replace('${train.lr}', '${train.lrr}'),
      {},
      /:11:46: Unknown name `train\.lrr`/,
    ],
    [
      'foreach over a number',
      TEMPLATED.replace('foreach: ${regions}', 'foreach: ${train.lr}'),
      {},
      /:9:18: `foreach` must be a list or a mapping/,
    ],
    [
      'a matrix that makes a name twice',
      TEMPLATED.replace('model: ${models}', 'model: [a, a]'),
      {},
      /generates the stage `fit@a-0\.1` twice/,
    ],
    [
      'a params file that does not parse',
      TEMPLATED,
      { 'params.yaml': 'train: [1\n' },
      /params\.yaml:\d+:\d+ is not valid YAML/,
    ],
    [
      'a var made of itself',
      TEMPLATED.replace('  - models: [a, b]', '  - models: ${models}'),
      {},
      /refers to itself/,
    ],
  ];
  for (const [what, manifest, files, pattern] of cases) {
    void test(what, () => {
      const { root, trace } = workspace({ 'sluice.yaml': manifest, 'params.yaml': PARAMS, ...files });
      const result = sluice(['run'], root, { ...process.env, TRACE: trace });
      assert.equal(result.status, 2, result.stderr);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, pattern);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
      assert.deepEqual(ran(trace), [], 'no stage started');
      assert.equal(existsSync(join(root, 'data')), false);
    });
  }
});

void describe('output options and stage flags', () => {
  const MANIFEST = `version: 1
pipelines:
  p:
    stages:
      build:
        run: echo run >> "$TRACE" && date +%s%N > stamp.txt && echo built > model.txt && echo x >> history.txt
        outs:
          - model.txt
          - path: stamp.txt
            cache: false
          - path: history.txt
            persist: true
      frozen:
        run: echo frozen >> "$TRACE" && cat model.txt > frozen.txt
        deps: [model.txt]
        outs: [frozen.txt]
        frozen: true
      after:
        run: echo after >> "$TRACE" && cat frozen.txt > after.txt
        deps: [frozen.txt]
        outs: [after.txt]
      always:
        run: echo always >> "$TRACE" && echo a > always.txt
        outs: [always.txt]
        always_changed: true
      sub:
        wdir: tools
        run: echo sub >> "$TRACE" && pwd > where.txt
        outs: [where.txt]
`;

  void test('cache: false is tracked, not stored; persist survives a re-run; always_changed always runs; wdir is where it runs', () => {
    const { root, trace } = workspace({
      'sluice.yaml': MANIFEST,
      'tools/.keep': '',
      'frozen.txt': 'kept\n',
    });
    const env = { ...process.env, TRACE: trace };
    const first = sluice(['run', '--json'], root, env);
    assert.equal(first.status, 0, first.stdout);
    const stamp = readFileSync(join(root, 'stamp.txt'));
    // Not in the store: no blob has its bytes (model.txt's are there).
    const blobs = listBlobs(root);
    assert.ok(blobs.includes(sha256('built\n')), 'a cached output is stored');
    assert.ok(!blobs.includes(sha256(stamp)), 'a cache: false output is not');
    assert.equal(readFileSync(join(root, 'tools/where.txt'), 'utf8').trim(), join(root, 'tools'));

    // A hand edit of the uncached output makes the stage stale, and a run runs it (no restore).
    writeFileSync(join(root, 'stamp.txt'), 'edited\n');
    const status = sluice(['status'], root, env).stdout;
    assert.match(status, /stale\s+build: output stamp\.txt was modified/);
    rmSync(trace);
    const second = runJson(root, trace);
    assert.equal(second.status, 0);
    assert.equal(second.report.stages.find((s) => s.stage === 'build')?.result, 'ran');
    assert.equal(readFileSync(join(root, 'history.txt'), 'utf8'), 'x\nx\n', 'persist: kept and appended to');
    assert.ok(ran(trace).includes('always'), 'always_changed ran again');
    assert.ok(!ran(trace).includes('sub'), 'an unchanged stage did not');
  });

  void test('frozen: never run, stale said, downstream reads what it keeps; missing outputs fail the run', () => {
    const { root, trace } = workspace({ 'sluice.yaml': MANIFEST, 'tools/.keep': '' });
    const env = { ...process.env, TRACE: trace };
    const missing = sluice(['run', '--json'], root, env);
    assert.equal(missing.status, 1);
    const frozen = (JSON.parse(missing.stdout) as RunJson).stages.find((s) => s.stage === 'frozen')!;
    assert.equal(frozen.result, 'failed');
    assert.match(frozen.reason ?? '', /frozen and its output frozen\.txt is missing/);
    assert.ok(!ran(trace).includes('frozen'));

    writeFileSync(join(root, 'frozen.txt'), 'kept by hand\n');
    rmSync(trace);
    const next = runJson(root, trace);
    assert.equal(next.status, 0, JSON.stringify(next.report));
    assert.equal(next.report.stages.find((s) => s.stage === 'frozen')?.result, 'skipped');
    assert.equal(readFileSync(join(root, 'after.txt'), 'utf8'), 'kept by hand\n');
    assert.ok(!ran(trace).includes('frozen'));
    assert.match(sluice(['status'], root, env).stdout, /frozen: .*`frozen`/);
  });

  void test('a wdir that is not a folder fails that stage, saying so', () => {
    const { root, trace } = workspace({ 'sluice.yaml': MANIFEST, 'frozen.txt': 'kept\n' });
    const result = runJson(root, trace, 'p.sub');
    assert.equal(result.status, 1);
    assert.match(
      result.report.stages.find((s) => s.stage === 'sub')?.reason ?? '',
      /wdir tools is not a folder/,
    );
  });
});

void describe('params from several files and formats', () => {
  for (const [file, content, changed] of [
    ['conf/extra.toml', '[model]\ndepth = 3\n', '[model]\ndepth = 4\n'],
    ['conf/extra.json', '{"model": {"depth": 3}}', '{"model": {"depth": 4}}'],
    ['conf/extra.yaml', 'model:\n  depth: 3\n', 'model:\n  depth: 4\n'],
  ] as const) {
    void test(file, () => {
      const manifest = `version: 1\npipelines:\n  p:\n    stages:\n      s:\n        wdir: conf\n        run: echo "$SLUICE_PARAMS" > seen.json\n        params:\n          - ${file.slice(5)}: [model.depth]\n        outs: [seen.json]\n`;
      const { root } = workspace({ 'sluice.yaml': manifest, [file]: content });
      assert.equal(sluice(['run'], root).status, 0);
      assert.deepEqual(JSON.parse(readFileSync(join(root, 'conf/seen.json'), 'utf8')), {
        [`${file}#model.depth`]: 3,
      });
      writeFileSync(join(root, file), changed);
      assert.match(
        sluice(['status'], root).stdout,
        new RegExp(`param ${file}#model\\.depth changed \\(3 → 4\\)`),
      );
      const wrong = sluice(['validate'], root);
      assert.equal(wrong.status, 0);
      writeFileSync(join(root, file), content.replace('depth', 'width'));
      const invalid = sluice(['validate'], root);
      assert.equal(invalid.status, 1);
      assert.match(invalid.stdout, /has no `model\.depth`/);
    });
  }
});
