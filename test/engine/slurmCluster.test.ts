// The Slurm test service itself (test/support/services/slurm.ts): it says
// what to install when Slurm is missing; it cleans up after a test process
// that died holding the cluster (its recorded daemons stopped, only while
// their start times match; slurm.conf put back; its folder removed); and it
// puts back whatever slurm.conf the machine had.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, linkSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { processAlive } from '../../src/core/process/alive';
import { LOCK, markOf, startSlurm, type LockState } from '../support/services/slurm';

const CONF = '/etc/slurm/slurm.conf';
const children: ChildProcess[] = [];

after(() => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function sleeper(): ChildProcess {
  const child = spawn('sleep', ['600'], { stdio: 'ignore' });
  children.push(child);
  return child;
}

/** Takes the lock as startSlurm does (link(2)), waiting while another test process holds it. */
async function takeLock(state: LockState): Promise<void> {
  const draft = `${LOCK}.draft-${process.pid}`;
  writeFileSync(draft, JSON.stringify(state));
  try {
    for (;;) {
      try {
        linkSync(draft, LOCK);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      await sleep(500);
    }
  } finally {
    unlinkSync(draft);
  }
}

void describe('the Slurm test cluster', () => {
  test('without Slurm on PATH it says what to install', async () => {
    const path = process.env['PATH'];
    process.env['PATH'] = '';
    const starting = startSlurm();
    process.env['PATH'] = path;
    await assert.rejects(
      starting,
      /Slurm is not installed \(no sbatch on PATH\).*apt-get install -y slurm-wlm munge/,
    );
  });

  test('a lock left by a dead test process: its daemons are stopped, its slurm.conf put back', async () => {
    // A test process that has exited, as the owner.
    const owner = spawnSync('true');
    const folder = mkdtempSync(join(tmpdir(), 'sluice-slurm-dead-'));
    const daemon = sleeper();
    // The same pid with another start time: a process that only took a recorded pid again.
    const stranger = sleeper();
    const mark = markOf(daemon.pid)!;
    const strangerMark = markOf(stranger.pid)!;
    // The lock first: slurm.conf is read or written only by whoever holds it.
    const state: LockState = {
      owner: { pid: owner.pid, start: 'gone' },
      folder,
      daemons: [mark, { pid: strangerMark.pid, start: `${strangerMark.start}0` }],
      confWritten: true,
      confBefore: null,
    };
    await takeLock(state);
    // As the dead run would have left it: the slurm.conf it found kept in its
    // folder (the machine's, or a made-up one when the machine has none), its own over it.
    const machine = existsSync(CONF) ? readFileSync(CONF, 'utf8') : undefined;
    const before = machine ?? '# a slurm.conf the machine had (made up by slurmCluster.test.ts)\n';
    writeFileSync(join(folder, 'slurm.conf.before'), before);
    writeFileSync(LOCK, JSON.stringify({ ...state, confBefore: join(folder, 'slurm.conf.before') }));
    writeFileSync(CONF, '# written by the dead run\n');

    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      daemon.once('exit', (_, signal) => {
        resolve(signal);
      }),
    );
    const cluster = await startSlurm();
    try {
      assert.equal(await exited, 'SIGKILL', 'the recorded daemon was stopped');
      assert.ok(processAlive(stranger.pid!), 'a pid whose start time differs is left alone');
      assert.ok(!existsSync(folder), "the dead run's folder is removed");
      assert.match(readFileSync(CONF, 'utf8'), /Written by Sluice test\/support\/services\/slurm\.ts/);
      await assert.rejects(startSlurm(), /already runs a test cluster/);
    } finally {
      await cluster.stop();
    }
    assert.ok(!existsSync(LOCK), 'the lock is released');
    // Under the lock again, the machine's own state back: no slurm.conf, when it had none.
    await takeLock({ ...state, owner: markOf(process.pid)!, daemons: [], confWritten: false });
    try {
      assert.equal(readFileSync(CONF, 'utf8'), before, 'the slurm.conf the dead run had found is back');
    } finally {
      if (machine === undefined) rmSync(CONF, { force: true });
      rmSync(LOCK, { force: true });
    }
  });
});
