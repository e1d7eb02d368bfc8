// Completion reads where the cursor is from indentation, because the line
// being typed is rarely valid YAML. `|` marks the cursor in each case.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineIndex } from '../../src/core/manifest';
import { completionContext } from '../../src/core/manifest/completion';

function contextAt(textWithCursor: string): ReturnType<typeof completionContext> {
  const offset = textWithCursor.indexOf('|');
  const text = textWithCursor.slice(0, offset) + textWithCursor.slice(offset + 1);
  return completionContext(new LineIndex(text), offset);
}

const STAGE = [
  'version: 1',
  'pipelines:',
  '  train:',
  '    stages:',
  '      prepare:',
  '        run: node a.js',
];

describe('completion context', () => {
  it('finds the stage a new key is typed in, and the keys it already has', () => {
    const context = contextAt([...STAGE, '        de|', '        outs: [x]', ''].join('\n'));
    assert.deepEqual(context.path, ['pipelines', 'train', 'stages', 'prepare']);
    assert.equal(context.position, 'key');
    assert.equal(context.partial, 'de');
    assert.deepEqual([...context.present].sort(), ['outs', 'run']);
  });

  it('finds a value in a flow list', () => {
    const context = contextAt([...STAGE, '        datasets: [events, us|'].join('\n'));
    assert.deepEqual(context.path, ['pipelines', 'train', 'stages', 'prepare', 'datasets']);
    assert.equal(context.position, 'value');
    assert.equal(context.partial, 'us');
    assert.equal(context.inList, true);
  });

  it('finds an item of a block list, also when the list sits at its key’s indentation', () => {
    const nested = contextAt([...STAGE, '        needs:', '          - a', '          - |'].join('\n'));
    assert.deepEqual(nested.path, ['pipelines', 'train', 'stages', 'prepare', 'needs', '[]']);
    const flush = contextAt([...STAGE, '        needs:', '        - a', '        - |'].join('\n'));
    assert.deepEqual(flush.path, ['pipelines', 'train', 'stages', 'prepare', 'needs', '[]']);
  });

  it('finds the keys of a list item mapping', () => {
    const lines = ['version: 1', 'pipelines:', '  train:', '    checks:', '      - name: rows', '        |'];
    const context = contextAt(lines.join('\n'));
    assert.deepEqual(context.path, ['pipelines', 'train', 'checks', '[]']);
    assert.deepEqual([...context.present], ['name']);
  });

  it('finds a value after a key on a list item line', () => {
    const lines = ['environments:', '  production:', '    gates:', '      - checks', '      - metric: met|'];
    const context = contextAt(lines.join('\n'));
    assert.deepEqual(context.path, ['environments', 'production', 'gates', '[]', 'metric']);
    assert.equal(context.partial, 'met');
  });

  it('skips comments, blank lines and deeper siblings on the way up', () => {
    const lines = [
      'environments:',
      '  staging:',
      '    from: workspace',
      '    deploy:',
      '      path: deploy/staging',
      '',
      '    # the health check',
      '    |',
    ];
    const context = contextAt(lines.join('\n'));
    assert.deepEqual(context.path, ['environments', 'staging']);
    assert.deepEqual([...context.present].sort(), ['deploy', 'from']);
  });

  it('is at the top level on an unindented line', () => {
    const context = contextAt('version: 1\nna|');
    assert.deepEqual(context.path, []);
    assert.deepEqual([...context.present], ['version']);
  });
});
