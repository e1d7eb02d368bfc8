// Issue 13, one owner per decision: the engine computes the release comparison
// shown before promote and rollback, the rollback target, the gate refusal,
// what is live where and the summary of a run; the CLI prints what the engine
// computed. On a real repository: two releases that differ in code, data,
// params and metrics, read both in-process and through the built CLI.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  compareLiveReleases,
  comparisonVerdict,
  describeComparison,
  type ReleaseComparison,
} from '../../src/core/environments/comparison';
import type { RecordedDeployment } from '../../src/core/environments/history';
import { listEnvironments, readLiveEnvironments } from '../../src/core/environments/live';
import { gateRefusal, planPromotion, planRollback, promote } from '../../src/core/environments/promotion';
import { listReleaseIds, resolveIdPrefix } from '../../src/core/environments/releases';
import { resolveRollbackTarget, rollbackChoices } from '../../src/core/environments/rollbackTarget';
import { SluiceError } from '../../src/core/errors';
import { formatNumber, formatSigned, shortId, SHORT_ID_LENGTH } from '../../src/core/format';
import { countRun, describeRunCounts } from '../../src/core/pipelines/runSummary';
import { openWorkspace } from '../../src/core/workspace';
import {
  commitEverything,
  environmentWorkspace,
  onlyJson,
  releaseOf,
  stageJson,
} from '../support/environments';
import { clearVariablesRefusedBySimpleGit, removeTree, sluice, sluiceJson } from '../support/workspace';

clearVariablesRefusedBySimpleGit();

// Production is declared first: what is live where is listed in promotion order all the same.
const manifest = (auc: number): string => `version: 1
datasets:
  raw:
    path: raw
params: params.yaml
pipelines:
  p:
    stages:
      train:
        run: mkdir -p out && cp raw/a.txt out/a.txt && printf '{"auc":${auc}}' > metrics.json
        datasets: [raw]
        params: [train.epochs]
        outs: [out]
        metrics: [metrics.json]
environments:
  production:
    from: staging
    gates:
      - metric: metrics.json#auc
        min: 0.85
    deploy:
      path: deploy/production
  staging:
    from: workspace
    deploy:
      path: deploy/staging
`;

/** Asserts that `run` rejects with a SluiceError of `code`, and returns it. */
async function refusal(run: () => Promise<unknown>, code: string): Promise<SluiceError> {
  try {
    await run();
  } catch (error) {
    assert.ok(error instanceof SluiceError, String(error));
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected a refusal with code ${code}`);
}

function lineTexts(comparison: ReleaseComparison, heading: string): string[] {
  const section = describeComparison(comparison).find((candidate) => candidate.heading === heading);
  return section?.lines.map((line) => line.text) ?? [];
}

describe('issue 13: the engine owns each decision, the CLI prints it', () => {
  let root = '';
  let first = '';
  let second = '';

  before(() => {
    root = environmentWorkspace(manifest(0.9), {
      '.gitignore': '.sluice/\ndeploy/\nraw/\nout/\nmetrics.json\n',
      'params.yaml': 'train:\n  epochs: 10\n',
    });
    mkdirSync(join(root, 'raw'));
    writeFileSync(join(root, 'raw/a.txt'), 'first');
    sluiceJson(['snapshot', '-m', 'first'], root);
    const staged = stageJson(root);
    assert.equal(staged.status, 0, JSON.stringify(staged.json));
    first = releaseOf(staged.json);
    sluiceJson(['promote', '--yes'], root);
    // The second release differs in every way: code, data, a param and the metric (below production's gate).
    writeFileSync(join(root, 'raw/a.txt'), 'second');
    sluiceJson(['snapshot', '-m', 'second'], root);
    writeFileSync(join(root, 'params.yaml'), 'train:\n  epochs: 20\n');
    writeFileSync(join(root, 'sluice.yaml'), manifest(0.8));
    commitEverything(root, 'Train longer');
    const again = stageJson(root);
    assert.equal(again.status, 0, JSON.stringify(again.json));
    second = releaseOf(again.json);
  });
  after(() => {
    removeTree(root);
  });

  test('the comparison before a promotion names the commit, the changed file, the param and the metric delta', async () => {
    const workspace = await openWorkspace(root);
    const plan = await planPromotion(workspace, { to: 'production' });
    const { comparison } = plan;
    assert.equal(comparison.from?.id, first);
    assert.equal(comparison.to.id, second);
    assert.equal(comparison.code.direction, 'forward');
    assert.deepEqual(
      comparison.code.commits.map((commit) => commit.subject),
      ['Train longer'],
    );
    assert.deepEqual(
      comparison.data.map(({ dataset, added, modified, removed, sameContent }) => ({
        dataset,
        added,
        modified,
        removed,
        sameContent,
      })),
      [{ dataset: 'raw', added: 0, modified: 1, removed: 0, sameContent: false }],
    );
    assert.deepEqual(comparison.params, [{ name: 'train.epochs', before: 10, after: 20 }]);
    assert.deepEqual(comparison.metrics, [{ name: 'metrics.json#auc', before: 0.9, after: 0.8 }]);
    assert.equal(comparison.unchanged, false);
    assert.equal(comparisonVerdict(comparison), undefined);
    assert.match(lineTexts(comparison, 'Code')[0] ?? '', /: 1 commit added$/);
    assert.match(
      lineTexts(comparison, 'Data')[0] ?? '',
      /^raw: \w{12} → \w{12}: 0 added, 1 modified, 0 removed$/,
    );
    assert.deepEqual(lineTexts(comparison, 'Params'), ['train.epochs: 10 → 20']);
    assert.deepEqual(lineTexts(comparison, 'Metrics'), ['metrics.json#auc: 0.9 → 0.8 (-0.1)']);

    // Compare Environments in the editor reads the same facts from what is live.
    const live = await compareLiveReleases(workspace, 'production', 'staging');
    assert.deepEqual(describeComparison(live), describeComparison(comparison));
  });

  test('a gate refusal is one typed value: every gate in its data, the same words from promote()', async () => {
    const workspace = await openWorkspace(root);
    const plan = await planPromotion(workspace, { to: 'production' });
    const refused = gateRefusal(plan);
    assert.ok(refused, 'the auc gate refuses 0.8');
    assert.equal(refused.code, 'gate-refused');
    assert.deepEqual(refused.data['gates'], [
      { name: 'metrics.json#auc min 0.85', passed: false, detail: '0.8 < 0.85' },
    ]);
    assert.match(
      refused.message,
      new RegExp(`^Promotion of ${shortId(second)} into production refused by gate`),
    );
    const thrown = await refusal(() => promote(workspace, plan), 'gate-refused');
    assert.equal(thrown.message, refused.message);
    assert.equal(thrown.hint, refused.hint);
  });

  test('sluice promote prints the comparison the editor shows, then the refusal', () => {
    const result = sluice(['promote', '--yes'], root);
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stdout, /^staging → production: release \w{12}$/m);
    assert.match(result.stdout, /^ {6}\w{12} Train longer$/m);
    assert.match(result.stdout, /^ {4}raw: \w{12} → \w{12}: 0 added, 1 modified, 0 removed$/m);
    assert.match(result.stdout, /^ {4}train\.epochs: 10 → 20$/m);
    assert.match(result.stdout, /^ {2}gate FAIL metrics\.json#auc min 0\.85: 0\.8 < 0\.85$/m);
    assert.match(result.stderr, /refused by gate/);
  });

  test('the rollback target: the one before by default, a prefix resolved in the history, typed refusals', async () => {
    const workspace = await openWorkspace(root);
    assert.equal((await resolveRollbackTarget(workspace.git, 'staging', undefined)).release, first);
    assert.equal((await resolveRollbackTarget(workspace.git, 'staging', first.slice(0, 6))).release, first);
    await refusal(() => resolveRollbackTarget(workspace.git, 'staging', second), 'already-live');
    await refusal(
      () => resolveRollbackTarget(workspace.git, 'production', undefined),
      'nothing-to-roll-back',
    );
    await refusal(() => resolveRollbackTarget(workspace.git, 'production', second), 'release-never-live');
    await refusal(() => resolveRollbackTarget(workspace.git, 'staging', 'not-hex'), 'not-a-release-id');
    const ids = await listReleaseIds(workspace.git);
    const unknown = ['0000', '1111', '2222', '3333'].find(
      (prefix) => !ids.some((id) => id.startsWith(prefix)),
    )!;
    await refusal(() => resolveRollbackTarget(workspace.git, 'staging', unknown), 'not-found');

    const plan = await planRollback(workspace, 'staging');
    assert.equal(plan.target.id, first);
    assert.equal(plan.final, false);
    assert.deepEqual(plan.comparison.code.direction, 'backward');
    assert.deepEqual(lineTexts(plan.comparison, 'Params'), ['train.epochs: 20 → 10']);
  });

  test('an ambiguous prefix names every candidate; each earlier release is offered once, newest first', () => {
    const candidates = ['abcd1111', 'abcd2222'];
    try {
      resolveIdPrefix('abcd', [...candidates, 'ffff0000'], 'hint');
      assert.fail('abcd fits two ids');
    } catch (error) {
      assert.ok(error instanceof SluiceError);
      assert.equal(error.code, 'ambiguous-id');
      assert.deepEqual(error.data['candidates'], candidates);
    }
    const deployed = (release: string, commit: string): RecordedDeployment => ({
      release,
      commit,
      action: 'promote',
      time: '2026-01-01T00:00:00Z',
      actor: 'Ada',
      reason: null,
    });
    const history = [
      deployed('c', '5'),
      deployed('b', '4'),
      deployed('c', '3'),
      deployed('a', '2'),
      deployed('b', '1'),
    ];
    assert.deepEqual(
      rollbackChoices(history).map((deployment) => [deployment.release, deployment.commit]),
      [
        ['b', '4'],
        ['a', '2'],
      ],
    );
    assert.deepEqual(rollbackChoices([]), []);
  });

  test('what is live where, in promotion order, for envs, status and the editor alike', async () => {
    const workspace = await openWorkspace(root);
    const live = await readLiveEnvironments(workspace);
    assert.deepEqual(
      live.map((environment) => [
        environment.name,
        environment.final,
        environment.history.kind === 'read' ? environment.history.live?.id : 'unread',
      ]),
      [
        ['staging', false, second],
        ['production', true, first],
      ],
    );
    const listed = await listEnvironments(workspace);
    assert.deepEqual(
      listed.map((environment) => [environment.name, environment.release]),
      [
        ['staging', second],
        ['production', first],
      ],
    );
    const envs = onlyJson(sluice(['envs', '--json'], root))['environments'] as {
      name: string;
      release: string;
    }[];
    assert.deepEqual(
      envs.map((environment) => [environment.name, environment.release]),
      [
        ['staging', second],
        ['production', first],
      ],
    );
  });

  test('sluice rollback prints the comparison and carries it under --json', () => {
    const result = sluice(['rollback', 'staging', '--json'], root);
    assert.equal(result.status, 0, result.stderr);
    const json = onlyJson(result);
    assert.equal(json['release'], first);
    const comparison = json['comparison'] as {
      from: { label: string; release: string };
      to: { label: string; release: string };
      params: { name: string; before: unknown; after: unknown }[];
    };
    assert.deepEqual(
      [comparison.from.label, comparison.from.release, comparison.to.label, comparison.to.release],
      ['staging', second, 'rollback', first],
    );
    assert.deepEqual(comparison.params, [{ name: 'train.epochs', before: 20, after: 10 }]);
  });

  test('a run is summarized once: the same counts in --json, the same words in the terminal', () => {
    const ran = sluiceJson(['run', '--json'], root) as { summary: ReturnType<typeof countRun> };
    assert.equal(
      ran.summary.ran + ran.summary.restored + ran.summary.skipped,
      1,
      JSON.stringify(ran.summary),
    );
    const again = sluice(['run'], root);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /^0 ran, 0 restored, 1 up to date, 0 failed\.$/m);
    assert.equal(
      describeRunCounts(
        countRun({
          stages: [{ result: 'ran' }, { result: 'failed' }, { result: 'not-run' }],
          checks: [{ outcome: 'pass' }, { outcome: 'fail' }],
        }),
      ),
      '1 ran, 0 restored, 0 up to date, 1 failed, 1 not run, checks 1/2 passed',
    );
  });

  test('one short id and one number format for every face', () => {
    assert.equal(SHORT_ID_LENGTH, 12);
    assert.equal(shortId(first), first.slice(0, 12));
    assert.equal(formatNumber(0.1 + 0.2), '0.3');
    assert.equal(formatSigned(0.02), '+0.02');
    assert.equal(formatSigned(-3), '-3');
  });
});
