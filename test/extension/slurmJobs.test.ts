// Slurm jobs in the editor, on a real one-node Slurm cluster started here,
// inside the extension host (test/support/services/slurm.ts: it waits while
// another test process has the machine's one cluster up, so the first hook may
// take minutes). A pipeline of slurm stages on the shared churn example is
// submitted by the built CLI (`sluice run --detach`, as from a terminal); the
// Pipelines view must show each stage's job and where it is in Slurm's queue,
// the status bar must count them, Cancel must stop a job (squeue says so),
// Show Log must follow a running job's output, and once the jobs ended and
// `sluice run --attach` recorded them, no job is left anywhere. A second
// scenario runs the pipeline from the editor and cancels that run: its jobs
// go too. `grow` holds its job until the test writes the release file, so no
// assertion races a job's end.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'mocha';
import * as vscode from 'vscode';
import type { RunJson } from '../../src/core/operations/results';
import type { SluiceApi } from '../../src/extension/sluiceExtension';
import { startSlurm, type SlurmCluster } from '../support/services/slurm';
import { pipelineNode, pipelineRows, stageNode } from './support/pipelinesTree';
import { activatedApi } from './support/sluiceExtension';
import { waitFor } from './support/waitFor';
import { revertAndCloseEditors, workspaceFolder } from './support/workspace';

const CLI = join(__dirname, '../../../dist/cli.js');
/** startSlurm waits up to 20 minutes for another test process's cluster, then starts its own. */
const CLUSTER_START_MS = 22 * 60_000;
const SCENARIO_MS = 90_000;
/** Long enough for a poll (every 5 s) and a job to start on a loaded machine. */
const JOB_MS = 30_000;
/** While this file is missing, `grow` prints a line every 0.2 s (for at most 2 minutes). */
const RELEASE = 'slurm-release';
const OUTPUTS = ['grow.out', 'after.out', 'doomed.out', RELEASE];

const CLUSTER_PIPELINE = [
  '  cluster:',
  '    executor: slurm',
  '    stages:',
  '      grow:',
  `        run: 'i=0; while [ ! -e ${RELEASE} ] && [ $i -lt 600 ]; do i=$((i+1)); echo "line $i"; sleep 0.2; done; echo grown > grow.out'`,
  '        outs: [grow.out]',
  '      after:',
  "        run: 'cat grow.out > after.out'",
  '        deps: [grow.out]',
  '        outs: [after.out]',
  '      doomed:',
  "        run: 'sleep 300; echo never > doomed.out'",
  '        outs: [doomed.out]',
  '',
].join('\n');

let api: SluiceApi;
let root: string;
let cluster: SlurmCluster | undefined;
/** Set once the hook that changes them ran: undefined, there is nothing to put back. */
let manifest: string | undefined;
let refsBefore: Set<string> | undefined;

interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The built CLI in the workspace, as a terminal runs it; not awaited synchronously, so the editor keeps reacting. */
function sluice(...args: string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: root,
      // Under @vscode/test-electron the host's executable is Electron's, which this makes a plain Node.js.
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => {
      resolve({ status, stdout, stderr });
    });
  });
}

function git(...args: string[]): string {
  const result = spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}

function sluiceRefs(): Set<string> {
  return new Set(git('for-each-ref', '--format=%(refname)', 'refs/sluice/').split('\n'));
}

/** What squeue says of a job now (`RUNNING`, `CANCELLED`, …); '' once the controller has forgotten it. */
function squeueState(id: string): string {
  const asked = spawnSync('squeue', ['-h', '-t', 'all', '-j', id, '-o', '%T'], { encoding: 'utf8' });
  return asked.status === 0 ? asked.stdout.trim() : '';
}

/** Each stage's job id, from what `run --json` printed. */
function jobIds(run: RunJson): Map<string, string> {
  return new Map(
    run.stages.flatMap((stage) => {
      const job = stage.data?.['job'];
      return typeof job === 'string' ? [[stage.stage, job] as const] : [];
    }),
  );
}

/** The cluster pipeline's rows as "label: description", by stage name. */
async function rowsByStage(): Promise<Map<string, string>> {
  return new Map(
    (await pipelineRows(api, 'cluster')).map((row) => [row.slice(0, row.indexOf(':')), row] as const),
  );
}

async function untilRows(what: string, accept: (rows: Map<string, string>) => boolean): Promise<void> {
  let shown: string[] = [];
  try {
    await waitFor(
      what,
      async () => {
        const rows = await rowsByStage();
        shown = [...rows.values()];
        return accept(rows);
      },
      JOB_MS,
    );
  } catch (error) {
    throw new Error(
      `${error instanceof Error ? error.message : String(error)} The view showed ${JSON.stringify(shown)}.`,
      { cause: error },
    );
  }
}

async function untilStatusBar(text: string): Promise<void> {
  await waitFor(
    `the Slurm status bar item to read "${text}"`,
    () => api.slurmJobsStatusBar().text === text,
    JOB_MS,
  );
}

async function tooltipOf(pipeline: string, stage: string): Promise<string> {
  const { tooltip } = await api.pipelinesView.getTreeItem(await stageNode(api, pipeline, stage));
  return typeof tooltip === 'string' ? tooltip : '';
}

/**
 * The cluster's folder goes in the machine's /tmp, not in this host's TMPDIR:
 * that is inside the harness's private scratch folder (mode 0700), and munged,
 * which runs as the munge user, must pass through every folder above its socket.
 */
async function startSlurmOutsideScratch(): Promise<SlurmCluster> {
  const scratch = process.env['TMPDIR'];
  process.env['TMPDIR'] = '/tmp';
  try {
    return await startSlurm();
  } finally {
    if (scratch === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = scratch;
  }
}

describe('Slurm jobs in the Pipelines view, on a real cluster', function () {
  this.timeout(SCENARIO_MS);

  before(async function () {
    this.timeout(CLUSTER_START_MS);
    api = await activatedApi();
    root = workspaceFolder().uri.fsPath;
    assert.ok(vscode.workspace.isTrusted, 'these tests need a trusted workspace');
    // The first read may still be under way (with no watcher yet): the manifest is changed after it.
    await api.refresh();
    cluster = await startSlurmOutsideScratch();
    refsBefore = sluiceRefs();
    const original = readFileSync(join(root, 'sluice.yaml'), 'utf8');
    manifest = original;
    writeFileSync(
      join(root, 'sluice.yaml'),
      original.replace('\nenvironments:', `${CLUSTER_PIPELINE}\nenvironments:`),
    );
    await waitFor('pipeline cluster to be listed', () => pipelineNode(api, 'cluster'));
  });

  after(async function () {
    this.timeout(60_000);
    await revertAndCloseEditors();
    await cluster?.stop();
    if (manifest !== undefined) writeFileSync(join(root, 'sluice.yaml'), manifest);
    for (const file of OUTPUTS) rmSync(join(root, file), { force: true });
    // Jobs a failed test left open are gone with the cluster: nothing is left to record.
    rmSync(join(root, '.sluice/state/slurm-jobs.jsonl'), { force: true });
    if (refsBefore !== undefined)
      for (const ref of sluiceRefs()) if (ref !== '' && !refsBefore.has(ref)) git('update-ref', '-d', ref);
    await api.refresh();
  });

  let jobs = new Map<string, string>();

  it('after `sluice run --detach` each stage shows its job, queued or running, and the status bar counts them', async () => {
    const detached = await sluice('run', 'cluster', '--detach', '--json');
    assert.equal(detached.status, 0, detached.stderr);
    const report = JSON.parse(detached.stdout) as RunJson;
    assert.deepEqual(report.stages.map((stage) => `${stage.stage} ${stage.result}`).sort(), [
      'after queued',
      'doomed queued',
      'grow queued',
    ]);
    jobs = jobIds(report);
    const [grow, after, doomed] = ['grow', 'after', 'doomed'].map((name) => jobs.get(name)!);

    // The journal's change shows the jobs at once; the polls then follow them into their nodes.
    await untilRows(
      'grow and doomed running, after pending behind grow',
      (rows) =>
        new RegExp(`^grow: Slurm ${grow!} · running for \\d`).test(rows.get('grow') ?? '') &&
        rows.get('after') === `after: Slurm ${after!} · pending (Dependency)` &&
        new RegExp(`^doomed: Slurm ${doomed!} · running for \\d`).test(rows.get('doomed') ?? ''),
    );
    const growItem = await api.pipelinesView.getTreeItem(await stageNode(api, 'cluster', 'grow'));
    assert.equal((growItem.iconPath as vscode.ThemeIcon).id, 'loading~spin');
    assert.equal(growItem.contextValue, 'stage.slurm', 'Cancel Slurm Job is offered');
    assert.match(
      await tooltipOf('cluster', 'grow'),
      new RegExp(
        `^cluster\\.grow: running\\nSlurm job ${grow!}: running for .*\\nsubmitted .*; its output: /`,
      ),
    );
    const afterItem = await api.pipelinesView.getTreeItem(await stageNode(api, 'cluster', 'after'));
    assert.equal((afterItem.iconPath as vscode.ThemeIcon).id, 'clock');
    assert.match(
      await tooltipOf('cluster', 'after'),
      new RegExp(`^cluster\\.after: queued\\nSlurm job ${after!}: pending \\(Dependency\\)`),
    );
    const pipeline = await api.pipelinesView.getTreeItem((await pipelineNode(api, 'cluster'))!);
    assert.equal(pipeline.description, '2 running, 1 queued');
    assert.equal(pipeline.contextValue, 'pipeline.slurm');

    await untilStatusBar('$(server-process) 3 Slurm jobs');
    assert.match(
      api.slurmJobsStatusBar().tooltip,
      /^Slurm jobs of this workspace: 2 running, 1 queued \(pending\)\./,
    );
  });

  it('Show Log on a running job follows its output file as it grows', async () => {
    const editor = await vscode.commands.executeCommand<vscode.TextEditor>(
      'sluice.showStageLog',
      await stageNode(api, 'cluster', 'grow'),
    );
    assert.equal(editor.document.uri.scheme, 'sluice-stage-log');
    const text = editor.document.getText();
    assert.match(text, new RegExp(`— Slurm job ${jobs.get('grow')!}: running for .*; shown as it grows\\n$`));
    const printed = (): number =>
      editor.document
        .getText()
        .split('\n')
        .filter((line) => /^line \d+$/.test(line)).length;
    const first = printed();
    await waitFor(`the log to grow beyond ${String(first)} lines`, () => printed() >= first + 3, 10_000);
  });

  it('Cancel Slurm Job on a stage cancels that job alone: Slurm says so and the count drops', async () => {
    const doomed = jobs.get('doomed')!;
    const cancelled = await vscode.commands.executeCommand<string[]>(
      'sluice.cancelSlurmJob',
      await stageNode(api, 'cluster', 'doomed'),
      { confirmed: true },
    );
    assert.deepEqual(cancelled, [doomed]);
    await waitFor(`squeue to say job ${doomed} is cancelled (or forgotten)`, () => {
      const state = squeueState(doomed);
      return state === 'CANCELLED' || state === '';
    });
    assert.equal(squeueState(jobs.get('grow')!), 'RUNNING', 'the other jobs go on');
    await untilStatusBar('$(server-process) 2 Slurm jobs');
    await untilRows(
      'doomed to show its job ended, cancelled',
      (rows) =>
        rows.get('doomed') ===
        `doomed: Slurm ${doomed} · ended (cancelled): \`sluice run --attach\` records it`,
    );
    const item = await api.pipelinesView.getTreeItem(await stageNode(api, 'cluster', 'doomed'));
    assert.equal(item.contextValue, 'stage', 'nothing left to cancel');
  });

  it('once the jobs end and `sluice run --attach` records them, the stages are up to date and no job is counted', async () => {
    writeFileSync(join(root, RELEASE), '');
    await untilRows(
      'grow and after to show their jobs ended',
      (rows) =>
        /^grow: Slurm \d+ · ended \(completed\)/.test(rows.get('grow') ?? '') &&
        /^after: Slurm \d+ · ended \(completed\)/.test(rows.get('after') ?? ''),
    );
    await untilStatusBar('');
    const attached = await sluice('run', 'cluster', '--attach', '--json');
    const report = JSON.parse(attached.stdout) as RunJson;
    assert.deepEqual(report.stages.map((stage) => `${stage.stage} ${stage.result}`).sort(), [
      'after ran',
      'doomed failed',
      'grow ran',
    ]);
    assert.equal(readFileSync(join(root, 'after.out'), 'utf8'), 'grown\n');
    assert.ok(!existsSync(join(root, '.sluice/state/slurm-jobs.jsonl')), 'no job is open');
    await untilRows(
      'the recorded states',
      (rows) =>
        rows.get('grow') === 'grow: up to date' &&
        rows.get('after') === 'after: up to date' &&
        rows.get('doomed') === 'doomed: failed',
    );
    const pipeline = await api.pipelinesView.getTreeItem((await pipelineNode(api, 'cluster'))!);
    assert.equal(pipeline.contextValue, 'pipeline');
    assert.equal(api.slurmJobsStatusBar().text, '');
  });

  it('Cancel Slurm Jobs on a pipeline cancels every job of it', async () => {
    rmSync(join(root, RELEASE));
    const detached = await sluice('run', 'cluster', '--detach', '--force', '--json');
    assert.equal(detached.status, 0, detached.stderr);
    const ids = [...jobIds(JSON.parse(detached.stdout) as RunJson).values()].sort();
    assert.equal(ids.length, 3);
    await untilStatusBar('$(server-process) 3 Slurm jobs');
    const cancelled = await vscode.commands.executeCommand<string[]>(
      'sluice.cancelSlurmJobs',
      await pipelineNode(api, 'cluster'),
      { confirmed: true },
    );
    assert.deepEqual([...cancelled].sort(), ids);
    await waitFor('squeue to say every job is cancelled (or forgotten)', () =>
      ids.every((id) => ['CANCELLED', ''].includes(squeueState(id))),
    );
    await untilStatusBar('');
    const attached = await sluice('run', 'cluster', '--attach', '--json');
    assert.ok(!existsSync(join(root, '.sluice/state/slurm-jobs.jsonl')), attached.stderr);
  });

  it("a run the editor started shows its jobs, and its Cancel scancels them (the runner's own path)", async () => {
    const controller = new AbortController();
    const run = vscode.commands.executeCommand('sluice.runPipeline', {
      pipeline: 'cluster',
      force: true,
      signal: controller.signal,
    });
    let grow = '';
    await untilRows('grow to show the job of the editor’s run, running', (rows) => {
      grow = /^grow: Slurm (\d+) · running for/.exec(rows.get('grow') ?? '')?.[1] ?? '';
      return grow !== '';
    });
    await untilStatusBar('$(server-process) 3 Slurm jobs');
    controller.abort();
    // A cancelled command resolves with nothing (the wrapper reports the cancel), not a report.
    assert.equal(await run, undefined);
    assert.ok(['CANCELLED', ''].includes(squeueState(grow)), `job ${grow} is ${squeueState(grow)}`);
    await untilStatusBar('');
    assert.ok(!existsSync(join(root, '.sluice/state/slurm-jobs.jsonl')), 'the run recorded its jobs');
  });
});
