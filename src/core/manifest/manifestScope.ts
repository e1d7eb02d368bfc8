// The manifest's scope for `${…}`: the default params file's top-level keys
// and every name `vars` defines (files, and mappings written inline, which
// may name values defined before them), each with where it is defined for
// hover and go to definition. Built at most once per analysis, when a
// template or a `${…}` first needs it.
import { posix } from 'node:path';
import type { ManifestDiagnostic } from './diagnostics';
import { placeInSource } from './reading';
import { closestName } from './spelling';
import type { StageReading } from './stages';
import {
  describeValue,
  hasTemplate,
  resolveTemplate,
  type NameSource,
  type TemplateScope,
} from './templates';
import { describeParseFailure, parseValues, withDottedValues } from './valueFiles';
import { getPair, type YMap, type YNode } from './yamlTree';

/** What building the scope needs from the stage reader. */
export interface ScopeReading {
  readonly top: YMap | undefined;
  readonly reading: StageReading;
  /** Where the files read are recorded, with their content (undefined: missing). */
  readonly inputs: Map<string, string | undefined>;
  readonly problem: (diagnostic: Omit<ManifestDiagnostic, 'severity'>) => void;
}

/**
 * The manifest's scope: the default params file's top-level keys and every
 * name `vars` defines, each with where it is defined. With `expansions`, the
 * scope of the previous analysis is given back when it is made of the same
 * entries and files, so that what was generated in it can be reused.
 */
export function buildManifestScope(context: ScopeReading): TemplateScope {
  const { top, reading, problem } = context;
  const names = new Map<string, unknown>();
  const sources = new Map<string, NameSource>();
  /** Where each name came from, for "defined twice". */
  const origin = new Map<string, string>();
  const define = (
    values: unknown,
    from: string,
    at: { start: number; end: number },
    source: (name: string) => NameSource,
  ): void => {
    if (values === null || values === undefined) return;
    if (typeof values !== 'object' || Array.isArray(values)) {
      problem({
        code: 'bad-template',
        message: `${from} holds ${describeValue(values)}; values for \`\${…}\` come from a mapping of names.`,
        start: at.start,
        end: at.end,
      });
      return;
    }
    for (const [name, value] of Object.entries(values)) {
      const earlier = origin.get(name);
      if (earlier !== undefined && earlier !== from) {
        problem({
          code: 'bad-template',
          message: `\`${name}\` is defined by both ${earlier} and ${from}; a name for \`\${…}\` must be defined once. Rename one.`,
          start: at.start,
          end: at.end,
        });
        continue;
      }
      origin.set(name, from);
      names.set(name, value);
      sources.set(name, source(name));
    }
  };
  const params = top ? getPair(top, 'params')?.value : undefined;
  if (params?.kind === 'scalar' && typeof params.value === 'string') {
    const values = readValuesFile(context, params.value, params, 'params');
    const source: NameSource = { kind: 'params', file: params.value, start: params.start, end: params.end };
    define(withDottedValues(values, reading.overrides ?? {}), `\`${params.value}\``, params, () => source);
  }
  const vars = top ? getPair(top, 'vars')?.value : undefined;
  if (vars?.kind === 'seq') {
    // Inline values may name earlier ones: they are resolved in the scope built so far.
    const scope: TemplateScope = { names };
    for (const item of vars.items) {
      if (item.kind === 'scalar' && typeof item.value === 'string') {
        const source: NameSource = {
          kind: 'vars-file',
          file: item.value,
          start: item.start,
          end: item.end,
        };
        define(readValuesFile(context, item.value, item, 'vars'), `\`${item.value}\``, item, () => source);
      } else if (item.kind === 'map') {
        define(inlineVars(context, item, scope), '`vars`', item, (name) => {
          const key = getPair(item, name)?.key ?? item;
          return { kind: 'vars', start: key.start, end: key.end };
        });
      }
    }
  }
  // Without a way to read files, names from the params file and vars files are unknown, not missing.
  const unreadFiles = reading.readText === undefined && (params !== undefined || vars?.kind === 'seq');
  const scope: TemplateScope = { names, sources, ...(unreadFiles ? { incomplete: true } : {}) };
  const { expansions, text } = reading;
  if (!expansions || text === undefined) return scope;
  // What the scope is made of, places included (its sources point into the manifest).
  const key = JSON.stringify([
    params && [params.start, text.slice(params.start, params.end)],
    vars && [vars.start, text.slice(vars.start, vars.end)],
    [...context.inputs],
    reading.overrides ?? null,
    unreadFiles,
  ]);
  if (expansions.scope?.key === key) return expansions.scope.scope;
  expansions.scope = { key, scope };
  return scope;
}

/** An inline `vars` mapping; `${…}` in a value names a value defined before it (never itself). */
function inlineVars(context: ScopeReading, map: YMap, scope: TemplateScope): Record<string, unknown> {
  const { problem, reading } = context;
  const values: Record<string, unknown> = {};
  const resolving = new Set<string>();
  const resolveNode = (node: YNode | null, owner: string): unknown => {
    if (node === null) return null;
    if (node.kind === 'seq') return node.items.map((item) => resolveNode(item, owner));
    if (node.kind === 'map') {
      const result: Record<string, unknown> = {};
      for (const pair of node.pairs) result[String(pair.key.value)] = resolveNode(pair.value, owner);
      return result;
    }
    if (typeof node.value !== 'string' || !hasTemplate(node.value)) return node.value;
    const head = /\$\{\s*([A-Za-z_][\w-]*)/.exec(node.value)?.[1];
    if (head === owner || (head !== undefined && resolving.has(head))) {
      problem({
        code: 'bad-template',
        message: `\`${owner}\` refers to itself${head === owner ? '' : ` through \`${head}\``}: a value cannot be made of itself. Write it out.`,
        start: node.start,
        end: node.end,
      });
      return node.value;
    }
    const resolved = resolveTemplate(
      node.value,
      { names: new Map(Object.entries(values)), outer: scope },
      closestName,
    );
    if (resolved.ok) return resolved.value;
    for (const found of resolved.problems) {
      const at = placeInSource(reading.text, node, found.start, found.end);
      problem({ code: found.code, message: found.message, start: at.start, end: at.end });
    }
    return node.value;
  };
  for (const pair of map.pairs) {
    const name = String(pair.key.value);
    resolving.add(name);
    values[name] = resolveNode(pair.value, name);
    resolving.delete(name);
  }
  return values;
}

/** A params or vars file's values, or undefined (with a problem when it exists and does not parse). */
function readValuesFile(
  context: ScopeReading,
  path: string,
  at: { start: number; end: number },
  kind: 'params' | 'vars',
): unknown {
  const { problem, reading } = context;
  const read = reading.readText;
  // A path leaving the workspace is reported by the path checks, and never read.
  if (!read || posix.isAbsolute(path) || path.split(/[\\/]/).includes('..')) return undefined;
  const content = read(path);
  context.inputs.set(path, content);
  if (content === undefined) {
    // A missing default params file is a warning of its own (a stage may write it).
    if (kind === 'vars') {
      problem({
        code: 'bad-values-file',
        message: `The vars file \`${path}\` does not exist. Create it, or fix the path.`,
        start: at.start,
        end: at.end,
      });
    }
    return undefined;
  }
  const parsed = parseValues(path, content);
  if (parsed.ok) return parsed.value;
  problem({
    code: 'bad-values-file',
    message: `${describeParseFailure(path, parsed)} Fix the file: \`\${…}\` and the stages read their values from it.`,
    start: at.start,
    end: at.end,
  });
  return undefined;
}
