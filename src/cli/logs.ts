// `sluice logs PIPELINE.STAGE [--all] [--json]`: what a stage's runs printed and how they ended.
// After a restore from the run cache, the outputs on disk are an earlier
// run's: that run is the one shown, and named.
import { SluiceError } from '../core/errors';
import { openPipelines } from '../core/pipelines/context';
import { describeEnding, type RunLogRecord } from '../core/pipelines/logs';
import { openWorkspace } from '../core/workspace';
import { JSON_FLAG, type Command } from './command';
import { formatAge } from './format';
import { requirePositional } from './positionals';

export const logsCommand: Command = {
  name: 'logs',
  usage: 'PIPELINE.STAGE [--all] [--json]',
  summary: "Show a stage's last run: its output, exit code and timing",
  details: [
    'When the outputs on disk were last restored from the cache, shows the run that produced them, ' +
      'and says so.',
    'With --all, list every run kept, newest first, without their output.',
  ],
  flags: [{ name: 'all', description: 'List every run instead of printing the last one.' }, JSON_FLAG],
  maxPositionals: 1,
  async run(args) {
    const target = requirePositional(args, 0, 'PIPELINE.STAGE', 'logs');
    const context = openPipelines(await openWorkspace('.'));
    const dot = target.indexOf('.');
    const pipeline = context.plan.pipelines.get(target.slice(0, Math.max(0, dot)));
    const stage = pipeline?.stages.find((candidate) => candidate.name === target.slice(dot + 1));
    if (!pipeline || !stage) {
      throw new SluiceError(
        `No stage named '${target}'.`,
        'usage',
        'Name it as PIPELINE.STAGE; `sluice status` lists them.',
        {
          code: 'unknown-stage',
          data: { stage: target },
        },
      );
    }
    const runs = context.logs.list(pipeline.name, stage.name);
    if (args.has('all')) {
      if (args.has('json')) console.log(JSON.stringify({ stage: target, runs }));
      else
        for (const run of runs)
          console.log(
            `${run.runId}  ${run.result.padEnd(8)} ${formatAge(run.startedAt)}, ${(run.durationMs / 1000).toFixed(1)} s${run.reason ? ` (${run.reason})` : ''}`,
          );
      return 0;
    }
    // The latest event is a restore when the record says so and no run started since.
    const record = context.state.get(stage.id);
    const success = record?.success;
    const newest = runs[0];
    const restored =
      success?.restored === true &&
      (newest === undefined || newest.startedAt < success.finishedAt) &&
      (record?.failure === undefined || record.failure.finishedAt < success.finishedAt)
        ? success
        : undefined;
    const shown = restored ? runs.find((run) => run.runId === restored.runId) : newest;
    if (!restored && !shown) {
      throw new SluiceError(`Stage ${target} has not run yet.`, 'failed', `Run \`sluice run ${target}\`.`, {
        code: 'stage-never-ran',
        data: { stage: target },
      });
    }
    const output = shown ? context.logs.output(shown) : '';
    const from = restored
      ? {
          runId: restored.runId ?? null,
          producedAt: restored.producedAt ?? null,
          restoredAt: restored.finishedAt,
          logKept: shown !== undefined,
        }
      : null;
    if (args.has('json')) {
      console.log(JSON.stringify({ stage: target, run: shown ?? null, output, restored: from }));
      return 0;
    }
    if (restored) {
      const produced = shown?.startedAt ?? restored.producedAt;
      const which = restored.runId === undefined ? 'a run whose id was not kept' : `run ${restored.runId}`;
      console.log(
        `— restored from the cache ${formatAge(restored.finishedAt)}: the outputs on disk are from ${which}` +
          (produced === undefined ? '' : ` of ${produced}`) +
          `${shown ? '' : '; its log is not kept in this workspace'}.`,
      );
    }
    if (shown) {
      process.stdout.write(output);
      console.log(`— ${describeRun(shown)}`);
    }
    return 0;
  },
};

/** `ran 3 minutes ago after 0.2 s, exit code 0`: how a run ended, each fact said once. */
function describeRun(run: RunLogRecord): string {
  return `${run.result} ${formatAge(run.startedAt)} after ${(run.durationMs / 1000).toFixed(1)} s, ${describeEnding(run)}`;
}
