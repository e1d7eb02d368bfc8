// The client side of the Sluice language server (dist/server.js, built from
// src/server/): it serves sluice.yaml files, in a child process over Node IPC.
import type * as vscode from 'vscode';
import {
  LanguageClient,
  TransportKind,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import { describeError } from '../core/errors';

/** The port `--inspect` opens when the extension runs in debug mode (attach a debugger to it). */
const SERVER_DEBUG_PORT = 6011;

/**
 * Paths whose changes are not worth telling the server: they churn on every git
 * command, package install and pipeline run, and no manifest path is expected
 * inside them. The server watches `**` itself (a dynamic registration that works
 * in any LSP editor); this filter is what VS Code adds on top.
 */
const UNWATCHED_FOLDER = /\/(?:\.git|node_modules|\.sluice)(?:\/|$)/;

export class ManifestLanguageServer {
  #client: LanguageClient;
  /** The latest start, restart or stop. Each waits for the one before, so two restarts never race. */
  #lifecycle: Promise<void>;
  #disposed = false;

  constructor(
    private readonly serverModule: string,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.#client = this.#createClient();
    this.#lifecycle = this.#start(this.#client);
  }

  /** The current client. A restart replaces it, so read it again after one. */
  get client(): LanguageClient {
    return this.#client;
  }

  /**
   * Stops the server if it runs and starts a fresh one. A new client object is
   * needed because one whose start failed cannot be started again.
   */
  restart(): Promise<void> {
    return this.#queue(async () => {
      if (this.#disposed) return;
      this.log.info('Restarting the language server.');
      await this.#stop(this.#client);
      this.#client = this.#createClient();
      await this.#start(this.#client);
    });
  }

  dispose(): Promise<void> {
    this.#disposed = true;
    return this.#queue(() => this.#stop(this.#client));
  }

  #queue(operation: () => Promise<void>): Promise<void> {
    const done = this.#lifecycle.then(operation);
    // A failure goes to the caller of that operation, not to the next one.
    this.#lifecycle = done.catch(() => undefined);
    return done;
  }

  #createClient(): LanguageClient {
    const serverOptions: ServerOptions = {
      run: { module: this.serverModule, transport: TransportKind.ipc },
      debug: {
        module: this.serverModule,
        transport: TransportKind.ipc,
        options: { execArgv: ['--nolazy', `--inspect=${SERVER_DEBUG_PORT}`] },
      },
    };
    const clientOptions: LanguageClientOptions = {
      // The pattern also catches a manifest that the user associated with another language, such as yaml.
      documentSelector: [
        { scheme: 'file', language: 'sluice' },
        { scheme: 'file', pattern: '**/sluice.{yaml,yml}' },
      ],
      outputChannel: this.log,
      middleware: {
        workspace: {
          didChangeWatchedFile: (event, next) =>
            UNWATCHED_FOLDER.test(event.uri) ? Promise.resolve() : next(event),
        },
      },
    };
    return new LanguageClient('sluice', 'Sluice Language Server', serverOptions, clientOptions);
  }

  async #start(client: LanguageClient): Promise<void> {
    try {
      await client.start();
    } catch {
      // The client has already logged the cause and shown it to the user.
      this.log.error(
        'The language server did not start. Fix the cause above, then run "Sluice: Restart Language Server".',
      );
    }
  }

  async #stop(client: LanguageClient): Promise<void> {
    if (!client.needsStop()) return;
    try {
      await client.dispose();
    } catch (error) {
      this.log.warn(`The language server did not stop cleanly: ${describeError(error)}`);
    }
  }
}
