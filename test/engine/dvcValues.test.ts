// What import-dvc reads of a DVC project's values: TOML files (every kind of
// value, tables, arrays of tables, and a syntax error named by line and
// column), the `${…}` expressions of a command with DVC's `\${` escape, and
// names looked up through the layers of params and vars in DVC's order.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseToml, TomlSyntaxError } from '../../src/core/dvc/toml';
import { referencePath, templateExpressions, TemplateValues, wholeTemplate } from '../../src/core/dvc/values';
import { seededRandom } from '../../src/core/seededRandom';

void describe('the TOML reader', () => {
  void test('reads every kind of value', () => {
    const text = [
      '# a params file',
      'title = "Basic \\"quoted\\" \\u00e9\\n"',
      "path = 'C:\\Users\\literal'",
      'int = +1_000',
      'negative = -17',
      'hex = 0xff',
      'octal = 0o17',
      'binary = 0b101',
      'float = 6.02e23',
      'fraction = -0.5',
      'infinite = -inf',
      'yes = true',
      'no = false',
      'day = 1979-05-27',
      'moment = 1979-05-27T07:32:00Z',
      'spaced = 1979-05-27 07:32:00 # local',
      'list = [ 1, 2, 3, ]',
      'nested = [[1, 2], ["a", "b"]]',
      'multiline = [',
      '  "x", # a comment inside',
      '  "y",',
      ']',
      'inline = { a = 1, b.c = "d" }',
      'text = """',
      'one',
      'two \\',
      '   three"""',
      "raw = '''",
      "keep \\n as is'''",
      '"quoted key" = 1',
      'dotted.key.path = 2',
      '',
      '[train]',
      'epochs = 10 # trailing comment',
      '',
      '[train.optimizer]',
      'name = "adam"',
      '',
      '[[runs]]',
      'seed = 1',
      '[[runs]]',
      'seed = 2',
      '[runs.extra]',
      'note = "second"',
    ].join('\n');
    assert.deepEqual(parseToml(text), {
      title: 'Basic "quoted" é\n',
      path: 'C:\\Users\\literal',
      int: 1000,
      negative: -17,
      hex: 255,
      octal: 15,
      binary: 5,
      float: 6.02e23,
      fraction: -0.5,
      infinite: -Infinity,
      yes: true,
      no: false,
      day: '1979-05-27',
      moment: '1979-05-27T07:32:00Z',
      spaced: '1979-05-27 07:32:00',
      list: [1, 2, 3],
      nested: [
        [1, 2],
        ['a', 'b'],
      ],
      multiline: ['x', 'y'],
      inline: { a: 1, b: { c: 'd' } },
      text: 'one\ntwo three',
      raw: 'keep \\n as is',
      'quoted key': 1,
      dotted: { key: { path: 2 } },
      train: { epochs: 10, optimizer: { name: 'adam' } },
      runs: [{ seed: 1 }, { seed: 2, extra: { note: 'second' } }],
    });
  });

  void test('reads generated tables of scalars back as they were written', () => {
    const random = seededRandom(7);
    for (let round = 0; round < 50; round++) {
      const expected: Record<string, Record<string, unknown>> = {};
      const text: string[] = [];
      for (let table = 0; table < 1 + Math.floor(random() * 4); table++) {
        const name = `t${table}`;
        expected[name] = {};
        text.push(`[${name}]`);
        for (let key = 0; key < 1 + Math.floor(random() * 5); key++) {
          const kind = Math.floor(random() * 4);
          const value =
            kind === 0
              ? Math.floor(random() * 1e6)
              : kind === 1
                ? random() > 0.5
                : kind === 2
                  ? `s${key} #x`
                  : [key, key + 1];
          expected[name][`k${key}`] = value;
          text.push(
            `k${key} = ${JSON.stringify(value).replace(/,/g, ', ')}${random() > 0.5 ? ' # note' : ''}`,
          );
        }
      }
      assert.deepEqual(parseToml(text.join('\n')), expected, text.join('\n'));
    }
  });

  for (const [text, line, column, says] of [
    ['a = 1\nb = "open', 2, 10, /not closed/],
    ['a = 1\na = 2', 2, 6, /defined twice/],
    ['[t]\nx = @', 2, 5, /not a TOML value/],
    ['a = 1 b = 2', 1, 7, /line break/],
    ['a = [1, 2', 1, 10, /',' or '\]'/],
  ] as const)
    void test(`names the line and column of ${JSON.stringify(text)}`, () => {
      assert.throws(
        () => parseToml(text),
        (error: unknown) =>
          error instanceof TomlSyntaxError &&
          error.line === line &&
          error.column === column &&
          says.test(error.message),
      );
    });
});

void describe('templates and the values they name', () => {
  void test('finds every ${…} not escaped as \\${', () => {
    assert.deepEqual(templateExpressions('python x.py ${a} ${ b.c } \\${HOME} \\\\${d} ${e[0]}'), [
      'a',
      'b.c',
      'd',
      'e[0]',
    ]);
    assert.equal(wholeTemplate(' ${models} '), 'models');
    assert.equal(wholeTemplate('${a}-${b}'), undefined);
    assert.deepEqual(referencePath('a.b[0].c'), ['a', 'b', '0', 'c']);
    assert.equal(referencePath('a + b'), undefined);
  });

  void test('looks a name up in each layer in turn, with a foreach item in front', () => {
    const values = new TemplateValues([
      { models: ['a'], grid: { lr: [0.1] } },
      { models: ['b'], only: { x: 1 } },
    ]);
    assert.deepEqual(values.resolve(['models']), { found: true, value: ['a'] });
    assert.deepEqual(values.resolve(['only', 'x']), { found: true, value: 1 });
    assert.deepEqual(values.resolve(['grid', 'lr', '0']), { found: true, value: 0.1 });
    assert.deepEqual(values.resolve(['grid', 'nope']), { found: false });
    assert.deepEqual(values.with({ item: { a: 1 } }).resolve(['item']), { found: true, value: { a: 1 } });
  });
});
