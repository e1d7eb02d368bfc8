// The shape of one `sluice` command: what help shows about it, which flags it
// accepts, and the handler that calls core and prints.
import type { FlagSpec, ParsedArguments } from './arguments';

export interface Command {
  readonly name: string;
  /** What follows the name in the usage line, for example `[FILE] [--json]`. */
  readonly usage: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Paragraphs for `sluice help NAME`. */
  readonly details: readonly string[];
  readonly flags: readonly FlagSpec[];
  readonly maxPositionals: number;
  /**
   * True when the command hands `context.signal` to the engine, so Ctrl-C
   * stops it cleanly; any other command ends at once on Ctrl-C.
   */
  readonly stopsOnInterrupt?: boolean;
  /** Prints its result on stdout and returns the exit code; throws on failure. */
  run(args: ParsedArguments, context: CommandContext): number | Promise<number>;
}

/** What main hands every command besides its arguments. */
export interface CommandContext {
  /** Fires on Ctrl-C or SIGTERM (src/cli/interrupt.ts): the only place the CLI listens for them. */
  readonly signal: AbortSignal;
}

/** The `--json` switch, spelled the same by every read command. */
export const JSON_FLAG: FlagSpec = { name: 'json', description: 'Print the result as one JSON object.' };
