// The VSIX `npm run package` builds: what VS Code needs and nothing else,
// bundled and small. test/run.mjs packages before this level runs; run alone,
// the test packages first.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { packageJson, ROOT, vsixPath } from './paths';
import { packageExtension, readVsix } from './vsix';

/**
 * A ceiling, not a target, there to catch a dependency bundled by accident.
 * The VSIX is about 1.07 MB: the extension, CLI and server bundles (the S3
 * client in the first two), and since issue 15 the plots page with Chart.js
 * (190 KB minified, 66 KB compressed) and the experiments table.
 */
const MAX_VSIX_BYTES = 1280 * 1024;

function filesUnder(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(ROOT.length + 1));
}

interface Manifest {
  readonly version: string;
  readonly main: string;
  readonly contributes: {
    readonly languages: readonly { readonly configuration: string }[];
    readonly grammars: readonly { readonly path: string }[];
    readonly yamlValidation: readonly { readonly url: string }[];
  };
}

void describe('The VSIX from npm run package', () => {
  let vsix: string;
  let files: Map<string, Buffer>;

  before(async () => {
    vsix = vsixPath();
    try {
      statSync(vsix);
    } catch {
      packageExtension();
    }
    files = await readVsix(vsix);
  });

  void test('holds exactly the bundles, the schema, media, grammars, package.json, README and LICENSE', () => {
    const extension = [
      'package.json',
      'readme.md',
      'LICENSE.txt',
      'dist/extension.js',
      'dist/server.js',
      'dist/cli.js',
      'dist/cliMain.js',
      'dist/scanWorker.js',
      'dist/pipelineGraph.js',
      'dist/experiments.js',
      'dist/plots.js',
      'dist/sluice.schema.json',
      ...filesUnder('media'),
      ...filesUnder('syntaxes'),
    ].map((path) => `extension/${path}`);
    assert.deepEqual(
      [...files.keys()].sort(),
      ['[Content_Types].xml', 'extension.vsixmanifest', ...extension].sort(),
    );
  });

  void test('has minified bundles without source maps', () => {
    const bundles = [
      'dist/extension.js',
      'dist/server.js',
      'dist/cli.js',
      'dist/cliMain.js',
      'dist/scanWorker.js',
      'dist/pipelineGraph.js',
      'dist/experiments.js',
      'dist/plots.js',
    ];
    for (const bundle of bundles) {
      const text = files.get(`extension/${bundle}`)!.toString('utf8');
      assert.doesNotMatch(text, /sourceMappingURL/, `${bundle} points at no source map`);
      // esbuild's readable output heads each module with a `// src/…` comment; minified output has none.
      assert.doesNotMatch(text, /^\/\/ (src|node_modules)\//m, `${bundle} is minified`);
    }
  });

  void test('is the version package.json says, and holds every file its package.json names', () => {
    const manifest = JSON.parse(files.get('extension/package.json')!.toString('utf8')) as Manifest;
    assert.equal(manifest.version, packageJson().version);
    const named = [
      manifest.main,
      ...manifest.contributes.languages.map((language) => language.configuration),
      ...manifest.contributes.grammars.map((grammar) => grammar.path),
      ...manifest.contributes.yamlValidation.map((validation) => validation.url),
    ].map((path) => `extension/${path.replace(/^\.\//, '')}`);
    assert.deepEqual(
      named.filter((path) => !files.has(path)),
      [],
    );
  });

  void describe('its bundles, unpacked and run', () => {
    const unpacked = mkdtempSync(join(tmpdir(), 'sluice-vsix-'));
    after(() => {
      rmSync(unpacked, { recursive: true, force: true });
    });
    before(() => {
      mkdirSync(join(unpacked, 'dist'));
      for (const bundle of ['cli.js', 'cliMain.js', 'scanWorker.js'])
        writeFileSync(join(unpacked, 'dist', bundle), files.get(`extension/dist/${bundle}`)!);
    });

    void test('the packaged CLI bundle has no import(): cli.js runs it as a vm script, which has no module loader', () => {
      assert.doesNotMatch(files.get('extension/dist/cliMain.js')!.toString('utf8'), /\bimport\(/);
    });

    void test('the packaged CLI says the version it was built with, with no package.json beside it', () => {
      const printed = execFileSync(process.execPath, [join(unpacked, 'dist', 'cli.js'), '--version'], {
        encoding: 'utf8',
      });
      assert.equal(printed.trim(), `sluice ${packageJson().version}`);
    });

    void test('the packaged scan worker runs on a thread and reads a folder', async () => {
      const folder = join(unpacked, 'data');
      mkdirSync(folder);
      writeFileSync(join(folder, 'a.csv'), 'x\n');
      const worker = new Worker(join(unpacked, 'dist', 'scanWorker.js'));
      try {
        const reply = await new Promise<{ folders?: { names?: string; count?: number }[] }>(
          (resolve, reject) => {
            worker.once('message', resolve);
            worker.once('error', reject);
            worker.postMessage({ id: 0, kind: 'read', root: folder, units: [{ path: '' }], chunk: 100 });
          },
        );
        assert.deepEqual(
          reply.folders?.map((read) => [read.names, read.count]),
          [['a.csv', 1]],
        );
      } finally {
        await worker.terminate();
      }
    });
  });

  void test(`is small (under ${String(MAX_VSIX_BYTES / 1024)} KiB)`, () => {
    const { size } = statSync(vsix);
    assert.ok(size < MAX_VSIX_BYTES, `${vsix} is ${String(size)} bytes`);
  });
});
