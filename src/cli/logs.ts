// `sluice logs PIPELINE.STAGE [--all] [--json]`: what a stage's runs printed and how they ended.
// After a restore from the run cache, the outputs on disk are an earlier
// run's: that run is the one shown, and named.
import { SluiceError } from '../core/errors';
import { openPipelines } from '../core/pipelines/context';
import { describeEnding, describeRestore, shownRun, type RunLogRecord } from '../core/pipelines/logs';
import { openWorkspace } from '../core/workspace';
import type { LogsJson, LogsListJson } from '../core/operations/results';
import { JSON_FLAG, type Command } from './command';
import { formatAge, formatDuration } from '../core/format';
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
          code: 'not-found',
          data: { sought: 'stage', id: target, stage: target },
        },
      );
    }
    const runs = context.logs.list(pipeline.name, stage.name);
    if (args.has('all')) {
      if (args.has('json')) {
        const json: LogsListJson = { stage: target, runs };
        console.log(JSON.stringify(json));
      } else
        for (const run of runs)
          console.log(
            `${run.runId}  ${run.result.padEnd(8)} ${formatAge(run.startedAt)}, ${formatDuration(run.durationMs)}${run.reason ? ` (${run.reason})` : ''}`,
          );
      return 0;
    }
    const { run: shown, restored } = shownRun(context.logs, context.state, pipeline.name, stage.name);
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
      const json: LogsJson = { stage: target, run: shown ?? null, output, restored: from };
      console.log(JSON.stringify(json));
      return 0;
    }
    if (restored) console.log(describeRestore(restored, shown, formatAge(restored.finishedAt)));
    if (shown) {
      process.stdout.write(output);
      console.log(`— ${describeRun(shown)}`);
    }
    return 0;
  },
};

/** `ran 3 minutes ago after 0.2 s, exit code 0`: how a run ended, each fact said once. */
function describeRun(run: RunLogRecord): string {
  return `${run.result} ${formatAge(run.startedAt)} after ${formatDuration(run.durationMs)}, ${describeEnding(run)}`;
}
