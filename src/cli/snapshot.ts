// `sluice snapshot [DATASET…] [-m MSG] [--json]`: record snapshots of the datasets that changed.
import { SluiceError } from '../core/errors';
import { requireDataset, snapshotDataset, type SnapshotResult } from '../core/snapshots/snapshots';
import { prestartWorkers } from '../core/store/workerPool';
import { openWorkspace } from '../core/workspace';
import { describeSnapshotEntry, snapshotJson } from '../core/operations/results';
import { JSON_FLAG, type Command } from './command';

export const snapshotCommand: Command = {
  name: 'snapshot',
  usage: '[DATASET…] [-m MESSAGE] [--json]',
  summary: 'Record snapshots of the datasets that changed',
  details: [
    'Without DATASET, every dataset of the manifest. Only new and changed files are read; a dataset ' +
      'that did not change gets no new snapshot.',
  ],
  flags: [
    { name: 'message', short: 'm', valueName: 'MESSAGE', description: 'Describe the snapshot.' },
    JSON_FLAG,
  ],
  stopsOnInterrupt: true,
  maxPositionals: Infinity,
  async run(args, { signal }) {
    // Threads for reading and hashing start now, while the manifest is read and git is asked.
    prestartWorkers();
    const workspace = await openWorkspace('.');
    const names =
      args.positionals.length > 0 ? [...args.positionals] : [...workspace.manifest.datasets.keys()];
    if (names.length === 0) {
      throw new SluiceError(
        'The manifest declares no dataset.',
        'usage',
        'Add one under `datasets:` in sluice.yaml.',
      );
    }
    // Every name is checked before anything is written.
    for (const name of names) requireDataset(workspace, name);
    const results: SnapshotResult[] = [];
    for (const name of names)
      results.push(await snapshotDataset(workspace, name, args.value('message') ?? '', { signal }));
    const json = snapshotJson(results);
    if (args.has('json')) console.log(JSON.stringify(json));
    else for (const entry of json.snapshots) console.log(describeSnapshotEntry(entry));
    return 0;
  },
};
