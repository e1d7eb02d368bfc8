// `sluice logs PIPELINE.STAGE [--all] [--json]`: what a stage's runs printed and how they ended.
import { SluiceError } from '../core/errors';
import { openPipelines } from '../core/pipelines/context';
import { openWorkspace } from '../core/workspace';
import { JSON_FLAG, type Command } from './command';
import { formatAge } from './format';
import { requirePositional } from './positionals';

export const logsCommand: Command = {
  name: 'logs',
  usage: 'PIPELINE.STAGE [--all] [--json]',
  summary: "Show a stage's last run: its output, exit code and timing",
  details: ['With --all, list every run kept, newest first, without their output.'],
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
    const last = runs[0];
    if (!last) {
      throw new SluiceError(`Stage ${target} has not run yet.`, 'failed', `Run \`sluice run ${target}\`.`);
    }
    const output = context.logs.output(last);
    if (args.has('json')) {
      console.log(JSON.stringify({ stage: target, run: last, output }));
      return 0;
    }
    process.stdout.write(output);
    console.log(
      `— ${last.result} ${formatAge(last.startedAt)} after ${(last.durationMs / 1000).toFixed(1)} s, exit code ${String(last.exitCode)}${last.reason ? ` (${last.reason})` : ''}`,
    );
    return 0;
  },
};
