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
  /** Prints its result on stdout and returns the exit code; throws on failure. */
  run(args: ParsedArguments): number | Promise<number>;
}

/** The `--json` switch, spelled the same by every read command. */
export const JSON_FLAG: FlagSpec = { name: 'json', description: 'Print the result as one JSON object.' };
