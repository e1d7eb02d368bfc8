// `${…}` and stage templates as an editor sees them, over LSP: the names
// completion offers inside `${…}` (the manifest's, and a template's `item`
// and `key`), what hover says of a name (its value and source, or its value
// in each generated stage), where go to definition leads, and that a problem
// in a template is reported once, where it is written. Template shapes are
// generated (lists, mappings, matrices of several sizes), not picked.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CompletionItemKind,
  CompletionRequest,
  DefinitionRequest,
  HoverRequest,
  type CompletionItem,
  type Diagnostic,
  type Hover,
  type Location,
  type Position,
} from 'vscode-languageserver-protocol/node';
import { seededRandom } from '../../src/core/seededRandom';
import { LspClient, messageOf, positionAt, range, TempWorkspace } from './support/lspClient';

/** Marks the cursor in a manifest below (`|` is YAML's block scalar). */
const CURSOR = '‸';

const PARAMS = 'train:\n  lr: 0.1\n  lrs: [0.1, 0.01]\n  epochs: 3\nregions: [us, eu, ap]\n';
const FILES: Readonly<Record<string, string>> = {
  'params.yaml': PARAMS,
  'more.json': '{\n  "sizes": {\n    "small": 1,\n    "large": 9\n  }\n}\n',
  'src/make.js': '',
};
const HEAD = 'version: 1\nparams: params.yaml\nvars:\n  - more.json\n  - user: ada\n    home: /home/ada\n';

/** A manifest with one pipeline `p` whose stages are `stages` (indented under `stages:`). */
function manifest(stages: string): string {
  return `${HEAD}pipelines:\n  p:\n    stages:\n${stages}`;
}

/** The manifest's top-level names, as completion offers them outside a template. */
const MANIFEST_NAMES = ['home', 'regions', 'sizes', 'train', 'user'];

let client: LspClient;
let ws: TempWorkspace;

before(async () => {
  client = await LspClient.start();
  ws = new TempWorkspace();
  for (const [path, content] of Object.entries(FILES)) ws.write(path, content);
});

after(async () => {
  await client.shutdown();
  ws.cleanup();
});

/** The text without its cursor mark, and the position of the mark. */
function cursorIn(marked: string): { text: string; at: Position } {
  const offset = marked.indexOf(CURSOR);
  assert.ok(offset >= 0, 'the text marks the cursor');
  const text = marked.slice(0, offset) + marked.slice(offset + CURSOR.length);
  return { text, at: positionAt(text, offset) };
}

/** Opens the text, waits for its diagnostics, runs `ask` at the cursor, closes. */
async function atCursor<T>(
  marked: string,
  ask: (at: Position, uri: string) => Promise<T>,
): Promise<{ result: T; at: Position; diagnostics: Diagnostic[] }> {
  const { text, at } = cursorIn(marked);
  const uri = ws.uri();
  const diagnostics = await client.openAndWait(uri, text);
  try {
    return { result: await ask(at, uri), at, diagnostics };
  } finally {
    await client.close(uri);
  }
}

async function completeAt(marked: string): Promise<{ items: CompletionItem[]; at: Position }> {
  const { result, at } = await atCursor(marked, (position, uri) =>
    client.request(CompletionRequest.type, { textDocument: { uri }, position }),
  );
  return { items: Array.isArray(result) ? result : (result?.items ?? []), at };
}

async function hoverAt(marked: string): Promise<{ hover: Hover | null; at: Position }> {
  const { result, at } = await atCursor(marked, (position, uri) =>
    client.request(HoverRequest.type, { textDocument: { uri }, position }),
  );
  return { hover: result, at };
}

async function definitionAt(marked: string): Promise<Location[]> {
  const { result } = await atCursor(marked, (position, uri) =>
    client.request(DefinitionRequest.type, { textDocument: { uri }, position }),
  );
  return (Array.isArray(result) ? result : result ? [result] : []) as Location[];
}

/** The one location of a definition answer. */
function single(locations: readonly Location[]): Location {
  assert.equal(locations.length, 1, JSON.stringify(locations));
  return locations[0]!;
}

function labels(items: readonly CompletionItem[]): string[] {
  return items.map((item) => item.label).sort();
}

function item(items: readonly CompletionItem[], label: string): CompletionItem {
  const found = items.find((i) => i.label === label);
  assert.ok(found, `${label} is offered among ${labels(items).join(', ')}`);
  return found;
}

function documentation(completion: CompletionItem): string | undefined {
  const doc = completion.documentation;
  return typeof doc === 'string' ? doc : doc?.value;
}

function edit(completion: CompletionItem): { range: unknown; newText: string } {
  const textEdit = completion.textEdit;
  assert.ok(textEdit && 'range' in textEdit, `${completion.label} has a TextEdit`);
  return { range: textEdit.range, newText: textEdit.newText };
}

function markdown(hover: Hover | null): string {
  assert.ok(hover, 'a hover');
  const contents = hover.contents;
  assert.ok(typeof contents === 'object' && 'kind' in contents, 'markdown contents');
  return contents.value;
}

/** A plain stage `make`, its keys below `run`. */
const PLAIN = (run: string, more = ''): string =>
  manifest(`      make:\n        run: ${run}\n        outs: [out.txt]\n${more}`);

/** A `foreach` template `make` over `foreach`, its body's `run` given; `unique` names each stage's output. */
const FOREACH = (foreach: string, run: string, unique = '${item}'): string =>
  manifest(
    `      make:\n        foreach: ${foreach}\n        do:\n          run: ${run}\n          outs: ['out/${unique}.txt']\n`,
  );

void describe('completion inside ${…}', () => {
  void test("the manifest's names, with their values and sources, in a plain stage", async () => {
    const { items, at } = await completeAt(PLAIN(`echo \${${CURSOR}`));
    assert.deepEqual(labels(items), MANIFEST_NAMES);
    const train = item(items, 'train');
    assert.equal(train.kind, CompletionItemKind.Variable);
    assert.equal(train.detail, '{"lr":0.1,"lrs":[0.1,0.01],"epochs":3}');
    assert.equal(documentation(train), 'From the params file `params.yaml`.');
    assert.deepEqual(edit(train), { range: { start: at, end: at }, newText: 'train' });
    assert.equal(documentation(item(items, 'sizes')), 'From the vars file `more.json`.');
    assert.equal(item(items, 'user').detail, '"ada"');
    assert.equal(documentation(item(items, 'user')), 'From `vars` in this manifest.');
  });

  void test('a partly typed name is replaced, and only it', async () => {
    const { items, at } = await completeAt(PLAIN(`echo a\${tr${CURSOR}} b`));
    assert.deepEqual(edit(item(items, 'train')), {
      range: range(at.line, at.character - 2, at.line, at.character),
      newText: 'train',
    });
  });

  void test('after a dot, the keys of the value; a partly typed key is replaced alone', async () => {
    const { items, at } = await completeAt(PLAIN(`echo \${train.${CURSOR}}`));
    assert.deepEqual(labels(items), ['epochs', 'lr', 'lrs']);
    assert.equal(item(items, 'lrs').detail, '[0.1,0.01]');
    assert.equal(item(items, 'epochs').detail, '3');
    assert.deepEqual(edit(item(items, 'lr')).range, { start: at, end: at });
    const typed = await completeAt(PLAIN(`echo \${train.ep${CURSOR}`));
    assert.deepEqual(edit(item(typed.items, 'epochs')), {
      range: range(typed.at.line, typed.at.character - 2, typed.at.line, typed.at.character),
      newText: 'epochs',
    });
    const fromVars = await completeAt(PLAIN(`echo \${sizes.${CURSOR}`));
    assert.deepEqual(labels(fromVars.items), ['large', 'small']);
    assert.equal(documentation(item(fromVars.items, 'large')), 'From the vars file `more.json`.');
  });

  void test('a value with no keys, an unknown name and an escaped `\\${` offer no names', async () => {
    assert.deepEqual((await completeAt(PLAIN(`echo \${user.${CURSOR}`))).items, []);
    assert.deepEqual((await completeAt(PLAIN(`echo \${nothing.${CURSOR}`))).items, []);
    const escaped = await completeAt(PLAIN(`echo \\\${tr${CURSOR}`));
    assert.ok(!escaped.items.some((i) => i.label === 'train'), labels(escaped.items).join(', '));
  });

  // Every string value of a stage, written as a block item, a quoted flow item or a plain value.
  const places: readonly [string, string][] = [
    ['run', `        run: echo \${tr${CURSOR}}\n`],
    ['run, a block scalar', `        run: |\n          echo start\n          echo \${tr${CURSOR}}\n`],
    ['deps, a block item', `        run: x\n        deps:\n          - data/\${tr${CURSOR}}\n`],
    ['deps, a quoted flow item', `        run: x\n        deps: [src/make.js, 'data/\${tr${CURSOR}']\n`],
    ['outs', `        run: x\n        outs:\n          - out/\${tr${CURSOR}}.txt\n`],
    ['outs, a mapping', `        run: x\n        outs:\n          - path: out/\${tr${CURSOR}}.txt\n`],
    ['metrics', `        run: x\n        metrics: ['m/\${tr${CURSOR}}.json']\n`],
    ['plots', `        run: x\n        plots:\n          - path: p/\${tr${CURSOR}}.csv\n`],
    ['params', `        run: x\n        params:\n          - \${tr${CURSOR}}.lr\n`],
    ['wdir', `        run: x\n        wdir: work/\${tr${CURSOR}}\n`],
  ];
  for (const [where, stage] of places) {
    void test(`in ${where}`, async () => {
      const { items, at } = await completeAt(manifest(`      make:\n${stage}`));
      assert.deepEqual(labels(items), MANIFEST_NAMES);
      assert.deepEqual(
        edit(item(items, 'train')).range,
        range(at.line, at.character - 2, at.line, at.character),
      );
    });
  }

  void test('right after `${` is typed, before that version is analyzed: item and the manifest’s names', async () => {
    const uri = ws.uri();
    const text = FOREACH('[a, b]', 'echo start');
    await client.openAndWait(uri, text);
    try {
      // Typed in the template's body, and completion asked at once, as an editor does on `{`.
      await client.replace(uri, 'echo start', 'echo start ${');
      const position = positionAt(client.text(uri), client.text(uri).indexOf('${') + 2);
      const result = await client.request(CompletionRequest.type, { textDocument: { uri }, position });
      const items = Array.isArray(result) ? result : (result?.items ?? []);
      assert.deepEqual(labels(items), ['item', ...MANIFEST_NAMES].sort());
      assert.equal(item(items, 'item').detail, 'a, b');
    } finally {
      await client.close(uri);
    }
  });

  void test('the value of `foreach` itself is read in the manifest’s scope: no item there', async () => {
    const { items } = await completeAt(FOREACH(`\${${CURSOR}}`, 'echo ${item}'));
    assert.deepEqual(labels(items), MANIFEST_NAMES);
  });
});

/** Foreach shapes of `size` items: what they are written as, and each generated stage's key and item. */
function foreachShape(
  shape: 'scalars' | 'mappings' | 'mapping' | 'params',
  size: number,
  random: () => number,
): { foreach: string; keys: string[]; items: unknown[]; hasKey: boolean } {
  const names = Array.from({ length: size }, (_, i) => `n${i}x${Math.floor(random() * 1000)}`);
  switch (shape) {
    case 'scalars':
      return { foreach: `[${names.join(', ')}]`, keys: names, items: names, hasKey: false };
    case 'mappings': {
      // Items need not share their keys: `extra` only on every other one.
      const items = names.map((name, i) =>
        i % 2 === 0 ? { name, size: i } : { name, size: i, extra: true },
      );
      return {
        foreach: `\n${items.map((value) => `          - ${JSON.stringify(value)}`).join('\n')}`,
        keys: names.map((_, i) => String(i)),
        items,
        hasKey: false,
      };
    }
    case 'mapping': {
      const items = names.map((_, i) => ({ size: i }));
      return {
        foreach: `\n${names.map((name, i) => `          ${name}: {size: ${i}}`).join('\n')}`,
        keys: names,
        items,
        hasKey: true,
      };
    }
    case 'params':
      return { foreach: '${regions}', keys: ['us', 'eu', 'ap'], items: ['us', 'eu', 'ap'], hasKey: false };
  }
}

function shown(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

void describe('inside a foreach template', () => {
  const random = seededRandom(0x16);
  const shapes = ['scalars', 'mappings', 'mapping', 'params'] as const;
  for (let round = 0; round < 8; round++) {
    const shapeName = shapes[round % shapes.length]!;
    const size = 1 + Math.floor(random() * 8);
    const shape = foreachShape(shapeName, size, random);
    const stages = shape.keys.map((key) => `make@${key}`);
    void test(`${shapeName}${shapeName === 'params' ? '' : ` of ${size}`}: completion, hover and definition of the item`, async () => {
      const itemRef =
        shapeName === 'mappings' ? '${item.name}' : shapeName === 'mapping' ? '${item.size}' : '${item}';
      const unique =
        shapeName === 'mappings' ? '${item.name}' : shapeName === 'mapping' ? '${key}' : '${item}';
      const body = (run: string): string => FOREACH(shape.foreach, run, unique);
      const count = shape.keys.length;

      const top = await completeAt(body(`echo ${itemRef} \${${CURSOR}}`));
      const own = shape.hasKey ? ['item', 'key'] : ['item'];
      assert.deepEqual(labels(top.items), [...own, ...MANIFEST_NAMES].sort());
      const itemCompletion = item(top.items, 'item');
      // The template's names come first.
      assert.ok(itemCompletion.sortText! < item(top.items, 'train').sortText!);
      assert.equal(
        documentation(itemCompletion),
        `The item of each stage \`make\` generates from \`foreach\` (${count} stage${count === 1 ? '' : 's'}).`,
      );
      const distinct = [...new Set(shape.items.map(shown))];
      assert.equal(
        itemCompletion.detail,
        distinct.slice(0, 3).join(', ') + (distinct.length > 3 ? ', …' : ''),
      );

      if (shapeName === 'mappings' || shapeName === 'mapping') {
        const keys = await completeAt(body(`echo \${item.${CURSOR}}`));
        const expected =
          shapeName === 'mapping' ? ['size'] : size > 1 ? ['extra', 'name', 'size'] : ['name', 'size'];
        assert.deepEqual(labels(keys.items), expected);
        if (expected.includes('extra')) {
          assert.equal(
            documentation(item(keys.items, 'extra')),
            `\`item.extra\` in the stages \`make\` generates (${Math.floor(size / 2)} of ${size}).`,
          );
        }
      }

      // Hover: the value in each generated stage, five at most.
      const { hover, at } = await hoverAt(body(`echo ${itemRef.slice(0, 3)}${CURSOR}${itemRef.slice(3)}`));
      const values = shape.items.map((value, i) => {
        const picked =
          shapeName === 'mappings'
            ? (value as { name: string }).name
            : shapeName === 'mapping'
              ? (value as { size: number }).size
              : value;
        return `\`${stages[i]!}\`: ${shown(picked)}`;
      });
      const more = values.length > 5 ? `, …and ${values.length - 5} more` : '';
      assert.equal(
        markdown(hover),
        `**\`${itemRef}\`** in the stages \`make\` generates\n\n${values.slice(0, 5).join(', ')}${more}`,
      );
      assert.deepEqual(
        hover?.range,
        range(at.line, at.character - 3, at.line, at.character - 3 + itemRef.length),
      );

      // Definition: the `foreach` value the items come from (on its line, or the block below it).
      const target = single(
        await definitionAt(body(`echo ${itemRef.slice(0, 3)}${CURSOR}${itemRef.slice(3)}`)),
      );
      assert.equal(target.uri, ws.uri());
      const inline = shapeName === 'scalars' || shapeName === 'params';
      assert.deepEqual(
        target.range.start,
        inline ? { line: 10, character: 17 } : { line: 11, character: 10 },
      );

      if (shape.hasKey) {
        const key = await hoverAt(body(`echo \${ke${CURSOR}y}`));
        assert.equal(
          markdown(key.hover),
          `**\`\${key}\`** in the stages \`make\` generates\n\n${stages
            .slice(0, 5)
            .map((stage, i) => `\`${stage}\`: ${shape.keys[i]!}`)
            .join(', ')}${more}`,
        );
      }
    });
  }

  void test('a manifest name inside a template: one value, and its source', async () => {
    const text = FOREACH('[a, b]', `echo \${item} \${train.l${CURSOR}r}`);
    const { hover } = await hoverAt(text);
    assert.equal(markdown(hover), '**`${train.lr}`** = 0.1\n\nFrom the params file `params.yaml`.');
  });

  void test('while the template is being written, its body still offers item', async () => {
    // `foreach` names nothing yet: no stage is generated, but the body is the template's.
    const { items } = await completeAt(FOREACH('${nothing}', `echo \${it${CURSOR}`));
    assert.ok(labels(items).includes('item'), labels(items).join(', '));
  });
});

void describe('inside a matrix template', () => {
  for (const sizes of [[3], [2, 2], [2, 3, 2]] as const) {
    void test(`${sizes.join('×')}: the item's keys, and hover per stage`, async () => {
      const dimensions = ['model', 'lr', 'seed'].slice(0, sizes.length);
      const values = dimensions.map((name, d) =>
        Array.from({ length: sizes[d]! }, (_, i) => `${name[0]!}${i}`),
      );
      const matrix = dimensions.map((name, d) => `          ${name}: [${values[d]!.join(', ')}]`).join('\n');
      const out = dimensions.map((name) => `\${item.${name}}`).join('-');
      const text = (run: string): string =>
        manifest(
          `      fit:\n        matrix:\n${matrix}\n        run: ${run}\n        outs: ['out/${out}.txt']\n`,
        );
      const { items } = await completeAt(text(`echo \${item.${CURSOR}}`));
      assert.deepEqual(labels(items), [...dimensions].sort());
      assert.equal(item(items, 'model').detail, values[0]!.slice(0, 3).join(', '));

      const combos = values.reduce<string[][]>(
        (acc, list) => acc.flatMap((prefix) => list.map((value) => [...prefix, value])),
        [[]],
      );
      const { hover } = await hoverAt(text(`echo \${item.mo${CURSOR}del}`));
      const more = combos.length > 5 ? `, …and ${combos.length - 5} more` : '';
      assert.equal(
        markdown(hover),
        `**\`\${item.model}\`** in the stages \`fit\` generates\n\n${combos
          .slice(0, 5)
          .map((combo) => `\`fit@${combo.join('-')}\`: ${combo[0]!}`)
          .join(', ')}${more}`,
      );
      // Definition: the matrix list of that key.
      const target = single(await definitionAt(text(`echo \${item.mo${CURSOR}del}`)));
      assert.deepEqual(target.range, range(11, 10, 11, 15));

      // The `matrix` lists themselves are read in the manifest's scope.
      const inMatrix = await completeAt(
        manifest(
          `      fit:\n        matrix:\n          model: \${${CURSOR}}\n        run: echo \${item.model}\n`,
        ),
      );
      assert.deepEqual(labels(inMatrix.items), MANIFEST_NAMES);
    });
  }
});

void describe('hover', () => {
  void test('a name of the params file, of a vars file and of inline vars: value and source', async () => {
    const cases: readonly [string, string][] = [
      [`\${tr${CURSOR}ain.lrs}`, '**`${train.lrs}`** = [0.1,0.01]\n\nFrom the params file `params.yaml`.'],
      [`\${sizes.la${CURSOR}rge}`, '**`${sizes.large}`** = 9\n\nFrom the vars file `more.json`.'],
      [`\${${CURSOR}home}`, '**`${home}`** = /home/ada\n\nFrom `vars` in this manifest.'],
    ];
    for (const [ref, expected] of cases) {
      const { hover } = await hoverAt(PLAIN(`echo ${ref}`));
      assert.equal(markdown(hover), expected);
      // The whole `${…}`, after `        run: echo `.
      const length = ref.length - CURSOR.length;
      assert.deepEqual(hover?.range, range(10, 18, 10, 18 + length));
    }
  });

  void test('an unknown name has no hover (its diagnostic says it), nor has an escaped one', async () => {
    const unknown = await atCursor(PLAIN(`echo \${trian.l${CURSOR}r}`), (position, uri) =>
      client.request(HoverRequest.type, { textDocument: { uri }, position }),
    );
    assert.equal(unknown.result, null);
    assert.deepEqual(
      unknown.diagnostics.map((d) => d.code),
      ['unknown-template-name'],
    );
    assert.equal((await hoverAt(PLAIN(`echo \\\${tr${CURSOR}ain.lr}`))).hover, null);
  });

  void test("a template's name lists the stages it generates", async () => {
    for (const size of [1, 4, 13]) {
      const names = Array.from({ length: size }, (_, i) => `r${i}`);
      const { hover, at } = await hoverAt(
        manifest(
          `      ma${CURSOR}ke:\n        description: One per region\n        foreach: [${names.join(', ')}]\n        do:\n          run: echo \${item}\n`,
        ),
      );
      const listed = names
        .slice(0, 10)
        .map((name) => `\`make@${name}\``)
        .join(', ');
      const more = size > 10 ? `, …and ${size - 10} more` : '';
      assert.equal(
        markdown(hover),
        `**stage template** \`make\` of pipeline \`p\` (\`foreach\`)\n\nOne per region\n\nGenerates ${size} stage${size === 1 ? '' : 's'}: ${listed}${more}.`,
      );
      assert.deepEqual(hover?.range, range(at.line, 6, at.line, 10));
    }
  });
});

void describe('go to definition', () => {
  void test('a name of the params file: the file, at the key', async () => {
    const lr = single(await definitionAt(PLAIN(`echo \${train.l${CURSOR}r}`)));
    assert.equal(lr.uri, ws.uri('params.yaml'));
    assert.deepEqual(lr.range, range(1, 2, 1, 4));
    const regions = single(await definitionAt(PLAIN(`echo \${regions[${CURSOR}0]}`)));
    assert.deepEqual(regions.range, range(4, 0, 4, 7));
  });

  void test('a name of a JSON vars file: the file, at the key', async () => {
    const large = single(await definitionAt(PLAIN(`echo \${sizes.lar${CURSOR}ge}`)));
    assert.equal(large.uri, ws.uri('more.json'));
    assert.deepEqual(large.range, range(3, 4, 3, 11));
  });

  void test('an inline vars name: its key in the manifest', async () => {
    const home = single(await definitionAt(PLAIN(`echo \${ho${CURSOR}me}`)));
    assert.equal(home.uri, ws.uri());
    assert.deepEqual(home.range, range(5, 4, 5, 8));
  });

  void test('an unknown name leads nowhere', async () => {
    assert.deepEqual(await definitionAt(PLAIN(`echo \${nothing.h${CURSOR}ere}`)), []);
  });
});

void describe('diagnostics of generated stages', () => {
  for (const size of [1, 3, 12]) {
    const names = Array.from({ length: size }, (_, i) => `r${i}`);
    void test(`an unknown name in a template of ${size}: once, at the \${…}`, async () => {
      const text = FOREACH(`[${names.join(', ')}]`, 'echo ${item.nme}');
      const { diagnostics } = await atCursor(`${CURSOR}${text}`, () => Promise.resolve());
      assert.deepEqual(
        diagnostics.map((d) => ({ code: d.code, range: d.range })),
        [{ code: 'unknown-template-name', range: range(12, 20, 12, 31) }],
      );
    });

    void test(`problems of every generated stage, ${size} of them: once each, in the template`, async () => {
      // No outs, and a need that is no stage: each generated stage has both problems.
      const text = manifest(
        `      make:\n        foreach: [${names.join(', ')}]\n        do:\n          run: echo \${item}\n          needs: [nowhere]\n`,
      );
      const { diagnostics } = await atCursor(`${CURSOR}${text}`, () => Promise.resolve());
      const unknown = diagnostics.filter((d) => messageOf(d).includes('nowhere'));
      assert.equal(unknown.length, 1, diagnostics.map(messageOf).join('\n'));
      assert.deepEqual(unknown[0]!.range, range(13, 18, 13, 25));
      const noOutputs = diagnostics.filter((d) => messageOf(d).includes('declares no `outs`'));
      assert.equal(noOutputs.length, 1, diagnostics.map(messageOf).join('\n'));
      // At the template's name: the generated stages have no name of their own in the text.
      assert.deepEqual(noOutputs[0]!.range, range(9, 6, 9, 10));
    });
  }
});
