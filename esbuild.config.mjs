// Bundles the three entries (extension, language server, CLI) into dist/, and
// the test files into out/test/. Type checking is separate (`npm run typecheck`):
// esbuild only strips types.
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
const withTests = process.argv.includes('--tests');

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
};

/** @type {import('esbuild').BuildOptions} */
const product = {
  ...common,
  entryPoints: {
    extension: 'src/extension/main.ts',
    server: 'src/server/main.ts',
    cli: 'src/cli/main.ts',
  },
  outdir: 'dist',
  external: ['vscode'],
  banner: { js: '#!/usr/bin/env node' },
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
  // mocha is the extension-host runner's own copy: the suites must register with it, not a bundled one.
  external: ['vscode', 'yaml-language-server', 'ajv', 'mocha'],
  sourcemap: 'inline',
};

// The JSON Schema ships beside the bundles, for `contributes.yamlValidation` and other editors.
mkdirSync('dist', { recursive: true });
copyFileSync('src/core/manifest/sluice.schema.json', 'dist/sluice.schema.json');

const builds = withTests ? [product, tests] : [product];
if (watch) {
  for (const options of builds) await (await esbuild.context(options)).watch();
} else {
  await Promise.all(builds.map((options) => esbuild.build(options)));
}
