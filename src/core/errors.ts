// Typed errors of the engine. Every face maps them the same way: the CLI to an
// exit code, one line on stderr and (with --json) `{error:{code,message,hint,data}}`
// on stdout; the extension to a message with a next step. A face branches on
// `code`, never on the wording of `message`.

/** What kind of failure, which decides the CLI's exit code. */
export type ErrorKind =
  /** Bad arguments or a bad manifest: exit 2. */
  | 'usage'
  | 'manifest'
  /** The operation ran and failed, was refused or conflicted: exit 1. */
  | 'failed'
  | 'conflict'
  /** Stopped because the user asked (Ctrl-C, a Cancel button): exit 130, as a shell reports SIGINT. */
  | 'cancelled';

/** Structured facts about a failure, for faces and `--json`: names, paths, numbers. */
export type ErrorData = Readonly<Record<string, unknown>>;

/**
 * The outcomes a face branches on. Each is part of the `--json` contract
 * (src/cli/schemas/error.schema.json lists them with their `data`): renaming
 * one or changing its data is a breaking change. Other codes (`damaged-blob`,
 * `git-failed`, manifest codes, …) are reported alike but no face acts on them.
 */
export const OUTCOME_CODES = [
  /** restore would overwrite bytes that are in no snapshot; data: {dataset, paths}. */
  'unsaved-data',
  /** a promotion's gates did not all pass; data: {environment, release, gatesFrom, gates: [{name, passed, detail}]}. */
  'gate-refused',
  /** another stage, promotion or rollback moved the environment first; data: {environment}. */
  'environment-moved',
  /** another process moved a ref first (a dataset's snapshots); data: {ref}. */
  'ref-moved',
  /** the user stopped the operation; data: {operation} and what was done before it stopped. */
  'cancelled',
  /** an id prefix names more than one thing; data: {kind, prefix, candidates}. */
  'ambiguous-id',
  /** no snapshot, release, dataset, environment, stage or remote by that name or id; data: {sought, id, …}. */
  'not-found',
  /** no sluice.yaml in the folder or any folder above it; data: {folder}. */
  'no-workspace',
  /** the workspace is not inside a git repository; data: {root}. */
  'not-a-git-repository',
  /** the manifest has errors; data: {file, errors}. */
  'manifest-invalid',
  /** a ref moved on the git remote since the last pull (a teammate promoted); data: {remote, gitRemote, refs}. */
  'remote-moved',
  /** no remote is declared for the workspace; data: {remote}. */
  'remote-not-configured',
  /** several remotes and none is the default; data: {remotes}. */
  'remote-no-default',
  /** `--set` names a param the params file lacks; data: {param, file, suggestion}. */
  'unknown-param',
  /** `--set` gives a value of another kind than the file holds there; data: {param, file, expected, value}. */
  'bad-param-value',
  /** a REF (metrics, params, plots) names nothing; data: {revision}. */
  'unknown-revision',
  /** another `sluice monitor` watches the environment; data: {environment, pid}. */
  'monitor-running',
  /** a monitor check of the live release failed; data: {environment, release, failed}. */
  'monitor-check-failed',
  /** the environment declares no `monitor:`; data: {environment}. */
  'no-monitor',
] as const;

export type OutcomeCode = (typeof OUTCOME_CODES)[number];

export interface ErrorDetails {
  /**
   * A stable identifier of the outcome (`unsaved-data`, `gate-refused`,
   * `damaged-blob`, …), kebab-case. Defaults to the kind.
   */
  readonly code?: string;
  readonly data?: ErrorData;
}

/** The `--json` shape of a failure: documented, and the same for every command. */
export interface ErrorJson {
  readonly code: string;
  readonly message: string;
  readonly hint: string | null;
  readonly data: ErrorData;
}

export class SluiceError extends Error {
  readonly code: string;
  readonly data: ErrorData;

  constructor(
    message: string,
    readonly kind: ErrorKind,
    /** The next step for the user, when there is one. */
    readonly hint?: string,
    details: ErrorDetails = {},
  ) {
    super(message);
    this.name = 'SluiceError';
    this.code = details.code ?? kind;
    this.data = details.data ?? {};
  }

  get exitCode(): 1 | 2 | 130 {
    if (this.kind === 'cancelled') return 130;
    return this.kind === 'usage' || this.kind === 'manifest' ? 2 : 1;
  }

  toJSON(): ErrorJson {
    return { code: this.code, message: this.message, hint: this.hint ?? null, data: this.data };
  }
}

/**
 * The one cancellation of Sluice, thrown by the engine when its AbortSignal
 * fires and by a face when the user stops a sequence of engine calls. Nothing
 * half-written stays behind. The CLI exits 130; the extension says what was
 * done instead of reporting a failure.
 */
export class CancelledError extends SluiceError {
  constructor(
    /** What was running, for the message ("Snapshot of 'events'"). */
    what: string,
    options: { readonly message?: string; readonly hint?: string; readonly data?: ErrorData } = {},
  ) {
    super(
      options.message ?? `${what} was cancelled.`,
      'cancelled',
      options.hint ?? 'Nothing was recorded or left half-written; run it again when ready.',
      { code: 'cancelled', data: { operation: what, ...options.data } },
    );
    this.name = 'CancelledError';
  }
}

/** True when `error` is a Sluice outcome with this code: how a face branches, never on the wording. */
export function hasCode(error: unknown, code: OutcomeCode): error is SluiceError {
  return asSluiceError(error)?.code === code;
}

/** True when `error` says the user stopped the operation. */
export function isCancelled(error: unknown): error is SluiceError {
  return hasCode(error, 'cancelled');
}

/** What a `not-found` or `ambiguous-id` outcome was looking for. */
export type Sought = 'dataset' | 'snapshot' | 'release' | 'environment' | 'stage' | 'remote' | 'experiment';

/**
 * Nothing by that name or id: `data` says what was sought (`sought`, `id`)
 * and whatever else helps (the names that do exist). The kind keeps the exit
 * code each caller had: a name on the command line is a usage error.
 */
export function notFound(
  sought: Sought,
  id: string,
  message: string,
  hint: string | undefined,
  options: { readonly kind?: ErrorKind; readonly data?: ErrorData } = {},
): SluiceError {
  return new SluiceError(message, options.kind ?? 'usage', hint, {
    code: 'not-found',
    data: { sought, id, ...options.data },
  });
}

/** An id prefix that matches more than one: `data.candidates` lists the full ids. */
export function ambiguousId(
  sought: Sought,
  prefix: string,
  candidates: readonly string[],
  message: string,
  options: { readonly data?: ErrorData } = {},
): SluiceError {
  return new SluiceError(message, 'usage', 'Give more characters.', {
    code: 'ambiguous-id',
    data: { sought, prefix, candidates, ...options.data },
  });
}

export function usageError(message: string, hint?: string, details?: ErrorDetails): SluiceError {
  return new SluiceError(message, 'usage', hint, details);
}

/** A message for any thrown value, without a stack trace. */
export function describeError(error: unknown): string {
  const known = asSluiceError(error);
  if (known) return known.hint ? `${known.message} ${known.hint}` : known.message;
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}

/**
 * `error` as a SluiceError when it is one, or when it is a failure of the
 * system (a file-system call, a git process) that a user can act on; undefined
 * for anything else, which is a bug in Sluice.
 */
export function asSluiceError(error: unknown): SluiceError | undefined {
  if (error instanceof SluiceError) return error;
  // A library's error wrapping one of ours (simple-git's GitError around a git failure).
  if (error instanceof Error && error.cause instanceof SluiceError) return error.cause;
  return fromSystemError(error);
}

interface SystemFailure {
  readonly says: string;
  readonly todo: string;
}

/** What each errno means to a user, and what to do about it. */
const SYSTEM_FAILURES: Readonly<Record<string, SystemFailure>> = {
  ENOSPC: { says: 'the disk is full', todo: 'Free some space and run the command again.' },
  EDQUOT: { says: 'the disk quota is used up', todo: 'Free some space and run the command again.' },
  EROFS: {
    says: 'the file system is read-only',
    todo: 'Run the command where the workspace can be written, or use a read-only command.',
  },
  EACCES: { says: 'permission denied', todo: 'Check the owner and permissions of that path.' },
  EPERM: { says: 'the operation is not permitted', todo: 'Check the owner and permissions of that path.' },
  ENOENT: { says: 'no such file or folder', todo: 'Check that the path exists, then run the command again.' },
  EISDIR: {
    says: 'it is a folder where a file was expected',
    todo: 'Move the folder away or fix the path in sluice.yaml.',
  },
  ENOTDIR: {
    says: 'a part of the path is a file where a folder was expected',
    todo: 'Move that file away or fix the path in sluice.yaml.',
  },
  EEXIST: { says: 'it already exists', todo: 'Move it away and run the command again.' },
  ENOTEMPTY: { says: 'the folder is not empty', todo: 'Move its contents away and run the command again.' },
  EMFILE: {
    says: 'too many files are open',
    todo: 'Raise the limit (ulimit -n) and run the command again.',
  },
  ENFILE: {
    says: 'the system has too many files open',
    todo: 'Close other programs and run the command again.',
  },
  ELOOP: { says: 'too many levels of symbolic links', todo: 'Fix the link that points at itself.' },
  ENAMETOOLONG: { says: 'the name is too long', todo: 'Use a shorter path.' },
  EIO: { says: 'the disk reported an input/output error', todo: 'Check the disk, then run `sluice fsck`.' },
  EBUSY: { says: 'it is busy', todo: 'Close what holds it and run the command again.' },
  ETXTBSY: { says: 'it is busy', todo: 'Close what holds it and run the command again.' },
  EXDEV: {
    says: 'it is on another file system',
    todo: 'Keep the workspace and its .sluice folder on one file system.',
  },
};

const SYSCALL_VERBS: Readonly<Record<string, string>> = {
  open: 'open',
  read: 'read',
  write: 'write',
  mkdir: 'create the folder',
  rmdir: 'remove the folder',
  unlink: 'remove',
  rename: 'move',
  link: 'link',
  symlink: 'create the link',
  copyfile: 'copy',
  scandir: 'list',
  opendir: 'list',
  stat: 'read',
  lstat: 'read',
  readlink: 'read the link',
  chmod: 'change the permissions of',
  utime: 'set the times of',
  fsync: 'save',
  access: 'reach',
  spawn: 'start',
};

/** A file-system or process error from Node as a one-line SluiceError naming the path; undefined for anything else. */
export function fromSystemError(error: unknown): SluiceError | undefined {
  if (!(error instanceof Error)) return undefined;
  const failure = error as NodeJS.ErrnoException;
  const errno = failure.code;
  if (typeof errno !== 'string' || !/^E[A-Z]+$/.test(errno)) return undefined;
  const known = SYSTEM_FAILURES[errno];
  const syscall = failure.syscall?.replace(/^spawn .*/, 'spawn');
  const dest = (failure as { dest?: string }).dest;
  // A rename that fails because of what is at its destination (a folder in the way) names the destination.
  const atDest =
    syscall === 'rename' && dest !== undefined && ['EISDIR', 'ENOTEMPTY', 'EEXIST'].includes(errno);
  const verb = syscall === undefined ? undefined : atDest ? 'replace' : (SYSCALL_VERBS[syscall] ?? syscall);
  const path = atDest ? dest : (failure.path ?? dest);
  const subject = path === undefined ? '' : ` ${path}`;
  const says = known?.says ?? failure.message.replace(/^[A-Z]+: /, '').replace(/,.*$/, '');
  const message =
    verb === undefined
      ? `Failed${subject}: ${says} (${errno}).`
      : `Cannot ${verb}${subject}: ${says} (${errno}).`;
  return new SluiceError(message, 'failed', known?.todo ?? 'Check the path, then run the command again.', {
    code: 'system-error',
    data: { errno, syscall: failure.syscall ?? null, path: path ?? null },
  });
}

/**
 * A git process that failed, as a one-line SluiceError: the first `fatal:` or
 * `error:` line git wrote, or its first line. git's own output is the only
 * account of what went wrong, so it is kept whole in `data.output`.
 */
export function gitFailure(stderr: string, exitCode: number): SluiceError {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const reason = lines.find((line) => /^(fatal|error):/.test(line)) ?? lines[0] ?? `exit code ${exitCode}`;
  return new SluiceError(
    `git failed: ${reason.replace(/^(fatal|error):\s*/, '')}`,
    'failed',
    'Check the repository with `git status` and `git fsck`, then run the command again.',
    { code: 'git-failed', data: { exitCode, output: lines } },
  );
}

/** A write or fsync on a descriptor fails without a path (ENOSPC): the error names the file being written. */
export function withPath(error: unknown, target: string): unknown {
  if (error instanceof Error && (error as NodeJS.ErrnoException).path === undefined)
    Object.assign(error, { path: target });
  return error;
}
