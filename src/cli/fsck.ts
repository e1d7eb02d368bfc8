// `sluice fsck [--json]`: re-hash every blob, look for every blob a record
// needs, and check that every ref under refs/sluice/ is a readable record.
import { shortId } from '../core/format';
import { fsck } from '../core/operations/maintenance';
import { openWorkspace } from '../core/workspace';
import { fsckJson } from '../core/operations/results';
import { JSON_FLAG, type Command } from './command';

export const fsckCommand: Command = {
  name: 'fsck',
  usage: '[--json]',
  summary:
    'Verify the cache and the records: report damaged and missing blobs and damaged refs (exit 1 if any)',
  details: [
    'Re-hashes every blob in .sluice/objects, looks for every blob a snapshot or release needs, and checks ' +
      'that every ref under refs/sluice/ (datasets, environments, releases) points at a readable record of its kind. ' +
      'It also reports worktrees a killed `stage` left behind and environments whose `current` link is not ' +
      'the release their history says is live. ' +
      'With --json: {damaged:[hash], missing:[{hash,usedBy}], damagedRefs:[{ref,reason}], ' +
      'leftoverWorktrees:[{path,pid,exists}], misalignedEnvironments:[{environment,folder,live,linked}], checked}.',
  ],
  flags: [JSON_FLAG],
  maxPositionals: 0,
  async run(args) {
    const workspace = await openWorkspace('.');
    const result = await fsck(workspace);
    const problems =
      result.damaged.length +
      result.missing.length +
      result.damagedRefs.length +
      result.leftoverWorktrees.length +
      result.misalignedEnvironments.length;
    if (args.has('json')) {
      console.log(JSON.stringify(fsckJson(result)));
    } else {
      for (const { ref, reason } of result.damagedRefs) console.log(`damaged ref  ${ref}  (${reason})`);
      for (const hash of result.damaged) console.log(`damaged  ${hash}`);
      for (const reference of result.missing)
        console.log(`missing  ${reference.hash}  (${reference.usedBy})`);
      for (const leftover of result.leftoverWorktrees)
        console.log(
          `leftover worktree  ${leftover.path}  (of a stage that was killed; sluice gc removes it)`,
        );
      for (const env of result.misalignedEnvironments)
        console.log(
          `misaligned  ${env.environment}: current is ${env.linked === null ? 'missing' : shortId(env.linked)}, ` +
            `the history says ${shortId(env.live)} (sluice envs puts it back)`,
        );
      console.log(
        problems === 0
          ? `${result.checked} blobs checked: all intact, none missing; every ref readable.`
          : `${result.damaged.length} damaged, ${result.missing.length} missing (${result.checked} blobs checked); ` +
              `${result.damagedRefs.length} damaged ref(s), ${result.leftoverWorktrees.length} leftover worktree(s), ` +
              `${result.misalignedEnvironments.length} misaligned environment(s).`,
      );
    }
    return problems === 0 ? 0 : 1;
  },
};
