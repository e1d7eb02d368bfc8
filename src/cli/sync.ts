// `sluice push`, `sluice fetch` and `sluice pull`: share records and data with
// a remote (see ARCHITECTURE.md). The engine decides what moves and whether it
// may; these commands only resolve the remote by name and print the result.
import { formatBytes } from '../core/format';
import { fetch, pull } from '../core/operations/sync/fetch';
import { push } from '../core/operations/sync/push';
import {
  describeFetch,
  describePull,
  describePush,
  fetchJson,
  pullJson,
  pushJson,
} from '../core/operations/results';
import type { Progress } from '../core/remotes/remoteBlobs';
import { openWorkspace } from '../core/workspace';
import { resolveRemote } from '../core/workspace/remotes';
import { JSON_FLAG, type Command } from './command';

const REMOTE_DETAIL =
  'REMOTE is a name under `remotes:` in sluice.yaml (or .sluice/remotes.yaml); without it, the default remote.';

export const pushCommand: Command = {
  name: 'push',
  usage: '[REMOTE] [--all] [--json]',
  summary: 'Share snapshots, releases, environments and run-cache entries with a remote',
  details: [
    REMOTE_DETAIL,
    'Uploads every blob the records being pushed reach that the remote lacks (small blobs in packs, ' +
      'large ones alone, each hashed on its way out), then moves refs/sluice/* on the git remote in one ' +
      'atomic push. A ref that moved on the remote since your last pull (a teammate promoted) refuses ' +
      'the whole push: pull, then retry. An interrupted push finishes on the next run, sending only what is missing.',
  ],
  flags: [
    { name: 'all', description: 'Also every run-cache entry of this machine, with its outputs.' },
    JSON_FLAG,
  ],
  maxPositionals: 1,
  stopsOnInterrupt: true,
  async run(args, context) {
    const workspace = await openWorkspace('.');
    const remote = resolveRemote(workspace, args.positionals[0]);
    const result = await push(workspace, remote, {
      all: args.has('all'),
      signal: context.signal,
      progress: progressLine('Pushing', args.has('json')),
    });
    endProgress(args.has('json'));
    const json = pushJson(result);
    console.log(args.has('json') ? JSON.stringify(json) : describePush(json));
    return 0;
  },
};

export const fetchCommand: Command = {
  name: 'fetch',
  usage: '[REMOTE] [--json]',
  summary: 'Take in what teammates pushed, into the cache only',
  details: [
    REMOTE_DETAIL,
    'Brings refs/sluice/* from the git remote (a history that continues yours moves forward; deployments ' +
      'both sides recorded are kept, yours after theirs) and the blobs of each dataset’s latest snapshot and ' +
      'each environment’s live release, hashed before they are kept. Never touches your files.',
  ],
  flags: [JSON_FLAG],
  maxPositionals: 1,
  stopsOnInterrupt: true,
  async run(args, context) {
    const workspace = await openWorkspace('.');
    const remote = resolveRemote(workspace, args.positionals[0]);
    const result = await fetch(workspace, remote, {
      signal: context.signal,
      progress: progressLine('Fetching', args.has('json')),
    });
    endProgress(args.has('json'));
    const json = fetchJson(result);
    console.log(args.has('json') ? JSON.stringify(json) : describeFetch(json).join('\n'));
    return 0;
  },
};

export const pullCommand: Command = {
  name: 'pull',
  usage: '[REMOTE] [--json]',
  summary: 'Fetch, then bring each dataset to its latest snapshot',
  details: [
    REMOTE_DETAIL,
    'Under restore’s rules: a dataset holding bytes that are in no snapshot is left as it is and named ' +
      '(exit 1); snapshot it, or restore it with --force, then pull again.',
  ],
  flags: [JSON_FLAG],
  maxPositionals: 1,
  stopsOnInterrupt: true,
  async run(args, context) {
    const workspace = await openWorkspace('.');
    const remote = resolveRemote(workspace, args.positionals[0]);
    const result = await pull(workspace, remote, {
      signal: context.signal,
      progress: progressLine('Pulling', args.has('json')),
    });
    endProgress(args.has('json'));
    const json = pullJson(result);
    if (args.has('json')) console.log(JSON.stringify(json));
    else {
      console.log(describePull(json).join('\n'));
      if (json.error) console.error(`${json.error.message} ${json.error.hint ?? ''}`.trim());
    }
    return json.error ? 1 : 0;
  },
};

/** On a terminal, one line on stderr that counts blobs and bytes as they move. */
function progressLine(verb: string, json: boolean): Progress | undefined {
  if (json || !process.stderr.isTTY) return undefined;
  let last = 0;
  return ({ blobs, bytes }) => {
    const now = Date.now();
    if (now - last < 100) return;
    last = now;
    process.stderr.write(`\r${verb}: ${blobs} blobs, ${formatBytes(bytes)}\u001b[K`);
  };
}

function endProgress(json: boolean): void {
  if (!json && process.stderr.isTTY) process.stderr.write('\r\u001b[K');
}
