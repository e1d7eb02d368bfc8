// The messages between the extension and the Experiments page, declared once
// for both sides with the side that sends each. Both sides check what arrives
// before acting on it: a page is another process, and the host's messages may
// come from an older build of the page's script while a window reloads.
import type { ExperimentTable, QueuedExperiment } from '../../core/experiments/table';

/** What the page can do in this window now. */
export interface Capabilities {
  /** Run, apply, stage and remove are allowed (a trusted workspace). */
  readonly canRun: boolean;
  /** Why they are not, shown beside the disabled buttons. */
  readonly whyNot: string | null;
}

// ---- Extension → page -------------------------------------------------------

/** Extension → page: the table to draw (on open, after any change of records, after a baseline change). */
export interface ShowTableMessage {
  readonly type: 'table';
  readonly table: ExperimentTable;
  /** The workspace's environments, for the baseline chooser. */
  readonly environments: readonly string[];
  /** The params file now, dotted key → value (null: the manifest names none): the form's fields. */
  readonly paramsFile: Readonly<Record<string, unknown>> | null;
  readonly capabilities: Capabilities;
}

/** Extension → page: no table can be read; `reason` says why and what to do. */
export interface UnavailableMessage {
  readonly type: 'unavailable';
  readonly reason: string;
  readonly capabilities: Capabilities;
}

/** Extension → page: queued runs as they go (from runExperiments' onProgress, or the queue file). */
export interface QueueMessage {
  readonly type: 'queue';
  readonly queue: readonly QueuedExperiment[];
}

/** Extension → page: show these rows side by side (plots asked for without the Plots view). */
export interface CompareMessage {
  readonly type: 'compare';
  readonly ids: readonly string[];
}

/** Extension → page: an action the page asked for ended (the page re-enables its buttons). */
export interface ActionDoneMessage {
  readonly type: 'actionDone';
}

export type ToPageMessage =
  ShowTableMessage | UnavailableMessage | QueueMessage | CompareMessage | ActionDoneMessage;

// ---- Page → extension -------------------------------------------------------

/** Page → extension: the script is listening; send the table. */
export interface ReadyMessage {
  readonly type: 'ready';
}

/** Page → extension: read the records again. */
export interface RefreshMessage {
  readonly type: 'refresh';
}

/** Page → extension: compare against `vs` (`HEAD` or an environment's name). */
export interface BaselineMessage {
  readonly type: 'baseline';
  readonly vs: string;
}

/** Page → extension: run experiments with these `--set` arguments (`KEY=V1,V2` makes a grid). */
export interface RunMessage {
  readonly type: 'run';
  readonly set: readonly string[];
  /** Runs at a time (`-j`). */
  readonly jobs?: number;
  readonly name?: string;
}

/** Page → extension: apply one experiment to the workspace (the host asks first). */
export interface ApplyMessage {
  readonly type: 'apply';
  readonly id: string;
}

/** Page → extension: stage a release from one experiment. */
export interface StageMessage {
  readonly type: 'stage';
  readonly id: string;
}

/** Page → extension: remove these experiments (the host asks first). */
export interface RemoveMessage {
  readonly type: 'remove';
  readonly ids: readonly string[];
}

/** Page → extension: plot these experiments. */
export interface PlotMessage {
  readonly type: 'plot';
  readonly ids: readonly string[];
}

/** Page → extension: open Manage Workspace Trust (the way out of Restricted Mode). */
export interface ManageTrustMessage {
  readonly type: 'manageTrust';
}

export type FromPageMessage =
  | ReadyMessage
  | ManageTrustMessage
  | RefreshMessage
  | BaselineMessage
  | RunMessage
  | ApplyMessage
  | StageMessage
  | RemoveMessage
  | PlotMessage;

/** Most rows a single action takes: a page asking for more is not one a person drives. */
const MAX_IDS = 10_000;

function isStringList(value: unknown): value is readonly string[] {
  return (
    Array.isArray(value) &&
    value.length <= MAX_IDS &&
    value.every((item) => typeof item === 'string' && item !== '')
  );
}

/** What the extension accepts from the page; anything else is dropped. */
export function parseFromPage(message: unknown): FromPageMessage | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const fields = message as Record<string, unknown>;
  const { type } = fields;
  switch (type) {
    case 'ready':
    case 'refresh':
    case 'manageTrust':
      return { type };
    case 'baseline':
      return typeof fields['vs'] === 'string' && fields['vs'] !== '' ? { type, vs: fields['vs'] } : undefined;
    case 'run': {
      const { set, jobs, name } = fields;
      if (!isStringList(set) || !set.every((item) => /^[^=\s][^=]*=/.test(item))) return undefined;
      if (
        jobs !== undefined &&
        !(typeof jobs === 'number' && Number.isInteger(jobs) && jobs >= 1 && jobs <= 64)
      )
        return undefined;
      if (name !== undefined && (typeof name !== 'string' || name.trim() === '')) return undefined;
      return {
        type,
        set,
        ...(typeof jobs === 'number' ? { jobs } : {}),
        ...(typeof name === 'string' ? { name: name.trim() } : {}),
      };
    }
    case 'apply':
    case 'stage':
      return typeof fields['id'] === 'string' && fields['id'] !== '' ? { type, id: fields['id'] } : undefined;
    case 'remove':
    case 'plot':
      return isStringList(fields['ids']) && fields['ids'].length > 0
        ? { type, ids: fields['ids'] }
        : undefined;
    default:
      return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isCapabilities(value: unknown): value is Capabilities {
  return (
    isObject(value) &&
    typeof value['canRun'] === 'boolean' &&
    (value['whyNot'] === null || typeof value['whyNot'] === 'string')
  );
}

function isTable(value: unknown): value is ExperimentTable {
  return (
    isObject(value) &&
    isObject(value['baseline']) &&
    Array.isArray(value['params']) &&
    Array.isArray(value['metrics']) &&
    Array.isArray(value['experiments']) &&
    Array.isArray(value['queue']) &&
    value['experiments'].every((row) => isObject(row) && typeof row['id'] === 'string')
  );
}

/**
 * What the page accepts from the extension. The table's rows are checked for
 * shape at the top only: they come from the engine, which types them.
 */
export function parseToPage(message: unknown): ToPageMessage | undefined {
  if (!isObject(message)) return undefined;
  switch (message['type']) {
    case 'table':
      return isTable(message['table']) &&
        isStringList(message['environments'] ?? []) &&
        (message['paramsFile'] === null || isObject(message['paramsFile'])) &&
        isCapabilities(message['capabilities'])
        ? (message as unknown as ShowTableMessage)
        : undefined;
    case 'unavailable':
      return typeof message['reason'] === 'string' && isCapabilities(message['capabilities'])
        ? (message as unknown as UnavailableMessage)
        : undefined;
    case 'queue':
      return Array.isArray(message['queue']) ? (message as unknown as QueueMessage) : undefined;
    case 'compare':
      return isStringList(message['ids']) ? { type: 'compare', ids: message['ids'] } : undefined;
    case 'actionDone':
      return { type: 'actionDone' };
    default:
      return undefined;
  }
}
