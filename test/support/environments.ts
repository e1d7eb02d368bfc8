// Small environment workspaces for the tests of issue 12 (environments tell
// the truth and never wedge): a git repository with a manifest given whole,
// committed, and helpers to read what `current` shows.
import assert from 'node:assert/strict';
import { mkdtempSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { git, sluice, type CliResult } from './workspace';

/** A committed workspace whose sluice.yaml is `manifest`, with `files` beside it. */
export function environmentWorkspace(
  manifest: string,
  files: Readonly<Record<string, string>> = {},
  prefix = 'sluice-envs12-',
): string {
  const root = mkdtempSync(join(tmpdir(), prefix));
  git(root, 'init', '--quiet');
  git(root, 'config', 'user.name', 'Sluice Test');
  git(root, 'config', 'user.email', 'test@sluice.invalid');
  writeFileSync(join(root, 'sluice.yaml'), manifest);
  writeFileSync(join(root, '.gitignore'), '.sluice/\ndeploy/\n');
  for (const [path, content] of Object.entries(files)) writeFileSync(join(root, path), content);
  commitEverything(root, 'start');
  return root;
}

export function commitEverything(root: string, message: string): void {
  git(root, 'add', '--all');
  git(root, 'commit', '--quiet', '--no-verify', '-m', message);
}

/** The release `current` of a deploy folder points at, or undefined. */
export function linkedRelease(root: string, environment: string): string | undefined {
  try {
    return readlinkSync(join(root, 'deploy', environment, 'current')).replace(/^releases\//, '');
  } catch {
    return undefined;
  }
}

/** Parses the one JSON object a `--json` command printed, asserting there is exactly one line of it. */
export function onlyJson(result: CliResult): Record<string, unknown> {
  const lines = result.stdout.split('\n').filter((line) => line !== '');
  assert.equal(lines.length, 1, `one JSON object on stdout, got: ${result.stdout} (stderr ${result.stderr})`);
  return JSON.parse(lines[0]!) as Record<string, unknown>;
}

export function stageJson(
  root: string,
  ...extra: string[]
): { status: number | null; json: Record<string, unknown> } {
  const result = sluice(['stage', '--json', ...extra], root);
  return { status: result.status, json: onlyJson(result) };
}

/** The release id a `stage --json` printed. */
export function releaseOf(json: Record<string, unknown>): string {
  return (json['release'] as { id: string }).id;
}
