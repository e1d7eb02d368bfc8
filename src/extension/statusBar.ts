// The status bar items: what is live where (`production 1a2b3c4 · staging 5d6e7f8`),
// how many snapshots and deployments the default remote has that this machine
// lacks (as of the last fetch), a spinner while a Sluice operation runs, and a
// click that opens the Environments view. While a live environment's monitor
// says it is failing, the item turns to a warning (its background, a warning
// icon, the failing checks in the tooltip) and a click reveals that
// environment's health instead. Beside it, while any is queued or
// running, how many Slurm jobs the workspace has, with a click that opens the
// Pipelines view, where each stage shows its job.
import * as vscode from 'vscode';
import {
  failingEnvironments,
  statusText,
  statusTooltip,
  type FailingEnvironment,
} from './environments/model';
import type { WorkspaceModel } from './model';
import { slurmJobsStatus } from './pipelines/slurmJobsStatus';
import type { PausesRefresh } from './progress';
import { behindCount } from './remotes/remoteSync';

export class SluiceStatusBar implements PausesRefresh, vscode.Disposable {
  readonly #item = vscode.window.createStatusBarItem('sluice.status', vscode.StatusBarAlignment.Left, 10);
  #live: string | undefined;
  /** Snapshots and deployments on the default remotes not here yet. */
  #behind = 0;
  #running = 0;
  #failing: readonly FailingEnvironment[] = [];
  readonly #subscriptions: vscode.Disposable[];

  constructor(
    private readonly model: WorkspaceModel,
    onHealthTick: vscode.Event<void>,
  ) {
    this.#item.name = 'Sluice Environments';
    this.#item.command = 'sluice.environments.focus';
    this.#item.tooltip = 'Click to open the Environments view.';
    this.#subscriptions = [
      model.onDidChange(({ scope }) => {
        if (scope.whole || scope.environments || scope.datasets.size > 0) this.#show();
      }),
      onHealthTick(() => {
        this.#show();
      }),
    ];
  }

  /** What is live changed: the model read a folder's environments again. */
  #show(): void {
    const folders = this.model.folders.map((folder) => folder.environments);
    this.#live = statusText(folders);
    this.#behind = behindCount(this.model.folders.map((folder) => folder.remote));
    const pull =
      this.#behind === 0
        ? ''
        : `\n${this.#behind} snapshot(s) or deployment(s) on the remote to pull (Sluice: Pull).`;
    this.#failing = failingEnvironments(folders);
    const failing = this.#failing.map(
      ({ environment, failing: checks }) => `\n${environment} is failing: ${checks.join(', ')}.`,
    );
    const first = this.#failing[0];
    const click = first === undefined ? undefined : `Click to show the health of ${first.environment}.`;
    this.#item.tooltip = statusTooltip(folders, Date.now(), click) + pull + failing.join('');
    this.#render();
  }

  /** The spinner turns while any long operation runs; refreshes wait for it as before. */
  async whileBusy<T>(work: () => Promise<T>): Promise<T> {
    this.#running++;
    this.#render();
    try {
      return await this.model.whileBusy(work);
    } finally {
      this.#running--;
      this.#render();
    }
  }

  /** The text shown now (tests read it through the extension's API). */
  get text(): string {
    return this.#item.text;
  }

  /** The text, tooltip, whether it warns, and the environment a click reveals (tests read it through the API). */
  get shown(): {
    readonly text: string;
    readonly tooltip: string;
    readonly warning: boolean;
    readonly reveals: { readonly root: string; readonly environment: string } | undefined;
  } {
    const { tooltip, backgroundColor, command } = this.#item;
    const reveals =
      typeof command === 'object'
        ? (command.arguments?.[0] as { root: string; environment: string })
        : undefined;
    return {
      text: this.#item.text,
      tooltip: typeof tooltip === 'string' ? tooltip : '',
      warning: backgroundColor !== undefined,
      reveals,
    };
  }

  dispose(): void {
    for (const subscription of this.#subscriptions) subscription.dispose();
    this.#item.dispose();
  }

  #render(): void {
    const behind = this.#behind > 0 ? ` $(cloud-download) ${this.#behind}` : '';
    const failing = this.#failing[0];
    this.#item.backgroundColor =
      failing === undefined ? undefined : new vscode.ThemeColor('statusBarItem.warningBackground');
    this.#item.command =
      failing === undefined
        ? 'sluice.environments.focus'
        : {
            command: 'sluice.showHealth',
            title: 'Show Health',
            arguments: [{ root: failing.root, environment: failing.environment }],
          };
    if (this.#running > 0) {
      this.#item.text = `$(sync~spin) ${this.#live ?? 'Sluice'}${behind}`;
      this.#item.show();
    } else if (this.#live !== undefined || behind !== '') {
      this.#item.text = `$(${failing === undefined ? 'rocket' : 'warning'}) ${this.#live ?? 'Sluice'}${behind}`;
      this.#item.show();
    } else {
      this.#item.text = '';
      this.#item.hide();
    }
  }
}

export class SlurmJobsStatusBar implements vscode.Disposable {
  readonly #item = vscode.window.createStatusBarItem('sluice.slurmJobs', vscode.StatusBarAlignment.Left, 9);
  readonly #subscription: vscode.Disposable;

  constructor(private readonly model: WorkspaceModel) {
    this.#item.name = 'Sluice Slurm Jobs';
    this.#item.command = 'sluice.pipelines.focus';
    this.#subscription = model.onDidChange(({ scope }) => {
      if (scope.whole || scope.pipelines || scope.jobs) this.#show();
    });
  }

  /** The text and tooltip shown now; an empty text when the item is hidden (tests read it through the extension's API). */
  get shown(): { readonly text: string; readonly tooltip: string } {
    const { tooltip } = this.#item;
    return { text: this.#item.text, tooltip: typeof tooltip === 'string' ? tooltip : '' };
  }

  dispose(): void {
    this.#subscription.dispose();
    this.#item.dispose();
  }

  #show(): void {
    const status = slurmJobsStatus(this.model.folders.map((folder) => folder.pipelines.jobs));
    this.#item.text = status?.text ?? '';
    this.#item.tooltip = status?.tooltip ?? '';
    if (status === undefined) this.#item.hide();
    else this.#item.show();
  }
}
