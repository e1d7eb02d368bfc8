// Params overrides on generated params files: whatever the nesting, comments,
// quoting and spacing, writing overrides changes exactly the values asked for
// (the file parses to the document with those keys set) and, for scalars,
// not one other character; settings are checked against what the file holds.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import {
  applyOverrides,
  checkSettings,
  combinations,
  flattenParams,
  parseSettings,
} from '../../src/core/pipelines/paramOverrides';
import { SluiceError } from '../../src/core/errors';
import { seededRandom } from '../../src/core/seededRandom';

type Random = () => number;

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

const SCALARS: readonly unknown[] = [0, 3, -2.5, 1e-3, true, false, 'adam', 'two words', null, 'x:y'];

/** A params file: nested sections, scalars of every kind, comments and odd spacing here and there. */
function generate(random: Random): { text: string; document: Record<string, unknown> } {
  const document: Record<string, unknown> = {};
  const lines: string[] = ['# generated params'];
  const sections = 1 + Math.floor(random() * 3);
  for (let s = 0; s < sections; s++) {
    const name = `section${s}`;
    const section: Record<string, unknown> = {};
    document[name] = section;
    lines.push(`${name}:${random() < 0.3 ? '   # a section' : ''}`);
    const keys = 1 + Math.floor(random() * 4);
    for (let k = 0; k < keys; k++) {
      const key = `key_${k}`;
      const value = pick(random, SCALARS);
      section[key] = value;
      const written =
        typeof value === 'string'
          ? pick(random, [JSON.stringify(value), `'${value}'`])
          : value === null
            ? pick(random, ['null', '~'])
            : JSON.stringify(value);
      const comment = random() < 0.5 ? `${' '.repeat(1 + Math.floor(random() * 4))}# note ${k}` : '';
      lines.push(`  ${key}:${' '.repeat(1 + Math.floor(random() * 3))}${written}${comment}`);
    }
    if (random() < 0.4) {
      section['list'] = [1, 2];
      lines.push('  list: [1, 2]');
    }
  }
  return { text: `${lines.join('\n')}\n`, document };
}

void describe('params overrides', () => {
  void test('scalars: the document has the new values and every other character is where it was', () => {
    const random = seededRandom(1507);
    for (let round = 0; round < 300; round++) {
      const { text, document } = generate(random);
      assert.deepEqual(parse(text), document, `the generator writes what it means:\n${text}`);
      const leaves = Object.entries(flattenParams(document)).filter(([, value]) => !Array.isArray(value));
      const chosen = leaves.filter(() => random() < 0.5);
      const overrides = Object.fromEntries(chosen.map(([key]) => [key, pick(random, SCALARS)]));
      const written = applyOverrides(text, 'params.yaml', overrides);
      const expected = structuredClone(document) as Record<string, Record<string, unknown>>;
      for (const [key, value] of Object.entries(overrides)) {
        const [section, leaf] = key.split('.');
        expected[section!]![leaf!] = value;
      }
      assert.deepEqual(parse(written), expected, `round ${round}:\n${text}\n→\n${written}`);
      // Lines whose value was not overridden are byte for byte the same.
      const touched = new Set(Object.keys(overrides).map((key) => key.split('.')[1]));
      const before = text.split('\n');
      const after = written.split('\n');
      assert.equal(after.length, before.length);
      const keyOf = (line: string): string | undefined => /^ {2}(\w+):/.exec(line)?.[1];
      let sectionAt = '';
      before.forEach((line, index) => {
        if (/^\w/.test(line)) sectionAt = line.split(':')[0]!;
        const key = keyOf(line);
        if (key === undefined || !(`${sectionAt}.${key}` in overrides) || !touched.has(key))
          assert.equal(after[index], line, `round ${round}, line ${index + 1} untouched`);
      });
    }
  });

  void test('JSON files get the values with their indentation', () => {
    const text = '{\n    "train": {\n        "lr": 0.5,\n        "name": "a"\n    }\n}\n';
    const written = applyOverrides(text, 'params.json', { 'train.lr': 0.1 });
    assert.equal(written, '{\n    "train": {\n        "lr": 0.1,\n        "name": "a"\n    }\n}\n');
  });

  void test('settings: kinds are checked against what the file holds; grids multiply', () => {
    const document = {
      train: { lr: 0.5, epochs: 10, opt: 'sgd', augment: false, layers: [1, 2], free: null },
    };
    const ok = checkSettings(
      parseSettings(['train.lr=0.1,0.2', 'train.opt=7', 'train.free=x', 'train.layers=[3]'], { grid: true }),
      document,
      'params.yaml',
    );
    assert.deepEqual(
      ok.map(({ key, values }) => [key, values]),
      [
        ['train.lr', [0.1, 0.2]],
        ['train.opt', ['7']],
        ['train.free', ['x']],
        ['train.layers', [[3]]],
      ],
    );
    assert.equal(combinations(ok).length, 2);
    assert.deepEqual(
      combinations(parseSettings(['a=1,2', 'b=x,y,z'], { grid: true })).map(
        (c) => `${String(c['a'])}${String(c['b'])}`,
      ),
      ['1x', '1y', '1z', '2x', '2y', '2z'],
    );
    assert.deepEqual(parseSettings(["a='x,y',z"], { grid: true })[0]!.values, ['x,y', 'z']);
    const refused: [string[], string][] = [
      [['train.lr=fast'], 'bad-param-value'],
      [['train.epochs=true'], 'bad-param-value'],
      [['train.augment=1'], 'bad-param-value'],
      [['train.layers=3'], 'bad-param-value'],
      [['train.lrr=1'], 'unknown-param'],
      [['train=1'], 'unknown-param'],
      [['train.lr'], 'bad-param-setting'],
    ];
    for (const [texts, code] of refused) {
      assert.throws(
        () => checkSettings(parseSettings(texts, { grid: true }), document, 'params.yaml'),
        (error: unknown) =>
          error instanceof SluiceError && error.code === code && error.message.includes('train'),
        texts.join(' '),
      );
    }
    assert.throws(
      () => checkSettings(parseSettings(['a=1'], { grid: false }), {}, undefined),
      (error: unknown) => error instanceof SluiceError && error.code === 'unknown-param',
    );
  });
});
