// The values a DVC project's `${…}` expressions name: the default params file
// (loaded first, as DVC does), then each `vars` entry in order. import-dvc
// copies templates unchanged; it reads these only to know what an expression
// stands for (a `foreach` source that exists, a dictionary DVC would unpack).
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { describeParseFailure, parseValues } from '../manifest/valueFiles';

/** A values file as import-dvc reads it: its values, or why it could not. */
export type ValuesFile =
  | { readonly kind: 'values'; readonly values: Readonly<Record<string, unknown>> }
  | { readonly kind: 'python' }
  | { readonly kind: 'missing' }
  | { readonly kind: 'unreadable'; readonly reason: string };

/** Reads a params or vars file by its extension: YAML, JSON or TOML (DVC's Python files are told apart). */
export function readValuesFile(path: string): ValuesFile {
  const extension = extname(path).toLowerCase();
  if (extension === '.py') return { kind: 'python' };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'unreadable', reason: code ?? 'unreadable' };
  }
  const parsed = parseValues(path, text);
  if (!parsed.ok) return { kind: 'unreadable', reason: describeParseFailure(path, parsed) };
  const values = parsed.value;
  if (values === null || values === undefined) return { kind: 'values', values: {} };
  if (typeof values !== 'object' || Array.isArray(values))
    return { kind: 'unreadable', reason: 'it does not hold a mapping of names to values' };
  return { kind: 'values', values: values as Record<string, unknown> };
}

/** What a reference resolved to: found (with its value) or not. */
export type Resolution = { readonly found: true; readonly value: unknown } | { readonly found: false };

/** Values layered in DVC's order: a name is looked up in each source in turn. */
export class TemplateValues {
  constructor(private readonly sources: readonly Readonly<Record<string, unknown>>[]) {}

  /** The same values with `names` (a foreach's `item` and `key`) in front. */
  with(names: Readonly<Record<string, unknown>>): TemplateValues {
    return new TemplateValues([names, ...this.sources]);
  }

  resolve(path: readonly string[]): Resolution {
    for (const source of this.sources) {
      const found = lookup(source, path);
      if (found.found) return found;
    }
    return { found: false };
  }
}

function lookup(values: unknown, path: readonly string[]): Resolution {
  let current = values;
  for (const part of path) {
    if (Array.isArray(current) && /^\d+$/.test(part)) current = current[Number(part)];
    else if (isMapping(current) && Object.hasOwn(current, part)) current = current[part];
    else return { found: false };
    if (current === undefined) return { found: false };
  }
  return { found: true, value: current };
}

export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The inside of every `${…}` in `text` that is not escaped as `\${`. */
export function templateExpressions(text: string): string[] {
  const found: string[] = [];
  const pattern = /(\\*)\$\{([^}]*)\}/g;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    // An odd number of backslashes escapes the `$`; an even number is backslashes before a template.
    if (match[1]!.length % 2 === 0) found.push(match[2]!.trim());
  }
  return found;
}

/** `a.b[0].c` as `['a', 'b', '0', 'c']`; undefined for anything but a plain reference. */
export function referencePath(expression: string): string[] | undefined {
  if (!/^[A-Za-z_][\w-]*(\.[\w-]+|\[\d+\])*$/.test(expression)) return undefined;
  return expression.split(/\.|\[|\]/).filter((part) => part !== '');
}

/** True when `text` is exactly one `${…}` expression, as a DVC `foreach` or matrix source must be. */
export function wholeTemplate(text: string): string | undefined {
  const match = /^\$\{([^}]*)\}$/.exec(text.trim());
  return match ? match[1]!.trim() : undefined;
}
