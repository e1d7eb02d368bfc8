// Issue 12: what a manifest may not do to its repository, and how much of a
// manifest Sluice agrees to read. Outputs and deploy folders that name .git,
// .sluice, the manifest, the params file, a dataset or a stage's own deps are
// errors in validate, and the runner and deploy refuse them again on their
// own; manifests past the size, depth and node limits are refused at once.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { SluiceError } from '../../src/core/errors';
import { analyzeManifest, type ManifestDiagnostic } from '../../src/core/manifest';
import { deployRelease } from '../../src/core/environments/deploy';
import type { Release } from '../../src/core/environments/releases';
import { openPipelines } from '../../src/core/pipelines/context';
import { runPipelines } from '../../src/core/pipelines/runner';
import { DiskProbe } from '../../src/core/paths';
import { openWorkspace } from '../../src/core/workspace';
import {
  assertOneLineError,
  clearVariablesRefusedBySimpleGit,
  git,
  removeTree,
  sluice,
} from '../support/workspace';
import {
  gitWorkspace as sharedGitWorkspace,
  listing,
  protectedFixture,
  stageManifest,
} from '../support/hostileManifests';

clearVariablesRefusedBySimpleGit();

const roots: string[] = [];
after(() => {
  for (const root of roots) removeTree(root);
});

function tempRoot(prefix = 'sluice-safety-'): string {
  const root = mkdtempSync(join(tmpdir(), prefix));
  roots.push(root);
  return root;
}

function analyzeIn(root: string, text: string): readonly ManifestDiagnostic[] {
  return analyzeManifest(text, { probe: new DiskProbe(root) }).diagnostics;
}

function only(diagnostics: readonly ManifestDiagnostic[], code: string): ManifestDiagnostic[] {
  return diagnostics.filter((d) => d.code === code);
}

void describe('outputs that would unmake the repository are errors (validate, server)', () => {
  const root = protectedFixture(tempRoot());
  const cases: [string, string][] = [
    ['.git', 'protected-output'],
    ['.git/hooks', 'protected-output'],
    ['./.git', 'protected-output'],
    ['a/../.git', 'protected-output'],
    ['.GIT/hooks/pre-commit', 'protected-output'],
    ['.git.', 'protected-output'],
    ['vendor/lib/.git/config', 'protected-output'],
    ['.sluice', 'protected-output'],
    ['.sluice/objects', 'protected-output'],
    ['sluice.yaml', 'protected-output'],
    ['./Sluice.YAML', 'protected-output'],
    ['params.yaml', 'protected-output'],
    ['.', 'protected-output'],
    ['data', 'output-in-dataset'],
    ['data/raw/part.csv', 'output-in-dataset'],
    ['src/prepare.js', 'output-overlaps-dep'],
    ['src', 'output-overlaps-dep'],
  ];
  for (const [output, code] of cases) {
    void test(`outs: [${output}] is ${code}, on the entry itself`, () => {
      const text = stageManifest({ outs: [output] });
      const found = only(analyzeIn(root, text), code);
      assert.equal(found.length, 1, `${output}: ${JSON.stringify(analyzeIn(root, text))}`);
      const start = text.indexOf(`outs: [${output}]`) + 'outs: ['.length;
      assert.deepEqual([found[0]!.start, found[0]!.end], [start, start + output.length]);
      assert.equal(found[0]!.severity, 'error');
      assert.match(found[0]!.message, /write|elsewhere/);
    });
  }

  void test('a metrics file is an output too', () => {
    const found = only(analyzeIn(root, stageManifest({ metrics: ['.git/config'] })), 'protected-output');
    assert.equal(found.length, 1);
    assert.match(found[0]!.message, /`\.git`, a git repository/);
  });

  void test('an output reaching .git through a link on disk is an error naming where it leads', () => {
    const linked = protectedFixture(tempRoot());
    symlinkSync('.git', join(linked, 'gitlink'));
    const found = only(analyzeIn(linked, stageManifest({ outs: ['gitlink/hooks'] })), 'protected-output');
    assert.equal(found.length, 1);
    assert.match(found[0]!.message, /through a link, it leads to `\.git\/hooks`/);
  });

  void test('ordinary outputs are fine', () => {
    const diagnostics = analyzeIn(
      root,
      stageManifest({ outs: ['out/model.json', 'gitignored', '.github/x'] }),
    );
    const errors = diagnostics.filter((d) => d.severity === 'error');
    assert.deepEqual(errors, []);
  });
});

void describe('deploy folders that would fill the repository are errors', () => {
  const root = protectedFixture(tempRoot());
  for (const path of [
    '.git',
    '.git/deploy',
    '.sluice/x',
    '.',
    './',
    'sluice.yaml',
    'data/raw',
    'data',
    'src',
    'src/deploy',
    'out',
  ]) {
    void test(`deploy.path: ${path}`, () => {
      const text = stageManifest({ outs: ['out/model.json'], deploy: path });
      const found = only(analyzeIn(root, text), 'protected-deploy-path');
      assert.equal(found.length, 1, `${path}: ${JSON.stringify(analyzeIn(root, text))}`);
      const start = text.lastIndexOf(`path: ${path}`) + 'path: '.length;
      assert.deepEqual([found[0]!.start, found[0]!.end], [start, start + path.length]);
      assert.match(found[0]!.message, /a folder of its own/);
    });
  }

  void test('deploy/production is fine', () => {
    const text = stageManifest({ outs: ['out/model.json'], deploy: 'deploy/production' });
    assert.deepEqual(only(analyzeIn(root, text), 'protected-deploy-path'), []);
  });
});

void describe('params, templates', () => {
  const root = protectedFixture(tempRoot());

  void test('a param the existing params file lacks is an error', () => {
    const found = only(
      analyzeIn(root, stageManifest({ outs: ['out/x'], params: ['train.missing'] })),
      'unknown-param',
    );
    assert.equal(found.length, 1);
    assert.equal(found[0]!.severity, 'error');
  });

  void test('a missing params file stays what it was: a missing-params-file warning', () => {
    const bare = tempRoot();
    const diagnostics = analyzeIn(bare, stageManifest({ outs: ['out/x'], params: ['train.missing'] }));
    assert.deepEqual(only(diagnostics, 'unknown-param'), []);
    assert.equal(only(diagnostics, 'missing-params-file')[0]?.severity, 'warning');
  });

  // `${…}` is Sluice's before it is the shell's, quoted or not (as in DVC); `\${` hands the shell a `${`.
  for (const [run, diagnosed] of [
    ['echo ${params.epochs} > out/x', true],
    ['"echo \\"${HOME}\\" > out/x"', true],
    ["'echo ${HOME} > out/x'", true],
    ["echo '${HOME}' > out/x", true],
    ['echo $HOME > out/x', false],
    ['echo \\${HOME} > out/x', false],
    ['echo ${train.epochs} > out/x', false],
  ] as const) {
    void test(`run: ${run} is ${diagnosed ? '' : 'not '}an unknown-template-name error`, () => {
      const text = stageManifest({ outs: ['out/x'], run });
      const found = only(analyzeIn(root, text), 'unknown-template-name');
      assert.equal(found.length, diagnosed ? 1 : 0, JSON.stringify(found));
      if (!diagnosed) return;
      assert.equal(found[0]!.severity, 'error');
      assert.equal(text.slice(found[0]!.start, found[0]!.end).startsWith('${'), true);
      assert.match(found[0]!.message, /write `\\\$\{`/);
    });
  }
});

void describe('limits: beyond them, one diagnostic at once', () => {
  const cases: [string, () => string, RegExp][] = [
    [
      '50 MB',
      () => `version: 1\n${'# padding padding padding padding padding padding\n'.repeat(1_050_000)}`,
      /50\.\d MB .*at most 4\.0 MB/,
    ],
    [
      '20,000 levels of `- `',
      () => `version: 1\nx:\n  ${'- '.repeat(20_000)}v\n`,
      /nests 20,0\d\d levels deep; Sluice reads at most 64/,
    ],
    [
      '20,000 flow brackets',
      () => `version: 1\nx: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`,
      /nests 20,00\d levels/,
    ],
    [
      '2,000 block levels',
      () => `version: 1\n${Array.from({ length: 2000 }, (_, i) => `${' '.repeat(i)}k:`).join('\n')}\n`,
      /nests 2,00\d levels/,
    ],
    [
      '250,000 list items',
      () => `version: 1\nx: [${'a,'.repeat(250_000)}a]\n`,
      /about 250,00\d YAML nodes \(keys, values and list items\); Sluice reads at most 200,000/,
    ],
  ];
  for (const [what, make, message] of cases) {
    void test(`${what}: manifest-too-large in well under a second`, () => {
      // As a file is read: one flat string (an editor's rope of edits is the LSP test's business).
      const text = Buffer.from(make()).toString('utf8');
      const started = performance.now();
      const analysis = analyzeManifest(text);
      const elapsed = performance.now() - started;
      assert.equal(analysis.diagnostics.length, 1);
      const [d] = analysis.diagnostics;
      assert.equal(d!.code, 'manifest-too-large');
      assert.equal(d!.start, 0);
      assert.match(d!.message, message);
      assert.ok(elapsed < 800, `${what} took ${elapsed.toFixed(0)} ms`);
    });
  }

  void test('sluice validate refuses a 50 MB manifest at once, and `status` says the same', () => {
    const root = tempRoot();
    const line = '# padding padding padding padding padding padding padding padding\n';
    writeFileSync(
      join(root, 'sluice.yaml'),
      `version: 1\n${line.repeat(Math.ceil((50 << 20) / line.length))}`,
    );
    const started = Date.now();
    const result = sluice(['validate', '--json'], root);
    const elapsed = Date.now() - started;
    assert.equal(result.status, 1, result.stderr);
    const printed = JSON.parse(result.stdout) as {
      diagnostics: { code: string; line: number; message: string }[];
    };
    assert.deepEqual(
      printed.diagnostics.map((d) => [d.code, d.line]),
      [['manifest-too-large', 1]],
    );
    assert.match(printed.diagnostics[0]!.message, /50\.\d MB \(52,4\d\d,\d\d\d bytes\)/);
    // Before: 100 s and 2.2 GB. The bound leaves room for a loaded machine's start-up.
    assert.ok(elapsed < 5000, `validate took ${elapsed} ms`);
    git(root, 'init', '--quiet');
    assertOneLineError(sluice(['status'], root), 2, '4.0 MB');
  });

  void test('sluice validate refuses 20,000 levels of nesting at once', () => {
    const root = tempRoot();
    writeFileSync(join(root, 'sluice.yaml'), `version: 1\nx:\n  ${'- '.repeat(20_000)}v\n`);
    const started = Date.now();
    const result = sluice(['validate'], root);
    assert.equal(result.status, 1);
    assert.match(
      result.stdout,
      /sluice\.yaml:1:1: error manifest-too-large: The manifest nests 20,0\d\d levels deep/,
    );
    assert.ok(Date.now() - started < 5000);
  });
});

void describe('sluice validate without FILE', () => {
  void test('finds the manifest upwards from a subfolder, like every other command', () => {
    const root = tempRoot();
    writeFileSync(join(root, 'sluice.yaml'), 'version: 1\n');
    mkdirSync(join(root, 'src', 'deep'), { recursive: true });
    const result = sluice(['validate', '--json'], join(root, 'src', 'deep'));
    assert.equal(result.status, 0, result.stderr);
    assert.equal((JSON.parse(result.stdout) as { file: string }).file, join(root, 'sluice.yaml'));
  });

  void test('with no manifest anywhere above, says so (exit 2)', () => {
    const result = sluice(['validate'], tempRoot());
    assertOneLineError(result, 2, 'sluice.yaml');
  });
});

/** A git workspace with a clean manifest, committed; returns its root. */
function gitWorkspace(manifest: string): string {
  return sharedGitWorkspace(tempRoot('sluice-safety-ws-'), manifest);
}

void describe('the runner and deploy refuse on their own, whatever validation said', () => {
  void test('the engine, given a hostile model that skipped validation, moves nothing under .git', async () => {
    const root = gitWorkspace(stageManifest({ outs: ['out/x'] }));
    const workspace = await openWorkspace(root);
    const hostile = analyzeManifest(stageManifest({ outs: ['.git/hooks'], run: 'node -e 0' })).manifest;
    const before = listing(join(root, '.git'));
    const context = openPipelines({ ...workspace, manifest: hostile });
    await assert.rejects(
      runPipelines(context, { force: true }),
      (error: unknown) =>
        error instanceof SluiceError &&
        error.code === 'protected-output' &&
        error.data['output'] === '.git/hooks' &&
        error.data['kind'] === 'git',
    );
    assert.deepEqual(listing(join(root, '.git')), before);
  });

  void test('a link on disk to .git is refused by the runner though the manifest is clean', async () => {
    const root = gitWorkspace(stageManifest({ outs: ['out/hooks'] }));
    const workspace = await openWorkspace(root);
    // Made after validation: the runner alone stands between it and .git.
    symlinkSync('.git', join(root, 'out'));
    const before = listing(join(root, '.git'));
    await assert.rejects(
      runPipelines(openPipelines(workspace), { force: true }),
      /through a link, it leads to `\.git\/hooks`/,
    );
    assert.deepEqual(listing(join(root, '.git')), before);
  });

  // The plan is remembered beside the model, under its key: either cache, tampered, gets nothing past the runner.
  for (const tampered of ['manifest-model.json', 'plan.json']) {
    void test(`a tampered cache (${tampered}: the cached validation, the cached plan) is refused by \`sluice run\` (exit 2, JSON error)`, () => {
      const root = gitWorkspace(stageManifest({ outs: ['out/x'] }));
      assert.equal(sluice(['status'], root).status, 0);
      const state = join(root, '.sluice', 'state');
      const cacheFile = join(state, tampered);
      writeFileSync(cacheFile, readFileSync(cacheFile, 'utf8').replaceAll('"out/x"', '".git"'));
      // A tampered model is planned again when there is no plan to read back.
      if (tampered === 'manifest-model.json') rmSync(join(state, 'plan.json'));
      const before = listing(join(root, '.git'));
      const result = sluice(['run', '--json'], root);
      assert.equal(result.status, 2, result.stderr);
      const error = (JSON.parse(result.stdout) as { error: { code: string; data: Record<string, unknown> } })
        .error;
      assert.equal(error.code, 'protected-output');
      assert.equal(error.data['protected'], '.git');
      assert.deepEqual(listing(join(root, '.git')), before);
    });
  }

  void test('deploy refuses a folder git tracks anything in, and one that leads to .git through a link', async () => {
    const root = gitWorkspace(stageManifest({ outs: ['out/x'], deploy: 'docs/site' }));
    mkdirSync(join(root, 'docs', 'site'), { recursive: true });
    writeFileSync(join(root, 'docs', 'site', 'index.html'), '<p>hand-written</p>\n');
    git(root, 'add', '-A');
    git(root, 'commit', '--quiet', '-m', 'docs');
    const workspace = await openWorkspace(root);
    const release = {
      id: 'f'.repeat(64),
      outputs: [],
      code: git(root, 'rev-parse', 'HEAD'),
    } as unknown as Release;
    const options = { action: 'stage', expected: undefined, reason: null } as const;
    await assert.rejects(
      deployRelease(workspace, 'production', release, options),
      (error: unknown) =>
        error instanceof SluiceError &&
        error.code === 'protected-deploy-path' &&
        error.data['kind'] === 'tracked' &&
        error.data['protected'] === 'docs/site/index.html',
    );
    assert.deepEqual(listing(join(root, 'docs')), ['site', 'site/index.html']);

    symlinkSync('.git', join(root, 'deploy'));
    const linked = analyzeManifest(stageManifest({ outs: ['out/x'], deploy: 'deploy/production' })).manifest;
    const before = listing(join(root, '.git'));
    await assert.rejects(
      deployRelease({ ...workspace, manifest: linked }, 'production', release, options),
      /through a link, it leads to `\.git\/production`/,
    );
    assert.deepEqual(listing(join(root, '.git')), before);
  });
});
