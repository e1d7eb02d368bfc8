// Params, vars and metrics files: YAML, JSON or TOML, chosen by extension
// (anything else is read as YAML, of which JSON is a part). One parser for
// every reader, so the language server, `validate` and `run` agree on what a
// file holds and say the same thing when it does not parse.
import { parse as parseToml } from 'smol-toml';
import { LineCounter, parseDocument } from 'yaml';

export type ValuesFormat = 'YAML' | 'JSON' | 'TOML';

export type ParsedValues =
  | { readonly ok: true; readonly value: unknown }
  | {
      readonly ok: false;
      readonly format: ValuesFormat;
      /** 1-based, when the parser says where. */
      readonly line: number | undefined;
      readonly column: number | undefined;
      /** The parser's reason, one line. */
      readonly reason: string;
    };

export function valuesFormat(path: string): ValuesFormat {
  const lower = path.toLowerCase();
  if (lower.endsWith('.toml')) return 'TOML';
  if (lower.endsWith('.json')) return 'JSON';
  return 'YAML';
}

export function parseValues(path: string, text: string): ParsedValues {
  const format = valuesFormat(path);
  if (format === 'TOML') {
    try {
      return { ok: true, value: parseToml(text) };
    } catch (error) {
      const { line, column } = error as { line?: number; column?: number };
      return { ok: false, format, line, column, reason: firstLine(error) };
    }
  }
  if (format === 'JSON') {
    try {
      return { ok: true, value: JSON.parse(text) as unknown };
    } catch (error) {
      // V8 says "at position N" (and, in newer versions, "(line L column C)").
      const position = /position (\d+)/.exec(firstLine(error));
      const at = position ? lineAndColumn(text, Number(position[1])) : undefined;
      return { ok: false, format, line: at?.line, column: at?.column, reason: firstLine(error) };
    }
  }
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const error = document.errors[0];
  if (error) {
    const at = lines.linePos(error.pos[0]);
    return { ok: false, format, line: at.line, column: at.col, reason: error.message.split('\n')[0] ?? '' };
  }
  return { ok: true, value: document.toJS() as unknown };
}

/** `params.yaml:3:7: …` or `params.yaml: …`: a parse failure in words. */
export function describeParseFailure(path: string, failed: Extract<ParsedValues, { ok: false }>): string {
  const where = failed.line === undefined ? path : `${path}:${failed.line}:${failed.column ?? 1}`;
  return `${where} is not valid ${failed.format}: ${failed.reason.replace(/\.$/, '')}.`;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * A copy of a params document with dotted keys set (`run --set`): what
 * templates and stages see for one run. A key whose parents are not mappings
 * is left out (`--set` checked the keys before).
 */
export function withDottedValues(document: unknown, values: Readonly<Record<string, unknown>>): unknown {
  const keys = Object.keys(values);
  if (keys.length === 0 || document === null || typeof document !== 'object') return document;
  const copy = structuredClone(document) as Record<string, unknown>;
  for (const key of keys) {
    const path = key.split('.');
    let at: Record<string, unknown> | undefined = copy;
    for (const part of path.slice(0, -1)) {
      const next: unknown = at?.[part];
      at = next !== null && typeof next === 'object' ? (next as Record<string, unknown>) : undefined;
    }
    if (at) at[path[path.length - 1]!] = values[key];
  }
  return copy;
}
