// The plots engine on real bytes: data files to rows (CSV, TSV, JSON in both
// shapes), each refusal one line naming the file and the line, and
// collectPlots overlaying sources, with an error in place of a source that
// cannot be drawn and never in place of the others.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SluiceError } from '../../src/core/errors';
import { analyzeManifest } from '../../src/core/manifest';
import { collectPlots, firstPlotError } from '../../src/core/plots/collect';
import { readPlotTable } from '../../src/core/plots/data';
import type { PlotSourceData } from '../../src/core/plots/document';
import { plotsShowJson } from '../../src/core/plots/json';
import type { PlotSource } from '../../src/core/plots/sources';

const file = (path: string) => ({ path, shown: path });

function table(text: string, path = 'plots/data.csv') {
  const format = path.endsWith('.json') ? 'json' : path.endsWith('.tsv') ? 'tsv' : 'csv';
  return readPlotTable(Buffer.from(text), file(path), format);
}

/** The refusal of `text` as the file `path`: its code, message and data. */
function refusal(text: string | Buffer, path = 'plots/data.csv'): SluiceError {
  const format = path.endsWith('.json') ? 'json' : path.endsWith('.tsv') ? 'tsv' : 'csv';
  try {
    readPlotTable(Buffer.from(text), file(path), format);
  } catch (error) {
    assert.ok(error instanceof SluiceError, String(error));
    assert.ok(!error.message.includes('\n'), `one line: ${error.message}`);
    assert.ok(error.message.startsWith(path), `names the file first: ${error.message}`);
    assert.equal(error.data['file'], path);
    assert.equal(error.exitCode, 1);
    return error;
  }
  assert.fail(`${path} was accepted:\n${String(text)}`);
}

void describe('plot data files', () => {
  void test('CSV: numbers become numbers, empty cells null, quoted fields keep commas, quotes and line breaks', () => {
    const read = table('step,loss,note\n1,0.5,"a, b"\n2,,"say ""hi""\nthere"\n3,1e-3,plain\n');
    assert.deepEqual(read.fields, ['step', 'loss', 'note']);
    assert.deepEqual(read.rows, [
      { step: 1, loss: 0.5, note: 'a, b' },
      { step: 2, loss: null, note: 'say "hi"\nthere' },
      { step: 3, loss: 0.001, note: 'plain' },
    ]);
    // The third record starts on line 5: the second spans lines 3 and 4.
    assert.deepEqual(
      [0, 1, 2].map((index) => read.where(index).text),
      ['line 2', 'line 3', 'line 5'],
    );
  });

  void test('CSV: CRLF, a byte order mark, blank lines and a header with spaces', () => {
    const read = table('\ufeffepoch, acc\r\n1,0.5\r\n\r\n2,0.75\r\n');
    assert.deepEqual(read.fields, ['epoch', 'acc']);
    assert.deepEqual(read.rows, [
      { epoch: 1, acc: 0.5 },
      { epoch: 2, acc: 0.75 },
    ]);
    assert.equal(read.where(1).line, 4);
  });

  void test('TSV: tabs separate, commas are text', () => {
    const read = table('step\tlabel\n1\ta,b\n', 'plots/data.tsv');
    assert.deepEqual(read.rows, [{ step: 1, label: 'a,b' }]);
  });

  void test('JSON: an array of records, and an object holding one (DVC), nested values dotted', () => {
    const array = table(
      '[{"step": 1, "loss": {"train": 0.5, "val": 0.6}}, {"step": 2, "extra": true}]',
      'p.json',
    );
    assert.deepEqual(array.fields, ['step', 'loss.train', 'loss.val', 'extra']);
    assert.deepEqual(array.rows[1], { step: 2, 'loss.train': null, 'loss.val': null, extra: 'true' });
    const dvc = table(
      '{\n  "name": "run",\n  "train": [\n    {"step": 1},\n    {"step": 2}\n  ]\n}\n',
      'p.json',
    );
    assert.deepEqual(dvc.rows, [{ step: 1 }, { step: 2 }]);
    assert.deepEqual(dvc.where(1), { text: 'record 2 (line 5)', line: 5 });
  });

  void test('every malformed file is refused with its own code, naming the line where there is one', () => {
    const cases: [string, string, string, RegExp, number | undefined][] = [
      ['empty', '', 'plot-empty', /is empty/, undefined],
      ['blank', ' \n\n', 'plot-empty', /is empty/, undefined],
      ['header only', 'a,b\n', 'plot-empty', /header but no rows/, 1],
      ['unclosed quote', 'a,b\n1,"two\n3,4\n', 'plot-unreadable', /line 2: a quoted field starts here/, 2],
      ['quote inside a field', 'a,b\n1,tw"o\n', 'plot-unreadable', /line 2: a quote inside a field/, 2],
      [
        'text after a closing quote',
        'a,b\n1,"two"x\n',
        'plot-unreadable',
        /line 2: text after the closing quote/,
        2,
      ],
      ['short row', 'a,b\n1,2\n3\n', 'plot-unreadable', /line 3: 1 field, but the header has 2/, 3],
      ['unnamed column', 'a,,c\n1,2,3\n', 'plot-unreadable', /column 2 of the header has no name/, 1],
      ['twice-named column', 'a,a\n1,2\n', 'plot-unreadable', /names the column `a` twice/, 1],
    ];
    for (const [what, text, code, message, line] of cases) {
      const error = refusal(text);
      assert.equal(error.code, code, what);
      assert.match(error.message, message, what);
      assert.equal(error.data['line'], line, what);
    }
    assert.match(refusal(Buffer.from([0x61, 0x0a, 0xff, 0xfe])).message, /is not UTF-8 text/);
  });

  void test('malformed JSON is refused naming the line, and shapes that hold no records say what they hold', () => {
    const syntax = refusal('[\n  {"step": 1},\n  {"step": 2,}\n]\n', 'p.json');
    assert.equal(syntax.code, 'plot-unreadable');
    assert.match(syntax.message, /^p\.json, line 3: not valid JSON/);
    const cases: [string, RegExp][] = [
      ['42', /holds the number 42, not an array of records/],
      ['"text"', /holds the text "text", not an array of records/],
      ['{"a": 1}', /an object without an array of records inside/],
      ['{"a": [{"x": 1}], "b": [{"x": 2}]}', /2 arrays of records \(`a`, `b`\)/],
      ['[]', /holds no records/],
      ['[{"x": 1},\n 7]', /record 2 \(line 2\): the number 7, not an object/],
    ];
    for (const [text, message] of cases) assert.match(refusal(text, 'p.json').message, message, text);
  });
});

/** A source holding `files` (path → text); a path it lacks reads as missing. */
function memorySource(label: string, files: Readonly<Record<string, string | Buffer>>): PlotSource {
  return {
    label,
    read: (path) => {
      const content = files[path];
      return Promise.resolve(content === undefined ? undefined : Buffer.from(content));
    },
  };
}

const MANIFEST = `version: 1
name: plotted
pipelines:
  train:
    stages:
      train:
        run: node train.js
        outs: [out]
        plots:
          - out/loss.csv
          - path: out/acc.json
            template: scatter
            x: step
            y: [acc]
            title: Accuracy
          - path: out/classes.csv
            template: confusion
            actual: truth
            predicted: guess
          - out/chart.png
`;

const LOSS = 'epoch,loss,val_loss,note\n1,0.9,1.0,start\n2,0.5,0.7,\n';
const ACC = JSON.stringify([
  { step: 1, acc: 0.5 },
  { step: 2, acc: 0.8 },
]);
const CLASSES = 'truth,guess\ncat,cat\ncat,dog\ndog,dog\n2,10\n';
const PNG = Buffer.from('89504e470d0a1a0a', 'hex');

function manifest() {
  const analysis = analyzeManifest(MANIFEST);
  assert.deepEqual(
    analysis.diagnostics.map((d) => d.message),
    [],
  );
  return analysis.manifest;
}

void describe('collectPlots', () => {
  void test('draws every declared plot from every source, in manifest order, with defaults resolved', async () => {
    const files = {
      'out/loss.csv': LOSS,
      'out/acc.json': ACC,
      'out/classes.csv': CLASSES,
      'out/chart.png': PNG,
    };
    const document = await collectPlots({ manifest: manifest() }, [memorySource('workspace', files)]);
    assert.equal(document.name, 'plotted');
    assert.deepEqual(document.sources, ['workspace']);
    assert.deepEqual(
      document.plots.map((plot) => [plot.id, plot.template, plot.stage, plot.title]),
      [
        ['out/loss.csv', 'line', 'train.train', 'out/loss.csv'],
        ['out/acc.json', 'scatter', 'train.train', 'Accuracy'],
        ['out/classes.csv', 'confusion', 'train.train', 'out/classes.csv'],
        ['out/chart.png', 'image', 'train.train', 'out/chart.png'],
      ],
    );
    const [loss, acc, classes, image] = document.plots;
    // Defaults: the first column across every numeric other; `note` is text and left out.
    assert.deepEqual(loss!.fields, { x: 'epoch', y: ['loss', 'val_loss'], actual: null, predicted: null });
    assert.deepEqual(loss!.sources[0], {
      label: 'workspace',
      kind: 'rows',
      rows: [
        { epoch: 1, loss: 0.9, val_loss: 1 },
        { epoch: 2, loss: 0.5, val_loss: 0.7 },
      ],
    });
    assert.equal(loss!.xLabel, 'epoch');
    assert.equal(loss!.yLabel, 'loss, val_loss');
    assert.equal(acc!.sources[0]!.kind, 'rows');
    const matrix = classes!.sources[0] as Extract<PlotSourceData, { kind: 'matrix' }>;
    // Numbers in numeric order before text; rows are the actual class, columns the predicted one.
    assert.deepEqual(matrix.labels, ['2', '10', 'cat', 'dog']);
    assert.deepEqual(matrix.counts, [
      [0, 1, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 1, 1],
      [0, 0, 0, 1],
    ]);
    assert.equal(matrix.total, 4);
    assert.equal(classes!.xLabel, 'predicted (guess)');
    assert.equal(classes!.yLabel, 'actual (truth)');
    const png = image!.sources[0] as Extract<PlotSourceData, { kind: 'image' }>;
    assert.equal(png.mime, 'image/png');
    assert.equal(png.dataUri, `data:image/png;base64,${PNG.toString('base64')}`);
    assert.equal(firstPlotError(document), undefined);
    // The document is plain data: it survives JSON as it is.
    assert.deepEqual(JSON.parse(JSON.stringify(document)), document);
    assert.deepEqual(
      plotsShowJson(document, 'page.html').plots.map((plot) => plot.sources[0]),
      [
        { label: 'workspace', kind: 'rows', rows: 2 },
        { label: 'workspace', kind: 'rows', rows: 2 },
        { label: 'workspace', kind: 'matrix', rows: 4, classes: 4 },
        { label: 'workspace', kind: 'image', mime: 'image/png', bytes: 8 },
      ],
    );
  });

  void test('overlays sources: one that lacks a file or a column gets an error, the others still draw', async () => {
    const full = {
      'out/loss.csv': LOSS,
      'out/acc.json': ACC,
      'out/classes.csv': CLASSES,
      'out/chart.png': PNG,
    };
    const older = {
      'out/loss.csv': 'epoch,loss\n1,0.95\n',
      'out/acc.json': JSON.stringify([{ step: 1, acc: 'n/a' }]),
      'out/classes.csv': 'truth,guess\ncat,\n',
    };
    const document = await collectPlots({ manifest: manifest() }, [
      memorySource('workspace', full),
      memorySource('exp-1', older),
    ]);
    const errors = document.plots.map((plot) => {
      const source = plot.sources[1]!;
      return source.kind === 'error' ? [source.error.code, source.error.message] : [source.kind, ''];
    });
    assert.deepEqual(errors, [
      [
        'plot-unknown-field',
        'out/loss.csv (exp-1) has no column `val_loss`; its columns are `epoch`, `loss`.',
      ],
      [
        'plot-not-numeric',
        'out/acc.json (exp-1), record 1 (line 1): `acc` is `n/a`, not a number, and the scatter chart draws it on a numeric axis.',
      ],
      [
        'plot-missing-value',
        'out/classes.csv (exp-1), line 2: `guess` is empty, and a confusion matrix counts the class of every row.',
      ],
      ['plot-missing', 'out/chart.png (exp-1) does not exist.'],
    ]);
    for (const plot of document.plots) assert.notEqual(plot.sources[0]!.kind, 'error', plot.id);
    const first = firstPlotError(document);
    assert.ok(first);
    assert.equal(first.plot.id, 'out/loss.csv');
    assert.equal(first.label, 'exp-1');
  });

  void test('an image above the limit and a data file above its own are refused, saying how large', async () => {
    const files = {
      'out/loss.csv': LOSS,
      'out/acc.json': ACC,
      'out/classes.csv': CLASSES,
      'out/chart.png': PNG,
    };
    const document = await collectPlots({ manifest: manifest() }, [memorySource('workspace', files)], {
      maxImageBytes: 4,
      maxDataBytes: 45,
    });
    const codes = document.plots.map((plot) => {
      const source = plot.sources[0]!;
      return source.kind === 'error' ? source.error.message : source.kind;
    });
    assert.deepEqual(codes, [
      'out/loss.csv is 52 B, more than the 45 B a plots page takes for a data file.',
      'rows',
      'matrix',
      'out/chart.png is 8 B, more than the 4 B a plots page takes for an image.',
    ]);
  });
});
