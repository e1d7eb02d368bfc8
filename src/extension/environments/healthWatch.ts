// What the editor does of health between reads: it says, once, that a
// monitor (a `sluice monitor` process outside the editor) rolled an
// environment back, and it redraws when a health reading turns to unknown
// because no run came in time. The model's ref watcher (refs/sluice/**) reads
// the environments again when a monitor writes; nothing here polls git.
import * as vscode from 'vscode';
import { shortId } from '../../core/format';
import type { WorkspaceModel } from '../model';
import { newRollbacks, type RollbackNotice } from './healthNodes';
import { nextHealthChange } from './model';

/** workspaceState key: by `[root, environment]`, the newest health record already looked at. */
const SEEN_KEY = 'sluice.health.seen';

/**
 * A rollback found on the first look at an environment (nothing seen yet, say
 * in a new window) is said when it is at most this old: one made while the
 * editor was closed still deserves a word, one from last month does not.
 */
const FIRST_LOOK_MS = 24 * 3_600_000;

export const SHOW_HEALTH_HISTORY = 'Show Health History';

export class HealthWatch implements vscode.Disposable {
  readonly #ticked = new vscode.EventEmitter<void>();
  /** Fires when a health reading changes with time alone (a healthy or failing one turns unknown). */
  readonly onDidTick = this.#ticked.event;
  readonly #subscription: vscode.Disposable;
  readonly #notices: RollbackNotice[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly model: WorkspaceModel,
    private readonly memento: vscode.Memento,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.#subscription = model.onDidChange(({ scope }) => {
      if (!scope.whole && !scope.environments) return;
      this.#lookForRollbacks();
      this.#schedule();
    });
  }

  /** The automatic rollbacks said since activation, oldest first (tests read them through the API). */
  get notices(): readonly RollbackNotice[] {
    return [...this.#notices];
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#subscription.dispose();
    this.#ticked.dispose();
  }

  #lookForRollbacks(): void {
    const seen = { ...this.memento.get<Record<string, string>>(SEEN_KEY, {}) };
    let changed = false;
    const now = Date.now();
    for (const { state, environments } of this.model.folders.map((folder) => folder.environments)) {
      if (state.kind !== 'ready') continue;
      for (const environment of environments) {
        const { health } = environment;
        const newest = health.kind === 'read' ? health.records[0] : undefined;
        if (newest === undefined || health.kind !== 'read') continue;
        const key = JSON.stringify([state.root, environment.name]);
        if (seen[key] === newest.commit) continue;
        for (const notice of newRollbacks(
          state.root,
          environment.name,
          health.records,
          seen[key],
          now,
          FIRST_LOOK_MS,
        ))
          this.#notify(notice);
        seen[key] = newest.commit;
        changed = true;
      }
    }
    // Written before the message is answered: a reload while it shows does not say it again.
    if (changed) void this.memento.update(SEEN_KEY, seen);
  }

  #notify(notice: RollbackNotice): void {
    this.#notices.push(notice);
    const message =
      `Sluice: the monitor rolled ${notice.environment} back from ${shortId(notice.release)} ` +
      `to ${shortId(notice.rolledBackTo)}: ${notice.reason}`;
    this.log.warn(message);
    void vscode.window.showWarningMessage(message, SHOW_HEALTH_HISTORY).then((choice) => {
      if (choice === SHOW_HEALTH_HISTORY)
        void vscode.commands.executeCommand('sluice.showHealth', {
          root: notice.root,
          environment: notice.environment,
        });
    });
  }

  /** One timer, at the first moment a reading turns unknown without a new run. */
  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const now = Date.now();
    const next = nextHealthChange(
      this.model.folders.map((folder) => folder.environments),
      now,
    );
    if (next === undefined) return;
    // A few ms late, so the reading at that moment is the new one.
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#ticked.fire();
        this.#schedule();
      },
      Math.min(next - now + 50, 2 ** 31 - 1),
    );
  }
}
