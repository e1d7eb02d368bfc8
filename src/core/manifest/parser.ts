// Incremental YAML parsing for the manifest.
//
// Parsing a 26,000-line manifest with `yaml` takes about a second, far too slow
// for every keystroke. Manifests are deep block mappings (pipelines → stages →
// stage), so the text is cut at mapping entries into chunks of a few dozen
// lines, each chunk is parsed on its own and cached by its text, and the tree
// is put back together. An edit re-parses only the chunks whose text changed.
// Anything the cut could misread (anchors, aliases, tags, directives, several
// documents, complex keys, tabs) makes the parser fall back to one whole parse.
import { parseDocument } from 'yaml';
import { fromYamlDocument, shifted, type SyntaxProblem, type YMap, type YNode, type YPair } from './yamlTree';

export interface ParsedYaml {
  readonly root: YNode | null;
  readonly problems: readonly SyntaxProblem[];
  /** How many chunks the text was cut into, and how many had to be parsed anew. */
  readonly chunks: number;
  readonly parsedChunks: number;
}

/** A piece of the text parsed on its own; offsets relative to its own start. */
interface ChunkResult {
  readonly root: YNode | null;
  readonly problems: readonly SyntaxProblem[];
  /** The chunk holds something that ties it to other parts of the text (see NEEDS_WHOLE_PARSE). */
  readonly risky: boolean;
}

/** Flow collections nested deeper than this are refused before parsing. */
const MAX_FLOW_DEPTH = 64;

/** Entries bigger than this many lines are cut into their children. */
const SPLIT_LINES = 48;
/** Small sibling entries are grouped into chunks of about this many lines. */
const GROUP_LINES = 32;

// Constructs that tie one part of the text to another, or that the line-based
// cut cannot see: anchors, aliases and tags at the start of a node, directives,
// document markers, complex keys, and tabs used as indentation.
const NEEDS_WHOLE_PARSE =
  /(?:^[ \t]*|:[ \t]+|-[ \t]+|[[{,][ \t]*)[&*!]|^(?:%|---|\.\.\.)|^[ \t]*\?(?:[ \t]|$)|^ *\t/m;
const KEY_LINE = /^(?:[^\s#'"\-?:,[\]{}&*!|>%@`][^:#]*?|"(?:[^"\\]|\\.)*"|'(?:[^']|'')*')[ \t]*:(?:[ \t]|$)/;
const EMPTY_VALUE_KEY_LINE =
  /^(?:[^\s#'"\-?:,[\]{}&*!|>%@`][^:#]*?|"(?:[^"\\]|\\.)*"|'(?:[^']|'')*')[ \t]*:[ \t]*(?:#.*)?$/;

type Segment =
  | { readonly kind: 'leaf'; readonly from: number; readonly to: number }
  | { readonly kind: 'parent'; readonly keyLine: number; readonly to: number; readonly children: Segment[] };

export class IncrementalYamlParser {
  /** Parsed chunks by their exact text, each with the offset its nodes were made for. */
  private cache = new Map<string, { base: number; result: ChunkResult; generation: number }>();
  private generation = 0;

  parse(text: string): ParsedYaml {
    this.generation++;
    const lines = splitLines(text);
    const segments = cutTopLevel(lines);
    const problems: SyntaxProblem[] = [];
    const stats = { chunks: 0, parsedChunks: 0, risky: false };
    let root: YNode | null;
    if (segments === null) {
      root = this.chunk(text, 0, text.length, problems, stats);
    } else {
      const assembled = this.assemble(text, lines, segments, problems, stats);
      if (assembled === 'fallback' || stats.risky) {
        problems.length = 0;
        stats.chunks = 0;
        root = this.chunk(text, 0, text.length, problems, stats);
      } else {
        root = assembled;
      }
    }
    this.evict();
    return { root, problems, chunks: stats.chunks, parsedChunks: stats.parsedChunks };
  }

  private assemble(
    text: string,
    lines: Lines,
    segments: Segment[],
    problems: SyntaxProblem[],
    stats: { chunks: number; parsedChunks: number; risky: boolean },
  ): YMap | null | 'fallback' {
    const pairs: YPair[] = [];
    for (const segment of segments) {
      if (segment.kind === 'leaf') {
        const start = lines.starts[segment.from]!;
        const node = this.chunk(text, start, lines.starts[segment.to]!, problems, stats);
        if (node === null) continue; // only comments and blank lines
        if (node.kind !== 'map') return 'fallback';
        pairs.push(...node.pairs);
        continue;
      }
      const keyStart = lines.starts[segment.keyLine]!;
      const keyNode = this.chunk(text, keyStart, lines.starts[segment.keyLine + 1]!, problems, stats);
      if (keyNode?.kind !== 'map' || keyNode.pairs.length !== 1 || keyNode.pairs[0]!.value !== null) {
        return 'fallback';
      }
      const value = this.assemble(text, lines, segment.children, problems, stats);
      if (value === 'fallback') return value;
      const key = keyNode.pairs[0]!.key;
      pairs.push({ key, value, start: key.start, end: value ? value.end : key.end });
    }
    if (pairs.length === 0) return null;
    return { kind: 'map', start: pairs[0]!.start, end: pairs[pairs.length - 1]!.end, pairs };
  }

  /** Parses text[start, end) on its own, or reuses the result for the same text. */
  private chunk(
    text: string,
    start: number,
    end: number,
    problems: SyntaxProblem[],
    stats: { chunks: number; parsedChunks: number; risky: boolean },
  ): YNode | null {
    stats.chunks++;
    const source = text.slice(start, end);
    let entry = this.cache.get(source);
    if (!entry) {
      stats.parsedChunks++;
      entry = { base: 0, result: parseChunk(source), generation: this.generation };
      this.cache.set(source, entry);
    }
    entry.generation = this.generation;
    const delta = start - entry.base;
    if (delta !== 0) {
      // Keep the shifted copy: the next parse usually finds this chunk at the same place.
      entry.result = {
        root: entry.result.root ? shifted(entry.result.root, delta) : null,
        problems: entry.result.problems.map((p) => ({ ...p, start: p.start + delta, end: p.end + delta })),
        risky: entry.result.risky,
      };
      entry.base = start;
    }
    problems.push(...entry.result.problems);
    if (entry.result.risky) stats.risky = true;
    return entry.result.root;
  }

  private evict(): void {
    // Keep the chunks of this parse and the one before, so that undo is cheap too.
    for (const [source, entry] of this.cache) {
      if (entry.generation < this.generation - 1) this.cache.delete(source);
    }
  }
}

/**
 * Where flow brackets (`[`, `{`) first nest deeper than `limit`, or -1. The
 * `yaml` parser recurses per level and runs out of stack at a depth that
 * depends on the process; refusing earlier gives every face the same answer.
 * Brackets inside quotes or comments count too: that only makes the check stricter.
 */
function tooDeepFlow(source: string, limit: number): number {
  let depth = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > limit) return i;
    } else if ((c === 93 /* ] */ || c === 125) /* } */ && depth > 0) {
      depth--;
    }
  }
  return -1;
}

function parseChunk(source: string): ChunkResult {
  const problems: SyntaxProblem[] = [];
  const deep = tooDeepFlow(source, MAX_FLOW_DEPTH);
  if (deep !== -1) {
    problems.push({
      code: 'yaml-syntax',
      message: `Brackets nest more than ${MAX_FLOW_DEPTH} levels deep here; a manifest never needs that.`,
      start: deep,
      end: deep + 1,
    });
    return { root: null, problems, risky: false };
  }
  let root: YNode | null;
  try {
    const doc = parseDocument(source, { uniqueKeys: false, prettyErrors: false, version: '1.2' });
    root = fromYamlDocument(doc, 0, problems);
  } catch (error) {
    // The `yaml` package recurses per nesting level; absurd nesting exhausts the stack.
    problems.push({
      code: 'yaml-syntax',
      message: `This YAML cannot be read: ${error instanceof Error ? error.message : String(error)}.`,
      start: 0,
      end: Math.min(1, source.length),
    });
    root = null;
  }
  return { root, problems, risky: NEEDS_WHOLE_PARSE.test(source) };
}

interface Lines {
  /** Offset where each line starts; one extra entry holds the text length. */
  readonly starts: number[];
  readonly text: string;
}

function splitLines(text: string): Lines {
  const starts = [0];
  let at = text.indexOf('\n');
  while (at !== -1) {
    starts.push(at + 1);
    at = text.indexOf('\n', at + 1);
  }
  if (starts[starts.length - 1] !== text.length) starts.push(text.length);
  return { starts, text };
}

/** The indentation of line `i`, or -1 for a blank or comment-only line. */
function indentOf(lines: Lines, i: number): number {
  const start = lines.starts[i]!;
  const end = lines.starts[i + 1]!;
  let at = start;
  while (at < end && lines.text.charCodeAt(at) === 32) at++;
  if (at >= end) return -1;
  const c = lines.text.charCodeAt(at);
  if (c === 10 || c === 13 || c === 35 /* # */) return -1;
  return at - start;
}

function lineText(lines: Lines, i: number, indent: number): string {
  return lines.text.slice(lines.starts[i]! + indent, lines.starts[i + 1]).replace(/\r?\n$/, '');
}

function cutTopLevel(lines: Lines): Segment[] | null {
  const count = lines.starts.length - 1;
  return cutBlock(lines, 0, count, 0, 0);
}

/**
 * Manifests are cut at most this many levels down (top level, pipelines,
 * a pipeline, its stages): deeper cutting gains nothing, and bounding it
 * keeps cutting linear even in absurdly deep input.
 */
const MAX_CUT_DEPTH = 4;

/**
 * Cuts lines [from, to), the entries of a block mapping indented by `indent`,
 * into segments. Returns null when the lines are not plainly such a mapping.
 */
function cutBlock(lines: Lines, from: number, to: number, indent: number, depth: number): Segment[] | null {
  const entryStarts: number[] = [];
  for (let i = from; i < to; i++) {
    const lineIndent = indentOf(lines, i);
    if (lineIndent === -1 || lineIndent > indent) continue;
    if (lineIndent < indent) return null;
    const content = lineText(lines, i, indent);
    // A list written at the same indentation as its key belongs to that key.
    if (content.startsWith('- ') || content === '-') {
      if (entryStarts.length === 0) return null;
      continue;
    }
    if (!KEY_LINE.test(content)) return null;
    entryStarts.push(i);
  }
  if (entryStarts.length === 0) return null;
  const segments: Segment[] = [];
  let groupFrom = from;
  for (let e = 0; e < entryStarts.length; e++) {
    const entryFrom = entryStarts[e]!;
    const entryTo = entryStarts[e + 1] ?? to;
    const children =
      entryTo - entryFrom > SPLIT_LINES && depth < MAX_CUT_DEPTH
        ? cutChildren(lines, entryFrom, entryTo, indent, depth + 1)
        : null;
    if (children) {
      if (groupFrom < entryFrom) segments.push({ kind: 'leaf', from: groupFrom, to: entryFrom });
      segments.push({ kind: 'parent', keyLine: entryFrom, to: entryTo, children });
      groupFrom = entryTo;
    } else if (entryTo - groupFrom >= GROUP_LINES || e === entryStarts.length - 1) {
      segments.push({ kind: 'leaf', from: groupFrom, to: entryTo });
      groupFrom = entryTo;
    }
  }
  if (groupFrom < to) {
    // Only trailing comments or blank lines remain: they join the last leaf.
    const last = segments[segments.length - 1];
    if (last?.kind === 'leaf') segments[segments.length - 1] = { kind: 'leaf', from: last.from, to };
    else segments.push({ kind: 'leaf', from: groupFrom, to });
  }
  return segments;
}

/** Cuts a large `key:` entry whose value is a block mapping into its children. */
function cutChildren(
  lines: Lines,
  keyLine: number,
  to: number,
  indent: number,
  depth: number,
): Segment[] | null {
  if (!EMPTY_VALUE_KEY_LINE.test(lineText(lines, keyLine, indent))) return null;
  let childIndent = -1;
  for (let i = keyLine + 1; i < to && childIndent === -1; i++) childIndent = indentOf(lines, i);
  if (childIndent <= indent) return null;
  return cutBlock(lines, keyLine + 1, to, childIndent, depth);
}
