// Long operations: a notification with progress and a Cancel button wired to an
// AbortSignal the engine receives, a line in the log with how long it took, and
// no view refresh in the middle (the disk is half-written until it ends).
import * as vscode from 'vscode';
import { CancelledError, describeError, isCancelled } from '../core/errors';

export type ReportProgress = (message: string) => void;

export interface PausesRefresh {
  /** Holds refreshes back while `work` runs; the changes it made are refreshed afterwards. */
  whileBusy<T>(work: () => Promise<T>): Promise<T>;
}

export class LongOperations {
  constructor(
    private readonly log: vscode.LogOutputChannel,
    private readonly refresher: PausesRefresh,
  ) {}

  /**
   * Runs `work` with a cancellable progress notification titled `title`.
   * A failure after Cancel was pressed becomes a CancelledError (the
   * engine stopped because it was asked to); work that finished before the
   * cancel took effect keeps its result.
   */
  run<T>(title: string, work: (signal: AbortSignal, report: ReportProgress) => Promise<T>): Promise<T> {
    return this.refresher.whileBusy(() =>
      Promise.resolve(
        vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title, cancellable: true },
          async (progress, token) => {
            const controller = new AbortController();
            const onCancel = token.onCancellationRequested(() => {
              this.log.info(`${title}: cancel requested.`);
              controller.abort(new CancelledError(title));
            });
            const started = performance.now();
            this.log.info(`${title}…`);
            try {
              const result = await work(controller.signal, (message) => {
                progress.report({ message });
              });
              this.log.info(`${title}: done in ${seconds(started)}.`);
              return result;
            } catch (error) {
              if (isCancelled(error)) throw error;
              if (controller.signal.aborted) throw new CancelledError(title);
              this.log.info(`${title}: failed after ${seconds(started)}: ${describeError(error)}`);
              throw error;
            } finally {
              onCancel.dispose();
            }
          },
        ),
      ),
    );
  }
}

function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(2)} s`;
}
