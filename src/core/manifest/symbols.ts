// Every place a dataset, stage, pipeline, environment or remote name is written, as a
// definition or a reference: the index behind go to definition, find
// references, rename and document highlights.
import type { Located, Manifest } from './model';
import { metricFile, WORKSPACE } from './semantics';

export type SymbolKind = 'dataset' | 'stage' | 'pipeline' | 'environment' | 'metrics-file' | 'remote';

export interface Occurrence {
  readonly kind: SymbolKind;
  readonly name: string;
  /** Stages are named within a pipeline; this is it. */
  readonly scope?: string;
  readonly start: number;
  readonly end: number;
  readonly definition: boolean;
}

export class SymbolIndex {
  /** Sorted by start offset. */
  readonly occurrences: readonly Occurrence[];

  constructor(manifest: Manifest, text: string) {
    const list: Occurrence[] = [];
    const def = (kind: SymbolKind, name: string, start: number, end: number, scope?: string): void => {
      list.push({ kind, name, start, end, definition: true, ...(scope === undefined ? {} : { scope }) });
    };
    const ref = (kind: SymbolKind, located: Located, scope?: string): void => {
      list.push({
        kind,
        name: located.value,
        start: located.start,
        end: located.end,
        definition: false,
        ...(scope === undefined ? {} : { scope }),
      });
    };
    for (const dataset of manifest.datasets.values())
      def('dataset', dataset.name, dataset.nameStart, dataset.nameEnd);
    for (const pipeline of manifest.pipelines.values()) {
      def('pipeline', pipeline.name, pipeline.nameStart, pipeline.nameEnd);
      for (const stage of pipeline.stages.values()) {
        def('stage', stage.name, stage.nameStart, stage.nameEnd, pipeline.name);
        for (const dataset of stage.datasets) ref('dataset', dataset);
        for (const need of stage.needs) ref('stage', need, pipeline.name);
        for (const metrics of stage.metrics)
          def('metrics-file', metrics.value, metrics.start, metrics.end, pipeline.name);
      }
      for (const check of pipeline.checks) {
        const file = check.metric ? metricFile(text, check.metric) : undefined;
        if (file) ref('metrics-file', file, pipeline.name);
      }
    }
    for (const environment of manifest.environments.values()) {
      def('environment', environment.name, environment.nameStart, environment.nameEnd);
      if (environment.from && environment.from.value !== WORKSPACE) ref('environment', environment.from);
      if (environment.pipeline) ref('pipeline', environment.pipeline);
      for (const gate of environment.gates) {
        const file = gate.kind === 'metric' && gate.metric ? metricFile(text, gate.metric) : undefined;
        if (file) ref('metrics-file', file);
      }
    }
    // Remotes are named on the command line and in .sluice/remotes.yaml, never referred to in the manifest.
    for (const remote of manifest.remotes.values())
      def('remote', remote.name, remote.nameStart, remote.nameEnd);
    list.sort((a, b) => a.start - b.start);
    this.occurrences = list;
  }

  /** The occurrence under the cursor (an offset at either end of a name counts). */
  at(offset: number): Occurrence | undefined {
    let lo = 0;
    let hi = this.occurrences.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const occurrence = this.occurrences[mid]!;
      if (offset < occurrence.start) hi = mid - 1;
      else if (offset > occurrence.end) lo = mid + 1;
      else return occurrence;
    }
    return undefined;
  }

  /** All occurrences of the same symbol (same kind, name and scope). */
  sameSymbol(target: Occurrence): Occurrence[] {
    return this.occurrences.filter((o) => matches(o, target));
  }
}

function matches(o: Occurrence, target: Occurrence): boolean {
  if (o.kind !== target.kind || o.name !== target.name) return false;
  // A metrics file referenced by a gate (no scope) matches the file in any pipeline.
  if (o.kind === 'metrics-file')
    return o.scope === undefined || target.scope === undefined || o.scope === target.scope;
  return o.scope === target.scope;
}
