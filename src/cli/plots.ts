// `sluice plots show [REFS…] --out FILE.html [--json]`: every plot the stages
// declare, drawn into one HTML page that needs nothing else to open (the
// chart code and the data inline, no network). Written whole or not at all:
// a plot that cannot be drawn is one line on stderr, exit 1, and no page.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describeError, fromSystemError, SluiceError } from '../core/errors';
import { writeFileAtomic } from '../core/fs/atomicWrite';
import { closestName } from '../core/manifest/spelling';
import { collectPlots, firstPlotError } from '../core/plots/collect';
import { plotsPageHtml } from '../core/plots/html';
import { plotsShowJson } from '../core/plots/json';
import { plotSources } from '../core/plots/sources';
import { openWorkspace } from '../core/workspace';
import type { FlagSpec } from './arguments';
import { JSON_FLAG, type Command } from './command';

const OUT_FLAG: FlagSpec = {
  name: 'out',
  valueName: 'FILE',
  description: 'The HTML file to write (replaced whole).',
};

/** The page script esbuild writes beside this bundle (dist/plots.js, from src/extension/plots/page.ts). */
const PAGE_SCRIPT = 'plots.js';

export const plotsCommand: Command = {
  name: 'plots',
  usage: 'show [REFS…] --out FILE.html [--json]',
  summary: 'Draw the plots the stages declare into one HTML page that opens offline',
  details: [
    'Reads every file listed under a stage’s `plots:` in sluice.yaml: images (.png, .jpg, .jpeg, .svg, .gif) ' +
      'are shown as they are; data files (CSV and TSV with a header line, JSON holding an array of objects) ' +
      'are drawn as line, scatter or bar charts or as a confusion matrix, as each plot says.',
    'REFS are the revisions to overlay on each chart. Without any, the workspace (the files on disk); ' +
      '`workspace` names it explicitly.',
    'The page holds its chart code and data inline and loads nothing from the network, under a ' +
      'Content-Security-Policy that allows only what it holds: open it from a CI job’s artifacts or by mail.',
    'A plot file that is missing, cannot be read, or lacks a column the plot names is one line naming the ' +
      'file (and the line in it); the exit code is 1 and no page is written. With --json the result counts ' +
      'each source’s rows (or image bytes) instead of holding them.',
  ],
  flags: [OUT_FLAG, JSON_FLAG],
  maxPositionals: Infinity,
  stopsOnInterrupt: true,
  async run(args, { signal }) {
    const [subcommand, ...refs] = args.positionals;
    requireShow(subcommand);
    const out = args.value('out');
    if (out === undefined)
      throw new SluiceError(
        "'plots show' needs --out FILE.html: the page to write.",
        'usage',
        'For example: sluice plots show --out plots.html',
        { code: 'usage', data: { flag: '--out' } },
      );
    const workspace = await openWorkspace('.');
    const sources = await plotSources(workspace, refs);
    const script = readPageScript();
    const document = await collectPlots(workspace, sources, { signal });
    const failure = firstPlotError(document);
    if (failure) {
      const { error } = failure;
      const refusal = new SluiceError(error.message, 'failed', error.hint ?? undefined, {
        code: error.code,
        data: { ...error.data, plot: failure.plot.id, source: failure.label },
      });
      if (args.has('json')) console.log(JSON.stringify(plotsShowJson(document, null, refusal.toJSON())));
      process.stderr.write(`sluice: ${describeError(refusal)}\n`);
      return refusal.exitCode;
    }
    try {
      writeFileAtomic(resolve(out), plotsPageHtml(document, { script }));
    } catch (error) {
      throw fromSystemError(error) ?? error;
    }
    if (args.has('json')) {
      console.log(JSON.stringify(plotsShowJson(document, out)));
    } else {
      const count = document.plots.length;
      console.log(
        count === 0
          ? `No stage declares plots; wrote a page saying so to ${out}. List files under \`plots:\` of a stage.`
          : `Wrote ${count} ${count === 1 ? 'plot' : 'plots'} from ${document.sources.join(', ')} to ${out}.`,
      );
    }
    return 0;
  },
};

function requireShow(subcommand: string | undefined): void {
  if (subcommand === 'show') return;
  if (subcommand === undefined)
    throw new SluiceError("'sluice plots' needs a subcommand: show.", 'usage', "Run 'sluice help plots'.", {
      code: 'unknown-command',
      data: { command: 'plots', suggestion: 'plots show' },
    });
  const near = closestName(subcommand, ['show']);
  throw new SluiceError(
    `Unknown subcommand 'plots ${subcommand}'.${near === undefined ? '' : ` Did you mean 'plots ${near}'?`}`,
    'usage',
    "Run 'sluice help plots'.",
    {
      code: 'unknown-command',
      data: { command: `plots ${subcommand}`, suggestion: near === undefined ? null : `plots ${near}` },
    },
  );
}

function readPageScript(): string {
  const path = join(__dirname, PAGE_SCRIPT);
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new SluiceError(
      `The plots page script is missing: ${path}.`,
      'failed',
      'The installation is incomplete: reinstall Sluice, or run the build again (npm run build).',
      { code: 'build-incomplete', data: { file: path } },
    );
  }
}
