// Reading a pipeline's stages: plain stages, and the templates that generate
// several (`foreach` + `do`, `matrix`), with `${…}` resolved from the params
// file, `vars` and the template's item. Everything downstream (validation,
// the plan, the views) sees only concrete stages; each generated one keeps
// the positions of what its template wrote, so a problem in a template is
// reported once, where it is written.
import { posix } from 'node:path';
import type { ManifestDiagnostic } from './diagnostics';
import type { Located, ParamFileDecl, PlotDecl, StageDecl, TemplateDecl } from './model';
import { asMap, flag, list, plotList, stringOf, text, type Resolve } from './reading';
import { closestName } from './spelling';
import {
  compileTemplate,
  describeValue,
  hasTemplate,
  resolveTemplate,
  type CompiledTemplate,
  showValue,
  type NameSource,
  type TemplateScope,
} from './templates';
import { describeParseFailure, parseValues } from './valueFiles';
import { getPair, type YMap, type YNode, type YPair, type YScalar } from './yamlTree';

/** What reading stages needs besides the YAML tree. */
export interface StageReading {
  /** The manifest text, to place a problem inside a string on its `${…}`. */
  readonly text?: string;
  /** Reads a workspace file (params and vars files); without it, names from files are not known. */
  readonly readText?: (path: string) => string | undefined;
  /** Params given for one run (`run --set`), applied over the default params file's values. */
  readonly overrides?: Readonly<Record<string, unknown>>;
}

/** What reading stages found besides the stages: problems, and the files the model now depends on. */
export interface StageReadingResult {
  readonly diagnostics: ManifestDiagnostic[];
  /** Workspace files read for `${…}` (params and vars files), with the content read (undefined: missing). */
  readonly inputs: Map<string, string | undefined>;
  /** The manifest's scope, when some `${…}` needed it (or `globalScope` was asked for). */
  scope: TemplateScope | undefined;
  /**
   * Each template's generated stages with the scope each was made in (its
   * `item`, `key`), by `PIPELINE.TEMPLATE`: what hover shows for `${item}`.
   */
  readonly instanceScopes: Map<string, { readonly stage: string; readonly scope: TemplateScope }[]>;
}

/** At most this many stages are generated in a manifest: a matrix multiplies quickly. */
export const MAX_GENERATED_STAGES = 20_000;

/** Characters a generated stage's key may hold: it becomes part of log file names and CLI arguments. */
const KEY_PATTERN = /^[A-Za-z0-9_.+-]+$/;

export class StageReader {
  readonly result: StageReadingResult = {
    diagnostics: [],
    inputs: new Map(),
    scope: undefined,
    instanceScopes: new Map(),
  };
  private generated = 0;
  private readonly reported = new Set<string>();
  /** Each template string taken apart once, however many stages it is resolved in. */
  private readonly compiled = new Map<string, CompiledTemplate>();
  /** Strings whose `${…}` all name the manifest's scope, resolved: the same in every stage. */
  private readonly resolvedInManifestScope = new Map<string, string>();

  constructor(
    private readonly top: YMap | undefined,
    private readonly reading: StageReading,
  ) {}

  /** The stages of one pipeline, templates expanded in place, and the templates. */
  read(
    pipeline: string,
    pairs: readonly YPair[],
  ): { stages: Map<string, StageDecl>; templates: Map<string, TemplateDecl> } {
    const stages = new Map<string, StageDecl>();
    const templates = new Map<string, TemplateDecl>();
    for (const pair of pairs) {
      const name = String(pair.key.value);
      const body = asMap(pair.value);
      const foreach = body ? getPair(body, 'foreach') : undefined;
      const matrix = body ? getPair(body, 'matrix') : undefined;
      if (!foreach && !matrix) {
        stages.set(name, this.stage(pair, body, pipeline, name, undefined, undefined));
        continue;
      }
      const instances = foreach ? this.foreachItems(foreach) : this.matrixItems(matrix!);
      const generatedBody = foreach ? asMap(body && getPair(body, 'do')?.value) : body;
      const names: string[] = [];
      const scopes: { stage: string; scope: TemplateScope }[] = [];
      this.result.instanceScopes.set(`${pipeline}.${name}`, scopes);
      for (const instance of instances) {
        const stageName = `${name}@${instance.key}`;
        if (stages.has(stageName)) {
          this.problem({
            code: 'bad-template',
            message: `${foreach ? '`foreach`' : '`matrix`'} of stage \`${name}\` generates the stage \`${stageName}\` twice. Make the ${foreach ? 'items' : 'combinations'} distinct.`,
            start: instance.at.start,
            end: instance.at.end,
          });
          continue;
        }
        if (++this.generated > MAX_GENERATED_STAGES) {
          this.problem({
            code: 'bad-template',
            message: `Templates generate more than ${MAX_GENERATED_STAGES.toLocaleString('en-US')} stages; Sluice stops there. Split the ${foreach ? 'list' : 'matrix'}.`,
            start: instance.at.start,
            end: instance.at.end,
          });
          break;
        }
        const scope: TemplateScope = { names: instance.names, outer: this.scope() };
        names.push(stageName);
        scopes.push({ stage: stageName, scope });
        stages.set(
          stageName,
          this.stage(pair, generatedBody, pipeline, stageName, { name, key: instance.key }, scope),
        );
      }
      templates.set(name, {
        name,
        nameStart: pair.key.start,
        nameEnd: pair.key.end,
        start: pair.start,
        end: pair.end,
        description: text(body, 'description')?.value ?? text(generatedBody, 'description')?.value,
        kind: foreach ? 'foreach' : 'matrix',
        instances: names,
      });
    }
    return { stages, templates };
  }

  /** The manifest's scope: the default params file's top-level keys and every name `vars` defines. */
  scope(): TemplateScope {
    this.result.scope ??= this.buildScope();
    return this.result.scope;
  }

  private stage(
    pair: YPair,
    body: YMap | undefined,
    pipeline: string,
    name: string,
    template: StageDecl['template'],
    scope: TemplateScope | undefined,
  ): StageDecl {
    const resolve = this.resolver(scope);
    const wdir = text(body, 'wdir', resolve);
    const base = wdir === undefined ? '' : normalizeFolder(wdir.value);
    const place = (path: Located): Located =>
      base === '' || posix.isAbsolute(path.value) ? path : { ...path, value: posix.join(base, path.value) };
    const uncached: Located[] = [];
    const persistent: Located[] = [];
    const outputs = (key: string): Located[] => {
      const node = body ? getPair(body, key)?.value : undefined;
      if (node?.kind !== 'seq') return [];
      const result: Located[] = [];
      for (const item of node.items) {
        const map = asMap(item);
        const path = map ? text(map, 'path', resolve) : stringOf(item, resolve);
        if (!path) continue;
        const placed = place(path);
        result.push(placed);
        if (map && flag(map, 'cache')?.value === false) uncached.push(placed);
        if (map && flag(map, 'persist')?.value === true) persistent.push(placed);
      }
      return result;
    };
    const outs = outputs('outs');
    const metrics = outputs('metrics');
    const { keys, files } = this.params(body, resolve, place);
    return {
      name,
      nameStart: pair.key.start,
      nameEnd: pair.key.end,
      start: pair.start,
      end: pair.end,
      description: text(body, 'description', resolve)?.value,
      pipeline,
      run: text(body, 'run', resolve),
      datasets: list(body, 'datasets', resolve),
      deps: list(body, 'deps', resolve).map(place),
      needs: list(body, 'needs', resolve),
      params: keys,
      paramFiles: files,
      outs,
      metrics,
      plots: plotList(body, resolve, place) satisfies PlotDecl[],
      uncached,
      persistent,
      wdir: wdir && base !== '' ? { ...wdir, value: base } : undefined,
      frozen: flag(body, 'frozen')?.value === true,
      alwaysChanged: flag(body, 'always_changed')?.value === true,
      template,
    };
  }

  /** `params:` items: keys of the default file, and mappings of other files to keys (nothing: all). */
  private params(
    body: YMap | undefined,
    resolve: Resolve,
    place: (path: Located) => Located,
  ): { keys: Located[]; files: ParamFileDecl[] } {
    const node = body ? getPair(body, 'params')?.value : undefined;
    const keys: Located[] = [];
    const files: ParamFileDecl[] = [];
    if (node?.kind !== 'seq') return { keys, files };
    for (const item of node.items) {
      const key = stringOf(item, resolve);
      if (key) {
        keys.push(key);
        continue;
      }
      const map = asMap(item);
      for (const filePair of map?.pairs ?? []) {
        const file = stringOf(filePair.key, resolve);
        if (!file) continue;
        const value = filePair.value;
        const fileKeys =
          value?.kind === 'seq'
            ? value.items.map((entry) => stringOf(entry, resolve)).filter((entry) => entry !== undefined)
            : [];
        files.push({ file: place(file), keys: fileKeys.length > 0 ? fileKeys : undefined });
      }
    }
    return { keys, files };
  }

  /** Resolves `${…}` in strings against a scope, reporting each problem once at its place. */
  private resolver(scope: TemplateScope | undefined): Resolve {
    return (scalar) => {
      const written = { value: scalar.value, start: scalar.start, end: scalar.end };
      if (!hasTemplate(scalar.value)) return written;
      let compiled = this.compiled.get(scalar.value);
      if (compiled === undefined) this.compiled.set(scalar.value, (compiled = compileTemplate(scalar.value)));
      // A template's own names are in `scope.names`; a string naming none of them resolves
      // the same in every stage it generates, and is resolved once.
      const own = scope?.names;
      const manifestScoped = own === undefined || compiled.parts.every((parts) => !own.has(parts?.[0] ?? ''));
      const known = manifestScoped ? this.resolvedInManifestScope.get(scalar.value) : undefined;
      if (known !== undefined) return { ...written, value: known };
      const resolved = resolveTemplate(compiled, scope ?? this.scope(), closestName);
      if (resolved.ok) {
        const value = resolved.value;
        if (typeof value === 'string') {
          if (manifestScoped) this.resolvedInManifestScope.set(scalar.value, value);
          return { ...written, value };
        }
        // A whole `${name}` that names a list or mapping where text is wanted.
        this.problem({
          code: 'bad-template',
          message: `\`${scalar.value}\` is ${describeValue(value)} (${showValue(value)}); text is wanted here. Name one of its ${Array.isArray(value) ? 'items' : 'keys'}.`,
          start: scalar.start,
          end: scalar.end,
        });
        return written;
      }
      for (const problem of resolved.problems) {
        const at = this.placeInSource(scalar, problem.start, problem.end);
        this.problem({
          code: problem.code,
          message: problem.message,
          start: at.start,
          end: at.end,
          ...(problem.suggestion !== undefined
            ? {
                fixes: [
                  {
                    title: `Change to \`${problem.suggestion}\``,
                    edits: [
                      {
                        start: at.start + 2,
                        end: at.end - 1,
                        newText: problem.suggestion,
                      },
                    ],
                    preferred: true,
                  },
                ],
              }
            : {}),
        });
      }
      return written;
    };
  }

  /**
   * Where `value.slice(start, end)` is written in the manifest: found in the
   * scalar's source when it is written as is (plain or simply quoted), else
   * the whole scalar.
   */
  private placeInSource(scalar: YScalar, start: number, end: number): { start: number; end: number } {
    const source = this.reading.text?.slice(scalar.start, scalar.end);
    const piece = String(scalar.value).slice(start, end);
    if (source !== undefined && piece !== '') {
      const at = source.indexOf(piece);
      if (at !== -1 && source.indexOf(piece, at + 1) === -1) {
        return { start: scalar.start + at, end: scalar.start + at + piece.length };
      }
      if (at !== -1 && String(scalar.value) === source.slice(source.length - String(scalar.value).length)) {
        const offset = source.length - String(scalar.value).length;
        return { start: scalar.start + offset + start, end: scalar.start + offset + end };
      }
    }
    return { start: scalar.start, end: scalar.end };
  }

  private problem(diagnostic: Omit<ManifestDiagnostic, 'severity'>): void {
    // A template's problem is the same in every stage it generates: report it once.
    const key = `${diagnostic.start}:${diagnostic.end}:${diagnostic.code}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.result.diagnostics.push({ severity: 'error', ...diagnostic });
  }

  // ---- foreach and matrix

  private foreachItems(foreach: YPair): Instance[] {
    const value = this.templateValue(foreach.value, '`foreach`');
    if (value === undefined) return [];
    const at = foreach.value ?? foreach.key;
    if (Array.isArray(value)) {
      return value.flatMap((item, index) => {
        const key = isPrimitive(item) ? String(item) : String(index);
        return this.instance(key, new Map([['item', item]]), at, foreach.key);
      });
    }
    if (value !== null && typeof value === 'object') {
      return Object.entries(value).flatMap(([key, item]) =>
        this.instance(
          key,
          new Map([
            ['item', item],
            ['key', key],
          ]),
          at,
          foreach.key,
        ),
      );
    }
    this.problem({
      code: 'bad-template',
      message: `\`foreach\` must be a list or a mapping (or \`\${name}\` of one), not ${describeValue(value)}${isPrimitive(value) ? ` (${showValue(value)})` : ''}.`,
      start: at.start,
      end: at.end,
    });
    return [];
  }

  private matrixItems(matrix: YPair): Instance[] {
    const map = asMap(matrix.value);
    const at = matrix.value ?? matrix.key;
    if (!map || map.pairs.length === 0) {
      this.problem({
        code: 'bad-template',
        message: '`matrix` must map names to lists, for example `model: [a, b]` and `lr: [0.1, 0.01]`.',
        start: at.start,
        end: at.end,
      });
      return [];
    }
    const dimensions: { name: string; values: unknown[] }[] = [];
    for (const pair of map.pairs) {
      const name = String(pair.key.value);
      const value = this.templateValue(pair.value, `\`matrix.${name}\``);
      if (value === undefined) return [];
      if (!Array.isArray(value) || value.length === 0) {
        this.problem({
          code: 'bad-template',
          message: `\`matrix.${name}\` must be a list with at least one value, not ${describeValue(value)}.`,
          start: (pair.value ?? pair.key).start,
          end: (pair.value ?? pair.key).end,
        });
        return [];
      }
      dimensions.push({ name, values: value });
    }
    const total = dimensions.reduce((product, dimension) => product * dimension.values.length, 1);
    if (this.generated + total > MAX_GENERATED_STAGES) {
      this.problem({
        code: 'bad-template',
        message: `This \`matrix\` makes ${total.toLocaleString('en-US')} combinations; Sluice generates at most ${MAX_GENERATED_STAGES.toLocaleString('en-US')} stages. Make it smaller.`,
        start: at.start,
        end: at.end,
      });
      return [];
    }
    const instances: Instance[] = [];
    const indexes = dimensions.map(() => 0);
    for (let made = 0; made < total; made++) {
      const item: Record<string, unknown> = {};
      const keyParts: string[] = [];
      dimensions.forEach((dimension, d) => {
        const value = dimension.values[indexes[d]!];
        item[dimension.name] = value;
        keyParts.push(isPrimitive(value) ? String(value) : `${dimension.name}${indexes[d]}`);
      });
      instances.push(...this.instance(keyParts.join('-'), new Map([['item', item]]), at, matrix.key));
      for (let d = dimensions.length - 1; d >= 0; d--) {
        if (++indexes[d]! < dimensions[d]!.values.length) break;
        indexes[d] = 0;
      }
    }
    return instances;
  }

  private instance(
    key: string,
    names: Map<string, unknown>,
    at: { start: number; end: number },
    keyword: YScalar,
  ): Instance[] {
    if (KEY_PATTERN.test(key)) return [{ key, names, at }];
    this.problem({
      code: 'bad-template',
      message: `\`${String(keyword.value)}\` would name a stage \`…@${key}\`, but a generated name may hold only letters, digits, \`_\`, \`.\`, \`+\` and \`-\`. Use a mapping to choose the names (\`name: value\`).`,
      start: at.start,
      end: at.end,
    });
    return [];
  }

  /** The value of `foreach` or one `matrix` list: written inline, or `${name}` of one. */
  private templateValue(node: YNode | null, what: string): unknown {
    if (node?.kind === 'scalar' && typeof node.value === 'string') {
      const source = node.value.trim();
      if (!/^\$\{[^}]*\}$/.test(source)) {
        this.problem({
          code: 'bad-template',
          message: `${what} must be a list or a mapping, or \`\${name}\` of one in the params file or \`vars\`; \`${node.value}\` is text.`,
          start: node.start,
          end: node.end,
        });
        return undefined;
      }
      const resolved = resolveTemplate(source, this.scope(), closestName);
      if (!resolved.ok) {
        for (const problem of resolved.problems) {
          this.problem({ code: problem.code, message: problem.message, start: node.start, end: node.end });
        }
        return undefined;
      }
      return resolved.value;
    }
    if (node === null) {
      return undefined; // structure validation says it is empty
    }
    return this.toValue(node);
  }

  /** A YAML node as a plain value, with `${…}` in its strings resolved in the manifest's scope. */
  private toValue(node: YNode | null): unknown {
    if (node === null) return null;
    if (node.kind === 'scalar') {
      if (typeof node.value !== 'string' || !hasTemplate(node.value)) return node.value;
      const resolved = this.resolver(undefined)(node as YScalar & { value: string });
      return resolved.value;
    }
    if (node.kind === 'seq') return node.items.map((item) => this.toValue(item));
    const result: Record<string, unknown> = {};
    for (const pair of node.pairs) result[String(pair.key.value)] = this.toValue(pair.value);
    return result;
  }

  // ---- the manifest's scope

  private buildScope(): TemplateScope {
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
        this.problem({
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
          this.problem({
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
    const params = this.top ? getPair(this.top, 'params')?.value : undefined;
    if (params?.kind === 'scalar' && typeof params.value === 'string') {
      const values = this.readValuesFile(params.value, params, 'params');
      const source: NameSource = { kind: 'params', file: params.value, start: params.start, end: params.end };
      define(applyOverrides(values, this.reading.overrides), `\`${params.value}\``, params, () => source);
    }
    const vars = this.top ? getPair(this.top, 'vars')?.value : undefined;
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
          define(this.readValuesFile(item.value, item, 'vars'), `\`${item.value}\``, item, () => source);
        } else if (item.kind === 'map') {
          define(this.inlineVars(item, scope), '`vars`', item, (name) => {
            const key = getPair(item, name)?.key ?? item;
            return { kind: 'vars', start: key.start, end: key.end };
          });
        }
      }
    }
    // Without a way to read files, names from the params file and vars files are unknown, not missing.
    const unreadFiles = this.reading.readText === undefined && (params !== undefined || vars?.kind === 'seq');
    return { names, sources, ...(unreadFiles ? { incomplete: true } : {}) };
  }

  /** An inline `vars` mapping; `${…}` in a value names a value defined before it (never itself). */
  private inlineVars(map: YMap, scope: TemplateScope): Record<string, unknown> {
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
        this.problem({
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
      for (const problem of resolved.problems) {
        const at = this.placeInSource(node, problem.start, problem.end);
        this.problem({ code: problem.code, message: problem.message, start: at.start, end: at.end });
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
  private readValuesFile(path: string, at: { start: number; end: number }, kind: 'params' | 'vars'): unknown {
    const read = this.reading.readText;
    // A path leaving the workspace is reported by the path checks, and never read.
    if (!read || posix.isAbsolute(path) || path.split(/[\\/]/).includes('..')) return undefined;
    const content = read(path);
    this.result.inputs.set(path, content);
    if (content === undefined) {
      // A missing default params file is a warning of its own (a stage may write it).
      if (kind === 'vars') {
        this.problem({
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
    this.problem({
      code: 'bad-values-file',
      message: `${describeParseFailure(path, parsed)} Fix the file: \`\${…}\` and the stages read their values from it.`,
      start: at.start,
      end: at.end,
    });
    return undefined;
  }
}

interface Instance {
  readonly key: string;
  readonly names: ReadonlyMap<string, unknown>;
  /** What generated it (the `foreach` or `matrix` value), for problems. */
  readonly at: { readonly start: number; readonly end: number };
}

function isPrimitive(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

/** `./a/b/` → `a/b`; `.` → ''. */
function normalizeFolder(path: string): string {
  const normalized = posix.normalize(path.replace(/\\/g, '/')).replace(/\/+$/, '');
  return normalized === '.' ? '' : normalized;
}

/** A copy of a params document with dotted keys set (run --set). */
function applyOverrides(
  document: unknown,
  overrides: Readonly<Record<string, unknown>> | undefined,
): unknown {
  const keys = Object.keys(overrides ?? {});
  if (keys.length === 0 || document === null || typeof document !== 'object') return document;
  const copy = structuredClone(document) as Record<string, unknown>;
  for (const key of keys) {
    const path = key.split('.');
    let at: Record<string, unknown> | undefined = copy;
    for (const part of path.slice(0, -1)) {
      const next: unknown = at?.[part];
      at = next !== null && typeof next === 'object' ? (next as Record<string, unknown>) : undefined;
    }
    if (at) at[path[path.length - 1]!] = overrides![key];
  }
  return copy;
}
