// Every command goes through one registration loop: the `sluice.` prefix is
// added here, and one wrapper turns a failure into a message with a next step
// and a line in the log, so no handler has to catch for the user's sake.
import * as vscode from 'vscode';
import { describeError } from '../core/errors';

/** Handlers by command name, without the `sluice.` prefix (package.json lists the full ids). */
export type CommandTable = Readonly<Record<string, (...args: unknown[]) => unknown>>;

const COMMAND_PREFIX = 'sluice.';
const SHOW_LOG = 'Show Log';

export function registerCommands(table: CommandTable, log: vscode.LogOutputChannel): vscode.Disposable[] {
  return Object.entries(table).map(([name, handler]) => {
    const id = COMMAND_PREFIX + name;
    return vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await handler(...args);
      } catch (error) {
        reportFailure(id, error, log);
        return undefined;
      }
    });
  });
}

function reportFailure(id: string, error: unknown, log: vscode.LogOutputChannel): void {
  log.error(`${id} failed: ${describeError(error)}`);
  if (error instanceof Error && error.stack !== undefined) log.debug(error.stack);
  // Not awaited: the command settles now, whether or not the user ever answers.
  void vscode.window.showErrorMessage(`Sluice: ${describeError(error)}`, SHOW_LOG).then((choice) => {
    if (choice === SHOW_LOG) log.show(true);
  });
}
