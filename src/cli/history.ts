// `sluice history ENV [--json]`: an environment's deployments, newest first.
import { shortId } from '../core/format';
import { requireEnvironment } from '../core/environments/deploy';
import { readHistory } from '../core/environments/history';
import { openWorkspace } from '../core/workspace';
import { historyJson } from '../core/operations/results';
import { JSON_FLAG, type Command } from './command';
import { repairCurrent } from './envs';
import { requirePositional } from './positionals';

export const historyCommand: Command = {
  name: 'history',
  usage: 'ENV [--json]',
  summary: "Show an environment's deployments, newest first",
  details: [
    'Each deployment: the release, the action (stage, promote, rollback, auto-rollback), when, who and why.',
  ],
  flags: [JSON_FLAG],
  maxPositionals: 1,
  async run(args) {
    const name = requirePositional(args, 0, 'ENV', 'history');
    const workspace = await openWorkspace('.');
    requireEnvironment(workspace, name);
    await repairCurrent(workspace, [name]);
    const deployments = await readHistory(workspace.git, name);
    if (args.has('json')) {
      console.log(JSON.stringify(historyJson(name, deployments)));
      return 0;
    }
    if (deployments.length === 0) console.log(`Nothing was deployed to ${name} yet.`);
    for (const deployment of deployments) {
      const why = deployment.reason === null ? '' : `  (${deployment.reason})`;
      console.log(
        `${deployment.time}  ${deployment.action.padEnd(13)} ${shortId(deployment.release)}  ${deployment.actor}${why}`,
      );
    }
    return 0;
  },
};
