// `sluice plots show` as a user meets it: a real workspace whose stage writes
// a CSV, a DVC-style JSON, a confusion CSV, a TSV and an SVG; `sluice run`,
// then the built CLI writes the page. The page must be self-contained (no
// remote resource, a CSP whose hashes match its inline code, every source's
// data inside), bad plot files must each be one line naming the file (and the
// line) with exit 1 and no page, and the page must draw in the real Chromium
// without a console error.
import Ajv2020 from 'ajv/dist/2020';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import type { PlotsDocument } from '../../src/core/plots/document';
import { seededRandom } from '../../src/core/seededRandom';
import { launchBrowser } from '../e2e/browser';
import { createEditorProfile } from '../e2e/editorProfile';
import {
  assertOneLineError,
  clearVariablesRefusedBySimpleGit,
  git,
  removeTree,
  ROOT,
  sluice,
} from '../support/workspace';

clearVariablesRefusedBySimpleGit();

/** The stage: writes every plot file from a seed, so the test knows each value. */
const WRITER = `
const fs = require('node:fs');
fs.mkdirSync('out', { recursive: true });
let loss = 'epoch,loss,val_loss\\n';
for (let epoch = 1; epoch <= 30; epoch++) loss += epoch + ',' + (1 / epoch).toFixed(4) + ',' + (1.1 / epoch + 0.05).toFixed(4) + '\\n';
fs.writeFileSync('out/loss.csv', loss);
const train = [];
for (let step = 0; step < 12; step++) train.push({ step, acc: Number((0.5 + step / 30).toFixed(3)) });
fs.writeFileSync('out/acc.json', JSON.stringify({ name: 'run', train }, null, 2));
const classes = ['cat', 'dog', 'bird'];
let confusion = 'truth,guess\\n';
for (let i = 0; i < 45; i++) confusion += classes[i % 3] + ',' + classes[i % 5 === 0 ? (i + 1) % 3 : i % 3] + '\\n';
fs.writeFileSync('out/classes.csv', confusion);
fs.writeFileSync('out/summary.tsv', 'fold\\tprecision\\trecall\\tnote\\n1\\t0.8\\t0.7\\tfirst\\n2\\t0.85\\t0.75\\t"second"\\n3\\t0.9\\t0.72\\tthird\\n');
fs.writeFileSync('out/chart.svg', '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="60"><rect width="120" height="60" fill="#4e79a7"/></svg>');
fs.writeFileSync('metrics.json', JSON.stringify({ accuracy: 0.9 }));
`;

const MANIFEST = `version: 1
name: plotted
pipelines:
  train:
    stages:
      train:
        run: node tools/write.js
        deps: [tools/write.js]
        outs: [out]
        metrics: [metrics.json]
        plots:
          - path: out/loss.csv
            x: epoch
            y: [loss, val_loss]
            title: Loss
          - path: out/acc.json
            template: scatter
            x: step
            y: acc
          - path: out/classes.csv
            template: confusion
            actual: truth
            predicted: guess
          - out/summary.tsv
          - out/chart.svg
`;

const made: string[] = [];
let root: string;
let page: string;
let pristine: Map<string, Buffer>;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'sluice-plots-'));
  made.push(root);
  git(root, 'init', '--quiet');
  git(root, 'config', 'user.name', 'Sluice Test');
  git(root, 'config', 'user.email', 'test@sluice.invalid');
  mkdirSync(join(root, 'tools'));
  writeFileSync(join(root, 'tools/write.js'), WRITER);
  writeFileSync(join(root, 'sluice.yaml'), MANIFEST);
  const run = sluice(['run'], root);
  assert.equal(run.status, 0, run.stderr);
  pristine = new Map(
    readdirSync(join(root, 'out')).map((name) => [name, readFileSync(join(root, 'out', name))]),
  );
  page = join(root, 'report', 'plots.html');
});

after(() => {
  for (const dir of made.splice(0)) removeTree(dir);
});

/** Puts every plot file back as the stage wrote it. */
function restoreFiles(): void {
  for (const [name, content] of pristine) writeFileSync(join(root, 'out', name), content);
}

/** The inline scripts of a page, in order, and its CSP. */
function pageParts(html: string): { scripts: string[]; styles: string[]; policy: string } {
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((match) => match[1]!);
  const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((match) => match[1]!);
  const policy = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1] ?? '';
  return { scripts, styles, policy };
}

const hash = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

function embeddedDocument(html: string): PlotsDocument {
  const data = pageParts(html).scripts[0]!;
  const prefix = 'window.__SLUICE_PLOTS__ = ';
  assert.ok(data.startsWith(prefix) && data.endsWith(';'), 'the first script hands the page its document');
  return JSON.parse(data.slice(prefix.length, -1)) as PlotsDocument;
}

function csvRows(text: string, separator = ','): Record<string, number | string>[] {
  const [header, ...lines] = text.trim().split('\n');
  const names = header!.split(separator);
  return lines.map((line) => {
    const cells = line.split(separator);
    return Object.fromEntries(names.map((name, index) => [name, Number(cells[index])]));
  });
}

void describe('sluice plots show', () => {
  void test('writes one self-contained page holding every source’s data, under a CSP that allows only it', () => {
    const result = sluice(['plots', 'show', '--out', 'report/plots.html'], root);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, 'Wrote 5 plots from workspace to report/plots.html.\n');
    const html = readFileSync(page, 'utf8');
    // Nothing to fetch: no remote address in any src or href, no external script, stylesheet or frame.
    assert.doesNotMatch(html, /\b(?:src|href)\s*=\s*["']?\s*(?:https?:|\/\/)/i);
    assert.doesNotMatch(html, /<script[^>]*\bsrc\s*=/i);
    assert.doesNotMatch(html, /<link\b|<iframe\b|@import/i);
    const { scripts, styles, policy } = pageParts(html);
    assert.equal(scripts.length, 2, 'the data and the page script, both inline');
    assert.equal(styles.length, 1);
    assert.match(policy, /^default-src 'none'; img-src data:; /);
    assert.match(policy, /base-uri 'none'; form-action 'none'$/);
    // The CSP names exactly the page's own inline code by hash: nothing else may run.
    assert.ok(policy.includes(`style-src ${hash(styles[0]!)};`), policy);
    assert.ok(policy.includes(`script-src ${hash(scripts[0]!)} ${hash(scripts[1]!)};`), policy);
    assert.ok(scripts[1]!.length > 100_000, 'Chart.js is inlined in the page script');
    assert.doesNotMatch(scripts[1]!, /sourceMappingURL/);

    const document = embeddedDocument(html);
    assert.deepEqual(document.sources, ['workspace']);
    assert.deepEqual(
      document.plots.map((plot) => [plot.id, plot.template]),
      [
        ['out/loss.csv', 'line'],
        ['out/acc.json', 'scatter'],
        ['out/classes.csv', 'confusion'],
        ['out/summary.tsv', 'line'],
        ['out/chart.svg', 'image'],
      ],
    );
    const [loss, acc, classes, summary, chart] = document.plots.map((plot) => plot.sources[0]!);
    assert.ok(loss?.kind === 'rows' && acc?.kind === 'rows' && summary?.kind === 'rows');
    assert.deepEqual(loss.rows, csvRows(pristine.get('loss.csv')!.toString()));
    const train = (JSON.parse(pristine.get('acc.json')!.toString()) as { train: unknown[] }).train;
    assert.deepEqual(acc.rows, train);
    // Defaults: the first column across every numeric other (`note` is text).
    assert.deepEqual(document.plots[3]!.fields.y, ['precision', 'recall']);
    assert.deepEqual(summary.rows, [
      { fold: 1, precision: 0.8, recall: 0.7 },
      { fold: 2, precision: 0.85, recall: 0.75 },
      { fold: 3, precision: 0.9, recall: 0.72 },
    ]);
    assert.ok(classes?.kind === 'matrix');
    assert.deepEqual(classes.labels, ['bird', 'cat', 'dog']);
    assert.equal(classes.total, 45);
    assert.equal(
      classes.counts.flat().reduce((sum, count) => sum + count, 0),
      45,
    );
    assert.ok(chart?.kind === 'image');
    assert.equal(chart.dataUri, `data:image/svg+xml;base64,${pristine.get('chart.svg')!.toString('base64')}`);
  });

  void test('--json prints the page and counts per source, valid against its schema', () => {
    const result = sluice(['plots', 'show', 'workspace', '--out', 'report/plots.html', '--json'], root);
    assert.equal(result.status, 0, result.stderr);
    const json = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.equal(schemaProblems(json), '');
    assert.equal(json['out'], 'report/plots.html');
    const plots = json['plots'] as { id: string; sources: Record<string, unknown>[] }[];
    assert.deepEqual(
      plots.map((plot) => plot.sources[0]),
      [
        { label: 'workspace', kind: 'rows', rows: 30 },
        { label: 'workspace', kind: 'rows', rows: 12 },
        { label: 'workspace', kind: 'matrix', rows: 45, classes: 3 },
        { label: 'workspace', kind: 'rows', rows: 3 },
        {
          label: 'workspace',
          kind: 'image',
          mime: 'image/svg+xml',
          bytes: pristine.get('chart.svg')!.length,
        },
      ],
    );
  });

  void test('usage: no --out, another subcommand, or a revision that names nothing is exit 2, one line', () => {
    assertOneLineError(sluice(['plots', 'show'], root), 2, '--out FILE.html');
    assertOneLineError(sluice(['plots', 'shwo', '--out', 'x.html'], root), 2, "Did you mean 'plots show'?");
    const unknown = sluice(['plots', 'show', 'exp-1', '--out', 'x.html', '--json'], root);
    assertOneLineError(unknown, 2, "'exp-1'", 'sluice exp list');
    const json = JSON.parse(unknown.stdout) as { error: { code: string; data: { revision: string } } };
    assert.equal(json.error.code, 'unknown-revision');
    assert.equal(json.error.data.revision, 'exp-1');
    assert.equal(schemaProblems(json), '');
    assert.equal(existsSync(join(root, 'x.html')), false);
  });

  void test('every bad plot file is exit 1, one line naming the file and line, and no page written', () => {
    const random = seededRandom(20261215);
    const pick = (below: number): number => Math.floor(random() * below);
    const lossLines = pristine.get('loss.csv')!.toString().trimEnd().split('\n');
    /** loss.csv with line `at` (1-based, past the header) replaced. */
    const lossWith = (at: number, line: string): string =>
      [...lossLines.slice(0, at - 1), line, ...lossLines.slice(at)].join('\n') + '\n';
    const variants: { what: string; file: string; content: string | null; mentions: string[] }[] = [
      { what: 'missing', file: 'loss.csv', content: null, mentions: ['out/loss.csv does not exist'] },
      { what: 'empty', file: 'loss.csv', content: '', mentions: ['out/loss.csv is empty'] },
      {
        what: 'header only',
        file: 'classes.csv',
        content: 'truth,guess\n',
        mentions: ['out/classes.csv has a header'],
      },
      {
        what: 'JSON not an array',
        file: 'acc.json',
        content: '{"step": 1}',
        mentions: ['out/acc.json holds an object'],
      },
      {
        what: 'JSON a number',
        file: 'acc.json',
        content: '3',
        mentions: ['out/acc.json holds the number 3'],
      },
      {
        what: 'JSON broken',
        file: 'acc.json',
        content: '{"train": [\n{"step": 1, "acc": 0.5},\n{"step": 2 "acc": 0.6}\n]}',
        mentions: ['out/acc.json, line 3: not valid JSON'],
      },
      {
        what: 'a field not present',
        file: 'acc.json',
        content: JSON.stringify([{ step: 1, accuracy: 0.5 }]),
        mentions: ['out/acc.json has no column `acc`', '`step`, `accuracy`'],
      },
      {
        what: 'TSV without a numeric column',
        file: 'summary.tsv',
        content: 'fold\tnote\n1\tfirst\n',
        mentions: ['out/summary.tsv has no column of numbers'],
      },
    ];
    // Generated: bad quoting and text in a numeric column, each on a line chosen at random.
    for (let trial = 0; trial < 3; trial++) {
      const at = 2 + pick(lossLines.length - 1);
      const [epoch, value] = lossLines[at - 1]!.split(',');
      variants.push(
        {
          what: `an unclosed quote on line ${at}`,
          file: 'loss.csv',
          content: lossWith(at, `${epoch!},"${value!},0.1`),
          mentions: [`out/loss.csv, line ${at}: a quoted field starts here and is never closed`],
        },
        {
          what: `a quote inside a field on line ${at}`,
          file: 'loss.csv',
          content: lossWith(at, `${epoch!},0"5,0.1`),
          mentions: [`out/loss.csv, line ${at}: a quote inside a field`],
        },
        {
          what: `text in a numeric column on line ${at}`,
          file: 'loss.csv',
          content: lossWith(at, `${epoch!},${value!},n/a`),
          mentions: [`out/loss.csv, line ${at}: \`val_loss\` is \`n/a\`, not a number`],
        },
      );
    }
    const before = readFileSync(page);
    for (const variant of variants) {
      restoreFiles();
      const target = join(root, 'out', variant.file);
      if (variant.content === null) rmSync(target);
      else writeFileSync(target, variant.content);
      const fresh = join(root, 'report', 'fresh.html');
      const result = sluice(['plots', 'show', '--out', 'report/fresh.html'], root);
      assertOneLineError(result, 1, ...variant.mentions);
      assert.equal(result.stdout, '', variant.what);
      assert.equal(existsSync(fresh), false, `${variant.what}: no page`);
      // Over an existing page, the page stays as it was: it is written whole or not at all.
      const over = sluice(['plots', 'show', '--out', 'report/plots.html', '--json'], root);
      assert.equal(over.status, 1, variant.what);
      const json = JSON.parse(over.stdout) as { out: null; error: { data: { file: string } } };
      assert.equal(schemaProblems(json), '', variant.what);
      assert.equal(json.out, null);
      assert.equal(json.error.data.file, `out/${variant.file}`);
      assert.ok(readFileSync(page).equals(before), `${variant.what}: the earlier page is untouched`);
    }
    restoreFiles();
    assert.deepEqual(
      readdirSync(join(root, 'report')).filter((name) => name.endsWith('.tmp')),
      [],
      'no temporary file is left behind',
    );
  });
});

void describe('the page in Chromium', () => {
  let scratch: string;
  let browser: Browser;

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'sluice-plots-browser-'));
    made.push(scratch);
    browser = await launchBrowser(createEditorProfile(join(scratch, 'profile')));
  });

  after(async () => {
    await browser.close();
  });

  void test('draws a canvas per chart and the image, with no console error, no request, and keyboard focus', async () => {
    if (!existsSync(page) || statSync(page).size === 0) {
      const result = sluice(['plots', 'show', '--out', 'report/plots.html'], root);
      assert.equal(result.status, 0, result.stderr);
    }
    const tab = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const problems: string[] = [];
    tab.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
    });
    tab.on('pageerror', (error) => problems.push(error.message));
    tab.on('request', (request) => {
      if (!/^(file|data):/.test(request.url())) problems.push(`request ${request.url()}`);
    });
    await tab.goto(`file://${page}`);
    await tab.locator('figure.plot canvas').nth(3).waitFor({ state: 'attached', timeout: 10_000 });
    await tab.locator('figure.plot img').waitFor({ state: 'visible', timeout: 10_000 });
    const drawn = await tab.evaluate(() =>
      Array.from(document.querySelectorAll('figure.plot')).map((figure) => ({
        id: figure.getAttribute('data-plot'),
        tabindex: figure.getAttribute('tabindex'),
        caption: document.getElementById(figure.getAttribute('aria-labelledby') ?? '')?.textContent ?? '',
        canvases: Array.from(figure.querySelectorAll('canvas')).map((canvas) => {
          const context = canvas.getContext('2d')!;
          const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
          let painted = 0;
          let coloured = 0;
          for (let at = 0; at < data.length; at += 4) {
            if (data[at + 3]! === 0) continue;
            painted++;
            // Axes, grid and text are grey; series, points, bars and cells are in colour.
            const [r, g, b] = [data[at]!, data[at + 1]!, data[at + 2]!];
            if (Math.max(r, g, b) - Math.min(r, g, b) > 60) coloured++;
          }
          return { painted, coloured, label: canvas.getAttribute('aria-label') ?? '' };
        }),
        images: Array.from(figure.querySelectorAll('img')).map((image) => image.naturalWidth),
        errors: Array.from(figure.querySelectorAll('.error')).map((error) => error.textContent),
      })),
    );
    assert.deepEqual(
      drawn.map((figure) => [figure.id, figure.canvases.length, figure.images, figure.errors]),
      [
        ['out/loss.csv', 1, [], []],
        ['out/acc.json', 1, [], []],
        ['out/classes.csv', 1, [], []],
        ['out/summary.tsv', 1, [], []],
        ['out/chart.svg', 0, [120], []],
      ],
    );
    for (const figure of drawn) {
      assert.equal(figure.tabindex, '0', `${figure.id ?? ''} is focusable`);
      assert.ok(
        figure.caption.startsWith(figure.id === 'out/loss.csv' ? 'Loss' : figure.id!),
        figure.caption,
      );
      for (const canvas of figure.canvases) {
        assert.ok(canvas.painted > 0, `${figure.id ?? ''}: the canvas is not blank`);
        // The data drew, not only the axes: pixels in colour, where axes, grid and text have none.
        assert.ok(canvas.coloured > 100, `${figure.id ?? ''}: ${canvas.coloured} pixels in colour`);
        assert.ok(canvas.label.length > 20, `${figure.id ?? ''} describes itself: ${canvas.label}`);
      }
    }
    assert.match(
      drawn[0]!.canvases[0]!.label,
      /^Line chart of loss, val_loss against epoch\. 30 points, last loss 0\.0333, val_loss 0\.0867\.$/,
    );
    assert.match(drawn[2]!.canvases[0]!.label, /3 classes, \d+ of 45 rows on the diagonal/);
    await tab.keyboard.press('Tab');
    assert.equal(
      await tab.evaluate(() => document.activeElement?.getAttribute('data-plot')),
      'out/loss.csv',
      'Tab reaches the first chart',
    );
    assert.deepEqual(problems, []);
    await tab.close();
  });
});

const ajv = new Ajv2020({ allErrors: true, strict: true });
for (const name of ['error', 'plots'])
  ajv.addSchema(
    JSON.parse(readFileSync(join(ROOT, `src/cli/schemas/${name}.schema.json`), 'utf8')) as object,
  );

function schemaProblems(value: unknown): string {
  const validate = ajv.getSchema('https://sluice.dev/schemas/v1/plots.json')!;
  return validate(value) ? '' : ajv.errorsText(validate.errors);
}
