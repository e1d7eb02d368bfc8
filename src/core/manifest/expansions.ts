// What a document's stage templates generated, kept from one analysis to the
// next: an edit touches one template, and the others (each generating tens
// of stages) need not be generated again; those after the edit only move.
import type { ManifestDiagnostic } from './diagnostics';
import type { Located, PlotDecl, StageDecl, TemplateDecl } from './model';
import type { TemplateScope } from './templates';

/** One template's expansion: what the next analysis reuses while the template and the scope are the same. */
export interface Expansion {
  /** Where the template starts: an expansion moved by an edit above it is shifted, not made again. */
  readonly start: number;
  readonly stages: readonly StageDecl[];
  readonly template: TemplateDecl;
  readonly scopes: readonly { readonly stage: string; readonly scope: TemplateScope }[];
  /** The problems found while generating, all inside the template. */
  readonly diagnostics: readonly ManifestDiagnostic[];
  /** The manifest's scope when it was made, if built by then. */
  readonly scope: TemplateScope | undefined;
}

/**
 * What the templates of one document generated in its last analysis, for the
 * next: an edit touches one template, and the others (each generating tens of
 * stages) need not be generated again; those after the edit only move. An
 * expansion is keyed by its pipeline and text, and holds while the manifest's
 * scope is built from the same entries and files, which keeps the very same
 * scope object.
 */
export class TemplateExpansions {
  /** The last manifest scope, and what it was built from. */
  scope: { readonly key: string; readonly scope: TemplateScope } | undefined;
  /** By `PIPELINE \0 TEXT`; only those the last analysis used are kept. */
  entries = new Map<string, Expansion>();
}

/** An expansion as it is once an edit before its template moved it by `delta` characters. */
export function moved(expansion: Expansion, delta: number): Expansion {
  if (delta === 0) return expansion;
  const at = (span: { start: number; end: number }) => ({ start: span.start + delta, end: span.end + delta });
  return {
    start: expansion.start + delta,
    stages: expansion.stages.map((stage) => movedStage(stage, delta)),
    template: {
      ...expansion.template,
      ...at(expansion.template),
      nameStart: expansion.template.nameStart + delta,
      nameEnd: expansion.template.nameEnd + delta,
    },
    // Scopes hold values, no places.
    scopes: expansion.scopes,
    diagnostics: expansion.diagnostics.map((diagnostic) => ({
      ...diagnostic,
      ...at(diagnostic),
      ...(diagnostic.fixes
        ? {
            fixes: diagnostic.fixes.map((fix) => ({
              ...fix,
              edits: fix.edits.map((edit) => ({ ...edit, ...at(edit) })),
            })),
          }
        : {}),
    })),
    scope: expansion.scope,
  };
}

/**
 * A stage moved by `delta` characters, field by field: thousands are moved on
 * a keystroke before them, and a generic walk over the objects cost as much
 * as generating them again.
 */
function movedStage(stage: StageDecl, delta: number): StageDecl {
  const at = (located: Located): Located => ({
    value: located.value,
    start: located.start + delta,
    end: located.end + delta,
  });
  const maybe = (located: Located | undefined): Located | undefined => located && at(located);
  // An output is the same object in `outs` or `metrics` and in `uncached` or `persistent`: moved once.
  const outputs = new Map<Located, Located>();
  const output =
    stage.uncached.length + stage.persistent.length === 0
      ? at
      : (located: Located): Located => {
          let moved = outputs.get(located);
          if (moved === undefined) outputs.set(located, (moved = at(located)));
          return moved;
        };
  return {
    name: stage.name,
    nameStart: stage.nameStart + delta,
    nameEnd: stage.nameEnd + delta,
    start: stage.start + delta,
    end: stage.end + delta,
    description: stage.description,
    pipeline: stage.pipeline,
    run: maybe(stage.run),
    datasets: stage.datasets.map(at),
    deps: stage.deps.map(at),
    needs: stage.needs.map(at),
    params: stage.params.map(at),
    paramFiles: stage.paramFiles.map((file) => ({ file: at(file.file), keys: file.keys?.map(at) })),
    outs: stage.outs.map(output),
    metrics: stage.metrics.map(output),
    plots: stage.plots.map((plot): PlotDecl => ({
      path: maybe(plot.path),
      template: maybe(plot.template),
      x: maybe(plot.x),
      y: plot.y?.map(at),
      title: plot.title,
      xLabel: plot.xLabel,
      yLabel: plot.yLabel,
      actual: maybe(plot.actual),
      predicted: maybe(plot.predicted),
      keys: plot.keys.map(at),
      start: plot.start + delta,
      end: plot.end + delta,
    })),
    uncached: stage.uncached.map(output),
    persistent: stage.persistent.map(output),
    wdir: maybe(stage.wdir),
    frozen: stage.frozen,
    alwaysChanged: stage.alwaysChanged,
    template: stage.template,
    executor: maybe(stage.executor),
    resources: stage.resources && {
      cpus: stage.resources.cpus,
      memory: stage.resources.memory && {
        value: stage.resources.memory.value,
        start: stage.resources.memory.start + delta,
        end: stage.resources.memory.end + delta,
      },
      gpus: stage.resources.gpus,
      time: stage.resources.time && {
        value: stage.resources.time.value,
        start: stage.resources.time.start + delta,
        end: stage.resources.time.end + delta,
      },
      partition: maybe(stage.resources.partition),
      sbatch: stage.resources.sbatch.map(at),
    },
  };
}
