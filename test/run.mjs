// `npm test`: every check CI relies on, in one place. Static checks first
// (types, lint, format), then the bundle, then every test level that exists.
// The last line is `N passed, N failed`, which CI reads.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const only = process.argv.slice(2); // optional: test file substrings to run
const npx = (...args) => ['npx', '--no-install', ...args];
const staticSteps = [
  ['typecheck', npx('tsc', '--noEmit', '-p', '.')],
  ['lint', npx('eslint', '--max-warnings', '0', '.')],
  ['format', npx('prettier', '--check', '--log-level', 'warn', '.')],
];

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

function testFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith('.test.js') ? [path] : [];
  });
}

// Levels in order: engine and CLI (unit), language server over stdio (lsp).
const files = ['out/test/unit', 'out/test/lsp']
  .flatMap(testFiles)
  .filter((file) => only.length === 0 || only.some((pattern) => file.includes(pattern)));
const tap = 'out/test-results.tap';
const run = spawnSync(
  process.execPath,
  [
    '--enable-source-maps',
    '--test',
    '--test-concurrency=2',
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
finish();

function finish() {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}
