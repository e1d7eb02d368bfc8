// `sluice rollback ENV [--to ID] [--json]`: go back to an earlier release, instantly.
import type { DeployResult } from '../core/environments/deploy';
import { rollback } from '../core/environments/promotion';
import { openWorkspace } from '../core/workspace';
import { JSON_FLAG, type Command } from './command';
import { requirePositional } from './positionals';

export const rollbackCommand: Command = {
  name: 'rollback',
  usage: 'ENV [--to ID] [--json]',
  summary: 'Go back to an earlier release of an environment',
  details: [
    'Appends a deployment of the earlier release (by default the one live before the current one) ' +
      'and points `current` back at its folder, still on disk: instant, whatever the data size. ' +
      'History is never rewritten. Exit code 1 when there is nothing to go back to.',
  ],
  flags: [{ name: 'to', valueName: 'ID', description: 'A release that was live in ENV before.' }, JSON_FLAG],
  maxPositionals: 1,
  async run(args) {
    const name = requirePositional(args, 0, 'ENV', 'rollback');
    const workspace = await openWorkspace('.');
    const result = await rollback(workspace, name, {
      to: args.value('to'),
      ...(args.has('json') ? {} : { onOutput: (text: string) => process.stderr.write(text) }),
    });
    return printDeployment(result, args.has('json'));
  },
};

/** Prints what a promotion or rollback did; exit 1 when its hook or health check failed. */
export function printDeployment(result: DeployResult, json: boolean): number {
  if (json) {
    console.log(
      JSON.stringify({
        environment: result.environment,
        release: result.release,
        previous: result.previous,
        action: result.action,
        failure: result.failure ?? null,
        rolledBack: result.rolledBack,
      }),
    );
  } else if (result.failure !== undefined) {
    console.log(
      `${result.environment}: ${result.failure}.${result.rolledBack ? ` Rolled back to ${result.release.slice(0, 12)}.` : ''}`,
    );
  } else {
    const from = result.previous === null ? '' : ` (was ${result.previous.slice(0, 12)})`;
    console.log(`${result.environment}: release ${result.release.slice(0, 12)} is live${from}.`);
  }
  return result.failure === undefined ? 0 : 1;
}
