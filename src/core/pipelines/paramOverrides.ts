// Params overrides: `--set KEY=VALUE` for one run, `--set KEY=V1,V2` for a
// grid of runs. Every key must already be in the params file and every value
// must have the kind the file holds there, checked before anything runs.
// Overrides are applied to the params file's text (comments and layout kept)
// wherever a run reads it: a copy for queued experiments, the workspace's own
// file for the length of a `run --set`.
import { isScalar, parse, parseDocument, stringify } from 'yaml';
import { SluiceError } from '../errors';
import { closestName } from '../manifest/spelling';
import type { Workspace } from '../workspace';
import { planWorkspace } from './plan';
import { readValues } from './values';

/** One `--set` as given: a key and the values it takes (one for `run`, one or more for a grid). */
export interface ParamSetting {
  readonly key: string;
  readonly values: readonly unknown[];
}

/** Every leaf of a params document by dotted key: scalars, and lists as whole values. */
export function flattenParams(document: unknown, prefix = ''): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  if (typeof document === 'object' && document !== null && !Array.isArray(document)) {
    for (const [key, value] of Object.entries(document as Record<string, unknown>)) {
      Object.assign(result, flattenParams(value, prefix === '' ? key : `${prefix}.${key}`));
    }
  } else if (prefix !== '') result[prefix] = document ?? null;
  return result;
}

/**
 * The params file as it is on disk now, flattened as records keep params:
 * null when the manifest names no params file, {} when the file is absent.
 */
export function readCurrentParams(workspace: Workspace): Record<string, unknown> | null {
  const file = planWorkspace(workspace.manifest).paramsFile;
  if (file === undefined) return null;
  const values = readValues(workspace.root, file);
  return values === undefined ? {} : flattenParams(values);
}

/** Splits `a,'b,c',[1,2]` at the commas outside quotes and brackets. */
function splitValues(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let index = 0; index < text.length; index++) {
    const char = text[index]!;
    if (quote !== undefined) {
      if (char === quote) quote = undefined;
    } else if (char === '"' || char === "'") quote = char;
    else if (char === '[' || char === '{') depth++;
    else if (char === ']' || char === '}') depth--;
    else if (char === ',' && depth === 0) {
      parts.push(text.slice(start, index));
      start = index + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

function parseValue(text: string, setting: string): unknown {
  try {
    return parse(text.trim()) as unknown;
  } catch {
    throw new SluiceError(
      `--set ${setting}: '${text}' is not a value.`,
      'usage',
      "Write numbers, true/false, or text (quote text holding commas: KEY='a,b').",
      { code: 'bad-param-value', data: { setting, value: text } },
    );
  }
}

/** Parses `KEY=V` or `KEY=V1,V2,…` settings; `grid: false` refuses more than one value. */
export function parseSettings(texts: readonly string[], options: { grid: boolean }): ParamSetting[] {
  const settings: ParamSetting[] = [];
  for (const text of texts) {
    const equals = text.indexOf('=');
    const key = equals === -1 ? '' : text.slice(0, equals).trim();
    if (equals === -1 || key === '' || !/^[^.\s=]+(\.[^.\s=]+)*$/.test(key)) {
      throw new SluiceError(
        `--set needs KEY=VALUE (a dotted key of the params file), not '${text}'.`,
        'usage',
        'For example: --set train.epochs=20',
        { code: 'bad-param-setting', data: { setting: text } },
      );
    }
    const raw = text.slice(equals + 1);
    const values = splitValues(raw).map((part) => parseValue(part, text));
    if (values.length > 1 && !options.grid) {
      throw new SluiceError(
        `--set ${text} gives ${values.length} values; a run takes one.`,
        'usage',
        `Queue one run per value with \`sluice exp run --set ${text}\`, or quote a text value holding commas.`,
        { code: 'bad-param-setting', data: { setting: text } },
      );
    }
    if (settings.some((setting) => setting.key === key)) {
      throw new SluiceError(`--set ${key} is given twice.`, 'usage', 'Give each param once.', {
        code: 'bad-param-setting',
        data: { setting: text },
      });
    }
    settings.push({ key, values });
  }
  return settings;
}

function kindOf(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'list';
  return typeof value === 'object' ? 'mapping' : typeof value;
}

/**
 * Checks settings against the params file's document: the key must name a
 * leaf there and each value must have that leaf's kind (a number for a
 * number, true/false for a boolean; anything for text, kept as text).
 * Returns the settings with values converted (text params get text).
 */
export function checkSettings(
  settings: readonly ParamSetting[],
  document: unknown,
  paramsFile: string | undefined,
): ParamSetting[] {
  if (settings.length === 0) return [];
  if (paramsFile === undefined) {
    throw new SluiceError(
      'The manifest names no params file, so there is nothing to --set.',
      'usage',
      'Add `params: params.yaml` to sluice.yaml.',
      { code: 'unknown-param', data: { param: settings[0]!.key, file: null } },
    );
  }
  const leaves = flattenParams(document);
  return settings.map(({ key, values }) => {
    if (!(key in leaves)) {
      const group = Object.keys(leaves).filter((leaf) => leaf.startsWith(`${key}.`));
      const near = closestName(key, Object.keys(leaves));
      throw new SluiceError(
        group.length > 0
          ? `${key} in ${paramsFile} is a group of params, not one.`
          : `${paramsFile} has no param ${key}.${near === undefined ? '' : ` Did you mean ${near}?`}`,
        'usage',
        group.length > 0
          ? `Set one of them, for example ${group[0]!}.`
          : `Params: ${Object.keys(leaves).slice(0, 8).join(', ') || '(none)'}${Object.keys(leaves).length > 8 ? ', …' : ''}.`,
        { code: 'unknown-param', data: { param: key, file: paramsFile, suggestion: near ?? null } },
      );
    }
    const current = leaves[key];
    const expected = kindOf(current);
    const converted = values.map((value) => {
      if (expected === 'null') return value;
      if (expected === 'string') return typeof value === 'string' ? value : String(value);
      const given = kindOf(value);
      if (given === expected) return value;
      throw new SluiceError(
        `--set ${key}=${JSON.stringify(value)}: ${paramsFile} holds a ${expected} there (${JSON.stringify(current)}), not a ${given}.`,
        'usage',
        `Give a ${expected}.`,
        {
          code: 'bad-param-value',
          data: { param: key, file: paramsFile, expected, value },
        },
      );
    });
    return { key, values: converted };
  });
}

/** Every combination of the settings' values, in the order given (the last key varies fastest). */
export function combinations(settings: readonly ParamSetting[]): Record<string, unknown>[] {
  let result: Record<string, unknown>[] = [{}];
  for (const { key, values } of settings) {
    result = result.flatMap((combination) => values.map((value) => ({ ...combination, [key]: value })));
  }
  return result;
}

/**
 * The params file's text with overrides written in. In YAML a scalar's own
 * characters are replaced and nothing else moves (comments, spacing, quotes
 * elsewhere stay byte for byte); a list or mapping value is written by the
 * YAML library, which keeps comments but may respace. JSON is rewritten with
 * the file's indentation.
 */
export function applyOverrides(
  text: string,
  path: string,
  overrides: Readonly<Record<string, unknown>>,
): string {
  if (path.endsWith('.json')) {
    const document = JSON.parse(text) as Record<string, unknown>;
    for (const [key, value] of Object.entries(overrides)) setIn(document, key.split('.'), value);
    const indent = /\n([ \t]+)"/.exec(text)?.[1] ?? '  ';
    return `${JSON.stringify(document, null, indent)}\n`;
  }
  const document = parseDocument(text);
  const edits: { start: number; end: number; text: string }[] = [];
  const structured: [string, unknown][] = [];
  for (const [key, value] of Object.entries(overrides)) {
    const node = document.getIn(key.split('.'), true);
    const scalarValue = value === null || typeof value !== 'object';
    if (isScalar(node) && node.range && scalarValue) {
      edits.push({ start: node.range[0], end: node.range[1], text: stringify(value).trimEnd() });
    } else structured.push([key, value]);
  }
  if (structured.length > 0) {
    for (const [key, value] of [...Object.entries(overrides)]) document.setIn(key.split('.'), value);
    return document.toString();
  }
  let result = text;
  for (const edit of edits.sort((a, b) => b.start - a.start))
    result = result.slice(0, edit.start) + edit.text + result.slice(edit.end);
  return result;
}

function setIn(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let at = target;
  for (const part of path.slice(0, -1)) at = at[part] as Record<string, unknown>;
  at[path[path.length - 1]!] = value;
}
