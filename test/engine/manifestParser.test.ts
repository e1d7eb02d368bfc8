// The incremental parser must read exactly what a whole parse reads, and an
// edit must re-parse only the chunks it touched.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDocument } from 'yaml';
import { IncrementalYamlParser } from '../../src/core/manifest/parser';
import { fromYamlDocument, type SyntaxProblem } from '../../src/core/manifest/yamlTree';
import { generateManifest } from '../support/generateManifest';

function wholeParse(text: string): { root: unknown; problems: SyntaxProblem[] } {
  const problems: SyntaxProblem[] = [];
  const root = fromYamlDocument(parseDocument(text, { uniqueKeys: false, version: '1.2' }), 0, problems);
  return { root, problems };
}

describe('incremental YAML parser', () => {
  const { text } = generateManifest(300);

  it('builds the same tree as a whole parse, offsets included', () => {
    const parsed = new IncrementalYamlParser().parse(text);
    assert.ok(parsed.chunks > 20, `expected the text to be cut into chunks, got ${parsed.chunks}`);
    assert.deepEqual(parsed.root, wholeParse(text).root);
    assert.equal(parsed.problems.length, 0);
  });

  it('re-parses only the chunk an edit touched, and stays equal to a whole parse', () => {
    const parser = new IncrementalYamlParser();
    parser.parse(text);
    const edited = text.replace('run: node src/p0/s150.js', 'run: node src/p0/s150.js --verbose');
    assert.notEqual(edited, text);
    const parsed = parser.parse(edited);
    assert.equal(parsed.parsedChunks, 1);
    assert.deepEqual(parsed.root, wholeParse(edited).root);
  });

  it('keeps offsets right after an edit that changes line count above', () => {
    const parser = new IncrementalYamlParser();
    parser.parse(text);
    const edited = text.replace('  p0:\n', '  p0:\n    # a comment\n    # another\n');
    const parsed = parser.parse(edited);
    assert.ok(parsed.parsedChunks <= 2, `parsed ${parsed.parsedChunks} chunks`);
    assert.deepEqual(parsed.root, wholeParse(edited).root);
  });

  it('falls back to a whole parse for anchors and aliases, and resolves them', () => {
    const source = [
      'version: 1',
      'defaults: &d',
      '  run: node a.js',
      'pipelines:',
      '  train:',
      '    stages:',
      '      a: *d',
      '',
    ].join('\n');
    const parsed = new IncrementalYamlParser().parse(source);
    assert.equal(parsed.chunks, 1);
    assert.deepEqual(parsed.root, wholeParse(source).root);
  });

  it('reports a syntax error inside a chunk at its place in the whole text', () => {
    const broken = text.replace('run: node src/p0/s200.js', 'run: "node src/p0/s200.js');
    const parsed = new IncrementalYamlParser().parse(broken);
    assert.ok(parsed.problems.length > 0, 'the unclosed quote is reported');
    const at = broken.indexOf('"node src/p0/s200.js');
    const first = parsed.problems[0]!;
    // The quote runs on to the end of its chunk, a few stages on; never before it.
    assert.ok(first.start >= at && first.start <= at + 1500, `error at ${first.start}, quote at ${at}`);
  });

  it('agrees with a whole parse on whether a mutated manifest is valid YAML', () => {
    // Line-level mutations of the kind typing produces; fixed seed so failures reproduce.
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const small = generateManifest(60).text;
    const lines = small.split('\n');
    const fragments = ['  ', '- ', ': ', 'x', '"', "'", '[', ']', '{', '#', '      s9:', '    ', 'run:'];
    for (let trial = 0; trial < 100; trial++) {
      const copy = [...lines];
      const line = random(copy.length);
      const fragment = fragments[random(fragments.length)]!;
      const column = random((copy[line]?.length ?? 0) + 1);
      copy[line] = (copy[line] ?? '').slice(0, column) + fragment + (copy[line] ?? '').slice(column);
      const mutated = copy.join('\n');
      const incremental = new IncrementalYamlParser().parse(mutated);
      const whole = wholeParse(mutated);
      assert.equal(
        incremental.problems.length > 0,
        whole.problems.length > 0,
        `trial ${trial}: line ${line + 1} became ${JSON.stringify(copy[line])}`,
      );
      if (whole.problems.length === 0) assert.deepEqual(incremental.root, whole.root, `trial ${trial}`);
    }
  });
});
