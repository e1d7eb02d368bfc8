// Params and metrics files: YAML, JSON or TOML documents whose values stages and
// checks name by dotted key (`train.epochs`, `metrics.json#scores.f1`).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromSystemError, SluiceError, withPath } from '../errors';
import { describeParseFailure, parseValues } from '../manifest/valueFiles';

/** Reads a YAML, JSON or TOML file (by extension); undefined when it does not exist. */
export function readValues(root: string, path: string): unknown {
  let text: string;
  try {
    text = readFileSync(join(root, path), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    // Names the path, the reason in words and what to do (a folder there: EISDIR, whose error has no path).
    throw fromSystemError(withPath(error, join(root, path))) ?? error;
  }
  const parsed = parseValues(path, text);
  if (parsed.ok) return parsed.value;
  throw new SluiceError(describeParseFailure(path, parsed), 'failed', 'Fix the file and run again.', {
    code: 'bad-values-file',
    data: { path, line: parsed.line ?? null, column: parsed.column ?? null },
  });
}

/** The value at a dotted key, or undefined when some part of the key is missing. */
export function valueAt(document: unknown, dottedKey: string): unknown {
  let value: unknown = document;
  for (const part of dottedKey.split('.')) {
    if (typeof value !== 'object' || value === null || !(part in value)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** Every number in a metrics document, by dotted key: what `run` and releases report. */
export function numericLeaves(document: unknown, prefix = ''): Record<string, number> {
  const result: Record<string, number> = {};
  if (typeof document === 'number' && prefix !== '') result[prefix] = document;
  else if (typeof document === 'object' && document !== null && !Array.isArray(document)) {
    for (const [key, value] of Object.entries(document as Record<string, unknown>)) {
      Object.assign(result, numericLeaves(value, prefix === '' ? key : `${prefix}.${key}`));
    }
  }
  return result;
}
