// Reading typed values out of the YAML tree, tolerantly: a value of the wrong
// type is left out (structure validation reports it). A `Resolve` hook lets
// the stage reader replace `${…}` in each string as it is read.
import type { Declared, Located, LocatedFlag, LocatedValue, PlotDecl, ResourcesDecl } from './model';
import { getPair, type YMap, type YNode, type YPair, type YScalar } from './yamlTree';

/** Turns a string scalar into the value the model keeps (templating resolved); identity by default. */
export type Resolve = (scalar: YScalar & { readonly value: string }) => Located;

const asWritten: Resolve = (scalar) => ({ value: scalar.value, start: scalar.start, end: scalar.end });

export function asMap(node: YNode | null | undefined): YMap | undefined {
  return node?.kind === 'map' ? node : undefined;
}

export function text(map: YMap | undefined, key: string, resolve: Resolve = asWritten): Located | undefined {
  const value = map ? getPair(map, key)?.value : undefined;
  return value ? stringOf(value, resolve) : undefined;
}

/** A string scalar as the model keeps it, or undefined for anything else. */
export function stringOf(node: YNode | null, resolve: Resolve = asWritten): Located | undefined {
  if (node?.kind !== 'scalar' || typeof node.value !== 'string') return undefined;
  return resolve(node as YScalar & { readonly value: string });
}

export function num(map: YMap | undefined, key: string): number | undefined {
  const value = map ? getPair(map, key)?.value : undefined;
  return value?.kind === 'scalar' && typeof value.value === 'number' ? value.value : undefined;
}

export function flag(map: YMap | undefined, key: string): LocatedFlag | undefined {
  const value = map ? getPair(map, key)?.value : undefined;
  if (value?.kind !== 'scalar' || typeof value.value !== 'boolean') return undefined;
  return { value: value.value, start: value.start, end: value.end };
}

export function list(map: YMap | undefined, key: string, resolve: Resolve = asWritten): Located[] {
  const value = map ? getPair(map, key)?.value : undefined;
  if (value?.kind !== 'seq') return [];
  const result: Located[] = [];
  for (const item of value.items) {
    const located = stringOf(item, resolve);
    if (located) result.push(located);
  }
  return result;
}

/** A stage's `plots:`: plain paths and mappings; other items are left to structure validation. */
export function plotList(
  stage: YMap | undefined,
  resolve: Resolve = asWritten,
  /** Turns a resolved path into the workspace-relative one (joined to the stage's `wdir`). */
  place: (path: Located) => Located = (path) => path,
): PlotDecl[] {
  const value = stage ? getPair(stage, 'plots')?.value : undefined;
  if (value?.kind !== 'seq') return [];
  const plots: PlotDecl[] = [];
  for (const item of value.items) {
    const common = { start: item.start, end: item.end };
    if (item.kind === 'scalar' && typeof item.value === 'string') {
      plots.push({
        path: place(stringOf(item, resolve)!),
        template: undefined,
        x: undefined,
        y: undefined,
        title: undefined,
        xLabel: undefined,
        yLabel: undefined,
        actual: undefined,
        predicted: undefined,
        keys: [],
        ...common,
      });
    } else if (item.kind === 'map') {
      const y = getPair(item, 'y')?.value;
      const path = text(item, 'path', resolve);
      plots.push({
        path: path && place(path),
        template: text(item, 'template', resolve),
        x: text(item, 'x', resolve),
        y:
          y?.kind === 'seq'
            ? list(item, 'y', resolve)
            : y === undefined
              ? undefined
              : [text(item, 'y', resolve)].filter((f) => f !== undefined),
        title: text(item, 'title', resolve)?.value,
        xLabel: text(item, 'x_label', resolve)?.value,
        yLabel: text(item, 'y_label', resolve)?.value,
        actual: text(item, 'actual', resolve),
        predicted: text(item, 'predicted', resolve),
        keys: item.pairs.map((pair) => ({
          value: String(pair.key.value),
          start: pair.key.start,
          end: pair.key.end,
        })),
        ...common,
      });
    }
  }
  return plots;
}

export function declared(pair: YPair, body: YMap | undefined): Declared {
  return {
    name: String(pair.key.value),
    nameStart: pair.key.start,
    nameEnd: pair.key.end,
    start: pair.start,
    end: pair.end,
    description: text(body, 'description')?.value,
  };
}

/** Entries of a name map, first occurrence of each name only (as YAML readers keep). */
export function entries(map: YMap | undefined, key: string): YPair[] {
  const section = map ? asMap(getPair(map, key)?.value) : undefined;
  if (!section) return [];
  const seen = new Set<string>();
  return section.pairs.filter((pair) => {
    const name = String(pair.key.value);
    if (seen.has(name)) return false;
    seen.add(name);
    return true;
  });
}

/** A `resources:` mapping (a stage's or a pipeline's default), or undefined when not written. */
export function readResources(
  body: YMap | undefined,
  resolve: Resolve = asWritten,
): ResourcesDecl | undefined {
  const map = asMap(body ? getPair(body, 'resources')?.value : undefined);
  if (!map) return undefined;
  const textOrNumber = (key: string): LocatedValue | undefined => {
    const node = getPair(map, key)?.value;
    if (node?.kind !== 'scalar') return undefined;
    if (typeof node.value === 'number') return { value: node.value, start: node.start, end: node.end };
    return stringOf(node, resolve);
  };
  return {
    cpus: num(map, 'cpus'),
    memory: textOrNumber('memory'),
    gpus: num(map, 'gpus'),
    time: textOrNumber('time'),
    partition: text(map, 'partition', resolve),
    sbatch: list(map, 'sbatch', resolve),
  };
}

/**
 * Where `value.slice(start, end)` is written in the manifest: found in the
 * scalar's source when it is written as is (plain or simply quoted), else
 * the whole scalar.
 */
export function placeInSource(
  text: string | undefined,
  scalar: YScalar,
  start: number,
  end: number,
): { start: number; end: number } {
  const source = text?.slice(scalar.start, scalar.end);
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
