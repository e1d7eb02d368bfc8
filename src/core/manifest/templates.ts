// `${…}` templating in the manifest, with DVC's meaning: `${train.lr}` is a
// value of the params file or of `vars`, `${item}` / `${item.key}` / `${key}`
// the item of the stage template being generated. The text is replaced
// before anything else sees it, the shell included; `\${` is a literal `${`.
//
// This module knows nothing of YAML: it finds the `${…}` in a string, looks
// names up in a scope, and says what went wrong with offsets into the string.

/** One `${…}` in a string: where it is and the name inside. */
export interface TemplateRef {
  /** Offset of `$` in the string. */
  readonly start: number;
  /** Offset just past `}`. */
  readonly end: number;
  /** The name as written, trimmed: `train.lr`, `item`, `models[0]`. */
  readonly name: string;
}

/** What a template string contains: its `${…}`s, and the text with escapes undone. */
export interface ScannedTemplate {
  readonly refs: readonly TemplateRef[];
  /** Offsets of a `\` that escapes a `${`, removed from the result. */
  readonly escapes: readonly number[];
  /** A `${` with no `}` after it, or -1. */
  readonly unclosed: number;
}

/** Quick test before scanning: most strings of a manifest have no `${` at all. */
export function hasTemplate(text: string): boolean {
  return text.includes('${');
}

export function scanTemplate(text: string): ScannedTemplate {
  const refs: TemplateRef[] = [];
  const escapes: number[] = [];
  let unclosed = -1;
  let at = text.indexOf('${');
  while (at !== -1) {
    if (at > 0 && text[at - 1] === '\\') {
      escapes.push(at - 1);
      at = text.indexOf('${', at + 2);
      continue;
    }
    const close = text.indexOf('}', at + 2);
    if (close === -1) {
      unclosed = at;
      break;
    }
    refs.push({ start: at, end: close + 1, name: text.slice(at + 2, close).trim() });
    at = text.indexOf('${', close + 1);
  }
  return { refs, escapes, unclosed };
}

/** Where a name of the manifest's scope is defined: what hover says and go to definition opens. */
export type NameSource =
  /** The default params file (`params:`), or a file listed under `vars`: the entry naming it. */
  | {
      readonly kind: 'params' | 'vars-file';
      readonly file: string;
      readonly start: number;
      readonly end: number;
    }
  /** A mapping written under `vars`: the key. */
  | { readonly kind: 'vars'; readonly start: number; readonly end: number };

/** Values by name: the params file and `vars` for the whole manifest, plus `item`/`key` inside a template. */
export interface TemplateScope {
  /** Top-level names and their values. */
  readonly names: ReadonlyMap<string, unknown>;
  /** Where each top-level name is defined, when the manifest defines it (not `item` or `key`). */
  readonly sources?: ReadonlyMap<string, NameSource>;
  /** The scope around this one (a template's scope sits inside the manifest's). */
  readonly outer?: TemplateScope;
  /** Some files of values could not be read: a name not found may be in them, so it is not reported. */
  readonly incomplete?: boolean;
}

export type Lookup =
  | { readonly found: true; readonly value: unknown }
  | {
      readonly found: false;
      /** The part of the name that is missing, and the names that were there instead. */
      readonly missing: string;
      readonly known: readonly string[];
      /** The name up to the missing part (`train.` for `train.lrr`), '' at the top. */
      readonly prefix: string;
    };

/** Splits `a.b[0].c` into `a`, `b`, `0`, `c`; undefined for a malformed name. */
export function nameParts(name: string): string[] | undefined {
  if (!/^[A-Za-z_][\w-]*(?:\.[\w-]+|\[\d+\])*$/.test(name)) return undefined;
  return name.split(/\.|\[|\]/).filter((part) => part !== '');
}

export function lookup(scope: TemplateScope, name: string): Lookup {
  return lookupParts(scope, nameParts(name) ?? [name]);
}

/** `lookup` of a name already split: a template's names are split once, and looked up in every stage. */
function lookupParts(scope: TemplateScope, parts: readonly string[]): Lookup {
  const head = parts[0]!;
  let owner: TemplateScope | undefined = scope;
  while (owner && !owner.names.has(head)) owner = owner.outer;
  if (!owner) return { found: false, missing: head, known: scopeNames(scope), prefix: '' };
  let value: unknown = owner.names.get(head);
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i]!;
    const next = childOf(value, part);
    if (next === undefined) {
      return {
        found: false,
        missing: part,
        known: value !== null && typeof value === 'object' ? Object.keys(value) : [],
        prefix: `${parts.slice(0, i).join('.')}.`,
      };
    }
    value = next.value;
  }
  return { found: true, value };
}

function childOf(value: unknown, part: string): { value: unknown } | undefined {
  if (Array.isArray(value)) {
    const index = /^\d+$/.test(part) ? Number(part) : -1;
    return index >= 0 && index < value.length ? { value: value[index] } : undefined;
  }
  if (value !== null && typeof value === 'object' && Object.prototype.hasOwnProperty.call(value, part)) {
    return { value: (value as Record<string, unknown>)[part] };
  }
  return undefined;
}

/** Every name a scope offers, innermost first: what completion lists and "did you mean" picks from. */
export function scopeNames(scope: TemplateScope): string[] {
  const names: string[] = [];
  for (let at: TemplateScope | undefined = scope; at; at = at.outer) {
    for (const name of at.names.keys()) if (!names.includes(name)) names.push(name);
  }
  return names;
}

/** A problem with one `${…}`, at offsets into the string. */
export interface TemplateProblem {
  readonly code: 'unknown-template-name' | 'bad-template';
  readonly message: string;
  readonly start: number;
  readonly end: number;
  /** For "did you mean": the name that fits, as it would be written in place of the whole name. */
  readonly suggestion?: string;
}

export type Resolved =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly problems: readonly TemplateProblem[] };

/** A template string taken apart once: resolving it again, in each generated stage, only looks names up. */
export interface CompiledTemplate {
  readonly text: string;
  readonly scanned: ScannedTemplate;
  /** Each `${…}`'s name split into parts (`train`, `lr`); undefined for an empty or malformed name. */
  readonly parts: readonly (readonly string[] | undefined)[];
  /** The result's pieces in order: literal text (escapes undone), or the index of a `${…}`. */
  readonly pieces: readonly (string | number)[];
}

export function compileTemplate(text: string): CompiledTemplate {
  const scanned = scanTemplate(text);
  const parts = scanned.refs.map((ref) => (ref.name === '' ? undefined : nameParts(ref.name)));
  const cuts = [
    ...scanned.refs.map((ref, index) => ({ at: ref.start, end: ref.end, ref: index })),
    ...scanned.escapes.map((at) => ({ at, end: at + 1, ref: -1 })),
  ].sort((a, b) => a.at - b.at);
  const pieces: (string | number)[] = [];
  let from = 0;
  for (const cut of cuts) {
    if (cut.at > from) pieces.push(text.slice(from, cut.at));
    if (cut.ref !== -1) pieces.push(cut.ref);
    from = cut.end;
  }
  if (from < text.length) pieces.push(text.slice(from));
  return { text, scanned, parts, pieces };
}

/**
 * Replaces every `${…}` of `text` with its value. A string that is exactly
 * one `${…}` gives the value itself (a list for `foreach: ${models}`);
 * otherwise each value must be text, a number or a boolean.
 */
export function resolveTemplate(
  template: string | CompiledTemplate,
  scope: TemplateScope,
  suggest: (name: string, known: readonly string[]) => string | undefined,
): Resolved {
  if (typeof template === 'string' && !hasTemplate(template)) return { ok: true, value: template };
  const compiled = typeof template === 'string' ? compileTemplate(template) : template;
  const { text, scanned } = compiled;
  const problems: TemplateProblem[] = [];
  if (scanned.unclosed !== -1) {
    problems.push({
      code: 'bad-template',
      message: '`${` is not closed by `}`. Close it, or write `\\${` for a literal `${`.',
      start: scanned.unclosed,
      end: text.length,
    });
  }
  const whole = scanned.refs.length === 1 && scanned.escapes.length === 0 && scanned.unclosed === -1;
  const values: string[] = [];
  for (let index = 0; index < scanned.refs.length; index++) {
    const ref = scanned.refs[index]!;
    const parts = compiled.parts[index];
    if (parts === undefined) {
      problems.push({
        code: 'bad-template',
        message: `\`${text.slice(ref.start, ref.end)}\` does not name a value: write a name such as \`\${train.lr}\` or \`\${item}\` (letters, digits, \`_\`, \`-\`, dots and [index]).`,
        start: ref.start,
        end: ref.end,
      });
      continue;
    }
    const found = lookupParts(scope, parts);
    if (!found.found && found.prefix === '' && isIncomplete(scope)) {
      values.push(text.slice(ref.start, ref.end));
      continue;
    }
    if (!found.found) {
      const near = suggest(found.missing, found.known);
      const suggestion = near === undefined ? undefined : `${found.prefix}${near}`;
      const knownWords =
        found.known.length > 0
          ? ` Known${found.prefix ? ` in \`${found.prefix.slice(0, -1)}\`` : ''}: ${found.known
              .slice(0, 8)
              .map((name) => `\`${name}\``)
              .join(', ')}.`
          : found.prefix
            ? ''
            : ' Nothing is defined: name values in the params file or under `vars`.';
      problems.push({
        code: 'unknown-template-name',
        message: `Unknown name \`${ref.name}\` in \`\${…}\`.${suggestion ? ` Did you mean \`${suggestion}\`?` : knownWords} To hand a literal \`\${\` to the shell, write \`\\\${\`.`,
        start: ref.start,
        end: ref.end,
        ...(suggestion ? { suggestion } : {}),
      });
      continue;
    }
    if (whole && text.length === ref.end - ref.start) return { ok: true, value: found.value };
    const value = found.value;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      values.push(String(value));
    } else {
      problems.push({
        code: 'bad-template',
        message: `\`\${${ref.name}}\` is ${describeValue(value)}, which cannot be put inside text: name one of its ${Array.isArray(value) ? 'items (`' + ref.name + '[0]`)' : 'keys'} instead.`,
        start: ref.start,
        end: ref.end,
      });
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  let result = '';
  for (const piece of compiled.pieces) result += typeof piece === 'string' ? piece : values[piece]!;
  return { ok: true, value: result };
}

function isIncomplete(scope: TemplateScope): boolean {
  for (let at: TemplateScope | undefined = scope; at; at = at.outer) if (at.incomplete === true) return true;
  return false;
}

export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'object') return 'a mapping';
  return typeof value === 'string' ? 'text' : typeof value === 'number' ? 'a number' : '`true`/`false`';
}

/** A value as a hover shows it: short, on one line. */
export function showValue(value: unknown): string {
  const shown = value === undefined ? 'nothing' : JSON.stringify(value);
  return shown.length > 200 ? `${shown.slice(0, 197)}…` : shown;
}
