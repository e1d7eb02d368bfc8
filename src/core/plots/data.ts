// A plot's data file, bytes to rows: CSV and TSV with a header line, or JSON
// holding an array of objects (or an object with one such array inside, as
// DVC writes). Every refusal is one SluiceError naming the file and, where
// there is one, the line, with what to do; `data` carries the same facts.
import { SluiceError } from '../errors';
import type { PlotDataFormat } from '../manifest/plots';
import type { PlotCell } from './document';

/** The rows of a data file, every cell read as a number where it is one. */
export interface PlotTable {
  /** Column names, in the order of the header (CSV) or of first appearance (JSON). */
  readonly fields: readonly string[];
  readonly rows: readonly Readonly<Record<string, PlotCell>>[];
  /** Where row `index` is written, for messages: `line 4` or `record 3 (line 12)`. */
  where(index: number): { readonly text: string; readonly line: number | undefined };
}

/** The file a table comes from: its path, and its name in messages (the path, with the source when not the workspace). */
export interface PlotFileName {
  readonly path: string;
  readonly shown: string;
}

/** A refusal of a plot file: one line, naming the file first. */
export function plotFailure(
  file: PlotFileName,
  code: string,
  message: string,
  hint: string,
  data: Readonly<Record<string, unknown>> = {},
): SluiceError {
  return new SluiceError(`${file.shown}${message}`, 'failed', hint, {
    code,
    data: { file: file.path, ...data },
  });
}

export function readPlotTable(bytes: Uint8Array, file: PlotFileName, format: PlotDataFormat): PlotTable {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw plotFailure(
      file,
      'plot-unreadable',
      ' is not UTF-8 text.',
      'Write the file as UTF-8 (CSV, TSV or JSON).',
    );
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '')
    throw plotFailure(file, 'plot-empty', ' is empty.', 'Run the stage that writes it, or fix the stage.');
  return format === 'json'
    ? jsonTable(text, file)
    : delimitedTable(text, format === 'csv' ? ',' : '\t', file);
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A cell as the chart sees it: a number where the text is one, null when empty. */
function cellOf(text: string): PlotCell {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  return NUMBER.test(trimmed) ? Number(trimmed) : text;
}

// ── CSV and TSV ─────────────────────────────────────────────────────────────

interface DelimitedRecord {
  readonly cells: readonly string[];
  readonly line: number;
}

function delimitedTable(text: string, delimiter: string, file: PlotFileName): PlotTable {
  const records = splitRecords(text, delimiter, file);
  const header = records[0]!;
  const fields = header.cells.map((name) => name.trim());
  const seen = new Set<string>();
  fields.forEach((name, index) => {
    if (name === '')
      throw plotFailure(
        file,
        'plot-unreadable',
        `, line ${header.line}: column ${index + 1} of the header has no name.`,
        'Name every column in the first line.',
        { line: header.line },
      );
    if (seen.has(name))
      throw plotFailure(
        file,
        'plot-unreadable',
        `, line ${header.line}: the header names the column \`${name}\` twice.`,
        'Give every column its own name.',
        { line: header.line, field: name },
      );
    seen.add(name);
  });
  if (records.length === 1)
    throw plotFailure(
      file,
      'plot-empty',
      ' has a header but no rows.',
      'Run the stage that writes it, or fix the stage.',
      { line: header.line },
    );
  const rows = records.slice(1).map((record) => {
    if (record.cells.length !== fields.length)
      throw plotFailure(
        file,
        'plot-unreadable',
        `, line ${record.line}: ${record.cells.length} ${record.cells.length === 1 ? 'field' : 'fields'}, but the header has ${fields.length}.`,
        delimiter === ','
          ? 'Give every row one field per column; quote a field that holds a comma ("a, b").'
          : 'Give every row one field per column, separated by tabs.',
        { line: record.line },
      );
    const row: Record<string, PlotCell> = {};
    fields.forEach((name, index) => (row[name] = cellOf(record.cells[index]!)));
    return row;
  });
  const lines = records.slice(1).map((record) => record.line);
  return {
    fields,
    rows,
    where: (index) => ({ text: `line ${lines[index]!}`, line: lines[index] }),
  };
}

/**
 * RFC 4180 records: fields separated by `delimiter`, a field in double quotes
 * may hold the delimiter, line breaks and doubled quotes. Blank lines are
 * skipped. Each record keeps the line it starts on.
 */
function splitRecords(text: string, delimiter: string, file: PlotFileName): DelimitedRecord[] {
  const records: DelimitedRecord[] = [];
  const length = text.length;
  let at = 0;
  let line = 1;
  const refuse = (where: number, what: string, hint: string): never => {
    throw plotFailure(file, 'plot-unreadable', `, line ${where}: ${what}`, hint, { line: where });
  };
  while (at < length) {
    const start = line;
    const cells: string[] = [];
    let blank = true;
    for (;;) {
      let cell: string;
      if (text[at] === '"') {
        const opened = line;
        const parts: string[] = [];
        at++;
        for (;;) {
          const close = text.indexOf('"', at);
          if (close === -1)
            refuse(
              opened,
              'a quoted field starts here and is never closed.',
              'Close the quote, and double every quote inside a quoted field ("a ""b"" c").',
            );
          const part = text.slice(at, close);
          line += countBreaks(part);
          parts.push(part);
          if (text[close + 1] === '"') {
            parts.push('"');
            at = close + 2;
            continue;
          }
          at = close + 1;
          break;
        }
        cell = parts.join('');
        const next = text[at];
        if (next !== undefined && next !== delimiter && next !== '\n' && next !== '\r')
          refuse(
            line,
            `text after the closing quote of a field (\`${text.slice(at, at + 12).split(/[\r\n]/)[0]!}\`).`,
            'Quote the whole field and double every quote inside it ("a ""b"" c").',
          );
        blank = false;
      } else {
        const from = at;
        while (at < length) {
          const char = text[at];
          if (char === delimiter || char === '\n' || char === '\r') break;
          if (char === '"')
            refuse(
              line,
              `a quote inside a field that does not start with one (\`${text.slice(from, at + 1)}\`).`,
              'Quote the whole field and double the quotes inside it ("a ""b"" c").',
            );
          at++;
        }
        cell = text.slice(from, at);
        if (cell.trim() !== '') blank = false;
      }
      cells.push(cell);
      if (text[at] === delimiter) {
        at++;
        continue;
      }
      if (text[at] === '\r') at++;
      if (text[at] === '\n') at++;
      line++;
      break;
    }
    if (!(blank && cells.length === 1)) records.push({ cells, line: start });
  }
  return records;
}

function countBreaks(text: string): number {
  let count = 0;
  for (let index = 0; index < text.length; index++) {
    const char = text.charCodeAt(index);
    // \r\n counts once: at its \n. A lone \r is a line break of its own.
    if (char === 10 || (char === 13 && text.charCodeAt(index + 1) !== 10)) count++;
  }
  return count;
}

// ── JSON ────────────────────────────────────────────────────────────────────

function jsonTable(text: string, file: PlotFileName): PlotTable {
  let document: unknown;
  try {
    document = JSON.parse(text) as unknown;
  } catch (error) {
    const offset = scanJson(text, undefined).errorAt;
    const line = offset === undefined ? undefined : lineAt(text, offset);
    const reason = (error as Error).message
      .replace(/ in JSON at position \d+.*$/s, '')
      .replace(/, ".*" is not valid JSON$/s, '');
    throw plotFailure(
      file,
      'plot-unreadable',
      `${line === undefined ? '' : `, line ${line}`}: not valid JSON (${reason}).`,
      'Fix the file, or the stage that writes it.',
      line === undefined ? {} : { line },
    );
  }
  const { records, key } = recordsOf(document, file);
  if (records.length === 0)
    throw plotFailure(
      file,
      'plot-empty',
      `${key === undefined ? '' : ` (\`${key}\`)`} holds no records.`,
      'Run the stage that writes it, or fix the stage.',
    );
  let lines: number[] | undefined;
  const lineOf = (index: number): number | undefined => {
    lines ??= scanJson(text, key ?? null).offsets.map((offset) => lineAt(text, offset));
    return lines[index];
  };
  const where = (index: number) => {
    const line = lineOf(index);
    return { text: `record ${index + 1}${line === undefined ? '' : ` (line ${line})`}`, line };
  };
  const fields: string[] = [];
  const known = new Set<string>();
  const rows = records.map((record, index) => {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      const place = where(index);
      throw plotFailure(
        file,
        'plot-unreadable',
        `, ${place.text}: ${describeJson(record)}, not an object of named values.`,
        'Write every record as an object, for example {"step": 1, "loss": 0.5}.',
        place.line === undefined ? {} : { line: place.line },
      );
    }
    const row: Record<string, PlotCell> = {};
    flatten(record as Record<string, unknown>, '', row);
    for (const name of Object.keys(row)) {
      if (known.has(name)) continue;
      known.add(name);
      fields.push(name);
    }
    return row;
  });
  // A record without a field has an empty cell there, as a short CSV row would.
  const filled = rows.map((row) => {
    const full: Record<string, PlotCell> = {};
    for (const name of fields) full[name] = row[name] ?? null;
    return full;
  });
  return { fields, rows: filled, where };
}

/** The records of a document: itself, or the one array of objects its top-level object holds. */
function recordsOf(document: unknown, file: PlotFileName): { records: unknown[]; key: string | undefined } {
  if (Array.isArray(document)) return { records: document, key: undefined };
  if (document === null || typeof document !== 'object')
    throw plotFailure(
      file,
      'plot-unreadable',
      ` holds ${describeJson(document)}, not an array of records.`,
      'Write an array of objects, for example [{"step": 1, "loss": 0.5}], or an object holding one such array.',
    );
  const arrays = Object.entries(document as Record<string, unknown>).filter(
    ([, value]) =>
      Array.isArray(value) &&
      value.length > 0 &&
      value.every((item) => item !== null && typeof item === 'object' && !Array.isArray(item)),
  );
  if (arrays.length === 1) return { records: arrays[0]![1] as unknown[], key: arrays[0]![0] };
  throw plotFailure(
    file,
    'plot-unreadable',
    arrays.length === 0
      ? ' holds an object without an array of records inside.'
      : ` holds ${arrays.length} arrays of records (${arrays.map(([key]) => `\`${key}\``).join(', ')}); Sluice draws one per file.`,
    arrays.length === 0
      ? 'Write an array of objects, for example [{"step": 1, "loss": 0.5}], or an object holding one such array.'
      : 'Write each array to a file of its own, and declare each as a plot.',
    { keys: arrays.map(([key]) => key) },
  );
}

/** Nested objects become dotted names (`{"loss": {"val": 1}}` → `loss.val`), as in metrics keys. */
function flatten(value: Record<string, unknown>, prefix: string, into: Record<string, PlotCell>): void {
  for (const [key, child] of Object.entries(value)) {
    const name = prefix === '' ? key : `${prefix}.${key}`;
    if (child === null || child === undefined) into[name] = null;
    else if (typeof child === 'number') into[name] = Number.isFinite(child) ? child : null;
    else if (typeof child === 'string') into[name] = cellOf(child);
    else if (typeof child === 'boolean') into[name] = String(child);
    else if (Array.isArray(child)) into[name] = JSON.stringify(child);
    else flatten(child as Record<string, unknown>, name, into);
  }
}

function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string')
    return `the text ${JSON.stringify(value.length > 20 ? `${value.slice(0, 20)}…` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `the ${typeof value} ${String(value)}`;
  return 'a value';
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let at = text.indexOf('\n'); at !== -1 && at < offset; at = text.indexOf('\n', at + 1)) line++;
  return line;
}

/** Where a strict scan stopped: thrown through the recursion, caught at its top. */
class ScanStop extends Error {
  constructor(readonly offset: number) {
    super(`not JSON at offset ${offset}`);
  }
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const NUMBER_TOKEN = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * A strict JSON scan for what JSON.parse does not tell: where the text stops
 * being JSON (`errorAt`), and where each element of the records array starts
 * (the top-level array when `records` is null, the top-level object's member
 * `records` when a string). Only run for messages, so its speed does not matter.
 */
function scanJson(
  text: string,
  records: string | null | undefined,
): { offsets: number[]; errorAt: number | undefined } {
  let at = 0;
  const offsets: number[] = [];
  const stop = (): never => {
    throw new ScanStop(at);
  };
  const space = (): void => {
    while (at < text.length && WHITESPACE.has(text[at]!)) at++;
  };
  const string = (): string => {
    const start = at;
    if (text[at] !== '"') stop();
    at++;
    for (;;) {
      const char = text[at];
      if (char === undefined || char.charCodeAt(0) < 0x20) stop();
      at++;
      if (char === '"') return JSON.parse(text.slice(start, at)) as string;
      if (char === '\\') {
        if (text[at] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(at + 1, at + 5))) stop();
          at += 5;
        } else if (text[at] !== undefined && '"\\/bfnrt'.includes(text[at]!)) at++;
        else stop();
      }
    }
  };
  const value = (collect: boolean, top: boolean): void => {
    space();
    const char = text[at];
    if (char === '{') {
      at++;
      space();
      if (text[at] === '}') {
        at++;
        return;
      }
      for (;;) {
        space();
        const key = string();
        space();
        if (text[at] !== ':') stop();
        at++;
        value(top && key === records, false);
        space();
        if (text[at] === ',') at++;
        else if (text[at] === '}') {
          at++;
          return;
        } else stop();
      }
    }
    if (char === '[') {
      at++;
      space();
      if (text[at] === ']') {
        at++;
        return;
      }
      for (;;) {
        space();
        if (collect) offsets.push(at);
        value(false, false);
        space();
        if (text[at] === ',') at++;
        else if (text[at] === ']') {
          at++;
          return;
        } else stop();
      }
    }
    if (char === '"') {
      string();
      return;
    }
    for (const word of ['true', 'false', 'null'])
      if (text.startsWith(word, at)) {
        at += word.length;
        return;
      }
    NUMBER_TOKEN.lastIndex = at;
    if (!NUMBER_TOKEN.test(text)) stop();
    at = NUMBER_TOKEN.lastIndex;
  };
  try {
    value(records === null, true);
    space();
    if (at < text.length) stop();
    return { offsets, errorAt: undefined };
  } catch (error) {
    if (error instanceof ScanStop) return { offsets, errorAt: error.offset };
    // Nesting deeper than the stack: no line to name, the message still names the file.
    if (error instanceof RangeError) return { offsets, errorAt: undefined };
    throw error;
  }
}
