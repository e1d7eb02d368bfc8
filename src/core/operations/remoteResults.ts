// The `--json` contract of `sluice remote add|list|remove|default` (remote.schema.json)
// and the sentence both faces say of a change; re-exported by results.ts, where
// every other command's result is.
import type { RemoteChange } from '../workspace/remoteChanges';
import type { RemoteConfig } from '../workspace/remotes';

/** One remote of `sluice remote list --json`: where it leads once this machine's settings are applied. */
export interface RemoteJson {
  readonly name: string;
  /** The effective URL, as written in sluice.yaml or .sluice/remotes.yaml. */
  readonly url: string;
  readonly kind: 'folder' | 'ssh' | 's3';
  readonly default: boolean;
  /** Where it is declared: sluice.yaml (shared) or only this machine's .sluice/remotes.yaml. */
  readonly source: 'manifest' | 'local';
  /** A shared remote this machine's .sluice/remotes.yaml changes. */
  readonly overridden: boolean;
  /** The git remote that carries refs/sluice/*. */
  readonly git: string;
  /** S3 only (null otherwise): the server of an S3-compatible store, its region, and path-style addressing. */
  readonly endpoint: string | null;
  readonly region: string | null;
  readonly pathStyle: boolean | null;
}

/** `sluice remote list --json`; `add`, `remove` and `default` print the list after their change, with the change. */
export interface RemotesJson {
  readonly remotes: readonly RemoteJson[];
  readonly change?: {
    readonly action: RemoteChange['action'];
    readonly name: string;
    /** The files written: sluice.yaml (`manifest`) and/or .sluice/remotes.yaml (`local`), with absolute paths. */
    readonly files: readonly { readonly which: 'manifest' | 'local'; readonly path: string }[];
    /** An `add --local` of a shared remote: this machine's settings for it. */
    readonly override: boolean;
    /** This machine's own default, which still wins here over the one sluice.yaml names. */
    readonly localDefault: string | null;
  };
}

export function remoteJson(remote: RemoteConfig): RemoteJson {
  return {
    name: remote.name,
    url: remote.url,
    kind: remote.location.kind,
    default: remote.isDefault,
    source: remote.source,
    overridden: remote.overridden,
    git: remote.gitRemote,
    endpoint: remote.s3?.endpoint ?? null,
    region: remote.s3?.region ?? null,
    pathStyle: remote.s3?.forcePathStyle ?? null,
  };
}

export function remotesJson(remotes: readonly RemoteConfig[], change?: RemoteChange): RemotesJson {
  return {
    remotes: remotes.map(remoteJson),
    ...(change === undefined
      ? {}
      : {
          change: {
            action: change.action,
            name: change.name,
            files: change.files.map(({ which, path }) => ({ which, path })),
            override: change.override,
            localDefault: change.localDefault ?? null,
          },
        }),
  };
}

/** What a change of the remotes did, in one sentence: "Added remote team (SSH) to sluice.yaml; it is the default." */
export function describeRemoteChange(json: RemotesJson): string {
  const change = json.change;
  if (!change) return '';
  const remote = json.remotes.find((entry) => entry.name === change.name);
  const where = change.files.map((file) => (file.which === 'local' ? '.sluice/remotes.yaml' : 'sluice.yaml'));
  const kind = remote ? ` (${KIND_WORDS[remote.kind]})` : '';
  let sentence: string;
  if (change.action === 'add')
    sentence =
      change.override && remote
        ? `Remote ${change.name} now leads to ${remote.url}${kind} on this machine, set in .sluice/remotes.yaml.`
        : `Added remote ${change.name}${kind} to ${where.join(' and ')}.`;
  else if (change.action === 'remove')
    sentence = `Removed remote ${change.name} from ${where.join(' and ')}.`;
  else
    sentence = `${change.name} is the default remote${where.includes('sluice.yaml') ? '' : ' on this machine'}.`;
  if (change.localDefault !== null)
    sentence += ` This machine's own default, ${change.localDefault}, still wins here (\`sluice remote default ${change.name} --local\` changes it).`;
  else if (change.action === 'add' && !change.override && remote?.default === true)
    sentence += ' It is the default.';
  return sentence;
}

const KIND_WORDS: Readonly<Record<RemoteJson['kind'], string>> = { folder: 'folder', ssh: 'SSH', s3: 'S3' };
