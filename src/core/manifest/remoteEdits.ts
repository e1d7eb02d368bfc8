// Edits of the `remotes:` section of sluice.yaml, as text: `sluice remote add`,
// `remove` and `default` change the lines of one remote and leave every other
// byte of the file as the user wrote it (comments, blank lines, quoting,
// alignment). The `yaml` package's Document API would re-print the whole file
// (re-folding `>` blocks, re-spacing flow lists and comments), so it is only
// the fallback for a section written in flow style, and then for that section
// alone. Every result is checked: the edited text must parse to exactly the
// old document with the one change applied, or the edit is refused.
import { isDeepStrictEqual } from 'node:util';
import {
  isMap,
  isScalar,
  parse,
  parseDocument,
  stringify,
  type Document,
  type Pair,
  type ParsedNode,
  type YAMLMap,
} from 'yaml';

/** The fields of a remote as YAML spells them, in the order they are written. */
export interface RemoteFields {
  readonly url: string;
  readonly default?: boolean;
  readonly git?: string;
  readonly endpoint?: string;
  readonly region?: string;
  readonly path_style?: boolean;
}

const FIELD_ORDER: readonly (keyof RemoteFields)[] = [
  'url',
  'default',
  'git',
  'endpoint',
  'region',
  'path_style',
];

/** A change of the section, applied to the parsed document to check the text edit. */
type Change =
  | { readonly kind: 'add'; readonly name: string; readonly fields: RemoteFields }
  | { readonly kind: 'remove'; readonly name: string }
  | { readonly kind: 'default'; readonly name: string };

/** The manifest text with remote `name` added at the end of `remotes:` (the section is made if missing). */
export function addRemoteText(text: string, name: string, fields: RemoteFields): string {
  return edit(text, { kind: 'add', name, fields });
}

/** The manifest text without remote `name`; the section goes when it was the last. */
export function removeRemoteText(text: string, name: string): string {
  return edit(text, { kind: 'remove', name });
}

/** The manifest text with `default: true` on remote `name` and on no other. */
export function setDefaultRemoteText(text: string, name: string): string {
  return edit(text, { kind: 'default', name });
}

/** Thrown when no edit keeps the rest of the document as it was (a bug, or YAML this cannot edit). */
export class RemoteEditRefused extends Error {}

function edit(text: string, change: Change): string {
  const expected = applyToValue(parse(text) as unknown, change);
  const attempts = [
    () => editLines(text, change),
    () => rewriteSection(text, change),
    () => rewriteDocument(text, change),
  ];
  for (const attempt of attempts) {
    const result = attempt();
    if (result !== undefined && sameDocument(result, expected)) return result;
  }
  throw new RemoteEditRefused(
    `sluice.yaml could not be edited without changing more than the remote \`${change.name}\`.`,
  );
}

function sameDocument(text: string, expected: unknown): boolean {
  try {
    const document = parseDocument(text);
    return document.errors.length === 0 && isDeepStrictEqual(document.toJS() as unknown, expected);
  } catch {
    return false;
  }
}

/** What the document should parse to after the change. */
function applyToValue(value: unknown, change: Change): unknown {
  const top = isRecord(value) ? { ...value } : {};
  const remotes: Record<string, unknown> = isRecord(top['remotes']) ? { ...top['remotes'] } : {};
  if (change.kind === 'add') {
    if (change.fields.default === true) clearDefaults(remotes);
    remotes[change.name] = fieldsObject(change.fields);
  } else if (change.kind === 'remove') {
    Reflect.deleteProperty(remotes, change.name);
  } else {
    clearDefaults(remotes);
    const target = remotes[change.name];
    remotes[change.name] = { ...(isRecord(target) ? target : {}), default: true };
  }
  if (Object.keys(remotes).length === 0) Reflect.deleteProperty(top, 'remotes');
  else top['remotes'] = remotes;
  return top;
}

/** Drops `default: true` from every remote (a `default: false` stays as written). */
function clearDefaults(remotes: Record<string, unknown>): void {
  for (const [name, remote] of Object.entries(remotes)) {
    if (!isRecord(remote) || remote['default'] !== true) continue;
    const rest = { ...remote };
    Reflect.deleteProperty(rest, 'default');
    remotes[name] = rest;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function fieldsObject(fields: RemoteFields): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const key of FIELD_ORDER) if (fields[key] !== undefined) result[key] = fields[key];
  return result;
}

// --- Line edits -------------------------------------------------------------

interface Splice {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

type ParsedMap = YAMLMap.Parsed;
type ParsedPair = Pair<ParsedNode, ParsedNode | null>;

/** The top mapping of a text (undefined for an empty document); undefined when it has errors or is not a mapping. */
function parsedRoot(text: string): { root: ParsedMap | undefined } | undefined {
  const document = parseDocument(text);
  if (document.errors.length > 0) return undefined;
  const root = document.contents;
  if (root === null) return { root: undefined };
  return isMap(root) ? { root: root } : undefined;
}

function keyOf(pair: ParsedPair): string | undefined {
  return isScalar(pair.key) ? String(pair.key.value) : undefined;
}

function findPair(map: ParsedMap, key: string): ParsedPair | undefined {
  return (map.items as ParsedPair[]).find((pair) => keyOf(pair) === key);
}

/** A block mapping (not `{…}`), or undefined. */
function blockMap(node: ParsedNode | null | undefined): ParsedMap | undefined {
  return node && isMap(node) && !node.flow ? node : undefined;
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

/** The offset after the line break of the line holding `offset - 1`: the end of a node's last line. */
function lineEnd(text: string, start: number, end: number): number {
  const newline = text.indexOf('\n', Math.max(start, end - 1));
  return newline === -1 ? text.length : newline + 1;
}

function column(text: string, offset: number): number {
  return offset - lineStart(text, offset);
}

function pairStart(pair: ParsedPair): number {
  return pair.key.range[0];
}

/** Where a pair's text ends: the end of its value, or of its key when it has none. */
function pairEnd(pair: ParsedPair): number {
  const value = pair.value?.range;
  const key = pair.key.range;
  return value && value[1] > key[1] ? value[1] : key[1];
}

/** The indentation unit of the file: how far the first nested line is indented (2 when nothing is). */
function indentUnit(text: string): number {
  const nested = /^(?!\s*#)( +)\S/m.exec(text);
  return nested ? nested[1]!.length : 2;
}

function scalar(value: string | boolean): string {
  return stringify(value).replace(/\n$/, '');
}

function remoteLines(name: string, fields: RemoteFields, indent: number, unit: number): string {
  const pad = ' '.repeat(indent);
  const inner = ' '.repeat(indent + unit);
  const lines = [`${pad}${name}:`];
  for (const key of FIELD_ORDER) {
    const value = fields[key];
    if (value !== undefined) lines.push(`${inner}${key}: ${scalar(value)}`);
  }
  return `${lines.join('\n')}\n`;
}

function editLines(text: string, change: Change): string | undefined {
  const parsed = parsedRoot(text);
  if (!parsed) return undefined;
  const section = parsed.root === undefined ? undefined : findPair(parsed.root, 'remotes');
  const splices: Splice[] = [];
  if (change.kind === 'add') {
    const added = addSplices(text, section, change.name, change.fields);
    if (!added) return undefined;
    splices.push(...added);
    if (change.fields.default === true && section) {
      const cleared = clearDefaultSplices(text, section, change.name);
      if (!cleared) return undefined;
      splices.push(...cleared);
    }
  } else if (change.kind === 'remove') {
    const removed = section && removeSplice(text, section, change.name);
    if (!removed) return undefined;
    splices.push(removed);
  } else {
    const made = section && makeDefaultSplices(text, section, change.name);
    if (!made) return undefined;
    splices.push(...made);
  }
  return applySplices(text, splices);
}

function applySplices(text: string, splices: readonly Splice[]): string {
  let result = text;
  for (const splice of [...splices].sort((a, b) => b.start - a.start))
    result = result.slice(0, splice.start) + splice.text + result.slice(splice.end);
  return result;
}

function addSplices(
  text: string,
  section: ParsedPair | undefined,
  name: string,
  fields: RemoteFields,
): Splice[] | undefined {
  const unit = indentUnit(text);
  if (!section) {
    // A new section at the end of the file, after a blank line.
    const separator = text === '' ? '' : text.endsWith('\n\n') ? '' : text.endsWith('\n') ? '\n' : '\n\n';
    const block = `${separator}remotes:\n${remoteLines(name, fields, unit, unit)}`;
    return [{ start: text.length, end: text.length, text: block }];
  }
  const value = section.value;
  if (value === null || (isScalar(value) && value.value === null)) {
    // `remotes:` with nothing under it yet.
    const at = lineEnd(text, section.key.range[0], section.key.range[1]);
    const prefix = at === text.length && !text.endsWith('\n') ? '\n' : '';
    return [{ start: at, end: at, text: prefix + remoteLines(name, fields, unit, unit) }];
  }
  const map = blockMap(value);
  const first = map?.items[0] as ParsedPair | undefined;
  if (!map || !first) return undefined;
  const indent = column(text, pairStart(first));
  const firstBody = blockMap(first.value)?.items[0] as ParsedPair | undefined;
  const bodyUnit = firstBody ? column(text, pairStart(firstBody)) - indent : unit;
  const last = map.items[map.items.length - 1] as ParsedPair;
  const at = lineEnd(text, pairStart(last), pairEnd(last));
  const prefix = at === text.length && !text.endsWith('\n') ? '\n' : '';
  return [
    { start: at, end: at, text: prefix + remoteLines(name, fields, indent, bodyUnit > 0 ? bodyUnit : unit) },
  ];
}

/** The lines of a remote: its key line to its last line, with the comment lines right above it. */
function entryRange(text: string, entry: ParsedPair): { start: number; end: number } {
  let start = lineStart(text, pairStart(entry));
  const indent = column(text, pairStart(entry));
  for (;;) {
    if (start === 0) break;
    const above = lineStart(text, start - 1);
    const line = text.slice(above, start - 1);
    const comment = /^( *)#/.exec(line);
    if (!comment || comment[1]!.length !== indent) break;
    start = above;
  }
  return { start, end: lineEnd(text, pairStart(entry), pairEnd(entry)) };
}

function removeSplice(text: string, section: ParsedPair, name: string): Splice | undefined {
  const map = blockMap(section.value);
  if (!map) return undefined;
  const entry = findPair(map, name);
  if (!entry) return undefined;
  if (map.items.length > 1) return { ...entryRange(text, entry), text: '' };
  // The last remote: the whole section goes, and one blank line with it so no gap is left twice.
  let start = lineStart(text, section.key.range[0]);
  const end = lineEnd(text, section.key.range[0], pairEnd(entry));
  const blankAbove = start > 0 && /(^|\n)[ \t]*\n$/.test(text.slice(0, start));
  const blankBelow = end === text.length || /^[ \t]*(\n|$)/.test(text.slice(end));
  if (blankAbove && blankBelow) start = lineStart(text, start - 1);
  return { start, end, text: '' };
}

/** Removes the `default: true` lines of every remote but `except`. */
function clearDefaultSplices(text: string, section: ParsedPair, except: string): Splice[] | undefined {
  const map = blockMap(section.value);
  if (!map) return undefined;
  const splices: Splice[] = [];
  for (const entry of map.items as ParsedPair[]) {
    if (keyOf(entry) === except) continue;
    const body = entry.value;
    if (!body || !isMap(body)) continue;
    const flag = findPair(body, 'default');
    if (!flag || !isScalar(flag.value) || flag.value.value !== true) continue;
    if (body.flow || body.items.length === 1) return undefined;
    splices.push({
      start: lineStart(text, pairStart(flag)),
      end: lineEnd(text, pairStart(flag), pairEnd(flag)),
      text: '',
    });
  }
  return splices;
}

function makeDefaultSplices(text: string, section: ParsedPair, name: string): Splice[] | undefined {
  const map = blockMap(section.value);
  const entry = map && findPair(map, name);
  const body = entry && blockMap(entry.value);
  if (!entry || !body) return undefined;
  const cleared = clearDefaultSplices(text, section, name);
  if (!cleared) return undefined;
  const flag = findPair(body, 'default');
  if (flag && isScalar(flag.value)) {
    if (flag.value.value === true) return cleared;
    const [start, end] = flag.value.range;
    return [...cleared, { start, end, text: 'true' }];
  }
  const first = body.items[0] as ParsedPair | undefined;
  if (!first) return undefined;
  const at = lineEnd(text, pairStart(entry), pairEnd(entry));
  const prefix = at === text.length && !text.endsWith('\n') ? '\n' : '';
  const pad = ' '.repeat(column(text, pairStart(first)));
  return [...cleared, { start: at, end: at, text: `${prefix}${pad}default: true\n` }];
}

// --- Fallbacks: the Document API ---------------------------------------------

function applyToDocument(document: Document, change: Change): void {
  const remotes = document.get('remotes');
  const names = isMap(remotes)
    ? remotes.items.map((pair) => String(isScalar(pair.key) ? pair.key.value : ''))
    : [];
  if (change.kind === 'remove') {
    document.deleteIn(['remotes', change.name]);
  } else {
    if (change.kind === 'default' || change.fields.default === true) {
      for (const other of names) {
        if (other !== change.name && document.getIn(['remotes', other, 'default']) === true)
          document.deleteIn(['remotes', other, 'default']);
      }
    }
    if (change.kind === 'add') document.setIn(['remotes', change.name], fieldsObject(change.fields));
    else document.setIn(['remotes', change.name, 'default'], true);
  }
  const after = document.get('remotes');
  if (isMap(after) && after.items.length === 0) document.delete('remotes');
}

/** Re-prints only the `remotes:` section (a section in flow style, or one the line edits cannot place). */
function rewriteSection(text: string, change: Change): string | undefined {
  const parsed = parsedRoot(text);
  const section = parsed?.root && findPair(parsed.root, 'remotes');
  if (!section) return undefined;
  const start = lineStart(text, section.key.range[0]);
  if (start !== section.key.range[0]) return undefined;
  const end = lineEnd(text, start, pairEnd(section));
  const document = parseDocument(text.slice(start, end));
  if (document.errors.length > 0) return undefined;
  applyToDocument(document, change);
  const top = document.contents;
  const printed =
    top === null || (isMap(top) && top.items.length === 0)
      ? ''
      : document.toString({ lineWidth: 0, indent: indentUnit(text) });
  return text.slice(0, start) + printed + text.slice(end);
}

/** The last resort: the whole document re-printed (comments kept, layout normalised). */
function rewriteDocument(text: string, change: Change): string | undefined {
  const document = parseDocument(text);
  if (document.errors.length > 0 || !(document.contents === null || isMap(document.contents)))
    return undefined;
  applyToDocument(document, change);
  return document.toString({ lineWidth: 0, indent: indentUnit(text) });
}
