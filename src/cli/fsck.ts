// `sluice fsck [--json]`: re-hash every blob, look for every blob a record
// needs, and check that every ref under refs/sluice/ is a readable record.
import { fsck } from '../core/store/maintenance';
import { openWorkspace } from '../core/workspace';
import { JSON_FLAG, type Command } from './command';

export const fsckCommand: Command = {
  name: 'fsck',
  usage: '[--json]',
  summary:
    'Verify the cache and the records: report damaged and missing blobs and damaged refs (exit 1 if any)',
  details: [
    'Re-hashes every blob in .sluice/objects, looks for every blob a snapshot or release needs, and checks ' +
      'that every ref under refs/sluice/ (datasets, environments, releases) points at a readable record of its kind. ' +
      'With --json: {damaged:[hash], missing:[{hash,usedBy}], damagedRefs:[{ref,reason}], checked}.',
  ],
  flags: [JSON_FLAG],
  maxPositionals: 0,
  async run(args) {
    const workspace = await openWorkspace('.');
    const result = await fsck(workspace);
    const problems = result.damaged.length + result.missing.length + result.damagedRefs.length;
    if (args.has('json')) {
      console.log(
        JSON.stringify({
          damaged: result.damaged,
          missing: result.missing,
          damagedRefs: result.damagedRefs,
          checked: result.checked,
        }),
      );
    } else {
      for (const { ref, reason } of result.damagedRefs) console.log(`damaged ref  ${ref}  (${reason})`);
      for (const hash of result.damaged) console.log(`damaged  ${hash}`);
      for (const reference of result.missing)
        console.log(`missing  ${reference.hash}  (${reference.usedBy})`);
      console.log(
        problems === 0
          ? `${result.checked} blobs checked: all intact, none missing; every ref readable.`
          : `${result.damaged.length} damaged, ${result.missing.length} missing (${result.checked} blobs checked); ` +
              `${result.damagedRefs.length} damaged ref(s).`,
      );
    }
    return problems === 0 ? 0 : 1;
  },
};
