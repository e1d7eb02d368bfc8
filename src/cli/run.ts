// `sluice run [PIPELINE|PIPELINE.STAGE…] [--set KEY=VALUE…] [--force] [--force-upstream] [-j N] [--json]`:
// run the stale stages, and leave an experiment record of the run.
import { CancelledError, describeError, isCancelled, SluiceError } from '../core/errors';
import { describeRunCheck, describeRunStage, runJson, type RunJson } from '../core/operations/results';
import { openPipelines } from '../core/pipelines/context';
import { checkSettings, parseSettings } from '../core/pipelines/paramOverrides';
import { runWorkspace } from '../core/experiments/workspaceRun';
import { planWorkspace } from '../core/pipelines/plan';
import { readValues } from '../core/pipelines/values';
import { describeRunCounts } from '../core/pipelines/runSummary';
import { openWorkspace } from '../core/workspace';
import { prefixLines, shortId } from '../core/format';
import { attachTargets } from '../core/pipelines/slurmJournal';
import { JSON_FLAG, type Command } from './command';
import { EXECUTOR_FLAG, parseExecutor } from './executorFlag';

export const runCommand: Command = {
  name: 'run',
  usage:
    '[PIPELINE|PIPELINE.STAGE…] [--set KEY=VALUE…] [--name NAME] [--force] [--force-upstream] [-j N] [--no-checks] [--executor local|slurm] [--detach|--attach] [--json]',
  summary: 'Run the stale stages, then the checks',
  details: [
    'Without a target, every pipeline. A stage target also runs what it depends on. Stages that are up ' +
      'to date are skipped; a stage whose inputs ran before gets its outputs back from the cache ' +
      '(restored). Independent stages run in parallel. A failed stage stops what depends on it; the ' +
      'rest goes on. The checks of each pipeline run when all its stages succeeded.',
    'Stage output streams to stderr as it comes (prefixed with the stage), and is kept for ' +
      '`sluice logs PIPELINE.STAGE`. Ctrl-C stops every running command and its children.',
    'A failed stage names `sluice logs PIPELINE.STAGE`, which shows its output. With --json, each ' +
      "stage's runId names the run whose outputs are on disk (for a restored stage, the earlier run " +
      'they came from).',
    '--set KEY=VALUE overrides a param of the params file for this run only: the stages read the ' +
      'overridden file while they run, and the file holds its own bytes again afterwards. The key ' +
      'must be in the file and the value of the kind it holds there. A stage whose params differ ' +
      'runs (or restores, when those params ran before).',
    'A run in which some stage ran or failed leaves an experiment record (`sluice exp ' +
      'show`): code commit, data snapshots, every param, every metric, each stage and its duration.',
    'Stages with `executor: slurm` (or all, with --executor slurm) are submitted at once as batch jobs, ' +
      "each after its upstream stages' jobs (afterok). With --detach the run returns once they are queued " +
      "(result `queued`); `sluice status` shows each job's state, and `sluice run --attach` (or any later " +
      'run) follows them to their end and records them. A stage with a job in the queue is never submitted again.',
    'Exit code 1 when a stage or a check failed.',
  ],
  flags: [
    {
      name: 'force',
      description:
        'Run the named stages (or every stage of the named pipelines; with no target, every stage) even if ' +
        'up to date. What a named stage depends on still runs only if stale.',
    },
    {
      name: 'force-upstream',
      description: 'Like --force, and force what the named stages depend on too.',
    },
    {
      name: 'jobs',
      short: 'j',
      valueName: 'N',
      description: 'Stages at once (default: the number of cores).',
    },
    { name: 'no-checks', description: 'Do not run the checks.' },
    EXECUTOR_FLAG,
    {
      name: 'detach',
      description:
        "Return once every stale Slurm stage is in Slurm's queue; a later `sluice run` (or --attach) records them.",
    },
    {
      name: 'attach',
      description:
        'Follow the Slurm jobs an earlier run left queued (of the pipelines named, else of every pipeline with one) to their end and record them.',
    },
    {
      name: 'set',
      valueName: 'KEY=VALUE',
      repeatable: true,
      description: 'Override a param for this run only (repeat for more).',
    },
    { name: 'name', valueName: 'NAME', description: "The experiment record's name (default exp-<digest>)." },
    JSON_FLAG,
  ],
  stopsOnInterrupt: true,
  maxPositionals: Infinity,
  async run(args, { signal }) {
    const jobsText = args.value('jobs');
    const jobs = jobsText === undefined ? undefined : Number(jobsText);
    if (jobs !== undefined && (!Number.isInteger(jobs) || jobs < 1)) {
      throw new SluiceError(`-j needs a whole number of at least 1, not '${jobsText}'.`, 'usage');
    }
    const executor = parseExecutor(args.value('executor'));
    const detach = args.has('detach');
    if (detach && args.has('attach'))
      throw new SluiceError('--detach and --attach go in different runs.', 'usage', 'Give one of them.');
    const workspace = await openWorkspace('.');
    const plan = planWorkspace(workspace.manifest);
    // Checked before anything runs: an unknown key or a value of the wrong kind is a usage error.
    const settings = checkSettings(
      parseSettings(args.values('set'), { grid: false }),
      plan.paramsFile === undefined ? undefined : readValues(workspace.root, plan.paramsFile),
      plan.paramsFile,
    );
    const overrides = Object.fromEntries(settings.map(({ key, values }) => [key, values[0]]));
    const context = openPipelines(workspace, { overrides });
    const json = args.has('json');
    let targets = args.positionals;
    if (args.has('attach') && targets.length === 0) {
      targets = attachTargets(context.plan.pipelines, workspace.sluiceDir);
      if (targets.length === 0) {
        const none = 'No Slurm jobs of this workspace are queued or waiting to be recorded.';
        if (json)
          console.log(JSON.stringify(runJson(EMPTY_REPORT, undefined, { experiment: undefined, overrides })));
        else console.log(none);
        return 0;
      }
    }
    const width = Math.max(
      0,
      ...[...context.plan.pipelines.values()].flatMap((p) => p.stages.map((s) => s.id.length)),
    );
    const { report, experiment } = await runWorkspace(context, {
      name: args.value('name'),
      targets,
      detach,
      force: args.has('force'),
      forceUpstream: args.has('force-upstream'),
      checks: !args.has('no-checks'),
      signal,
      ...(jobs === undefined ? {} : { jobs }),
      ...(executor === undefined ? {} : { executor }),
      events: {
        stageStarted: (stage) => process.stderr.write(`▶ ${stage.id}: ${stage.run}\n`),
        stageSubmitted: (stage, job) => process.stderr.write(`⧗ ${stage.id}: Slurm job ${job}\n`),
        stageOutput: (stage, text) => process.stderr.write(prefixLines(`${stage.id.padEnd(width)} │ `, text)),
        checkOutput: (check, text) => process.stderr.write(prefixLines(`check ${check.name} │ `, text)),
        warning: (text) => process.stderr.write(`sluice: ${text}\n`),
      },
    });
    // A cancel is reported as the error of the run: the stages that finished are still listed.
    const cancel = report.cancelled
      ? isCancelled(signal.reason)
        ? signal.reason
        : new CancelledError('The run')
      : undefined;
    const result = runJson(report, cancel?.toJSON(), { experiment, overrides });
    if (json) console.log(JSON.stringify(result));
    else printRun(result);
    if (cancel) {
      process.stderr.write(`sluice: ${describeError(cancel)}\n`);
      return cancel.exitCode;
    }
    return result.summary.failed > 0 || result.summary.checks.failed > 0 ? 1 : 0;
  },
};

const EMPTY_REPORT = { stages: [], checks: [], metrics: {}, cancelled: false } as const;

function printRun(run: RunJson): void {
  for (const stage of run.stages) {
    if (stage.result === 'skipped') continue;
    // A stage that ran and failed has a log worth reading; one refused before running has none.
    const logs =
      stage.result === 'failed' && stage.runId !== null
        ? ` — see \`sluice logs ${stage.pipeline}.${stage.stage}\``
        : '';
    console.log(`${describeRunStage(stage, 8)}${logs}`);
  }
  for (const check of run.checks) console.log(describeRunCheck(check, 12));
  console.log(
    run.stages.length === 0 && run.checks.length === 0
      ? 'No stages to run.'
      : `${describeRunCounts(run.summary)}.`,
  );
  if (run.cancelled) console.log('Cancelled.');
  if (run.summary.queued > 0)
    console.log(
      "Jobs left in Slurm's queue: `sluice status` shows them, `sluice run --attach` records them.",
    );
  if (run.experiment)
    console.log(`Recorded experiment ${run.experiment.name} (${shortId(run.experiment.id)}).`);
}
