// `sluice init` through the built CLI: the starter manifest, refusing to
// overwrite, and the churn example as a user gets it — a git repository whose
// manifest validates clean and whose stages, checks and hooks really run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { parse } from 'yaml';

// This file runs from out/test/cli/; the repository root is three levels up.
const CLI = join(__dirname, '../../../dist/cli.js');

interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let dir: string;
/** A git setup with no identity and no global config, as on a fresh CI machine. */
let bareGitEnv: NodeJS.ProcessEnv;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-init-'));
  mkdirSync(join(dir, 'home'));
  // Identity variables would hide the missing identity this environment is for.
  const identity = new Set([
    'GIT_AUTHOR_NAME',
    'GIT_AUTHOR_EMAIL',
    'GIT_COMMITTER_NAME',
    'GIT_COMMITTER_EMAIL',
    'EMAIL',
  ]);
  bareGitEnv = {
    ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !identity.has(name))),
    HOME: join(dir, 'home'),
    GIT_CONFIG_GLOBAL: join(dir, 'home', 'no-gitconfig'),
    GIT_CONFIG_NOSYSTEM: '1',
  };
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function sluice(args: readonly string[], cwd = dir, env = process.env): RunResult {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd, env, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function shell(command: string, cwd: string, env: NodeJS.ProcessEnv = {}): RunResult {
  const path = `${dirname(process.execPath)}${delimiter}${process.env['PATH'] ?? ''}`;
  const result = spawnSync(command, {
    cwd,
    shell: true,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, PATH: path, ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function git(cwd: string, ...args: string[]): string {
  const result = spawnSync('git', args, { cwd, encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.trim();
}

function assertOneLineError(result: RunResult, ...mentions: string[]): void {
  assert.equal(result.status, 2, `exit code; stderr: ${result.stderr}`);
  const lines = result.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0]!, /^sluice: \S/);
  for (const mention of mentions)
    assert.ok(lines[0]!.includes(mention), `"${lines[0]!}" mentions ${mention}`);
}

function validateJson(file: string): { status: number | null; diagnostics: unknown[] } {
  const result = sluice(['validate', file, '--json']);
  const { diagnostics } = JSON.parse(result.stdout) as { diagnostics: unknown[] };
  return { status: result.status, diagnostics };
}

function filesUnder(root: string): string[] {
  return readdirSync(root, { withFileTypes: true }).flatMap((entry) => {
    const path = join(root, entry.name);
    return entry.isDirectory() ? filesUnder(path) : [path];
  });
}

void describe('sluice init (starter manifest)', () => {
  void test('writes a sluice.yaml that validates with no diagnostics', () => {
    const project = join(dir, 'project');
    mkdirSync(project);
    const result = sluice(['init'], project);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /sluice\.yaml/);
    assert.match(readFileSync(join(project, 'sluice.yaml'), 'utf8'), /^# /);
    assert.deepEqual(validateJson(join(project, 'sluice.yaml')), { status: 0, diagnostics: [] });
    assert.deepEqual(readdirSync(project), ['sluice.yaml'], 'no temporary files left behind');
  });

  void test('creates DIR when it does not exist', () => {
    const result = sluice(['init', join('new', 'nested')]);
    assert.equal(result.status, 0, result.stderr);
    assert.ok(existsSync(join(dir, 'new', 'nested', 'sluice.yaml')));
  });

  void test('refuses to replace an existing manifest unless --force is given', () => {
    const manifest = join(dir, 'sluice.yaml');
    writeFileSync(manifest, 'version: 1\nname: mine\n');
    assertOneLineError(sluice(['init']), 'already exists', '--force');
    assert.equal(readFileSync(manifest, 'utf8'), 'version: 1\nname: mine\n');

    const forced = sluice(['init', '--force']);
    assert.equal(forced.status, 0, forced.stderr);
    assert.match(readFileSync(manifest, 'utf8'), /pipelines:/);
  });

  void test('a DIR that is a file is a usage error', () => {
    writeFileSync(join(dir, 'plain'), 'not a folder');
    assertOneLineError(sluice(['init', 'plain']), 'plain');
  });
});

void describe('sluice init --example', () => {
  void test('an unknown example is refused, naming the ones that exist, and creates nothing', () => {
    assertOneLineError(sluice(['init', '--example', 'fraud', 'out']), "'fraud'", 'churn');
    assert.equal(existsSync(join(dir, 'out')), false);
  });

  void test('a folder that is not empty is refused and left untouched, even with --force', () => {
    const target = join(dir, 'busy');
    mkdirSync(target);
    writeFileSync(join(target, 'notes.txt'), 'mine');
    assertOneLineError(sluice(['init', '--example', 'churn', '--force', target]), 'not an empty folder');
    assert.deepEqual(readdirSync(target), ['notes.txt']);
    assert.equal(readFileSync(join(target, 'notes.txt'), 'utf8'), 'mine');
  });

  void test('churn: a committed git repository, small data, a manifest with no diagnostics', () => {
    const workspace = join(dir, 'churn');
    const result = sluice(['init', '--example', 'churn', workspace], dir, bareGitEnv);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /churn/);

    assert.equal(git(workspace, 'rev-list', '--count', 'HEAD'), '1');
    assert.equal(git(workspace, 'status', '--porcelain'), '', 'everything is committed or ignored');
    assert.equal(git(workspace, 'log', '-1', '--format=%an'), 'Sluice', 'fallback identity');
    assert.ok(git(workspace, 'ls-files').split('\n').includes('sluice.yaml'));
    assert.match(readFileSync(join(workspace, '.gitignore'), 'utf8'), /^\.sluice\/$/m);

    const dataFiles = filesUnder(join(workspace, 'data', 'raw'));
    const bytes = dataFiles.reduce((sum, file) => sum + statSync(file).size, 0);
    assert.ok(bytes < 100_000, `data is ${bytes} bytes`);
    const eventRows = filesUnder(join(workspace, 'data', 'raw', 'events'))
      .map((file) => readFileSync(file, 'utf8').trimEnd().split('\n').length - 1)
      .reduce((sum, rows) => sum + rows, 0);
    assert.ok(eventRows >= 200 && eventRows <= 2000, `${eventRows} event rows`);

    assert.deepEqual(validateJson(join(workspace, 'sluice.yaml')), { status: 0, diagnostics: [] });
  });

  void test('churn: the stages and checks run with node and reach accuracy >= 0.8; hooks gate a release', () => {
    const workspace = join(dir, 'churn');
    assert.equal(sluice(['init', '--example', 'churn', workspace]).status, 0);
    const manifest = parse(readFileSync(join(workspace, 'sluice.yaml'), 'utf8')) as {
      pipelines: {
        train: { stages: Record<string, { run: string }>; checks: { run?: string; min?: number }[] };
      };
      environments: { production: { deploy: { path: string; run: string }; health: { run: string } } };
    };
    const { stages, checks } = manifest.pipelines.train;
    assert.deepEqual(Object.keys(stages), ['prepare', 'train']);
    for (const [name, stage] of Object.entries(stages)) {
      const run = shell(stage.run, workspace, { SLUICE_PIPELINE: 'train', SLUICE_STAGE: name });
      assert.equal(run.status, 0, `${name}: ${run.stderr}`);
    }
    for (const check of checks) {
      if (check.run === undefined) continue;
      const run = shell(check.run, workspace);
      assert.equal(run.status, 0, `${check.run}: ${run.stderr}`);
    }
    const metrics = JSON.parse(readFileSync(join(workspace, 'metrics.json'), 'utf8')) as { accuracy: number };
    assert.ok(metrics.accuracy >= 0.8, `accuracy ${metrics.accuracy}`);
    const floor = checks.find((check) => check.min !== undefined)?.min;
    assert.equal(floor, 0.8);
    assert.ok(existsSync(join(workspace, 'models', 'model.json')));
    assert.equal(git(workspace, 'status', '--porcelain'), '', 'outputs are git-ignored');

    // A release as the deploy step lays it out: releases/<id>/ with the outputs, and `current`.
    const { deploy, health } = manifest.environments.production;
    const releases = join(workspace, deploy.path, 'releases');
    const release = join(releases, 'r1');
    mkdirSync(release, { recursive: true });
    cpSync(join(workspace, 'models'), join(release, 'models'), { recursive: true });
    cpSync(join(workspace, 'metrics.json'), join(release, 'metrics.json'));
    symlinkSync(join('releases', 'r1'), join(workspace, deploy.path, 'current'));
    const hookEnv = { SLUICE_ENV: 'production', SLUICE_RELEASE: 'r1', SLUICE_RELEASE_DIR: release };
    assert.equal(shell(deploy.run, workspace, hookEnv).status, 0);
    assert.equal(shell(health.run, workspace).status, 0);

    // A release without a model must fail both, so Sluice would roll it back.
    const broken = join(releases, 'r2');
    mkdirSync(broken);
    const brokenEnv = { SLUICE_RELEASE: 'r2', SLUICE_RELEASE_DIR: broken };
    assert.equal(shell(deploy.run, workspace, brokenEnv).status, 1);
    assert.equal(shell(health.run, workspace, brokenEnv).status, 1);
  });

  void test('churn: the same data on every run, so results are reproducible', () => {
    assert.equal(sluice(['init', '--example', 'churn', 'a']).status, 0);
    assert.equal(sluice(['init', '--example', 'churn', 'b']).status, 0);
    const contents = (root: string) =>
      filesUnder(join(dir, root, 'data')).map((file) => [
        file.slice(join(dir, root).length),
        readFileSync(file),
      ]);
    assert.deepEqual(contents('a'), contents('b'));
  });

  void test('an existing empty folder is fine, and . works', () => {
    const target = join(dir, 'empty');
    mkdirSync(target);
    const result = sluice(['init', '--example', 'churn', '.'], target);
    assert.equal(result.status, 0, result.stderr);
    assert.ok(existsSync(join(target, '.git')));
    assert.ok(existsSync(join(target, 'sluice.yaml')));
  });
});
