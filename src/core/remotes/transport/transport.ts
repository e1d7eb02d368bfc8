// The byte-moving layer of remotes: one small interface, three kinds of
// remote (a folder, an SSH server, an S3 bucket). A transport moves bytes by
// key and knows nothing of blobs, packs, refs or datasets; what a key means
// is decided above it. Every implementation keeps the same promises:
//
// - `put` is atomic for readers: a key is absent or complete, never partial.
//   A put cut off leaves no visible key; what it leaves behind is named so a
//   later cleanup can recognise it (`isTemporaryKey`).
// - Large files stream with bounded memory, several requests in flight.
// - Failures are SluiceErrors with a stable code and `data.remote`, worded
//   for the user with the next step.
import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { isAbsolute, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CancelledError, SluiceError, type ErrorData } from '../../errors';

export interface FolderLocation {
  readonly kind: 'folder';
  /** What the user wrote, for messages. */
  readonly url: string;
  /** Absolute and normalised. */
  readonly path: string;
}

export interface SshLocation {
  readonly kind: 'ssh';
  readonly url: string;
  /** A host name, an address or a Host alias of the user's ssh_config. */
  readonly host: string;
  /** Undefined: whatever ssh_config says (or the local user name). */
  readonly user: string | undefined;
  /** Undefined: whatever ssh_config says (or 22). */
  readonly port: number | undefined;
  /** Absolute (`/srv/sluice`), or relative to the login folder (`sluice`, `.`). */
  readonly path: string;
}

export interface S3Location {
  readonly kind: 's3';
  readonly url: string;
  readonly bucket: string;
  /** Keys live under `prefix/`; '' for the bucket's root. No leading or trailing slash. */
  readonly prefix: string;
}

export type RemoteLocation = FolderLocation | SshLocation | S3Location;
export type RemoteKind = RemoteLocation['kind'];

export const ACCEPTED_URL_FORMS =
  'a folder (/mnt/team/sluice or file:///mnt/team/sluice), ssh://[user@]host[:port]/path, [user@]host:path, or s3://bucket/prefix';

export interface ParseOptions {
  /** Where a relative folder path starts (the workspace root); without it a folder must be absolute. */
  readonly relativeTo?: string;
}

/**
 * A remote's URL, parsed. Accepts a folder path (absolute, `~/…`, or relative
 * to `relativeTo`), `file://`, `ssh://[user@]host[:port]/path` (`/~/path` is
 * in the login folder), scp-like `[user@]host:path` (relative to the login
 * folder unless it starts with /), and `s3://bucket/prefix`. Like git, a
 * colon before the first slash makes a path scp-like: write `./a:b` for a
 * folder with a colon in its name.
 */
export function parseRemoteUrl(url: string, options: ParseOptions = {}): RemoteLocation {
  const text = url.trim();
  if (text === '') throw invalidUrl(url, 'is empty');
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text)?.[1]?.toLowerCase();
  if (scheme === 'file') return parseFileUrl(text);
  if (scheme === 'ssh' || scheme === 'sftp') return parseSshUrl(text, scheme.length + 3);
  if (scheme === 's3') return parseS3Url(text);
  if (scheme !== undefined) throw invalidUrl(text, `uses ${scheme}://, which Sluice cannot reach`);
  if (/^[A-Za-z]:[\\/]/.test(text)) return { kind: 'folder', url: text, path: normalize(text) };
  const scpLike = /^(?:([^@/:]+)@)?(\[[^\]/]+\]|[^@/:[\]]+):(.*)$/.exec(text);
  if (scpLike) {
    const [, user, host, path] = scpLike;
    return sshLocation(text, user, host!, undefined, loginRelative(path!));
  }
  return { kind: 'folder', url: text, path: folderPath(text, options.relativeTo) };
}

function folderPath(text: string, relativeTo: string | undefined): string {
  if (text === '~' || text.startsWith('~/')) return resolve(homedir() + text.slice(1));
  if (isAbsolute(text)) return resolve(text);
  if (relativeTo === undefined) throw invalidUrl(text, 'is a relative folder path; give an absolute one');
  return resolve(relativeTo, text);
}

function parseFileUrl(text: string): FolderLocation {
  let path: string;
  try {
    path = fileURLToPath(text);
  } catch {
    throw invalidUrl(text, 'is not a file:// URL of a local folder (file:///absolute/path)');
  }
  return { kind: 'folder', url: text, path: resolve(path) };
}

function parseSshUrl(text: string, after: number): SshLocation {
  const slash = text.indexOf('/', after);
  const authority = slash === -1 ? text.slice(after) : text.slice(after, slash);
  const rest = slash === -1 ? '' : text.slice(slash);
  const parts = /^(?:([^@]+)@)?(\[[^\]]+\]|[^:[\]]+)(?::(\d*))?$/.exec(authority);
  if (!parts) throw invalidUrl(text, 'has no host (ssh://[user@]host[:port]/path)');
  const [, user, host, portText] = parts;
  if (rest === '' || rest === '/')
    throw invalidUrl(text, 'names no folder on the host (ssh://host/absolute/path or ssh://host/~/path)');
  let port: number | undefined;
  if (portText !== undefined && portText !== '') {
    port = Number(portText);
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw invalidUrl(text, `has port ${portText}, which is not between 1 and 65535`);
  }
  let path = rest;
  if (rest === '/~' || rest.startsWith('/~/')) path = loginRelative(rest.slice(1));
  else if (rest.startsWith('/~'))
    throw invalidUrl(text, "names another user's home (~user), which SFTP cannot expand");
  return sshLocation(text, user, host!, port, path);
}

/** A path in the login folder: '' and '~' are the login folder itself, '~/x' is 'x'. */
function loginRelative(path: string): string {
  if (path === '' || path === '~') return '.';
  if (path.startsWith('~/')) return path.slice(2) || '.';
  return path;
}

function sshLocation(
  text: string,
  user: string | undefined,
  host: string,
  port: number | undefined,
  path: string,
): SshLocation {
  // A host or user starting with '-' would reach ssh as an option (-oProxyCommand=…).
  if (!/^(?:[A-Za-z0-9_][A-Za-z0-9._-]*|\[[0-9A-Fa-f:.]+\])$/.test(host))
    throw invalidUrl(text, `has the host '${host}', which is not a host name, address or ssh_config alias`);
  if (user !== undefined && !/^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(user))
    throw invalidUrl(text, `has the user '${user}', which is not a user name`);
  if (path.includes('\0')) throw invalidUrl(text, 'has a NUL character in its path');
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  return { kind: 'ssh', url: text, host: bare, user, port, path };
}

function parseS3Url(text: string): S3Location {
  const rest = text.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
    throw invalidUrl(
      text,
      `has the bucket '${bucket}'; a bucket name is 3 to 63 lowercase letters, digits, dots and hyphens`,
    );
  const prefix = slash === -1 ? '' : rest.slice(slash + 1).replace(/^\/+|\/+$/g, '');
  if (
    prefix
      .split('/')
      .some((segment) => segment === '.' || segment === '..' || (segment === '' && prefix !== ''))
  )
    throw invalidUrl(text, `has the prefix '${prefix}', with an empty, '.' or '..' part`);
  return { kind: 's3', url: text, bucket, prefix };
}

function invalidUrl(url: string, problem: string): SluiceError {
  return new SluiceError(`The remote URL '${url}' ${problem}.`, 'usage', `Use ${ACCEPTED_URL_FORMS}.`, {
    code: 'remote-url-invalid',
    data: { url },
  });
}

/** Where the bytes of a put come from. */
export type PutSource = { readonly path: string } | { readonly bytes: Uint8Array };

export interface TransferOptions {
  /** Stops the transfer; the operation then rejects with a CancelledError and leaves no key. */
  readonly signal?: AbortSignal;
  /** Called as bytes move, with the bytes of this key moved so far (not those a resumed transfer found in place). */
  readonly onProgress?: (bytesSoFar: number) => void;
  /**
   * The digest the bytes must have. They are hashed as they move, in order,
   * in the same pass that moves them: a put is committed (renamed into place,
   * its multipart upload completed) only when they match, a get's file is
   * kept only when they match; otherwise nothing is left and `onMismatch()`
   * is thrown.
   */
  readonly verify?: TransferCheck;
}

export interface TransferCheck {
  readonly algorithm: 'sha256';
  /** Lowercase hex. */
  readonly expected: string;
  /** The error a mismatch is: worded for the user, naming what the bytes were meant to be. */
  readonly onMismatch: () => SluiceError;
}

export interface PutOptions extends TransferOptions {
  /**
   * A put of a file cut off (a SIGKILL, a dropped connection, a cancel)
   * keeps what it sent beside the key, under temporary names (or, on S3, as
   * its multipart upload); the next resumable put of the same key continues
   * after the part of it that is known complete and hashes to the same bytes.
   */
  readonly resumable?: boolean;
}

export interface GetOptions extends TransferOptions {
  /**
   * A path stem on this machine for a resumable get: the bytes land in
   * `<partial>.<pid>.part` (with a record of how much is complete beside it),
   * kept when the get is cut off, and renamed to `destPath` when whole. A
   * later get with the same stem takes over what a process that is gone
   * left, and receives only the rest.
   */
  readonly partial?: string;
}

/** What a put or a get did. */
export interface TransferResult {
  /** Bytes an earlier, cut-off transfer had moved already and that were not moved again. */
  readonly skipped: number;
}

export interface ListOptions {
  /** Also list what interrupted puts left behind (their keys satisfy `isTemporaryKey`), for a cleanup. */
  readonly includeTemporary?: boolean;
}

export interface RemoteEntry {
  readonly key: string;
  readonly size: number;
}

/**
 * A remote's bytes by key. A key is a relative, slash-separated path
 * (`objects/ab/cdef…`); the transport maps it under the remote's base folder
 * or prefix.
 */
export interface Transport {
  /** The remote as the user wrote it, for messages. */
  readonly display: string;
  /** The size of a key, or undefined when there is no such key. */
  stat(key: string): Promise<{ size: number } | undefined>;
  /** Every key starting with `prefix` (a string prefix, not only a folder), at any depth, in no particular order. */
  list(prefix: string, options?: ListOptions): AsyncIterable<RemoteEntry>;
  /** Writes a key atomically: readers see the old bytes or none until the new ones are complete. */
  put(key: string, source: PutSource, options?: PutOptions): Promise<TransferResult>;
  /** Streams a key into `destPath` (a temporary path the caller chose; created or replaced). */
  get(key: string, destPath: string, options?: GetOptions): Promise<TransferResult>;
  /** The bytes from `start` up to `endExclusive` or the end of the key, whichever comes first. */
  getRange(key: string, start: number, endExclusive: number): Promise<Uint8Array>;
  /** Removes a key; a key that is already gone is not an error. */
  delete(key: string): Promise<void>;
  /** Ends the connection. The transport is unusable afterwards. */
  close(): Promise<void>;
}

export interface OpenOptions {
  /** An ssh_config for `ssh -F` (tests); the user's own configuration otherwise. */
  readonly sshConfigFile?: string;
  /** For S3-protocol servers other than AWS (MinIO, Ceph RGW, R2, …). Credentials come from the AWS chain. */
  readonly s3?: {
    readonly endpoint?: string;
    readonly region?: string;
    /** Buckets in the path (http://host/bucket/key) rather than the host name; most servers but AWS need it. */
    readonly forcePathStyle?: boolean;
  };
}

/**
 * Connects to a remote and checks that its base folder or bucket exists,
 * so a wrong URL, host or credential fails here rather than mid-transfer.
 */
export async function openTransport(location: RemoteLocation, options: OpenOptions = {}): Promise<Transport> {
  // Loaded on demand, so the AWS SDK's modules are evaluated only when an S3
  // remote is used, not at every start of the CLI; esbuild inlines these
  // imports (no module loader is needed), and the `.js` is how TypeScript
  // spells a dynamic import of a .ts file.
  switch (location.kind) {
    case 'folder':
      return (await import('./folder.js')).openFolderTransport(location);
    case 'ssh':
      return (await import('./ssh.js')).openSshTransport(location, options.sshConfigFile);
    case 's3':
      return (await import('./s3.js')).openS3Transport(location, options.s3 ?? {});
  }
}

/** The codes of transport failures; each error's `data.remote` names the remote. */
export type RemoteErrorCode =
  /** connection refused, host unknown, timed out, or the connection dropped. */
  | 'remote-unreachable'
  /** the login or the credentials were refused, or the host key is not trusted. */
  | 'remote-auth'
  /** the base folder or the bucket does not exist. */
  | 'remote-not-found'
  /** the remote may not be written (or read) by this user. */
  | 'remote-permission'
  /** the remote's disk or quota is full. */
  | 'remote-full'
  /** no such key on the remote; data: {key}. */
  | 'remote-object-missing'
  /** a key that is not a relative slash-separated path (a bug above this layer); data: {key}. */
  | 'remote-key-invalid'
  /** anything else the remote reported; data says what it said. */
  | 'remote-failed';

export function remoteError(
  code: RemoteErrorCode,
  remote: string,
  message: string,
  hint: string,
  data: ErrorData = {},
): SluiceError {
  return new SluiceError(message, 'failed', hint, { code, data: { remote, ...data } });
}

export function cancelled(what: string, remote: string, key: string): CancelledError {
  return new CancelledError(`${what} of ${key} (${remote})`, {
    hint: 'Nothing was left under that key; run it again when ready.',
    data: { remote, key },
  });
}

/** Throws the cancellation when `signal` has fired. */
export function throwIfAborted(
  signal: AbortSignal | undefined,
  what: string,
  remote: string,
  key: string,
): void {
  if (signal?.aborted) throw cancelled(what, remote, key);
}

const TEMPORARY_MARKER = '.sluice-tmp-';
const TEMPORARY_KEY = /\.sluice-tmp-[0-9a-f]{12}$/;

/** True for what an interrupted put left behind, beside the key it was writing. */
export function isTemporaryKey(key: string): boolean {
  return TEMPORARY_KEY.test(key);
}

/** A fresh temporary name beside `key`, recognisable by `isTemporaryKey`. */
export function temporaryKeyFor(key: string): string {
  return `${key}${TEMPORARY_MARKER}${randomBytes(6).toString('hex')}`;
}

const RESUME_MARKER = '.sluice-resume';

/**
 * The key of the record of a resumable put's temporary key (how much of it
 * is complete): beside it, and itself temporary, so a cleanup removes both.
 */
export function resumeRecordKeyFor(temporaryKey: string): string {
  const at = temporaryKey.lastIndexOf(TEMPORARY_MARKER);
  return `${temporaryKey.slice(0, at)}${RESUME_MARKER}${temporaryKey.slice(at)}`;
}

/** For the record key of a resumable put: the key being put and the temporary key holding its bytes. */
export function parseResumeRecordKey(recordKey: string): { key: string; temporaryKey: string } | undefined {
  const match = /^(.*)\.sluice-resume(\.sluice-tmp-[0-9a-f]{12})$/.exec(recordKey);
  if (!match) return undefined;
  return { key: match[1]!, temporaryKey: `${match[1]!}${match[2]!}` };
}

/**
 * Refuses a key that could escape the base folder or collide with a temporary
 * name (`allowTemporary`: a cleanup deleting what an interrupted put left).
 */
export function checkKey(
  key: string,
  remote: string,
  options: { readonly allowTemporary?: boolean } = {},
): void {
  const problem =
    key === ''
      ? 'is empty'
      : key.startsWith('/')
        ? 'starts with /'
        : // eslint-disable-next-line no-control-regex
          /[\\\x00-\x1f]/.test(key)
          ? 'has a backslash or a control character'
          : key.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')
            ? "has an empty, '.' or '..' part"
            : isTemporaryKey(key) && options.allowTemporary !== true
              ? 'is the name of a temporary file'
              : undefined;
  if (problem !== undefined)
    throw remoteError(
      'remote-key-invalid',
      remote,
      `Sluice asked ${remote} for the key '${key}', which ${problem}.`,
      'This is a bug in Sluice; please report it.',
      { key },
    );
}

/** The error for a key that is not on the remote. */
export function objectMissing(remote: string, key: string): SluiceError {
  return remoteError(
    'remote-object-missing',
    remote,
    `${remote} has no ${key}.`,
    'Push it again from a machine that has it, or check that this is the right remote.',
    { key },
  );
}

/**
 * Runs `count` copies of `lane` at once and settles when all have. Once one
 * fails, `stopped()` tells the others to take no more work; the first failure
 * is thrown after every lane has stopped, so nothing is still in flight when
 * the caller cleans up.
 */
export async function runLanes(
  count: number,
  lane: (stopped: () => boolean) => Promise<void>,
  /** Told of the first failure at once: lanes waiting on each other (an OrderedDigest) must stop waiting. */
  onFailure?: (error: unknown) => void,
): Promise<void> {
  const outcome: { failed: boolean; firstFailure: unknown } = { failed: false, firstFailure: undefined };
  const stopped = (): boolean => outcome.failed;
  await Promise.all(
    Array.from({ length: count }, async () => {
      try {
        await lane(stopped);
      } catch (error) {
        if (!outcome.failed) {
          outcome.firstFailure = error;
          outcome.failed = true;
          onFailure?.(error);
        }
      }
    }),
  );
  if (outcome.failed) throw outcome.firstFailure;
}
