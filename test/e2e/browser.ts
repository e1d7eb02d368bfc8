// Debian's Chromium driven by playwright-core: the browser half of an editor
// session. Headless, with everything that reaches for the network turned off
// (this machine's closed network refuses it, many times a second otherwise).
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { SluiceError } from '../../src/core/errors';
import { ensureDebianPackages } from './debianPackages';
import type { EditorProfile } from './editorProfile';
import type { RunningCodeServer } from './codeServer';

export const CHROMIUM = '/usr/bin/chromium';
export const BROWSER_DEBIAN_PACKAGES = ['chromium'] as const;

const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The workbench is usable once its activity bar shows (3–4 s after navigation). */
export const WORKBENCH_READY = '.monaco-workbench .part.activitybar';

export function ensureBrowser(): void {
  ensureDebianPackages(BROWSER_DEBIAN_PACKAGES, 'The editor UI tests');
  if (!existsSync(CHROMIUM)) {
    throw new SluiceError(`${CHROMIUM} is missing although the chromium package is installed.`, 'failed');
  }
}

/** A headless Chromium with a fresh user data dir (playwright makes and removes it), living in `profile`. */
export async function launchBrowser(profile: EditorProfile): Promise<Browser> {
  ensureBrowser();
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    env: profile.environment(),
  });
}

export interface WorkbenchAddress {
  /** The folder to open, an absolute path on the server's machine. */
  readonly folder: string;
  /** Pairs the workbench reads from its `payload` parameter (it ignores top-level ones), such as extensionTestsPath. */
  readonly payload?: readonly (readonly [string, string])[];
}

export function workbenchUrl(server: RunningCodeServer, address: WorkbenchAddress): string {
  const url = new URL(`${server.url}/`);
  url.searchParams.set('folder', address.folder);
  if (address.payload !== undefined) url.searchParams.set('payload', JSON.stringify(address.payload));
  return url.toString();
}

/** A path on the server as the workbench names it in a payload. */
export function remoteUri(server: RunningCodeServer, path: string): string {
  return `vscode-remote://${server.authority}${path}`;
}

/** Opens the workbench in `page` and waits until its activity bar shows. */
export async function openWorkbench(
  page: Page,
  server: RunningCodeServer,
  address: WorkbenchAddress,
): Promise<void> {
  await page.goto(workbenchUrl(server, address));
  await page.locator(WORKBENCH_READY).waitFor({ state: 'visible', timeout: 60_000 });
}
