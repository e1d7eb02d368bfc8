// The rules of a remote's configuration, one copy for both places a remote is
// written: sluice.yaml (diagnostics here) and the per-machine
// .sluice/remotes.yaml (read by workspace/remotes.ts). Which URLs parse, which
// options only an S3 remote takes, and that no credential is ever written down.
import { SluiceError } from '../errors';
import {
  ACCEPTED_URL_FORMS,
  parseRemoteUrl,
  type RemoteKind,
  type RemoteLocation,
} from '../remotes/transport/transport';
import type { ManifestDiagnostic } from './diagnostics';
import type { Located, Manifest, RemoteDecl } from './model';
import { manifestSchema } from './schema';
import { contentOffset } from './yamlTree';

/** The options only an `s3://` remote takes, as they are spelled in YAML. */
export const S3_ONLY_KEYS: readonly string[] = ['endpoint', 'region', 'path_style'];

/** The git remote that carries `refs/sluice/*` when a remote names none. */
export const DEFAULT_GIT_REMOTE = 'origin';

const REMOTE_PROPERTIES = manifestSchema.definitions?.['remote']?.properties ?? {};

/** A git remote's name as the schema accepts it: never an option to git (`--upload-pack=…`). */
export const GIT_REMOTE_NAME = new RegExp(REMOTE_PROPERTIES['git']?.pattern ?? '^$', 'u');

/** A remote's name, as the schema accepts it (a letter, then letters, digits, `_` or `-`). */
export const REMOTE_NAME = new RegExp(manifestSchema.definitions?.['name']?.pattern ?? '^$', 'u');

/** The keys a remote takes in sluice.yaml, from the schema. */
export const REMOTE_KEYS: readonly string[] = Object.keys(REMOTE_PROPERTIES);

/** What to do instead of writing a secret, for every message that refuses one. */
export const CREDENTIALS_ADVICE =
  'SSH logs in with your ~/.ssh/config, keys and ssh agent; S3 uses the AWS credential chain ' +
  '(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile in ~/.aws, or an instance role).';

const CREDENTIAL_KEY =
  /^(?:aws_)?(?:access_?key(?:_?id)?|secret(?:_?access)?(?:_?key)?|password|passwd|pass|passphrase|token|session_?token|api_?key|private_?key|credentials?)$/;

/** True for a key that would hold a secret: `access_key`, `secret_key`, `password`, `token`, … */
export function isCredentialKey(key: string): boolean {
  return CREDENTIAL_KEY.test(key.toLowerCase().replace(/-/g, '_'));
}

/**
 * Where a URL carries a password (`scheme://user:password@…`, or scp-like
 * `user:password@host:path`): the offsets of `user:password` in it. Messages
 * name the place, never the secret.
 */
export function urlCredentials(url: string): { readonly start: number; readonly end: number } | undefined {
  const text = url.trimStart();
  const lead = url.length - text.length;
  const withScheme = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/@\s]*:[^/@\s]*)@/.exec(text);
  if (withScheme) {
    const start = lead + withScheme[1]!.length;
    return { start, end: start + withScheme[2]!.length };
  }
  const scpLike = /^([^@/:\s]+:[^@/\s]*)@[^/:\s]+:/.exec(text);
  if (scpLike && !/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text))
    return { start: lead, end: lead + scpLike[1]!.length };
  return undefined;
}

/** What is wrong with an S3 endpoint, or undefined when it is an http(s) URL of a server. */
export function endpointProblem(endpoint: string): string | undefined {
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(endpoint.trim()))
    return 'is not a URL; write the server as http://host:port or https://host';
  let parsed: URL;
  try {
    parsed = new URL(endpoint.trim());
  } catch {
    return 'is not a URL; write the server as http://host:port or https://host';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    return `uses ${parsed.protocol}//; an S3 endpoint is http://host:port or https://host`;
  if (parsed.hostname === '') return 'names no host';
  return undefined;
}

/** The words for a kind of remote, in messages: "an SSH remote". */
export function describeKind(kind: RemoteKind): string {
  return kind === 'folder' ? 'a folder remote' : kind === 'ssh' ? 'an SSH remote' : 'an S3 remote';
}

/**
 * The location of a remote's URL, or the SluiceError `parseRemoteUrl` throws.
 * Relative folders are relative to `root`, the workspace root.
 */
export function locateRemote(url: string, root: string): RemoteLocation | SluiceError {
  try {
    return parseRemoteUrl(url, { relativeTo: root });
  } catch (error) {
    if (error instanceof SluiceError) return error;
    throw error;
  }
}

/** Where relative folder URLs are resolved while checking the manifest: only whether they parse matters. */
const CHECKING_ROOT = '/';

/** Diagnostics of the `remotes:` section beyond its structure: URLs, S3-only options, secrets, defaults. */
export function checkRemotes(text: string, manifest: Manifest, out: ManifestDiagnostic[]): void {
  let firstDefault: RemoteDecl | undefined;
  for (const remote of manifest.remotes.values()) {
    const kind = remote.url ? checkUrl(text, remote.url, out) : undefined;
    if (kind !== undefined && kind !== 's3') {
      for (const key of remote.keys) {
        if (!S3_ONLY_KEYS.includes(key.value)) continue;
        out.push({
          severity: 'error',
          code: 'remote-option-not-s3',
          message: `\`${key.value}\` applies to S3 remotes only, and \`${remote.name}\` is ${describeKind(kind)}. Remove it, or give an s3:// URL.`,
          start: key.start,
          end: key.end,
        });
      }
    }
    if (remote.endpoint) checkEndpoint(text, remote.endpoint, out);
    if (remote.default?.value !== true) continue;
    if (firstDefault === undefined) {
      firstDefault = remote;
      continue;
    }
    out.push({
      severity: 'error',
      code: 'multiple-default-remotes',
      message: `\`${remote.name}\` and \`${firstDefault.name}\` are both marked \`default: true\`; at most one remote is the default. Remove one of them.`,
      start: remote.default.start,
      end: remote.default.end,
    });
  }
}

function checkUrl(text: string, url: Located, out: ManifestDiagnostic[]): RemoteKind | undefined {
  const secret = urlCredentials(url.value);
  if (secret) {
    out.push(credentialsInUrl(text, url, secret, 'url'));
    return undefined;
  }
  const location = locateRemote(url.value, CHECKING_ROOT);
  if (!(location instanceof SluiceError)) return location.kind;
  out.push({
    severity: 'error',
    code: 'remote-url-invalid',
    message: `${location.message} Use ${ACCEPTED_URL_FORMS}.`,
    start: url.start,
    end: url.end,
  });
  return undefined;
}

function checkEndpoint(text: string, endpoint: Located, out: ManifestDiagnostic[]): void {
  const secret = urlCredentials(endpoint.value);
  if (secret) {
    out.push(credentialsInUrl(text, endpoint, secret, 'endpoint'));
    return;
  }
  const problem = endpointProblem(endpoint.value);
  if (problem === undefined) return;
  out.push({
    severity: 'error',
    code: 'remote-endpoint-invalid',
    message: `The endpoint \`${endpoint.value}\` ${problem}.`,
    start: endpoint.start,
    end: endpoint.end,
  });
}

function credentialsInUrl(
  text: string,
  located: Located,
  secret: { start: number; end: number },
  key: string,
): ManifestDiagnostic {
  // Narrowed to `user:password` when the scalar is written as it reads (no escapes).
  const first = located.start + contentOffset(text, located.start);
  const written = text.slice(first + secret.start, first + secret.end);
  const exact = written === located.value.slice(secret.start, secret.end);
  return {
    severity: 'error',
    code: 'credentials-in-manifest',
    message: `This ${key === 'url' ? 'URL' : key} carries a password (\`user:…@\`). Credentials never go in the manifest: ${CREDENTIALS_ADVICE}`,
    start: exact ? first + secret.start : located.start,
    end: exact ? first + secret.end : located.end,
  };
}

/** The diagnostic for a key such as `secret_key` or `password`, wherever it is written in the manifest. */
export function credentialKeyDiagnostic(key: {
  value: unknown;
  start: number;
  end: number;
}): ManifestDiagnostic {
  return {
    severity: 'error',
    code: 'credentials-in-manifest',
    message: `\`${String(key.value)}\` would hold a secret. Credentials never go in the manifest: ${CREDENTIALS_ADVICE}`,
    start: key.start,
    end: key.end,
  };
}
