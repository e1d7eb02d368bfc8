// Limits on what Sluice agrees to read as a manifest. Without them a 50 MB
// manifest took 100 s and 2.2 GB to validate, and the language server, busy
// with it, published nothing; absurd nesting makes the YAML parser recurse
// per level. Beyond a limit the manifest is refused at once, with one
// diagnostic naming the limit and what was measured, before any parsing.
//
// The limits are far above any real manifest: the largest one benchmarked
// (5,000 stages, BENCHMARKS.md) is 25,651 lines, 0.8 MB, nests 6 levels as
// the scanner below counts them and has about 72,000 nodes; analyzing it
// takes about a second.

/** Bytes (UTF-8): five times the 5,000-stage manifest, which already takes a second to analyze. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/**
 * Nesting levels: block indentation, `- ` items and flow brackets together.
 * A manifest nests 7 (top → pipelines → pipeline → stages → stage → outs →
 * item); the YAML parser recurses per level, so depth is what can exhaust
 * its stack.
 */
export const MAX_MANIFEST_DEPTH = 64;

/**
 * Nodes (keys, values, list items), counted before parsing as the scanner
 * below sees them. The 5,000-stage manifest has about 72,000; each node costs
 * the parser and the analysis memory and time, and a text within the byte
 * limit can hold two million (`[a,a,a,…]`).
 */
export const MAX_MANIFEST_NODES = 200_000;

export interface LimitProblem {
  readonly limit: 'bytes' | 'depth' | 'nodes';
  readonly measured: number;
  readonly maximum: number;
  /** Where the deepest nesting first goes past the limit (depth only). */
  readonly offset: number;
  readonly message: string;
}

/** The first limit a manifest text goes past, or undefined. Linear in the text, with no parsing. */
export function manifestLimitProblem(text: string, byteLength?: number): LimitProblem | undefined {
  const bytes = byteLength ?? utf8Length(text);
  if (bytes > MAX_MANIFEST_BYTES) {
    return {
      limit: 'bytes',
      measured: bytes,
      maximum: MAX_MANIFEST_BYTES,
      offset: 0,
      message: `The manifest is ${megabytes(bytes)} (${grouped(bytes)} bytes); Sluice reads manifests of at most ${megabytes(MAX_MANIFEST_BYTES)}, far more than any real one needs. It was not analyzed: split the data it holds out of it (datasets and params files hold data; the manifest only names them).`,
    };
  }
  const { depth, depthOffset, nodes } = measureManifest(text);
  if (depth > MAX_MANIFEST_DEPTH) {
    return {
      limit: 'depth',
      measured: depth,
      maximum: MAX_MANIFEST_DEPTH,
      offset: depthOffset,
      message: `The manifest nests ${grouped(depth)} levels deep; Sluice reads at most ${MAX_MANIFEST_DEPTH} levels (a manifest needs about 7). It was not analyzed: the nesting goes past the limit on line ${lineOf(text, depthOffset)}.`,
    };
  }
  if (nodes > MAX_MANIFEST_NODES) {
    return {
      limit: 'nodes',
      measured: nodes,
      maximum: MAX_MANIFEST_NODES,
      offset: 0,
      message: `The manifest has about ${grouped(nodes)} YAML nodes (keys, values and list items); Sluice reads at most ${grouped(MAX_MANIFEST_NODES)}, nearly three times a 5,000-stage manifest. It was not analyzed: split it, or move long lists of values into a params or data file.`,
    };
  }
  return undefined;
}

function utf8Length(text: string): number {
  // Every UTF-16 unit is 1 to 3 bytes: only a text near the limit needs counting. Past the
  // limit in units alone, the units are the (lower-bound) measure: counting bytes would
  // first copy an editor's text, a rope of edits, into one string (0.4 s for 50 MB).
  return text.length * 3 <= MAX_MANIFEST_BYTES || text.length > MAX_MANIFEST_BYTES
    ? text.length
    : Buffer.byteLength(text, 'utf8');
}

/**
 * One pass over the text. The depth of a line is the number of block levels
 * open around it (an indentation stack), plus its leading `- ` items, plus
 * open flow brackets. Brackets in quotes and comments count too, and the
 * node count is an estimate: both only err towards refusing earlier, and the
 * limits are far from anything real.
 */
export function measureManifest(text: string): { depth: number; depthOffset: number; nodes: number } {
  const indents: number[] = [];
  let flow = 0;
  let depth = 0;
  let depthOffset = 0;
  let nodes = 0;
  const note = (level: number, at: number): void => {
    if (level > depth) {
      if (depth <= MAX_MANIFEST_DEPTH && level > MAX_MANIFEST_DEPTH) depthOffset = at;
      depth = level;
    }
  };
  const length = text.length;
  let i = 0;
  while (i < length) {
    // Indentation.
    const lineStart = i;
    while (i < length && text.charCodeAt(i) === 32) i++;
    const indent = i - lineStart;
    let c = text.charCodeAt(i);
    const blank = i >= length || c === 10 || c === 13 || c === 35; /* # */
    if (!blank) {
      nodes++;
      if (flow === 0) {
        while (indents.length > 0 && indents[indents.length - 1]! >= indent) indents.pop();
        indents.push(indent);
      }
      // Leading `- ` items: each opens a level.
      let dashes = 0;
      while (c === 45 /* - */ && (i + 1 >= length || text.charCodeAt(i + 1) <= 32)) {
        dashes++;
        nodes++;
        i++;
        while (i < length && text.charCodeAt(i) === 32) i++;
        c = text.charCodeAt(i);
      }
      note(indents.length + dashes + flow, i);
      const base = indents.length + dashes;
      // The rest of the line: flow brackets, separators, `key: value`.
      for (; i < length; i++) {
        c = text.charCodeAt(i);
        if (c === 10 || c === 13) break;
        if (c === 91 /* [ */ || c === 123 /* { */) {
          flow++;
          nodes++;
          note(base + flow, i);
        } else if ((c === 93 /* ] */ || c === 125) /* } */ && flow > 0) {
          flow--;
        } else if (c === 44 /* , */) {
          nodes++;
        } else if (c === 58 /* : */ && (i + 1 >= length || text.charCodeAt(i + 1) <= 32)) {
          nodes++;
        }
      }
    }
    while (i < length && text.charCodeAt(i) !== 10) i++;
    i++;
  }
  return { depth, depthOffset, nodes };
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let at = text.indexOf('\n'); at !== -1 && at < offset; at = text.indexOf('\n', at + 1)) line++;
  return line;
}

function megabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

function grouped(n: number): string {
  return n.toLocaleString('en-US');
}
