// Remotes as a command uses them: the shared ones declared in sluice.yaml,
// with this machine's settings from .sluice/remotes.yaml (git-ignored) laid
// over them. That file has the manifest's shape, field by field:
//
//   default: archive          # this machine's default remote, by name
//   remotes:
//     team:                   # a shared remote: only the fields written here change
//       url: /mnt/mirror/sluice
//     laptop:                 # a remote only this machine knows: it needs a url
//       url: ~/sluice-backup
//
// Relative folder URLs, in either file, are relative to the workspace root.
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Node as YamlNode, type Pair } from 'yaml';
import { notFound, SluiceError } from '../errors';
import type { RemoteDecl } from '../manifest/model';
import {
  CREDENTIALS_ADVICE,
  DEFAULT_GIT_REMOTE,
  describeKind,
  endpointProblem,
  GIT_REMOTE_NAME,
  isCredentialKey,
  locateRemote,
  REMOTE_NAME,
  urlCredentials,
} from '../manifest/remotes';
import { closestName } from '../manifest/spelling';
import type { OpenOptions, RemoteLocation } from '../remotes/transport/transport';
import type { Workspace } from './index';

export interface RemoteConfig {
  readonly name: string;
  /** The effective URL, as written (this machine's override applied). */
  readonly url: string;
  /** The URL parsed; a relative folder is resolved against the workspace root. */
  readonly location: RemoteLocation;
  /** The git remote that carries `refs/sluice/*`; 'origin' unless one is named. */
  readonly gitRemote: string;
  /** For `s3://` remotes only: `openTransport`'s options (forcePathStyle defaults to true when an endpoint is set). */
  readonly s3?: { endpoint?: string; region?: string; forcePathStyle?: boolean };
  readonly isDefault: boolean;
  /** Where the remote is declared: sluice.yaml, or only this machine's .sluice/remotes.yaml. */
  readonly source: 'manifest' | 'local';
  /** True when .sluice/remotes.yaml changes a field of a remote sluice.yaml declares. */
  readonly overridden: boolean;
}

/** The per-machine file, inside .sluice/ (git-ignored with it). */
export const LOCAL_REMOTES_FILE = 'remotes.yaml';

/** The fields .sluice/remotes.yaml may set on a remote. */
export const LOCAL_REMOTE_KEYS: readonly string[] = ['url', 'endpoint', 'region', 'path_style', 'git'];

export function localRemotesPath(workspace: Pick<Workspace, 'sluiceDir'>): string {
  return join(workspace.sluiceDir, LOCAL_REMOTES_FILE);
}

/** A value of .sluice/remotes.yaml with the line it is on (1-based), for messages. */
interface Placed<T> {
  readonly value: T;
  readonly line: number;
}

/** One remote's entry in .sluice/remotes.yaml. */
export interface LocalRemote {
  readonly name: string;
  readonly line: number;
  readonly url?: Placed<string>;
  readonly endpoint?: Placed<string>;
  readonly region?: Placed<string>;
  readonly pathStyle?: Placed<boolean>;
  readonly git?: Placed<string>;
}

/** What .sluice/remotes.yaml says; empty when there is no such file. */
export interface LocalRemotes {
  /** Absolute path of the file. */
  readonly file: string;
  readonly exists: boolean;
  readonly default?: Placed<string>;
  readonly remotes: ReadonlyMap<string, LocalRemote>;
}

/** Every remote, those of sluice.yaml first (in its order), then those only this machine has. */
export function listRemotes(workspace: Workspace): RemoteConfig[] {
  return remotesWith(workspace, readLocalRemotes(workspace));
}

/** The remotes of sluice.yaml with the given per-machine settings laid over them (checked as listRemotes checks). */
export function remotesWith(workspace: Workspace, local: LocalRemotes): RemoteConfig[] {
  const declared = workspace.manifest.remotes;
  const merged: Omit<RemoteConfig, 'isDefault'>[] = [];
  for (const remote of declared.values()) merged.push(mergeRemote(workspace, remote, local));
  for (const entry of local.remotes.values())
    if (!declared.has(entry.name)) merged.push(mergeRemote(workspace, undefined, local, entry));
  const chosen = defaultName(workspace, merged, local);
  return merged.map((remote) => ({ ...remote, isDefault: remote.name === chosen }));
}

/**
 * The remote named `name`; with `name` undefined, the default remote (this
 * machine's `default:` wins over sluice.yaml's `default: true`; a lone remote
 * is the default).
 */
export function resolveRemote(workspace: Workspace, name: string | undefined): RemoteConfig {
  const remotes = listRemotes(workspace);
  const names = remotes.map((remote) => remote.name);
  if (remotes.length === 0) {
    throw new SluiceError(
      name === undefined
        ? 'No remote is configured: sluice.yaml has no `remotes:` and this machine has no .sluice/remotes.yaml.'
        : `No remote named '${name}': no remote is configured in sluice.yaml or .sluice/remotes.yaml.`,
      'usage',
      `Add one: \`sluice remote add ${name ?? 'NAME'} URL --default\` (a folder, ssh://host/path or s3://bucket/prefix).`,
      { code: 'remote-not-configured', data: { remote: name ?? null } },
    );
  }
  if (name === undefined) {
    const chosen = remotes.find((remote) => remote.isDefault);
    if (chosen) return chosen;
    throw new SluiceError(
      `${remotes.length} remotes are configured (${names.join(', ')}) and none is the default.`,
      'usage',
      `Name one, or make one the default: \`sluice remote default ${names[0]!}\` (add --local for this machine only).`,
      { code: 'remote-no-default', data: { remotes: names } },
    );
  }
  const found = remotes.find((remote) => remote.name === name);
  if (found) return found;
  const near = closestName(name, names);
  throw notFound(
    'remote',
    name,
    `No remote named '${name}'.${near === undefined ? '' : ` Did you mean '${near}'?`}`,
    `Remotes: ${names.join(', ')}. \`sluice remote list\` shows where each leads.`,
    { data: { candidates: names } },
  );
}

/** `openTransport`'s options for a remote: its S3 settings, plus whatever the caller adds (a test's ssh_config). */
export function transportOptions(remote: RemoteConfig, extra: Omit<OpenOptions, 's3'> = {}): OpenOptions {
  return { ...extra, ...(remote.s3 === undefined ? {} : { s3: remote.s3 }) };
}

function mergeRemote(
  workspace: Workspace,
  shared: RemoteDecl | undefined,
  local: LocalRemotes,
  own: LocalRemote | undefined = local.remotes.get(shared?.name ?? ''),
): Omit<RemoteConfig, 'isDefault'> {
  const name = shared?.name ?? own!.name;
  const url = own?.url?.value ?? shared?.url?.value;
  if (url === undefined) {
    // Only a local entry can lack a URL here: the manifest was validated when the workspace opened.
    throw localProblem(
      workspace,
      local,
      own!.line,
      `\`${name}\` is not a remote of sluice.yaml, so this machine's entry for it needs a \`url\`.`,
      `Add \`url:\` under it, or remove it with \`sluice remote remove ${name} --local\`.`,
    );
  }
  const location = locateRemote(url, workspace.root);
  if (location instanceof SluiceError) {
    if (own?.url === undefined) throw location;
    throw localProblem(
      workspace,
      local,
      own.url.line,
      location.message,
      location.hint ?? 'Give a folder, ssh:// or s3:// URL.',
    );
  }
  const endpoint = own?.endpoint?.value ?? shared?.endpoint?.value;
  const region = own?.region?.value ?? shared?.region?.value;
  const pathStyle = own?.pathStyle?.value ?? shared?.pathStyle?.value;
  if (location.kind !== 's3' && own) {
    // sluice.yaml's S3 options do not apply to another kind of URL this machine gives; its own would be a mistake.
    const option = own.endpoint ?? own.region ?? own.pathStyle;
    if (option !== undefined) {
      throw localProblem(
        workspace,
        local,
        option.line,
        `\`${name}\` is ${describeKind(location.kind)} here (${url}), and endpoint, region and path_style apply to S3 remotes only.`,
        'Remove that line, or give an s3:// URL.',
      );
    }
  }
  const forcePathStyle = pathStyle ?? (endpoint !== undefined ? true : undefined);
  const s3 =
    location.kind === 's3'
      ? {
          ...(endpoint === undefined ? {} : { endpoint }),
          ...(region === undefined ? {} : { region }),
          ...(forcePathStyle === undefined ? {} : { forcePathStyle }),
        }
      : undefined;
  return {
    name,
    url,
    location,
    gitRemote: own?.git?.value ?? shared?.git?.value ?? DEFAULT_GIT_REMOTE,
    ...(s3 === undefined ? {} : { s3 }),
    source: shared ? 'manifest' : 'local',
    overridden:
      shared !== undefined &&
      own !== undefined &&
      [own.url, own.endpoint, own.region, own.pathStyle, own.git].some((field) => field !== undefined),
  };
}

function defaultName(
  workspace: Workspace,
  remotes: readonly Omit<RemoteConfig, 'isDefault'>[],
  local: LocalRemotes,
): string | undefined {
  const names = remotes.map((remote) => remote.name);
  if (local.default) {
    const chosen = local.default.value;
    if (names.includes(chosen)) return chosen;
    const near = closestName(chosen, names);
    throw localProblem(
      workspace,
      local,
      local.default.line,
      `\`default: ${chosen}\` names no remote.${near === undefined ? '' : ` Did you mean \`${near}\`?`}`,
      names.length > 0
        ? `Name one of ${names.join(', ')}, or remove the line.`
        : 'No remote is configured: remove the line, or add one with `sluice remote add NAME URL`.',
    );
  }
  for (const remote of workspace.manifest.remotes.values())
    if (remote.default?.value === true) return remote.name;
  return names.length === 1 ? names[0] : undefined;
}

// --- .sluice/remotes.yaml -----------------------------------------------------

function displayName(workspace: Workspace, file: string): string {
  return relative(workspace.root, file) || file;
}

/** A problem of .sluice/remotes.yaml: names the file and the line, says what to do. Exit 2, like a manifest error. */
function localProblem(
  workspace: Workspace,
  local: Pick<LocalRemotes, 'file'>,
  line: number,
  problem: string,
  todo: string,
): SluiceError {
  return new SluiceError(
    `${displayName(workspace, local.file)}, line ${line}: ${problem}`,
    'usage',
    `${todo} (That file holds this machine's remote settings; it is not shared.)`,
    { code: 'remote-settings-invalid', data: { file: local.file, line } },
  );
}

/** Reads and checks .sluice/remotes.yaml; an absent file is no settings. */
export function readLocalRemotes(workspace: Workspace): LocalRemotes {
  const file = localRemotesPath(workspace);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      return { file, exists: false, remotes: new Map() };
    throw error;
  }
  return parseLocalRemotes(workspace, file, text);
}

/** The settings in `text`, the content (present or proposed) of .sluice/remotes.yaml at `file`. */
export function parseLocalRemotes(workspace: Workspace, file: string, text: string): LocalRemotes {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const lineOf = (offset: number): number => lines.linePos(offset).line;
  const fail = (offset: number, problem: string, todo: string): SluiceError =>
    localProblem(workspace, { file }, lineOf(offset), problem, todo);
  const syntax = document.errors[0];
  if (syntax) {
    throw fail(
      syntax.pos[0],
      `it is not valid YAML: ${syntax.message
        .split('\n')[0]!
        .replace(/ at line \d+, column \d+:?$/, '')
        .replace(/:$/, '')}.`,
      'Fix the YAML there, or delete the file and set it again with `sluice remote … --local`.',
    );
  }
  const top = document.contents;
  if (top === null || (isScalar(top) && top.value === null))
    return { file, exists: true, remotes: new Map() };
  if (!isMap(top))
    throw fail(
      rangeStart(top),
      'the file should be a mapping with `remotes:` and `default:`.',
      'Rewrite it.',
    );
  let chosen: Placed<string> | undefined;
  const remotes = new Map<string, LocalRemote>();
  for (const pair of top.items as Pair<YamlNode, YamlNode | null>[]) {
    const key = keyText(pair);
    const at = rangeStart(pair.key);
    if (key === 'default') {
      const value = pair.value;
      if (!isScalar(value) || typeof value.value !== 'string' || !REMOTE_NAME.test(value.value))
        throw fail(
          at,
          '`default:` should name a remote, as in `default: team`.',
          'Write the name of a remote.',
        );
      chosen = { value: value.value, line: lineOf(at) };
    } else if (key === 'remotes') {
      const body = pair.value;
      if (body === null || (isScalar(body) && body.value === null)) continue;
      if (!isMap(body))
        throw fail(
          at,
          '`remotes:` should map names to settings.',
          'Write `remotes:` then `  NAME:` and its fields.',
        );
      for (const entry of body.items as Pair<YamlNode, YamlNode | null>[]) {
        const remote = readLocalEntry(entry, lineOf, fail);
        remotes.set(remote.name, remote);
      }
    } else {
      throw unknownKey(key, ['default', 'remotes'], at, fail);
    }
  }
  return { file, exists: true, ...(chosen === undefined ? {} : { default: chosen }), remotes };
}

type Fail = (offset: number, problem: string, todo: string) => SluiceError;

function readLocalEntry(
  entry: Pair<YamlNode, YamlNode | null>,
  lineOf: (offset: number) => number,
  fail: Fail,
): LocalRemote {
  const name = keyText(entry);
  const at = rangeStart(entry.key);
  if (!REMOTE_NAME.test(name))
    throw fail(at, `\`${name}\` is not a remote name.`, 'Use a letter, then letters, digits, `_` or `-`.');
  const body = entry.value;
  if (!isMap(body))
    throw fail(
      at,
      `\`${name}:\` should hold its settings (url, endpoint, region, path_style, git).`,
      'Indent its fields under it.',
    );
  const fields: {
    url?: Placed<string>;
    endpoint?: Placed<string>;
    region?: Placed<string>;
    pathStyle?: Placed<boolean>;
    git?: Placed<string>;
  } = {};
  for (const pair of body.items as Pair<YamlNode, YamlNode | null>[]) {
    const key = keyText(pair);
    const keyAt = rangeStart(pair.key);
    const line = lineOf(keyAt);
    const value = isScalar(pair.value) ? pair.value.value : undefined;
    if (key === 'path_style') {
      if (typeof value !== 'boolean')
        throw fail(keyAt, '`path_style` should be true or false.', 'Write true or false.');
      fields.pathStyle = { value, line };
      continue;
    }
    if (key === 'default')
      throw fail(
        keyAt,
        `a remote's \`default\` is not set here: this file names its default remote at the top.`,
        `Replace the line with \`default: ${name}\` at the top of the file.`,
      );
    if (!LOCAL_REMOTE_KEYS.includes(key)) throw unknownKey(key, LOCAL_REMOTE_KEYS, keyAt, fail);
    if (typeof value !== 'string' || value.trim() === '')
      throw fail(keyAt, `\`${key}\` of \`${name}\` should be text.`, `Write its ${key}, or remove the line.`);
    if ((key === 'url' || key === 'endpoint') && urlCredentials(value))
      throw fail(
        keyAt,
        `this ${key} carries a password (\`user:…@\`). Sluice reads no credentials from its files.`,
        CREDENTIALS_ADVICE.replace(/^./, (c) => c.toUpperCase()),
      );
    if (key === 'endpoint') {
      const problem = endpointProblem(value);
      if (problem !== undefined)
        throw fail(keyAt, `the endpoint \`${value}\` ${problem}.`, 'Fix the endpoint.');
    }
    if (key === 'git' && !GIT_REMOTE_NAME.test(value))
      throw fail(
        keyAt,
        `\`${value}\` is not a git remote's name.`,
        'Name a remote `git remote` lists, such as origin.',
      );
    const placed = { value, line };
    if (key === 'url') fields.url = placed;
    else if (key === 'endpoint') fields.endpoint = placed;
    else if (key === 'region') fields.region = placed;
    else fields.git = placed;
  }
  return { name, line: lineOf(at), ...fields };
}

function unknownKey(key: string, allowed: readonly string[], at: number, fail: Fail): SluiceError {
  if (isCredentialKey(key))
    return fail(
      at,
      `\`${key}\` would hold a secret. Sluice reads no credentials from its files.`,
      CREDENTIALS_ADVICE.replace(/^./, (c) => c.toUpperCase()),
    );
  const near = closestName(key, allowed);
  return fail(
    at,
    `unknown key \`${key}\`.${near === undefined ? '' : ` Did you mean \`${near}\`?`}`,
    `Allowed here: ${allowed.join(', ')}.`,
  );
}

function keyText(pair: Pair<YamlNode, YamlNode | null>): string {
  return isScalar(pair.key) ? String(pair.key.value) : '';
}

function rangeStart(node: unknown): number {
  const range = (node as { range?: readonly number[] | null } | null)?.range;
  return range?.[0] ?? 0;
}
