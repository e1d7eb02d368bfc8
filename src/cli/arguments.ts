// Command-line parsing for one command: positionals and `--flag`, `--flag VALUE`
// or `--flag=VALUE`, in any order; `--` ends the flags. Hand-written so every
// mistake gets a one-line message that names the flag and the command.
import { SluiceError, type ErrorDetails } from '../core/errors';
import { closestName } from '../core/manifest/spelling';

export interface FlagSpec {
  /** Without the leading `--`. */
  readonly name: string;
  /** Shown in help as the value's placeholder; a flag without one is a switch. */
  readonly valueName?: string;
  readonly description: string;
  /** A one-letter alias, written `-m`. */
  readonly short?: string;
  /** May be given more than once (`--set a=1 --set b=2`): read with `values`. */
  readonly repeatable?: boolean;
}

export class ParsedArguments {
  constructor(
    readonly positionals: readonly string[],
    private readonly flags: ReadonlyMap<string, string | true>,
    private readonly repeated: ReadonlyMap<string, readonly string[]> = new Map(),
  ) {}

  /** Whether a switch (or a flag with a value) was given. */
  has(name: string): boolean {
    return this.flags.has(name);
  }

  /** The value of a flag that takes one, when given. */
  value(name: string): string | undefined {
    const value = this.flags.get(name);
    return typeof value === 'string' ? value : undefined;
  }

  /** Every value of a repeatable flag, in the order given. */
  values(name: string): readonly string[] {
    return this.repeated.get(name) ?? [];
  }
}

/** Arguments that ask for a JSON result (`--json` before any `--`), also wanted for failures. */
export function asksForJson(argv: readonly string[]): boolean {
  for (const argument of argv) {
    if (argument === '--') return false;
    if (argument === '--json') return true;
  }
  return false;
}

/** Arguments that ask for help, wherever they appear before `--`. */
export function asksForHelp(argv: readonly string[]): boolean {
  for (const argument of argv) {
    if (argument === '--') return false;
    if (argument === '--help' || argument === '-h') return true;
  }
  return false;
}

export function parseArguments(
  command: string,
  argv: readonly string[],
  flags: readonly FlagSpec[],
  maxPositionals: number,
): ParsedArguments {
  const positionals: string[] = [];
  const given = new Map<string, string | true>();
  const repeated = new Map<string, string[]>();
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index]!;
    if (argument === '--') {
      positionals.push(...argv.slice(index + 1));
      break;
    }
    if (!argument.startsWith('-') || argument === '-') {
      positionals.push(argument);
      continue;
    }
    const equals = argument.indexOf('=');
    const written = equals === -1 ? argument : argument.slice(0, equals);
    const spec = argument.startsWith('--')
      ? flags.find((flag) => `--${flag.name}` === written)
      : flags.find((flag) => flag.short !== undefined && `-${flag.short}` === written);
    if (!spec) {
      const near = written.startsWith('--')
        ? closestName(
            written.slice(2),
            flags.map((flag) => flag.name),
          )
        : undefined;
      throw usage(
        `Unknown flag ${written} for '${command}'.${near === undefined ? '' : ` Did you mean --${near}?`}`,
        command,
        {
          code: 'unknown-flag',
          data: { flag: written, suggestion: near === undefined ? null : `--${near}` },
        },
      );
    }
    if (spec.valueName === undefined) {
      if (equals !== -1) throw usage(`${written} takes no value.`, command);
      given.set(spec.name, true);
      continue;
    }
    // `--example --force` means a forgotten value, not an example named `--force`.
    const next = argv[index + 1];
    const separate = next !== undefined && (!next.startsWith('-') || next === '-') ? next : undefined;
    const value = equals === -1 ? separate : argument.slice(equals + 1);
    if (value === undefined || value === '')
      throw usage(`${written} needs a value (${spec.valueName}).`, command);
    if (equals === -1) index++;
    if (spec.repeatable === true) repeated.set(spec.name, [...(repeated.get(spec.name) ?? []), value]);
    else if (given.has(spec.name)) throw usage(`${written} is given twice.`, command);
    given.set(spec.name, value);
  }
  if (positionals.length > maxPositionals) {
    const extra = positionals.slice(maxPositionals).map((argument) => `'${argument}'`);
    throw usage(`Unexpected argument ${extra.join(' ')} for '${command}'.`, command);
  }
  return new ParsedArguments(positionals, given, repeated);
}

function usage(message: string, command: string, details?: ErrorDetails): SluiceError {
  return new SluiceError(message, 'usage', `Run 'sluice help ${command}'.`, details);
}
