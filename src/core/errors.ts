// Typed errors of the engine. Every face maps them the same way: the CLI to an
// exit code and one line on stderr, the extension to a message with a next step.

/** What kind of failure, which decides the CLI's exit code. */
export type ErrorKind =
  /** Bad arguments or a bad manifest: exit 2. */
  | 'usage'
  | 'manifest'
  /** The operation ran and failed, was refused or conflicted: exit 1. */
  | 'failed'
  | 'conflict';

export class SluiceError extends Error {
  constructor(
    message: string,
    readonly kind: ErrorKind,
    /** The next step for the user, when there is one. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'SluiceError';
  }

  get exitCode(): 1 | 2 {
    return this.kind === 'usage' || this.kind === 'manifest' ? 2 : 1;
  }
}

export function usageError(message: string, hint?: string): SluiceError {
  return new SluiceError(message, 'usage', hint);
}

/** A message for any thrown value, without a stack trace. */
export function describeError(error: unknown): string {
  if (error instanceof SluiceError) return error.hint ? `${error.message} ${error.hint}` : error.message;
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}
