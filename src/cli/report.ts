// `sluice report [--env ENV] [--json] [--out FILE]`: a Markdown summary of the
// last run, the checks, and the metrics and data against what is live, for a
// CI job's summary. Reads only; the one file it writes is --out.
import { resolve } from 'node:path';
import { fromSystemError } from '../core/errors';
import { writeFileAtomic } from '../core/fs/atomicWrite';
import { buildReport } from '../core/operations/report';
import { reportMarkdown } from '../core/operations/reportMarkdown';
import { reportJson } from '../core/operations/results';
import { openWorkspace } from '../core/workspace';
import { JSON_FLAG, type Command } from './command';

export const reportCommand: Command = {
  name: 'report',
  usage: '[--env ENV] [--json] [--out FILE]',
  summary: 'Summarize the last run, the checks, and the metrics and data against what is live, in Markdown',
  details: [
    'For a CI job: `sluice report >> "$GITHUB_STEP_SUMMARY"`, or a GitLab merge request note. It lists ' +
      'which stages the last run ran, restored from the run cache or found up to date; each check’s ' +
      'outcome on the outputs on disk; the metrics files against the release live in ENV; and each ' +
      'dataset’s latest snapshot against the snapshot that release used, with the datasets whose files ' +
      'on disk differ from their latest snapshot.',
    'ENV defaults to the last environment in promotion order that has something live (production). ' +
      'When nothing is live anywhere, the report says so and exits 0.',
    'It never runs a stage and records nothing. With --out, the Markdown goes to FILE (replaced whole) ' +
      'and stdout gets only the JSON (with --json) or one line naming FILE.',
  ],
  flags: [
    {
      name: 'env',
      valueName: 'ENV',
      description:
        'Compare with what is live in this environment (default: the last one with something live).',
    },
    { name: 'out', valueName: 'FILE', description: 'Write the Markdown to FILE instead of stdout.' },
    JSON_FLAG,
  ],
  maxPositionals: 0,
  stopsOnInterrupt: true,
  async run(args, { signal }) {
    const out = args.value('out');
    const workspace = await openWorkspace('.');
    const json = reportJson(await buildReport(workspace, { environment: args.value('env'), signal }));
    if (out !== undefined) {
      const target = resolve(out);
      try {
        writeFileAtomic(target, reportMarkdown(json));
      } catch (error) {
        throw fromSystemError(error) ?? error;
      }
      if (!args.has('json')) console.log(`Wrote the report to ${out}.`);
    }
    if (args.has('json')) console.log(JSON.stringify(json));
    else if (out === undefined) process.stdout.write(reportMarkdown(json));
    return 0;
  },
};
