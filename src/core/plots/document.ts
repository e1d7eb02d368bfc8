// What `collectPlots` returns and every face draws: the HTML page of `sluice
// plots show` and the editor's Plots view read the same object. Plain JSON data
// only (no Maps, no Buffers, no classes), so it crosses a postMessage and
// lands in a page as it is. This file imports nothing: the page script
// (src/extension/plots/page.ts) is bundled for the browser with these types.

/** The version of this shape; a reader that finds another one says so instead of drawing wrong. */
export const PLOTS_DOCUMENT_FORMAT = 1;

export interface PlotsDocument {
  readonly format: typeof PLOTS_DOCUMENT_FORMAT;
  /** The manifest's `name`, for the page's heading; null when it has none. */
  readonly name: string | null;
  /** The labels of the sources, in the order they are overlaid (the first is drawn first). */
  readonly sources: readonly string[];
  /** Every plot the manifest declares, in manifest order. */
  readonly plots: readonly PlotView[];
}

export type PlotKind = 'line' | 'scatter' | 'bar' | 'confusion' | 'image';

export interface PlotView {
  /** Unique in the document: the workspace-relative path (with `#2`, `#3`… when two stages plot one file). */
  readonly id: string;
  /** The file, relative to the workspace root. */
  readonly path: string;
  /** `pipeline.stage` that declares it. */
  readonly stage: string;
  readonly title: string;
  readonly template: PlotKind;
  readonly fields: PlotFields;
  readonly xLabel: string;
  readonly yLabel: string;
  /** One entry per source, in the document's source order. */
  readonly sources: readonly PlotSourceData[];
}

/** The columns drawn: null or empty where the template uses none. */
export interface PlotFields {
  /** The horizontal axis; null: the row number (1, 2, …). */
  readonly x: string | null;
  readonly y: readonly string[];
  readonly actual: string | null;
  readonly predicted: string | null;
}

/** One cell of a data file: a number, text, or null for an empty cell. */
export type PlotCell = number | string | null;

/** A row, with only the fields the plot draws. */
export type PlotRow = Readonly<Record<string, PlotCell>>;

export type PlotSourceData =
  | {
      readonly label: string;
      readonly kind: 'rows';
      readonly rows: readonly PlotRow[];
    }
  | {
      readonly label: string;
      readonly kind: 'matrix';
      /** The classes, in the order of rows (actual) and columns (predicted). */
      readonly labels: readonly string[];
      /** counts[actual][predicted]: how many rows have that pair. */
      readonly counts: readonly (readonly number[])[];
      /** How many rows were counted. */
      readonly total: number;
    }
  | {
      readonly label: string;
      readonly kind: 'image';
      readonly mime: string;
      /** `data:MIME;base64,…`: the page needs nothing but itself. */
      readonly dataUri: string;
      readonly bytes: number;
    }
  | {
      readonly label: string;
      readonly kind: 'error';
      readonly error: PlotError;
    };

/** Why one source of one plot could not be drawn: the shape of every Sluice error in `--json`. */
export interface PlotError {
  /** `plot-missing`, `plot-unreadable`, `plot-empty`, `plot-unknown-field`, `plot-not-numeric`, `plot-too-large`, … */
  readonly code: string;
  /** One line naming the file (and the line in it) and what is wrong. */
  readonly message: string;
  readonly hint: string | null;
  /** `file` always; `line`, `field`, `fields`, `value` when they apply. */
  readonly data: Readonly<Record<string, unknown>>;
}

/** To the page (host → webview): draw this document, replacing what is drawn. */
export interface ShowPlotsMessage {
  readonly type: 'plots';
  readonly document: PlotsDocument;
}

/** From the page (webview → host), once it listens: send the document now. */
export interface PlotsPageReadyMessage {
  readonly type: 'ready';
}
