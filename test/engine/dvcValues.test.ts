// What import-dvc reads of a DVC project's values: the `${…}` expressions of a command, read as the manifest reads
// them (a `\${` is literal), and names looked up through the layers of params and vars in DVC's order.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { templateExpressions, TemplateValues, wholeTemplate } from '../../src/core/dvc/values';

void describe('templates and the values they name', () => {
  void test('finds every ${…} not escaped as \\${', () => {
    assert.deepEqual(templateExpressions('python x.py ${a} ${ b.c } \\${HOME} ${e[0]}'), [
      'a',
      'b.c',
      'e[0]',
    ]);
    assert.equal(wholeTemplate(' ${models} '), 'models');
    assert.equal(wholeTemplate('${a}-${b}'), undefined);
    assert.equal(wholeTemplate('x${a}'), undefined);
  });

  void test('looks a name up in each layer in turn, with a foreach item in front', () => {
    const values = TemplateValues.layered([
      { models: ['a'], grid: { lr: [0.1] } },
      { models: ['b'], only: { x: 1 } },
    ]);
    assert.deepEqual(values.resolve('models'), { found: true, value: ['a'] });
    assert.deepEqual(values.resolve('only.x'), { found: true, value: 1 });
    assert.deepEqual(values.resolve('grid.lr[0]'), { found: true, value: 0.1 });
    assert.deepEqual(values.resolve('grid.nope'), { found: false });
    assert.deepEqual(values.with({ item: { a: 1 } }).resolve('item'), { found: true, value: { a: 1 } });
    // An expression is not a name: nothing to look up.
    assert.deepEqual(values.resolve('models + only'), { found: false });
  });
});
