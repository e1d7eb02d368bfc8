// The DAG of a pipeline's stages: explicit `needs`, plus an edge wherever a
// stage's dep lies inside (or contains) another stage's output.
import { isWithin, lexicalEscape, normalizeRelative } from '../paths';
import type { Located, PipelineDecl } from './model';

export interface StageEdge {
  /** The stage that depends… */
  readonly from: string;
  /** …on this one. */
  readonly to: string;
  readonly kind: 'needs' | 'dep';
  /** The `needs` item or the dep that makes the edge. */
  readonly at: Located;
}

export interface StageGraph {
  /** Edges out of each stage (what it depends on), in manifest order. */
  readonly dependsOn: ReadonlyMap<string, readonly StageEdge[]>;
  /** Each circle found, as the edges that close it. */
  readonly cycles: readonly (readonly StageEdge[])[];
}

export function dependencyGraph(pipeline: PipelineDecl): StageGraph {
  // Index outputs by path and by every folder above them, so matching deps costs
  // a lookup per path component rather than a scan of every output.
  const writers = new Map<string, string>();
  const writersBelow = new Map<string, Set<string>>();
  for (const stage of pipeline.stages.values()) {
    for (const o of [...stage.outs, ...stage.metrics]) {
      if (lexicalEscape(o.value)) continue;
      const path = normalizeRelative(o.value);
      if (!writers.has(path)) writers.set(path, stage.name);
      let at = path.lastIndexOf('/');
      while (at > 0) {
        const folder = path.slice(0, at);
        let set = writersBelow.get(folder);
        if (!set) writersBelow.set(folder, (set = new Set()));
        set.add(stage.name);
        at = path.lastIndexOf('/', at - 1);
      }
    }
  }
  const dependsOn = new Map<string, StageEdge[]>();
  for (const stage of pipeline.stages.values()) {
    const edges: StageEdge[] = [];
    const seen = new Set<string>();
    const add = (to: string, kind: StageEdge['kind'], at: Located): void => {
      if (seen.has(to) || !pipeline.stages.has(to)) return;
      seen.add(to);
      edges.push({ from: stage.name, to, kind, at });
    };
    for (const need of stage.needs) {
      // A template's name stands for every stage it generates.
      const instances = pipeline.templates.get(need.value)?.instances;
      if (instances) for (const instance of instances) add(instance, 'needs', need);
      else add(need.value, 'needs', need);
    }
    for (const dep of stage.deps) {
      if (lexicalEscape(dep.value)) continue;
      const path = normalizeRelative(dep.value);
      // The dep is an output, or lies inside one…
      for (let candidate = path; ;) {
        const writer = writers.get(candidate);
        if (writer !== undefined && writer !== stage.name && isWithin(path, candidate))
          add(writer, 'dep', dep);
        const slash = candidate.lastIndexOf('/');
        if (slash <= 0) break;
        candidate = candidate.slice(0, slash);
      }
      // …or is a folder holding outputs.
      for (const writer of writersBelow.get(path) ?? []) if (writer !== stage.name) add(writer, 'dep', dep);
    }
    dependsOn.set(stage.name, edges);
  }
  return { dependsOn, cycles: findCycles(dependsOn) };
}

/** Circles in the graph, each reported once, found by an iterative depth-first search. */
function findCycles(dependsOn: ReadonlyMap<string, readonly StageEdge[]>): StageEdge[][] {
  const state = new Map<string, 'active' | 'done'>();
  const cycles: StageEdge[][] = [];
  for (const root of dependsOn.keys()) {
    if (state.has(root)) continue;
    const stack: { name: string; next: number; via?: StageEdge }[] = [{ name: root, next: 0 }];
    state.set(root, 'active');
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const edges = dependsOn.get(top.name) ?? [];
      if (top.next >= edges.length) {
        state.set(top.name, 'done');
        stack.pop();
        continue;
      }
      const edge = edges[top.next++]!;
      const targetState = state.get(edge.to);
      if (targetState === 'active') {
        // The stack from the target to here, plus this edge, closes a circle.
        const from = stack.findIndex((frame) => frame.name === edge.to);
        const cycle = stack.slice(from + 1).map((frame) => frame.via!);
        cycle.push(edge);
        if (cycles.length < 50) cycles.push(cycle);
      } else if (targetState === undefined) {
        state.set(edge.to, 'active');
        stack.push({ name: edge.to, next: 0, via: edge });
      }
    }
  }
  return cycles;
}
