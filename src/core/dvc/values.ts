// The values a DVC project's `${…}` expressions name: the default params file
// (loaded first, as DVC does), then each `vars` entry in order. import-dvc
// copies templates unchanged; it reads these only to know what an expression
// stands for (a `foreach` source that exists, a dictionary DVC would unpack).
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { lookup, nameParts, scanTemplate, type TemplateScope } from '../manifest/templates';
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

/**
 * Values layered in DVC's order, looked up as the manifest's own `${…}` are
 * (manifest/templates.ts), so that import-dvc reads an expression the way
 * Sluice will once it is imported: the first layer holding a name wins.
 */
export class TemplateValues {
  private constructor(private readonly scope: TemplateScope | undefined) {}

  static layered(sources: readonly Readonly<Record<string, unknown>>[]): TemplateValues {
    let scope: TemplateScope | undefined;
    for (const source of [...sources].reverse())
      scope = { names: new Map(Object.entries(source)), ...(scope ? { outer: scope } : {}) };
    return new TemplateValues(scope);
  }

  /** The same values with `names` (a foreach's `item` and `key`) in front. */
  with(names: Readonly<Record<string, unknown>>): TemplateValues {
    return new TemplateValues({
      names: new Map(Object.entries(names)),
      ...(this.scope ? { outer: this.scope } : {}),
    });
  }

  /** The value a plain reference (`a.b[0]`) names; anything else (an expression) is not found. */
  resolve(expression: string): Resolution {
    if (this.scope === undefined || nameParts(expression) === undefined) return { found: false };
    const found = lookup(this.scope, expression);
    return found.found ? { found: true, value: found.value } : { found: false };
  }
}

export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The inside of every `${…}` in `text` that is not escaped as `\${`. */
export function templateExpressions(text: string): string[] {
  return scanTemplate(text).refs.map((ref) => ref.name);
}

/** The expression when `text` is exactly one `${…}`, as a DVC `foreach` or matrix source must be. */
export function wholeTemplate(text: string): string | undefined {
  const trimmed = text.trim();
  const { refs } = scanTemplate(trimmed);
  return refs.length === 1 && refs[0]!.start === 0 && refs[0]!.end === trimmed.length
    ? refs[0]!.name
    : undefined;
}
