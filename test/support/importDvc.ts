// Helpers for the tests of `sluice import-dvc`: DVC projects in temp git
// repositories, the command run on them, and what it wrote read back.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { git, removeTree, sluice, type CliResult } from './workspace';

export interface NotCarriedJson {
  readonly what: string;
  readonly reason: string;
  readonly code: string;
}

export interface ImportJson {
  readonly written: string;
  readonly pipeline: string;
  readonly stages: number;
  readonly datasets: number;
  readonly notCarried: readonly NotCarriedJson[];
  readonly error?: { readonly code: string; readonly data: Record<string, unknown> };
}

export type Stages = Record<string, Record<string, unknown>>;

const made: string[] = [];

/** Removes every folder `workspace` made; for a test file's `after`. */
export function removeWorkspaces(): void {
  for (const dir of made.splice(0)) removeTree(dir);
}

/** A temp folder removed by `removeWorkspaces`. */
export function tempFolder(prefix = 'sluice-dvc-'): string {
  const root = mkdtempSync(join(tmpdir(), prefix));
  made.push(root);
  return root;
}

/** A git repository in a temp folder holding `files` (path → content; folders made as needed). */
export function workspace(files: Readonly<Record<string, string>>): string {
  const root = tempFolder();
  git(root, 'init', '--quiet');
  git(root, 'config', 'user.name', 'Sluice Test');
  git(root, 'config', 'user.email', 'test@sluice.invalid');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

export function importDvc(cwd: string, ...args: string[]): CliResult {
  return sluice(['import-dvc', ...args], cwd);
}

/** `sluice import-dvc ARGS --json`: its exit code and the one object it printed. */
export function importJson(cwd: string, ...args: string[]): { status: number | null; json: ImportJson } {
  const result = importDvc(cwd, ...args, '--json');
  const printed = result.stdout.split('\n').filter((line) => line !== '');
  assert.equal(
    printed.length,
    1,
    `one JSON object on stdout, got: ${result.stdout} (stderr ${result.stderr})`,
  );
  return { status: result.status, json: JSON.parse(printed[0]!) as ImportJson };
}

/** The sluice.yaml in `root`, parsed. */
export function manifestOf(root: string): Record<string, unknown> {
  return parse(readFileSync(join(root, 'sluice.yaml'), 'utf8')) as Record<string, unknown>;
}

export function stagesOf(root: string, pipeline = 'main'): Stages {
  const pipelines = manifestOf(root)['pipelines'] as Record<string, { stages: Stages }>;
  return pipelines[pipeline]!.stages;
}
