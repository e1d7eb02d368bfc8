// The Slurm client (src/core/process/slurm.ts) against a real one-node
// cluster on localhost (test/support/services/slurm.ts), started once for the
// file and stopped by its pids in `after`. Jobs are followed as the runner
// will: poll jobStates for the jobs not yet ended, keep the first ended state
// of each, and ride out a controller that does not answer for a while.
//
// Memory: this cluster has no cgroups; jobacct_gather/linux with
// OverMemoryKill samples each step every second and kills one above its
// --mem. Slurm then records FAILED by SIGKILL (reason JobLaunchFailure), not
// OUT_OF_MEMORY; the client reads slurmstepd's "Exceeded job memory limit" in
// the job's output and reports out of memory. The time limit is tested too.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SluiceError } from '../../src/core/errors';
import { processAlive } from '../../src/core/process/alive';
import {
  markerFile,
  SlurmClient,
  type SlurmJobRef,
  type SlurmSubmission,
} from '../../src/core/process/slurm';
import { describeEnd, isEnded, unrunnable, type SlurmJobStatus } from '../../src/core/process/slurmStates';
import { startSlurm, type SlurmCluster } from '../support/services/slurm';

const CONF = '/etc/slurm/slurm.conf';
const work = mkdtempSync(join(tmpdir(), 'sluice-slurm-jobs-'));
const client = new SlurmClient();
let cluster: SlurmCluster | undefined;

before(async () => {
  cluster = await startSlurm({ minJobAgeSeconds: 5 });
});

after(async () => {
  rmSync(work, { recursive: true, force: true });
  if (cluster === undefined) return;
  const pids = cluster.pids();
  const folder = cluster.folder;
  const confBefore = cluster.slurmConfBefore;
  await cluster.stop();
  for (const [name, pid] of Object.entries(pids))
    assert.ok(!processAlive(pid), `${name} (${pid}) was stopped`);
  assert.ok(!existsSync(folder), 'the folder is gone');
  assert.equal(
    existsSync(CONF) ? readFileSync(CONF, 'utf8') : undefined,
    confBefore,
    'slurm.conf is put back',
  );
});

/** The cluster `before` started. */
function started(): SlurmCluster {
  assert.ok(cluster, 'the cluster started');
  return cluster;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let jobCount = 0;
/** A job in its own output file under the work folder. */
function job(
  name: string,
  command: string,
  more: Partial<Pick<SlurmSubmission, 'dependencies' | 'resources' | 'env'>> = {},
): SlurmSubmission {
  jobCount++;
  return { name, chdir: work, outputFile: join(work, 'logs', `${jobCount}-${name}.out`), command, ...more };
}

/** A command that prints its start and end times (ns), with a pause between. */
const TIMED = 'date +%s%N; sleep 0.3; date +%s%N';

function times(outputFile: string): { start: bigint; end: bigint } {
  const stamps = readFileSync(outputFile, 'utf8')
    .split('\n')
    .filter((line) => /^\d+$/.test(line))
    .map(BigInt);
  assert.equal(stamps.length, 2, `${outputFile} holds a start and an end`);
  return { start: stamps[0]!, end: stamps[1]! };
}

/**
 * Polls until every job has ended, as the runner will: only jobs not ended
 * yet are asked about again (the first ended state is kept, with the
 * controller's reason), and a controller that does not answer is asked again.
 */
async function waitForEnd(
  jobs: readonly SlurmJobRef[],
  timeoutMs = 120_000,
  slurm = client,
): Promise<SlurmJobStatus[]> {
  const idOf = (ref: SlurmJobRef): string => (typeof ref === 'string' ? ref : ref.id);
  const ended = new Map<string, SlurmJobStatus>();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = jobs.filter((ref) => !ended.has(idOf(ref)));
    if (open.length === 0) return jobs.map((ref) => ended.get(idOf(ref))!);
    try {
      for (const status of await slurm.jobStates(open)) if (isEnded(status)) ended.set(status.id, status);
    } catch (error) {
      if (!(error instanceof SluiceError && error.code === 'slurm-unreachable') || Date.now() > deadline)
        throw error;
    }
    if (Date.now() > deadline)
      throw new Error(`Jobs ${open.map(idOf).join(', ')} had not ended after ${timeoutMs / 1000} s.`);
    await sleep(250);
  }
}

/**
 * A job Slurm killed leaves no marker, or (when slurmstepd signalled the
 * command before the wrapper, and the wrapper wrote before its own signal came)
 * one that records a death by signal (128+N), never an exit code of its own.
 */
function noExitCodeMarker(outputFile: string, id: string): void {
  const marker = markerFile(outputFile);
  if (!existsSync(marker)) return;
  const status = Number(new RegExp(`^${id} (\\d+)\n$`).exec(readFileSync(marker, 'utf8'))?.[1]);
  assert.ok(status > 128, `the marker of job ${id} records a signal, not an exit code: ${String(status)}`);
}

/** Whether the controller still lists the job (squeue), as opposed to the fallbacks. */
function controllerKnows(id: string): boolean {
  const squeue = spawnSync('squeue', ['-h', '-t', 'all', '-j', id, '-o', '%i'], { encoding: 'utf8' });
  return squeue.stdout.trim() === id;
}

async function refusal(promise: Promise<unknown>): Promise<SluiceError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof SluiceError, `a SluiceError, not ${String(error)}`);
    return error;
  }
  assert.fail('expected a refusal');
}

void describe('Slurm jobs on a one-node cluster', { concurrency: true }, () => {
  // A minute's limit takes 60 to 90 s to hit (slurmctld checks limits every
  // 30 s), so this one runs beside all the others.
  void test('a job over its time limit ends as TIMEOUT: "time limit"', async () => {
    const submission = job('too-slow', 'sleep 600', { resources: { time: 1 } });
    const id = await client.submit(submission);
    const [status] = await waitForEnd([id], 200_000);
    assert.equal(status!.state, 'TIMEOUT');
    assert.equal(describeEnd(status!), 'time limit');
    noExitCodeMarker(submission.outputFile, id);
  });

  // Not beside each other: they pause and restart the controller, and assert on timing.
  void describe('one at a time', { concurrency: false }, () => {
    test('a chain of four runs in order, each after the one it depends on', async () => {
      const ids: string[] = [];
      const outputs: string[] = [];
      for (const name of ['prepare', 'featurize', 'train', 'evaluate']) {
        const submission = job(name, TIMED, { dependencies: ids.slice(-1) });
        ids.push(await client.submit(submission));
        outputs.push(submission.outputFile);
      }
      const states = await waitForEnd(ids);
      assert.deepEqual(
        states.map((status) => [status.state, status.exitCode]),
        ids.map(() => ['COMPLETED', 0]),
      );
      for (let index = 1; index < outputs.length; index++)
        assert.ok(
          times(outputs[index]!).start >= times(outputs[index - 1]!).end,
          `job ${index + 1} started after job ${index} ended`,
        );
      for (const output of outputs) assert.match(readFileSync(markerFile(output), 'utf8'), /^\d+ 0\n$/);
    });

    test('a fan-out: four jobs after one, then one after all four', async () => {
      const root = job('split', TIMED);
      const rootId = await client.submit(root);
      const branches = [1, 2, 3, 4].map((n) => job(`shard-${n}`, TIMED, { dependencies: [rootId] }));
      const branchIds: string[] = [];
      for (const branch of branches) branchIds.push(await client.submit(branch));
      const join_ = job('merge', TIMED, { dependencies: branchIds });
      const joinId = await client.submit(join_);
      const states = await waitForEnd([rootId, ...branchIds, joinId]);
      assert.ok(states.every((status) => status.state === 'COMPLETED'));
      const rootEnd = times(root.outputFile).end;
      for (const branch of branches) {
        assert.ok(times(branch.outputFile).start >= rootEnd, `${branch.name} started after split ended`);
        assert.ok(
          times(join_.outputFile).start >= times(branch.outputFile).end,
          `merge started after ${branch.name}`,
        );
      }
    });

    test('exit code 3 is reported as such; the job after it is cancelled: "dependency never satisfied"', async () => {
      const failing = job('fails', 'echo about to fail; exit 3');
      const failingId = await client.submit(failing);
      const afterId = await client.submit(job('after-fail', 'echo never', { dependencies: [failingId] }));
      const [failed, cancelled] = await waitForEnd([failingId, afterId]);
      assert.equal(failed!.state, 'FAILED');
      assert.equal(failed!.exitCode, 3);
      assert.equal(describeEnd(failed!), 'exit code 3');
      assert.equal(readFileSync(markerFile(failing.outputFile), 'utf8'), `${failingId} 3\n`);
      assert.equal(cancelled!.state, 'CANCELLED');
      assert.equal(cancelled!.reason, 'DependencyNeverSatisfied');
      assert.equal(describeEnd(cancelled!), 'dependency never satisfied');
    });

    test('scancel of the head of a pending chain cancels the jobs after it', async () => {
      // --hold keeps the head pending until released: the chain is still waiting when it is cancelled.
      const head = await client.submit(job('held', 'echo never', { resources: { extra: ['--hold'] } }));
      const second = await client.submit(job('second', 'echo never', { dependencies: [head] }));
      const third = await client.submit(job('third', 'echo never', { dependencies: [second] }));
      const pending = await client.jobStates([head, second, third]);
      assert.deepEqual(
        pending.map((status) => status.state),
        ['PENDING', 'PENDING', 'PENDING'],
      );
      await client.cancel([head]);
      const states = await waitForEnd([head, second, third]);
      assert.deepEqual(
        states.map((status) => describeEnd(status)),
        ['cancelled', 'dependency never satisfied', 'dependency never satisfied'],
      );
      await client.cancel([head]); // ended already: not an error
    });

    test('a job over its --mem is reported as out of memory', async () => {
      // 300 MiB held for 5 s against a limit of 100 MiB, sampled every second.
      const hog = `${process.execPath} -e "const b = Buffer.alloc(300 * 1024 * 1024, 1); setTimeout(() => b.length, 5000)"`;
      const submission = job('hog', hog, { resources: { memory: '100M' } });
      const id = await client.submit(submission);
      const [status] = await waitForEnd([id]);
      assert.equal(status!.state, 'OUT_OF_MEMORY', JSON.stringify(status));
      assert.equal(describeEnd(status!), 'out of memory');
      noExitCodeMarker(submission.outputFile, id);
    });

    test('a partition that does not exist is slurm-bad-partition; other refusals are slurm-refused', async () => {
      const error = await refusal(
        client.submit(job('nowhere', 'true', { resources: { partition: 'gpu-huge' } })),
      );
      assert.equal(error.code, 'slurm-bad-partition');
      assert.match(error.message, /no partition 'gpu-huge'/);
      assert.match(error.hint ?? '', /sinfo -s/);
      // What sbatch refuses for another reason is slurm-refused, in Slurm's words.
      const licenses = await refusal(
        client.submit(job('licensed', 'true', { resources: { extra: ['--licenses=matlab:1'] } })),
      );
      assert.equal(licenses.code, 'slurm-refused');
      assert.equal(licenses.message, "sbatch refused job 'licensed': Invalid license specification.");
    });

    test('more than the node has: refused at submission, or pending forever and reported so', async () => {
      const memory = await refusal(
        client.submit(job('too-big', 'true', { resources: { memory: `${started().memoryMiB + 1024}M` } })),
      );
      assert.equal(memory.code, 'slurm-unsatisfiable');
      assert.match(
        memory.message,
        /can never run job 'too-big' as asked \(memory \d+M\): Memory specification/,
      );
      const gpus = await refusal(client.submit(job('no-gpu', 'true', { resources: { gpus: 1 } })));
      assert.equal(gpus.code, 'slurm-unsatisfiable');

      // Without EnforcePartLimits, sbatch takes more CPUs than the node has and keeps the job pending.
      const id = await client.submit(job('too-wide', 'true', { resources: { cpus: started().cpus + 1 } }));
      let status: SlurmJobStatus | undefined;
      for (let tries = 0; tries < 40 && status?.reason === undefined; tries++) {
        [status] = await client.jobStates([id]);
        await sleep(250);
      }
      assert.equal(status!.state, 'PENDING');
      const error = unrunnable(status!, 'too-wide');
      assert.equal(error?.code, 'slurm-unsatisfiable', `pending with ${String(status!.reason)}`);
      assert.match(error.message, /can never start: Slurm keeps it pending with reason PartitionConfig/);
      await client.cancel([id]);
      const [cancelled] = await waitForEnd([id]);
      assert.equal(describeEnd(cancelled!), 'cancelled');
    });

    test('no sbatch on PATH is slurm-not-found, for every call', async () => {
      const lost = new SlurmClient({ env: { ...process.env, PATH: '' } });
      for (const [command, call] of [
        ['sbatch', lost.submit(job('lost', 'true'))],
        ['squeue', lost.jobStates(['1'])],
        ['scancel', lost.cancel(['1'])],
      ] as const) {
        const error = await refusal(call);
        assert.equal(error.code, 'slurm-not-found');
        assert.equal(error.data['command'], command);
        assert.match(error.message, new RegExp(`\`${command}\` is not on PATH`));
      }
    });

    test('a controller that does not answer is slurm-unreachable, naming the timeout', async () => {
      const impatient = new SlurmClient({ timeoutMs: 1500 });
      started().pauseController();
      try {
        const started = Date.now();
        const error = await refusal(impatient.jobStates(['1']));
        assert.equal(error.code, 'slurm-unreachable');
        assert.match(error.message, /did not answer `squeue` within 1\.5 s/);
        assert.ok(Date.now() - started < 5000, 'the timeout is kept');
        assert.equal((await refusal(impatient.submit(job('unheard', 'true')))).code, 'slurm-unreachable');
      } finally {
        started().resumeController();
      }
    });

    test('the controller restarted mid-run: the jobs are still followed to their end', async () => {
      const first = job('before-restart', `${TIMED}; sleep 2`);
      const firstId = await client.submit(first);
      const second = job('after-restart', TIMED, { dependencies: [firstId] });
      const secondId = await client.submit(second);
      for (let tries = 0; tries < 60; tries++) {
        const [status] = await client.jobStates([firstId]);
        if (status!.state === 'RUNNING') break;
        await sleep(250);
      }
      await started().restartController();
      const states = await waitForEnd([firstId, secondId]);
      assert.deepEqual(
        states.map((status) => status.state),
        ['COMPLETED', 'COMPLETED'],
      );
      assert.ok(times(second.outputFile).start >= times(first.outputFile).end);
    });

    test('a script keeps its #SBATCH lines; env values reach the job, commas and all', async () => {
      const script = join(work, 'stage.sh');
      writeFileSync(
        script,
        [
          '#!/bin/sh',
          '#SBATCH --comment=from-the-script',
          '',
          'echo "greeting=$GREETING"',
          'exit 4',
          '',
        ].join('\n'),
      );
      const submission: SlurmSubmission = {
        name: 'scripted',
        chdir: work,
        outputFile: join(work, 'logs', 'scripted.out'),
        script: 'stage.sh',
        env: { GREETING: 'hello, world' },
      };
      const id = await client.submit(submission);
      const comment = spawnSync('squeue', ['-h', '-t', 'all', '-j', id, '-O', 'Comment'], {
        encoding: 'utf8',
      });
      const [status] = await waitForEnd([id]);
      assert.equal(comment.stdout.trim(), 'from-the-script');
      assert.equal(describeEnd(status!), 'exit code 4');
      assert.match(readFileSync(submission.outputFile, 'utf8'), /^greeting=hello, world$/m);
    });

    test('after the controller forgot a job: the marker, the completion log, or UNKNOWN', async () => {
      const failing = job('forgotten', 'exit 3');
      const failingId = await client.submit(failing);
      const held = await client.submit(job('forgotten-held', 'true', { resources: { extra: ['--hold'] } }));
      await client.cancel([held]);
      await waitForEnd([failingId, held]);
      const deadline = Date.now() + 150_000;
      while ((controllerKnows(failingId) || controllerKnows(held)) && Date.now() < deadline) await sleep(500);
      assert.ok(!controllerKnows(failingId) && !controllerKnows(held), 'the controller forgot both jobs');

      // This client submitted them: it knows their output files, and reads the marker.
      const [fromMarker] = await client.jobStates([failingId]);
      assert.deepEqual(
        [fromMarker!.source, fromMarker!.state, fromMarker!.exitCode],
        ['marker', 'FAILED', 3],
      );
      // A client that only has the ids (a run picked up elsewhere) reads the job completion log.
      const fresh = new SlurmClient();
      const [fromLog, cancelled, never] = await fresh.jobStates([failingId, held, '999999']);
      assert.deepEqual([fromLog!.source, fromLog!.state, fromLog!.exitCode], ['jobcomp', 'FAILED', 3]);
      assert.deepEqual([cancelled!.source, describeEnd(cancelled!)], ['jobcomp', 'cancelled']);
      assert.deepEqual([never!.source, never!.state], ['nowhere', 'UNKNOWN']);
      // With the output file given, the marker again.
      const [given] = await fresh.jobStates([{ id: failingId, outputFile: failing.outputFile }]);
      assert.equal(given!.source, 'marker');

      // Why the runner must check an ended upstream itself: Slurm counts a
      // dependency on a job it forgot as satisfied, even one that failed.
      const afterForgotten = await client.submit(
        job('after-forgotten', 'true', { dependencies: [failingId] }),
      );
      const [ran] = await waitForEnd([afterForgotten]);
      assert.equal(ran!.state, 'COMPLETED');
    });
  });
});

void describe('submissions refused before sbatch runs', () => {
  test('extra options Sluice sets itself, and bad values, are usage errors', async () => {
    for (const extra of [
      '--output=x',
      '-o',
      '--dependency=afterany:1',
      '--wrap=true',
      '--array=1-3',
      'account',
    ]) {
      const error = await refusal(client.submit(job('extra', 'true', { resources: { extra: [extra] } })));
      assert.equal(error.kind, 'usage', extra);
    }
    const memory = await refusal(client.submit(job('memory', 'true', { resources: { memory: '16gb' } })));
    assert.match(memory.message, /16G, not `16gb`/);
    const time = await refusal(client.submit(job('time', 'true', { resources: { time: '2 hours' } })));
    assert.match(time.message, /write 2:00:00/);
    assert.equal((await refusal(client.jobStates(['12; rm -rf /']))).kind, 'usage');
  });
});
