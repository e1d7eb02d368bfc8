// Generated variants of `sluice import-dvc`, through the built CLI: every
// cache/persist combination of outs, metrics and stage plots; foreach over
// each shape DVC documents (literal lists and mappings, `${name}` of params,
// YAML, JSON and TOML vars files and inline vars); every DVC plot template,
// at the top level and on a stage.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  importDvc,
  importJson,
  removeWorkspaces,
  stagesOf,
  workspace,
  type NotCarriedJson,
  type Stages,
} from '../support/importDvc';
import { clearVariablesRefusedBySimpleGit } from '../support/workspace';
import { lines } from './fixtures/dvcProjects';

clearVariablesRefusedBySimpleGit();
after(removeWorkspaces);

void describe('output options and stage plots, one stage per combination', () => {
  const choices = [undefined, true, false] as const;
  const combinations = (['outs', 'metrics', 'plots'] as const).flatMap((list) =>
    choices.flatMap((cache) => choices.map((persist) => ({ list, cache, persist }))),
  );
  const name = (c: (typeof combinations)[number]): string =>
    `${c.list}-cache-${c.cache}-persist-${c.persist}`;
  let stages: Stages;

  before(() => {
    const stage = (c: (typeof combinations)[number]): string[] => {
      const flags = [
        ...(c.cache === undefined ? [] : [`          cache: ${c.cache}`]),
        ...(c.persist === undefined ? [] : [`          persist: ${c.persist}`]),
      ];
      return [
        `  ${name(c)}:`,
        `    cmd: echo > ${name(c)}.json`,
        `    ${c.list}:`,
        flags.length === 0 ? `      - ${name(c)}.json` : `      - ${name(c)}.json:`,
        ...flags,
      ];
    };
    const root = workspace({ 'dvc.yaml': lines('stages:', ...combinations.flatMap(stage)) });
    const result = importDvc(root);
    assert.equal(result.status, 0, result.stdout + result.stderr);
    stages = stagesOf(root);
  });

  for (const c of combinations)
    void test(`${c.list}: cache ${String(c.cache)}, persist ${String(c.persist)}`, () => {
      const path = `${name(c)}.json`;
      // Only what differs from DVC's defaults (cache true, persist false) is written.
      const options = {
        ...(c.cache === false ? { cache: false } : {}),
        ...(c.persist === true ? { persist: true } : {}),
      };
      const output = Object.keys(options).length === 0 ? path : { path, ...options };
      const expected: Record<string, unknown> = { run: `echo > ${path}` };
      if (c.list === 'plots') {
        expected['outs'] = [output];
        expected['plots'] = [path];
      } else {
        expected[c.list] = [output];
      }
      assert.deepEqual(stages[name(c)], expected);
    });
});

void describe('foreach shapes, one project each', () => {
  const cases: {
    readonly shape: string;
    readonly foreach: string[];
    readonly files?: Readonly<Record<string, string>>;
    readonly vars?: string[];
    readonly carried: unknown;
    /** What the command names of each item (a dictionary `${item}` would be unpacked). */
    readonly use?: string;
  }[] = [
    { shape: 'a list of names', foreach: ['    foreach: [us, eu]'], carried: ['us', 'eu'] },
    { shape: 'a list of numbers', foreach: ['    foreach: [1, 2.5]'], carried: [1, 2.5] },
    {
      shape: 'a list of mappings',
      foreach: ['    foreach:', '      - {name: a, n: 1}', '      - {name: b, n: 2}'],
      use: '${item.name}',
      carried: [
        { name: 'a', n: 1 },
        { name: 'b', n: 2 },
      ],
    },
    {
      shape: 'a mapping of mappings',
      foreach: ['    foreach:', '      uk: {epochs: 3}', '      us: {epochs: 10}'],
      use: '${key}',
      carried: { uk: { epochs: 3 }, us: { epochs: 10 } },
    },
    { shape: 'a mapping of names', foreach: ['    foreach: {a: x, b: y}'], carried: { a: 'x', b: 'y' } },
    {
      shape: '${name} of a list in params.yaml',
      foreach: ['    foreach: ${regions}'],
      files: { 'params.yaml': 'regions: [us, eu]\n' },
      carried: '${regions}',
    },
    {
      shape: '${a.b} of a nested mapping in params.yaml',
      foreach: ['    foreach: ${grid.sizes}'],
      files: { 'params.yaml': 'grid:\n  sizes: {s: 1, l: 2}\n' },
      carried: '${grid.sizes}',
    },
    {
      shape: '${name} of a YAML vars file',
      foreach: ['    foreach: ${models}'],
      files: { 'models.yml': 'models: [cnn]\n' },
      vars: ['models.yml'],
      carried: '${models}',
    },
    {
      shape: '${name} of a JSON vars file',
      foreach: ['    foreach: ${langs}'],
      files: { 'langs.json': '{"langs": ["en"]}' },
      vars: ['langs.json'],
      carried: '${langs}',
    },
    {
      shape: '${name} of a TOML vars file',
      foreach: ['    foreach: ${seeds.list}'],
      files: { 'seeds.toml': '[seeds]\nlist = [1, 2] # two\n' },
      vars: ['seeds.toml'],
      carried: '${seeds.list}',
    },
    {
      shape: '${name} of inline vars',
      foreach: ['    foreach: ${folds}'],
      vars: ['{folds: [a, b]}'],
      carried: '${folds}',
    },
  ];
  for (const c of cases)
    void test(c.shape, () => {
      const use = c.use ?? '${item}';
      const root = workspace({
        ...c.files,
        'dvc.yaml': lines(
          ...(c.vars === undefined ? [] : ['vars:', ...c.vars.map((entry) => `  - ${entry}`)]),
          'stages:',
          '  loop:',
          ...c.foreach,
          '    do:',
          `      cmd: echo ${use} > out-${use}.txt`,
          '      outs:',
          `        - out-${use}.txt`,
        ),
      });
      const result = importDvc(root);
      assert.equal(result.status, 0, result.stdout + result.stderr);
      assert.deepEqual(stagesOf(root)['loop'], {
        foreach: c.carried,
        do: { run: `echo ${use} > out-${use}.txt`, outs: [`out-${use}.txt`] },
      });
    });

  void test('${name} that no params or vars file holds is listed, and a dictionary ${item} as unpacking', () => {
    const root = workspace({
      'params.yaml': 'configs: [{depth: 1}]\n',
      'dvc.yaml': lines(
        'stages:',
        '  lost:',
        '    foreach: ${nowhere}',
        '    do:',
        '      cmd: echo ${item}',
        '  unpacked:',
        '    foreach: ${configs}',
        '    do:',
        '      cmd: python fit.py ${item}',
      ),
    });
    const { status, json } = importJson(root);
    assert.equal(status, 1);
    assert.deepEqual(
      json.notCarried.map(({ what, code }) => ({ what, code })),
      [
        { what: "stage 'lost': foreach ${nowhere}", code: 'foreach-source' },
        { what: "stage 'unpacked': cmd ${item}", code: 'dict-unpacking' },
      ],
    );
  });
});

void describe("DVC's plot templates, at the top level and on a stage", () => {
  const templates: readonly [string, { template?: string }][] = [
    ['linear', {}],
    ['simple', {}],
    ['smooth', {}],
    ['scatter', { template: 'scatter' }],
    ['bar_horizontal', { template: 'bar' }],
    ['bar_horizontal_sorted', { template: 'bar' }],
    ['confusion', { template: 'confusion' }],
    ['confusion_normalized', { template: 'confusion' }],
  ];
  let stages: Stages;
  let text: string;
  let notCarried: readonly NotCarriedJson[];

  before(() => {
    const root = workspace({
      'dvc.yaml': lines(
        'stages:',
        '  evaluate:',
        '    cmd: python evaluate.py',
        '    outs:',
        ...templates.map(([name]) => `      - top-${name}.csv`),
        '      - top-custom.csv',
        '    plots:',
        ...templates.flatMap(([name]) => [
          `      - stage-${name}.csv:`,
          `          template: ${name}`,
          '          x: a',
          '          y: b',
        ]),
        'plots:',
        ...templates.flatMap(([name]) => [
          `  - top-${name}.csv:`,
          `      template: ${name}`,
          '      x: a',
          '      y: [b]',
        ]),
        '  - top-custom.csv:',
        '      template: .dvc/plots/mine.json',
      ),
    });
    const { status, json } = importJson(root);
    assert.equal(status, 1);
    notCarried = json.notCarried;
    stages = stagesOf(root);
    text = readFileSync(join(root, 'sluice.yaml'), 'utf8');
  });

  for (const [name, drawn] of templates)
    void test(`${name} draws as ${drawn.template ?? 'line'}`, () => {
      const plots = stages['evaluate']!['plots'] as Record<string, unknown>[];
      const confusion = drawn.template === 'confusion';
      const columns = (y: unknown) => (confusion ? { actual: 'a', predicted: 'b' } : { x: 'a', y });
      assert.deepEqual(
        plots.find((plot) => plot['path'] === `stage-${name}.csv`),
        { path: `stage-${name}.csv`, ...drawn, ...columns('b') },
      );
      assert.deepEqual(
        plots.find((plot) => plot['path'] === `top-${name}.csv`),
        { path: `top-${name}.csv`, ...drawn, ...columns(['b']) },
      );
      // A template drawn the nearest Sluice way is said in a comment above the plot.
      const noted = !['linear', 'scatter', 'confusion'].includes(name);
      assert.equal(text.includes(`# DVC template: ${name}\n          - path: top-${name}.csv`), noted);
    });

  void test('a custom template is listed, and the plot drawn as a line', () => {
    assert.deepEqual(
      notCarried.map(({ what, code }) => ({ what, code })),
      [{ what: 'plots: top-custom.csv: template .dvc/plots/mine.json', code: 'plot-template' }],
    );
    assert.ok((stages['evaluate']!['plots'] as unknown[]).includes('top-custom.csv'));
  });
});
