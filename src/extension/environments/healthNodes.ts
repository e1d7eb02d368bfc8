// The Environments view's health elements: under a monitored environment, a
// Health element whose look is the engine's reading of the live deployment
// (core/environments/healthStatus.ts: healthy, failing with which checks,
// unknown and why), and under it the monitor's runs, newest first, each with
// its checks' outcomes and values and what the monitor did. Also what a
// notification of an automatic rollback needs. No vscode import.
import {
  describeHealthState,
  explainHealthState,
  healthState,
  type HealthHistory,
  type HealthReading,
} from '../../core/environments/healthStatus';
import type { HealthCheckResult, RecordedHealth } from '../../core/environments/healthHistory';
import { formatAge, shortId } from '../../core/format';
import type { ItemLook } from '../treeItems';
import type { EnvironmentNode, EnvironmentState } from './model';

/** What the view holds of an environment's health: none declared, not read (Restricted Mode), or the history. */
export type EnvironmentHealth =
  { readonly kind: 'unmonitored' } | { readonly kind: 'unread' } | HealthHistory;

export interface HealthNode {
  readonly kind: 'health';
  readonly parent: EnvironmentNode;
  readonly records: readonly RecordedHealth[];
}

export interface HealthRunNode {
  readonly kind: 'healthRun';
  readonly parent: HealthNode;
  readonly record: RecordedHealth;
}

export interface HealthCheckNode {
  readonly kind: 'healthCheck';
  readonly parent: HealthRunNode;
  readonly check: HealthCheckResult;
}

/** What the monitor did after a run: rolled back, alerted, or nothing because the release moved. */
export interface HealthActionNode {
  readonly kind: 'healthAction';
  readonly parent: HealthRunNode;
}

export type HealthTreeNode = HealthNode | HealthRunNode | HealthCheckNode | HealthActionNode;

/** The engine's reading of an environment's health now; undefined when it has no monitor or none was read. */
export function environmentHealth(environment: EnvironmentState, now: number): HealthReading | undefined {
  const { health, history } = environment;
  if (health.kind !== 'read' || history.kind !== 'read') return undefined;
  return healthState(health.records, history.deployments[0]?.commit, health.everyMs, now);
}

/** The Health element of a monitored environment whose history was read (damaged: shown as such). */
export function healthNodeOf(parent: EnvironmentNode): HealthNode | undefined {
  const { health } = parent.environment;
  if (health.kind === 'read') return { kind: 'health', parent, records: health.records };
  if (health.kind === 'failed') return { kind: 'health', parent, records: [] };
  return undefined;
}

export function healthChildren(node: HealthTreeNode): HealthTreeNode[] {
  switch (node.kind) {
    case 'health':
      return node.records.map((record) => ({ kind: 'healthRun', parent: node, record }));
    case 'healthRun':
      return [
        ...node.record.checks.map((check): HealthCheckNode => ({ kind: 'healthCheck', parent: node, check })),
        ...(node.record.action === 'none' ? [] : [{ kind: 'healthAction' as const, parent: node }]),
      ];
    default:
      return [];
  }
}

const PASS = { id: 'pass', color: 'testing.iconPassed' };
const FAIL = { id: 'error', color: 'testing.iconFailed' };
const UNKNOWN = { id: 'question', color: 'problemsWarningIcon.foreground' };
const WARN = { id: 'warning', color: 'problemsWarningIcon.foreground' };

/** The environment's icon, description word and tooltip line for its health (undefined: not monitored). */
export function environmentHealthLook(
  environment: EnvironmentState,
  now: number,
): { readonly word: string; readonly line: string; readonly failing: boolean } | undefined {
  const { health } = environment;
  if (health.kind === 'unmonitored') return undefined;
  if (health.kind === 'unread')
    return { word: 'health not read', line: 'Health: not read in Restricted Mode.', failing: false };
  if (health.kind === 'failed')
    return { word: 'health cannot be read', line: `Health: ${health.message}`, failing: false };
  const reading = environmentHealth(environment, now);
  if (reading === undefined) return undefined;
  return {
    word: reading.state.kind === 'unknown' ? 'health unknown' : reading.state.kind,
    line: explainHealthState(reading, health.every),
    failing: reading.state.kind === 'failing',
  };
}

function ids(node: HealthTreeNode): string[] {
  switch (node.kind) {
    case 'health':
      return [node.parent.root, node.parent.environment.name, 'health'];
    case 'healthRun':
      return [...ids(node.parent), node.record.commit];
    case 'healthCheck':
      return [...ids(node.parent), 'check', node.check.name];
    case 'healthAction':
      return [...ids(node.parent), 'action'];
  }
}

export function describeHealthNode(node: HealthTreeNode, now: number): ItemLook {
  const id = JSON.stringify(ids(node));
  switch (node.kind) {
    case 'health': {
      const environment = node.parent.environment;
      const { health } = environment;
      if (health.kind !== 'read')
        return {
          id,
          label: 'Health',
          description: 'cannot be read',
          tooltip: health.kind === 'failed' ? health.message : 'Not read.',
          contextValue: 'health',
          collapsible: 'none',
          icon: WARN,
        };
      const reading = environmentHealth(environment, now);
      const last = node.records[0];
      return {
        id,
        label: 'Health',
        description: [
          reading === undefined ? 'not read' : describeHealthState(reading.state),
          ...(last === undefined ? [] : [`last run ${formatAge(last.time, now)}`]),
        ].join(' · '),
        tooltip: [
          ...(reading === undefined ? [] : [explainHealthState(reading, health.every)]),
          `The monitor's runs of ${environment.name}, newest first (the ${node.records.length} newest: \`sluice health ${environment.name}\` shows more).`,
        ].join('\n'),
        contextValue: `health${node.records.some((record) => record.checks.some((check) => check.value !== null)) ? ' metrics' : ''}`,
        collapsible: node.records.length > 0 ? 'collapsed' : 'none',
        icon: reading?.state.kind === 'healthy' ? PASS : reading?.state.kind === 'failing' ? FAIL : UNKNOWN,
      };
    }
    case 'healthRun': {
      const { record } = node;
      const streak = record.outcome === 'fail' ? [`${record.failures} in a row`] : [];
      return {
        id,
        label: `${record.outcome} · ${shortId(record.release)}`,
        description: [formatAge(record.time, now), ...streak, ...actionWords(record)].join(' · '),
        tooltip: [
          `Monitor run of ${record.time} on release ${record.release}: ${record.outcome}`,
          ...record.checks.map((check) => `${check.name}: ${check.outcome} (${check.detail})`),
          ...(record.reason === null ? [] : [`${record.action}: ${record.reason}`]),
        ].join('\n'),
        contextValue: 'healthRun',
        collapsible: 'collapsed',
        icon:
          record.action === 'rollback' || record.action === 'alert'
            ? WARN
            : record.outcome === 'pass'
              ? PASS
              : record.outcome === 'fail'
                ? FAIL
                : UNKNOWN,
      };
    }
    case 'healthCheck': {
      const { check } = node;
      return {
        id,
        label: check.name,
        description: `${check.outcome} · ${check.detail}`,
        tooltip: `Check ${check.name}: ${check.outcome} (${check.detail}), ${check.durationMs} ms${
          check.value === null ? '' : `\nValue: ${check.value}. Show Metric Chart draws its values over time.`
        }`,
        contextValue: check.value === null ? 'healthCheck' : 'healthCheck metric',
        collapsible: 'none',
        icon: check.outcome === 'pass' ? PASS : check.outcome === 'fail' ? FAIL : UNKNOWN,
      };
    }
    case 'healthAction': {
      const { record } = node.parent;
      return {
        id,
        label: actionWords(record)[0] ?? record.action,
        description: record.reason ?? undefined,
        tooltip: record.reason ?? record.action,
        contextValue: `healthAction.${record.action}`,
        collapsible: 'none',
        icon: record.action === 'moved' ? { id: 'info' } : WARN,
      };
    }
  }
}

function actionWords(record: RecordedHealth): string[] {
  switch (record.action) {
    case 'rollback':
      return [`rolled back to ${shortId(record.rolledBackTo ?? '')}`];
    case 'alert':
      return ['alert'];
    case 'moved':
      return ['nothing done: the live release moved'];
    case 'none':
      return [];
  }
}

/** An automatic rollback a monitor recorded, to notify once. */
export interface RollbackNotice {
  readonly root: string;
  readonly environment: string;
  /** The health record's commit: what "once" is counted by. */
  readonly commit: string;
  readonly release: string;
  readonly rolledBackTo: string;
  readonly reason: string;
  readonly time: string;
}

/**
 * The automatic rollbacks among an environment's newest runs that were not
 * seen before: those newer than `seen` (the newest record already looked at),
 * or, the first time (no `seen`), those at most `firstLookMs` old, so that a
 * rollback made while the editor was closed is still said once, and an old
 * one is not. Oldest first, as they happened.
 */
export function newRollbacks(
  root: string,
  environment: string,
  records: readonly RecordedHealth[],
  seen: string | undefined,
  now: number,
  firstLookMs: number,
): RollbackNotice[] {
  const seenAt = seen === undefined ? -1 : records.findIndex((record) => record.commit === seen);
  // A `seen` no longer among the newest runs is older than all of them: every one is new.
  const fresh = seen === undefined || seenAt < 0 ? records : records.slice(0, seenAt);
  return fresh
    .filter(
      (record) =>
        record.action === 'rollback' && (seen !== undefined || now - Date.parse(record.time) <= firstLookMs),
    )
    .map((record) => ({
      root,
      environment,
      commit: record.commit,
      release: record.release,
      rolledBackTo: record.rolledBackTo ?? '',
      reason: record.reason ?? 'the monitor rolled back',
      time: record.time,
    }))
    .reverse();
}
