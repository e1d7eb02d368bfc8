// `sluice gc [--dry-run] [--min-age SECONDS] [--keep-runs N] [--keep-releases N] [--json]`:
// remove blobs that nothing reaches, old trash, old run-cache entries and old release folders.
import { SluiceError } from '../core/errors';
import { DEFAULT_KEEP_RELEASES } from '../core/environments/retention';
import { DEFAULT_KEEP_RUNS, gc } from '../core/operations/maintenance';
import { openWorkspace } from '../core/workspace';
import type { ParsedArguments } from './arguments';
import { describeRemoteGc, gcJson, remoteGcJson } from '../core/operations/results';
import { gcRemote } from '../core/operations/sync/remoteGc';
import { resolveRemote } from '../core/workspace/remotes';
import { JSON_FLAG, type Command } from './command';
import { formatBytes, shortId } from '../core/format';

export const gcCommand: Command = {
  name: 'gc',
  usage: '[--dry-run] [--min-age SECONDS] [--keep-runs N] [--keep-releases N] [--remote NAME] [--json]',
  summary: 'Remove cached blobs nothing needs, old trash, old run-cache entries and old release folders',
  details: [
    'Never removes a blob any snapshot or release in any history needs, nor the blobs of each stage’s ' +
      `last --keep-runs run-cache entries (default ${DEFAULT_KEEP_RUNS}), so those stages restore instead of running again. ` +
      'Blobs, trash entries (.sluice/trash/) and release folders younger than --min-age (default 3600 s) are kept too, ' +
      'as they may belong to a command still running.',
    `Release folders under each environment's deploy.path are kept for the last --keep-releases deployments ` +
      `of its history (default ${DEFAULT_KEEP_RELEASES}), and always for the live release and the one before it.`,
    'Refuses (exit 1, code damaged-ref) while any ref under refs/sluice/ is not a readable record of its kind: ' +
      'run `sluice fsck` to list them.',
    'With --remote NAME, collects the blob remote instead: removes what no ref on its git remote reaches ' +
      '(a pack still partly reachable is first rewritten without its garbage), and only objects an earlier ' +
      'gc already found unreachable at least --min-age ago, since a push uploads blobs before the refs that reach them.',
  ],
  flags: [
    { name: 'dry-run', description: 'Only report what would be removed.' },
    { name: 'min-age', valueName: 'SECONDS', description: 'Keep what is younger than this (default 3600).' },
    {
      name: 'keep-runs',
      valueName: 'N',
      description: `Run-cache entries kept per stage, with their blobs (default ${DEFAULT_KEEP_RUNS}).`,
    },
    {
      name: 'keep-releases',
      valueName: 'N',
      description: `Deployments per environment whose release folders are kept (default ${DEFAULT_KEEP_RELEASES}).`,
    },
    {
      name: 'remote',
      valueName: 'NAME',
      description: 'Collect this blob remote instead of the local cache.',
    },
    JSON_FLAG,
  ],
  maxPositionals: 0,
  async run(args) {
    const minAge = numberFlag(args, 'min-age', 'a number of seconds', false);
    const remoteName = args.value('remote');
    if (remoteName !== undefined) {
      const workspace = await openWorkspace('.');
      const result = await gcRemote(workspace, resolveRemote(workspace, remoteName), {
        dryRun: args.has('dry-run'),
        minAgeMs: minAge === undefined ? undefined : minAge * 1000,
      });
      const json = remoteGcJson(result);
      console.log(args.has('json') ? JSON.stringify(json) : describeRemoteGc(json));
      return 0;
    }
    const keepRuns = numberFlag(args, 'keep-runs', 'a whole number', true);
    const keepReleases = numberFlag(args, 'keep-releases', 'a whole number', true);
    const workspace = await openWorkspace('.');
    const result = await gc(workspace, {
      dryRun: args.has('dry-run'),
      ...(minAge === undefined ? {} : { minAgeMs: minAge * 1000 }),
      ...(keepRuns === undefined ? {} : { keepRuns }),
      ...(keepReleases === undefined ? {} : { keepReleases }),
    });
    const removedReleases = result.releases.removed.map(({ environment, release, path }) => ({
      environment,
      release,
      path,
    }));
    if (args.has('json')) {
      console.log(JSON.stringify(gcJson(result)));
      return 0;
    }
    const verb = result.dryRun ? 'Would remove' : 'Removed';
    console.log(`${verb} ${result.removed} blob(s), ${formatBytes(result.bytes)}; kept ${result.kept}.`);
    console.log(
      `${verb} ${result.trash.removed} trash entr${result.trash.removed === 1 ? 'y' : 'ies'}, ${formatBytes(result.trash.bytes)}.`,
    );
    console.log(
      `Run cache: kept ${result.runs.kept} entr${result.runs.kept === 1 ? 'y' : 'ies'} (the last ${keepRuns ?? DEFAULT_KEEP_RUNS} per stage), ` +
        `${result.dryRun ? 'would remove' : 'removed'} ${result.runs.removed}.`,
    );
    for (const { environment, release } of removedReleases)
      console.log(`${verb} release folder ${shortId(release)} of ${environment}.`);
    console.log(
      `Release folders: kept ${result.releases.kept.length}, ${result.dryRun ? 'would remove' : 'removed'} ${removedReleases.length}.`,
    );
    for (const leftover of result.worktrees)
      console.log(`${verb} the worktree a killed stage left at ${leftover.path}.`);
    return 0;
  },
};

function numberFlag(args: ParsedArguments, name: string, what: string, whole: boolean): number | undefined {
  const text = args.value(name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!(Number.isFinite(value) && value >= 0 && (!whole || Number.isInteger(value))) || text.trim() === '')
    throw new SluiceError(`--${name} must be ${what}, not '${text}'.`, 'usage', undefined, {
      code: 'invalid-flag-value',
      data: { flag: name, value: text },
    });
  return value;
}
