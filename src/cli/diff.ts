// `sluice diff DATASET [FROM [TO]] [--json]`: FROM defaults to the latest snapshot, TO to the disk.
import { shortId } from '../core/format';
import { diffDataset } from '../core/snapshots/snapshots';
import { openWorkspace } from '../core/workspace';
import type { DiffJson } from '../core/operations/results';
import { JSON_FLAG, type Command } from './command';
import { requirePositional } from './positionals';

export const diffCommand: Command = {
  name: 'diff',
  usage: 'DATASET [FROM [TO]] [--json]',
  summary: 'Compare two snapshots, or a snapshot and the disk',
  details: ['FROM defaults to the latest snapshot and TO to the files on disk. Ids may be shortened.'],
  flags: [JSON_FLAG],
  stopsOnInterrupt: true,
  maxPositionals: 3,
  async run(args, { signal }) {
    const name = requirePositional(args, 0, 'DATASET', 'diff');
    const workspace = await openWorkspace('.');
    const diff = await diffDataset(workspace, name, args.positionals[1], args.positionals[2], {
      signal,
    });
    if (args.has('json')) {
      const json: DiffJson = {
        dataset: name,
        from: diff.from,
        to: diff.to,
        added: diff.added,
        modified: diff.modified,
        removed: diff.removed,
      };
      console.log(JSON.stringify(json));
      return 0;
    }
    const show = (path: string): string => path || '(the dataset file)';
    for (const path of diff.added) console.log(`A  ${show(path)}`);
    for (const path of diff.modified) console.log(`M  ${show(path)}`);
    for (const path of diff.removed) console.log(`D  ${show(path)}`);
    const total = diff.added.length + diff.modified.length + diff.removed.length;
    const to = diff.to === 'disk' ? 'the disk' : shortId(diff.to);
    console.log(
      total === 0
        ? `No changes from ${shortId(diff.from)} to ${to}.`
        : `${diff.added.length} added, ${diff.modified.length} modified, ${diff.removed.length} removed (${shortId(diff.from)} → ${to}).`,
    );
    return 0;
  },
};
