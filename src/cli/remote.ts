// `sluice remote add|list|remove|default`: where the team's blobs are shared.
// Shared remotes are written in sluice.yaml (in place: the user's comments and
// layout stay), this machine's own settings in .sluice/remotes.yaml (--local).
import {
  describeRemoteChange,
  remotesJson,
  type RemoteJson,
  type RemotesJson,
} from '../core/operations/results';
import { openWorkspace } from '../core/workspace';
import {
  addRemote,
  removeRemote,
  setDefaultRemote,
  type RemoteChange,
} from '../core/workspace/remoteChanges';
import { listRemotes } from '../core/workspace/remotes';
import type { FlagSpec, ParsedArguments } from './arguments';
import { JSON_FLAG, type Command } from './command';
import { checkSubcommand, findSubcommand, type SubcommandShape } from './subcommands';

const DEFAULT_FLAG: FlagSpec = { name: 'default', description: 'add: make it the default remote.' };
const LOCAL_FLAG: FlagSpec = {
  name: 'local',
  description: "Write this machine's .sluice/remotes.yaml (git-ignored) instead of sluice.yaml.",
};
const ENDPOINT_FLAG: FlagSpec = {
  name: 'endpoint',
  valueName: 'URL',
  description: 'add: the server of an S3-compatible store (MinIO, Ceph RGW, R2), e.g. https://minio:9000.',
};
const REGION_FLAG: FlagSpec = { name: 'region', valueName: 'R', description: "add: an S3 bucket's region." };
const GIT_FLAG: FlagSpec = {
  name: 'git',
  valueName: 'REMOTE',
  description: 'add: the git remote that carries refs/sluice/* (default origin).',
};

interface Subcommand extends SubcommandShape {
  run(args: ParsedArguments, positionals: readonly string[]): Promise<RemotesJson>;
}

const SUBCOMMANDS: Readonly<Record<string, Subcommand>> = {
  add: {
    usage: 'add NAME URL [--default] [--local] [--endpoint URL] [--region R] [--git REMOTE]',
    positionals: ['NAME', 'URL'],
    flags: [DEFAULT_FLAG, LOCAL_FLAG, ENDPOINT_FLAG, REGION_FLAG, GIT_FLAG, JSON_FLAG],
    async run(args, [name, url]) {
      const workspace = await openWorkspace('.');
      const endpoint = args.value('endpoint');
      const region = args.value('region');
      const git = args.value('git');
      const change = addRemote(workspace, name!, {
        url: url!,
        makeDefault: args.has('default'),
        local: args.has('local'),
        cwd: process.cwd(),
        ...(endpoint === undefined ? {} : { endpoint }),
        ...(region === undefined ? {} : { region }),
        ...(git === undefined ? {} : { git }),
      });
      return afterChange(change);
    },
  },
  list: {
    usage: 'list',
    positionals: [],
    flags: [JSON_FLAG],
    async run() {
      return remotesJson(listRemotes(await openWorkspace('.')));
    },
  },
  remove: {
    usage: 'remove NAME [--local]',
    positionals: ['NAME'],
    flags: [LOCAL_FLAG, JSON_FLAG],
    async run(args, [name]) {
      return afterChange(removeRemote(await openWorkspace('.'), name!, { local: args.has('local') }));
    },
  },
  default: {
    usage: 'default NAME [--local]',
    positionals: ['NAME'],
    flags: [LOCAL_FLAG, JSON_FLAG],
    async run(args, [name]) {
      return afterChange(setDefaultRemote(await openWorkspace('.'), name!, { local: args.has('local') }));
    },
  },
};

/** The remotes as the next command will read them, with what changed. */
async function afterChange(change: RemoteChange): Promise<RemotesJson> {
  return remotesJson(listRemotes(await openWorkspace('.')), change);
}

export const remoteCommand: Command = {
  name: 'remote',
  usage: 'add NAME URL | list | remove NAME | default NAME  [--local] [--json]',
  summary: 'Add, list, remove or choose the remotes where snapshots, runs and releases are shared',
  details: [
    'Subcommands (`sluice remote` alone lists):',
    ...Object.values(SUBCOMMANDS).map((sub) => `  sluice remote ${sub.usage}`),
    'URL is a folder (/mnt/team/sluice, file:///mnt/team/sluice, or a path, kept relative to the workspace root), ' +
      'ssh://[user@]host[:port]/path or [user@]host:path, or s3://bucket/prefix.',
    'Shared remotes are written in sluice.yaml, in place: only the lines of that remote change. With --local, ' +
      "the setting is this machine's own, in .sluice/remotes.yaml (git-ignored): a remote only this machine uses, " +
      'another URL for a shared one (a local mirror), or its own default remote.',
    'No credentials are ever written: SSH logs in with your ~/.ssh/config, keys and agent; S3 uses the AWS ' +
      'credential chain (environment, profile, instance role). A URL with user:password@ is refused.',
    'add refuses a name that exists (exit 1; remove it first) and a URL Sluice cannot use (exit 2).',
  ],
  flags: [DEFAULT_FLAG, LOCAL_FLAG, ENDPOINT_FLAG, REGION_FLAG, GIT_FLAG, JSON_FLAG],
  maxPositionals: 3,
  async run(args) {
    const [given, ...positionals] = args.positionals;
    const name = given ?? 'list';
    const sub = findSubcommand('remote', SUBCOMMANDS, name);
    checkSubcommand('remote', name, sub, remoteCommand.flags, args, positionals);
    const json = await sub.run(args, positionals);
    if (args.has('json')) console.log(JSON.stringify(json));
    else if (json.change) console.log(describeRemoteChange(json));
    else printList(json.remotes);
    return 0;
  },
};

function printList(remotes: readonly RemoteJson[]): void {
  if (remotes.length === 0) {
    console.log('No remotes. Add one with `sluice remote add NAME URL --default`.');
    return;
  }
  const nameWidth = Math.max(...remotes.map((remote) => remote.name.length)) + 2;
  for (const remote of remotes) {
    const notes = [
      remote.source === 'local' ? 'this machine only' : undefined,
      remote.overridden ? 'changed on this machine' : undefined,
      remote.endpoint === null ? undefined : `endpoint ${remote.endpoint}`,
      remote.region === null ? undefined : `region ${remote.region}`,
      remote.git === 'origin' ? undefined : `refs through git remote ${remote.git}`,
    ].filter((note) => note !== undefined);
    const mark = remote.default ? '*' : ' ';
    console.log(
      `${mark} ${remote.name.padEnd(nameWidth)}${remote.kind.padEnd(8)}${remote.url}${notes.length > 0 ? `  (${notes.join('; ')})` : ''}`,
    );
  }
}
