// `sluice gc [--dry-run] [--min-age SECONDS] [--json]`: remove blobs that nothing reaches.
import { SluiceError } from '../core/errors';
import { gc } from '../core/store/maintenance';
import { openWorkspace } from '../core/workspace';
import { JSON_FLAG, type Command } from './command';
import { formatBytes } from './format';

export const gcCommand: Command = {
  name: 'gc',
  usage: '[--dry-run] [--min-age SECONDS] [--json]',
  summary: 'Remove cached blobs that no snapshot reaches',
  details: [
    'Never removes a blob any snapshot in any history needs. Blobs younger than --min-age ' +
      '(default 3600 s) are kept too, as they may belong to a snapshot being written.',
  ],
  flags: [
    { name: 'dry-run', description: 'Only report what would be removed.' },
    { name: 'min-age', valueName: 'SECONDS', description: 'Keep blobs younger than this (default 3600).' },
    JSON_FLAG,
  ],
  maxPositionals: 0,
  async run(args) {
    const minAgeText = args.value('min-age');
    const minAge = minAgeText === undefined ? undefined : Number(minAgeText);
    if (minAge !== undefined && !(Number.isFinite(minAge) && minAge >= 0)) {
      throw new SluiceError(`--min-age must be a number of seconds, not '${minAgeText ?? ''}'.`, 'usage');
    }
    const workspace = await openWorkspace('.');
    const result = await gc(workspace, {
      dryRun: args.has('dry-run'),
      ...(minAge === undefined ? {} : { minAgeMs: minAge * 1000 }),
    });
    if (args.has('json')) {
      console.log(
        JSON.stringify({
          removed: result.removed,
          bytes: result.bytes,
          kept: result.kept,
          dryRun: result.dryRun,
        }),
      );
    } else {
      const verb = result.dryRun ? 'Would remove' : 'Removed';
      console.log(`${verb} ${result.removed} blob(s), ${formatBytes(result.bytes)}; kept ${result.kept}.`);
    }
    return 0;
  },
};
