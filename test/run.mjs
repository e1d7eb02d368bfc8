// `npm test`: every check CI relies on, in one place. Static checks first
// (types, lint, format), then the bundle, then every test level in order: the
// engine (engine), the built CLI (cli), the extension's models without VS Code
// (models), the language server over stdio (lsp), the extension inside
// a real VS Code (extension host, in code-server), then the packaged VSIX and
// the UI driven in a browser. The last line is `N passed, N failed`, which CI
// reads; each extension-host and UI test counts as one.
//
// `node test/run.mjs SUBSTRING…` builds and runs only the test files whose path
// contains one of the substrings (and skips the static checks).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const only = process.argv.slice(2);
const npx = (...args) => ['npx', '--no-install', ...args];
const staticSteps = [
  ['typecheck', npx('tsc', '--noEmit', '-p', '.')],
  ['lint', npx('eslint', '--max-warnings', '0', '.')],
  ['format', npx('prettier', '--check', '--log-level', 'warn', '.')],
];
const RESULTS = 'out/test-results';
/** Written by out/test/e2e/extensionHost.js: the suite's counts. */
const EXTENSION_HOST_SUMMARY = join(RESULTS, 'extension-host.json');

let passed = 0;
let failed = 0;

function step(name, argv) {
  const started = Date.now();
  const result = spawnSync(argv[0], argv.slice(1), { stdio: 'inherit' });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (result.status === 0) {
    passed++;
    console.log(`ok - ${name} (${seconds}s)`);
    return true;
  }
  failed++;
  console.log(`not ok - ${name} (${seconds}s)`);
  return false;
}

if (only.length === 0) for (const [name, argv] of staticSteps) step(name, argv);

rmSync('out', { recursive: true, force: true });
if (!step('build', ['node', 'esbuild.config.mjs', '--tests'])) finish();
mkdirSync(RESULTS, { recursive: true });

function testFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith('.test.js') ? [path] : [];
  });
}

function selected(...dirs) {
  return dirs
    .flatMap(testFiles)
    .filter((file) => only.length === 0 || only.some((pattern) => file.includes(pattern)));
}

/** Runs test files with node's test runner and adds its counts. */
function nodeTests(level, files, concurrency) {
  if (files.length === 0) return;
  const tap = join(RESULTS, `${level}.tap`);
  const run = spawnSync(
    process.execPath,
    [
      '--enable-source-maps',
      '--test',
      `--test-concurrency=${concurrency}`,
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=tap',
      `--test-reporter-destination=${tap}`,
      ...files,
    ],
    { stdio: 'inherit' },
  );
  if (existsSync(tap)) {
    const text = readFileSync(tap, 'utf8');
    passed += Number(/^# pass (\d+)/m.exec(text)?.[1] ?? 0);
    failed += Number(/^# fail (\d+)/m.exec(text)?.[1] ?? 0);
    if (run.status !== 0 && !/^# fail [1-9]/m.test(text)) failed++;
  } else if (run.status !== 0) {
    failed++;
  }
}

/**
 * Whether a test file starts a Slurm cluster (it imports the test service):
 * every cluster uses the fixed /etc/slurm/slurm.conf, so those files run one
 * at a time, after the others (the service's lock also makes a second cluster
 * wait, from any worktree).
 */
function startsCluster(file) {
  const source = file.replace(/^out[\\/]/, '').replace(/\.js$/, '.ts');
  return existsSync(source) && /support\/services\/slurm['"]/.test(readFileSync(source, 'utf8'));
}

// The engine, the CLI, the extension's models, and the language server over stdio.
const engineFiles = selected('out/test/engine', 'out/test/cli', 'out/test/models', 'out/test/lsp');
nodeTests(
  'engine-cli-models-lsp',
  engineFiles.filter((file) => !startsCluster(file)),
  2,
);
nodeTests('slurm-cluster', engineFiles.filter(startsCluster), 1);

// The editor levels need code-server and Chromium: installed once into .vscode-test/
// (and with apt as root), a quick no-op afterwards.
const extensionHostFiles = selected('out/test/extension');
const packageAndUiFiles = selected('out/test/e2e', 'out/test/ui');
const editorReady =
  extensionHostFiles.length + packageAndUiFiles.length > 0 &&
  step('editor setup (code-server, Chromium)', ['node', 'out/test/e2e/install.js']);

// The extension-host suite inside code-server, on the development build in dist/.
if (extensionHostFiles.length > 0 && editorReady) {
  rmSync(EXTENSION_HOST_SUMMARY, { force: true });
  const started = Date.now();
  spawnSync(process.execPath, ['--enable-source-maps', 'out/test/e2e/extensionHost.js', ...only], {
    stdio: 'inherit',
  });
  if (existsSync(EXTENSION_HOST_SUMMARY)) {
    const summary = JSON.parse(readFileSync(EXTENSION_HOST_SUMMARY, 'utf8'));
    passed += summary.passed;
    failed += summary.failed;
  } else {
    failed++;
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`not ok - extension host: the suite ended without a result (${seconds}s)`);
  }
}

// The VSIX (packaged now, production bundles), then the UI through it, one browser at a time.
if (packageAndUiFiles.length > 0 && editorReady && step('package', ['npm', 'run', '--silent', 'package'])) {
  nodeTests('package-ui', packageAndUiFiles, 1);
}
finish();

function finish() {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}
