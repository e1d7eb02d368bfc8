// `sluice health ENV [-n N] [--json]`: each monitor check's latest outcome, and the runs, newest first.
import { requireEnvironment } from '../core/environments/deploy';
import { readHealth } from '../core/environments/healthHistory';
import { SluiceError } from '../core/errors';
import { shortId } from '../core/format';
import { describeMonitorRun, healthJson } from '../core/operations/monitorResults';
import { openWorkspace } from '../core/workspace';
import { JSON_FLAG, type Command } from './command';
import { requirePositional } from './positionals';

const DEFAULT_RUNS = 20;

export const healthCommand: Command = {
  name: 'health',
  usage: 'ENV [-n N] [--json]',
  summary: "Show an environment's monitor checks: each one's latest outcome, and the runs, newest first",
  details: [
    'Reads the health history `sluice monitor` writes (refs/sluice/health/ENV): only the newest N runs are read.',
  ],
  flags: [
    {
      name: 'limit',
      short: 'n',
      valueName: 'N',
      description: `How many runs to show (default ${DEFAULT_RUNS}).`,
    },
    JSON_FLAG,
  ],
  maxPositionals: 1,
  async run(args) {
    const name = requirePositional(args, 0, 'ENV', 'health');
    const limitText = args.value('limit');
    const limit = limitText === undefined ? DEFAULT_RUNS : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1)
      throw new SluiceError(
        `-n takes a whole number of runs, not '${limitText ?? ''}'.`,
        'usage',
        'For example: -n 50.',
        {
          code: 'usage',
          data: { flag: 'limit', value: limitText ?? null },
        },
      );
    const workspace = await openWorkspace('.');
    requireEnvironment(workspace, name);
    const result = healthJson(name, await readHealth(workspace.git, name, limit));
    if (args.has('json')) {
      console.log(JSON.stringify(result));
      return 0;
    }
    if (result.history.length === 0) {
      console.log(`No monitor has run for ${name} yet.`);
      return 0;
    }
    console.log(`${name}, latest of each check:`);
    for (const check of result.latest)
      console.log(
        `  ${check.outcome.padEnd(12)} ${check.name}  ${check.detail}  (${shortId(check.release)}, ${check.time})`,
      );
    console.log('Runs, newest first:');
    for (const run of result.history) console.log(`  ${describeMonitorRun(run)}`);
    return 0;
  },
};
