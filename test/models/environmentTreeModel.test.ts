// The Environments view's model without an editor: promotion order, which
// elements show and with which menus, the status bar's text, and the words of
// a comparison between two releases.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RecordedDeployment } from '../../src/core/environments/history';
import type { Release } from '../../src/core/environments/releases';
import { analyzeManifest } from '../../src/core/manifest';
import { metricDeltas } from '../../src/core/environments/comparison';
import { promotionOrder } from '../../src/core/environments/live';
import { formatComparison, summarizeComparison } from '../../src/extension/environments/comparison';
import {
  declaredEnvironments,
  describeNode,
  environmentChildren,
  historyChildren,
  releaseChildren,
  rootNodes,
  statusText,
  type EnvironmentHistory,
  type EnvironmentNode,
  type FolderEnvironments,
} from '../../src/extension/environments/model';
import type { FolderState } from '../../src/extension/folders';

const MANIFEST = analyzeManifest(`version: 1
environments:
  production:
    from: staging
  canary:
    from: production
  staging:
    from: workspace
  orphan:
    from: nowhere
`).manifest;

const NOW = Date.parse('2025-06-01T12:00:00Z');

function release(id: string, accuracy: number, code = 'c'.repeat(40)): Release {
  return {
    id,
    format: 'sluice-release 1',
    pipeline: 'train',
    code,
    snapshots: { events: 'e'.repeat(64) },
    outputs: [],
    params: {},
    metrics: { 'metrics.json': { accuracy } },
    checks: [{ name: 'enough rows', outcome: 'pass', detail: 'exit code 0' }],
    failures: [],
    time: '2025-06-01T11:00:00Z',
    actor: 'Ada <ada@example.com>',
  };
}

function deployment(releaseId: string, action: RecordedDeployment['action'], reason: string | null = null) {
  return {
    release: releaseId,
    action,
    time: '2025-06-01T11:30:00Z',
    actor: 'Ada',
    reason,
    commit: releaseId,
  };
}

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

function folder(histories: Record<string, EnvironmentHistory>): FolderEnvironments {
  const state = {
    kind: 'restricted',
    folder: '/w',
    root: '/w',
    manifestFile: '/w/sluice.yaml',
    manifest: MANIFEST,
  };
  return {
    state: state as FolderState,
    head: 'd'.repeat(40),
    environments: declaredEnvironments(
      MANIFEST,
      (name) => histories[name] ?? { kind: 'read', deployments: [], live: undefined },
    ),
  };
}

void describe('Environments model', () => {
  void test('promotion order follows the chain from the workspace; unreachable environments come last', () => {
    assert.deepEqual(promotionOrder(MANIFEST), ['staging', 'production', 'canary', 'orphan']);
  });

  void test('final environments are those nothing is promoted from', () => {
    const final = declaredEnvironments(MANIFEST)
      .filter((e) => e.final)
      .map((e) => e.name);
    assert.deepEqual(final, ['canary', 'orphan']);
  });

  void test('the tree: the workspace, then each environment with its live release and its history', () => {
    const live = release(B, 0.86);
    const view = folder({
      production: { kind: 'read', deployments: [deployment(B, 'promote'), deployment(A, 'promote')], live },
    });
    const roots = rootNodes([view]);
    assert.deepEqual(
      roots.map((node) => describeNode(node, NOW).label),
      ['workspace', 'staging', 'production', 'canary', 'orphan'],
    );
    const production = roots[2] as EnvironmentNode;
    const look = describeNode(production, NOW);
    assert.equal(look.description, 'bbbbbbbbbbbb · promote 30 minutes ago');
    assert.match(look.contextValue, /\bpromote\b/);
    assert.match(look.contextValue, /\brollback\b/);
    assert.doesNotMatch(look.contextValue, /\bfinal\b/);
    assert.match(describeNode(roots[1]!, NOW).contextValue, /\bstage\b/);
    assert.doesNotMatch(
      describeNode(roots[1]!, NOW).contextValue,
      /\brollback\b/,
      'nothing live: nothing to go back to',
    );

    const [liveNode, history] = environmentChildren(production);
    assert.equal(describeNode(liveNode!, NOW).label, 'Live release bbbbbbbbbbbb');
    assert.deepEqual(
      releaseChildren(liveNode as Parameters<typeof releaseChildren>[0]).map((n) => {
        const item = describeNode(n, NOW);
        return `${item.label}: ${item.description ?? ''}`;
      }),
      [
        'code: cccccccccccc',
        'events: snapshot eeeeeeeeeeee',
        'metrics.json#accuracy: 0.86',
        'enough rows: pass · exit code 0',
      ],
    );
    const entries = historyChildren(history as Parameters<typeof historyChildren>[0]);
    assert.deepEqual(
      entries.map((n) => describeNode(n, NOW).label),
      ['promote bbbbbbbbbbbb', 'promote aaaaaaaaaaaa'],
    );
    assert.equal(describeNode(entries[0]!, NOW).contextValue, 'deployment.live');
  });

  void test('a rollback names who and why in its tooltip', () => {
    const view = folder({
      production: {
        kind: 'read',
        deployments: [deployment(A, 'auto-rollback', 'health check: exit code 1'), deployment(B, 'promote')],
        live: release(A, 0.85),
      },
    });
    const production = rootNodes([view])[2] as EnvironmentNode;
    const history = environmentChildren(production)[1]!;
    const [entry] = historyChildren(history as Parameters<typeof historyChildren>[0]);
    const look = describeNode(entry!, NOW);
    assert.equal(look.label, 'auto-rollback aaaaaaaaaaaa');
    assert.match(look.tooltip, /by Ada/);
    assert.match(look.tooltip, /why: health check: exit code 1/);
  });

  void test('Restricted Mode: environments listed, not read, and the status bar says nothing', () => {
    const state = {
      kind: 'restricted',
      folder: '/w',
      root: '/w',
      manifestFile: '/w/sluice.yaml',
      manifest: MANIFEST,
    };
    const view: FolderEnvironments = {
      state: state as FolderState,
      head: undefined,
      environments: declaredEnvironments(MANIFEST),
    };
    const production = rootNodes([view])[2]!;
    assert.match(describeNode(production, NOW).description ?? '', /not read/);
    assert.match(describeNode(production, NOW).tooltip, /Restricted Mode/);
    assert.equal(statusText([view]), undefined);
  });

  void test('the status bar: downstream first, a dash where nothing is live', () => {
    const view = folder({
      staging: { kind: 'read', deployments: [deployment(B, 'stage')], live: release(B, 0.9) },
      production: { kind: 'read', deployments: [deployment(A, 'promote')], live: release(A, 0.85) },
    });
    assert.equal(statusText([view]), 'orphan — · canary — · production aaaaaaaaaaaa · staging bbbbbbbbbbbb');
  });

  void test('a comparison lists commits, data changes and metric deltas', () => {
    const from = release(A, 0.85, '1'.repeat(40));
    const to = { ...release(B, 0.8712, '2'.repeat(40)), snapshots: { events: 'f'.repeat(64) } };
    const text = formatComparison({
      fromLabel: 'production',
      from,
      toLabel: 'staging',
      to,
      code: { direction: 'forward', commits: [{ id: '2'.repeat(40), subject: 'Train longer' }] },
      data: [
        {
          dataset: 'events',
          before: 'e'.repeat(64),
          after: 'f'.repeat(64),
          added: 1,
          modified: 2,
          removed: 0,
          sameContent: false,
        },
      ],
      params: [{ name: 'train.epochs', before: 10, after: 20 }],
      metrics: metricDeltas(from, to),
      outputs: true,
      unchanged: false,
    });
    assert.match(text, /^# production aaaaaaaaaaaa → staging bbbbbbbbbbbb/);
    assert.match(text, /111111111111 → 222222222222: 1 commit added/);
    assert.match(text, /222222222222 Train longer/);
    assert.match(text, /events: eeeeeeeeeeee → ffffffffffff: 1 added, 2 modified, 0 removed/);
    assert.match(text, /train\.epochs: 10 → 20/);
    assert.match(text, /metrics\.json#accuracy: 0\.85 → 0\.8712 \(\+0\.0212\)/);
    const summary = summarizeComparison({
      fromLabel: 'production',
      from: undefined,
      toLabel: 'staging',
      to,
      code: { direction: 'forward', commits: [] },
      data: [],
      params: [],
      metrics: metricDeltas(undefined, to),
      outputs: true,
      unchanged: false,
    });
    assert.match(summary, /Nothing is live in production/);
    assert.match(summary, /accuracy: 0\.8712 \(new\)/);
  });
});
