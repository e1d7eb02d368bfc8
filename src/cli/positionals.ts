// Required positional arguments, with the usage error that names them.
import { SluiceError } from '../core/errors';
import type { ParsedArguments } from './arguments';

export function requirePositional(
  args: ParsedArguments,
  index: number,
  name: string,
  command: string,
): string {
  const value = args.positionals[index];
  if (value === undefined) {
    throw new SluiceError(`'${command}' needs ${name}.`, 'usage', `Run 'sluice help ${command}'.`);
  }
  return value;
}
