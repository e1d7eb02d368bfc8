// `sluice metrics show [REF]`, `sluice metrics diff [A [B]]` and
// `sluice params diff [A [B]]`: a REF is the workspace, a commit, an
// experiment (name or id), a release id or an environment (its live release).
import { diffValues, resolveRevision } from '../core/experiments/revisions';
import { formatValuesDiff } from '../core/operations/experimentResults';
import { openWorkspace } from '../core/workspace';
import type { ParsedArguments } from './arguments';
import { JSON_FLAG, type Command } from './command';
import { runSubcommand, type RunnableSubcommand } from './subcommands';

const REFS =
  'A and B are `workspace`, a commit (HEAD, a branch, an id), an experiment (name or id), a release id ' +
  "or an environment (its live release). A commit's metrics are those of a run recorded at it, else " +
  'the metrics files git has there.';

type Subcommand = RunnableSubcommand;

async function diff(
  what: 'metrics' | 'params',
  args: ParsedArguments,
  [a, b]: readonly string[],
): Promise<number> {
  const workspace = await openWorkspace('.');
  const result = diffValues(
    what,
    await resolveRevision(workspace, a ?? 'HEAD'),
    await resolveRevision(workspace, b ?? 'workspace'),
  );
  if (args.has('json')) console.log(JSON.stringify(result));
  else for (const line of formatValuesDiff(result, what === 'metrics')) console.log(line);
  return 0;
}

const METRICS: Readonly<Record<string, Subcommand>> = {
  show: {
    usage: 'show [REF] [--json]',
    positionals: [],
    optional: ['REF'],
    flags: [JSON_FLAG],
    async run(args, [ref]) {
      const revision = await resolveRevision(await openWorkspace('.'), ref ?? 'workspace');
      const json = {
        revision: { label: revision.label, kind: revision.kind, id: revision.id },
        metrics: revision.metrics,
      };
      if (args.has('json')) console.log(JSON.stringify(json));
      else {
        const keys = Object.keys(revision.metrics).sort();
        if (keys.length === 0) console.log(`No metrics in ${revision.label}.`);
        const width = Math.max(0, ...keys.map((key) => key.length)) + 2;
        for (const key of keys) console.log(`${key.padEnd(width)}${String(revision.metrics[key])}`);
      }
      return 0;
    },
  },
  diff: {
    usage: 'diff [A [B]] [--json]',
    positionals: [],
    optional: ['A', 'B'],
    flags: [JSON_FLAG],
    run: (args, positionals) => diff('metrics', args, positionals),
  },
};

export const metricsCommand: Command = {
  name: 'metrics',
  usage: 'show [REF] | diff [A [B]]  [--json]',
  summary: 'Show the metrics of a run, or what changed between two',
  details: [
    'show: the metrics of REF (default the workspace). diff: A defaults to HEAD, B to the workspace.',
    REFS,
  ],
  flags: [JSON_FLAG],
  maxPositionals: 3,
  run: (args, context) => runSubcommand('metrics', METRICS, 'show', [JSON_FLAG], args, context),
};

const PARAMS: Readonly<Record<string, Subcommand>> = {
  diff: {
    usage: 'diff [A [B]] [--json]',
    positionals: [],
    optional: ['A', 'B'],
    flags: [JSON_FLAG],
    run: (args, positionals) => diff('params', args, positionals),
  },
};

export const paramsCommand: Command = {
  name: 'params',
  usage: 'diff [A [B]]  [--json]',
  summary: 'Show which params differ between two runs',
  details: [
    'diff: A defaults to HEAD, B to the workspace; every param of the params file is compared.',
    REFS,
  ],
  flags: [JSON_FLAG],
  maxPositionals: 3,
  run: (args, context) => runSubcommand('params', PARAMS, 'diff', [JSON_FLAG], args, context),
};
