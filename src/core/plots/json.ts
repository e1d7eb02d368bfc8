// What `sluice plots show --json` prints (src/cli/schemas/plots.schema.json):
// the page written and, per plot and source, counts instead of the data
// (how many rows, how many bytes of image) or the error in its place.
import type { ErrorJson } from '../errors';
import type { PlotFields, PlotKind, PlotsDocument } from './document';

export type PlotSourceJson =
  | { readonly label: string; readonly kind: 'rows'; readonly rows: number }
  | { readonly label: string; readonly kind: 'matrix'; readonly rows: number; readonly classes: number }
  | { readonly label: string; readonly kind: 'image'; readonly mime: string; readonly bytes: number }
  | { readonly label: string; readonly kind: 'error'; readonly error: ErrorJson };

export interface PlotJson {
  readonly id: string;
  readonly path: string;
  readonly stage: string;
  readonly title: string;
  readonly template: PlotKind;
  readonly fields: PlotFields;
  readonly sources: readonly PlotSourceJson[];
}

export interface PlotsShowJson {
  /** The HTML file written, as given to --out; null when nothing was written (a plot could not be drawn). */
  readonly out: string | null;
  /** The labels of the sources overlaid, in order. */
  readonly sources: readonly string[];
  readonly plots: readonly PlotJson[];
  /** Why nothing was written: the first source of a plot that could not be drawn. */
  readonly error?: ErrorJson;
}

export function plotsShowJson(document: PlotsDocument, out: string | null, error?: ErrorJson): PlotsShowJson {
  return {
    out,
    sources: document.sources,
    plots: document.plots.map((plot) => ({
      id: plot.id,
      path: plot.path,
      stage: plot.stage,
      title: plot.title,
      template: plot.template,
      fields: plot.fields,
      sources: plot.sources.map((source): PlotSourceJson => {
        switch (source.kind) {
          case 'rows':
            return { label: source.label, kind: 'rows', rows: source.rows.length };
          case 'matrix':
            return { label: source.label, kind: 'matrix', rows: source.total, classes: source.labels.length };
          case 'image':
            return { label: source.label, kind: 'image', mime: source.mime, bytes: source.bytes };
          case 'error':
            return { label: source.label, kind: 'error', error: source.error };
        }
      }),
    })),
    ...(error === undefined ? {} : { error }),
  };
}
