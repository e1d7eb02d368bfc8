// `sluice log DATASET [--json]`: the snapshots of a dataset, newest first.
import { SluiceError } from '../core/errors';
import { datasetRef, listSnapshots, requireDataset } from '../core/snapshots/snapshots';
import { damagedRef } from '../core/operations/damagedRefs';
import { openWorkspace } from '../core/workspace';
import { logJson } from '../core/operations/results';
import { JSON_FLAG, type Command } from './command';
import { formatAge, formatBytes, shortId } from '../core/format';
import { requirePositional } from './positionals';

export const logCommand: Command = {
  name: 'log',
  usage: 'DATASET [--json]',
  summary: 'Show the snapshot history of a dataset, newest first',
  details: [],
  flags: [JSON_FLAG],
  maxPositionals: 1,
  async run(args) {
    const name = requirePositional(args, 0, 'DATASET', 'log');
    const workspace = await openWorkspace('.');
    requireDataset(workspace, name);
    // A ref that is not a snapshot chain is damage to report, never "no snapshot yet".
    const damaged = await damagedRef(workspace.git, datasetRef(name));
    if (damaged !== undefined) {
      throw new SluiceError(
        `The snapshot history of '${name}' is damaged: ${damaged.ref} ${damaged.reason}.`,
        'failed',
        'Run `sluice fsck`; point the ref back at its last snapshot commit (`git reflog`, `git update-ref`). ' +
          'Do not run `sluice gc` meanwhile (it refuses).',
        { code: 'damaged-ref', data: { dataset: name, ref: damaged.ref, reason: damaged.reason } },
      );
    }
    const snapshots = await listSnapshots(workspace, name);
    if (args.has('json')) {
      console.log(JSON.stringify(logJson(name, snapshots)));
      return 0;
    }
    if (snapshots.length === 0) console.log(`${name}: no snapshot yet. Run 'sluice snapshot ${name}'.`);
    for (const s of snapshots) {
      console.log(
        `${shortId(s.id)}  ${formatAge(s.time)}  ${s.files} files, ${formatBytes(s.bytes)}  ${s.message}`,
      );
    }
    return 0;
  },
};
