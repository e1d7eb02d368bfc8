// Every command goes through one registration loop: the `sluice.` prefix is
// added here; commands that write are refused in Restricted Mode, with the
// reason and a way to trust the folder; after a command that writes, the model
// reads again what the command says it changed (everything, when it failed
// part way); and one wrapper turns a failure into a message with the next
// step as a button and a line in the log, so no handler has to catch for the user's sake.
import * as vscode from 'vscode';
import { describeError, isCancelled, SluiceError } from '../core/errors';
import type { Changes, Outcome } from './changes';

export type CommandHandler = (...args: unknown[]) => unknown;

/** A command that changes nothing on disk: the model is not read again after it. */
export interface ReadingCommand {
  readonly run: CommandHandler;
  readonly writes?: undefined;
}

/** A command that writes to the workspace or runs programs (git included). */
export interface WritingCommand {
  /**
   * What the command does, in a few words ("record snapshots"). In Restricted
   * Mode such a command does not run and says why.
   */
  readonly writes: string;
  /** Resolves with its result and what it changed, which is all the model reads again. */
  readonly run: (...args: unknown[]) => Promise<Outcome<unknown>>;
}

export type CommandSpec = ReadingCommand | WritingCommand;

/** Commands by name, without the `sluice.` prefix (package.json lists the full ids). */
export type CommandTable = Readonly<Record<string, CommandHandler | CommandSpec>>;

export const COMMAND_PREFIX = 'sluice.';

/** A button offered with a failure message. */
export interface NextStep {
  readonly title: string;
  run(): unknown;
}

/**
 * A failure whose next steps the handler knows best (for example "Snapshot and
 * Restore"). `cause`, the engine's outcome, keeps its code and data readable
 * (hasCode, asSluiceError look through to it).
 */
export class FailureWithNextSteps extends Error {
  constructor(
    message: string,
    readonly nextSteps: readonly NextStep[],
    cause?: SluiceError,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'FailureWithNextSteps';
  }
}

/** What the registration loop needs of the rest of the extension. */
export interface RegistrationHooks {
  readonly log: vscode.LogOutputChannel;
  /** Reads again what a command changed; awaited, so the command's promise settles on a fresh model. */
  readonly refresh: (changes: Changes) => Promise<void>;
  /** Reads everything again: after a writing command failed, what it changed before failing is not known. */
  readonly refreshAll: () => Promise<void>;
}

const SHOW_LOG = 'Show Log';
const MANAGE_TRUST = 'Manage Workspace Trust';

export function registerCommands(table: CommandTable, context: RegistrationHooks): vscode.Disposable[] {
  return Object.entries(table).map(([name, entry]) => {
    const spec: CommandSpec = typeof entry === 'function' ? { run: entry } : entry;
    const id = COMMAND_PREFIX + name;
    return vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      if (spec.writes !== undefined && !vscode.workspace.isTrusted) {
        explainRestrictedMode(spec.writes, context.log);
        return undefined;
      }
      let changed: Changes | undefined;
      try {
        if (spec.writes === undefined) return await spec.run(...args);
        const done = await spec.run(...args);
        changed = done.changed;
        return done.result;
      } catch (error) {
        if (isCancelled(error)) reportCancel(id, error, context.log);
        else reportFailure(id, args, error, context.log);
        return undefined;
      } finally {
        if (spec.writes !== undefined) await refreshQuietly(context, changed);
      }
    });
  });
}

function explainRestrictedMode(action: string, log: vscode.LogOutputChannel): void {
  const message =
    `Sluice does not ${action} in Restricted Mode: in a folder you have not trusted it writes nothing ` +
    'and runs no program, git included.';
  log.warn(message);
  // Not awaited, here and below: the command settles now, whether or not the user ever answers.
  void vscode.window.showWarningMessage(message, MANAGE_TRUST).then((choice) => {
    if (choice === MANAGE_TRUST) void vscode.commands.executeCommand('workbench.trust.manage');
  });
}

function reportCancel(id: string, cancel: SluiceError, log: vscode.LogOutputChannel): void {
  log.info(`${id}: ${cancel.message}`);
  void vscode.window.showInformationMessage(`Sluice: ${cancel.message}`);
}

function reportFailure(id: string, args: unknown[], error: unknown, log: vscode.LogOutputChannel): void {
  log.error(`${id} failed: ${describeError(error)}`);
  if (error instanceof Error && error.stack !== undefined) log.debug(error.stack);
  const steps = nextStepsFor(error, () => vscode.commands.executeCommand(id, ...args));
  const buttons = [...steps.map((step) => step.title), SHOW_LOG];
  void vscode.window.showErrorMessage(`Sluice: ${failureMessage(error)}`, ...buttons).then((choice) => {
    if (choice === SHOW_LOG) log.show(true);
    else steps.find((step) => step.title === choice)?.run();
  });
}

/** The engine's hints speak of the CLI; where the editor has a button for the next step, the button replaces them. */
function failureMessage(error: unknown): string {
  if (error instanceof FailureWithNextSteps) return error.message;
  if (error instanceof SluiceError && (error.kind === 'manifest' || error.kind === 'conflict')) {
    return error.message;
  }
  return describeError(error);
}

function nextStepsFor(error: unknown, retry: () => unknown): readonly NextStep[] {
  if (error instanceof FailureWithNextSteps) return error.nextSteps;
  if (error instanceof SluiceError && error.kind === 'manifest') {
    return [
      {
        title: 'Show Problems',
        run: () => vscode.commands.executeCommand('workbench.actions.view.problems'),
      },
    ];
  }
  // Another process moved a ref first: running the same command again is the whole fix.
  if (error instanceof SluiceError && error.kind === 'conflict') return [{ title: 'Retry', run: retry }];
  return [];
}

/** `changed` undefined: the command failed, and everything is read again. */
async function refreshQuietly(hooks: RegistrationHooks, changed: Changes | undefined): Promise<void> {
  try {
    await (changed === undefined ? hooks.refreshAll() : hooks.refresh(changed));
  } catch (error) {
    hooks.log.error(`Refreshing the views failed: ${describeError(error)}`);
  }
}
