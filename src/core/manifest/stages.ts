// Reading a pipeline's stages: plain stages, and the templates that generate
// several (`foreach` + `do`, `matrix`), with `${…}` resolved from the params
// file, `vars` and the template's item. Everything downstream (validation,
// the plan, the views) sees only concrete stages; each generated one keeps
// the positions of what its template wrote, so a problem in a template is
// reported once, where it is written.
import { posix } from 'node:path';
import type { ManifestDiagnostic } from './diagnostics';
import type { Located, ParamFileDecl, PlotDecl, StageDecl, TemplateDecl } from './model';
import { moved, type Expansion, type TemplateExpansions } from './expansions';
import { buildManifestScope } from './manifestScope';
import {
  asMap,
  flag,
  list,
  placeInSource,
  plotList,
  readResources,
  stringOf,
  text,
  type Resolve,
} from './reading';
import { closestName } from './spelling';
import {
  compileTemplate,
  describeValue,
  hasTemplate,
  resolveTemplate,
  type CompiledTemplate,
  showValue,
  type TemplateScope,
} from './templates';
import { getPair, type YMap, type YNode, type YPair, type YScalar } from './yamlTree';

/** What reading stages needs besides the YAML tree. */
export interface StageReading {
  /** The manifest text, to place a problem inside a string on its `${…}`. */
  readonly text?: string;
  /** Reads a workspace file (params and vars files); without it, names from files are not known. */
  readonly readText?: (path: string) => string | undefined;
  /** Params given for one run (`run --set`), applied over the default params file's values. */
  readonly overrides?: Readonly<Record<string, unknown>>;
  /** What the previous analysis of the same document generated, reused where unchanged (needs `text`). */
  readonly expansions?: TemplateExpansions;
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
  readonly instanceScopes: Map<string, readonly { readonly stage: string; readonly scope: TemplateScope }[]>;
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
  /** Set once `MAX_GENERATED_STAGES` stopped a template: what follows depends on what came before. */
  private limitReached = false;
  private readonly reported = new Set<string>();
  /** The expansions this analysis made or reused, kept for the next one. */
  private readonly expansions = new Map<string, Expansion>();
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
    const { text, expansions } = this.reading;
    for (const pair of pairs) {
      const name = String(pair.key.value);
      const body = asMap(pair.value);
      const foreach = body ? getPair(body, 'foreach') : undefined;
      const matrix = body ? getPair(body, 'matrix') : undefined;
      if (!foreach && !matrix) {
        stages.set(name, this.stage(pair, body, pipeline, name, undefined, undefined));
        continue;
      }
      const key =
        text !== undefined && expansions ? `${pipeline}\0${text.slice(pair.start, pair.end)}` : undefined;
      const previous = key === undefined ? undefined : expansions?.entries.get(key);
      const limited = this.limitReached;
      const expansion =
        previous && this.reusable(previous, stages)
          ? this.replay(moved(previous, pair.start - previous.start), stages)
          : this.expand(pipeline, pair, body, foreach, matrix, stages);
      // An expansion the limit cut short depends on the templates before it: made again each time.
      if (key !== undefined && this.limitReached === limited) this.expansions.set(key, expansion);
      templates.set(name, expansion.template);
      this.result.instanceScopes.set(`${pipeline}.${name}`, expansion.scopes);
    }
    return { stages, templates };
  }

  /** Keeps this analysis' expansions for the next analysis of the document. */
  commit(): void {
    if (this.reading.expansions) this.reading.expansions.entries = this.expansions;
  }

  /** The stages of one template, added to `stages`. */
  private expand(
    pipeline: string,
    pair: YPair,
    body: YMap | undefined,
    foreach: YPair | undefined,
    matrix: YPair | undefined,
    stages: Map<string, StageDecl>,
  ): Expansion {
    const name = String(pair.key.value);
    const reportedBefore = this.result.diagnostics.length;
    const instances = foreach ? this.foreachItems(foreach) : this.matrixItems(matrix!);
    const generatedBody = foreach ? asMap(body && getPair(body, 'do')?.value) : body;
    const generated: StageDecl[] = [];
    const scopes: { stage: string; scope: TemplateScope }[] = [];
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
        this.limitReached = true;
        this.problem({
          code: 'bad-template',
          message: `Templates generate more than ${MAX_GENERATED_STAGES.toLocaleString('en-US')} stages; Sluice stops there. Split the ${foreach ? 'list' : 'matrix'}.`,
          start: instance.at.start,
          end: instance.at.end,
        });
        break;
      }
      const scope: TemplateScope = { names: instance.names, outer: this.scope() };
      const stage = this.stage(pair, generatedBody, pipeline, stageName, { name, key: instance.key }, scope);
      scopes.push({ stage: stageName, scope });
      generated.push(stage);
      stages.set(stageName, stage);
    }
    return {
      start: pair.start,
      stages: generated,
      template: {
        name,
        nameStart: pair.key.start,
        nameEnd: pair.key.end,
        start: pair.start,
        end: pair.end,
        description: text(body, 'description')?.value ?? text(generatedBody, 'description')?.value,
        kind: foreach ? 'foreach' : 'matrix',
        instances: generated.map((stage) => stage.name),
      },
      scopes,
      diagnostics: this.result.diagnostics.slice(reportedBefore),
      scope: this.result.scope,
    };
  }

  /** True when an expansion of the previous analysis is what expanding the template again would give. */
  private reusable(previous: Expansion, stages: ReadonlyMap<string, StageDecl>): boolean {
    // The same scope object, which the previous analysis made from the same entries and files.
    if (previous.scope !== undefined && previous.scope !== this.scope()) return false;
    if (this.generated + previous.stages.length > MAX_GENERATED_STAGES) return false;
    return previous.stages.every((stage) => !stages.has(stage.name));
  }

  private replay(previous: Expansion, stages: Map<string, StageDecl>): Expansion {
    for (const diagnostic of previous.diagnostics) this.report(diagnostic);
    for (const stage of previous.stages) stages.set(stage.name, stage);
    this.generated += previous.stages.length;
    return previous;
  }

  /** The manifest's scope: the default params file's top-level keys and every name `vars` defines. */
  scope(): TemplateScope {
    this.result.scope ??= buildManifestScope({
      top: this.top,
      reading: this.reading,
      inputs: this.result.inputs,
      problem: (diagnostic) => {
        this.problem(diagnostic);
      },
    });
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
      executor: text(body, 'executor', resolve),
      resources: readResources(body, resolve),
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
        const at = placeInSource(this.reading.text, scalar, problem.start, problem.end);
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

  private problem(diagnostic: Omit<ManifestDiagnostic, 'severity'>): void {
    this.report({ severity: 'error', ...diagnostic });
  }

  private report(diagnostic: ManifestDiagnostic): void {
    // A template's problem is the same in every stage it generates: report it once.
    const key = `${diagnostic.start}:${diagnostic.end}:${diagnostic.code}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.result.diagnostics.push(diagnostic);
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
      // As in DVC, `${key}` is the combination's name (`a-0.1`).
      const key = keyParts.join('-');
      instances.push(
        ...this.instance(
          key,
          new Map<string, unknown>([
            ['item', item],
            ['key', key],
          ]),
          at,
          matrix.key,
        ),
      );
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
