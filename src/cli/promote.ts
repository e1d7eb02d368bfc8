// `sluice promote [--to ENV] [--release ID] [--yes] [-m TEXT] [--json]`: promote behind the target's gates.
import { comparisonJson } from '../core/environments/comparison';
import { gatesJson, planPromotion, promote, type PromotionPlan } from '../core/environments/promotion';
import { shortId } from '../core/format';
import { openWorkspace } from '../core/workspace';
import { JSON_FLAG, type Command } from './command';
import { confirm, REASON_FLAG, YES_FLAG } from './confirm';
import { printComparison, printDeployment, warn } from './rollback';

export const promoteCommand: Command = {
  name: 'promote',
  usage: '[--to ENV] [--release ID] [--yes] [-m TEXT] [--json]',
  summary: 'Promote the upstream release into an environment, behind its gates',
  details: [
    "The candidate is what is live in the target's upstream (`from`), or --release ID if it was " +
      'deployed there. The gates are those of the release live in the target now (on a first ' +
      "promotion, the candidate's), so a candidate cannot loosen the gate in front of itself: the " +
      "`checks` gate runs the live release's checks on the candidate. A refused promotion names " +
      'every gate and the numbers (`gate-refused`, with `error.data.gates` under --json) and changes nothing.',
    'Before anything changes it prints the comparison with what is live in the target (the code commits, ' +
      "each dataset's changed files, the params and the metrics: the same as the editor's), and under " +
      '--json the same facts as `comparison`.',
    'Data changes are compared by content: a new snapshot of the same bytes is no change. A candidate ' +
      'with the same code, data and outputs as what is live is said to be so ("nothing changed") and ' +
      'may still be promoted: the history then records it, as a re-sync would.',
    'Promoting into an environment nothing is promoted from (production) asks for confirmation; ' +
      'without a terminal, pass --yes (else exit code 2, `confirmation-needed`).',
    'Exit code 1 when a gate refused, the deploy hook or health check failed, or another process ' +
      'changed the environment first.',
  ],
  flags: [
    { name: 'to', valueName: 'ENV', description: 'The environment to promote into.' },
    { name: 'release', valueName: 'ID', description: 'A release deployed in the upstream environment.' },
    YES_FLAG,
    REASON_FLAG,
    JSON_FLAG,
  ],
  maxPositionals: 0,
  async run(args) {
    const workspace = await openWorkspace('.');
    const json = args.has('json');
    const plan = await planPromotion(workspace, {
      to: args.value('to'),
      release: args.value('release'),
      // The checks gate's command output goes to its log (.sluice/logs/@environments/ENV/), not the terminal.
      onWarning: warn,
    });
    if (!json) describePlan(plan);
    if (plan.final && plan.gates.every((gate) => gate.passed) && !args.has('yes')) {
      await confirm(
        `Promote ${shortId(plan.candidate.id)} into ${plan.environment}?`,
        'Promoting into',
        plan.environment,
      );
    }
    const result = await promote(workspace, plan, {
      reason: args.value('reason'),
      ...(json ? {} : { onOutput: (text: string) => process.stderr.write(text) }),
    });
    return printDeployment(result, json, {
      gates: gatesJson(plan),
      unchanged: plan.comparison.unchanged,
      comparison: comparisonJson(plan.comparison),
    });
  },
};

/** The comparison with what is live and every gate's result, before anything changes. */
function describePlan(plan: PromotionPlan): void {
  console.log(`${plan.upstream} → ${plan.environment}: release ${shortId(plan.candidate.id)}`);
  printComparison(plan.comparison);
  for (const gate of plan.gates)
    console.log(`  gate ${gate.passed ? 'pass' : 'FAIL'} ${gate.gate}: ${gate.detail}`);
}
