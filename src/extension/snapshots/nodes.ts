// The Data Snapshots view's elements and how each one looks: plain data built
// from the engine's results, and a description the tree provider only copies
// into a TreeItem. No vscode import, so labels, menus and icons are unit-tested.
import { syncBadge, syncTooltip, type FolderRemote } from '../remotes/remoteSync';
import type { ItemLook } from '../treeItems';
import { basename, dirname } from 'node:path';
import { formatAge, formatBytes, formatCount, shortId } from '../../core/format';
import type { FileEntry } from '../../core/snapshots/snapshots';
import type { SnapshotSummary } from '../../core/snapshots/snapshots';
import { RESTRICTED_MODE_REASON, type FolderState } from '../folders';
import type { Comparison, DatasetState } from './datasets';

/** The most changed files one node lists; the diff summary has them all. */
export const LISTED_FILES_LIMIT = 500;

export type ChangeKind = 'added' | 'modified' | 'removed';

/** One changed path, with its entry on each side (undefined where it does not exist). */
export interface FileChange {
  readonly path: string;
  readonly change: ChangeKind;
  readonly before: FileEntry | undefined;
  readonly after: FileEntry | undefined;
}

/** A workspace folder holding a manifest; shown only when the window has several folders. */
export interface FolderNode {
  readonly kind: 'folder';
  readonly state: FolderState;
}

export interface DatasetNode {
  readonly kind: 'dataset';
  readonly parent: FolderNode | undefined;
  /** The workspace root (the folder of sluice.yaml). */
  readonly root: string;
  readonly dataset: DatasetState;
  /** `↑1 ↓2` against the default remote, as of the last fetch. */
  readonly sync?: string | undefined;
  readonly syncTooltip?: string | undefined;
}

/** The files on disk compared with the latest snapshot. */
export interface ChangesNode {
  readonly kind: 'changes';
  readonly parent: DatasetNode;
}

export interface SnapshotNode {
  readonly kind: 'snapshot';
  readonly parent: DatasetNode;
  readonly snapshot: SnapshotSummary;
  /** The snapshot before it, undefined for the first. */
  readonly previous: SnapshotSummary | undefined;
  readonly latest: boolean;
}

export interface FileNode {
  readonly kind: 'file';
  /** Under "changes on disk": snapshot → disk; under a snapshot: previous → this one. */
  readonly parent: ChangesNode | SnapshotNode;
  readonly file: FileChange;
}

export interface MoreFilesNode {
  readonly kind: 'more';
  readonly parent: ChangesNode | SnapshotNode;
  readonly hidden: number;
}

export type SnapshotsNode = FolderNode | DatasetNode | ChangesNode | SnapshotNode | FileNode | MoreFilesNode;

/** A folder as the view has read it. */
export interface FolderView {
  readonly state: FolderState;
  /** Empty unless the folder is ready or restricted. */
  readonly datasets: readonly DatasetState[];
  /** Where the folder stands against its default remote. */
  readonly remote?: FolderRemote;
}

/**
 * The top of the tree. One folder: its datasets. Several: one node per folder
 * that has a manifest (folders without one are left out; Initialize Workspace
 * offers them). Nothing readable: no element, so the welcome content shows.
 */
export function rootNodes(folders: readonly FolderView[]): SnapshotsNode[] {
  if (folders.length === 1) {
    const only = folders[0]!;
    return datasetNodes(only, undefined);
  }
  return folders
    .filter((folder) => folder.state.kind !== 'noManifest')
    .map((folder): FolderNode => ({ kind: 'folder', state: folder.state }));
}

export function datasetNodes(folder: FolderView, parent: FolderNode | undefined): DatasetNode[] {
  const { state } = folder;
  if (state.kind !== 'ready' && state.kind !== 'restricted') return [];
  return folder.datasets.map((dataset) => ({
    kind: 'dataset',
    parent,
    root: state.root,
    dataset,
    sync: syncBadge(folder.remote, 'dataset', dataset.name),
    syncTooltip: syncTooltip(folder.remote, 'dataset', dataset.name),
  }));
}

/** "Changes on disk", then the snapshots, newest first. */
export function datasetChildren(node: DatasetNode): (ChangesNode | SnapshotNode)[] {
  const { history } = node.dataset;
  if (history.kind !== 'read') return [];
  const snapshots = history.snapshots;
  return [
    { kind: 'changes', parent: node },
    ...snapshots.map((snapshot, index): SnapshotNode => ({
      kind: 'snapshot',
      parent: node,
      snapshot,
      previous: snapshots[index + 1],
      latest: index === 0,
    })),
  ];
}

/** The changed paths of a comparison, in path order. */
export function fileChanges(comparison: Comparison): FileChange[] {
  const before = new Map(comparison.before.map((entry) => [entry.path, entry]));
  const after = new Map(comparison.after.map((entry) => [entry.path, entry]));
  const { added, modified, removed } = comparison.changes;
  const changes = [
    ...added.map((path) => ({ path, change: 'added' as const })),
    ...modified.map((path) => ({ path, change: 'modified' as const })),
    ...removed.map((path) => ({ path, change: 'removed' as const })),
  ];
  return changes
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map(({ path, change }) => ({ path, change, before: before.get(path), after: after.get(path) }));
}

/** The file nodes under a changes or snapshot node, at most LISTED_FILES_LIMIT of them. */
export function fileNodes(
  parent: ChangesNode | SnapshotNode,
  changes: readonly FileChange[],
): (FileNode | MoreFilesNode)[] {
  const listed = changes
    .slice(0, LISTED_FILES_LIMIT)
    .map((file): FileNode => ({ kind: 'file', parent, file }));
  const hidden = changes.length - listed.length;
  return hidden > 0 ? [...listed, { kind: 'more', parent, hidden }] : listed;
}

export function datasetOf(node: ChangesNode | SnapshotNode | FileNode | MoreFilesNode): DatasetNode {
  return node.kind === 'file' || node.kind === 'more' ? node.parent.parent : node.parent;
}

export function parentOf(node: SnapshotsNode): SnapshotsNode | undefined {
  return node.kind === 'folder' ? undefined : node.parent;
}

/** How an element looks: the tree provider turns this into a TreeItem as is. */
export interface ItemView extends ItemLook {
  /** The command a click runs, with the element as its argument. */
  readonly openCommand?: string;
}

export function describeNode(node: SnapshotsNode, now: number = Date.now()): ItemView {
  switch (node.kind) {
    case 'folder':
      return describeFolder(node);
    case 'dataset':
      return describeDataset(node);
    case 'changes':
      return describeChanges(node);
    case 'snapshot':
      return describeSnapshot(node, now);
    case 'file':
      return describeFile(node);
    case 'more':
      return {
        id: nodeId(datasetOf(node), node.parent.kind, snapshotKey(node.parent), 'more'),
        label: `${formatCount(node.hidden)} more ${node.hidden === 1 ? 'file' : 'files'}`,
        description: undefined,
        tooltip: `The view lists the first ${LISTED_FILES_LIMIT} changed files; the diff commands cover them all.`,
        contextValue: 'more',
        collapsible: 'none',
        icon: { id: 'ellipsis' },
      };
  }
}

const FOLDER_PROBLEMS: Record<Exclude<FolderState['kind'], 'ready'>, string> = {
  noManifest: 'no sluice.yaml',
  invalidManifest: 'sluice.yaml has errors',
  noGit: 'not a git repository',
  failed: 'cannot be read',
  restricted: 'Restricted Mode',
};

function describeFolder(node: FolderNode): ItemView {
  const { state } = node;
  const readable = state.kind === 'ready' || state.kind === 'restricted';
  const problem = 'message' in state ? state.message : undefined;
  return {
    id: JSON.stringify(['folder', state.folder]),
    label: basename(state.folder),
    description: state.kind === 'ready' ? undefined : FOLDER_PROBLEMS[state.kind],
    tooltip: [state.folder, problem ?? (state.kind === 'restricted' ? RESTRICTED_MODE_REASON : undefined)]
      .filter((line) => line !== undefined)
      .join('\n'),
    contextValue: `folder.${state.kind}`,
    collapsible: readable ? 'expanded' : 'none',
    icon: readable
      ? { id: 'root-folder' }
      : {
          id: state.kind === 'invalidManifest' ? 'error' : 'warning',
          color: 'problemsWarningIcon.foreground',
        },
  };
}

function describeDataset(node: DatasetNode): ItemView {
  const { dataset } = node;
  const { history } = dataset;
  const lines = [
    dataset.description ? `${dataset.name}: ${dataset.description}` : dataset.name,
    dataset.path,
  ];
  if (history.kind === 'unread') lines.push(RESTRICTED_MODE_REASON);
  if (history.kind === 'failed') lines.push(history.message);
  if (node.syncTooltip !== undefined) lines.push(node.syncTooltip);
  return {
    id: nodeId(node),
    label: dataset.name,
    description: node.sync ? `${dataset.path} · ${node.sync}` : dataset.path,
    tooltip: lines.join('\n'),
    contextValue: 'dataset',
    collapsible: history.kind === 'read' ? 'collapsed' : 'none',
    icon:
      history.kind === 'failed'
        ? { id: 'warning', color: 'problemsWarningIcon.foreground' }
        : { id: 'database' },
  };
}

function describeChanges(node: ChangesNode): ItemView {
  const { history } = node.parent.dataset;
  const id = nodeId(node.parent, 'changes');
  const label = 'Changes on disk';
  if (history.kind !== 'read')
    throw new Error('A changes node exists only for a dataset whose history was read.');
  const { disk, snapshots } = history;
  if (disk.kind === 'failed') {
    return {
      id,
      label,
      description: 'not read',
      tooltip: disk.message,
      contextValue: 'changes.failed',
      collapsible: 'none',
      icon: { id: 'warning', color: 'problemsWarningIcon.foreground' },
    };
  }
  const latest = snapshots[0];
  const { added, modified, removed } = disk.changes;
  const total = added.length + modified.length + removed.length;
  const since = latest
    ? `since snapshot ${shortId(latest.id)} (${firstLine(latest.message)})`
    : 'no snapshot yet';
  const parts = [
    ...(disk.exists ? [] : ['missing on disk']),
    ...(latest ? [] : ['no snapshot yet']),
    ...(total === 0 ? (latest ? ['none'] : []) : [countChanges(disk.changes)]),
  ];
  const tooltip = [
    `${added.length} added, ${modified.length} modified, ${removed.length} removed ${since}.`,
    ...(disk.exists ? [] : [`Nothing is at ${node.parent.dataset.path}.`]),
  ].join('\n');
  return {
    id,
    label,
    description: parts.join(' · '),
    tooltip,
    contextValue: total === 0 ? 'changes.none' : latest ? 'changes' : 'changes.unsnapshotted',
    collapsible: total === 0 ? 'none' : 'collapsed',
    icon:
      !disk.exists && total === 0
        ? { id: 'warning', color: 'problemsWarningIcon.foreground' }
        : { id: total === 0 ? 'check' : 'diff' },
  };
}

function describeSnapshot(node: SnapshotNode, now: number): ItemView {
  const { snapshot } = node;
  const size = `${snapshot.files} ${snapshot.files === 1 ? 'file' : 'files'}`;
  return {
    id: nodeId(node.parent, 'snapshot', snapshot.id),
    label: firstLine(snapshot.message),
    description: `${formatAge(snapshot.time, now)} · ${size} · ${formatBytes(snapshot.bytes)}`,
    tooltip: [
      `Snapshot ${snapshot.id}${node.latest ? ' (latest)' : ''}`,
      snapshot.message,
      `${snapshot.author}, ${snapshot.time}`,
      `${size}, ${formatBytes(snapshot.bytes)}`,
    ].join('\n'),
    contextValue: node.previous ? 'snapshot' : 'snapshot.first',
    collapsible: 'collapsed',
    icon: { id: 'git-commit' },
  };
}

const CHANGE_LOOK: Record<ChangeKind, { title: string; icon: string; color: string }> = {
  added: { title: 'Added', icon: 'diff-added', color: 'gitDecoration.addedResourceForeground' },
  modified: { title: 'Modified', icon: 'diff-modified', color: 'gitDecoration.modifiedResourceForeground' },
  removed: { title: 'Removed', icon: 'diff-removed', color: 'gitDecoration.deletedResourceForeground' },
};

function describeFile(node: FileNode): ItemView {
  const { file } = node;
  const dataset = datasetOf(node).dataset;
  const look = CHANGE_LOOK[file.change];
  const shown = displayedPath(dataset.path, file.path);
  const folder = dirname(file.path);
  const sizes = [file.before, file.after].map((entry) => (entry ? describeEntrySize(entry) : undefined));
  const sizeText =
    file.change === 'modified'
      ? `${sizes[0] ?? ''} → ${sizes[1] ?? ''}`
      : (sizes[file.change === 'added' ? 1 : 0] ?? '');
  const onDisk = node.parent.kind === 'changes';
  return {
    id: nodeId(datasetOf(node), node.parent.kind, snapshotKey(node.parent), file.path),
    label: file.path === '' ? basename(dataset.path) : basename(file.path),
    description: folder === '.' ? undefined : folder,
    tooltip: `${look.title}: ${shown}${sizeText === '' ? '' : ` (${sizeText})`}`,
    contextValue: onDisk ? 'file.disk' : 'file.snapshot',
    collapsible: 'none',
    icon: { id: look.icon, color: look.color },
    openCommand: onDisk ? 'sluice.diffWithDisk' : 'sluice.diffWithPrevious',
  };
}

function describeEntrySize(entry: FileEntry): string {
  if (entry.type === 'file') return formatBytes(entry.size);
  return entry.type === 'link' ? `link to ${entry.target}` : 'empty folder';
}

/** `+2 ~1 −3`, leaving out kinds with no change. */
export function countChanges(changes: Comparison['changes']): string {
  const parts = [
    changes.added.length > 0 ? `+${changes.added.length}` : '',
    changes.modified.length > 0 ? `~${changes.modified.length}` : '',
    changes.removed.length > 0 ? `−${changes.removed.length}` : '',
  ];
  return parts.filter((part) => part !== '').join(' ');
}

/** A file of a dataset as the user knows it: the dataset path, then the file's path inside it. */
export function displayedPath(datasetPath: string, filePath: string): string {
  return filePath === '' ? datasetPath : `${datasetPath}/${filePath}`;
}

export function firstLine(message: string): string {
  return message.split('\n', 1)[0] ?? '';
}

function snapshotKey(node: ChangesNode | SnapshotNode): string {
  return node.kind === 'snapshot' ? node.snapshot.id : '';
}

function nodeId(dataset: DatasetNode, ...rest: string[]): string {
  return JSON.stringify([dataset.root, dataset.dataset.name, ...rest]);
}
