// A small, immutable YAML syntax tree with absolute source offsets.
// The `yaml` package's own nodes carry offsets relative to the text they were
// parsed from; the incremental parser parses pieces of the manifest and needs
// nodes it can shift and reuse, so everything downstream works on this tree.
import { isAlias, isMap, isScalar, isSeq, type Document, type Node as YamlNode } from 'yaml';

export interface YScalar {
  readonly kind: 'scalar';
  readonly start: number;
  readonly end: number;
  readonly value: string | number | boolean | null;
}

export interface YPair {
  readonly key: YScalar;
  readonly value: YNode | null;
  readonly start: number;
  readonly end: number;
}

export interface YMap {
  readonly kind: 'map';
  readonly start: number;
  readonly end: number;
  readonly pairs: readonly YPair[];
}

export interface YSeq {
  readonly kind: 'seq';
  readonly start: number;
  readonly end: number;
  readonly items: readonly YNode[];
}

export type YNode = YScalar | YMap | YSeq;

/** A problem found while reading YAML syntax, at absolute offsets. */
export interface SyntaxProblem {
  readonly code: 'yaml-syntax' | 'yaml-key';
  readonly message: string;
  readonly start: number;
  readonly end: number;
}

export function nodeTypeName(node: YNode | null): string {
  if (node === null) return 'nothing';
  if (node.kind === 'map') return 'a mapping';
  if (node.kind === 'seq') return 'a list';
  const value = node.value;
  if (value === null) return 'nothing';
  if (typeof value === 'string') return 'text';
  if (typeof value === 'boolean') return 'true/false';
  return 'a number';
}

/** 1 when a scalar at `start` is quoted, so its content starts one character later. */
export function contentOffset(text: string, start: number): number {
  const c = text.charAt(start);
  return c === '"' || c === "'" ? 1 : 0;
}

/** How many values aliases may expand to, in all, in one document. */
const MAX_ALIAS_NODES = 10_000;
/** How deep the tree may nest; deeper input is reported, not followed (it would exhaust the stack). */
const MAX_DEPTH = 100;

/** Converts a parsed `yaml` document into a YNode tree, adding `base` to every offset. */
export function fromYamlDocument(
  doc: Document.Parsed,
  base: number,
  problems: SyntaxProblem[],
): YNode | null {
  const seen = new Set<YamlNode>();
  // Aliases are expanded into copies; a few hundred bytes of aliases of aliases
  // would otherwise stand for millions of nodes ("billion laughs").
  let aliasBudget = MAX_ALIAS_NODES;
  let insideAlias = 0;
  let depth = 0;
  let reported = false;
  const tooMuch = (message: string, at: { range?: readonly number[] | null }): null => {
    if (!reported) {
      reported = true;
      const start = base + (at.range?.[0] ?? 0);
      problems.push({ code: 'yaml-syntax', message, start, end: start + 1 });
    }
    return null;
  };
  const convert = (node: unknown): YNode | null => {
    if (node === null || node === undefined) return null;
    if (insideAlias > 0 && --aliasBudget < 0) {
      return tooMuch(
        `Aliases here expand to more than ${MAX_ALIAS_NODES} values; write the values out.`,
        node,
      );
    }
    if (depth >= MAX_DEPTH) {
      return tooMuch(`The YAML nests more than ${MAX_DEPTH} levels deep; a manifest never needs that.`, node);
    }
    depth++;
    try {
      return convertNode(node);
    } finally {
      depth--;
    }
  };
  const convertNode = (node: unknown): YNode | null => {
    if (isAlias(node)) {
      const target = node.resolve(doc);
      if (!target || seen.has(target)) return null; // a recursive alias resolves to nothing
      seen.add(target);
      insideAlias++;
      const resolved = convert(target);
      insideAlias--;
      seen.delete(target);
      if (!resolved) return null;
      // An alias stands where it is written: keep its own position.
      const [s, e] = node.range ?? [0, 0];
      return shiftTo(resolved, base + s, base + e);
    }
    if (isScalar(node)) {
      const [s, e] = node.range ?? [0, 0];
      const v = node.value;
      const value =
        typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
          ? v
          : typeof v === 'bigint'
            ? Number(v)
            : null; // the YAML 1.2 core schema has no other scalar types
      return { kind: 'scalar', start: base + s, end: base + e, value };
    }
    if (isMap(node)) {
      const [s, e] = node.range ?? [0, 0];
      const pairs: YPair[] = [];
      for (const pair of node.items) {
        const key = convert(pair.key);
        if (!key || key.kind !== 'scalar') {
          const at = key ?? { start: base + s, end: base + s + 1 };
          problems.push({
            code: 'yaml-key',
            message: 'Keys must be plain names, not lists or mappings; write `name: value`.',
            start: at.start,
            end: at.end,
          });
          continue;
        }
        const value = convert(pair.value);
        // `key:` with nothing after it parses as a null scalar placed at the key's end.
        const emptyValue = value?.kind === 'scalar' && value.value === null && value.end <= value.start;
        pairs.push({
          key,
          value: emptyValue ? null : value,
          start: key.start,
          end: emptyValue || !value ? key.end : Math.max(value.end, key.end),
        });
      }
      return { kind: 'map', start: base + s, end: base + e, pairs };
    }
    if (isSeq(node)) {
      const [s, e] = node.range ?? [0, 0];
      const items: YNode[] = [];
      for (const item of node.items) {
        const converted = convert(item);
        if (converted) items.push(converted);
      }
      return { kind: 'seq', start: base + s, end: base + e, items };
    }
    return null;
  };
  for (const error of doc.errors) {
    // The `yaml` parser reports running out of stack once per level it unwinds.
    if (error.message.includes('Maximum call stack size exceeded')) {
      if (problems.some((p) => p.message.startsWith('The YAML nests'))) continue;
      problems.push({
        code: 'yaml-syntax',
        message: `The YAML nests more than ${MAX_DEPTH} levels deep; a manifest never needs that.`,
        start: base + error.pos[0],
        end: base + error.pos[0] + 1,
      });
      continue;
    }
    problems.push({
      code: 'yaml-syntax',
      message: yamlMessage(error.message),
      start: base + error.pos[0],
      end: base + Math.max(error.pos[1], error.pos[0] + 1),
    });
  }
  return convert(doc.contents);
}

/** The first line of a `yaml` error message, without its position suffix. */
function yamlMessage(message: string): string {
  const first = message.split('\n')[0] ?? message;
  return first.replace(/ at line \d+, column \d+:?$/, '').trim();
}

function shiftTo(node: YNode, start: number, end: number): YNode {
  return { ...node, start, end };
}

/** A copy of `node` with every offset moved by `delta`. Nodes are never mutated. */
export function shifted(node: YNode, delta: number): YNode {
  if (delta === 0) return node;
  switch (node.kind) {
    case 'scalar':
      return { kind: 'scalar', start: node.start + delta, end: node.end + delta, value: node.value };
    case 'seq':
      return {
        kind: 'seq',
        start: node.start + delta,
        end: node.end + delta,
        items: node.items.map((item) => shifted(item, delta)),
      };
    case 'map':
      return {
        kind: 'map',
        start: node.start + delta,
        end: node.end + delta,
        pairs: node.pairs.map((pair) => ({
          key: shifted(pair.key, delta) as YScalar,
          value: pair.value ? shifted(pair.value, delta) : null,
          start: pair.start + delta,
          end: pair.end + delta,
        })),
      };
  }
}

/** Looks a key up in a mapping (the first occurrence, as YAML readers do). */
export function getPair(map: YMap, key: string): YPair | undefined {
  return map.pairs.find((pair) => pair.key.value === key);
}

/** The path of innermost nodes containing `offset`, from the root down. */
export interface PathStep {
  readonly node: YNode;
  /** The key under which `node` sits, when its parent is a mapping. */
  readonly key?: YScalar;
  /** The index under which `node` sits, when its parent is a list. */
  readonly index?: number;
}

export function pathAt(root: YNode | null, offset: number): PathStep[] {
  const steps: PathStep[] = [];
  let node: YNode | null = root;
  if (!node || offset < node.start || offset > node.end) return steps;
  steps.push({ node });
  for (;;) {
    let next: PathStep | undefined;
    if (node.kind === 'map') {
      const pair: YPair | undefined = findByOffset(node.pairs, offset);
      if (pair) {
        if (offset >= pair.key.start && offset <= pair.key.end) {
          steps.push({ node: pair.key, key: pair.key });
          return steps;
        }
        if (pair.value && offset >= pair.value.start && offset <= pair.value.end) {
          next = { node: pair.value, key: pair.key };
        }
      }
    } else if (node.kind === 'seq') {
      const index = findIndexByOffset(node.items, offset);
      if (index >= 0) next = { node: node.items[index]!, index };
    }
    if (!next) return steps;
    steps.push(next);
    node = next.node;
  }
}

function findIndexByOffset(items: readonly { start: number; end: number }[], offset: number): number {
  // Items are in source order: binary search keeps lookups cheap on 5,000-stage manifests.
  let lo = 0;
  let hi = items.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const item = items[mid]!;
    if (offset < item.start) hi = mid - 1;
    else if (offset > item.end) lo = mid + 1;
    else return mid;
  }
  return -1;
}

function findByOffset<T extends { start: number; end: number }>(
  items: readonly T[],
  offset: number,
): T | undefined {
  const index = findIndexByOffset(items, offset);
  return index >= 0 ? items[index] : undefined;
}
