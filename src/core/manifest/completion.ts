// Completion for the manifest. The context (which key or value the cursor is
// in) is read from the text by indentation, not from the parse tree: while a
// user types, the line under the cursor is usually not valid YAML yet.
import { SluiceError } from '../errors';
import { lexicalEscape, normalizeRelative, type FileProbe } from '../paths';
import type { ManifestAnalysis } from './analysis';
import type { LineIndex } from './diagnostics';
import type { Manifest } from './model';
import {
  describeSchema,
  isNameMap,
  objectBranches,
  resolveSchema,
  schemaAtPath,
  type JsonSchema,
} from './schema';
import { DEFAULT_GIT_REMOTE, locateRemote, S3_ONLY_KEYS } from './remotes';
import { pipelineOf, WORKSPACE } from './semantics';
import { nameCandidates, openRefBefore, templateBodyAt } from './templateRefs';
import { parse as parseYaml } from 'yaml';

/** `variable`: a name inside `${…}`. */
export type CompletionKind = 'key' | 'value' | 'reference' | 'path' | 'folder' | 'variable';

export interface CompletionItem {
  readonly label: string;
  readonly kind: CompletionKind;
  readonly detail?: string;
  readonly documentation?: string;
  /** Text to insert; `$0`/`${1:…}` snippets when `snippet` is set. */
  readonly insertText: string;
  readonly snippet?: boolean;
  /** The range the item replaces: what was typed of the word. */
  readonly replaceStart: number;
  readonly replaceEnd: number;
  readonly sortText?: string;
  /** Reopen completion after inserting (folders). */
  readonly retrigger?: boolean;
}

/** Where the cursor is, in terms of the manifest's structure. */
export interface CompletionContext {
  /** Keys from the root to the mapping or list the cursor is in; '[]' stands for a list item. */
  readonly path: readonly string[];
  /** Typing a key of the mapping at `path`, or a value of the key at the end of `path`. */
  readonly position: 'key' | 'value';
  /** What was typed of the current word, and where it starts. */
  readonly partial: string;
  readonly partialStart: number;
  /** Keys already present in the mapping the cursor is in (for key completion). */
  readonly present: ReadonlySet<string>;
  /** The cursor is in a list item (`- x` or `[a, x`). */
  readonly inList: boolean;
}

const KEY_AT = /^(\s*)(-\s+)?([^\s:#'"[\]{},][^:#]*?|"[^"]*"|'[^']*')\s*:(?:\s|$)/;

interface LineInfo {
  readonly indent: number;
  /** Column where the key of the line starts (after `- ` when the line opens a list item). */
  readonly keyColumn: number;
  readonly key: string | undefined;
  readonly item: boolean;
  /** The line is `key:` with nothing after it (its value is a block below). */
  readonly opensBlock: boolean;
}

function describeLine(text: string): LineInfo | undefined {
  if (/^\s*(#|$)/.test(text)) return undefined;
  const indent = text.length - text.trimStart().length;
  const match = KEY_AT.exec(text);
  if (match) {
    const item = match[2] !== undefined;
    const keyColumn = match[1]!.length + (match[2]?.length ?? 0);
    const rest = text.slice(match[0].length).replace(/#.*$/, '').trim();
    return { indent, keyColumn, key: unquote(match[3]!.trim()), item, opensBlock: rest === '' };
  }
  const item = /^\s*-(\s|$)/.test(text);
  return { indent, keyColumn: item ? indent + 2 : indent, key: undefined, item, opensBlock: false };
}

function unquote(key: string): string {
  return /^(["']).*\1$/.test(key) ? key.slice(1, -1) : key;
}

/**
 * The keys enclosing a position at `column` on `line`: walks up to lines
 * indented less, collecting their keys, with '[]' for each list item passed.
 * `startsItem` says the position is a new list item's dash.
 */
function enclosingPath(
  lines: LineIndex,
  line: number,
  column: number,
  startsItem: boolean,
): { path: string[]; present: Set<string> } {
  const reversed: string[] = [];
  const present = new Set<string>();
  let limit = column;
  let collecting = !startsItem;
  // Right after a list item, a key at the item's own indentation may own the list.
  let afterItem = startsItem;
  for (let i = line - 1; i >= 0 && (limit > 0 || afterItem || collecting); i--) {
    // Most lines above are deeper than the current level: skip them without a regex.
    const indent = lines.indentation(i);
    if (indent === -1 || indent > limit) continue;
    const info = describeLine(lines.lineText(i));
    if (!info) continue;
    if (
      collecting &&
      info.key !== undefined &&
      info.keyColumn === limit &&
      (info.indent === limit || info.item)
    ) {
      present.add(info.key);
      if (info.item) {
        // `- key: value` opens the list item whose keys we are among.
        reversed.push('[]');
        limit = info.indent;
        collecting = false;
        afterItem = true;
      }
      continue;
    }
    if (info.indent > limit) continue;
    if (info.indent === limit) {
      if (afterItem && !info.item && info.key !== undefined) {
        reversed.push(info.key);
        afterItem = false;
        collecting = false;
      }
      continue;
    }
    collecting = false;
    if (info.item) {
      if (info.key !== undefined && info.keyColumn < limit) reversed.push(info.key);
      reversed.push('[]');
      limit = info.indent;
      afterItem = true;
    } else if (info.key !== undefined) {
      reversed.push(info.key);
      limit = info.indent;
      afterItem = false;
    }
  }
  return { path: reversed.reverse(), present };
}

/** Siblings below the cursor count as present too. */
function collectBelow(lines: LineIndex, line: number, column: number, present: Set<string>): void {
  for (let i = line + 1; i < lines.lineCount; i++) {
    const indent = lines.indentation(i);
    if (indent === -1 || indent > column) continue;
    const info = describeLine(lines.lineText(i));
    if (!info) continue;
    if (info.indent < column) return;
    if (info.indent === column && info.key !== undefined) present.add(info.key);
  }
}

export function completionContext(lines: LineIndex, offset: number): CompletionContext {
  const { line, character } = lines.position(offset);
  const before = lines.lineText(line).slice(0, character);
  // A value after `key:` on this line (possibly in a flow list `key: [a, b`).
  const keyed = KEY_AT.exec(before);
  if (keyed) {
    const keyColumn = keyed[1]!.length + (keyed[2]?.length ?? 0);
    const key = unquote(keyed[3]!.trim());
    const valueText = before.slice(keyed[0].length);
    const flow = valueText.lastIndexOf('[') > valueText.lastIndexOf(']');
    const partial = (
      flow ? valueText.slice(Math.max(valueText.lastIndexOf('['), valueText.lastIndexOf(',')) + 1) : valueText
    )
      .trimStart()
      .replace(/^["']/, '');
    const startsItem = keyed[2] !== undefined;
    const { path } = enclosingPath(lines, line, startsItem ? keyed[1]!.length : keyColumn, startsItem);
    if (startsItem) path.push('[]');
    return {
      path: [...path, key],
      position: 'value',
      partial,
      partialStart: offset - partial.length,
      present: new Set(),
      inList: flow,
    };
  }
  const bare = /^(\s*)(-\s+)?(\S*)$/.exec(before);
  const indent = bare?.[1]?.length ?? 0;
  const dash = bare?.[2];
  const partial = (bare?.[3] ?? '').replace(/^["']/, '');
  const column = indent + (dash?.length ?? 0);
  const { path, present } = enclosingPath(lines, line, dash ? indent : column, dash !== undefined);
  if (dash) path.push('[]');
  if (!dash) collectBelow(lines, line, column, present);
  return {
    path,
    position: 'key',
    partial,
    partialStart: offset - partial.length,
    present: dash ? new Set() : present,
    inList: dash !== undefined,
  };
}

/**
 * Completion items at `offset` of the text `lines` indexes. Names come from
 * `analysis`, which may be a version behind while the user types.
 */
export function complete(analysis: ManifestAnalysis, lines: LineIndex, offset: number): CompletionItem[] {
  const templated = templateNameItems(analysis, lines, offset);
  if (templated) return templated;
  const context = completionContext(lines, offset);
  const items: CompletionItem[] = [];
  const schema = schemaAtPath(context.path);
  const replace = { replaceStart: context.partialStart, replaceEnd: offset };
  if (context.position === 'key') {
    if (schema) {
      const resolved = resolveSchema(schema);
      // A list item may be a plain value (`- checks`) or a mapping (`- metric: …`).
      if (context.inList)
        items.push(...valueItems(analysis.manifest, context, resolved, analysis.probe, replace));
      if (!isNameMap(resolved))
        items.push(
          ...keyItems(resolved, context, replace).filter(
            (item) => !s3OptionOfOtherRemote(analysis.manifest, context.path, item.label),
          ),
        );
    }
    return items;
  }
  if (!schema) return items;
  return valueItems(analysis.manifest, context, resolveSchema(schema), analysis.probe, replace);
}

/**
 * Inside an open `${…}` of any string: the names in scope there (after a dot,
 * the keys of what is before it), replacing only what is typed of the last
 * part. Undefined elsewhere.
 */
function templateNameItems(
  analysis: ManifestAnalysis,
  lines: LineIndex,
  offset: number,
): CompletionItem[] | undefined {
  const { line, character } = lines.position(offset);
  const lineText = lines.lineText(line);
  const open = openRefBefore(lineText, character);
  if (!open) return undefined;
  const dot = open.typed.lastIndexOf('.');
  const partial = open.typed.slice(dot + 1);
  // An index (`models[0`) is typed by hand.
  if (/[[\]]/.test(partial)) return [];
  // The keys above the line, and the line's own, say which template body it is in: a
  // matrix stage's `run:` is in its body, its `matrix:` is not. The line may not parse yet.
  const contentStart = offset - character + (lineText.length - lineText.trimStart().length);
  const keys = completionContext(lines, contentStart).path.filter((segment) => segment !== '[]');
  const ownKey = /^\s*(?:-\s+)?([\w-]+)\s*:/.exec(lineText)?.[1];
  const body = templateBodyAt(analysis, ownKey === undefined ? keys : [...keys, ownKey]);
  const base = dot === -1 ? '' : open.typed.slice(0, dot);
  return nameCandidates(analysis, body, base).map((candidate) => ({
    label: candidate.name,
    kind: 'variable',
    detail: candidate.detail,
    documentation: candidate.documentation,
    insertText: candidate.name,
    // The template's own names first: they are what its body is written around.
    sortText: `${candidate.ofTemplate ? '0' : '1'}${candidate.name}`,
    replaceStart: offset - partial.length,
    replaceEnd: offset,
  }));
}

/** True for `endpoint`, `region` or `path_style` in a remote whose URL is known and not s3://. */
function s3OptionOfOtherRemote(manifest: Manifest, path: readonly string[], key: string): boolean {
  if (path.length !== 2 || path[0] !== 'remotes' || !S3_ONLY_KEYS.includes(key)) return false;
  const url = manifest.remotes.get(path[1]!)?.url?.value;
  if (url === undefined) return false;
  const location = locateRemote(url, '/');
  return !(location instanceof SluiceError) && location.kind !== 's3';
}

function keyItems(
  schema: JsonSchema,
  context: CompletionContext,
  replace: { replaceStart: number; replaceEnd: number },
): CompletionItem[] {
  const items: CompletionItem[] = [];
  // Of several forms (a command check or a metric check), only those the keys
  // already written still allow.
  const branches = objectBranches(schema).filter((branch) =>
    [...context.present].every((key) => Object.prototype.hasOwnProperty.call(branch.properties ?? {}, key)),
  );
  const required = new Set(branches.flatMap((branch) => branch.required ?? []));
  const properties = new Map<string, JsonSchema>();
  for (const branch of branches) {
    for (const [key, property] of Object.entries(branch.properties ?? {}))
      if (!properties.has(key)) properties.set(key, property);
  }
  for (const [key, property] of properties) {
    if (context.present.has(key)) continue;
    const resolved = resolveSchema(property);
    const documentation = describeSchema(property);
    let insertText = `${key}: `;
    if (resolved.type === 'object') insertText = `${key}:\n  `;
    else if (resolved.type === 'array') {
      const item = resolved.items ? resolveSchema(resolved.items) : undefined;
      insertText = item?.type === 'string' || item === undefined ? `${key}: [$0]` : `${key}:\n  - `;
    }
    items.push({
      label: key,
      kind: 'key',
      detail: required.has(key) ? 'required' : typeLabel(resolved),
      ...(documentation === undefined ? {} : { documentation }),
      insertText,
      snippet: insertText.includes('$0'),
      sortText: `${required.has(key) ? '0' : '1'}${key}`,
      ...replace,
    });
  }
  return items;
}

function typeLabel(schema: JsonSchema): string {
  if (schema.oneOf) return 'one of several forms';
  if (schema.type === 'array') return 'list';
  if (schema.type === 'object') return 'mapping';
  return schema.type ?? 'value';
}

/** What a value at `path` refers to, if it is a reference or a path. */
export type ValueRole =
  | 'dataset'
  | 'stage'
  | 'pipeline'
  | 'environment'
  | 'path'
  | 'metric'
  | 'param'
  | 'git-remote'
  | 'remote-url'
  | undefined;

/** The single table of which manifest values name what. */
export function valueRole(path: readonly string[]): ValueRole {
  const keys = path.filter((segment) => segment !== '[]');
  const [section, , sub, , field] = keys;
  const last = keys[keys.length - 1];
  if (section === 'params' && keys.length === 1) return 'path';
  if (section === 'datasets' && keys.length === 3 && last === 'path') return 'path';
  if (section === 'pipelines' && sub === 'stages' && keys.length === 5) {
    if (field === 'datasets') return 'dataset';
    if (field === 'needs') return 'stage';
    if (field === 'params') return 'param';
    if (field === 'deps' || field === 'outs' || field === 'metrics' || field === 'plots') return 'path';
  }
  // `- path: …` in a plot mapping.
  if (
    section === 'pipelines' &&
    sub === 'stages' &&
    field === 'plots' &&
    keys.length === 6 &&
    last === 'path'
  )
    return 'path';
  if (section === 'pipelines' && sub === 'checks' && last === 'metric') return 'metric';
  if (section === 'environments' && keys.length === 3) {
    if (last === 'from') return 'environment';
    if (last === 'pipeline') return 'pipeline';
  }
  if (section === 'environments' && keys[2] === 'gates' && last === 'metric') return 'metric';
  if (section === 'environments' && keys[2] === 'deploy' && last === 'path') return 'path';
  if (section === 'remotes' && keys.length === 3) {
    if (last === 'git') return 'git-remote';
    if (last === 'url') return 'remote-url';
  }
  return undefined;
}

function valueItems(
  manifest: Manifest,
  context: CompletionContext,
  schema: JsonSchema,
  probe: FileProbe | undefined,
  replace: { replaceStart: number; replaceEnd: number },
): CompletionItem[] {
  const role = valueRole(context.path);
  const keys = context.path.filter((segment) => segment !== '[]');
  const names = (values: Iterable<string>, detail: string, describe?: (name: string) => string | undefined) =>
    [...values].map((label): CompletionItem => {
      const documentation = describe?.(label);
      return {
        label,
        kind: 'reference',
        detail,
        ...(documentation === undefined ? {} : { documentation }),
        insertText: label,
        ...replace,
      };
    });
  switch (role) {
    case 'dataset':
      return names(manifest.datasets.keys(), 'dataset', (name) => {
        const dataset = manifest.datasets.get(name);
        return [dataset?.path ? `\`${dataset.path.value}\`` : undefined, dataset?.description]
          .filter(Boolean)
          .join(' — ');
      });
    case 'stage': {
      const pipeline = manifest.pipelines.get(keys[1] ?? '');
      const stageName = keys[3];
      const candidates = [...(pipeline?.stages.keys() ?? [])].filter((name) => name !== stageName);
      return names(
        candidates,
        `stage of ${keys[1] ?? 'the pipeline'}`,
        (name) => pipeline?.stages.get(name)?.run?.value,
      );
    }
    case 'pipeline':
      return names(
        manifest.pipelines.keys(),
        'pipeline',
        (name) => manifest.pipelines.get(name)?.description,
      );
    case 'environment': {
      const self = keys[1];
      const candidates = [WORKSPACE, ...[...manifest.environments.keys()].filter((name) => name !== self)];
      return names(candidates, 'environment', (name) =>
        name === WORKSPACE
          ? 'The working tree: releases are built by `sluice stage`.'
          : manifest.environments.get(name)?.description,
      );
    }
    case 'metric':
      return metricItems(manifest, keys, probe, replace);
    case 'param':
      return paramItems(manifest, probe, replace);
    case 'path':
      return probe ? pathItems(probe, context.partial, replace) : [];
    case 'git-remote':
      return gitRemoteItems(probe, replace);
    case 'remote-url':
      return remoteUrlItems(context.partial, replace);
    default:
      break;
  }
  const items: CompletionItem[] = [];
  const enums = schema.oneOf
    ? schema.oneOf.flatMap((branch) => resolveSchema(branch).enum ?? [])
    : (schema.enum ?? []);
  for (const value of enums)
    items.push({ label: String(value), kind: 'value', insertText: String(value), ...replace });
  if (schema.type === 'boolean') {
    for (const value of ['true', 'false'])
      items.push({ label: value, kind: 'value', insertText: value, ...replace });
  }
  return items;
}

function metricItems(
  manifest: Manifest,
  keys: readonly string[],
  probe: FileProbe | undefined,
  replace: { replaceStart: number; replaceEnd: number },
): CompletionItem[] {
  const pipelineName =
    keys[0] === 'pipelines'
      ? keys[1]
      : (() => {
          const environment = manifest.environments.get(keys[1] ?? '');
          return environment ? pipelineOf(manifest, environment) : undefined;
        })();
  const pipeline = manifest.pipelines.get(pipelineName ?? '');
  const items: CompletionItem[] = [];
  for (const stage of pipeline?.stages.values() ?? []) {
    for (const metrics of stage.metrics) {
      const file = normalizeRelative(metrics.value);
      const content = probe?.readText(file);
      const leaves = content === undefined ? [] : numericLeaves(safeParse(content));
      if (leaves.length === 0) {
        items.push({
          label: `${file}#`,
          kind: 'reference',
          detail: `metrics of ${stage.name}`,
          insertText: `${file}#`,
          retrigger: true,
          ...replace,
        });
      }
      for (const [key, value] of leaves) {
        items.push({
          label: `${file}#${key}`,
          kind: 'reference',
          detail: `${JSON.stringify(value)} now`,
          documentation: `Written by stage \`${stage.name}\`.`,
          insertText: `${file}#${key}`,
          ...replace,
        });
      }
    }
  }
  return items;
}

function safeParse(content: string): unknown {
  try {
    return parseYaml(content) as unknown;
  } catch {
    return undefined;
  }
}

/** Dotted keys of every number in a parsed metrics or params file. */
function numericLeaves(
  value: unknown,
  prefix = '',
  into: [string, unknown][] = [],
  any = false,
): [string, unknown][] {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      numericLeaves(child, prefix ? `${prefix}.${key}` : key, into, any);
    }
  } else if (prefix && (any || typeof value === 'number')) {
    into.push([prefix, value]);
  }
  return into;
}

function paramItems(
  manifest: Manifest,
  probe: FileProbe | undefined,
  replace: { replaceStart: number; replaceEnd: number },
): CompletionItem[] {
  if (!manifest.params || !probe) return [];
  const content = probe.readText(manifest.params.value);
  if (content === undefined) return [];
  const values = safeParse(content);
  return numericLeaves(values, '', [], true).map(([key, value]) => ({
    label: key,
    kind: 'reference' as const,
    detail: `${JSON.stringify(value)} in ${manifest.params!.value}`,
    insertText: key,
    ...replace,
  }));
}

function pathItems(
  probe: FileProbe,
  partial: string,
  replace: { replaceStart: number; replaceEnd: number },
): CompletionItem[] {
  // Complete the last path component inside the folder typed so far.
  const slash = partial.lastIndexOf('/');
  const folder = slash === -1 ? '' : partial.slice(0, slash);
  // Nothing outside the workspace may be named, so nothing outside is offered.
  if (lexicalEscape(partial) || (folder !== '' && lexicalEscape(folder))) return [];
  const start = replace.replaceStart + slash + 1;
  return probe
    .list(folder)
    .filter((entry) => !(folder === '' && ['.git', '.sluice', 'node_modules'].includes(entry.name)))
    .map((entry) => ({
      label: entry.directory ? `${entry.name}/` : entry.name,
      kind: entry.directory ? ('folder' as const) : ('path' as const),
      insertText: entry.directory ? `${entry.name}/` : entry.name,
      replaceStart: start,
      replaceEnd: replace.replaceEnd,
      sortText: `${entry.directory ? '0' : '1'}${entry.name}`,
      ...(entry.directory ? { retrigger: true } : {}),
    }));
}

/** The git remotes of the workspace's repository (`[remote "NAME"]` in .git/config), `origin` first. */
function gitRemoteItems(
  probe: FileProbe | undefined,
  replace: { replaceStart: number; replaceEnd: number },
): CompletionItem[] {
  const config = probe?.readText('.git/config') ?? '';
  const remotes = new Map<string, string | undefined>();
  let current: string | undefined;
  for (const line of config.split('\n')) {
    const section = /^\s*\[\s*remote\s+"([^"]+)"\s*\]/.exec(line);
    if (section) {
      current = section[1]!;
      remotes.set(current, undefined);
    } else if (/^\s*\[/.test(line)) {
      current = undefined;
    } else if (current !== undefined) {
      const url = /^\s*url\s*=\s*(.*?)\s*$/.exec(line);
      if (url) remotes.set(current, url[1]);
    }
  }
  if (!remotes.has(DEFAULT_GIT_REMOTE)) remotes.set(DEFAULT_GIT_REMOTE, undefined);
  return [...remotes].map(([name, url]) => ({
    label: name,
    kind: 'reference' as const,
    detail: url ?? 'git remote',
    documentation:
      name === DEFAULT_GIT_REMOTE
        ? 'The default: refs/sluice/* travel with this git remote.'
        : `refs/sluice/* travel with the git remote \`${name}\`.`,
    insertText: name,
    sortText: `${name === DEFAULT_GIT_REMOTE ? '0' : '1'}${name}`,
    ...replace,
  }));
}

const URL_FORMS: readonly {
  readonly label: string;
  readonly detail: string;
  readonly documentation: string;
}[] = [
  {
    label: 's3://',
    detail: 'S3 bucket',
    documentation:
      '`s3://bucket/prefix`. Credentials come from the AWS chain; add `endpoint:` for MinIO, Ceph RGW or R2.',
  },
  {
    label: 'ssh://',
    detail: 'SSH server',
    documentation:
      '`ssh://[user@]host[:port]/path` (or `host:path`). Logs in with your ~/.ssh/config, keys and agent.',
  },
  {
    label: 'file://',
    detail: 'folder',
    documentation:
      '`file:///mnt/team/sluice`: a shared or mounted disk. A plain path works too, relative to the workspace root.',
  },
];

/** The URL forms, while no scheme is typed yet. */
function remoteUrlItems(
  partial: string,
  replace: { replaceStart: number; replaceEnd: number },
): CompletionItem[] {
  if (partial.includes(':')) return [];
  return URL_FORMS.filter((form) => form.label.startsWith(partial.toLowerCase())).map((form) => ({
    ...form,
    kind: 'value' as const,
    insertText: form.label,
    ...replace,
  }));
}
