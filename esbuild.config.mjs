// Bundles the three entries (extension, language server, CLI) and the webview
// scripts (pipeline graph, experiments) into dist/, and the test files into out/test/. Type
// checking is separate (`npm run typecheck`): esbuild only strips types.
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
const withTests = process.argv.includes('--tests');

/** Injected into every bundle (src/core/build.ts): no bundle reads package.json at run time. */
const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
const define = { SLUICE_VERSION: JSON.stringify(version) };

const common = {
  define,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
};

/**
 * esbuild writes strings, names and patterns in ASCII (its default charset)
 * but keeps the comments it carries as they are, and one `→` in a comment
 * makes Node read a whole bundle as a two-byte string: decoding dist/cliMain.js
 * then took longer than the rest of reading it, on every `sluice` start.
 * Escaped, a comment says the same.
 * @type {import('esbuild').Plugin}
 */
const asciiBundles = {
  name: 'ascii-bundles',
  setup(build) {
    build.onEnd((result) => {
      if (result.errors.length > 0) return;
      for (const name of Object.keys(build.initialOptions.entryPoints)) {
        const file = join(build.initialOptions.outdir, `${name}.js`);
        const text = readFileSync(file, 'utf8');
        const ascii = text.replace(
          /[\u0080-\uffff]/g,
          (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
        );
        if (ascii !== text) writeFileSync(file, ascii);
      }
    });
  },
};

/** @type {import('esbuild').BuildOptions} */
const product = {
  ...common,
  entryPoints: {
    extension: 'src/extension/main.ts',
    server: 'src/server/main.ts',
    // dist/cli.js (the `sluice` command) loads dist/cliMain.js with V8's code cache (start.ts).
    cli: 'src/cli/start.ts',
    cliMain: 'src/cli/main.ts',
    // What each worker thread of a WorkerPool runs (src/core/store/workerPool.ts loads it by name).
    scanWorker: 'src/core/store/scanWorker.ts',
  },
  outdir: 'dist',
  external: ['vscode'],
  banner: { js: '#!/usr/bin/env node' },
  // import() becomes require(): cli.js runs cliMain.js as a vm script (for V8's
  // code cache), which has no module loader, and the AWS SDK imports node:http
  // that way when it asks an instance's metadata service for credentials.
  supported: { 'dynamic-import': false },
  plugins: [asciiBundles],
};

/**
 * The pages' scripts: the pipeline graph's, with dagre inside, the plots
 * page's, with Chart.js inside, and the Experiments table's: a webview loads only
 * local files under its Content-Security-Policy, so nothing comes from a CDN.
 * @type {import('esbuild').BuildOptions}
 */
const webview = {
  bundle: true,
  platform: 'browser',
  target: 'es2022',
  format: 'iife',
  define,
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  entryPoints: {
    pipelineGraph: 'src/extension/pipelines/graph/webview.ts',
    experiments: 'src/extension/experiments/webview.ts',
    // The plots page, with Chart.js inside: `sluice plots show` inlines it into the HTML it writes.
    plots: 'src/extension/plots/page.ts',
  },
  outdir: 'dist',
};

function testEntries(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'fixtures' ? [] : testEntries(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** @type {import('esbuild').BuildOptions} */
const tests = {
  ...common,
  entryPoints: testEntries('test'),
  outdir: 'out/test',
  outbase: 'test',
  // Loaded from node_modules at run time: `vscode` is the extension host's own
  // module, and `mocha` must be one instance shared by test/extension/index.ts
  // and every extension-host test file (each bundle would carry its own
  // otherwise, and describe/it would register nowhere). The others are big
  // tools used as they are.
  external: [
    'vscode',
    'mocha',
    'yaml-language-server',
    'ajv',
    'playwright-core',
    '@vscode/test-electron',
    'yauzl',
    'eslint',
  ],
  sourcemap: 'inline',
};

// The JSON Schema ships beside the bundles, for `contributes.yamlValidation` and other editors.
mkdirSync('dist', { recursive: true });
copyFileSync('src/core/manifest/sluice.schema.json', 'dist/sluice.schema.json');

/**
 * The worker bundle once more for the tests, at out/test/scanWorker.js: a test
 * bundle in out/test/<group>/ finds it in the folder above its own.
 * @type {import('esbuild').BuildOptions}
 */
const testWorker = {
  ...common,
  entryPoints: { scanWorker: 'src/core/store/scanWorker.ts' },
  outdir: 'out/test',
};

const builds = withTests ? [product, webview, tests, testWorker] : [product, webview];
if (watch) {
  for (const options of builds) await (await esbuild.context(options)).watch();
} else {
  await Promise.all(builds.map((options) => esbuild.build(options)));
}
