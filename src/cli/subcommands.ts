// Commands made of subcommands (`sluice remote add`, `sluice exp run`): which
// subcommand, and whether its positionals and flags fit it, with a one-line
// usage error naming the subcommand otherwise.
import { SluiceError } from '../core/errors';
import { closestName } from '../core/manifest/spelling';
import type { FlagSpec, ParsedArguments } from './arguments';
import type { CommandContext } from './command';

export interface SubcommandShape {
  readonly usage: string;
  /** Positionals after the subcommand's name; a name ending in `…` takes one or more. */
  readonly positionals: readonly string[];
  /** Positionals that may be left out, after the required ones. */
  readonly optional?: readonly string[];
  readonly flags: readonly FlagSpec[];
}

/** The subcommand `name` of `command`, or a usage error suggesting the nearest. */
export function findSubcommand<T extends SubcommandShape>(
  command: string,
  table: Readonly<Record<string, T>>,
  name: string,
): T {
  const found = Object.prototype.hasOwnProperty.call(table, name) ? table[name] : undefined;
  if (found) return found;
  const near = closestName(name, Object.keys(table));
  throw new SluiceError(
    `Unknown subcommand '${command} ${name}'.${near === undefined ? '' : ` Did you mean '${command} ${near}'?`}`,
    'usage',
    `Run 'sluice help ${command}'.`,
    { code: 'unknown-command', data: { command: `${command} ${name}`, suggestion: near ?? null } },
  );
}

/** Refuses missing or extra positionals and flags that belong to another subcommand. */
export function checkSubcommand(
  command: string,
  name: string,
  sub: SubcommandShape,
  allFlags: readonly FlagSpec[],
  args: ParsedArguments,
  positionals: readonly string[],
): void {
  const usage = (message: string): SluiceError =>
    new SluiceError(message, 'usage', `Usage: sluice ${command} ${sub.usage}`);
  const variadic = sub.positionals.at(-1)?.endsWith('…') === true;
  if (positionals.length < sub.positionals.length)
    throw usage(`'${command} ${name}' needs ${sub.positionals.slice(positionals.length).join(' and ')}.`);
  const most = variadic ? Infinity : sub.positionals.length + (sub.optional?.length ?? 0);
  if (positionals.length > most)
    throw usage(
      `Unexpected argument ${positionals
        .slice(most)
        .map((argument) => `'${argument}'`)
        .join(' ')} for '${command} ${name}'.`,
    );
  for (const flag of allFlags)
    if (args.has(flag.name) && !sub.flags.includes(flag))
      throw usage(`--${flag.name} is not a flag of '${command} ${name}'.`);
}

/** A subcommand that runs: its shape and its handler, given the positionals after its name. */
export interface RunnableSubcommand extends SubcommandShape {
  run(args: ParsedArguments, positionals: readonly string[], context: CommandContext): Promise<number>;
}

/** Runs the subcommand the first positional names (`fallback` when none is given), after checking its arguments. */
export function runSubcommand(
  command: string,
  table: Readonly<Record<string, RunnableSubcommand>>,
  fallback: string,
  allFlags: readonly FlagSpec[],
  args: ParsedArguments,
  context: CommandContext,
): Promise<number> {
  const [given, ...positionals] = args.positionals;
  const name = given ?? fallback;
  const sub = findSubcommand(command, table, name);
  checkSubcommand(command, name, sub, allFlags, args, positionals);
  return sub.run(args, positionals, context);
}
