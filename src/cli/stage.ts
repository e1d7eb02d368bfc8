// `sluice stage [PIPELINE] [-m TEXT] [--json]`: build and check a release on a clean copy; deploy it if it passes.
import { stageRelease } from '../core/environments/staging';
import { describeRunCounts } from '../core/pipelines/runSummary';
import { openWorkspace } from '../core/workspace';
import { describeRunCheck, describeStage, stageJson } from '../core/operations/results';
import { JSON_FLAG, type Command } from './command';
import { REASON_FLAG } from './confirm';
import { parseExecutor } from './executorFlag';

export const stageCommand: Command = {
  name: 'stage',
  usage: '[PIPELINE] [-m TEXT] [--json]',
  summary: 'Build and check a release on a clean copy; deploy it to the first environment if it passes',
  details: [
    'The release is built from the committed code (a clean git worktree: uncommitted changes are not in ' +
      'it) and the latest snapshot of every dataset. The pipeline and its checks run there, sharing the ' +
      'run cache, so unchanged stages are restored. The release is recorded whatever the outcome; the ' +
      'environment fed from the workspace receives it only if every stage and check passed.',
    'Exit code 1 when a stage or a check failed (`checks-failed`) or the deploy hook or health check ' +
      'failed (`deploy-failed`); with --json the one object on stdout then also has `error`.',
  ],
  flags: [
    REASON_FLAG,
    {
      name: 'executor',
      valueName: 'local|slurm',
      description: "Build the release here or on Slurm, whatever the environment's `executor` says.",
    },
    JSON_FLAG,
  ],
  stopsOnInterrupt: true,
  maxPositionals: 1,
  async run(args, { signal }) {
    const executor = parseExecutor(args.value('executor'));
    const workspace = await openWorkspace('.');
    const result = await stageRelease(workspace, {
      pipeline: args.positionals[0],
      executor,
      reason: args.value('reason'),
      signal,
      onWarning: (text) => process.stderr.write(`sluice: warning: ${text}\n`),
      onOutput: (text) => process.stderr.write(text),
      events: {
        stageStarted: (stage) => process.stderr.write(`▶ ${stage.id}: ${stage.run}\n`),
        stageOutput: (_stage, text) => process.stderr.write(text),
        checkOutput: (_check, text) => process.stderr.write(text),
      },
    });
    const json = stageJson(result);
    if (args.has('json')) {
      console.log(JSON.stringify(json));
    } else {
      for (const failure of json.release.failures) console.log(`failed       ${failure}`);
      for (const check of json.release.checks) console.log(describeRunCheck(check, 12));
      console.log(`${describeRunCounts(json.summary)}.`);
      console.log(describeStage(json));
    }
    return json.passed && json.failure === null ? 0 : 1;
  },
};
