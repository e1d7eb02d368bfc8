// `sluice promote [--to ENV] [--release ID] [--yes] [--json]`: promote behind the target's gates.
import { createInterface } from 'node:readline/promises';
import { SluiceError } from '../core/errors';
import { planPromotion, promote, type PromotionPlan } from '../core/environments/promotion';
import { openWorkspace } from '../core/workspace';
import { JSON_FLAG, type Command } from './command';
import { printDeployment } from './rollback';

export const promoteCommand: Command = {
  name: 'promote',
  usage: '[--to ENV] [--release ID] [--yes] [--json]',
  summary: 'Promote the upstream release into an environment, behind its gates',
  details: [
    "The candidate is what is live in the target's upstream (`from`), or --release ID if it was " +
      'deployed there. The gates are those of the release live in the target now (on a first ' +
      "promotion, the candidate's), so a candidate cannot loosen the gate in front of itself. A " +
      'refused promotion names the gate and the numbers and changes nothing.',
    'Promoting into an environment nothing is promoted from (production) asks for confirmation; ' +
      'without a terminal, pass --yes.',
    'Exit code 1 when a gate refused, the deploy hook or health check failed, or another process ' +
      'changed the environment first.',
  ],
  flags: [
    { name: 'to', valueName: 'ENV', description: 'The environment to promote into.' },
    { name: 'release', valueName: 'ID', description: 'A release deployed in the upstream environment.' },
    { name: 'yes', short: 'y', description: 'Promote without asking.' },
    JSON_FLAG,
  ],
  maxPositionals: 0,
  async run(args) {
    const workspace = await openWorkspace('.');
    const plan = await planPromotion(workspace, { to: args.value('to'), release: args.value('release') });
    const json = args.has('json');
    if (!json) describePlan(plan);
    if (plan.final && plan.gates.every((gate) => gate.passed) && !args.has('yes')) {
      if (!process.stdin.isTTY) {
        throw new SluiceError(
          `Promoting into ${plan.environment} needs confirmation, and there is no terminal to ask.`,
          'failed',
          'Pass --yes to promote non-interactively.',
        );
      }
      const prompt = createInterface({ input: process.stdin, output: process.stderr });
      const answer = await prompt.question(
        `Promote ${plan.candidate.id.slice(0, 12)} into ${plan.environment}? [y/N] `,
      );
      prompt.close();
      if (!/^y(es)?$/i.test(answer.trim())) {
        throw new SluiceError('Promotion cancelled; nothing changed.', 'failed');
      }
    }
    const result = await promote(workspace, plan, {
      ...(args.has('json') ? {} : { onOutput: (text: string) => process.stderr.write(text) }),
    });
    return printDeployment(result, json);
  },
};

function describePlan(plan: PromotionPlan): void {
  const { candidate, live } = plan;
  console.log(`${plan.upstream} → ${plan.environment}: release ${candidate.id.slice(0, 12)}`);
  if (live) {
    if (live.code !== candidate.code)
      console.log(`  code  ${live.code.slice(0, 12)} → ${candidate.code.slice(0, 12)}`);
    for (const [dataset, id] of Object.entries(candidate.snapshots)) {
      const before = live.snapshots[dataset];
      if (before !== id)
        console.log(`  data  ${dataset} ${before?.slice(0, 12) ?? '(none)'} → ${id.slice(0, 12)}`);
    }
    for (const [file, values] of Object.entries(candidate.metrics))
      for (const [key, value] of Object.entries(values)) {
        const before = live.metrics[file]?.[key];
        if (before !== undefined && before !== value) {
          const delta = value - before;
          console.log(
            `  metric ${file}#${key} ${before} → ${value} (${delta > 0 ? '+' : ''}${Number(delta.toPrecision(6))})`,
          );
        }
      }
  } else console.log(`  nothing is live in ${plan.environment} yet`);
  for (const gate of plan.gates)
    console.log(`  gate ${gate.passed ? 'pass' : 'FAIL'} ${gate.gate}: ${gate.detail}`);
}
