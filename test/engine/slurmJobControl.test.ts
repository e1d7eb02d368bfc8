// What a face does with a workspace's open Slurm jobs beyond listing them,
// without a cluster: the phase each state puts a job in (what the editor's
// icons and counts follow), and cancelStageJobs choosing jobs from the real
// journal and failing with the client's slurm-* code when scancel cannot run.
// (Against a real cluster, in the editor: test/extension/slurmJobs.test.ts.)
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { SluiceError } from '../../src/core/errors';
import { cancelStageJobs } from '../../src/core/pipelines/slurmJobCancel';
import { isActive, stageJobPhase } from '../../src/core/pipelines/slurmJobPhase';
import type { StageJob } from '../../src/core/pipelines/slurmJobs';
import { SlurmJournal } from '../../src/core/pipelines/slurmJournal';
import { SlurmClient } from '../../src/core/process/slurm';
import { SLURM_JOB_STATES, type SlurmJobState } from '../../src/core/process/slurmStates';

function job(state: SlurmJobState | undefined, ended = false): StageJob {
  return {
    stage: 'p.s',
    id: '1',
    runId: 'r',
    logFile: '/tmp/r.log',
    submittedAt: '2025-01-02T03:04:05.000Z',
    state,
    reason: undefined,
    elapsedSeconds: undefined,
    ended,
    description: '',
  };
}

/** A workspace's .sluice with these stages' jobs open in the journal, and a folder with no Slurm command in it. */
function journalWith(t: TestContext, jobs: Record<string, string>): { sluiceDir: string; noSlurm: string } {
  const folder = mkdtempSync(join(tmpdir(), 'sluice-job-control-'));
  t.after(() => {
    rmSync(folder, { recursive: true, force: true });
  });
  const sluiceDir = join(folder, '.sluice');
  const journal = SlurmJournal.open(sluiceDir);
  for (const [stage, id] of Object.entries(jobs))
    journal.submitted({
      stage,
      job: id,
      runId: `run-${id}`,
      logFile: join(sluiceDir, `${id}.log`),
      submittedAt: '2025-01-02T03:04:05.000Z',
      plan: 'digest',
      behind: {},
    });
  journal.close();
  return { sluiceDir, noSlurm: folder };
}

void describe('Slurm job phases', () => {
  void test('waiting states are queued, states with a node are running, an end is ended, no answer is unknown', () => {
    const phases = new Map(SLURM_JOB_STATES.map((state) => [state, stageJobPhase(job(state))]));
    for (const state of ['PENDING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESV_DEL_HOLD'] as const)
      assert.equal(phases.get(state), 'queued', state);
    for (const state of ['RUNNING', 'CONFIGURING', 'COMPLETING', 'SUSPENDED', 'STOPPED'] as const)
      assert.equal(phases.get(state), 'running', state);
    assert.equal(stageJobPhase(job('COMPLETED', true)), 'ended');
    assert.equal(stageJobPhase(job('CANCELLED', true)), 'ended');
    assert.equal(stageJobPhase(job(undefined)), 'unknown');
    assert.equal(phases.get('UNKNOWN'), 'unknown');
    assert.equal(isActive(job('PENDING')), true);
    assert.equal(
      isActive(job(undefined)),
      true,
      'not known to have ended: still followed, still cancellable',
    );
    assert.equal(isActive(job('FAILED', true)), false);
  });
});

void describe('cancelStageJobs', () => {
  void test('nothing open for the stages named: nothing to ask Slurm, no job named', async (t) => {
    const { sluiceDir, noSlurm } = journalWith(t, { 'p.a': '11' });
    const client = new SlurmClient({ env: { PATH: noSlurm } });
    assert.deepEqual(await cancelStageJobs(sluiceDir, ['p.b'], client), []);
  });

  void test('scancel cannot run: the SluiceError of the client, its slurm-* code and a message naming the command', async (t) => {
    const { sluiceDir, noSlurm } = journalWith(t, { 'p.a': '11', 'p.b': '12' });
    const client = new SlurmClient({ env: { PATH: noSlurm } });
    await assert.rejects(cancelStageJobs(sluiceDir, ['p.a'], client), (error: unknown) => {
      assert.ok(error instanceof SluiceError);
      assert.equal(error.code, 'slurm-not-found');
      assert.match(error.message, /scancel/);
      return true;
    });
  });
});
