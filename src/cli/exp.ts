// `sluice exp run|list|show|apply|remove`: queue runs over a grid of params,
// compare every recorded run side by side, bring one into the workspace.
import { CancelledError, isCancelled } from '../core/errors';
import { applyExperiment } from '../core/experiments/apply';
import { runExperiments } from '../core/experiments/queue';
import { removeExperimentRecords, type RemovedExperiments } from '../core/operations/sync/removeExperiments';
import { resolveRemote } from '../core/workspace/remotes';
import { showExperiments } from '../core/experiments/show';
import {
  describeApply,
  describeQueueResult,
  expApplyJson,
  expRunJson,
  experimentTableCsv,
  formatExperimentTable,
} from '../core/operations/experimentResults';
import { prefixLines, shortId } from '../core/format';
import { openWorkspace } from '../core/workspace';
import type { FlagSpec, ParsedArguments } from './arguments';
import { JSON_FLAG, type Command } from './command';
import { EXECUTOR_FLAG, parseExecutor } from './executorFlag';
import { runSubcommand, type RunnableSubcommand } from './subcommands';

const SET_FLAG: FlagSpec = {
  name: 'set',
  valueName: 'KEY=V1,V2',
  repeatable: true,
  description: 'run: a param and the values to try (repeat for more params: every combination runs).',
};
const JOBS_FLAG: FlagSpec = {
  name: 'jobs',
  short: 'j',
  valueName: 'N',
  description: 'run: combinations at once (default 1).',
};
const NAME_FLAG: FlagSpec = {
  name: 'name',
  valueName: 'NAME',
  description: 'run: name the records (NAME-1, NAME-2, … for a grid).',
};
const SORT_FLAG: FlagSpec = {
  name: 'sort',
  valueName: 'COLUMN',
  description: 'show: sort by a metric (FILE#key) or param, ascending; -COLUMN for descending.',
};
const VS_FLAG: FlagSpec = {
  name: 'vs',
  valueName: 'HEAD|ENV',
  description: "show: the baseline of the deltas: HEAD (default) or an environment's live release.",
};
const CSV_FLAG: FlagSpec = { name: 'csv', description: 'show: print the table as CSV.' };
const REMOTE_FLAG: FlagSpec = {
  name: 'remote',
  valueName: 'REMOTE',
  description:
    'remove: also from the git remote of REMOTE (a name under `remotes:`), first; a record removed here ' +
    'alone comes back with the next pull.',
};

type Subcommand = RunnableSubcommand;

function print(args: ParsedArguments, json: unknown, lines: () => readonly string[]): void {
  if (args.has('json')) console.log(JSON.stringify(json));
  else for (const line of lines()) console.log(line);
}

const SUBCOMMANDS: Readonly<Record<string, Subcommand>> = {
  run: {
    usage: 'run [--set KEY=V1,V2 …] [-j N] [--name NAME] [--executor local|slurm] [--json]',
    positionals: [],
    flags: [SET_FLAG, JOBS_FLAG, NAME_FLAG, EXECUTOR_FLAG, JSON_FLAG],
    async run(args, _positionals, { signal }) {
      const jobsText = args.value('jobs');
      const workspace = await openWorkspace('.');
      const result = await runExperiments(workspace, {
        set: args.values('set'),
        jobs: jobsText === undefined ? undefined : Number(jobsText),
        name: args.value('name'),
        executor: parseExecutor(args.value('executor')),
        signal,
        onOutput: (name, text) => process.stderr.write(prefixLines(`${name} │ `, text)),
        onWarning: (text) => process.stderr.write(`sluice: ${text}\n`),
        onProgress: (queue) => {
          if (args.has('json')) return;
          const running = queue.filter((entry) => entry.status === 'running').map((entry) => entry.name);
          if (running.length > 0) process.stderr.write(`▶ running ${running.join(', ')}\n`);
        },
      });
      const cancel = result.cancelled
        ? isCancelled(signal.reason)
          ? signal.reason
          : new CancelledError('The experiment queue')
        : undefined;
      const json = expRunJson(result, cancel?.toJSON());
      print(args, json, () => describeQueueResult(json));
      if (cancel) {
        process.stderr.write(`sluice: ${cancel.message}\n`);
        return cancel.exitCode;
      }
      return json.error ? 1 : 0;
    },
  },
  list: {
    usage: 'list [--json]',
    positionals: [],
    flags: [JSON_FLAG],
    async run(args) {
      const table = await showExperiments(await openWorkspace('.'));
      const experiments = table.experiments.map((row) => ({
        id: row.id,
        name: row.name,
        origin: row.origin,
        time: row.time,
        commit: row.commit,
        release: row.release,
        environments: row.environments,
        succeeded: row.succeeded,
      }));
      print(args, { experiments }, () =>
        experiments.length === 0
          ? ['No experiments yet.']
          : experiments.map(
              (row) =>
                `${shortId(row.id)}  ${row.name.padEnd(16)} ${row.origin.padEnd(9)} ${row.time}${row.environments.length > 0 ? `  live in ${row.environments.join(', ')}` : ''}${row.succeeded ? '' : '  failed'}`,
            ),
      );
      return 0;
    },
  },
  show: {
    usage: 'show [--sort COLUMN] [--vs HEAD|ENV] [--csv] [--json]',
    positionals: [],
    flags: [SORT_FLAG, VS_FLAG, CSV_FLAG, JSON_FLAG],
    async run(args) {
      const table = await showExperiments(await openWorkspace('.'), {
        sort: args.value('sort'),
        vs: args.value('vs'),
      });
      if (args.has('csv') && !args.has('json')) process.stdout.write(experimentTableCsv(table));
      else print(args, table, () => formatExperimentTable(table));
      return 0;
    },
  },
  apply: {
    usage: 'apply ID|NAME [--json]',
    positionals: ['ID|NAME'],
    flags: [JSON_FLAG],
    async run(args, [id], { signal }) {
      const json = expApplyJson(await applyExperiment(await openWorkspace('.'), id!, { signal }));
      print(args, json, () => describeApply(json));
      return 0;
    },
  },
  remove: {
    usage: 'remove ID|NAME… [--remote REMOTE] [--json]',
    positionals: ['ID|NAME…'],
    flags: [REMOTE_FLAG, JSON_FLAG],
    async run(args, ids) {
      const workspace = await openWorkspace('.');
      const remoteName = args.value('remote');
      const result = await removeExperimentRecords(
        workspace,
        ids,
        remoteName === undefined ? undefined : resolveRemote(workspace, remoteName),
      );
      print(args, result, () => describeRemoval(result));
      return 0;
    },
  },
};

/** What `exp` takes: every subcommand's flags (each subcommand refuses the others'). */
const ALL_FLAGS = [...new Set(Object.values(SUBCOMMANDS).flatMap((subcommand) => subcommand.flags))];

export const expCommand: Command = {
  name: 'exp',
  usage: 'run [--set KEY=V1,V2 …] [-j N] | list | show [--sort M] [--vs ENV] [--csv] | apply ID | remove ID…',
  summary: 'Run experiments over a grid of params, and compare every recorded run',
  details: [
    'Subcommands (`sluice exp` alone shows the table):',
    ...Object.values(SUBCOMMANDS).map((sub) => `  sluice exp ${sub.usage}`),
    'Every `sluice run`, every staged release and every combination `exp run` queues leaves an ' +
      'experiment record: code commit, data snapshots, every param, every metric, each stage and how ' +
      'long it took. Records live under refs/sluice/experiments/ and travel with push and fetch.',
    'exp run queues one run per combination of the values given and runs each in a clean copy of the ' +
      'committed code and the latest snapshots, like `stage`, sharing the run cache: a stage the varied ' +
      'params do not reach runs once. Ctrl-C stops the queue; what finished stays recorded.',
    'exp show lists them with their params and metrics, and the change of each metric against the ' +
      "baseline: the newest plain run at HEAD, or with --vs ENV that environment's live release.",
    "exp apply writes the experiment's params into the params file (the file as it was is kept in " +
      '.sluice/trash/) and puts its outputs back from the cache; bytes Sluice has no copy of go to the ' +
      'trash, never lost.',
  ],
  flags: ALL_FLAGS,
  stopsOnInterrupt: true,
  maxPositionals: Infinity,
  run: (args, context) => runSubcommand('exp', SUBCOMMANDS, 'show', ALL_FLAGS, args, context),
};

function describeRemoval({ removed, remote }: RemovedExperiments): string[] {
  const lines = [`Removed ${removed.map(shortId).join(', ')}.`];
  if (remote)
    lines.push(
      remote.removed.length === 0
        ? `${remote.gitRemote} (remote ${remote.name}) held none of them.`
        : `Removed from ${remote.gitRemote} (remote ${remote.name}): ${remote.removed.map(shortId).join(', ')}.`,
    );
  return lines;
}
