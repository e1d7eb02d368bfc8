// Stage templates and `${…}`: what `foreach` and `matrix` generate, what the
// names resolve to, and, for bad input, one diagnostic at the place written.
// Shapes are generated (lists, mappings, matrices of several sizes) rather
// than picked, so a rule that holds for one example only shows up.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { analyzeManifest, ManifestDocument, type ManifestAnalysis } from '../../src/core/manifest';
import { DiskProbe } from '../../src/core/paths';
import { planWorkspace } from '../../src/core/pipelines/plan';
import { seededRandom } from '../../src/core/seededRandom';

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function workspace(files: Readonly<Record<string, string>>): string {
  const root = mkdtempSync(join(tmpdir(), 'sluice-templates-'));
  roots.push(root);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

function analyze(root: string, text: string): ManifestAnalysis {
  return analyzeManifest(text, { probe: new DiskProbe(root) });
}

function errors(
  analysis: ManifestAnalysis,
): { code: string; line: number; column: number; message: string }[] {
  return analysis.diagnostics
    .filter((d) => d.severity === 'error')
    .map((d) => {
      const at = analysis.lineIndex.position(d.start);
      return { code: d.code, line: at.line + 1, column: at.character + 1, message: d.message };
    });
}

function stages(analysis: ManifestAnalysis, pipeline = 'p') {
  return [...analysis.manifest.pipelines.get(pipeline)!.stages.values()];
}

/** A manifest with one pipeline `p` whose stages are the given YAML (indented under `stages:`). */
function manifest(stagesYaml: string, head = 'params: params.yaml\n'): string {
  return `version: 1\n${head}pipelines:\n  p:\n    stages:\n${stagesYaml}`;
}

const PARAMS = 'train:\n  lr: 0.1\n  lrs: [0.1, 0.01]\n  epochs: 3\nregions: [us, eu, ap]\n';

void describe('foreach generates one stage per item', () => {
  const random = seededRandom(0x5eed);
  for (let round = 0; round < 12; round++) {
    const size = 1 + Math.floor(random() * 6);
    const keys = Array.from({ length: size }, (_, i) => `k${i}${Math.floor(random() * 100)}`);
    const shape = (['scalars', 'mappings', 'mapping'] as const)[round % 3]!;
    void test(`${shape} of ${size}`, () => {
      const root = workspace({ 'params.yaml': PARAMS });
      const foreach =
        shape === 'scalars'
          ? `[${keys.join(', ')}]`
          : shape === 'mappings'
            ? `\n${keys.map((k) => `            - {name: ${k}, size: ${k.length}}`).join('\n')}`
            : `\n${keys.map((k) => `            ${k}: {size: ${k.length}}`).join('\n')}`;
      const value = shape === 'scalars' ? '${item}' : shape === 'mappings' ? '${item.name}' : '${key}';
      const text = manifest(
        `      make:\n        foreach: ${foreach}\n        do:\n          run: echo ${value} \${train.lr} > out/${value}.txt\n          outs:\n            - out/${value}.txt\n`,
      );
      const analysis = analyze(root, text);
      assert.deepEqual(errors(analysis), []);
      const generated = stages(analysis);
      const expectedKeys = shape === 'mappings' ? keys.map((_, i) => String(i)) : keys;
      assert.deepEqual(
        generated.map((stage) => stage.name),
        expectedKeys.map((key) => `make@${key}`),
      );
      generated.forEach((stage, i) => {
        assert.equal(stage.run?.value, `echo ${keys[i]} 0.1 > out/${keys[i]}.txt`);
        assert.deepEqual(
          stage.outs.map((out) => out.value),
          [`out/${keys[i]}.txt`],
        );
        assert.deepEqual(stage.template, { name: 'make', key: expectedKeys[i] });
        // Positions are the template's: a diagnostic on a generated stage points at what was written.
        assert.equal(text.slice(stage.nameStart, stage.nameEnd), 'make');
      });
      const template = analysis.manifest.pipelines.get('p')!.templates.get('make')!;
      assert.deepEqual(
        template.instances,
        expectedKeys.map((key) => `make@${key}`),
      );
    });
  }

  void test('over `${name}` of the params file and of vars', () => {
    const root = workspace({ 'params.yaml': PARAMS, 'more.json': '{"sizes": {"small": 1, "large": 9}}' });
    const text = manifest(
      `      a:\n        foreach: \${regions}\n        do:\n          run: echo \${item} > \${item}.txt\n          outs: ['\${item}.txt']\n` +
        `      b:\n        foreach: \${sizes}\n        do:\n          run: echo \${key}=\${item} > \${key}.txt\n          outs: ['\${key}.txt']\n`,
      'params: params.yaml\nvars:\n  - more.json\n',
    );
    const analysis = analyze(root, text);
    assert.deepEqual(errors(analysis), []);
    assert.deepEqual(
      stages(analysis).map((stage) => `${stage.name}: ${stage.run?.value}`),
      [
        'a@us: echo us > us.txt',
        'a@eu: echo eu > eu.txt',
        'a@ap: echo ap > ap.txt',
        'b@small: echo small=1 > small.txt',
        'b@large: echo large=9 > large.txt',
      ],
    );
    assert.deepEqual([...analysis.inputs.keys()].sort(), ['more.json', 'params.yaml']);
  });
});

void describe('matrix generates every combination', () => {
  for (const [dimensions, sizes] of [
    [1, [3]],
    [2, [2, 3]],
    [3, [2, 2, 2]],
  ] as const) {
    void test(`${dimensions} list(s) of ${sizes.join('×')}`, () => {
      const root = workspace({ 'params.yaml': PARAMS });
      const names = ['model', 'lr', 'seed'].slice(0, dimensions);
      const values = names.map((name, d) => Array.from({ length: sizes[d]! }, (_, i) => `${name[0]}${i}`));
      const matrix = names.map((name, d) => `          ${name}: [${values[d]!.join(', ')}]`).join('\n');
      const out = `out/${names.map((name) => `\${item.${name}}`).join('_')}.txt`;
      const text = manifest(
        `      fit:\n        matrix:\n${matrix}\n        run: touch ${out}\n        outs:\n          - ${out}\n`,
      );
      const analysis = analyze(root, text);
      assert.deepEqual(errors(analysis), []);
      const combos = values.reduce<string[][]>(
        (acc, list) => acc.flatMap((prefix) => list.map((value) => [...prefix, value])),
        [[]],
      );
      assert.deepEqual(
        stages(analysis).map((stage) => stage.name),
        combos.map((combo) => `fit@${combo.join('-')}`),
      );
      assert.deepEqual(
        stages(analysis).map((stage) => stage.outs[0]!.value),
        combos.map((combo) => `out/${combo.join('_')}.txt`),
      );
    });
  }

  void test('a list from the params file, and values that are not text named by position', () => {
    const root = workspace({ 'params.yaml': PARAMS });
    const text = manifest(
      '      fit:\n        matrix:\n          lr: ${train.lrs}\n          opt: [{name: adam}, {name: sgd}]\n        run: echo ${item.lr} ${item.opt.name}\n        outs: [out.txt]\n',
    );
    const analysis = analyze(root, text);
    assert.deepEqual(
      stages(analysis).map((stage) => `${stage.name}: ${stage.run?.value}`),
      [
        'fit@0.1-opt0: echo 0.1 adam',
        'fit@0.1-opt1: echo 0.1 sgd',
        'fit@0.01-opt0: echo 0.01 adam',
        'fit@0.01-opt1: echo 0.01 sgd',
      ],
    );
    // Four stages write one output: the template's single line says so once per clash, at the template.
    assert.ok(errors(analysis).every((e) => e.code === 'duplicate-output' && e.line === 11));
  });
});

void describe('${…} names: resolved, or an error where written', () => {
  const root = workspace({ 'params.yaml': PARAMS });

  void test('an unknown name says where, offers the closest, and a quick fix', () => {
    const text = manifest('      s:\n        run: echo ${train.lrr} > o.txt\n        outs: [o.txt]\n');
    const analysis = analyze(root, text);
    const found = analysis.diagnostics.filter((d) => d.code === 'unknown-template-name');
    assert.equal(found.length, 1);
    assert.equal(text.slice(found[0]!.start, found[0]!.end), '${train.lrr}');
    assert.match(found[0]!.message, /Did you mean `train\.lr`\?/);
    const edit = found[0]!.fixes![0]!.edits[0]!;
    assert.equal(text.slice(0, edit.start) + edit.newText + text.slice(edit.end), text.replace('lrr', 'lr'));
  });

  void test('an escaped `\\${` reaches the command as `${`, untouched', () => {
    const text = manifest(
      '      s:\n        run: echo \\${HOME} ${train.epochs} > o.txt\n        outs: [o.txt]\n',
    );
    const analysis = analyze(root, text);
    assert.deepEqual(errors(analysis), []);
    assert.equal(stages(analysis)[0]!.run?.value, 'echo ${HOME} 3 > o.txt');
  });

  for (const [what, run, code, pattern] of [
    ['unclosed', 'echo ${train.lr > o.txt', 'bad-template', /not closed/],
    ['a list inside text', 'echo ${train.lrs} > o.txt', 'bad-template', /a list of 2/],
    ['an empty name', 'echo ${} > o.txt', 'bad-template', /does not name a value/],
    ['item outside a template', 'echo ${item} > o.txt', 'unknown-template-name', /Unknown name `item`/],
  ] as const) {
    void test(`${what}: ${code}`, () => {
      const text = manifest(`      s:\n        run: ${run}\n        outs: [o.txt]\n`);
      const found = errors(analyze(root, text));
      assert.equal(found.length, 1, JSON.stringify(found));
      assert.equal(found[0]!.code, code);
      assert.equal(found[0]!.line, 7);
      assert.match(found[0]!.message, pattern);
    });
  }
});

void describe('bad templates: a diagnostic on the right line, and nothing generated', () => {
  const root = workspace({ 'params.yaml': PARAMS, 'broken.yaml': 'a: [1, 2\nb: 3\n' });
  const cases: [string, string, string, number, RegExp][] = [
    [
      'foreach over a number',
      '      s:\n        foreach: ${train.epochs}\n        do:\n          run: echo\n',
      'params: params.yaml\n',
      7,
      /must be a list or a mapping/,
    ],
    [
      'foreach over text',
      '      s:\n        foreach: us eu\n        do:\n          run: echo\n',
      'params: params.yaml\n',
      7,
      /is text/,
    ],
    [
      'a matrix that makes a name twice',
      '      s:\n        matrix:\n          a: [1, "1"]\n        run: echo\n',
      'params: params.yaml\n',
      8,
      /generates the stage `s@1` twice/,
    ],
    [
      'an empty matrix list',
      '      s:\n        matrix:\n          a: []\n        run: echo\n',
      'params: params.yaml\n',
      8,
      /at least one value/,
    ],
    [
      'a var made of itself',
      '      s:\n        run: echo ${a}\n        outs: [o]\n',
      'params: params.yaml\nvars:\n  - a: x${a}\n',
      4,
      /refers to itself/,
    ],
    [
      'two vars made of each other',
      '      s:\n        run: echo ${a}\n        outs: [o]\n',
      'params: params.yaml\nvars:\n  - a: ${b}\n    b: ${a}\n',
      4,
      /./,
    ],
    [
      'a vars file that does not parse',
      '      s:\n        run: echo\n        outs: [o]\n',
      'params: params.yaml\nvars:\n  - broken.yaml\n',
      4,
      /broken\.yaml:\d+:\d+ is not valid YAML/,
    ],
    [
      'a vars file that does not exist',
      '      s:\n        run: echo\n        outs: [o]\n',
      'params: params.yaml\nvars:\n  - missing.yaml\n',
      4,
      /does not exist/,
    ],
    [
      'a name with a slash',
      '      s:\n        foreach: [a/b]\n        do:\n          run: echo\n',
      'params: params.yaml\n',
      7,
      /may hold only letters/,
    ],
    [
      'a template that needs itself',
      '      s:\n        foreach: [a, b]\n        do:\n          run: echo\n          needs: [s]\n          outs: [o-${item}]\n',
      'params: params.yaml\n',
      10,
      /in a circle/,
    ],
  ];
  for (const [what, body, head, line, pattern] of cases) {
    void test(what, () => {
      const analysis = analyze(root, manifest(body, head));
      const found = errors(analysis);
      assert.ok(found.length >= 1, 'diagnosed');
      assert.equal(found[0]!.line, line, JSON.stringify(found));
      assert.match(found.map((f) => f.message).join('\n'), pattern);
    });
  }

  void test('a params file that does not parse is named with its line and column', () => {
    const bad = workspace({ 'params.yaml': 'train:\n  lr: [0.1\n' });
    const found = errors(
      analyze(bad, manifest('      s:\n        run: echo ${train.lr}\n        outs: [o]\n')),
    );
    const parse = found.filter((f) => f.code === 'bad-values-file');
    assert.equal(parse.length, 1, JSON.stringify(found));
    assert.equal(parse[0]!.line, 2);
    assert.match(parse[0]!.message, /params\.yaml:\d+:\d+ is not valid YAML/);
  });
});

void describe('params files, output options, wdir', () => {
  void test('params: default keys, other files by key and whole, YAML/JSON/TOML', () => {
    const root = workspace({
      'params.yaml': PARAMS,
      'sub/other.toml': '[a]\nb = 1\n',
      'sub/all.json': '{"x": 1}',
    });
    const text = manifest(
      '      s:\n        wdir: sub\n        run: echo\n        params:\n          - train.lr\n          - other.toml: [a.b]\n          - all.json:\n        outs: [o]\n',
    );
    const analysis = analyze(root, text);
    assert.deepEqual(errors(analysis), []);
    const plan = planWorkspace(analysis.manifest).pipelines.get('p')!.stages[0]!;
    assert.deepEqual(plan.params, ['train.lr']);
    assert.deepEqual(plan.paramFiles, [
      { file: 'sub/other.toml', keys: ['a.b'] },
      { file: 'sub/all.json', keys: undefined },
    ]);
    assert.equal(plan.wdir, 'sub');
    assert.deepEqual(plan.outs, ['sub/o']);
  });

  void test('a key another params file lacks is an error there; a missing file too', () => {
    const root = workspace({ 'params.yaml': PARAMS, 'other.toml': '[a]\nb = 1\n' });
    const text = manifest(
      '      s:\n        run: echo\n        params:\n          - other.toml: [a.c]\n          - gone.yaml: [x]\n        outs: [o]\n',
    );
    const found = errors(analyze(root, text));
    assert.deepEqual(
      found.map((f) => [f.code, f.line]),
      [
        ['unknown-param', 9],
        ['missing-params-file', 10],
      ],
    );
    assert.match(found[0]!.message, /Did you mean `a\.b`\?/);
  });

  void test('cache and persist options, frozen and always_changed reach the plan', () => {
    const root = workspace({ 'params.yaml': PARAMS });
    const text = manifest(
      '      s:\n        run: echo\n        frozen: true\n        always_changed: true\n        outs:\n          - a\n          - path: b\n            cache: false\n          - path: c\n            persist: true\n        metrics:\n          - path: m.json\n            cache: false\n',
    );
    const analysis = analyze(root, text);
    assert.deepEqual(errors(analysis), []);
    const plan = planWorkspace(analysis.manifest).pipelines.get('p')!.stages[0]!;
    assert.deepEqual(plan.outs, ['a', 'b', 'c', 'm.json']);
    assert.deepEqual(plan.uncached, ['b', 'm.json']);
    assert.deepEqual(plan.persistent, ['c']);
    assert.equal(plan.frozen, true);
    assert.equal(plan.alwaysChanged, true);
  });

  void test('a wdir that climbs out is refused', () => {
    const root = workspace({ 'params.yaml': PARAMS });
    const found = errors(
      analyze(root, manifest('      s:\n        wdir: ../x\n        run: echo\n        outs: [o]\n')),
    );
    assert.ok(found.some((f) => f.code === 'path-escapes-workspace' && f.line === 7));
  });
});

void describe('an edited document reuses what unchanged templates generated, and gives what a fresh analysis gives', () => {
  /** What an analysis says, positions included: a reused expansion must not differ in any of it. */
  function observed(analysis: ManifestAnalysis): unknown {
    return {
      diagnostics: analysis.diagnostics.map((d) => [d.code, d.severity, d.start, d.end, d.message]),
      pipelines: [...analysis.manifest.pipelines.values()].map((pipeline) => ({
        stages: [...pipeline.stages.values()],
        templates: [...pipeline.templates.values()],
      })),
      instances: [...analysis.instanceScopes].map(([template, scopes]) => [
        template,
        scopes.map(({ stage, scope }) => [stage, [...scope.names]]),
      ]),
      scope: [...analysis.templateScope().names],
    };
  }

  void test('over seeded edits: in a template, above it, of the params file, that break and mend', () => {
    const random = seededRandom(0xe16);
    const root = workspace({ 'params.yaml': PARAMS, 'other.yaml': 'k: {u: 1, v: 2}\n' });
    const head = 'params: params.yaml\nvars:\n  - sizes: {small: 1, large: 9}\n';
    const template = (name: string, foreach: string): string =>
      `      ${name}:\n        foreach: ${foreach}\n        do:\n          run: echo \${item} \${train.lr} > ${name}/\${item}.txt\n          outs: ['${name}/\${item}.txt']\n`;
    const matrix =
      "      fit:\n        matrix:\n          model: [a, b]\n          lr: ${train.lrs}\n        run: fit ${item.model} ${item.lr}\n        outs: ['fit/${item.model}-${item.lr}.txt']\n";
    // Every place a generated stage keeps: wdir, params files, plots, output options.
    const everything = [
      '      d:',
      '        foreach: [u, v]',
      '        do:',
      '          run: make ${item}',
      '          wdir: w/${item}',
      "          deps: ['in/${item}.csv']",
      '          params:',
      '            - train.lr',
      '            - other.yaml: [k.${item}]',
      '          outs:',
      "            - {path: 'o/${item}', cache: false}",
      "            - {path: 'p/${item}', persist: true}",
      "          metrics: ['m/${item}.json']",
      '          plots:',
      "            - {path: 'l/${item}.csv', x: step, y: [loss, acc], title: '${item}'}",
      '',
    ].join('\n');
    let text = manifest(
      template('a', '${regions}') +
        template('b', '[x, y, z]') +
        matrix +
        template('c', '[p, q]') +
        everything,
      head,
    );
    const probe = new DiskProbe(root);
    const document = new ManifestDocument({ probe });
    const fresh = (): ManifestAnalysis => analyze(root, text);
    assert.deepEqual(observed(document.update(text)), observed(fresh()));
    const d = fresh().manifest.pipelines.get('p')!.stages.get('d@u')!;
    assert.deepEqual(
      [d.wdir?.value, d.paramFiles.length, d.uncached.length, d.persistent.length, d.plots[0]?.y?.length],
      ['w/u', 1, 1, 1, 2],
    );
    const edits: readonly [string, () => void][] = [
      ['an item of a template', () => (text = text.replace('[x, y, z]', '[x, y, w, z]'))],
      ['back', () => (text = text.replace('[x, y, w, z]', '[x, y, z]'))],
      [
        'a line above every template',
        () => (text = text.replace('version: 1\n', 'version: 1\nname: moved\n')),
      ],
      ['a character typed in the first template', () => (text = text.replace('> a/', '>  a/'))],
      ['and taken back', () => (text = text.replace('>  a/', '> a/'))],
      [
        'an unknown name in one template',
        () => (text = text.replace('echo ${item} ${train.lr} > b', 'echo ${item.nme} ${train.lr} > b')),
      ],
      ['mended', () => (text = text.replace('${item.nme}', '${item}'))],
      ['a duplicate item', () => (text = text.replace('[p, q]', '[p, q, p]'))],
      ['an inline var', () => (text = text.replace('small: 1', 'small: 2'))],
      ['the matrix', () => (text = text.replace('model: [a, b]', 'model: [a, b, c]'))],
      [
        'the params file',
        () => {
          writeFileSync(
            join(root, 'params.yaml'),
            PARAMS.replace('lr: 0.1', 'lr: 0.2').replace('us, eu', 'us'),
          );
          // What the server does when the client reports a changed file.
          probe.invalidate();
          document.forget();
        },
      ],
      ['a template removed', () => (text = text.replace(template('a', '${regions}'), ''))],
    ];
    // Each edit once in order, then seeded repeats of the reversible ones.
    const order = [...edits.keys(), ...Array.from({ length: 16 }, () => Math.floor(random() * 10))];
    for (const index of order) {
      const [what, apply] = edits[index]!;
      apply();
      const incremental = document.update(text);
      assert.deepEqual(observed(incremental), observed(fresh()), what);
    }
  });

  void test('an unchanged template gives the very same stages to the next analysis; a moved one, moved copies', () => {
    const root = workspace({ 'params.yaml': PARAMS });
    const text = manifest(
      `      a:\n        foreach: \${regions}\n        do:\n          run: echo \${item}\n          outs: ['a/\${item}']\n` +
        `      b:\n        foreach: [x, y]\n        do:\n          run: echo \${item}\n          outs: ['b/\${item}']\n` +
        `      c:\n        foreach: [m, n]\n        do:\n          run: echo \${item}\n          outs:\n            - {path: 'c/\${item}', cache: false}\n`,
    );
    const document = new ManifestDocument({ probe: new DiskProbe(root) });
    const first = document.update(text);
    const second = document.update(text.replace('[x, y]', '[x, zz]'));
    const before = first.manifest.pipelines.get('p')!.stages;
    const after = second.manifest.pipelines.get('p')!.stages;
    assert.equal(after.get('a@us'), before.get('a@us'), 'reused');
    // Moved, not made again: the generated stages' scopes are the same objects.
    assert.equal(second.instanceScopes.get('p.c')![0]!.scope, first.instanceScopes.get('p.c')![0]!.scope);
    assert.notEqual(after.get('b@x'), before.get('b@x'), 'made again');
    assert.deepEqual([...after.keys()], ['a@us', 'a@eu', 'a@ap', 'b@x', 'b@zz', 'c@m', 'c@n']);
    // `c` moved by one character: its places follow, and an output stays one object in `outs` and `uncached`.
    const moved = after.get('c@m')!;
    assert.equal(moved.outs[0]!.start, before.get('c@m')!.outs[0]!.start + 1);
    assert.equal(moved.nameStart, before.get('c@m')!.nameStart + 1);
    assert.equal(moved.uncached[0], moved.outs[0]);
  });
});
