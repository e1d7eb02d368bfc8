// What the editor says when a command's result comes back, on real engine
// results: each is turned into the JSON-contract object with the builder the
// CLI uses (what `sluice … --json` prints), and the extension's rendering
// functions read only that object. Each message is rendered from the object as
// printed and parsed again, so nothing outside the contract can reach it.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { comparisonJson } from '../../src/core/environments/comparison';
import {
  gatesJson,
  planPromotion,
  planRollback,
  promote,
  rollback,
} from '../../src/core/environments/promotion';
import { stageRelease } from '../../src/core/environments/staging';
import { shortId } from '../../src/core/format';
import {
  deploymentJson,
  restoreJson,
  runJson,
  runStageJson,
  snapshotJson,
  stageJson,
  type DeploymentJson,
} from '../../src/core/operations/results';
import { openPipelines } from '../../src/core/pipelines/context';
import { runPipelines, type StageOutcome } from '../../src/core/pipelines/runner';
import { restoreDataset } from '../../src/core/snapshots/restore';
import { listSnapshots } from '../../src/core/snapshots/snapshots';
import { openWorkspace, type Workspace } from '../../src/core/workspace';
import {
  deploymentMessage,
  restoreMessage,
  runMessage,
  runStageLine,
  runSummary,
  snapshotMessage,
  stageMessage,
} from '../../src/extension/resultMessages';
import { environmentWorkspace } from '../support/environments';
import {
  clearVariablesRefusedBySimpleGit,
  createWorkspace,
  removeTree,
  snapshotInProcess,
  tree,
  writeTree,
} from '../support/workspace';

clearVariablesRefusedBySimpleGit();

/** The object as `--json` prints it and a reader parses it: only the contract's fields survive. */
function printed<T>(json: T): T {
  return JSON.parse(JSON.stringify(json)) as T;
}

describe('the editor renders snapshot and restore results from the contract', () => {
  let root = '';
  before(() => {
    root = createWorkspace({ events: 'data/events', users: 'data/users.csv' }, 'sluice-messages-');
    writeTree(join(root, 'data/events'), tree({ 'a.csv': 'a,1\n', 'b.csv': 'b,2\n' }));
    writeFileSync(join(root, 'data/users.csv'), 'id\n1\n');
  });
  after(() => {
    removeTree(root);
  });

  test('Snapshot Datasets: every dataset recorded, then only the one that changed', async () => {
    const first = snapshotJson([
      await snapshotInProcess(root, 'events', 'first'),
      await snapshotInProcess(root, 'users', 'first'),
    ]);
    const [events, users] = first.snapshots;
    assert.ok(events?.id && users?.id);
    assert.deepEqual(snapshotMessage(printed(first)), {
      failed: false,
      text: `recorded events ${shortId(events.id)}, users ${shortId(users.id)}.`,
    });

    writeFileSync(join(root, 'data/users.csv'), 'id\n1\n2\n');
    const second = snapshotJson([
      await snapshotInProcess(root, 'events', 'second'),
      await snapshotInProcess(root, 'users', 'second'),
    ]);
    const changed = second.snapshots[1]!;
    assert.equal(second.snapshots[0]!.changed, false);
    assert.ok(changed.id !== null);
    assert.deepEqual(snapshotMessage(printed(second)), {
      failed: false,
      text: `recorded users ${shortId(changed.id)}; unchanged: events.`,
    });
  });

  test('Restore Snapshot: the counts, and the snapshot that holds the files it replaced', async () => {
    const workspace = await openWorkspace(root);
    const [latest] = await listSnapshots(workspace, 'events');
    assert.ok(latest, 'events has a snapshot');
    const id = latest.id;
    writeFileSync(join(root, 'data/events/a.csv'), 'edited, never snapshotted\n');
    writeFileSync(join(root, 'data/events/new.csv'), 'new\n');
    const json = restoreJson(await restoreDataset(workspace, 'events', id, { force: true }));
    assert.ok(json.saved !== null, 'the edited files were saved first');
    assert.deepEqual(restoreMessage(printed(json)), {
      failed: false,
      text:
        `events: restored ${shortId(id)} (1 written, 1 removed). ` +
        `The files it replaced are saved as snapshot ${shortId(json.saved)}.`,
    });
    const again = restoreJson(await restoreDataset(workspace, 'events', id, { force: false }));
    assert.equal(
      restoreMessage(printed(again)).text,
      `events: restored ${shortId(id)} (0 written, 0 removed).`,
    );
  });
});

// A pipeline whose check reads the data (so bad data makes a release fail), a
// pipeline that always fails, and production behind a health check the test turns off.
const manifest = (unhealthy: string): string => `version: 1
datasets:
  raw:
    path: raw
pipelines:
  p:
    stages:
      train:
        run: mkdir -p out && cp raw/a.txt out/a.txt
        datasets: [raw]
        outs: [out]
    checks:
      - name: data is good
        run: grep -q good out/a.txt
  broken:
    stages:
      fails:
        run: exit 3
        outs: [broken.out]
environments:
  staging:
    from: workspace
    pipeline: p
    deploy:
      path: deploy/staging
  production:
    from: staging
    deploy:
      path: deploy/production
    health:
      run: test ! -e ${unhealthy}
`;

describe('the editor renders runs, stages, promotions and rollbacks from the contract', () => {
  let root = '';
  let flags = '';
  let unhealthy = '';
  before(async () => {
    flags = mkdtempSync(join(tmpdir(), 'sluice-messages-flags-'));
    unhealthy = join(flags, 'unhealthy');
    root = environmentWorkspace(
      manifest(unhealthy),
      { '.gitignore': '.sluice/\ndeploy/\nraw/\nout/\nbroken.out\n' },
      'sluice-messages-envs-',
    );
    mkdirSync(join(root, 'raw'));
    writeFileSync(join(root, 'raw/a.txt'), 'good first\n');
    await snapshotInProcess(root, 'raw', 'first');
  });
  after(() => {
    removeTree(root);
    rmSync(flags, { recursive: true, force: true });
  });

  test('Run Pipeline: the counts when all passed; a failed check and a failed stage are errors', async () => {
    const finished: StageOutcome[] = [];
    const run = async (target: string) =>
      runJson(
        await runPipelines(openPipelines(await openWorkspace(root)), {
          targets: [target],
          events: { stageFinished: (_stage, outcome) => finished.push(outcome) },
        }),
        undefined,
      );

    const passed = printed(await run('p'));
    assert.deepEqual(runMessage('p', passed), {
      failed: false,
      text: 'p: 1 ran, 0 restored, 0 up to date, 0 failed, checks 1/1 passed',
      failedStage: undefined,
    });
    // Each stage as it finishes: the tree's state and the log's line come from the same object.
    const trained = runStageJson(finished[0]!);
    assert.equal(trained.result, 'ran');
    assert.match(runStageLine(printed(trained)), /^ran p\.train in \d+\.\d s$/);

    writeFileSync(join(root, 'raw/a.txt'), 'bad\n');
    const badData = printed(await run('p'));
    assert.equal(runSummary(badData), '1 ran, 0 restored, 0 up to date, 0 failed, checks 0/1 passed');
    assert.deepEqual(runMessage('p', badData), {
      failed: true,
      text:
        'p: 1 ran, 0 restored, 0 up to date, 0 failed, checks 0/1 passed; ' +
        'check data is good failed: exit code 1',
      failedStage: undefined,
    });
    writeFileSync(join(root, 'raw/a.txt'), 'good first\n');

    const broken = printed(await run('broken'));
    const message = runMessage('broken', broken);
    assert.equal(message.failed, true);
    assert.equal(message.text, 'broken: 0 ran, 0 restored, 0 up to date, 1 failed');
    assert.equal(`${message.failedStage?.pipeline}.${message.failedStage?.stage}`, 'broken.fails');
    assert.match(runStageLine(broken.stages[0]!), /^failed broken\.fails \(exit code 3\)$/);
  });

  let first = '';
  let second = '';

  test('Stage Release: live in staging, with the release and its code', async () => {
    const json = printed(stageJson(await stageRelease(await openWorkspace(root))));
    first = json.release.id;
    const code = json.release.code;
    assert.deepEqual(stageMessage(json), {
      failed: false,
      text: `staging: release ${shortId(first)} (code ${shortId(code)}) is live.`,
    });
  });

  test('Promote and Roll Back: what is live now, and what was', async () => {
    writeFileSync(join(root, 'raw/a.txt'), 'good second\n');
    await snapshotInProcess(root, 'raw', 'second');
    const workspace = await openWorkspace(root);
    const promoted = await promoteInto(workspace);
    assert.deepEqual(deploymentMessage(promoted), {
      failed: false,
      text: `production: release ${shortId(first)} is live.`,
    });
    second = stageJson(await stageRelease(workspace)).release.id;
    assert.deepEqual(deploymentMessage(await promoteInto(workspace)), {
      failed: false,
      text: `production: release ${shortId(second)} is live (was ${shortId(first)}).`,
    });
    const plan = await planRollback(workspace, 'production', { to: first });
    const back = printed(
      deploymentJson(await rollback(workspace, plan), { comparison: comparisonJson(plan.comparison) }),
    );
    assert.deepEqual(deploymentMessage(back), {
      failed: false,
      text: `production: back on release ${shortId(first)} (was ${shortId(second)}).`,
    });
  });

  test('a failed health check: the failure, the release it rolled back to, and where to read why', async () => {
    const workspace = await openWorkspace(root);
    writeFileSync(unhealthy, '');
    try {
      const failed = await promoteInto(workspace);
      assert.equal(failed.rolledBack, true);
      assert.deepEqual(deploymentMessage(failed), {
        failed: true,
        text: `production: ${failed.failure!}. Rolled back to ${shortId(first)}. ` + 'The history says why.',
      });
      assert.match(failed.failure!, /health check/);
    } finally {
      rmSync(unhealthy);
    }
  });

  test('Stage Release of data that fails a check: recorded, not deployed, and what did not pass', async () => {
    writeFileSync(join(root, 'raw/a.txt'), 'bad\n');
    await snapshotInProcess(root, 'raw', 'bad');
    const json = printed(stageJson(await stageRelease(await openWorkspace(root))));
    assert.equal(json.passed, false);
    assert.deepEqual(json.release.problems, ['data is good: fail (exit code 1)']);
    assert.deepEqual(stageMessage(json), {
      failed: true,
      text:
        `staging: release ${shortId(json.release.id)} (code ${shortId(json.release.code)}) was recorded ` +
        'but not deployed: data is good: fail (exit code 1). Fix it, commit, and stage again.',
    });
  });
});

/** Promotes what is live in staging into production, read as `promote --json` prints it. */
async function promoteInto(workspace: Workspace): Promise<DeploymentJson> {
  const plan = await planPromotion(workspace, { to: 'production' });
  return printed(
    deploymentJson(await promote(workspace, plan), {
      gates: gatesJson(plan),
      unchanged: plan.comparison.unchanged,
      comparison: comparisonJson(plan.comparison),
    }),
  );
}
