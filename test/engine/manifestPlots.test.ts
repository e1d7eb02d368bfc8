// A stage's `plots:` in the manifest: the diagnostics beyond the schema (a
// path leaving the workspace, lexically or through a link; a field the
// template needs or ignores; a file Sluice cannot plot; a plot no stage
// writes), the plan built from it, and the workspace source refusing a link
// that leads out even when validation is bypassed.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { analyzeManifest } from '../../src/core/manifest';
import type { ManifestDiagnostic } from '../../src/core/manifest/diagnostics';
import { documentLinks, hover } from '../../src/core/manifest/navigation';
import { DiskProbe } from '../../src/core/paths';
import { planWorkspace } from '../../src/core/pipelines/plan';
import { collectPlots } from '../../src/core/plots/collect';
import { workspaceSource } from '../../src/core/plots/sources';
import { seededRandom } from '../../src/core/seededRandom';
import { removeTree } from '../support/workspace';

const made: string[] = [];
after(() => {
  for (const dir of made.splice(0)) removeTree(dir);
});

/** A manifest whose one stage writes `out/` and `metrics.json` and declares `plots` (YAML lines under `plots:`). */
function manifestWith(plots: string): string {
  return `version: 1
pipelines:
  train:
    stages:
      train:
        run: node train.js
        outs: [out]
        metrics: [metrics.json]
        plots:
${plots}`;
}

function diagnose(text: string, root?: string): readonly ManifestDiagnostic[] {
  return analyzeManifest(text, root === undefined ? {} : { probe: new DiskProbe(root) }).diagnostics;
}

/** [code, severity, the text the diagnostic points at] for each diagnostic. */
function found(text: string, root?: string): [string, string, string][] {
  return diagnose(text, root).map((d) => [d.code, d.severity, text.slice(d.start, d.end)]);
}

void describe('plots in the manifest', () => {
  void test('plain paths and mappings of every template, inside the outputs, are clean', () => {
    const text = manifestWith(`          - out/loss.csv
          - out/chart.PNG
          - metrics.json
          - path: out/acc.json
            template: bar
            x: class
            y: [precision, recall]
            title: Per class
            x_label: class
            y_label: score
          - path: out/loss.tsv
            y: loss
          - path: out/classes.csv
            template: confusion
            actual: truth
            predicted: guess
            title: Confusions
`);
    assert.deepEqual(found(text), []);
  });

  void test('a plot path that leaves the workspace is an error, like every other path', () => {
    const text = manifestWith(`          - ../elsewhere/loss.csv
          - path: /etc/loss.csv
`);
    assert.deepEqual(found(text), [
      ['path-escapes-workspace', 'error', '../elsewhere/loss.csv'],
      ['path-escapes-workspace', 'error', '/etc/loss.csv'],
    ]);
    assert.match(
      diagnose(text)[0]!.message,
      /The plot of stage `train`, `\.\.\/elsewhere\/loss\.csv`, climbs out/,
    );
  });

  void test('a plot path that leads out through a link is an error when the disk is looked at', () => {
    const root = mkdtempSync(join(tmpdir(), 'sluice-plots-manifest-'));
    made.push(root);
    const outside = mkdtempSync(join(tmpdir(), 'sluice-plots-outside-'));
    made.push(outside);
    mkdirSync(join(root, 'out'));
    symlinkSync(outside, join(root, 'out', 'linked'));
    const text = manifestWith('          - out/linked/loss.csv\n');
    assert.deepEqual(found(text, root), [['path-escapes-workspace', 'error', 'out/linked/loss.csv']]);
  });

  void test('a field the template needs and lacks is an error; one it ignores a warning', () => {
    const text = manifestWith(`          - path: out/classes.csv
            template: confusion
            actual: truth
            x: step
            y: loss
          - path: out/loss.csv
            x: step
          - path: out/loss.csv
            template: line
            x: step
            y: loss
            predicted: guess
          - path: out/chart.png
            title: Fine
            x: step
`);
    assert.deepEqual(found(text), [
      ['plot-field-missing', 'error', 'confusion'],
      ['plot-field-unused', 'warning', 'x'],
      ['plot-field-unused', 'warning', 'y'],
      ['plot-field-missing', 'error', 'step'],
      ['plot-field-unused', 'warning', 'predicted'],
      ['plot-field-unused', 'warning', 'x'],
    ]);
    const messages = diagnose(text).map((d) => d.message);
    assert.equal(
      messages[0],
      'Plot `out/classes.csv` of stage `train` is a confusion matrix without `predicted`: name the columns holding the true and the predicted class (`actual: label`, `predicted: prediction`).',
    );
    assert.match(
      messages[1]!,
      /drawn as `confusion`, which does not use `x` \(it counts `actual` against `predicted`\)/,
    );
    assert.match(messages[3]!, /draws `x: step` against nothing: add `y:`/);
    assert.match(messages[5]!, /is an image, shown as it is: `x` has no effect/);
  });

  void test('a file Sluice cannot plot is an error naming the extensions it can', () => {
    const text = manifestWith('          - out/report.txt\n          - out/noextension\n');
    assert.deepEqual(found(text), [
      ['plot-unknown-format', 'error', 'out/report.txt'],
      ['plot-unknown-format', 'error', 'out/noextension'],
    ]);
    assert.match(diagnose(text)[0]!.message, /\.png, \.jpg, \.jpeg, \.svg, \.gif, \.csv, \.tsv, \.json/);
  });

  void test('a plot no stage declares as an out or metrics file, nor inside one, is a warning', () => {
    const text = `version: 1
pipelines:
  train:
    stages:
      prepare:
        run: node prepare.js
        outs: [data/prepared]
        plots: [reports/loss.csv, data/prepared/rows.csv]
      evaluate:
        run: node evaluate.js
        outs: [reports/eval.html]
        plots: [reports/eval.html.png, data/prepared/hist.png]
`;
    assert.deepEqual(found(text), [
      ['plot-not-an-output', 'warning', 'reports/loss.csv'],
      ['plot-not-an-output', 'warning', 'reports/eval.html.png'],
    ]);
    assert.match(diagnose(text)[0]!.message, /Add it to the `outs` or `metrics` of the stage that writes it/);
  });

  void test('the plan carries each stage’s plots with their kind, template and fields', () => {
    const { manifest } = analyzeManifest(
      manifestWith(`          - ./out//loss.csv
          - out/chart.svg
          - path: out/acc.json
            template: scatter
            y: [acc, acc]
          - path: out/classes.csv
            template: confusion
            actual: truth
            predicted: guess
`),
    );
    const stage = planWorkspace(manifest).pipelines.get('train')!.stages[0]!;
    assert.deepEqual(
      stage.plots.map((plot) => [plot.path, plot.file.kind, plot.template, plot.x, plot.y, plot.defaults]),
      [
        ['out/loss.csv', 'data', 'line', undefined, [], true],
        ['out/chart.svg', 'image', 'image', undefined, [], true],
        ['out/acc.json', 'data', 'scatter', undefined, ['acc'], false],
        ['out/classes.csv', 'data', 'confusion', undefined, [], true],
      ],
    );
    assert.deepEqual([stage.plots[3]!.actual, stage.plots[3]!.predicted], ['truth', 'guess']);
  });
});

void describe('plots in the editor', () => {
  void test('hover documents `plots` and each plot key from the schema; a plot file on disk is a link', () => {
    const root = mkdtempSync(join(tmpdir(), 'sluice-plots-hover-'));
    made.push(root);
    mkdirSync(join(root, 'out'));
    writeFileSync(join(root, 'out', 'classes.csv'), 'truth,guess\ncat,dog\n');
    const text = manifestWith(`          - path: out/classes.csv
            template: confusion
            actual: truth
            predicted: guess
          - out/missing.png
`);
    const analysis = analyzeManifest(text, { probe: new DiskProbe(root) });
    const docOf = (word: string): string => hover(analysis, text.indexOf(word) + 1)?.markdown ?? '';
    assert.match(docOf('plots:'), /^\*\*plots\*\*\n\nCharts and images of what this stage writes/);
    assert.match(docOf('template:'), /`line` \(default\), `scatter`, `bar`, or `confusion`/);
    assert.match(docOf('actual:'), /the column holding the true class/);
    assert.match(docOf('train:\n        run'), /plots `out\/classes\.csv`, `out\/missing\.png`/);
    assert.deepEqual(
      documentLinks(analysis)
        .map((link) => link.target)
        .filter((target) => target.startsWith('out/')),
      ['out/classes.csv'],
    );
  });
});

void describe('plot paths, generated, with validation bypassed', () => {
  /** Spellings of a path that leaves the workspace. */
  const ESCAPES = ['..', '../x', 'out/../../x', '/etc', '/tmp/x', '~/x', 'C:\\x', './../x'];
  const EXTENSIONS = ['.csv', '.json', '.tsv', '.png', '.svg'];

  void test('every spelling that leaves the workspace is an error in validate', () => {
    const random = seededRandom(20261215);
    for (let trial = 0; trial < 60; trial++) {
      const path = `${ESCAPES[Math.floor(random() * ESCAPES.length)]!}/plot${trial}${EXTENSIONS[trial % EXTENSIONS.length]!}`;
      const mapping = random() < 0.5;
      const text = manifestWith(
        mapping ? `          - path: ${JSON.stringify(path)}\n` : `          - ${JSON.stringify(path)}\n`,
      );
      const codes = diagnose(text).map((d) => d.code);
      assert.ok(codes.includes('path-escapes-workspace'), `${path}: ${codes.join(', ')}`);
    }
  });

  void test('the workspace source refuses a link that leads out, and reads what stays inside', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sluice-plots-links-'));
    made.push(root);
    const outside = mkdtempSync(join(tmpdir(), 'sluice-plots-secret-'));
    made.push(outside);
    writeFileSync(join(outside, 'secret.csv'), 'a,b\n1,2\n');
    mkdirSync(join(root, 'out'));
    writeFileSync(join(root, 'out', 'inside.csv'), 'a,b\n1,2\n');
    symlinkSync(join(outside, 'secret.csv'), join(root, 'out', 'file-link.csv'));
    symlinkSync(outside, join(root, 'out', 'folder-link'));
    symlinkSync('inside.csv', join(root, 'out', 'near.csv'));
    // Analysed without the disk, as a cached model is: the source is what refuses.
    const { manifest } = analyzeManifest(
      manifestWith(
        '          - out/file-link.csv\n          - out/folder-link/secret.csv\n          - out/near.csv\n          - out/inside.csv\n',
      ),
    );
    const document = await collectPlots({ manifest }, [workspaceSource({ root })]);
    assert.deepEqual(
      document.plots.map((plot) => {
        const source = plot.sources[0]!;
        return source.kind === 'error' ? source.error.code : source.kind;
      }),
      ['path-escapes-workspace', 'path-escapes-workspace', 'rows', 'rows'],
    );
  });
});
