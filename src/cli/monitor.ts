// `sluice monitor [ENV…] [--once] [--json]`: watch what is live and recover by itself.
import { SluiceError } from '../core/errors';
import {
  lockMonitor,
  monitorInterval,
  monitoredEnvironments,
  monitorOnce,
  requireMonitor,
  watchEnvironments,
  type MonitorRun,
} from '../core/environments/monitor';
import type { RunLock } from '../core/pipelines/lock';
import { describeMonitorRun, monitorJson, monitorRunJson } from '../core/operations/monitorResults';
import { openWorkspace } from '../core/workspace';
import { JSON_FLAG, type Command } from './command';

export const monitorCommand: Command = {
  name: 'monitor',
  usage: '[ENV…] [--once] [--json]',
  summary: "Run environments' monitor checks against what is live, on their schedule",
  details: [
    "Runs the checks of each environment's `monitor:` (every environment that has one when none is named) " +
      'against its live release and appends the outcome to its health history (`sluice health ENV`). ' +
      'After `after` consecutive failed runs, `on_failure: rollback` rolls back to the release live before, ' +
      'as `sluice rollback` does (recorded as auto-rollback, with the reason), and `alert` records an alert. ' +
      'A monitor never acts on a release other than the one it checked: a promotion in between wins.',
    '--once runs each monitor once and exits: 0 when every check passed, 1 when one failed (`monitor-check-failed`). ' +
      'Without it, the monitors run until SIGTERM or Ctrl-C, which stop them cleanly (exit 0): for a service ' +
      'manager or a CI schedule. With --json, that mode prints one JSON object per run, a line each.',
    'One monitor per environment at a time: a second one exits 1 naming the first (`monitor-running`).',
  ],
  flags: [{ name: 'once', description: 'Run the checks once, record, act, and exit.' }, JSON_FLAG],
  maxPositionals: Number.POSITIVE_INFINITY,
  stopsOnInterrupt: true,
  async run(args, context) {
    const workspace = await openWorkspace('.');
    const json = args.has('json');
    const names = args.positionals.length > 0 ? [...args.positionals] : monitoredEnvironments(workspace);
    if (names.length === 0)
      throw new SluiceError(
        'No environment declares a monitor.',
        'usage',
        'Add a `monitor:` section with `every:` and `checks:` to an environment in sluice.yaml.',
        { code: 'no-monitor', data: { environment: null } },
      );
    for (const name of names) {
      requireMonitor(workspace, name);
      if (!args.has('once')) monitorInterval(workspace, name);
    }
    const locks: RunLock[] = [];
    try {
      for (const name of names) locks.push(lockMonitor(workspace, name));
      const output = json ? undefined : (text: string) => process.stderr.write(text);
      if (args.has('once')) {
        const runs: MonitorRun[] = [];
        for (const name of names)
          runs.push(await monitorOnce(workspace, name, { signal: context.signal, onOutput: output }));
        const result = monitorJson(runs);
        if (json) console.log(JSON.stringify(result));
        else for (const run of result.runs) console.log(describeMonitorRun(run));
        return result.error === undefined ? 0 : 1;
      }
      if (!json)
        console.log(`Monitoring ${names.join(', ')} (process ${process.pid}); SIGTERM or Ctrl-C stops.`);
      await watchEnvironments(workspace, names, {
        signal: context.signal,
        onOutput: output,
        onEvent: (event) => {
          if ('run' in event) {
            const run = monitorRunJson(event.run);
            console.log(json ? JSON.stringify(run) : describeMonitorRun(run));
          } else if (json)
            console.log(JSON.stringify({ environment: event.environment, error: event.error.toJSON() }));
          else process.stderr.write(`sluice: ${event.environment}: ${event.error.message}\n`);
        },
      });
      return 0;
    } finally {
      for (const lock of locks) lock.release();
    }
  },
};
