// Asking before changing an environment nothing is promoted from (production).
// Without a terminal there is no one to ask: that is a usage error (exit 2,
// `confirmation-needed`), fixed by passing --yes.
import { createInterface } from 'node:readline/promises';
import { SluiceError } from '../core/errors';
import type { FlagSpec } from './arguments';

export const REASON_FLAG: FlagSpec = {
  name: 'reason',
  short: 'm',
  valueName: 'TEXT',
  description: 'Why, in your words: kept in the history.',
};

export const YES_FLAG: FlagSpec = { name: 'yes', short: 'y', description: 'Do it without asking.' };

/** Asks `question` on the terminal; throws unless the answer is yes. */
export async function confirm(question: string, what: string, environment: string): Promise<void> {
  if (!process.stdin.isTTY) {
    throw new SluiceError(
      `${what} ${environment} needs confirmation, and there is no terminal to ask.`,
      'usage',
      'Pass --yes to go ahead non-interactively.',
      { code: 'confirmation-needed', data: { environment } },
    );
  }
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await prompt.question(`${question} [y/N] `);
  prompt.close();
  if (!/^y(es)?$/i.test(answer.trim()))
    throw new SluiceError(`${what} ${environment} cancelled; nothing changed.`, 'failed', undefined, {
      code: 'cancelled',
      data: { environment },
    });
}
