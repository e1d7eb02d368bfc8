// Ctrl-C (and SIGTERM), handled once for every command. A command that takes
// the signal stops the way the engine stops on cancellation: temporary files
// removed, no ref moved, each file whole; it then throws the engine's
// CancelledError, which main reports. A command that does not take it (a
// quick read) ends at once. Either way the exit code is 130 and, with --json,
// stdout holds one object whose error.code is `cancelled`. A second Ctrl-C
// ends the process at once.
import { CancelledError } from '../core/errors';

export function handleInterrupts(
  command: string,
  /** True when the command passes the signal on to the engine and stops cleanly by itself. */
  stopsCleanly: boolean,
  /** Reports the cancel and ends the process; called when nothing stops cleanly. */
  endNow: (cancel: CancelledError) => void,
): AbortSignal {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    const cancel = new CancelledError(`sluice ${command}`, {
      message: `sluice ${command} was interrupted.`,
      hint: 'Run it again when ready; `sluice fsck` checks the store after an interrupted write.',
      data: { signal },
    });
    if (stopsCleanly && !controller.signal.aborted) controller.abort(cancel);
    else endNow(cancel);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return controller.signal;
}
