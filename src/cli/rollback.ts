// `sluice rollback ENV [--to ID] [--yes] [-m TEXT] [--json]`: go back to an earlier release, instantly.
import type { DeployResult } from '../core/environments/deploy';
import { isFinalEnvironment, rollback } from '../core/environments/promotion';
import { openWorkspace } from '../core/workspace';
import { deploymentJson } from '../core/results';
import { JSON_FLAG, type Command } from './command';
import { confirm, REASON_FLAG, YES_FLAG } from './confirm';
import { requirePositional } from './positionals';

export const rollbackCommand: Command = {
  name: 'rollback',
  usage: 'ENV [--to ID] [--yes] [-m TEXT] [--json]',
  summary: 'Go back to an earlier release of an environment',
  details: [
    'Appends a deployment of the earlier release (by default the one live before the current one) ' +
      'and points `current` back at its folder, still on disk: instant, whatever the data size. ' +
      'History is never rewritten. Exit code 1 when there is nothing to go back to (`nothing-to-roll-back`).',
    'Rolling back an environment nothing is promoted from (production) asks for confirmation; ' +
      'without a terminal, pass --yes (else exit code 2, `confirmation-needed`).',
  ],
  flags: [
    { name: 'to', valueName: 'ID', description: 'A release that was live in ENV before.' },
    YES_FLAG,
    REASON_FLAG,
    JSON_FLAG,
  ],
  maxPositionals: 1,
  async run(args) {
    const name = requirePositional(args, 0, 'ENV', 'rollback');
    const workspace = await openWorkspace('.');
    const json = args.has('json');
    const result = await rollback(workspace, name, {
      to: args.value('to'),
      reason: args.value('reason'),
      onWarning: warn,
      // Asked once the target is known and valid: nothing to confirm for a rollback that cannot happen.
      ...(isFinalEnvironment(workspace, name) && !args.has('yes')
        ? {
            confirm: (from: string, to: string) =>
              confirm(
                `Roll ${name} back from ${from.slice(0, 12)} to ${to.slice(0, 12)}?`,
                'Rolling back',
                name,
              ),
          }
        : {}),
      ...(json ? {} : { onOutput: (text: string) => process.stderr.write(text) }),
    });
    return printDeployment(result, json);
  },
};

/** A warning on stderr (never on stdout, which --json keeps for its one object). */
export function warn(text: string): void {
  process.stderr.write(`sluice: warning: ${text}\n`);
}

/** Prints what a promotion or rollback did; exit 1 when its hook or health check failed. */
export function printDeployment(
  result: DeployResult,
  json: boolean,
  promotion?: Parameters<typeof deploymentJson>[1],
): number {
  if (json) {
    console.log(JSON.stringify(deploymentJson(result, promotion)));
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
