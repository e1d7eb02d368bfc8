// `sluice envs [--json]`: environments, where they are fed from, and what is live.
import { repairEnvironments } from '../core/environments/deploy';
import { listEnvironments } from '../core/environments/live';
import { shortId } from '../core/format';
import { openWorkspace, type Workspace } from '../core/workspace';
import type { EnvsJson } from '../core/operations/results';
import { JSON_FLAG, type Command } from './command';

export const envsCommand: Command = {
  name: 'envs',
  usage: '[--json]',
  summary: 'List the environments and the release live in each',
  details: ['In promotion order: those fed from the workspace first, then those fed from them.'],
  flags: [JSON_FLAG],
  maxPositionals: 0,
  async run(args) {
    const workspace = await openWorkspace('.');
    await repairCurrent(workspace);
    const environments = await listEnvironments(workspace);
    if (args.has('json')) {
      const json: EnvsJson = { environments };
      console.log(JSON.stringify(json));
      return 0;
    }
    if (environments.length === 0) console.log('No environments are declared in sluice.yaml.');
    const width = Math.max(0, ...environments.map((environment) => environment.name.length)) + 2;
    for (const environment of environments) {
      const live =
        environment.release === null
          ? '(nothing live)'
          : `${shortId(environment.release)} since ${environment.deployedAt ?? '?'}`;
      console.log(`${environment.name.padEnd(width)}from ${(environment.from ?? '?').padEnd(10)} ${live}`);
    }
    return 0;
  },
};

/**
 * Puts every `current` (or those of `names`) back in line with its history
 * before a command reads environments: a deploy killed between recording and
 * swapping leaves the previous release showing. What cannot be repaired is a
 * warning on stderr; the command goes on.
 */
export async function repairCurrent(workspace: Workspace, names?: readonly string[]): Promise<void> {
  for (const failed of (await repairEnvironments(workspace, names)).failed)
    process.stderr.write(
      `sluice: warning: ${failed.environment}: current cannot be put back in line with its history: ${failed.message}\n`,
    );
}
