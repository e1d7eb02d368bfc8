// `sluice import-dvc` through the built CLI, in git repositories in temp
// folders: the manifest it writes for DVC projects written by hand from DVC's
// documented format (parsed back and compared whole), the lines and exit codes
// of what it cannot carry over, --json, refusals, and a malformed dvc.yaml
// named by line and column. The last block runs `sluice validate` and
// `sluice run` on what it writes. Generated variants (output options, foreach
// shapes, plot templates) are in importDvcVariants.test.ts.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { NOT_CARRIED_CODES } from '../../src/core/dvc/model';
import {
  importDvc,
  importJson,
  manifestOf,
  removeWorkspaces,
  stagesOf,
  tempFolder,
  workspace,
  type NotCarriedJson,
} from '../support/importDvc';
import {
  assertOneLineError,
  clearVariablesRefusedBySimpleGit,
  git,
  ROOT,
  sluice,
} from '../support/workspace';
import { CLEAN_PROJECTS, FOREACH, lines, MATRIX, NOT_CARRIED, PLAIN, WDIR } from './fixtures/dvcProjects';

clearVariablesRefusedBySimpleGit();
after(removeWorkspaces);

function counted(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

void describe('sluice import-dvc writes the sluice.yaml of a DVC project', () => {
  for (const project of [PLAIN, FOREACH, MATRIX, WDIR, NOT_CARRIED])
    void test(project.name, () => {
      const root = workspace(project.files);
      const result = importDvc(root);
      const exitCode = project.notCarried.length === 0 ? 0 : 1;
      assert.equal(result.status, exitCode, result.stderr);
      assert.equal(result.stderr, '');
      assert.deepEqual(manifestOf(root), project.manifest);
      const expected = project.manifest as { datasets?: object; pipelines?: { main: { stages: object } } };
      const stages = Object.keys(expected.pipelines?.main.stages ?? {}).length;
      const datasets = Object.keys(expected.datasets ?? {}).length;
      const printed = result.stdout.trimEnd().split('\n');
      assert.equal(
        printed[0],
        `Wrote sluice.yaml: pipeline main with ${counted(stages, 'stage')}, ${counted(datasets, 'dataset')}.`,
      );
      // --json lists the same things, with the same words, as the lines after the first.
      const { status, json } = importJson(root, '--force');
      assert.equal(status, exitCode);
      assert.deepEqual(
        json.notCarried.map((item) => item.code),
        project.notCarried,
      );
      assert.deepEqual(
        printed.slice(1),
        json.notCarried.map((item) => `not carried: ${item.what}: ${item.reason}.`),
      );
      assert.equal(json.written, join(root, 'sluice.yaml'));
      assert.equal(json.pipeline, 'main');
      assert.equal(json.stages, stages);
      assert.equal(json.datasets, datasets);
      assert.equal(json.error?.code, exitCode === 0 ? undefined : 'not-carried');
      assert.deepEqual(manifestOf(root), project.manifest, '--force wrote the same manifest');
    });

  void test('each line of what is not carried names the stage, key or file, why, and what to do by hand', () => {
    const root = workspace(NOT_CARRIED.files);
    const { json } = importJson(root);
    const line = (code: string, what: string): NotCarriedJson => {
      const item = json.notCarried.find((known) => known.code === code && known.what === what);
      assert.ok(item, `${code} for ${what} in ${JSON.stringify(json.notCarried, null, 1)}`);
      return item;
    };
    assert.match(line('stage-meta', "stage 'train': meta").reason, /YAML comment/);
    assert.match(line('stage-vars', "stage 'train': vars").reason, /top-level `vars`/);
    assert.match(line('stage-key', "stage 'train': live").reason, /by hand/);
    assert.match(line('dict-unpacking', "stage 'train': cmd ${opts}").reason, /\$\{opts\.key\}/);
    assert.match(line('python-params', "stage 'train': params pyparams.py").reason, /YAML/);
    for (const option of ['remote', 'push', 'checkpoint', 'desc', 'type', 'labels'])
      line('output-option', `stage 'train': outs model.pkl: ${option}`);
    assert.match(line('plot-template', "stage 'train': plots preds.csv: template custom_tpl").reason, /line/);
    assert.match(line('plot-option', "stage 'train': plots preds.csv: header: false").reason, /header line/);
    assert.match(
      line('foreach-source', "stage 'per-user': foreach ${users}").reason,
      /`vars` in sluice\.yaml/,
    );
    assert.match(line('stage-renamed', "stage '1st.stage'").reason, /'stage-1st_stage'/);
    assert.match(line('metrics-no-stage', 'metrics: nowhere.json').reason, /no stage writes/);
    assert.match(line('plot-several-files', 'plots: compare').reason, /a\.csv, b\.csv/);
    assert.match(line('plot-no-stage', 'plots: missing.csv').reason, /no stage writes missing\.csv/);
    assert.match(line('params-file', 'params: unused.yaml').reason, /no stage reads/);
    assert.match(line('artifacts', 'artifacts: cnn').reason, /model\.pkl/);
    assert.match(line('other-dvc-yaml', 'other/dvc.yaml').reason, /sluice import-dvc/);
    assert.match(
      line('dvc-remote', '.dvc/config: remote storage').reason,
      /sluice remote add storage s3:\/\/bucket\/dvc/,
    );
    assert.match(line('dvc-lock', 'dvc.lock').reason, /sluice run/);
    assert.match(line('dataset-option', 'data/shared.dvc: remote').reason, /dataset 'shared'/);
    assert.match(line('dataset-option', 'data/shared.dvc: push').reason, /dataset 'shared'/);
    assert.match(
      line(
        'dataset-import',
        'data/shared.dvc: imported from https://example.com/org/registry (datasets/shared)',
      ).reason,
      /sluice snapshot shared/,
    );
    // The manifest says the same beside what it concerns, as comments.
    const text = readFileSync(join(root, 'sluice.yaml'), 'utf8');
    assert.match(text, /^# Converted from dvc\.yaml by `sluice import-dvc`/);
    assert.match(text, /# not carried: meta\n(\s+# .*\n)*\s+train:/);
    assert.match(text, /# '1st\.stage' in dvc\.yaml\n\s+stage-1st_stage:/);
    assert.match(text, /# tracked by data\/shared\.dvc\n\s+shared:/);
  });

  void test('the rarer things: broken and outside .dvc files, vars selections, keys beside foreach, plots of folders', () => {
    const root = workspace({
      'values.json': '{"clean": 1, "other": 2}\n',
      'pyvals.py': 'RATE = 1\n',
      'broken.dvc': 'outs: [\n',
      'outside.dvc': lines('outs:', '- md5: 33333333333333333333333333333333', '  path: ../elsewhere'),
      'reports/r.csv': 'a,b\n1,2\n',
      'old.dvc': lines(
        'cmd: python make.py',
        'outs:',
        '- md5: 44444444444444444444444444444444',
        '  path: made.csv',
      ),
      'dvc.yaml': lines(
        "schema: '2.0'",
        'vars:',
        '  - values.json:clean',
        '  - pyvals.py',
        'stages:',
        '  loop:',
        '    foreach: [a]',
        '    desc: beside foreach',
        '    do:',
        '      cmd: echo ${item}',
        '  grid:',
        '    matrix:',
        '      lr: ${rates}',
        '    cmd: echo ${item.lr}',
        '  report:',
        '    cmd: python report.py',
        '    outs:',
        '      - reports',
        '      - confusion.csv',
        'plots:',
        '  - reports',
        '  - confusion.csv:',
        '      template: confusion',
        '      x: actual',
        '      y: [a, b]',
      ),
    });
    const { status, json } = importJson(root);
    assert.equal(status, 1);
    assert.deepEqual(
      json.notCarried.map(({ what, code }) => ({ what, code })),
      [
        { what: 'broken.dvc:2:1', code: 'dvc-file-invalid' },
        { what: 'outside.dvc: ../elsewhere', code: 'dataset-outside' },
        { what: 'vars: values.json:clean', code: 'vars-keys' },
        { what: 'vars: pyvals.py', code: 'python-params' },
        { what: "stage 'loop': desc", code: 'stage-key' },
        { what: "stage 'grid': matrix lr ${rates}", code: 'matrix-source' },
        { what: 'plots: reports', code: 'plot-folder' },
        { what: 'plots: confusion.csv: template confusion', code: 'plot-confusion' },
        { what: 'dvc.yaml: schema', code: 'unknown-key' },
        { what: 'old.dvc', code: 'dvc-file-stage' },
      ],
    );
    assert.match(json.notCarried[5]!.reason, /pyvals\.py, which Sluice cannot read/);
    assert.deepEqual(manifestOf(root), {
      version: 1,
      vars: ['values.json'],
      pipelines: {
        main: {
          stages: {
            loop: { foreach: ['a'], do: { run: 'echo ${item}' } },
            grid: { matrix: { lr: '${rates}' }, run: 'echo ${item.lr}' },
            report: { run: 'python report.py', outs: ['reports', 'confusion.csv'], plots: ['confusion.csv'] },
          },
        },
      },
    });
  });

  void test('every code of what is not carried is documented in the --json schema', () => {
    const schema = readFileSync(join(ROOT, 'src/cli/schemas/import-dvc.schema.json'), 'utf8');
    const documented = /Stable, kebab-case: ([^.]+)\./.exec(schema)![1]!.split(', ');
    assert.deepEqual(documented, [...NOT_CARRIED_CODES]);
  });

  void test('--pipeline names the pipeline; PATH may be the folder or the dvc.yaml, from anywhere', () => {
    const root = workspace(PLAIN.files);
    const elsewhere = tempFolder('sluice-dvc-cwd-');
    const byFolder = importDvc(elsewhere, root, '--pipeline', 'training');
    assert.equal(byFolder.status, 0, byFolder.stderr);
    assert.equal(
      byFolder.stdout.split('\n')[0],
      `Wrote ${join(root, 'sluice.yaml')}: pipeline training with 2 stages, 2 datasets.`,
    );
    assert.deepEqual(Object.keys(stagesOf(root, 'training')), ['prepare', 'train']);
    const byFile = importDvc(elsewhere, join(root, 'dvc.yaml'), '--force');
    assert.equal(byFile.status, 0, byFile.stderr);
    assert.deepEqual(manifestOf(root), PLAIN.manifest);
  });

  void test('the walk for .dvc files skips .git, .dvc, node_modules and the tracked folders themselves', () => {
    const tracked = lines('outs:', '- md5: 00000000000000000000000000000000', '  path: file.txt');
    const root = workspace({
      'dvc.yaml': lines(
        'stages:',
        '  use:',
        '    cmd: cat deep/nested/file.txt',
        '    deps:',
        '      - deep/nested/file.txt',
      ),
      'deep/nested/file.txt.dvc': tracked,
      'deep/nested/file.txt': 'data\n',
      'node_modules/pkg/file.txt.dvc': tracked,
      '.dvc/cache/file.txt.dvc': tracked,
      'data/raw.dvc': lines('outs:', '- md5: 11111111111111111111111111111111.dir', '  path: raw'),
      'data/raw/inner/file.txt.dvc': tracked,
    });
    writeFileSync(join(root, '.git', 'file.txt.dvc'), tracked);
    const result = importDvc(root);
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.deepEqual(manifestOf(root)['datasets'], {
      file_txt: { path: 'deep/nested/file.txt' },
      raw: { path: 'data/raw' },
    });
    assert.deepEqual(stagesOf(root)['use'], { run: 'cat deep/nested/file.txt', datasets: ['file_txt'] });
  });

  void test('dataset names are the last segment, sanitized and made unique', () => {
    const dvcFile = (path: string): string =>
      lines('outs:', '- md5: 22222222222222222222222222222222', `  path: ${path}`);
    const root = workspace({
      'dvc.yaml': lines('stages:', '  noop:', '    cmd: "true"'),
      'a/data.csv.dvc': dvcFile('data.csv'),
      'b/data.csv.dvc': dvcFile('data.csv'),
      'c/2024 export.dvc': dvcFile('2024 export'),
    });
    assert.equal(importDvc(root).status, 0);
    assert.deepEqual(manifestOf(root)['datasets'], {
      data_csv: { path: 'a/data.csv' },
      'data_csv-2': { path: 'b/data.csv' },
      'data-2024_export': { path: 'c/2024 export' },
    });
  });

  void test('the manifest is written atomically: nothing but sluice.yaml appears beside dvc.yaml', () => {
    const root = workspace(PLAIN.files);
    const before = readdirSync(root).sort();
    assert.equal(importDvc(root).status, 0);
    assert.deepEqual(readdirSync(root).sort(), [...before, 'sluice.yaml'].sort());
    const text = readFileSync(join(root, 'sluice.yaml'), 'utf8');
    assert.ok(text.endsWith('\n'));
    // Short lists of names are written on one line.
    assert.match(text, /datasets: \[raw, labels_csv\]/);
  });
});

void describe('refusals and a malformed dvc.yaml: exit 2, one line, nothing written', () => {
  void test('an existing sluice.yaml is replaced only with --force', () => {
    const root = workspace({ ...PLAIN.files, 'sluice.yaml': 'version: 1\n' });
    const refused = importDvc(root);
    assertOneLineError(refused, 2, join(root, 'sluice.yaml'), '--force');
    assert.equal(refused.stdout, '');
    assert.equal(readFileSync(join(root, 'sluice.yaml'), 'utf8'), 'version: 1\n');
    const { status, json } = importJson(root);
    assert.equal(status, 2);
    assert.deepEqual(Object.keys(json), ['error']);
    assert.equal(json.error?.code, 'manifest-exists');
    assert.equal(importDvc(root, '--force').status, 0);
    assert.deepEqual(manifestOf(root), PLAIN.manifest);
  });

  const malformed: readonly {
    readonly what: string;
    readonly text: string[];
    readonly at: string;
    readonly says: RegExp;
  }[] = [
    {
      what: 'a YAML syntax error',
      text: ['stages:', '  a:', '    cmd: x', '    outs: [a'],
      at: '5:1',
      says: /Flow sequence/,
    },
    {
      what: 'a duplicate key',
      text: ['stages:', '  a:', '    cmd: x', '  a:', '    cmd: y'],
      at: '4:3',
      says: /unique/,
    },
    {
      what: 'a stage that is not a mapping',
      text: ['stages:', '  train: python train.py'],
      at: '2:10',
      says: /stage 'train' is not a mapping/,
    },
    {
      what: 'a stage with nothing in it',
      text: ['stages:', '  train:', 'plots: []'],
      at: '2:3',
      says: /stage 'train' is not a mapping/,
    },
    {
      what: 'stages that are a list',
      text: ['stages:', '  - a'],
      at: '2:3',
      says: /`stages` is not a mapping/,
    },
    { what: 'a dvc.yaml that is a list', text: ['- stages'], at: '1:1', says: /dvc\.yaml is not a mapping/ },
    { what: 'a stage without cmd', text: ['stages:', '  a:', '    deps: [x]'], at: '3:5', says: /no `cmd`/ },
    {
      what: 'a cmd that is a number',
      text: ['stages:', '  a:', '    cmd: 3'],
      at: '3:10',
      says: /cmd must be/,
    },
    {
      what: 'a foreach without do',
      text: ['stages:', '  a:', '    foreach: [x]', '    cmd: y'],
      at: '3:5',
      says: /no `do`/,
    },
    {
      what: 'a do without foreach',
      text: ['stages:', '  a:', '    do:', '      cmd: y'],
      at: '4:7',
      says: /no foreach/,
    },
    {
      what: 'a foreach of text',
      text: ['stages:', '  a:', '    foreach: us', '    do: {cmd: y}'],
      at: '3:14',
      says: /foreach must be/,
    },
    {
      what: 'a matrix entry that is a number',
      text: ['stages:', '  a:', '    matrix: {n: 3}', '    cmd: y'],
      at: '3:17',
      says: /matrix n must be/,
    },
    {
      what: 'outs that are a mapping',
      text: ['stages:', '  a:', '    cmd: y', '    outs: {x: 1}'],
      at: '4:11',
      says: /outs must be a list/,
    },
    {
      what: 'an output with two paths',
      text: ['stages:', '  a:', '    cmd: y', '    outs:', '      - {a: {}, b: {}}'],
      at: '5:9',
      says: /one path with its options/,
    },
    {
      what: 'output options that are a list',
      text: ['stages:', '  a:', '    cmd: y', '    outs:', '      - a: [x]'],
      at: '5:12',
      says: /options of a must be a mapping/,
    },
    {
      what: 'a params entry that is a number',
      text: ['stages:', '  a:', '    cmd: y', '    params: [3]'],
      at: '4:14',
      says: /params entry/,
    },
    {
      what: 'frozen that is not a boolean',
      text: ['stages:', '  a:', '    cmd: y', '    frozen: "yes"'],
      at: '4:13',
      says: /true or false/,
    },
    { what: 'vars that are a mapping', text: ['vars: {a: 1}'], at: '1:7', says: /`vars` must be a list/ },
  ];
  for (const c of malformed)
    void test(`${c.what} is named by file, line and column`, () => {
      const root = workspace({ 'dvc.yaml': lines(...c.text) });
      const result = importDvc(root);
      assertOneLineError(result, 2, `${join(root, 'dvc.yaml')}:${c.at}: `);
      assert.match(result.stderr, c.says);
      assert.equal(existsSync(join(root, 'sluice.yaml')), false);
      const { json } = importJson(root);
      assert.equal(json.error?.code, 'dvc-yaml-invalid');
      const [line, column] = c.at.split(':').map(Number);
      assert.deepEqual(json.error.data, { file: join(root, 'dvc.yaml'), line, column });
    });

  void test('a folder without dvc.yaml, and a PATH that does not exist', () => {
    const root = workspace({});
    assertOneLineError(importDvc(root), 2, `No dvc.yaml in ${root}`);
    assertOneLineError(importDvc(root, 'nowhere/dvc.yaml'), 2, `No dvc.yaml in ${join(root, 'nowhere')}`);
    assertOneLineError(importDvc(root, 'pipeline.yml'), 2, join(root, 'pipeline.yml'));
    assert.equal(importJson(root).json.error?.code, 'dvc-yaml-not-found');
    assert.deepEqual(readdirSync(root), ['.git']);
  });

  void test('a pipeline name Sluice cannot use is refused', () => {
    const root = workspace(PLAIN.files);
    assertOneLineError(importDvc(root, '--pipeline', 'my pipeline'), 2, "'my pipeline'", '--pipeline');
    assert.equal(existsSync(join(root, 'sluice.yaml')), false);
  });
});

void describe('Sluice validates and runs what import-dvc writes (needs the vars, foreach, matrix, wdir and output options of the manifest core on main)', () => {
  for (const project of CLEAN_PROJECTS)
    void test(`sluice validate finds no problem: ${project.name}`, () => {
      const root = workspace(project.files);
      assert.equal(importDvc(root).status, 0);
      const validated = sluice(['validate'], root);
      assert.equal(validated.stdout, 'sluice.yaml: no problems\n', validated.stderr);
      assert.equal(validated.status, 0);
    });

  void test('a converted foreach pipeline runs end to end, then is up to date', () => {
    const root = workspace({
      'dvc.yaml': lines(
        'stages:',
        '  greet:',
        '    foreach: [us, eu]',
        '    do:',
        "      cmd: sh -c 'mkdir -p out && echo ${item} > out/${item}.txt'",
        '      outs:',
        '        - out/${item}.txt',
      ),
      '.gitignore': '.sluice/\nout/\n',
    });
    assert.equal(importDvc(root).status, 0);
    git(root, 'add', '--all');
    git(root, 'commit', '--quiet', '-m', 'converted from DVC');
    const ran = sluice(['run', '--json'], root);
    assert.equal(ran.status, 0, ran.stdout + ran.stderr);
    assert.equal(readFileSync(join(root, 'out/us.txt'), 'utf8'), 'us\n');
    assert.equal(readFileSync(join(root, 'out/eu.txt'), 'utf8'), 'eu\n');
    const results = (JSON.parse(ran.stdout) as { stages: { stage: string; result: string }[] }).stages;
    assert.deepEqual(results.map((stage) => stage.result).sort(), ['ran', 'ran']);
    const again = JSON.parse(sluice(['run', '--json'], root).stdout) as { stages: { result: string }[] };
    assert.deepEqual(
      again.stages.map((stage) => stage.result),
      ['skipped', 'skipped'],
    );
  });

  void test('a converted matrix pipeline runs every combination', () => {
    const root = workspace({
      'dvc.yaml': lines(
        'stages:',
        '  grid:',
        '    matrix:',
        '      model: [a, b]',
        '      lr: [1, 2]',
        "    cmd: sh -c 'mkdir -p grid && echo ${item.model} ${item.lr} > grid/${item.model}-${item.lr}.txt'",
        '    outs:',
        '      - grid/${item.model}-${item.lr}.txt',
      ),
      '.gitignore': '.sluice/\ngrid/\n',
    });
    assert.equal(importDvc(root).status, 0);
    git(root, 'add', '--all');
    git(root, 'commit', '--quiet', '-m', 'converted from DVC');
    const ran = sluice(['run'], root);
    assert.equal(ran.status, 0, ran.stdout + ran.stderr);
    assert.deepEqual(readdirSync(join(root, 'grid')).sort(), ['a-1.txt', 'a-2.txt', 'b-1.txt', 'b-2.txt']);
    assert.equal(readFileSync(join(root, 'grid/b-2.txt'), 'utf8'), 'b 2\n');
  });
});
