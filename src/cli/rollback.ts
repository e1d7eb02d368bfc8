// `sluice rollback ENV [--to ID] [--yes] [-m TEXT] [--json]`: go back to an earlier release, instantly.
import {
  comparisonJson,
  comparisonVerdict,
  describeComparison,
  type ReleaseComparison,
} from '../core/environments/comparison';
import type { DeployResult } from '../core/environments/deploy';
import { planRollback, rollback } from '../core/environments/promotion';
import { shortId } from '../core/format';
import { openWorkspace } from '../core/workspace';
import { deploymentJson, describeDeployment } from '../core/operations/results';
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
    'Before anything changes it prints the comparison of the live release with the one going back ' +
      '(under --json, `comparison`). --to takes a release id or a prefix of one once live in ENV; a ' +
      'prefix that fits several is `ambiguous-id` (the candidates in `error.data.candidates`).',
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
    const plan = await planRollback(workspace, name, { to: args.value('to'), onWarning: warn });
    if (!json) {
      console.log(`${name}: back from ${shortId(plan.live.id)} to ${shortId(plan.target.id)}`);
      printComparison(plan.comparison);
    }
    // Asked once the target is known and valid: nothing to confirm for a rollback that cannot happen.
    if (plan.final && !args.has('yes'))
      await confirm(
        `Roll ${name} back from ${shortId(plan.live.id)} to ${shortId(plan.target.id)}?`,
        'Rolling back',
        name,
      );
    const result = await rollback(workspace, plan, {
      reason: args.value('reason'),
      ...(json ? {} : { onOutput: (text: string) => process.stderr.write(text) }),
    });
    return printDeployment(result, json, { comparison: comparisonJson(plan.comparison) });
  },
};

/** The engine's comparison of what is live with what comes, section by section, indented under its title line. */
export function printComparison(comparison: ReleaseComparison): void {
  const verdict = comparisonVerdict(comparison);
  if (verdict !== undefined) console.log(`  ${verdict}`);
  for (const section of describeComparison(comparison, COMMITS_LISTED)) {
    console.log(`  ${section.heading}:`);
    for (const line of section.lines) console.log(`${line.nested ? '      ' : '    '}${line.text}`);
  }
}

/** Commits named under the code change in the terminal; the rest are counted (`git log` shows them all). */
const COMMITS_LISTED = 10;

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
  const deployment = deploymentJson(result, promotion);
  console.log(json ? JSON.stringify(deployment) : describeDeployment(deployment));
  return deployment.failure === null ? 0 : 1;
}
