// The `sluice` command (dist/cli.js): arguments in, one core call, text or
// JSON out, an exit code. Every failure ends as one line on stderr, never a
// stack trace: 2 for usage and manifest errors, 1 for everything else. With
// --json, a failure is also one object on stdout: `{error:{code,message,hint,data}}`
// (src/cli/schemas/ documents it). A cancel (Ctrl-C) exits 130.
import { VERSION } from '../core/build';
import { asSluiceError, describeError, SluiceError, type CancelledError } from '../core/errors';
import { asksForHelp, asksForJson, parseArguments } from './arguments';
import { commandHelp, findCommand, overview } from './commands';
import { handleInterrupts } from './interrupt';

// Snapshots fsync each blob in libuv's thread pool: with 16 threads instead of
// the default 4, more fsyncs share each journal commit (a first snapshot of
// 1 GiB takes 10 to 25% less time). libuv reads this when the pool first
// starts, which is after this line.
process.env['UV_THREADPOOL_SIZE'] ??= '16';

async function main(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    process.stderr.write(`${overview()}\n`);
    return 2;
  }
  if (first === '--version') {
    console.log(`sluice ${VERSION}`);
    return 0;
  }
  if (first === '--help' || first === '-h') {
    console.log(overview());
    return 0;
  }
  if (first.startsWith('-')) {
    throw new SluiceError(
      `Unknown flag ${first}.`,
      'usage',
      "Run 'sluice help' for the commands and flags.",
      {
        code: 'unknown-flag',
        data: { flag: first },
      },
    );
  }
  const command = findCommand(first);
  if (asksForHelp(rest)) {
    console.log(commandHelp(command));
    return 0;
  }
  const args = parseArguments(command.name, rest, command.flags, command.maxPositionals);
  const signal = handleInterrupts(command.name, command.stopsOnInterrupt === true, endNow);
  return command.run(args, { signal });
}

/**
 * Prints `error` as one line on stderr (and, with --json, as one object on
 * stdout) and returns the exit code it means. A failure of the system (a full
 * disk, a permission, git) names the path and what to do; only a bug in
 * Sluice itself is an "internal error".
 */
function report(error: unknown): number {
  const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ').trim();
  const known = asSluiceError(error);
  const failure =
    known ??
    new SluiceError(
      `internal error: ${oneLine(describeError(error))}`,
      'failed',
      'This is a bug in Sluice; please report it with the command you ran.',
      { code: 'internal-error' },
    );
  process.stderr.write(`sluice: ${oneLine(describeError(failure))}\n`);
  if (wantsJson) {
    try {
      process.stdout.write(`${JSON.stringify({ error: failure.toJSON() })}\n`);
    } catch {
      // stdout is gone: stderr has said it.
    }
  }
  return failure.exitCode;
}

const wantsJson = asksForJson(process.argv.slice(2));

/** Ctrl-C on a command that does not stop by itself, or a second Ctrl-C: report, and end now. */
function endNow(cancel: CancelledError): void {
  process.exit(report(cancel));
}

// A reader that stops early (`sluice validate | head -1`) is not a failure.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  process.exit(report(error));
});
process.on('uncaughtException', (error) => process.exit(report(error)));
process.on('unhandledRejection', (error) => process.exit(report(error)));

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.exitCode = report(error);
  },
);
