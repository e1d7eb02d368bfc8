// `npm run demo` must not leave code-server running (issue 12, item 5): it
// used to stop it on Ctrl-C only, so closing the terminal (SIGHUP) or a
// SIGTERM left it holding its port. The demo starts code-server through
// spawnGroup (test/e2e/processGroup.ts); here a stand-in parent starts a
// stand-in server the same way (a leader that starts a helper of its own, as
// code-server starts an extension host), is sent each signal that ends a
// terminal command or exits by itself, and both pids must be gone.
//
// This file is also the stand-in parent: run with SLUICE_GROUP_PARENT set.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { describe, test } from 'node:test';
import { spawnGroup } from '../e2e/processGroup';

const PARENT = process.env['SLUICE_GROUP_PARENT'];

/** A server that starts a helper in its own group and prints both pids; with `stubborn`, it ignores SIGTERM. */
const SERVER = (stubborn: boolean): string => `
  const helper = require('node:child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  ${stubborn ? "process.on('SIGTERM', () => {});" : ''}
  console.log(process.pid + ' ' + helper.pid);
  setInterval(() => {}, 1000);
`;

if (PARENT !== undefined) {
  const env = { ...process.env };
  delete env['SLUICE_GROUP_PARENT'];
  const group = spawnGroup(process.execPath, ['-e', SERVER(PARENT === 'stubborn')], { env, graceMs: 500 });
  group.child.stdout.once('data', (chunk: Buffer) => {
    process.stdout.write(chunk);
    if (PARENT === 'exit') setTimeout(() => process.exit(3), 100);
  });
  setInterval(() => undefined, 1000);
} else {
  describe('the demo stops code-server whatever ends it', () => {
    const cases: [string, NodeJS.Signals | 'exit', string][] = [
      ['Ctrl-C (SIGINT)', 'SIGINT', 'plain'],
      ['SIGTERM', 'SIGTERM', 'plain'],
      ['a closed terminal (SIGHUP)', 'SIGHUP', 'plain'],
      ['SIGTERM, with a server that ignores SIGTERM', 'SIGTERM', 'stubborn'],
      ['an exit for any other reason', 'exit', 'exit'],
    ];
    for (const [what, ending, mode] of cases) {
      test(what, async () => {
        const parent = spawn(process.execPath, [__filename], {
          env: { ...process.env, SLUICE_GROUP_PARENT: mode },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        const exited = new Promise<number | null>((resolve) => parent.once('exit', resolve));
        const pids = await new Promise<number[]>((resolve) => {
          parent.stdout.once('data', (chunk: Buffer) => {
            resolve(chunk.toString().trim().split(' ').map(Number));
          });
        });
        assert.equal(pids.length, 2);
        for (const pid of pids) assert.ok(alive(pid), `pid ${pid} runs before`);
        if (ending !== 'exit') parent.kill(ending);
        const code = await exited;
        assert.equal(code, ending === 'exit' ? 3 : 128 + constants.signals[ending]);
        for (const pid of pids) assert.ok(await gone(pid), `pid ${pid} is gone after ${what}`);
      });
    }
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether `pid` is gone within two seconds (a SIGKILLed process is reaped by its parent or init). */
/** Waits up to 5 s: on a loaded machine a killed group can take a few seconds to be reaped. */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (!alive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}
