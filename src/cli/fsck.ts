// `sluice fsck [--json]`: re-hash every blob and look for every blob a record needs.
import { fsck } from '../core/store/maintenance';
import { openWorkspace } from '../core/workspace';
import { JSON_FLAG, type Command } from './command';

export const fsckCommand: Command = {
  name: 'fsck',
  usage: '[--json]',
  summary: 'Verify the cache: report damaged and missing blobs (exit 1 if any)',
  details: [],
  flags: [JSON_FLAG],
  maxPositionals: 0,
  async run(args) {
    const workspace = await openWorkspace('.');
    const result = await fsck(workspace);
    if (args.has('json')) {
      console.log(
        JSON.stringify({ damaged: result.damaged, missing: result.missing, checked: result.checked }),
      );
    } else {
      for (const hash of result.damaged) console.log(`damaged  ${hash}`);
      for (const reference of result.missing)
        console.log(`missing  ${reference.hash}  (${reference.usedBy})`);
      console.log(
        result.damaged.length + result.missing.length === 0
          ? `${result.checked} blobs checked: all intact, none missing.`
          : `${result.damaged.length} damaged, ${result.missing.length} missing (${result.checked} blobs checked).`,
      );
    }
    return result.damaged.length + result.missing.length === 0 ? 0 : 1;
  },
};
