// `sluice remote add`, `remove` and `default`: shared remotes are edited in
// sluice.yaml in place (only the lines of that remote change: comments and
// layout stay as the user wrote them), per-machine ones in .sluice/remotes.yaml.
// Each file is checked as it will be read before it is written, atomically:
// after any of these, every command still opens the workspace.
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, sep } from 'node:path';
import { isMap, parseDocument } from 'yaml';
import { notFound, SluiceError } from '../errors';
import { writeFileAtomic } from '../fs/atomicWrite';
import { analyzeManifest } from '../manifest';
import {
  addRemoteText,
  RemoteEditRefused,
  removeRemoteText,
  setDefaultRemoteText,
  type RemoteFields,
} from '../manifest/remoteEdits';
import {
  CREDENTIALS_ADVICE,
  describeKind,
  endpointProblem,
  GIT_REMOTE_NAME,
  locateRemote,
  REMOTE_NAME,
  urlCredentials,
} from '../manifest/remotes';
import { closestName } from '../manifest/spelling';
import { DiskProbe } from '../paths';
import type { Workspace } from './index';
import { listRemotes, parseLocalRemotes, readLocalRemotes, remotesWith, type LocalRemotes } from './remotes';

export interface AddRemoteOptions {
  readonly url: string;
  /** Make it the default: `default: true` in sluice.yaml, or `default: NAME` in .sluice/remotes.yaml with `local`. */
  readonly makeDefault?: boolean;
  /** Write .sluice/remotes.yaml (this machine only); for a name sluice.yaml declares, this overrides it here. */
  readonly local?: boolean;
  readonly endpoint?: string;
  readonly region?: string;
  readonly git?: string;
  /**
   * The folder a relative folder URL was typed in (the shell's). The files
   * keep folder URLs relative to the workspace root, so it is rewritten
   * relative to that.
   */
  readonly cwd?: string;
}

export interface WrittenFile {
  readonly which: 'manifest' | 'local';
  readonly path: string;
}

export interface RemoteChange {
  readonly action: 'add' | 'remove' | 'default';
  readonly name: string;
  /** The files written: sluice.yaml (`manifest`), .sluice/remotes.yaml (`local`) or both, with their absolute paths. */
  readonly files: readonly WrittenFile[];
  /** The URL as written to the file (a relative folder made relative to the workspace root); add only. */
  readonly url?: string;
  /** An add --local of a remote sluice.yaml declares: this machine's settings for it. */
  readonly override: boolean;
  /**
   * This machine's default (`default:` in .sluice/remotes.yaml) when it is
   * another remote than the one sluice.yaml now marks default: it still wins here.
   */
  readonly localDefault?: string;
}

export function addRemote(workspace: Workspace, name: string, options: AddRemoteOptions): RemoteChange {
  requireName(name);
  const url = storedUrl(workspace, name, options);
  const fields: RemoteFields = {
    url,
    ...(options.makeDefault === true && options.local !== true ? { default: true } : {}),
    ...(options.git === undefined ? {} : { git: options.git }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.region === undefined ? {} : { region: options.region }),
  };
  const local = readLocalRemotes(workspace);
  if (options.local === true) {
    if (local.remotes.has(name)) throw exists(name, local.file, true);
    const file = editLocal(workspace, local, (document) => {
      document.setIn(['remotes', name], document.createNode(fields));
      if (options.makeDefault === true) setLocalDefault(document, name);
    });
    return { action: 'add', name, url, files: [file], override: workspace.manifest.remotes.has(name) };
  }
  if (workspace.manifest.remotes.has(name)) throw exists(name, workspace.manifestFile, false);
  const file = editManifest(workspace, name, (text) => addRemoteText(text, name, fields));
  return {
    action: 'add',
    name,
    url,
    files: [file],
    override: false,
    ...localDefaultBeside(local, options.makeDefault === true ? name : undefined),
  };
}

export function removeRemote(
  workspace: Workspace,
  name: string,
  options: { local?: boolean } = {},
): RemoteChange {
  const local = readLocalRemotes(workspace);
  const shared = workspace.manifest.remotes;
  const files: WrittenFile[] = [];
  if (options.local !== true) {
    if (!shared.has(name)) {
      const onlyHere = local.remotes.has(name);
      throw notFound(
        'remote',
        name,
        onlyHere
          ? `sluice.yaml has no remote named '${name}'; it is one of this machine's own (.sluice/remotes.yaml).`
          : `No remote named '${name}' in sluice.yaml.${suggestion(name, [...shared.keys()])}`,
        onlyHere
          ? `Remove it with \`sluice remote remove ${name} --local\`.`
          : 'See them with `sluice remote list`.',
        { data: { candidates: [...shared.keys()] } },
      );
    }
    files.push(editManifest(workspace, name, (text) => removeRemoteText(text, name)));
  } else if (!local.remotes.has(name) && local.default?.value !== name) {
    throw notFound(
      'remote',
      name,
      `This machine has no settings for a remote named '${name}' (.sluice/remotes.yaml).${suggestion(name, [...local.remotes.keys()])}`,
      shared.has(name)
        ? `'${name}' is shared: \`sluice remote remove ${name}\` removes it from sluice.yaml.`
        : 'See them with `sluice remote list`.',
      { data: { candidates: [...local.remotes.keys()] } },
    );
  }
  // This machine's settings for a remote that is gone would point at nothing.
  if (local.remotes.has(name) || local.default?.value === name) {
    files.push(
      editLocal(workspace, local, (document) => {
        document.deleteIn(['remotes', name]);
        const remotes: unknown = document.get('remotes');
        if (isMap(remotes) && remotes.items.length === 0) document.delete('remotes');
        if (document.get('default') === name) document.delete('default');
      }),
    );
  }
  return { action: 'remove', name, files, override: false };
}

export function setDefaultRemote(
  workspace: Workspace,
  name: string,
  options: { local?: boolean } = {},
): RemoteChange {
  const local = readLocalRemotes(workspace);
  if (options.local === true) {
    const names = listRemotes(workspace).map((remote) => remote.name);
    if (!names.includes(name))
      throw notFound(
        'remote',
        name,
        `No remote named '${name}'.${suggestion(name, names)}`,
        'See them with `sluice remote list`.',
        { data: { candidates: names } },
      );
    const file = editLocal(workspace, local, (document) => {
      setLocalDefault(document, name);
    });
    return { action: 'default', name, files: [file], override: false };
  }
  const shared = [...workspace.manifest.remotes.keys()];
  if (!shared.includes(name)) {
    const onlyHere = local.remotes.has(name);
    throw notFound(
      'remote',
      name,
      onlyHere
        ? `'${name}' is one of this machine's own remotes, so sluice.yaml cannot make it the default.`
        : `No remote named '${name}' in sluice.yaml.${suggestion(name, shared)}`,
      onlyHere
        ? `Make it this machine's default: \`sluice remote default ${name} --local\`.`
        : 'See them with `sluice remote list`.',
      { data: { candidates: shared } },
    );
  }
  const file = editManifest(workspace, name, (text) => setDefaultRemoteText(text, name));
  return { action: 'default', name, files: [file], override: false, ...localDefaultBeside(local, name) };
}

function localDefaultBeside(
  local: LocalRemotes,
  sharedDefault: string | undefined,
): { localDefault?: string } {
  const chosen = local.default?.value;
  return sharedDefault !== undefined && chosen !== undefined && chosen !== sharedDefault
    ? { localDefault: chosen }
    : {};
}

function suggestion(name: string, names: readonly string[]): string {
  const near = closestName(name, names);
  return near === undefined ? '' : ` Did you mean '${near}'?`;
}

function requireName(name: string): void {
  if (REMOTE_NAME.test(name)) return;
  throw new SluiceError(
    `'${name}' is not a valid remote name: use a letter, then letters, digits, '_' or '-'.`,
    'usage',
    'For example `sluice remote add team ssh://host/srv/sluice`.',
    { code: 'remote-name-invalid', data: { remote: name } },
  );
}

function exists(name: string, file: string, local: boolean): SluiceError {
  return new SluiceError(
    local
      ? `This machine already has settings for the remote '${name}' (.sluice/remotes.yaml).`
      : `sluice.yaml already has a remote named '${name}'.`,
    'failed',
    `Remove it first with \`sluice remote remove ${name}${local ? ' --local' : ''}\`, or choose another name.`,
    { code: 'remote-exists', data: { remote: name, file } },
  );
}

/** The URL to write, after every check a reader of the file would make; relative folders made relative to the root. */
function storedUrl(workspace: Workspace, name: string, options: AddRemoteOptions): string {
  const url = options.url.trim();
  const secret = urlCredentials(url);
  if (secret) {
    throw new SluiceError(
      `The URL of '${name}' carries a password (user:…@); it would be stored for anyone to read.`,
      'usage',
      `Give the URL without it. ${CREDENTIALS_ADVICE.replace(/^./, (c) => c.toUpperCase())}`,
      {
        code: 'remote-url-invalid',
        data: { url: `${url.slice(0, secret.start)}…${url.slice(secret.end)}`, credentials: true },
      },
    );
  }
  const from = options.cwd ?? workspace.root;
  const location = locateRemote(url, from);
  if (location instanceof SluiceError) throw location;
  const s3Flag =
    options.endpoint !== undefined ? '--endpoint' : options.region !== undefined ? '--region' : undefined;
  if (location.kind !== 's3' && s3Flag !== undefined)
    throw new SluiceError(
      `${s3Flag} applies to S3 remotes only, and ${url} is ${describeKind(location.kind)}.`,
      'usage',
      'Leave it out, or give an s3://bucket/prefix URL.',
      { code: 'remote-option-not-s3', data: { remote: name, option: s3Flag } },
    );
  if (options.endpoint !== undefined) {
    const problem = urlCredentials(options.endpoint)
      ? 'carries a password (user:…@)'
      : endpointProblem(options.endpoint);
    if (problem !== undefined)
      throw new SluiceError(
        `The endpoint ${problem}.`,
        'usage',
        'Give it as https://host:port or http://host:port.',
        {
          code: 'remote-endpoint-invalid',
          data: { remote: name },
        },
      );
  }
  if (options.git !== undefined && !GIT_REMOTE_NAME.test(options.git))
    throw new SluiceError(
      `--git must name a git remote, not '${options.git}'.`,
      'usage',
      'For example --git origin.',
      {
        code: 'invalid-flag-value',
        data: { flag: 'git', value: options.git },
      },
    );
  if (location.kind !== 'folder' || isAbsolute(url) || /^(~|file:)/i.test(url) || from === workspace.root)
    return url;
  const fromRoot = relative(workspace.root, location.path).split(sep).join('/');
  return fromRoot === '' ? '.' : fromRoot;
}

/** Reads sluice.yaml, edits it, checks the result as `openWorkspace` will, and writes it atomically. */
function editManifest(workspace: Workspace, name: string, change: (text: string) => string): WrittenFile {
  const target = realpathSync(workspace.manifestFile);
  const before = readFileSync(target, 'utf8');
  let after: string;
  try {
    after = change(before);
  } catch (error) {
    if (!(error instanceof RemoteEditRefused)) throw error;
    throw new SluiceError(error.message, 'failed', 'Edit the `remotes:` section of sluice.yaml by hand.', {
      code: 'manifest-edit-refused',
      data: { file: workspace.manifestFile, remote: name },
    });
  }
  const problems = analyzeManifest(after, { probe: new DiskProbe(workspace.root) }).diagnostics.filter(
    (diagnostic) => diagnostic.severity === 'error',
  );
  if (problems.length > 0)
    throw new SluiceError(
      `sluice.yaml would not be valid after this change (${problems[0]!.message}); it was left as it was.`,
      'usage',
      'Run `sluice validate`, fix what it reports, then run the command again.',
      { code: 'manifest-invalid', data: { file: workspace.manifestFile, errors: problems.length } },
    );
  writeUnchanged(target, before, after, 'sluice.yaml');
  return { which: 'manifest', path: workspace.manifestFile };
}

type LocalDocument = ReturnType<typeof parseDocument>;

const LOCAL_HEADER = [
  "# This machine's remote settings for Sluice: git-ignored, never shared.",
  "# Fields under a remote sluice.yaml declares override it here; other remotes are this machine's own.",
  '# `default: NAME` chooses the remote push, fetch and pull use here. No credentials: SSH uses',
  '# ~/.ssh/config and the agent, S3 the AWS credential chain. `sluice remote … --local` writes it.',
  '',
].join('\n');

/** Edits .sluice/remotes.yaml with the Document API (comments kept), checks the result, writes it atomically. */
function editLocal(
  workspace: Workspace,
  local: LocalRemotes,
  change: (document: LocalDocument) => void,
): WrittenFile {
  const before = local.exists ? readFileSync(local.file, 'utf8') : undefined;
  const document = parseDocument(before ?? LOCAL_HEADER);
  change(document);
  const top = document.contents;
  const empty = top === null || (isMap(top) && top.items.length === 0);
  const after = empty ? LOCAL_HEADER : document.toString({ lineWidth: 0 });
  // Read back as every command will read it: a file this writes must never be refused later.
  remotesWith(workspace, parseLocalRemotes(workspace, local.file, after));
  writeUnchanged(local.file, before, after, '.sluice/remotes.yaml');
  return { which: 'local', path: local.file };
}

/** `default: NAME` at the top of the file, where a reader looks first. */
function setLocalDefault(document: LocalDocument, name: string): void {
  const top = document.contents;
  if (isMap(top) && !top.has('default')) top.items.unshift(document.createPair('default', name));
  else document.set('default', name);
}

/** Writes `after` over `target` unless another process changed it since it was read as `before`. */
function writeUnchanged(target: string, before: string | undefined, after: string, shown: string): void {
  let now: string | undefined;
  let mode = 0o644;
  try {
    now = readFileSync(target, 'utf8');
    mode = statSync(target).mode & 0o7777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (now !== before)
    throw new SluiceError(
      `${shown} changed while Sluice was editing it; nothing was written.`,
      'conflict',
      'Run the command again.',
      { code: 'file-changed', data: { file: target } },
    );
  try {
    writeFileAtomic(target, after, mode);
  } catch (error) {
    // The temporary file beside it failed (a read-only or full disk): the file the user knows is the one to name.
    if (error instanceof Error && 'path' in error) Object.assign(error, { path: target, syscall: 'write' });
    throw error;
  }
}
