// Where stage commands run, from the built CLI: on the local executor,
// `resources.cpus` decides how many stages share the machine at once.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { clearVariablesRefusedBySimpleGit, git, sluice } from '../support/workspace';

clearVariablesRefusedBySimpleGit();

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** Four independent stages that each hold the machine for a while, tracing when they start and end. */
function workspace(cpus: number | undefined): { root: string; trace: string } {
  const base = mkdtempSync(join(tmpdir(), 'sluice-executors-'));
  roots.push(base);
  const root = join(base, 'ws');
  mkdirSync(root);
  git(root, 'init', '--quiet');
  const resources = cpus === undefined ? '' : `        resources:\n          cpus: ${cpus}\n`;
  const stages = ['a', 'b', 'c', 'd']
    .map(
      (name) =>
        `      ${name}:\n        run: echo "${name} start $(date +%s%N)" >> "$TRACE" && sleep 0.3 && echo ${name} > ${name}.txt && echo "${name} end $(date +%s%N)" >> "$TRACE"\n        outs: [${name}.txt]\n${resources}`,
    )
    .join('');
  writeFileSync(join(root, 'sluice.yaml'), `version: 1\npipelines:\n  p:\n    stages:\n${stages}`);
  return { root, trace: join(base, 'trace.log') };
}

/** The most stages that were running at one moment, from the trace. */
function mostAtOnce(trace: string): number {
  const events = readFileSync(trace, 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [, what, at] = line.split(' ');
      return { delta: what === 'start' ? 1 : -1, at: BigInt(at!) };
    })
    .sort((x, y) => (x.at < y.at ? -1 : x.at > y.at ? 1 : x.delta - y.delta));
  let now = 0;
  let most = 0;
  for (const event of events) {
    now += event.delta;
    most = Math.max(most, now);
  }
  return most;
}

void describe('local executor: resources.cpus', () => {
  for (const [cpus, jobs, expected] of [
    [undefined, 4, 4],
    [2, 4, 2],
    [4, 4, 1],
    [8, 4, 1],
    [1, 2, 2],
  ] as const) {
    void test(`cpus ${cpus ?? '(unset)'} with -j ${jobs}: at most ${expected} at once`, () => {
      const { root, trace } = workspace(cpus);
      const result = sluice(['run', '-j', String(jobs)], root, { ...process.env, TRACE: trace });
      assert.equal(result.status, 0, result.stderr);
      assert.equal(mostAtOnce(trace), expected);
    });
  }
});
