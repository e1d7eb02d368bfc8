// A no-op run at the machine's floor (issue 18), and what it must keep doing:
// the plan read back from its cache is the plan of the model, and of that
// model only; a run reads the code it ran (git) only once it changes
// something, before it overlays params, so a no-op run starts no git process
// and a record still names the code and data its stages saw; the refusal of
// protected outputs still finds a link or a repository among many outputs of
// one folder, which it lists instead of asking about each name; stage
// summaries are read without JSON, and records of the format before still open.
import assert from 'node:assert/strict';
import {
  appendFileSync,
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { SluiceError } from '../../src/core/errors';
import { readAllExperiments } from '../../src/core/experiments/records';
import { openPipelines } from '../../src/core/pipelines/context';
import { PipelineState } from '../../src/core/pipelines/state';
import { planWorkspace } from '../../src/core/pipelines/plan';
import { runPipelines } from '../../src/core/pipelines/runner';
import { manifestWithOverrides, openWorkspace } from '../../src/core/workspace';
import { clearVariablesRefusedBySimpleGit, git, removeTree, sluice } from '../support/workspace';

clearVariablesRefusedBySimpleGit();

const made: string[] = [];
after(() => {
  for (const root of made) removeTree(root);
});

/** A committed git workspace holding `files`; returns its root. */
function workspace(files: Readonly<Record<string, string>>): string {
  const root = mkdtempSync(join(tmpdir(), 'sluice-noop-'));
  made.push(root);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  git(root, 'init', '--quiet');
  git(root, 'add', '--all');
  git(root, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '--quiet', '-m', 'start');
  return root;
}

/** Every stage construct the plan carries: templates, params files, wdir, output options, resources, plots, checks. */
const RICH = [
  'version: 1',
  'name: rich',
  'params: params.yaml',
  'datasets:',
  '  raw:',
  '    path: data/raw.csv',
  'pipelines:',
  '  train:',
  '    resources:',
  '      cpus: 2',
  '    stages:',
  '      prepare:',
  '        run: echo ${train.lr} > out/prepared.txt',
  '        datasets: [raw]',
  '        deps: [src/prepare.js]',
  '        params: [train.lr, {other.json: [a.b]}]',
  '        outs:',
  '          - out/prepared.txt',
  '          - path: out/scratch',
  '            cache: false',
  '      fit:',
  '        foreach: [small, large]',
  '        do:',
  '          run: echo ${item} > out/${item}.txt',
  '          deps: [out/prepared.txt]',
  '          outs: ["out/${item}.txt"]',
  '      report:',
  '        wdir: sub',
  '        run: echo done > report.csv',
  '        needs: [fit]',
  '        frozen: true',
  '        outs:',
  '          - path: report.csv',
  '            persist: true',
  '        metrics: [metrics.json]',
  '        plots:',
  '          - path: report.csv',
  '            x: step',
  '            y: [loss]',
  '    checks:',
  '      - name: accuracy floor',
  '        metric: sub/metrics.json#accuracy',
  '        min: 0.5',
  '',
].join('\n');

const RICH_FILES = {
  'sluice.yaml': RICH,
  'params.yaml': 'train:\n  lr: 0.1\n',
  'other.json': '{"a": {"b": 1}}\n',
  'data/raw.csv': 'id\n1\n',
  'src/prepare.js': '',
  'sub/.keep': '',
};

/** A plan as JSON sees it: the form the cache keeps (absent and undefined fields read the same). */
function asJson(plan: ReturnType<typeof planWorkspace>): unknown {
  return JSON.parse(JSON.stringify({ paramsFile: plan.paramsFile, pipelines: [...plan.pipelines] }));
}

void describe('the plan cache', () => {
  void test('reads back the plan the model makes, for every construct a stage can have', async () => {
    const root = workspace(RICH_FILES);
    const made = planWorkspace((await openWorkspace(root)).manifest);
    const cacheFile = join(root, '.sluice', 'state', 'plan.json');
    assert.ok(readFileSync(cacheFile, 'utf8').length > 0, 'the plan is remembered');
    // A new workspace object: the plan comes from the file, not from this process's memory.
    const read = planWorkspace((await openWorkspace(root)).manifest);
    assert.notEqual(read, made);
    assert.deepEqual(asJson(read), asJson(made));
    const stages = [...read.pipelines.get('train')!.stages].map((stage) => stage.name);
    assert.deepEqual(stages, ['prepare', 'fit@small', 'fit@large', 'report']);
  });

  void test('is the plan of that model only: a changed params file, or params overridden for one run, plan again', async () => {
    const root = workspace(RICH_FILES);
    planWorkspace((await openWorkspace(root)).manifest);
    const command = (plan: ReturnType<typeof planWorkspace>): string =>
      plan.pipelines.get('train')!.stages.find((stage) => stage.name === 'prepare')!.run;
    writeFileSync(join(root, 'params.yaml'), 'train:\n  lr: 0.2\n');
    const opened = await openWorkspace(root);
    assert.equal(command(planWorkspace(opened.manifest)), 'echo 0.2 > out/prepared.txt');
    const overridden = manifestWithOverrides(opened, { 'train.lr': 0.3 });
    assert.equal(command(planWorkspace(overridden)), 'echo 0.3 > out/prepared.txt');
    // …and the override was not remembered as the workspace's plan.
    assert.equal(command(planWorkspace((await openWorkspace(root)).manifest)), 'echo 0.2 > out/prepared.txt');
  });

  void test('a damaged plan cache is only a slower start', async () => {
    const root = workspace(RICH_FILES);
    const made = planWorkspace((await openWorkspace(root)).manifest);
    writeFileSync(join(root, '.sluice', 'state', 'plan.json'), '{"format":1,"model":');
    assert.deepEqual(asJson(planWorkspace((await openWorkspace(root)).manifest)), asJson(made));
  });
});

/** A `git` first on PATH that notes each call in `log`, then runs the real one. */
function gitSpy(): { env: NodeJS.ProcessEnv; calls: () => string[]; clear: () => void } {
  const bin = mkdtempSync(join(tmpdir(), 'sluice-git-spy-'));
  made.push(bin);
  const log = join(bin, 'calls.log');
  const real = spawnSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).stdout.trim();
  writeFileSync(join(bin, 'git'), `#!/bin/sh\necho "$*" >> '${log}'\nexec '${real}' "$@"\n`);
  chmodSync(join(bin, 'git'), 0o755);
  writeFileSync(log, '');
  return {
    env: { ...process.env, PATH: `${bin}${delimiter}${process.env['PATH'] ?? ''}` },
    calls: () =>
      readFileSync(log, 'utf8')
        .split('\n')
        .filter((line) => line !== ''),
    clear: () => {
      writeFileSync(log, '');
    },
  };
}

const ONE_STAGE = [
  'version: 1',
  'name: one',
  'params: params.yaml',
  'pipelines:',
  '  main:',
  '    stages:',
  '      make:',
  '        run: cat src/in.txt > out.txt',
  '        deps: [src/in.txt]',
  '        params: [lr]',
  '        outs: [out.txt]',
  '',
].join('\n');

void describe('a run reads the code it ran only once it changes something', () => {
  void test('a no-op run starts no git process; a run that runs records the code and data its stages saw', async () => {
    const root = workspace({
      'sluice.yaml': ONE_STAGE,
      'params.yaml': 'lr: 1\n',
      'src/in.txt': 'one\n',
      '.gitignore': 'out.txt\n',
    });
    const spy = gitSpy();
    const run = (...args: string[]): { stages: { result: string }[] } => {
      const result = sluice(['run', '--json', ...args], root, spy.env);
      assert.equal(result.status, 0, result.stderr);
      return JSON.parse(result.stdout) as { stages: { result: string }[] };
    };
    assert.equal(run().stages[0]!.result, 'ran');
    assert.ok(spy.calls().length > 0, 'the first run asked git for its code');
    spy.clear();
    assert.equal(run().stages[0]!.result, 'skipped');
    assert.deepEqual(spy.calls(), [], 'a no-op run starts no git process');

    // A commit, then a run: the record names the new commit, clean.
    appendFileSync(join(root, 'src', 'in.txt'), 'two\n');
    git(root, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '--quiet', '-am', 'two');
    assert.equal(run().stages[0]!.result, 'ran');
    const head = git(root, 'rev-parse', 'HEAD').trim();
    const latest = async () => {
      const records = await readAllExperiments((await openWorkspace(root)).git);
      return records.sort((a, b) => (a.time < b.time ? 1 : -1))[0]!;
    };
    assert.deepEqual((await latest()).code, { commit: head, dirty: false, changes: null });

    // `--set` overlays the (tracked) params file while the stages run: the code was read before, clean.
    assert.equal(run('--set', 'lr=2').stages[0]!.result, 'ran');
    const overridden = await latest();
    assert.deepEqual(overridden.overrides, { lr: 2 });
    assert.deepEqual(overridden.code, { commit: head, dirty: false, changes: null });

    // An uncommitted edit the stage reads: the record says the code was dirty.
    appendFileSync(join(root, 'src', 'in.txt'), 'three\n');
    assert.equal(run().stages[0]!.result, 'ran');
    assert.equal((await latest()).code.dirty, true);
  });
});

void describe('the refusal of protected outputs, among many outputs of one folder', () => {
  const STAGES = 24;
  const manyOutputs = (): string =>
    [
      'version: 1',
      'name: many',
      'pipelines:',
      '  main:',
      '    stages:',
      ...Array.from({ length: STAGES }, (_, index) => [
        `      s${index}:`,
        `        run: echo ${index} > out/s${index}`,
        `        outs: [out/s${index}]`,
      ]).flat(),
      '',
    ].join('\n');

  for (const [what, late] of [
    ['one of the first names asked', 2],
    ['a name asked after the folder was listed', STAGES - 3],
  ] as const) {
    void test(`a link to .git (${what}) is refused, and so is a folder holding a repository`, async () => {
      const root = workspace({ 'sluice.yaml': manyOutputs(), 'out/.keep': '' });
      const opened = await openWorkspace(root);
      // Made after validation: the runner alone stands between these and the repository.
      symlinkSync(join('..', '.git'), join(root, 'out', `s${late}`));
      await assert.rejects(
        runPipelines(openPipelines(opened), { force: true }),
        (error: unknown) =>
          error instanceof SluiceError &&
          error.code === 'protected-output' &&
          error.data['output'] === `out/s${late}`,
      );
      rmSync(join(root, 'out', `s${late}`));
      mkdirSync(join(root, 'out', `s${late}`, '.git'), { recursive: true });
      await assert.rejects(
        runPipelines(openPipelines(opened), { force: true }),
        (error: unknown) =>
          error instanceof SluiceError &&
          error.code === 'protected-output' &&
          error.data['output'] === `out/s${late}` &&
          error.data['relation'] === 'contains',
      );
    });
  }
});

void describe('stage records (format 3: summaries as fields, read without JSON)', () => {
  const success = (signature: string, outs: Record<string, string>, runId: string | undefined) => ({
    signature,
    inputs: { run: 'x', deps: {}, datasets: {}, params: {}, upstream: {} },
    outs,
    runId,
    finishedAt: '2026-12-07T00:00:00.000Z',
    restored: false,
  });

  void test('a summary reads back as written, odd paths and link targets included', () => {
    const root = mkdtempSync(join(tmpdir(), 'sluice-stages-'));
    made.push(root);
    const file = join(root, 'stages.json');
    const outs = {
      'out/plain.txt': 'file:' + 'a'.repeat(64),
      'out/tab\there': 'file:' + 'b'.repeat(64) + '+x',
      'out/new\nline': 'link:target\twith a tab',
      '"quoted': 'tree:' + 'c'.repeat(64),
    };
    const state = PipelineState.load(file);
    state.succeeded('p.a', success('1'.repeat(64), outs, 'run-a'));
    state.succeeded('p.b', success('2'.repeat(64), {}, undefined));
    state.failed('p.c', { signature: '3'.repeat(64), runId: 'run-c', finishedAt: 'now', reason: 'exit 1' });
    state.save();
    assert.ok(readFileSync(file, 'utf8').startsWith('sluice-stages 3\n'));
    const read = PipelineState.load(file);
    assert.deepEqual(read.lastSuccess('p.a'), { signature: '1'.repeat(64), outs, runId: 'run-a' });
    assert.deepEqual(read.lastSuccess('p.b'), { signature: '2'.repeat(64), outs: {}, runId: undefined });
    assert.equal(read.lastSuccess('p.c'), undefined);
    assert.equal(read.get('p.c')?.failure?.reason, 'exit 1');
    assert.deepEqual(read.get('p.a')?.success?.outs, outs);
    // Saved again unchanged by another command, the file is the same bytes.
    const before = readFileSync(file, 'utf8');
    read.checked('p#c', { key: 'k', outcome: 'pass', detail: '', runId: undefined });
    read.save();
    const after = readFileSync(file, 'utf8');
    assert.equal(after.split('\n').slice(0, 4).join('\n'), before.split('\n').slice(0, 4).join('\n'));
  });

  void test('a file of format 2 (summaries as JSON) is read, and written as format 3 by the next change', () => {
    const root = mkdtempSync(join(tmpdir(), 'sluice-stages-'));
    made.push(root);
    const file = join(root, 'stages.json');
    const record = { success: success('1'.repeat(64), { 'out/a': 'file:' + 'a'.repeat(64) }, 'run-a') };
    const summary = {
      signature: '1'.repeat(64),
      outs: { 'out/a': 'file:' + 'a'.repeat(64) },
      runId: 'run-a',
    };
    writeFileSync(
      file,
      `sluice-stages 2\nS\tp.a\t${JSON.stringify(summary)}\t${JSON.stringify(record)}\nS\tp.b\tnull\t{}\n`,
    );
    const state = PipelineState.load(file);
    assert.deepEqual(state.lastSuccess('p.a'), summary);
    assert.equal(state.lastSuccess('p.b'), undefined);
    state.save();
    assert.ok(readFileSync(file, 'utf8').startsWith('sluice-stages 2\n'), 'nothing changed: nothing written');
    state.failed('p.b', { signature: '2'.repeat(64), runId: 'run-b', finishedAt: 'now', reason: 'exit 1' });
    state.save();
    assert.ok(readFileSync(file, 'utf8').startsWith('sluice-stages 3\n'));
    const read = PipelineState.load(file);
    assert.deepEqual(read.lastSuccess('p.a'), summary);
    assert.deepEqual(read.get('p.a'), record);
    assert.equal(read.get('p.b')?.failure?.reason, 'exit 1');
  });
});
