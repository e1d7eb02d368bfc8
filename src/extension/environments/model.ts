// The Environments view's elements and how each looks, and the status bar's
// text: plain data built from what the engine reads of what is live where
// (core/environments/live.ts). No vscode import, so all of it is unit-tested.
import { syncBadge, syncTooltip, type FolderRemote } from '../remotes/remoteSync';
import type { ItemLook } from '../treeItems';
import { basename } from 'node:path';
import { formatAge, formatNumber, shortId } from '../../core/format';
import { metricEntries } from '../../core/environments/comparison';
import type { RecordedDeployment } from '../../core/environments/history';
import {
  declaredEnvironments as declaredInManifest,
  WORKSPACE_ENVIRONMENT,
  type DeclaredEnvironment,
  type LiveHistory,
} from '../../core/environments/live';
import type { Release } from '../../core/environments/releases';
import type { Manifest } from '../../core/manifest/model';
import type { FolderState } from '../folders';
import { describeHealthState } from '../../core/environments/healthStatus';
import {
  describeHealthNode,
  environmentHealth,
  environmentHealthLook,
  healthNodeOf,
  type EnvironmentHealth,
  type HealthNode,
  type HealthTreeNode,
} from './healthNodes';

export type { EnvironmentHealth } from './healthNodes';

/**
 * Why an untrusted folder shows no releases: they are in git, and git is not
 * run there (see RESTRICTED_MODE_REASON in folders.ts for the reason behind it).
 */
export const ENVIRONMENTS_RESTRICTED_REASON =
  'Restricted Mode: Sluice lists the environments but reads no releases, because reading them runs git, ' +
  "and a repository's own settings can make git run programs. Trust this folder to see what is live.";

export { WORKSPACE_ENVIRONMENT } from '../../core/environments/live';

/** What the engine read of an environment's history, or `unread` in Restricted Mode (git is not run there). */
export type EnvironmentHistory = { readonly kind: 'unread' } | LiveHistory;

export interface EnvironmentState extends DeclaredEnvironment {
  readonly history: EnvironmentHistory;
  /** Its monitor's runs (none when it declares no `monitor:`). */
  readonly health: EnvironmentHealth;
}

/** A folder as the view has read it. */
export interface FolderEnvironments {
  readonly state: FolderState;
  /** The checked-out commit, when git could be read. */
  readonly head: string | undefined;
  /** In promotion order. */
  readonly environments: readonly EnvironmentState[];
  /** Where the folder stands against its default remote (the model adds it). */
  readonly remote?: FolderRemote;
}

/** The environments of a manifest in the engine's promotion order, each with its history (Restricted Mode: unread). */
export function declaredEnvironments(
  manifest: Manifest,
  history: (name: string) => EnvironmentHistory = () => ({ kind: 'unread' }),
  health: (name: string) => EnvironmentHealth = () => ({ kind: 'unmonitored' }),
): EnvironmentState[] {
  return declaredInManifest(manifest).map((environment) => ({
    ...environment,
    history: history(environment.name),
    health: health(environment.name),
  }));
}

export interface FolderNode {
  readonly kind: 'folder';
  readonly folder: FolderEnvironments;
}

/** The developer's working tree, the start of every chain. */
export interface WorkspaceNode {
  readonly kind: 'workspace';
  readonly parent: FolderNode | undefined;
  readonly root: string;
  readonly head: string | undefined;
}

export interface EnvironmentNode {
  readonly kind: 'environment';
  readonly parent: FolderNode | undefined;
  readonly root: string;
  readonly environment: EnvironmentState;
  /** `↑1 ↓2` against the default remote, as of the last fetch. */
  readonly sync?: string | undefined;
  readonly syncTooltip?: string | undefined;
}

export interface ReleaseNode {
  readonly kind: 'release';
  readonly parent: EnvironmentNode;
  readonly release: Release;
}

export type ReleaseDetail =
  | { readonly kind: 'code'; readonly commit: string }
  | { readonly kind: 'snapshot'; readonly dataset: string; readonly id: string }
  | { readonly kind: 'metric'; readonly name: string; readonly value: number }
  | { readonly kind: 'check'; readonly name: string; readonly outcome: string; readonly detail: string }
  | { readonly kind: 'failure'; readonly text: string };

export interface DetailNode {
  readonly kind: 'detail';
  readonly parent: ReleaseNode;
  readonly detail: ReleaseDetail;
}

export interface HistoryNode {
  readonly kind: 'history';
  readonly parent: EnvironmentNode;
  readonly deployments: readonly RecordedDeployment[];
}

export interface DeploymentNode {
  readonly kind: 'deployment';
  readonly parent: HistoryNode;
  readonly deployment: RecordedDeployment;
  readonly live: boolean;
}

export type EnvironmentsNode =
  | FolderNode
  | WorkspaceNode
  | EnvironmentNode
  | ReleaseNode
  | DetailNode
  | HistoryNode
  | DeploymentNode
  | HealthTreeNode;

/** One folder: the workspace and its environments. Several: one node per folder with a manifest. */
export function rootNodes(folders: readonly FolderEnvironments[]): EnvironmentsNode[] {
  const shown = folders.filter(
    (folder) => folder.state.kind === 'ready' || folder.state.kind === 'restricted',
  );
  if (folders.length === 1) return shown.length === 1 ? folderChildren(shown[0]!, undefined) : [];
  return folders
    .filter((folder) => folder.state.kind !== 'noManifest')
    .map((folder): FolderNode => ({ kind: 'folder', folder }));
}

export function folderChildren(
  folder: FolderEnvironments,
  parent: FolderNode | undefined,
): EnvironmentsNode[] {
  const { state } = folder;
  if (state.kind !== 'ready' && state.kind !== 'restricted') return [];
  return [
    { kind: 'workspace', parent, root: state.root, head: folder.head },
    ...folder.environments.map((environment): EnvironmentNode => ({
      kind: 'environment',
      parent,
      root: state.root,
      environment,
      sync: syncBadge(folder.remote, 'environment', environment.name),
      syncTooltip: syncTooltip(folder.remote, 'environment', environment.name),
    })),
  ];
}

/** The live release, its health (a monitored environment), then the history. */
export function environmentChildren(node: EnvironmentNode): (ReleaseNode | HealthNode | HistoryNode)[] {
  const { history } = node.environment;
  if (history.kind !== 'read' || history.deployments.length === 0) return [];
  const health = healthNodeOf(node);
  return [
    ...(history.live ? [{ kind: 'release' as const, parent: node, release: history.live }] : []),
    ...(health === undefined ? [] : [health]),
    { kind: 'history', parent: node, deployments: history.deployments },
  ];
}

export function releaseChildren(node: ReleaseNode): DetailNode[] {
  const { release } = node;
  const details: ReleaseDetail[] = [
    { kind: 'code', commit: release.code },
    ...Object.entries(release.snapshots).map(([dataset, id]) => ({ kind: 'snapshot' as const, dataset, id })),
    ...metricEntries(release).map(([name, value]) => ({ kind: 'metric' as const, name, value })),
    ...release.checks.map((check) => ({ kind: 'check' as const, ...check })),
    ...release.failures.map((text) => ({ kind: 'failure' as const, text })),
  ];
  return details.map((detail) => ({ kind: 'detail', parent: node, detail }));
}

export function historyChildren(node: HistoryNode): DeploymentNode[] {
  return node.deployments.map((deployment, index) => ({
    kind: 'deployment',
    parent: node,
    deployment,
    live: index === 0,
  }));
}

export function parentOf(node: EnvironmentsNode): EnvironmentsNode | undefined {
  return node.kind === 'folder' ? undefined : node.parent;
}

/** How an element looks: the tree provider turns this into a TreeItem as is. */
export type ItemView = ItemLook;

const PASS_COLOR = 'testing.iconPassed';
const FAIL_COLOR = 'testing.iconFailed';
const WARN_COLOR = 'problemsWarningIcon.foreground';

export function describeNode(node: EnvironmentsNode, now: number = Date.now()): ItemView {
  switch (node.kind) {
    case 'folder': {
      const { state } = node.folder;
      const readable = state.kind === 'ready' || state.kind === 'restricted';
      return {
        id: JSON.stringify(['folder', state.folder]),
        label: basename(state.folder),
        description: readable ? undefined : 'message' in state ? 'cannot be read' : 'no sluice.yaml',
        tooltip: 'message' in state ? `${state.folder}\n${state.message}` : state.folder,
        contextValue: `folder.${state.kind}`,
        collapsible: readable ? 'expanded' : 'none',
        icon: readable ? { id: 'root-folder' } : { id: 'warning', color: WARN_COLOR },
      };
    }
    case 'workspace':
      return {
        id: JSON.stringify([node.root, 'workspace']),
        label: WORKSPACE_ENVIRONMENT,
        description: node.head === undefined ? 'your working tree' : `code ${shortId(node.head)}`,
        tooltip:
          'Your working tree: its code is what is checked out, its data what is on disk. ' +
          'Stage Release builds a release from its committed code and latest snapshots.',
        contextValue: 'workspace',
        collapsible: 'none',
        icon: { id: 'home' },
      };
    case 'environment':
      return describeEnvironment(node, now);
    case 'release': {
      const { release } = node;
      const passed = release.failures.length === 0 && release.checks.every((c) => c.outcome === 'pass');
      return {
        id: JSON.stringify([node.parent.root, node.parent.environment.name, 'release']),
        label: `Live release ${shortId(release.id)}`,
        description: `code ${shortId(release.code)} · ${formatAge(release.time, now)}`,
        tooltip: [
          `Release ${release.id}`,
          `Pipeline ${release.pipeline}, built ${release.time} by ${release.actor}`,
          `Code commit ${release.code}`,
        ].join('\n'),
        contextValue: 'release',
        collapsible: 'collapsed',
        icon: { id: 'package', ...(passed ? {} : { color: FAIL_COLOR }) },
      };
    }
    case 'detail':
      return describeDetail(node);
    case 'history':
      return {
        id: JSON.stringify([node.parent.root, node.parent.environment.name, 'history']),
        label: 'History',
        description: `${node.deployments.length} ${node.deployments.length === 1 ? 'deployment' : 'deployments'}`,
        tooltip: `Every deployment to ${node.parent.environment.name}, newest first. History is never rewritten.`,
        contextValue: 'history',
        collapsible: 'collapsed',
        icon: { id: 'history' },
      };
    case 'deployment':
      return describeDeployment(node, now);
    case 'health':
    case 'healthRun':
    case 'healthCheck':
    case 'healthAction':
      return describeHealthNode(node, now);
  }
}

const ACTION_ICONS: Record<RecordedDeployment['action'], { id: string; color?: string }> = {
  stage: { id: 'beaker' },
  promote: { id: 'arrow-up' },
  rollback: { id: 'discard' },
  'auto-rollback': { id: 'warning', color: WARN_COLOR },
};

function describeEnvironment(node: EnvironmentNode, now: number): ItemView {
  const { environment } = node;
  const { history } = environment;
  const from = environment.from === undefined ? 'no upstream' : `from ${environment.from}`;
  const lines = [
    environment.description ? `${environment.name}: ${environment.description}` : environment.name,
    environment.from === undefined ? 'No `from:` in sluice.yaml.' : `Fed from ${environment.from}.`,
  ];
  let description: string;
  let icon: ItemView['icon'] = { id: 'server-environment' };
  const menus: string[] = [];
  if (environment.from !== undefined && environment.from !== WORKSPACE_ENVIRONMENT) menus.push('promote');
  if (environment.from === WORKSPACE_ENVIRONMENT) menus.push('stage');
  if (environment.final) menus.push('final');
  if (environment.health.kind !== 'unmonitored') menus.push('monitored');
  if (history.kind === 'unread') {
    description = `${from} · not read`;
    lines.push(ENVIRONMENTS_RESTRICTED_REASON);
  } else if (history.kind === 'failed') {
    description = `${from} · cannot be read`;
    lines.push(history.message);
    icon = { id: 'warning', color: WARN_COLOR };
  } else {
    const head = history.deployments[0];
    description =
      head === undefined
        ? `nothing live · ${from}`
        : `${shortId(head.release)} · ${head.action} ${formatAge(head.time, now)}`;
    if (head !== undefined) {
      lines.push(`Live: release ${head.release} (${head.action} by ${head.actor}, ${head.time}).`);
      if (history.deployments.some((deployment) => deployment.release !== head.release))
        menus.push('rollback');
      if (head.action === 'auto-rollback') icon = { id: 'server-environment', color: WARN_COLOR };
    } else lines.push('Nothing is live here yet.');
  }
  const health = environmentHealthLook(environment, now);
  if (health !== undefined) {
    // Nothing live has no health to speak of: the description says "nothing live" already.
    if (history.kind !== 'read' || history.deployments.length > 0) description += ` · ${health.word}`;
    lines.push(health.line);
    if (health.failing) icon = { id: 'server-environment', color: FAIL_COLOR };
  }
  if (node.syncTooltip !== undefined) lines.push(node.syncTooltip);
  return {
    id: JSON.stringify([node.root, 'environment', environment.name]),
    label: environment.name,
    description: node.sync ? `${description} · ${node.sync}` : description,
    tooltip: lines.join('\n'),
    contextValue: ['environment', ...menus].join(' '),
    collapsible: history.kind === 'read' && history.deployments.length > 0 ? 'expanded' : 'none',
    icon,
  };
}

function describeDetail(node: DetailNode): ItemView {
  const { detail } = node;
  const base = [node.parent.parent.root, node.parent.parent.environment.name, 'release'];
  const look = (
    key: string,
    label: string,
    description: string,
    tooltip: string,
    icon: ItemView['icon'],
  ): ItemView => ({
    id: JSON.stringify([...base, detail.kind, key]),
    label,
    description,
    tooltip,
    contextValue: `detail.${detail.kind}`,
    collapsible: 'none',
    icon,
  });
  switch (detail.kind) {
    case 'code':
      return look('', 'code', shortId(detail.commit), `Code commit ${detail.commit}`, {
        id: 'git-commit',
      });
    case 'snapshot':
      return look(
        detail.dataset,
        detail.dataset,
        `snapshot ${shortId(detail.id)}`,
        `Dataset ${detail.dataset}: snapshot ${detail.id}`,
        { id: 'database' },
      );
    case 'metric':
      return look(detail.name, detail.name, formatNumber(detail.value), `${detail.name} = ${detail.value}`, {
        id: 'graph-line',
      });
    case 'check':
      return look(
        detail.name,
        detail.name,
        `${detail.outcome} · ${detail.detail}`,
        `Check ${detail.name}: ${detail.outcome} (${detail.detail})`,
        detail.outcome === 'pass'
          ? { id: 'pass', color: PASS_COLOR }
          : detail.outcome === 'fail'
            ? { id: 'error', color: FAIL_COLOR }
            : { id: 'question', color: WARN_COLOR },
      );
    case 'failure':
      return look(detail.text, detail.text, 'failed', detail.text, { id: 'error', color: FAIL_COLOR });
  }
}

function describeDeployment(node: DeploymentNode, now: number): ItemView {
  const { deployment } = node;
  const environment = node.parent.parent.environment.name;
  const why = deployment.reason ?? (deployment.action === 'stage' ? 'all checks passed' : undefined);
  return {
    id: JSON.stringify([node.parent.parent.root, environment, 'deployment', deployment.commit]),
    label: `${deployment.action} ${shortId(deployment.release)}`,
    description: [deployment.actor, formatAge(deployment.time, now), ...(node.live ? ['live'] : [])].join(
      ' · ',
    ),
    tooltip: [
      `${deployment.action} of release ${deployment.release} to ${environment}`,
      `by ${deployment.actor}, ${deployment.time}`,
      ...(why === undefined ? [] : [`why: ${why}`]),
    ].join('\n'),
    contextValue: node.live ? 'deployment.live' : 'deployment',
    collapsible: 'none',
    icon: ACTION_ICONS[deployment.action],
  };
}

/**
 * The status bar's text: what is live where, the last environment of the
 * chain first (`production 1a2b3c4 · staging 5d6e7f8`); undefined when the
 * window has no environment to show. Several folders: the first that has one.
 */
export function statusText(folders: readonly FolderEnvironments[]): string | undefined {
  for (const folder of folders) {
    const read = folder.environments.filter((environment) => environment.history.kind === 'read');
    if (read.length === 0) continue;
    return [...read]
      .reverse()
      .map((environment) => {
        const head = environment.history.kind === 'read' ? environment.history.deployments[0] : undefined;
        return `${environment.name} ${head === undefined ? '—' : shortId(head.release)}`;
      })
      .join(' · ');
  }
  return undefined;
}

/** A live environment whose monitor's last run failed: the status bar warns of it and reveals its health. */
export interface FailingEnvironment {
  readonly root: string;
  readonly environment: string;
  /** The checks that failed in the last run. */
  readonly failing: readonly string[];
}

/** The failing environments of every folder, the last of each chain first (production before staging). */
export function failingEnvironments(
  folders: readonly FolderEnvironments[],
  now: number = Date.now(),
): FailingEnvironment[] {
  return folders.flatMap((folder) => {
    const { state } = folder;
    if (state.kind !== 'ready') return [];
    return [...folder.environments].reverse().flatMap((environment) => {
      const reading = environmentHealth(environment, now);
      return reading?.state.kind === 'failing'
        ? [{ root: state.root, environment: environment.name, failing: reading.state.failing }]
        : [];
    });
  });
}

/** When the first of the folders' health readings turns to unknown if no run comes (undefined: none does). */
export function nextHealthChange(
  folders: readonly FolderEnvironments[],
  now: number = Date.now(),
): number | undefined {
  let next: number | undefined;
  for (const folder of folders)
    for (const environment of folder.environments) {
      const at = environmentHealth(environment, now)?.staleAt;
      if (at !== undefined && at > now && (next === undefined || at < next)) next = at;
    }
  return next;
}

/** The status bar's tooltip: every folder's environments with their live release, in promotion order. */
export function statusTooltip(
  folders: readonly FolderEnvironments[],
  now: number = Date.now(),
  click = 'Click to open the Environments view.',
): string {
  const lines = folders.flatMap((folder) => {
    const heading = folders.length > 1 ? [`${basename(folder.state.folder)}:`] : [];
    return [
      ...heading,
      ...folder.environments.map((environment) => {
        const { history } = environment;
        if (history.kind === 'unread') return `${environment.name}: not read in Restricted Mode`;
        if (history.kind === 'failed') return `${environment.name}: cannot be read`;
        const head = history.deployments[0];
        const health = head === undefined ? undefined : environmentHealthLook(environment, now);
        const failing = environmentHealth(environment, now)?.state;
        const healthWords =
          health === undefined
            ? ''
            : `, ${failing?.kind === 'failing' ? describeHealthState(failing) : health.word}`;
        return head === undefined
          ? `${environment.name}: nothing live`
          : `${environment.name}: ${shortId(head.release)} (${head.action} by ${head.actor})${healthWords}`;
      }),
    ];
  });
  return [...lines, click].join('\n');
}
