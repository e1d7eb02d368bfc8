// Slurm jobs in the Pipelines view's model, without VS Code or a cluster: the
// churn example's stages with jobs in each phase (the StageJob values `sluice
// status` prints, as the engine words them), turned into the nodes' looks,
// summaries and menus, the status bar's count, and, through the engine's own
// journal and stageJobs, what a folder shows when Slurm cannot be asked.
// (The same on a real cluster, in the editor: test/extension/slurmJobs.test.ts.)
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { initWorkspace } from '../../src/core/operations/init';
import { stageJobs, type StageJob, type StageJobs } from '../../src/core/pipelines/slurmJobs';
import { SlurmJournal } from '../../src/core/pipelines/slurmJournal';
import { SlurmClient } from '../../src/core/process/slurm';
import { discoverFolder } from '../../src/extension/folders';
import {
  describeNode,
  NO_JOBS,
  pipelineChildren,
  rootNodes,
  shownState,
  stageNodes,
  summarizeStages,
  summarizeTemplate,
  type NodeLook,
  type PipelineNode,
  type RunProgress,
  type StageView,
} from '../../src/extension/pipelines/pipelineNodes';
import { readFolderPipelines } from '../../src/extension/pipelines/pipelineStates';
import { slurmJobsStatus } from '../../src/extension/pipelines/slurmJobsStatus';
import { clearVariablesRefusedBySimpleGit, removeTree } from '../support/workspace';

clearVariablesRefusedBySimpleGit();

async function example(t: TestContext): Promise<string> {
  const parent = mkdtempSync(join(tmpdir(), 'sluice-slurm-view-'));
  t.after(() => {
    removeTree(parent);
  });
  const root = join(parent, 'churn');
  await initWorkspace(root, { example: 'churn' });
  return root;
}

/** A job as stageJobs reports it, with Slurm's state and the engine's words for it. */
function job(stage: string, id: string, fields: Partial<StageJob> = {}): StageJob {
  return {
    stage,
    id,
    runId: `run-${id}`,
    logFile: `/work/churn/.sluice/logs/${stage}/run-${id}.log`,
    submittedAt: '2025-01-02T03:04:05.000Z',
    state: 'PENDING',
    reason: undefined,
    elapsedSeconds: undefined,
    ended: false,
    description: 'pending',
    ...fields,
  };
}

const RUNNING = (stage: string, id: string): StageJob =>
  job(stage, id, { state: 'RUNNING', elapsedSeconds: 80, description: 'running for 1m 20s' });
const BEHIND = (stage: string, id: string): StageJob =>
  job(stage, id, { reason: 'Dependency', description: 'pending (Dependency)' });
const COMPLETED = (stage: string, id: string): StageJob =>
  job(stage, id, {
    state: 'COMPLETED',
    ended: true,
    description: 'ended (completed): `sluice run --attach` records it',
  });

/** The example's one pipeline, read as the model reads it, with these jobs. */
async function churnPipeline(t: TestContext, jobs: StageJobs): Promise<PipelineNode> {
  const root = await example(t);
  const nodes = rootNodes([readFolderPipelines(await discoverFolder(root, { trusted: true }), jobs)]);
  const node = nodes[0];
  assert.ok(node?.kind === 'pipeline' && nodes.length === 1);
  return node;
}

function stageLooks(node: PipelineNode, progress: Record<string, RunProgress> = {}): NodeLook[] {
  return stageNodes(node, (_root, id) => progress[id]).map((stage) => describeNode(stage));
}

void describe('Slurm jobs in the Pipelines view', () => {
  void test('a running job spins, one pending behind it waits on a clock; both in the engine’s words, with Cancel', async (t) => {
    const pipeline = await churnPipeline(t, {
      jobs: [RUNNING('train.prepare', '101'), BEHIND('train.train', '102')],
      problem: undefined,
    });
    const [prepare, train] = stageLooks(pipeline);
    assert.ok(prepare && train);
    assert.equal(prepare.description, 'Slurm 101 · running for 1m 20s');
    assert.deepEqual(prepare.icon, { id: 'loading~spin', color: undefined });
    assert.equal(prepare.contextValue, 'stage.slurm');
    assert.deepEqual(prepare.tooltip.split('\n').slice(0, 3), [
      'train.prepare: running',
      'Slurm job 101: running for 1m 20s',
      'submitted 2025-01-02T03:04:05.000Z; its output: /work/churn/.sluice/logs/train.prepare/run-101.log',
    ]);
    assert.equal(train.description, 'Slurm 102 · pending (Dependency)');
    assert.deepEqual(train.icon, { id: 'clock', color: undefined });
    assert.equal(train.contextValue, 'stage.slurm');
    assert.match(train.tooltip, /^train\.train: queued\nSlurm job 102: pending \(Dependency\)\n/);
    assert.doesNotMatch(train.tooltip, /• /, 'no staleness reasons while the job decides what comes next');

    const look = describeNode(pipeline);
    assert.equal(look.description, '1 running, 1 queued');
    assert.equal(look.contextValue, 'pipeline.slurm');
    assert.match(look.tooltip, /^Pipeline train: 2 stages, 1 running, 1 queued\.$/);
  });

  void test('the editor’s own run and a job together: Run items go, Cancel stays', async (t) => {
    const pipeline = await churnPipeline(t, { jobs: [BEHIND('train.train', '102')], problem: undefined });
    const [prepare, train] = stageLooks(pipeline, {
      'train.prepare': { kind: 'finished', result: 'ran' },
      'train.train': { kind: 'running' },
    });
    assert.ok(prepare && train);
    assert.equal(prepare.contextValue, 'stage');
    assert.equal(train.contextValue, 'stage.running.slurm');
    // Where the job is wins over "running" while the editor's run waits for it.
    assert.equal(train.description, 'Slurm 102 · pending (Dependency)');
    assert.deepEqual(train.icon, { id: 'clock', color: undefined });
  });

  void test('a job that ended waits to be recorded: the stage keeps its state, says so, and offers no Cancel', async (t) => {
    const pipeline = await churnPipeline(t, {
      jobs: [COMPLETED('train.prepare', '101')],
      problem: undefined,
    });
    const [prepare] = stageLooks(pipeline);
    assert.ok(prepare);
    assert.equal(prepare.description, 'Slurm 101 · ended (completed): `sluice run --attach` records it');
    assert.deepEqual(prepare.icon, { id: 'circle-large-outline', color: 'testing.iconUnset' });
    assert.equal(prepare.contextValue, 'stage');
    assert.equal(describeNode(pipeline).description, '2 never run');
    assert.equal(describeNode(pipeline).contextValue, 'pipeline');
  });

  void test('Slurm cannot be asked (real journal, no Slurm on PATH): the job is listed, the problem in every tooltip', async (t) => {
    const root = await example(t);
    const sluiceDir = join(root, '.sluice');
    const journal = SlurmJournal.open(sluiceDir);
    journal.submitted({
      stage: 'train.prepare',
      job: '555',
      runId: 'run-555',
      logFile: join(sluiceDir, 'logs', 'run-555.log'),
      submittedAt: '2025-01-02T03:04:05.000Z',
      plan: 'digest',
      behind: {},
    });
    journal.close();
    const nowhere = mkdtempSync(join(tmpdir(), 'sluice-no-slurm-'));
    t.after(() => {
      removeTree(nowhere);
    });
    const jobs = await stageJobs(sluiceDir, new SlurmClient({ env: { PATH: nowhere } }));
    assert.ok(jobs.problem, 'squeue could not run');
    assert.equal(jobs.problem.code, 'slurm-not-found');
    assert.deepEqual(
      jobs.jobs.map((open) => [open.id, open.state]),
      [['555', undefined]],
    );

    const nodes = rootNodes([readFolderPipelines(await discoverFolder(root, { trusted: true }), jobs)]);
    const pipeline = nodes[0];
    assert.ok(pipeline?.kind === 'pipeline');
    const [prepare] = stageLooks(pipeline);
    assert.ok(prepare);
    assert.equal(prepare.description, 'Slurm 555 · state unknown (Slurm did not answer)');
    assert.deepEqual(
      prepare.icon,
      { id: 'clock', color: undefined },
      'still submitted, not known to have run',
    );
    assert.equal(prepare.contextValue, 'stage.slurm', 'Cancel stays: scancel may work where squeue did not');
    const problemLine = `Slurm could not be asked: ${jobs.problem.message}`;
    assert.ok(prepare.tooltip.split('\n').includes(problemLine), prepare.tooltip);
    assert.ok(describeNode(pipeline).tooltip.split('\n').includes(problemLine));

    const status = slurmJobsStatus([jobs]);
    assert.ok(status);
    assert.equal(status.text, '$(server-process) 1 Slurm job');
    assert.deepEqual(status.tooltip.split('\n'), [
      'Slurm jobs of this workspace: 1 in a state Slurm did not say.',
      problemLine,
      'Click to see them in the Pipelines view.',
    ]);
  });

  void test('a template counts its stages’ jobs and offers Cancel for all of them', () => {
    const stage = (key: string, state: StageView['state']): StageView => ({
      id: `p.fit@${key}`,
      pipeline: 'p',
      name: `fit@${key}`,
      run: 'true',
      state,
      reasons: [],
      upstream: [],
      outs: [],
      offset: 10,
      frozen: false,
      template: { name: 'fit', key },
    });
    const node: PipelineNode = {
      kind: 'pipeline',
      parent: undefined,
      root: '/work/p',
      manifestFile: '/work/p/sluice.yaml',
      pipeline: {
        name: 'p',
        stages: [stage('a', 'never-run'), stage('b', 'never-run'), stage('c', 'up-to-date')],
        templates: [{ name: 'fit', kind: 'foreach', offset: 10 }],
      },
      jobs: { jobs: [RUNNING('p.fit@a', '7'), BEHIND('p.fit@b', '8')], problem: undefined },
    };
    const [template] = pipelineChildren(node, () => undefined);
    assert.ok(template?.kind === 'template');
    const look = describeNode(template);
    assert.equal(look.description, '3 stages · 1 running, 1 queued');
    assert.equal(look.contextValue, 'template.slurm');
    assert.deepEqual(look.icon, { id: 'loading~spin', color: undefined });
    const untouched = { ...node, jobs: NO_JOBS };
    const [plain] = pipelineChildren(untouched, () => undefined);
    assert.ok(plain?.kind === 'template');
    assert.equal(describeNode(plain).contextValue, 'template');
  });

  void test('shown states: the run’s result first, then where the job is, then the records', () => {
    const stage: StageView = {
      id: 'p.s',
      pipeline: 'p',
      name: 's',
      run: 'true',
      state: 'stale',
      reasons: [],
      upstream: [],
      outs: [],
      offset: 0,
      frozen: false,
      template: undefined,
    };
    const running = RUNNING('p.s', '1');
    assert.equal(shownState(stage, undefined, running), 'running');
    assert.equal(shownState(stage, undefined, BEHIND('p.s', '1')), 'queued');
    assert.equal(shownState(stage, undefined, job('p.s', '1', { state: 'REQUEUE_HOLD' })), 'queued');
    assert.equal(shownState(stage, undefined, job('p.s', '1', { state: 'COMPLETING' })), 'running');
    assert.equal(shownState(stage, undefined, job('p.s', '1', { state: undefined })), 'queued');
    assert.equal(shownState(stage, undefined, COMPLETED('p.s', '1')), 'stale');
    assert.equal(shownState(stage, { kind: 'running' }, COMPLETED('p.s', '1')), 'running');
    assert.equal(shownState(stage, { kind: 'finished', result: 'ran' }, running), 'up-to-date');
    assert.equal(shownState(stage, { kind: 'finished', result: 'queued' }), 'queued');
    assert.equal(
      summarizeStages(['up-to-date', 'queued', 'running', 'failed', 'queued']),
      '1 running, 2 queued, 1 failed, 1 up to date',
    );
    assert.equal(summarizeTemplate(['queued', 'up-to-date']), '2 stages · 1 queued');
  });
});

void describe('the Slurm status bar item', () => {
  void test('counts the jobs queued or running in every folder; none, or only ended ones: no item', () => {
    assert.equal(slurmJobsStatus([]), undefined);
    assert.equal(
      slurmJobsStatus([NO_JOBS, { jobs: [COMPLETED('p.a', '1')], problem: undefined }]),
      undefined,
    );
    const status = slurmJobsStatus([
      { jobs: [RUNNING('p.a', '1'), BEHIND('p.b', '2'), COMPLETED('p.c', '3')], problem: undefined },
      { jobs: [BEHIND('q.a', '4')], problem: undefined },
    ]);
    assert.ok(status);
    assert.equal(status.text, '$(server-process) 3 Slurm jobs');
    assert.deepEqual(status.tooltip.split('\n'), [
      'Slurm jobs of this workspace: 1 running, 2 queued (pending).',
      'Click to see them in the Pipelines view.',
    ]);
  });
});
