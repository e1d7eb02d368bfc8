// The root of the extension: it builds every part and owns every disposable,
// so activation is one constructor call and deactivation one dispose.
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { registerCommands, type CommandTable } from './commands';
import { ManifestLanguageServer } from './languageServer';

/** What `activate` returns to other extensions and to the extension-host tests. */
export interface SluiceApi {
  /** The current language client; a restart replaces it. */
  readonly languageClient: LanguageClient;
}

export class SluiceExtension {
  readonly api: SluiceApi;
  readonly #disposables: vscode.Disposable[] = [];
  readonly #languageServer: ManifestLanguageServer;

  constructor(context: vscode.ExtensionContext) {
    const log = this.#own(vscode.window.createOutputChannel('Sluice', { log: true }));
    const languageServer = new ManifestLanguageServer(context.asAbsolutePath('dist/server.js'), log);
    this.#languageServer = languageServer;

    const commands: CommandTable = {
      restartLanguageServer: () => languageServer.restart(),
    };
    this.#disposables.push(...registerCommands(commands, log));

    this.api = {
      get languageClient() {
        return languageServer.client;
      },
    };
  }

  /** Stops the language server first: it writes to the log, which is disposed after it. */
  async dispose(): Promise<void> {
    await this.#languageServer.dispose();
    for (const disposable of this.#disposables.splice(0).reverse()) disposable.dispose();
  }

  #own<T extends vscode.Disposable>(disposable: T): T {
    this.#disposables.push(disposable);
    return disposable;
  }
}
