// Issue 12, kept tried with generated input: hostile output and deploy paths
// (every spelling of .git, .sluice, the manifest, the params file, a dataset
// or a stage's own dep: `./`, `x/..`, doubled and trailing slashes, case,
// Windows' trailing dots, nested and containing paths, links made on disk)
// must be errors in validate AND be refused by the runner and deploy when
// validation is bypassed, with nothing under .git, .sluice or the inputs
// moved or deleted; generated deep or large manifests must get their one
// diagnostic within a time bound.
//
// SLUICE_ROBUST_TRIALS sets the number of trials per class (default 100, about
// 30 s here); SLUICE_ROBUST_SEED replays a run (a failure names its seed).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { deployRelease } from '../../src/core/environments/deploy';
import type { Release } from '../../src/core/environments/releases';
import { SluiceError } from '../../src/core/errors';
import { analyzeManifest } from '../../src/core/manifest';
import { MAX_MANIFEST_BYTES, MAX_MANIFEST_DEPTH, MAX_MANIFEST_NODES } from '../../src/core/manifest/limits';
import { DiskProbe } from '../../src/core/paths';
import { openPipelines } from '../../src/core/pipelines/context';
import { runPipelines } from '../../src/core/pipelines/runner';
import { seededRandom } from '../../src/core/seededRandom';
import { openWorkspace, type Workspace } from '../../src/core/workspace';
import { FIXTURE, gitWorkspace, listing, stageManifest } from '../support/hostileManifests';
import { clearVariablesRefusedBySimpleGit, git, removeTree, sluice } from '../support/workspace';

clearVariablesRefusedBySimpleGit();

const TRIALS = Math.max(1, Number(process.env['SLUICE_ROBUST_TRIALS'] ?? 100));
const SEED = Number(process.env['SLUICE_ROBUST_SEED'] ?? 20261202);

class Random {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = seededRandom(seed);
  }
  int(below: number): number {
    return Math.floor(this.next() * below);
  }
  between(low: number, high: number): number {
    return low + this.int(high - low + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

/** What a hostile path aims at, and the path that names it plainly. */
interface Target {
  readonly what: string;
  readonly path: string;
  /** Diagnostic codes that may report it as an output. */
  readonly codes: readonly string[];
  /** Whether it is a file (a trailing slash would not name it). */
  readonly file: boolean;
  /** Whether what lies inside it is protected too (a dataset's folder: yes; `src`, which holds a dep: no). */
  readonly inside: boolean;
}

const PROTECTED = ['protected-output'];
const OUTPUT_TARGETS: readonly Target[] = [
  { what: 'git', path: '.git', codes: PROTECTED, file: false, inside: true },
  { what: 'git', path: '.git/hooks', codes: PROTECTED, file: false, inside: true },
  { what: 'git', path: '.git/HEAD', codes: PROTECTED, file: true, inside: false },
  { what: 'git', path: '.git/refs/heads', codes: PROTECTED, file: false, inside: true },
  { what: 'git', path: 'vendor/.git', codes: PROTECTED, file: false, inside: true },
  { what: 'sluice', path: '.sluice', codes: PROTECTED, file: false, inside: true },
  { what: 'sluice', path: '.sluice/state', codes: PROTECTED, file: false, inside: true },
  { what: 'manifest', path: 'sluice.yaml', codes: PROTECTED, file: true, inside: false },
  { what: 'params', path: FIXTURE.params, codes: PROTECTED, file: true, inside: false },
  { what: 'dataset', path: FIXTURE.dataset, codes: ['output-in-dataset'], file: false, inside: true },
  { what: 'dataset', path: FIXTURE.datasetFile, codes: ['output-in-dataset'], file: true, inside: false },
  { what: 'dataset', path: 'data', codes: ['output-in-dataset'], file: false, inside: false },
  { what: 'dep', path: FIXTURE.dep, codes: ['output-overlaps-dep'], file: true, inside: false },
  { what: 'dep', path: 'src', codes: ['output-overlaps-dep'], file: false, inside: false },
  { what: 'workspace', path: '.', codes: PROTECTED, file: false, inside: false },
];

/** Randomly changes the case of the letters of `segment`. */
function recase(random: Random, segment: string): string {
  return segment
    .split('')
    .map((c) => (random.chance(0.5) ? c.toUpperCase() : c.toLowerCase()))
    .join('');
}

/** A spelling of `path` that the file system (or a case-insensitive one) resolves to the same place. */
function respell(random: Random, path: string, file: boolean): string {
  let segments = path === '.' ? [] : path.split('/');
  segments = segments.map((segment) => {
    let s = segment;
    if (random.chance(0.3)) s = recase(random, s);
    if (random.chance(0.1)) s = `${s}.`; // Windows drops trailing dots
    return s;
  });
  const spelled: string[] = [];
  for (const segment of segments) {
    if (random.chance(0.2)) spelled.push('.');
    if (random.chance(0.2)) spelled.push(random.pick(['a', 'tmp', 'x y']), '..');
    spelled.push(segment);
  }
  let result = spelled.join(random.chance(0.15) ? '//' : '/') || '.';
  if (random.chance(0.4)) result = `./${result}`;
  if (!file && random.chance(0.3)) result = `${result}/`;
  return result;
}

/** A hostile output: a respelled target, or something inside a folder target. */
function hostileOutput(random: Random): { spelled: string; target: Target } {
  const target = random.pick(OUTPUT_TARGETS);
  let path = target.path;
  if (target.inside && random.chance(0.3)) {
    path = `${path}/${random.pick(['x', 'hooks/pre-commit', 'deep/er/file.bin'])}`;
  }
  return { spelled: respell(random, path, target.file), target };
}

function quoted(path: string): string {
  return JSON.stringify(path);
}

let root: string;
let workspace: Workspace;
let linkCount = 0;

before(async () => {
  root = gitWorkspace(mkdtempSync(join(tmpdir(), 'sluice-robust-')), stageManifest({ outs: ['out/x'] }));
  workspace = await openWorkspace(root);
});

after(() => {
  removeTree(root);
});

/** Everything the runner and deploy must leave as it is. */
function guarded(): string[] {
  return ['.git', '.sluice', 'data', 'src'].flatMap((folder) =>
    listing(join(root, folder)).map((p) => `${folder}/${p}`),
  );
}

/** Makes a link in the workspace root to `target`; returns its name. */
function linkTo(target: string): string {
  const name = `link${linkCount++}`;
  symlinkSync(target, join(root, name));
  return name;
}

function errorsOn(text: string, value: string): { code: string; message: string }[] {
  const at = text.lastIndexOf(quoted(value));
  assert.ok(at >= 0);
  return analyzeManifest(text, { probe: new DiskProbe(root) })
    .diagnostics.filter(
      (d) => d.severity === 'error' && d.start === at && d.end === at + quoted(value).length,
    )
    .map((d) => ({ code: d.code, message: d.message }));
}

void describe(`hostile outputs (seed ${SEED}, ${TRIALS} trials)`, () => {
  void test('validate reports each on its entry, and the runner refuses each with validation bypassed', async () => {
    const random = new Random(SEED);
    for (let trial = 0; trial < TRIALS; trial++) {
      const generated = hostileOutput(random);
      const target = generated.target;
      let spelled = generated.spelled;
      let link: string | undefined;
      // A quarter of the trials reach the target through a link made on disk.
      if (target.what !== 'workspace' && random.chance(0.25)) {
        link = linkTo(target.path);
        spelled = target.inside && random.chance(0.5) ? `${link}/${random.pick(['x', 'y/z'])}` : link;
      }
      const field = random.chance(0.7) ? 'outs' : 'metrics';
      const text = stageManifest({ [field]: [quoted(spelled)], run: 'node -e 0' });
      const why = `trial ${trial} (seed ${SEED}): ${field}: ${spelled} → ${target.path}`;
      try {
        const errors = errorsOn(text, spelled);
        assert.ok(
          errors.some((e) => target.codes.includes(e.code)),
          `${why}: validate said ${JSON.stringify(errors)}`,
        );

        const before = guarded();
        const hostile = analyzeManifest(text).manifest;
        await assert.rejects(
          runPipelines(openPipelines({ ...workspace, manifest: hostile }), { force: true }),
          (error: unknown) => error instanceof SluiceError && error.code === 'protected-output',
          why,
        );
        assert.deepEqual(guarded(), before, `${why}: something moved`);
      } finally {
        if (link) unlinkSync(join(root, link));
      }
    }
  });
});

/** `inside`: whether a folder inside the target is refused too (a dataset's: yes; `data`, which only holds one: no). */
const DEPLOY_TARGETS: readonly { readonly path: string; readonly file: boolean; readonly inside: boolean }[] =
  [
    { path: '.git', file: false, inside: true },
    { path: '.git/deploy', file: false, inside: true },
    { path: '.sluice', file: false, inside: true },
    { path: '.sluice/deploy', file: false, inside: true },
    { path: '.', file: false, inside: false },
    { path: 'sluice.yaml', file: true, inside: false },
    { path: FIXTURE.params, file: true, inside: false },
    { path: FIXTURE.dataset, file: false, inside: true },
    { path: `${FIXTURE.dataset}/deploy`, file: false, inside: true },
    { path: 'data', file: false, inside: false },
    { path: 'src', file: false, inside: true },
    { path: 'src/deploy', file: false, inside: true },
    { path: 'out', file: false, inside: false },
  ];

void describe(`hostile deploy paths (seed ${SEED + 1}, ${Math.ceil(TRIALS / 2)} trials)`, () => {
  void test('validate reports each, and deploy refuses each with validation bypassed, writing nothing', async () => {
    const random = new Random(SEED + 1);
    const release = {
      id: 'e'.repeat(64),
      outputs: [],
      code: git(root, 'rev-parse', 'HEAD'),
    } as unknown as Release;
    const options = { action: 'stage', expected: undefined, reason: null } as const;
    for (let trial = 0; trial < Math.ceil(TRIALS / 2); trial++) {
      const target = random.pick(DEPLOY_TARGETS);
      let spelled = respell(random, target.path, target.file);
      let link: string | undefined;
      if (target.path !== '.' && random.chance(0.25)) {
        link = linkTo(target.path);
        spelled = target.inside && random.chance(0.5) ? `${link}/prod` : link;
      }
      const text = stageManifest({ outs: ['out/x'], deploy: quoted(spelled) });
      const why = `trial ${trial} (seed ${SEED + 1}): deploy.path: ${spelled} → ${target.path}`;
      try {
        const errors = errorsOn(text, spelled);
        assert.ok(
          errors.some((e) => e.code === 'protected-deploy-path'),
          `${why}: validate said ${JSON.stringify(errors)}`,
        );
        const before = guarded();
        const hostile = analyzeManifest(text).manifest;
        await assert.rejects(
          deployRelease({ ...workspace, manifest: hostile }, 'production', release, options),
          (error: unknown) => error instanceof SluiceError && error.code === 'protected-deploy-path',
          why,
        );
        assert.deepEqual(guarded(), before, `${why}: something was written`);
      } finally {
        if (link) unlinkSync(join(root, link));
      }
    }
  });

  void test('a folder git tracks is refused at deploy time, however it is spelled', async () => {
    const random = new Random(SEED + 2);
    writeFileSync(join(root, 'README.md'), 'tracked\n');
    git(root, 'add', 'README.md');
    git(root, 'commit', '--quiet', '-m', 'readme');
    const release = {
      id: 'd'.repeat(64),
      outputs: [],
      code: git(root, 'rev-parse', 'HEAD'),
    } as unknown as Release;
    const options = { action: 'stage', expected: undefined, reason: null } as const;
    for (let trial = 0; trial < 4; trial++) {
      const spelled = respell(random, random.pick(['README.md', 'src/prepare.js']), true);
      const hostile = analyzeManifest(stageManifest({ outs: ['out/x'], deploy: quoted(spelled) })).manifest;
      await assert.rejects(
        deployRelease({ ...workspace, manifest: hostile }, 'production', release, options),
        (error: unknown) => error instanceof SluiceError && error.code === 'protected-deploy-path',
        spelled,
      );
    }
  });
});

/** A generated manifest past one limit. */
function pastALimit(random: Random): { text: string; limit: string } {
  const kind = random.pick(['block', 'dashes', 'flow', 'mixed', 'bytes', 'nodes'] as const);
  const over = MAX_MANIFEST_DEPTH + 1;
  switch (kind) {
    case 'block': {
      const depth = random.between(over, 1500);
      const step = random.between(1, 2);
      const lines = Array.from(
        { length: depth },
        (_, i) => `${' '.repeat(i * step)}${random.pick(['k', 'stages', '- a'])}:`,
      );
      return { text: `version: 1\n${lines.join('\n')}\n`, limit: 'levels' };
    }
    case 'dashes':
      return { text: `version: 1\nx:\n  ${'- '.repeat(random.between(over, 30_000))}v\n`, limit: 'levels' };
    case 'flow': {
      const depth = random.between(over, 30_000);
      const open = Array.from({ length: depth }, () => random.pick(['[', '{a: ', '[x, '])).join('');
      return { text: `version: 1\nx: ${open}v\n`, limit: 'levels' };
    }
    case 'mixed': {
      // Each kind of nesting under the limit alone, past it together.
      const block = random.between(10, 30);
      const dashes = random.between(10, 30);
      const flow = Math.max(1, over - block - dashes + random.between(0, 10));
      const lines = Array.from({ length: block }, (_, i) => `${'  '.repeat(i)}k${i}:`);
      lines.push(`${'  '.repeat(block)}${'- '.repeat(dashes)}${'['.repeat(flow)}v${']'.repeat(flow)}`);
      return { text: `version: 1\n${lines.join('\n')}\n`, limit: 'levels' };
    }
    case 'bytes': {
      const line = random.pick([
        '# a comment that pads the manifest out\n',
        '      s: {run: node x.js, outs: [out/a]}\n',
        `description: "${'é'.repeat(40)}"\n`,
      ]);
      const size = MAX_MANIFEST_BYTES + random.between(1, 8 << 20);
      return { text: `version: 1\n${line.repeat(Math.ceil(size / Buffer.byteLength(line)))}`, limit: 'MB' };
    }
    case 'nodes': {
      const items = MAX_MANIFEST_NODES + random.between(1, 100_000);
      return { text: `version: 1\nx: [${'a,'.repeat(items)}a]\n`, limit: 'nodes' };
    }
  }
}

void describe(`deep and large manifests (seed ${SEED + 3})`, () => {
  void test('one manifest-too-large diagnostic, within a time bound, for every generated one', () => {
    const random = new Random(SEED + 3);
    for (let trial = 0; trial < TRIALS; trial++) {
      const { text, limit } = pastALimit(random);
      const flat = Buffer.from(text).toString('utf8');
      const started = performance.now();
      const analysis = analyzeManifest(flat);
      const elapsed = performance.now() - started;
      const why = `trial ${trial} (seed ${SEED + 3}), ${flat.length} characters`;
      assert.deepEqual(
        analysis.diagnostics.map((d) => d.code),
        ['manifest-too-large'],
        why,
      );
      assert.ok(
        analysis.diagnostics[0]!.message.includes(limit),
        `${why}: ${analysis.diagnostics[0]!.message}`,
      );
      assert.ok(elapsed < 1000, `${why}: ${elapsed.toFixed(0)} ms`);
    }
  });

  void test('nesting and size just under the limits are analyzed as ever', () => {
    const random = new Random(SEED + 4);
    for (let trial = 0; trial < Math.ceil(TRIALS / 4); trial++) {
      const block = random.between(5, 20);
      const dashes = random.between(5, 20);
      const flow = Math.max(0, MAX_MANIFEST_DEPTH - 2 - block - dashes);
      const lines = Array.from({ length: block }, (_, i) => `${'  '.repeat(i)}k${i}:`);
      lines.push(`${'  '.repeat(block)}${'- '.repeat(dashes)}${'['.repeat(flow)}v${']'.repeat(flow)}`);
      const analysis = analyzeManifest(`version: 1\n${lines.join('\n')}\n`);
      assert.ok(
        !analysis.diagnostics.some((d) => d.code === 'manifest-too-large'),
        `trial ${trial}: ${analysis.diagnostics[0]?.message ?? ''}`,
      );
    }
  });

  void test('sluice validate answers a generated deep or large manifest in seconds', () => {
    const random = new Random(SEED + 5);
    const folder = mkdtempSync(join(tmpdir(), 'sluice-robust-cli-'));
    try {
      for (let trial = 0; trial < 2; trial++) {
        const { text, limit } = pastALimit(random);
        writeFileSync(join(folder, 'sluice.yaml'), text);
        const started = Date.now();
        const result = sluice(['validate'], folder);
        const elapsed = Date.now() - started;
        assert.equal(result.status, 1, result.stderr);
        assert.match(result.stdout, /^sluice\.yaml:1:1: error manifest-too-large: /);
        assert.ok(result.stdout.includes(limit));
        assert.ok(elapsed < 5000, `validate took ${elapsed} ms`);
      }
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
