// `${…}` in the editor: the reference at the cursor, the names in scope there
// with their values and where each is defined. Completion, hover and go to
// definition read these. A reference is found in the line's text, not in the
// parse tree: while a user types `${tr`, the line is rarely valid YAML.
import { LineCounter, parseDocument, isMap, isScalar, type Node as YamlNode } from 'yaml';
import type { ManifestAnalysis } from './analysis';
import type { Position } from './diagnostics';
import type { TemplateDecl } from './model';
import {
  lookup,
  nameParts,
  scanTemplate,
  showValue,
  type NameSource,
  type TemplateRef,
  type TemplateScope,
} from './templates';
import { valuesFormat } from './valueFiles';
import { getPair, type YMap, type YNode } from './yamlTree';

/** Hover lists the values of this many generated stages, then "…and N more". */
const SHOWN_INSTANCES = 5;
/** Completion's detail shows this many distinct values of `item` across the generated stages. */
const SHOWN_VALUES = 3;

/** The body of a stage template at a position: where `item` (and `key`) can be named. */
export interface TemplateBody {
  readonly pipeline: string;
  /** The template's name (`make` for the stages `make@…`). */
  readonly name: string;
  /** Undefined while the analysis does not know the template yet (its `foreach:` just typed). */
  readonly template: TemplateDecl | undefined;
  /** Each generated stage with the scope it was made in. */
  readonly instances: readonly { readonly stage: string; readonly scope: TemplateScope }[];
}

/**
 * The template body holding a value at `keys` (manifest keys from the root,
 * list items left out), if any: a `foreach`'s `do:`, or a `matrix` stage
 * outside its `matrix:` list. `foreach:` and `matrix:` themselves are read in
 * the manifest's scope, where there is no item yet.
 */
export function templateBodyAt(
  analysis: ManifestAnalysis,
  keys: readonly string[],
): TemplateBody | undefined {
  if (keys.length < 5 || keys[0] !== 'pipelines' || keys[2] !== 'stages') return undefined;
  const pipeline = keys[1]!;
  const name = keys[3]!;
  const template = analysis.manifest.pipelines.get(pipeline)?.templates.get(name);
  const inBody = template?.kind === 'matrix' ? keys[4] !== 'matrix' : keys[4] === 'do';
  if (!inBody) return undefined;
  return { pipeline, name, template, instances: analysis.instanceScopes.get(`${pipeline}.${name}`) ?? [] };
}

/** The `${` still open before `column` on a line, and what is typed of the name after it. */
export function openRefBefore(lineText: string, column: number): { typed: string } | undefined {
  const before = lineText.slice(0, column);
  if (/^\s*#/.test(before)) return undefined;
  const at = before.lastIndexOf('${');
  if (at === -1 || before.includes('}', at) || before[at - 1] === '\\') return undefined;
  const typed = before.slice(at + 2).trimStart();
  return /^[\w.[\]-]*$/.test(typed) ? { typed } : undefined;
}

/** The `${…}` of a line that `column` is in, with offsets into the line. */
export function refAt(lineText: string, column: number): TemplateRef | undefined {
  if (!lineText.includes('${')) return undefined;
  return scanTemplate(lineText).refs.find((ref) => column >= ref.start && column < ref.end);
}

/** A name completion offers after `${`. */
export interface NameCandidate {
  readonly name: string;
  /** Its value, short; for a template's item, the values of its first stages. */
  readonly detail: string;
  /** Where it comes from (markdown). */
  readonly documentation: string;
  /** `item`, `key` or a key of the item: the template's own, rather than the manifest's. */
  readonly ofTemplate: boolean;
}

/**
 * The names to offer after `${` and `base.` (base '' at the top): inside a
 * template body `item` (and `key` for a mapping `foreach`) and the keys of
 * the item in any of its stages; everywhere the manifest's names (the params
 * file and `vars`) and their keys.
 */
export function nameCandidates(
  analysis: ManifestAnalysis,
  body: TemplateBody | undefined,
  base: string,
): NameCandidate[] {
  const manifestScope = analysis.templateScope();
  const parts = base === '' ? [] : nameParts(base);
  if (parts === undefined) return [];
  const own = body ? instanceNames(body) : new Set<string>();
  if (parts.length === 0) {
    const candidates: NameCandidate[] = [];
    if (body) {
      // While the analysis does not know the template yet, `item` is still what its body names.
      for (const name of own.size > 0 ? own : ['item'])
        candidates.push({
          name,
          detail: instanceValues(body, name),
          documentation: describeItem(body, name),
          ofTemplate: true,
        });
    }
    for (const [name, value] of manifestScope.names) {
      if (own.has(name)) continue; // the item hides a manifest name of the same name
      candidates.push({
        name,
        detail: showValue(value),
        documentation: describeSource(manifestScope, name),
        ofTemplate: false,
      });
    }
    return candidates;
  }
  const head = parts[0]!;
  if (body && own.has(head)) {
    // The keys of the item in every stage: items of one `foreach` need not share their keys.
    const keys = new Map<string, unknown[]>();
    for (const { scope } of body.instances) {
      const found = lookup(scope, base);
      if (!found.found || !isMapping(found.value)) continue;
      for (const [key, value] of Object.entries(found.value)) {
        const values = keys.get(key) ?? [];
        values.push(value);
        keys.set(key, values);
      }
    }
    return [...keys].map(([key, values]) => ({
      name: key,
      detail: distinctValues(values),
      documentation: `\`${base}.${key}\` in the stages \`${body.name}\` generates (${values.length} of ${body.instances.length}).`,
      ofTemplate: true,
    }));
  }
  const found = lookup(manifestScope, base);
  if (!found.found || !isMapping(found.value)) return [];
  const source = describeSource(manifestScope, head);
  return Object.entries(found.value).map(([key, value]) => ({
    name: key,
    detail: showValue(value),
    documentation: source,
    ofTemplate: false,
  }));
}

/**
 * What hover says of `${name}`: its value and where it is defined, or, for
 * the item of a template, its value in each generated stage. Undefined for a
 * name that is not defined (its diagnostic says so).
 */
export function describeRef(
  analysis: ManifestAnalysis,
  body: TemplateBody | undefined,
  name: string,
): string | undefined {
  const parts = nameParts(name);
  if (parts === undefined) return undefined;
  const head = parts[0]!;
  if (body && instanceNames(body).has(head)) {
    const values: string[] = [];
    for (const { stage, scope } of body.instances) {
      const found = lookup(scope, name);
      if (found.found) values.push(`\`${stage}\`: ${plain(found.value)}`);
    }
    if (values.length === 0) return undefined;
    const more = values.length - SHOWN_INSTANCES;
    const shown = values.slice(0, SHOWN_INSTANCES).join(', ');
    return `**\`\${${name}}\`** in the stages \`${body.name}\` generates\n\n${shown}${more > 0 ? `, …and ${more} more` : ''}`;
  }
  const scope = analysis.templateScope();
  const found = lookup(scope, name);
  if (!found.found) return undefined;
  return `**\`\${${name}}\`** = ${plain(found.value)}\n\n${describeSource(scope, head)}`;
}

/** A place in another file of the workspace (a params or vars file), 0-based. */
export interface FileTarget {
  /** Workspace-relative. */
  readonly file: string;
  readonly start: Position;
  readonly end: Position;
}

/**
 * Where `${name}` is defined: the key in the params or vars file (its line
 * found by parsing the file, only on request), the key of an inline `vars`
 * mapping, or, for `item` and `key`, the template's `foreach` value or
 * `matrix` list.
 */
export function refDefinition(
  analysis: ManifestAnalysis,
  body: TemplateBody | undefined,
  name: string,
): ({ readonly start: number; readonly end: number } | FileTarget)[] {
  const parts = nameParts(name);
  if (parts === undefined) return [];
  const head = parts[0]!;
  if (body && instanceNames(body).has(head)) {
    const template = templateNode(analysis.root, body);
    if (!template) return [];
    if (body.template?.kind === 'matrix') {
      const matrix = getPair(template, 'matrix');
      const dimension =
        matrix?.value?.kind === 'map' && parts[1] ? getPair(matrix.value, parts[1]) : undefined;
      const at = dimension?.key ?? matrix?.key;
      return at ? [{ start: at.start, end: at.end }] : [];
    }
    const foreach = getPair(template, 'foreach');
    const at = foreach?.value ?? foreach?.key;
    return at ? [{ start: at.start, end: at.end }] : [];
  }
  const scope = analysis.templateScope();
  if (!lookup(scope, head).found) return [];
  const source = scope.sources?.get(head);
  if (!source) return [];
  if (source.kind === 'vars') return [{ start: source.start, end: source.end }];
  const content = analysis.probe?.readText(source.file);
  if (content === undefined) return [];
  return [keyInFile(source.file, content, parts)];
}

/** The names each generated stage adds to the manifest's: `item`, and `key` for a mapping `foreach`. */
function instanceNames(body: TemplateBody): Set<string> {
  const names = new Set<string>();
  for (const { scope } of body.instances) for (const name of scope.names.keys()) names.add(name);
  return names;
}

function instanceValues(body: TemplateBody, name: string): string {
  return distinctValues(body.instances.map(({ scope }) => scope.names.get(name)));
}

function distinctValues(values: readonly unknown[]): string {
  const distinct = [...new Set(values.map(plain))];
  if (distinct.length === 0) return 'item';
  const more = distinct.length > SHOWN_VALUES ? ', …' : '';
  return distinct.slice(0, SHOWN_VALUES).join(', ') + more;
}

function describeItem(body: TemplateBody, name: string): string {
  const count = `${body.instances.length} stage${body.instances.length === 1 ? '' : 's'}`;
  if (name === 'key')
    return `The key of each stage \`${body.name}\` generates (${count}): its name after \`@\`.`;
  if (body.template?.kind === 'matrix')
    return `The combination of each stage \`${body.name}\` generates (${count}): one key per \`matrix\` list.`;
  return `The item of each stage \`${body.name}\` generates from \`foreach\` (${count}).`;
}

function describeSource(scope: TemplateScope, name: string): string {
  const source: NameSource | undefined = scope.sources?.get(name);
  if (!source) return 'From the params file or `vars`.';
  if (source.kind === 'params') return `From the params file \`${source.file}\`.`;
  if (source.kind === 'vars-file') return `From the vars file \`${source.file}\`.`;
  return 'From `vars` in this manifest.';
}

/** A value as a sentence shows it: text as it is, anything else as JSON. */
function plain(value: unknown): string {
  return typeof value === 'string' ? value : showValue(value);
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The template's mapping in the tree: pipelines → PIPELINE → stages → NAME. */
function templateNode(root: YNode | null, body: TemplateBody): YMap | undefined {
  let node: YNode | null | undefined = root;
  for (const key of ['pipelines', body.pipeline, 'stages', body.name]) {
    node = node?.kind === 'map' ? getPair(node, key)?.value : undefined;
  }
  return node?.kind === 'map' ? node : undefined;
}

/**
 * The key `parts` names in a params or vars file, as deep as it goes (the
 * file's start when even the first is missing, or for TOML, which the `yaml`
 * package does not read).
 */
function keyInFile(file: string, content: string, parts: readonly string[]): FileTarget {
  const top: FileTarget = { file, start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
  if (valuesFormat(file) === 'TOML') return top;
  const lines = new LineCounter();
  const document = parseDocument(content, { lineCounter: lines, uniqueKeys: false });
  let node: YamlNode | null | undefined = document.contents;
  let found: [number, number] | undefined;
  for (const part of parts) {
    if (!isMap(node)) break;
    const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === part);
    const range = pair && isScalar(pair.key) ? pair.key.range : undefined;
    if (!pair || !range) break;
    found = [range[0], range[1]];
    node = pair.value as YamlNode | null;
  }
  if (!found) return top;
  const position = (offset: number): Position => {
    const at = lines.linePos(offset);
    return { line: at.line - 1, character: at.col - 1 };
  };
  return { file, start: position(found[0]), end: position(found[1]) };
}
