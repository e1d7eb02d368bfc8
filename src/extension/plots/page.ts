/// <reference lib="dom" />
// The plots page, bundled by esbuild into dist/plots.js (an IIFE for the
// browser, Chart.js inside). It draws a PlotsDocument (src/core/plots/document.ts)
// into #sluice-plots: one figure per plot, every source overlaid on one chart
// (a panel per source for confusion matrices and images). The document comes
// as `window.__SLUICE_PLOTS__` (the HTML file `sluice plots show` writes) or
// as a `{ type: 'plots', document }` message (the editor's Plots webview,
// which this page tells it is listening with `{ type: 'ready' }`).
// Colours are read from the page's CSS variables, which follow the VS Code theme.
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  ScatterController,
  Tooltip,
  type ChartArea,
  type ChartConfiguration,
  type Plugin,
  type ScaleOptionsByType,
} from 'chart.js';
import { MatrixController, MatrixElement, type MatrixDataPoint } from 'chartjs-chart-matrix';
import {
  PLOTS_DOCUMENT_FORMAT,
  type PlotCell,
  type PlotSourceData,
  type PlotsDocument,
  type PlotsPageReadyMessage,
  type PlotView,
  type ShowPlotsMessage,
} from '../../core/plots/document';

Chart.register(
  LineController,
  ScatterController,
  BarController,
  MatrixController,
  LineElement,
  PointElement,
  BarElement,
  MatrixElement,
  LinearScale,
  CategoryScale,
  Legend,
  Tooltip,
);

declare global {
  interface Window {
    __SLUICE_PLOTS__?: unknown;
  }
}
declare const acquireVsCodeApi: (() => { postMessage(message: PlotsPageReadyMessage): void }) | undefined;

/** Tableau 10: distinct on light and dark backgrounds alike. */
const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
];
/** Line styles by source, so overlaid revisions differ in more than colour. */
const DASHES: readonly number[][] = [[], [6, 4], [2, 3]];

interface Theme {
  readonly foreground: string;
  readonly muted: string;
  readonly grid: string;
  readonly accent: string;
  readonly font: string;
}

function readTheme(): Theme {
  const style = getComputedStyle(document.documentElement);
  const value = (name: string, fallback: string): string => style.getPropertyValue(name).trim() || fallback;
  return {
    foreground: value('--plots-foreground', '#24292f'),
    muted: value('--plots-muted', '#57606a'),
    grid: value('--plots-grid', 'rgba(127, 127, 127, 0.2)'),
    accent: value('--plots-accent', '#1f77b4'),
    font: value('--plots-font', 'sans-serif'),
  };
}

/** What a drawn chart must do when the page draws again. */
interface Drawn {
  destroy(): void;
}

let charts: Drawn[] = [];

function element<K extends keyof HTMLElementTagNameMap>(
  name: K,
  attributes: Readonly<Record<string, string>> = {},
  text?: string,
): HTMLElementTagNameMap[K] {
  const created = document.createElement(name);
  for (const [key, value] of Object.entries(attributes)) created.setAttribute(key, value);
  if (text !== undefined) created.textContent = text;
  return created;
}

/** A document this page can draw: the shape it knows, at the format it knows. */
function isDocument(value: unknown): value is PlotsDocument {
  if (value === null || typeof value !== 'object') return false;
  const candidate = value as { format?: unknown; plots?: unknown; sources?: unknown };
  return (
    candidate.format === PLOTS_DOCUMENT_FORMAT &&
    Array.isArray(candidate.plots) &&
    Array.isArray(candidate.sources)
  );
}

function isShowMessage(value: unknown): value is ShowPlotsMessage {
  return value !== null && typeof value === 'object' && (value as { type?: unknown }).type === 'plots';
}

function render(value: unknown): void {
  const root = document.getElementById('sluice-plots');
  if (!root) return;
  for (const chart of charts) chart.destroy();
  charts = [];
  root.replaceChildren();
  if (!isDocument(value)) {
    root.append(
      element(
        'p',
        { class: 'error', role: 'alert' },
        'These plots were written by another version of Sluice and cannot be drawn here: run `sluice plots show` again.',
      ),
    );
    return;
  }
  const theme = readTheme();
  Chart.defaults.color = theme.foreground;
  Chart.defaults.font.family = theme.font;
  Chart.defaults.borderColor = theme.grid;
  root.append(header(value));
  const grid = element('div', { class: 'grid' });
  root.append(grid);
  if (value.plots.length === 0) {
    grid.append(
      element(
        'p',
        { class: 'empty' },
        'No plots are declared. List image or data files under `plots:` of a stage in sluice.yaml.',
      ),
    );
    return;
  }
  value.plots.forEach((plot, index) => {
    const figure = figureFor(plot, index, value);
    // Appended first: Chart.js sizes a canvas by its place in the page.
    grid.append(figure);
    try {
      drawInto(figure, plot, value, theme);
    } catch (error) {
      figure.append(element('p', { class: 'error' }, `This plot could not be drawn: ${String(error)}`));
    }
  });
}

function header(plots: PlotsDocument): HTMLElement {
  const top = element('header');
  top.append(element('h1', {}, plots.name === null ? 'Plots' : `Plots — ${plots.name}`));
  const line = element('p');
  if (plots.sources.length === 1) {
    line.textContent = `From ${plots.sources[0]!}.`;
  } else {
    line.append('Overlaid: ');
    const list = element('ul', { class: 'sources' });
    plots.sources.forEach((label, index) => {
      const item = element('li');
      item.append(
        element('span', { class: `swatch dash-${index % DASHES.length}`, 'aria-hidden': 'true' }),
        label,
      );
      list.append(item);
    });
    line.append(list);
  }
  top.append(line);
  return top;
}

function figureFor(plot: PlotView, index: number, plots: PlotsDocument): HTMLElement {
  const captionId = `plot-${index}-title`;
  const figure = element('figure', {
    class: 'plot',
    tabindex: '0',
    'aria-labelledby': captionId,
    'data-plot': plot.id,
  });
  const caption = element('figcaption', { id: captionId }, plot.title);
  const where = plot.title === plot.path ? plot.stage : `${plot.path} · ${plot.stage}`;
  caption.append(element('span', { class: 'where' }, where));
  figure.append(caption);
  for (const source of plot.sources) {
    if (source.kind !== 'error') continue;
    // The engine names a source other than the workspace in its messages already.
    const named = source.error.message.includes(`(${source.label})`);
    const prefix = plots.sources.length > 1 && !named ? `${source.label}: ` : '';
    const hint = source.error.hint === null ? '' : ` ${source.error.hint}`;
    figure.append(element('p', { class: 'error' }, `${prefix}${source.error.message}${hint}`));
  }
  return figure;
}

function drawInto(figure: HTMLElement, plot: PlotView, plots: PlotsDocument, theme: Theme): void {
  const drawn = plot.sources.filter((source) => source.kind !== 'error');
  if (drawn.length === 0) return;
  if (plot.template === 'image') {
    figure.insertBefore(imagePanels(plot, drawn, plots), figure.children[1] ?? null);
    return;
  }
  if (plot.template === 'confusion') {
    const panels = element('div', { class: 'panels' });
    figure.insertBefore(panels, figure.children[1] ?? null);
    for (const source of drawn) {
      if (source.kind !== 'matrix') continue;
      const panel = element('div', { class: 'panel' });
      if (plots.sources.length > 1) panel.append(element('h3', {}, source.label));
      panels.append(panel);
      charts.push(matrixChart(panel, plot, source, theme));
    }
    return;
  }
  const holder = element('div', { class: 'chart' });
  figure.insertBefore(holder, figure.children[1] ?? null);
  charts.push(seriesChart(holder, plot, plots, theme));
}

function imagePanels(plot: PlotView, drawn: readonly PlotSourceData[], plots: PlotsDocument): HTMLElement {
  const panels = element('div', { class: 'panels' });
  for (const source of drawn) {
    if (source.kind !== 'image' || !source.dataUri.startsWith('data:image/')) continue;
    const panel = element('figure', { class: 'panel' });
    const alt = plots.sources.length > 1 ? `${plot.title}, ${source.label}` : plot.title;
    panel.append(element('img', { src: source.dataUri, alt }));
    if (plots.sources.length > 1) panel.append(element('figcaption', {}, source.label));
    panels.append(panel);
  }
  return panels;
}

function canvasIn(holder: HTMLElement, label: string): HTMLCanvasElement {
  const canvas = element('canvas', { role: 'img', 'aria-label': label });
  holder.append(canvas);
  return canvas;
}

const KIND_WORDS: Readonly<Record<string, string>> = {
  line: 'Line chart',
  scatter: 'Scatter plot',
  bar: 'Bar chart',
};

function formatValue(value: PlotCell): string {
  // Four significant digits, without the zeros toPrecision pads with (0.0333, not 0.03330).
  if (typeof value === 'number') return String(Number(value.toPrecision(4)));
  return value ?? 'empty';
}

function seriesChart(holder: HTMLElement, plot: PlotView, plots: PlotsDocument, theme: Theme): Drawn {
  const { x, y } = plot.fields;
  const sources = plot.sources.flatMap((source, index) =>
    source.kind === 'rows' ? [{ source, index }] : [],
  );
  const xOf = (row: Readonly<Record<string, PlotCell>>, at: number): PlotCell =>
    x === null ? at + 1 : (row[x] ?? null);
  const numericX =
    plot.template !== 'bar' &&
    sources.every(({ source }) => source.rows.every((row, at) => typeof xOf(row, at) === 'number'));
  const labels = numericX
    ? undefined
    : [...new Set(sources.flatMap(({ source }) => source.rows.map((row, at) => String(xOf(row, at)))))];
  const many = plots.sources.length > 1;
  const datasets = sources.flatMap(({ source, index }) =>
    y.map((field, fieldIndex) => {
      const colour = PALETTE[(index * y.length + fieldIndex) % PALETTE.length]!;
      const points = source.rows.map((row, at) => {
        const value = row[field];
        return {
          x: numericX ? (xOf(row, at) as number) : String(xOf(row, at)),
          y: typeof value === 'number' ? value : null,
        };
      });
      return {
        label: many ? `${field} · ${source.label}` : field,
        data: points,
        borderColor: colour,
        backgroundColor: plot.template === 'bar' ? `${colour}cc` : colour,
        borderDash: DASHES[index % DASHES.length]!,
        pointRadius: plot.template === 'scatter' ? 3 : source.rows.length > 50 ? 0 : 2,
        showLine: plot.template !== 'scatter',
        borderWidth: plot.template === 'bar' ? 0 : 2,
      };
    }),
  );
  const axis = (title: string) => ({
    title: { display: title !== '', text: title, color: theme.foreground },
    ticks: { color: theme.muted },
    grid: { color: theme.grid },
  });
  const xScale = numericX
    ? { type: 'linear' as const, offset: plot.template === 'scatter', ...axis(plot.xLabel) }
    : { type: 'category' as const, labels: labels ?? [], ...axis(plot.xLabel) };
  const summary = sources
    .map(({ source }) => {
      const last = source.rows[source.rows.length - 1];
      const values =
        last === undefined ? '' : `, last ${y.map((f) => `${f} ${formatValue(last[f] ?? null)}`).join(', ')}`;
      return `${many ? `${source.label}: ` : ''}${source.rows.length} points${values}`;
    })
    .join('; ');
  const canvas = canvasIn(
    holder,
    `${KIND_WORDS[plot.template] ?? 'Chart'} of ${y.join(', ')} against ${plot.xLabel}. ${summary}.`,
  );
  const config = {
    type: plot.template === 'bar' ? 'bar' : plot.template === 'scatter' ? 'scatter' : 'line',
    data: { ...(labels ? { labels } : {}), datasets },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: numericX ? false : undefined,
      interaction: { mode: 'nearest', intersect: false },
      plugins: {
        legend: { display: datasets.length > 1, labels: { color: theme.foreground, boxHeight: 2 } },
        tooltip: { enabled: true },
      },
      scales: { x: xScale, y: { type: 'linear', ...axis(plot.yLabel) } },
    },
  } as ChartConfiguration<'line' | 'scatter' | 'bar', { x: number | string; y: number | null }[]>;
  return new Chart(canvas, config);
}

/** Any CSS colour as [r, g, b], read back through a canvas, which normalizes it. */
function rgbOf(colour: string): [number, number, number] {
  const context = document.createElement('canvas').getContext('2d');
  if (!context) return [31, 119, 180];
  context.fillStyle = colour;
  const normal = context.fillStyle;
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(normal);
  if (hex) return [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16), parseInt(hex[3]!, 16)];
  const parts = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(normal);
  return parts ? [Number(parts[1]), Number(parts[2]), Number(parts[3])] : [31, 119, 180];
}

/** Writes each cell's count in its middle, light on dark cells, in the theme's colour on pale ones. */
const countLabels = (theme: Theme): Plugin<'matrix'> => ({
  id: 'sluiceMatrixCounts',
  afterDatasetsDraw(chart) {
    const { ctx } = chart;
    const dataset = chart.data.datasets[0];
    const meta = chart.getDatasetMeta(0);
    if (!dataset) return;
    const max = Math.max(1, ...dataset.data.map((cell) => cell.v ?? 0));
    ctx.save();
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.font = `12px ${theme.font}`;
    meta.data.forEach((cell, index) => {
      if (!(cell instanceof MatrixElement)) return;
      const count = dataset.data[index]?.v ?? 0;
      const { x, y } = cell.getCenterPoint();
      ctx.fillStyle = count / max > 0.5 ? '#ffffff' : theme.foreground;
      ctx.fillText(String(count), x, y);
    });
    ctx.restore();
  },
});

function matrixChart(
  panel: HTMLElement,
  plot: PlotView,
  source: Extract<PlotSourceData, { kind: 'matrix' }>,
  theme: Theme,
): Drawn {
  const holder = element('div', { class: 'chart' });
  panel.append(holder);
  const { labels, counts } = source;
  const correct = labels.reduce((sum, _, at) => sum + (counts[at]?.[at] ?? 0), 0);
  const canvas = canvasIn(
    holder,
    `Confusion matrix of ${plot.fields.actual ?? 'actual'} against ${plot.fields.predicted ?? 'predicted'}: ` +
      `${labels.length} classes, ${correct} of ${source.total} rows on the diagonal.`,
  );
  const data: MatrixDataPoint[] = labels.flatMap((actual, row) =>
    labels.map((predicted, column) => ({ x: predicted, y: actual, v: counts[row]?.[column] ?? 0 })),
  );
  const max = Math.max(1, ...data.map((cell) => cell.v ?? 0));
  const [r, g, b] = rgbOf(theme.accent);
  const size = labels.length;
  const category = (title: string, reverse: boolean): ScaleOptionsByType<'category'> =>
    ({
      type: 'category',
      labels,
      offset: true,
      reverse,
      grid: { display: false },
      ticks: { color: theme.muted },
      title: { display: true, text: title, color: theme.foreground },
    }) as ScaleOptionsByType<'category'>;
  const config: ChartConfiguration<'matrix', MatrixDataPoint[]> = {
    type: 'matrix',
    data: {
      datasets: [
        {
          label: source.label,
          data,
          backgroundColor: (context) => {
            const cell = context.raw as MatrixDataPoint | undefined;
            return `rgba(${r}, ${g}, ${b}, ${(0.08 + (0.92 * (cell?.v ?? 0)) / max).toFixed(3)})`;
          },
          borderColor: theme.grid,
          borderWidth: 1,
          // Before the first layout the chart has no area yet (its type says otherwise).
          width: ({ chart }) => ((chart.chartArea as ChartArea | undefined)?.width ?? 0) / size - 1,
          height: ({ chart }) => ((chart.chartArea as ChartArea | undefined)?.height ?? 0) / size - 1,
        },
      ],
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            title: () => '',
            label: (context) => {
              const cell = context.raw as MatrixDataPoint;
              return `actual ${String(cell.y)}, predicted ${String(cell.x)}: ${String(cell.v ?? 0)}`;
            },
          },
        },
      },
      // The first class at the top left, the diagonal running down to the right, as confusion matrices are read.
      scales: { x: category(plot.xLabel, false), y: category(plot.yLabel, true) },
    },
    plugins: [countLabels(theme)],
  };
  return new Chart(canvas, config);
}

function start(): void {
  window.addEventListener('message', (event: MessageEvent<unknown>) => {
    if (isShowMessage(event.data)) render(event.data.document);
  });
  if (window.__SLUICE_PLOTS__ !== undefined) render(window.__SLUICE_PLOTS__);
  else if (typeof acquireVsCodeApi === 'function') acquireVsCodeApi().postMessage({ type: 'ready' });
}

start();
