// A person's view of VS Code in the browser: the few gestures UI scenarios are
// made of (run a palette command, open a file, read a view's tree, read the
// Problems panel, answer a dialog) and a screenshot per step. Everything waits
// for what it needs to see; nothing sleeps.
//
// To add a scenario for a new view or command (Snapshot, Run, Stage, Promote,
// Roll Back…): openView('Sluice'), treeItem('Pipelines', 'train'),
// runCommand('Sluice: Run Pipeline'), answerDialog('Promote'), then read the
// result from the views here and from the disk in the test.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { TEST_OUTPUT_DIR } from '../../e2e/paths';

/** How long a gesture waits for what it expects to see; the extension host can take seconds to start. */
export const UI_TIMEOUT_MS = 30_000;

/** Screenshots go to test-output/ui/<scenario>/ (git-ignored), numbered in the order taken. */
export const SCREENSHOT_DIR = join(TEST_OUTPUT_DIR, 'ui');

export interface ExpectedProblem {
  readonly severity?: ProblemRow['severity'];
  /** A part of the message. */
  readonly message?: string;
  readonly line?: number;
  readonly column?: number;
  readonly source?: string;
}

export interface ProblemRow {
  readonly severity: 'Error' | 'Warning' | 'Info';
  readonly message: string;
  /** 1-based, as the panel shows them. */
  readonly line: number;
  readonly column: number;
  readonly source: string;
}

export class Workbench {
  #screenshots = 0;
  readonly #screenshotDir: string;

  /** test-output/ui/<scenario>/: the screenshots, and the server's log once the session closes. */
  get outputDir(): string {
    return this.#screenshotDir;
  }

  constructor(
    readonly page: Page,
    scenario: string,
  ) {
    this.#screenshotDir = join(SCREENSHOT_DIR, scenario);
    // A scenario's folder holds its latest run only, so no old picture passes for a new one.
    rmSync(this.#screenshotDir, { recursive: true, force: true });
    mkdirSync(this.#screenshotDir, { recursive: true });
  }

  /**
   * One step of a scenario: runs `action`, then saves a screenshot named after
   * the step; on failure the screenshot is marked FAILED and the error goes on.
   */
  async step<T>(name: string, action: () => Promise<T>): Promise<T> {
    try {
      const result = await action();
      await this.screenshot(name);
      return result;
    } catch (error) {
      await this.screenshot(`${name}-FAILED`).catch(() => undefined);
      throw error;
    }
  }

  /** Saves the whole window as test-output/ui/<scenario>/NN-<name>.png and returns the path. */
  async screenshot(name: string): Promise<string> {
    this.#screenshots++;
    const file = `${String(this.#screenshots).padStart(2, '0')}-${name.replace(/[^\w.-]+/g, '-')}.png`;
    const path = join(this.#screenshotDir, file);
    await this.page.screenshot({ path });
    return path;
  }

  /**
   * Runs a command by its palette title (`Category: Title`). The palette lists
   * what is registered when it opens, so it is reopened until the command shows
   * (an extension's commands appear once its host has started).
   */
  async runCommand(title: string): Promise<void> {
    const option = this.#quickInput().getByRole('option', { name: labelled(title) });
    await this.#untilVisible(option, `the command "${title}" in the palette`, async () => {
      await this.#closeQuickInput();
      await this.page.keyboard.press('F1');
      await this.#quickInput().locator('input').fill(`>${title}`);
    });
    await option.click();
  }

  /** Opens a workspace file by its path relative to the folder (Quick Open) and waits for its tab. */
  async openFile(relativePath: string): Promise<void> {
    const name = relativePath.split('/').pop()!;
    await this.page.keyboard.press('Control+P');
    await this.#quickInput().locator('input').fill(relativePath);
    await this.#quickInput()
      .getByRole('option', { name: new RegExp(`^${escapeRegExp(name)}\\b`) })
      .first()
      .click();
    await this.page.locator(`.tab.active[aria-label^="${name}"]`).waitFor({ timeout: UI_TIMEOUT_MS });
  }

  /**
   * Moves the cursor of the active editor to a 1-based line and column (Go to
   * Line). Under load the widget can take the Enter before it has read what
   * was typed, and then does nothing: the status bar tells, and it tries again.
   */
  async goTo(line: number, column: number): Promise<void> {
    const position = this.page
      .locator('.part.statusbar')
      .getByText(`Ln ${String(line)}, Col ${String(column)}`, { exact: true });
    for (let attempt = 1; ; attempt++) {
      await this.page.keyboard.press('Control+G');
      await this.#quickInput()
        .locator('input')
        .fill(`:${String(line)}:${String(column)}`);
      await this.page.keyboard.press('Enter');
      try {
        await position.waitFor({ timeout: attempt < 3 ? UI_TIMEOUT_MS / 4 : UI_TIMEOUT_MS });
        return;
      } catch (error) {
        if (attempt >= 3) throw error;
        await this.page.keyboard.press('Escape');
      }
    }
  }

  /** Replaces the word at a 1-based line and column of the active editor with `text`, by typing. */
  async replaceWordAt(line: number, column: number, text: string): Promise<void> {
    await this.goTo(line, column);
    // With nothing selected, Ctrl+D selects the word under the cursor.
    await this.page.keyboard.press('Control+D');
    await this.page.keyboard.type(text);
  }

  /** Asks the active editor for completions at the cursor (Ctrl+Space) and returns the offered labels. */
  async suggestions(): Promise<string[]> {
    await this.page.keyboard.press('Control+Space');
    const rows = this.page.locator('.editor-widget.suggest-widget.visible .monaco-list-row');
    await rows.first().waitFor({ timeout: UI_TIMEOUT_MS });
    return (await rows.allInnerTexts()).map((text) => text.split('\n')[0]!.trim());
  }

  /**
   * Shows the Problems panel and waits until its problems are exactly
   * `expected` (any order; each matches on the fields it gives, `message` as a
   * substring). Returns what the panel shows then.
   */
  async waitForProblems(expected: readonly ExpectedProblem[]): Promise<ProblemRow[]> {
    await this.runCommand('View: Focus Problems (Errors, Warnings, Infos)');
    const labels = (): Promise<string[]> => ariaLabels(this.page.locator(PROBLEM_ROWS));
    try {
      await this.page.waitForFunction(
        ({ selector, pattern, wanted }) => {
          const shown = [...document.querySelectorAll(selector)].flatMap((row) => {
            const match = new RegExp(pattern, 's').exec(row.getAttribute('aria-label') ?? '');
            return match === null ? [] : [match];
          });
          const fits = (want: (typeof wanted)[number], row: RegExpExecArray): boolean =>
            (want.severity === undefined || row[1] === want.severity) &&
            (want.message === undefined || row[2]!.includes(want.message)) &&
            (want.line === undefined || Number(row[3]) === want.line) &&
            (want.column === undefined || Number(row[4]) === want.column) &&
            (want.source === undefined || row[5] === want.source);
          return (
            shown.length === wanted.length && wanted.every((want) => shown.some((row) => fits(want, row)))
          );
        },
        { selector: PROBLEM_ROWS, pattern: PROBLEM_LABEL.source, wanted: expected },
        { timeout: UI_TIMEOUT_MS },
      );
    } catch (error) {
      throw new Error(
        `The Problems panel never showed exactly ${JSON.stringify(expected)}; ` +
          `it shows ${JSON.stringify(parseProblems(await labels()))}.`,
        { cause: error },
      );
    }
    return parseProblems(await labels());
  }

  /** Opens a view container from the activity bar by its title, such as 'Explorer' or 'Sluice' (never closes it). */
  async openViewContainer(title: string): Promise<void> {
    const item = this.page.locator('.part.activitybar li.action-item', {
      has: this.page.locator(`a[aria-label^="${title}"]`),
    });
    await item.waitFor({ timeout: UI_TIMEOUT_MS });
    // Clicking the open container's icon would close the side bar.
    if ((await item.getAttribute('aria-expanded')) !== 'true') await item.click();
    await this.page
      .locator('.part.activitybar li.action-item[aria-expanded="true"]', {
        has: this.page.locator(`a[aria-label^="${title}"]`),
      })
      .waitFor({ timeout: UI_TIMEOUT_MS });
    await this.page.locator('.part.sidebar').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
  }

  /** A view (one section of the side bar) by its title. */
  view(title: string): Locator {
    return this.page.locator('.pane', {
      has: this.page.locator(`.pane-header[aria-label^="${title} Section"]`),
    });
  }

  /** The rows of a view's tree, as shown (collapsed children are not rows). */
  treeItems(viewTitle: string): Locator {
    return this.view(viewTitle).getByRole('treeitem');
  }

  /** One row of a view's tree by its accessible name (label, then description). */
  treeItem(viewTitle: string, name: string | RegExp): Locator {
    return this.view(viewTitle).getByRole('treeitem', { name });
  }

  /** The labels of a view's visible rows, once it shows at least one. */
  async treeLabels(viewTitle: string): Promise<string[]> {
    await this.treeItems(viewTitle).first().waitFor({ timeout: UI_TIMEOUT_MS });
    return ariaLabels(this.treeItems(viewTitle));
  }

  /** The modal dialog, once one shows. */
  async dialog(): Promise<Locator> {
    const dialog = this.page.locator('.monaco-dialog-box');
    await dialog.waitFor({ timeout: UI_TIMEOUT_MS });
    return dialog;
  }

  /** Clicks a button of the modal dialog by its label and waits for the dialog to close. */
  async answerDialog(button: string | RegExp): Promise<void> {
    const dialog = await this.dialog();
    await dialog.getByRole('button', { name: button }).click();
    await dialog.waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS });
  }

  /** A notification toast holding `text`. */
  notification(text: string | RegExp): Locator {
    return this.page.locator('.notification-toast').filter({ hasText: text });
  }

  /** A status bar entry holding `text`. */
  statusBarItem(text: string | RegExp): Locator {
    return this.page.locator('.part.statusbar .statusbar-item').filter({ hasText: text });
  }

  #quickInput(): Locator {
    return this.page.locator('.quick-input-widget');
  }

  async #closeQuickInput(): Promise<void> {
    if (await this.#quickInput().isVisible()) await this.page.keyboard.press('Escape');
  }

  /** Runs `attempt` until `target` shows, each attempt given a few seconds, for UI_TIMEOUT_MS in all. */
  async #untilVisible(target: Locator, what: string, attempt: () => Promise<void>): Promise<void> {
    const deadline = Date.now() + UI_TIMEOUT_MS;
    for (;;) {
      await attempt();
      try {
        await target.waitFor({ timeout: 3_000 });
        return;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`, { cause: error });
      }
    }
  }
}

/** The accessible name of a palette or list row: its label, then `, keybinding` when it has one. */
function labelled(title: string): RegExp {
  return new RegExp(`^${escapeRegExp(title)}(, .*)?$`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The little of the DOM that functions run in the page use. The project's
 * types leave the DOM out (nothing else runs in a browser); this declaration is
 * local to this module.
 */
interface PageElement {
  getAttribute(name: string): string | null;
}
declare const document: { querySelectorAll(selector: string): Iterable<PageElement> };

/** The aria-label of every element `locator` matches, read in one go. */
function ariaLabels(locator: Locator): Promise<string[]> {
  return locator.evaluateAll((elements: PageElement[]) =>
    elements.map((element) => element.getAttribute('aria-label') ?? ''),
  );
}

/** The Problems panel's rows; a file's row is one of them, without a position. */
const PROBLEM_ROWS = '.markers-panel .monaco-list-row[aria-label]';
/** A problem's row reads "Error: MESSAGE at line 25 and character 20. generated by sluice". */
const PROBLEM_LABEL = /^(Error|Warning|Info): (.*) at line (\d+) and character (\d+)\. generated by (.*)$/;

function parseProblems(labels: readonly string[]): ProblemRow[] {
  return labels.flatMap((label) => {
    const match = new RegExp(PROBLEM_LABEL.source, 's').exec(label);
    if (match === null) return [];
    const [, severity, message, line, column, source] = match;
    return [
      {
        severity: severity as ProblemRow['severity'],
        message: message!,
        line: Number(line),
        column: Number(column),
        source: source!,
      },
    ];
  });
}
