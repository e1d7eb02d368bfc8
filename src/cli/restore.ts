// `sluice restore DATASET SNAPSHOT [--force] [--json]`: put a snapshot's files back on disk.
import { restoreDataset } from '../core/snapshots/restore';
import { openWorkspace } from '../core/workspace';
import { describeRestore, restoreJson } from '../core/operations/results';
import { JSON_FLAG, type Command } from './command';
import { requirePositional } from './positionals';

export const restoreCommand: Command = {
  name: 'restore',
  usage: 'DATASET SNAPSHOT [--force] [--json]',
  summary: "Put a snapshot's files back on disk",
  details: [
    'Refuses to overwrite or delete a file whose current content is in no snapshot. With --force, ' +
      'the current files are snapshotted first, so nothing is lost.',
  ],
  flags: [{ name: 'force', description: 'Snapshot unsaved changes first, then restore.' }, JSON_FLAG],
  stopsOnInterrupt: true,
  maxPositionals: 2,
  async run(args, { signal }) {
    const name = requirePositional(args, 0, 'DATASET', 'restore');
    const id = requirePositional(args, 1, 'SNAPSHOT', 'restore');
    const workspace = await openWorkspace('.');
    const result = await restoreDataset(workspace, name, id, {
      force: args.has('force'),
      signal,
    });
    const json = restoreJson(result);
    console.log(args.has('json') ? JSON.stringify(json) : describeRestore(json));
    return 0;
  },
};
