// A small LSP client for tests: spawns the real language server (dist/server.js)
// over stdio, keeps its own copy of each open document, sends incremental
// changes, and waits for the publishDiagnostics of a given document version.
// Nothing here sleeps for a fixed time: every wait is for an event, bounded by
// a timeout, and fails at once when the server process dies.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createProtocolConnection,
  DidChangeTextDocumentNotification,
  DidChangeWatchedFilesNotification,
  DidCloseTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  LogMessageNotification,
  MessageType,
  PublishDiagnosticsNotification,
  RegistrationRequest,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  type ClientCapabilities,
  type Diagnostic,
  type FileEvent,
  type InitializeResult,
  type LogMessageParams,
  type Position,
  type ProtocolConnection,
  type ProtocolRequestType,
  type PublishDiagnosticsParams,
  type Range,
  type Registration,
  type RequestParam,
  type TextEdit,
} from 'vscode-languageserver-protocol/node';

/** The repository root: the nearest folder above this bundle holding the project's package.json. */
export function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src', 'server', 'server.ts')))
      return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no repository root above ${__dirname}`);
    dir = parent;
  }
}

export const SERVER = join(repoRoot(), 'dist', 'server.js');

export const DEFAULT_TIMEOUT_MS = 5000;

export class TimeoutError extends Error {}

/** Resolves or rejects with `promise`, or rejects with a TimeoutError after `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new TimeoutError(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface ClientOptions {
  /** Announce `workspace.didChangeWatchedFiles.dynamicRegistration` (default false). */
  readonly watchFiles?: boolean;
  /** Default timeout for every wait, in ms. */
  readonly timeoutMs?: number;
  /** Working directory of the server process. */
  readonly cwd?: string;
}

interface Waiter {
  readonly accept: (params: PublishDiagnosticsParams) => boolean;
  readonly resolve: (params: PublishDiagnosticsParams) => void;
}

interface OpenDocument {
  text: string;
  version: number;
}

/** One server process and the documents open in it. */
export class LspClient {
  /** Every publishDiagnostics received, in arrival order. */
  readonly publishes: PublishDiagnosticsParams[] = [];
  /** Every window/logMessage received (the server logs failures of its handlers here). */
  readonly logs: LogMessageParams[] = [];
  /** Registrations the server asked for with client/registerCapability. */
  readonly registrations: Registration[] = [];
  readonly connection: ProtocolConnection;
  /** Rejects when the server process exits, whatever the reason. */
  readonly exited: Promise<never>;
  initializeResult: InitializeResult | undefined;

  private readonly documents = new Map<string, OpenDocument>();
  private readonly waiters = new Set<Waiter>();
  private readonly stderr: string[] = [];
  private exitInfo: string | undefined;
  private exitStatus: number | null | undefined;
  private shuttingDown = false;
  private readonly timeoutMs: number;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    options: ClientOptions,
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr.push(chunk);
      if (this.stderr.length > 100) this.stderr.shift();
    });
    this.exited = new Promise<never>((_, reject) => {
      child.on('exit', (code, signal) => {
        this.exitStatus = code;
        this.exitInfo = `exit code ${String(code)}, signal ${String(signal)}`;
        reject(new Error(`the server exited (${this.exitInfo})${this.stderrTail()}`));
      });
    });
    // Nobody may be waiting when the server ends (a clean shutdown ends here too).
    this.exited.catch(() => undefined);
    this.connection = createProtocolConnection(
      new StreamMessageReader(child.stdout),
      new StreamMessageWriter(child.stdin),
    );
    this.connection.onNotification(PublishDiagnosticsNotification.type, (params) => {
      this.publishes.push(params);
      for (const waiter of this.waiters) {
        if (waiter.accept(params)) {
          this.waiters.delete(waiter);
          waiter.resolve(params);
        }
      }
    });
    this.connection.onNotification(LogMessageNotification.type, (params) => {
      this.logs.push(params);
    });
    this.connection.onRequest(RegistrationRequest.type, (params) => {
      this.registrations.push(...params.registrations);
    });
    // A write after the server died must not take the test process down.
    child.stdin.on('error', () => undefined);
    this.connection.onError(() => undefined);
    this.connection.listen();
  }

  /** Spawns `node dist/server.js --stdio` and runs initialize/initialized. */
  static async start(options: ClientOptions = {}): Promise<LspClient> {
    const child = spawn(process.execPath, [SERVER, '--stdio'], {
      cwd: options.cwd ?? tmpdir(),
      stdio: 'pipe',
    });
    const client = new LspClient(child, options);
    try {
      await client.initialize(options.watchFiles === true);
    } catch (error) {
      client.kill();
      throw error;
    }
    return client;
  }

  /** The exit code once the process ended (null when killed by a signal), undefined while it runs. */
  get exitCode(): number | null | undefined {
    return this.exitStatus;
  }

  get alive(): boolean {
    return this.exitInfo === undefined;
  }

  /** What the server wrote on stderr lately, for failure messages. */
  stderrTail(): string {
    const tail = this.stderr.join('').trim().split('\n').slice(-15).join('\n');
    return tail === '' ? '' : `\nserver stderr:\n${tail}`;
  }

  /** Log messages of type Error: the server logs every exception its handlers caught. */
  errorLogs(): string[] {
    return this.logs.filter((log) => log.type === MessageType.Error).map((log) => log.message);
  }

  /** Waits for `promise`, failing at once if the server dies and after `ms`. */
  async guard<T>(promise: Promise<T>, what: string, ms = this.timeoutMs): Promise<T> {
    return withTimeout(Promise.race([promise, this.exited]), ms, what);
  }

  private async initialize(watchFiles: boolean): Promise<void> {
    const capabilities: ClientCapabilities = {
      workspace: {
        didChangeWatchedFiles: { dynamicRegistration: watchFiles },
        workspaceEdit: { documentChanges: false },
      },
      textDocument: {
        synchronization: { dynamicRegistration: false },
        publishDiagnostics: { versionSupport: true, relatedInformation: true },
        completion: {
          contextSupport: true,
          completionItem: { snippetSupport: true, documentationFormat: ['markdown', 'plaintext'] },
        },
        hover: { contentFormat: ['markdown', 'plaintext'] },
        rename: { prepareSupport: true },
        documentSymbol: { hierarchicalDocumentSymbolSupport: true },
        codeAction: {
          codeActionLiteralSupport: { codeActionKind: { valueSet: ['quickfix'] } },
          isPreferredSupport: true,
        },
      },
    };
    this.initializeResult = await this.guard(
      this.connection.sendRequest(InitializeRequest.type, {
        processId: process.pid,
        // Deprecated, but part of the required shape of InitializeParams.
        // eslint-disable-next-line @typescript-eslint/no-deprecated
        rootUri: null,
        capabilities,
      }),
      'initialize',
    );
    await this.connection.sendNotification(InitializedNotification.type, {});
  }

  /** Sends a request and waits for its answer (a ResponseError rejects). */
  async request<P, R, PR, E, RO>(
    type: ProtocolRequestType<P, R, PR, E, RO>,
    params: RequestParam<P>,
    ms?: number,
  ): Promise<R> {
    return this.guard(this.connection.sendRequest(type, params), type.method, ms);
  }

  /** The client's copy of an open document. */
  text(uri: string): string {
    return this.document(uri).text;
  }

  version(uri: string): number {
    return this.document(uri).version;
  }

  private document(uri: string): OpenDocument {
    const document = this.documents.get(uri);
    if (!document) throw new Error(`${uri} is not open`);
    return document;
  }

  /** Opens a document; returns its version. */
  async open(uri: string, text: string, version = 1): Promise<number> {
    this.documents.set(uri, { text, version });
    await this.connection.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri, languageId: 'sluice', version, text },
    });
    return version;
  }

  /** Opens a document and waits for its first diagnostics. */
  async openAndWait(uri: string, text: string, version = 1): Promise<Diagnostic[]> {
    const published = this.waitForDiagnostics(uri, version, { from: this.cursor });
    await this.open(uri, text, version);
    return published;
  }

  async close(uri: string): Promise<void> {
    this.documents.delete(uri);
    await this.connection.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri } });
  }

  /**
   * Sends one didChange with the given incremental edits (applied in order, each
   * to the result of the previous one, as LSP specifies); returns the new version.
   */
  async change(uri: string, edits: readonly TextEdit[]): Promise<number> {
    const document = this.document(uri);
    for (const edit of edits) document.text = applyEdit(document.text, edit);
    document.version++;
    await this.connection.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri, version: document.version },
      contentChanges: edits.map((edit) => ({ range: edit.range, text: edit.newText })),
    });
    return document.version;
  }

  /** Replaces the `occurrence`-th `search` in the document by `replacement`; returns the new version. */
  async replace(uri: string, search: string, replacement: string, occurrence = 0): Promise<number> {
    const range = rangeOf(this.text(uri), search, occurrence);
    return this.change(uri, [{ range, newText: replacement }]);
  }

  /** Replaces the whole text with one incremental edit spanning the old text; returns the new version. */
  async setText(uri: string, text: string): Promise<number> {
    const old = this.text(uri);
    return this.change(uri, [
      { range: { start: { line: 0, character: 0 }, end: endOf(old) }, newText: text },
    ]);
  }

  /** Sends a change and waits for the diagnostics of the version it makes. */
  async changeAndWait(uri: string, edits: readonly TextEdit[]): Promise<Diagnostic[]> {
    const version = this.document(uri).version + 1;
    const published = this.waitForDiagnostics(uri, version, { from: this.cursor });
    await this.change(uri, edits);
    return published;
  }

  async replaceAndWait(
    uri: string,
    search: string,
    replacement: string,
    occurrence = 0,
  ): Promise<Diagnostic[]> {
    const range = rangeOf(this.text(uri), search, occurrence);
    return this.changeAndWait(uri, [{ range, newText: replacement }]);
  }

  async setTextAndWait(uri: string, text: string): Promise<Diagnostic[]> {
    const old = this.text(uri);
    return this.changeAndWait(uri, [
      { range: { start: { line: 0, character: 0 }, end: endOf(old) }, newText: text },
    ]);
  }

  /**
   * The diagnostics of the first publish for `uri` with exactly `version`,
   * already received (from index `from` of `publishes` on) or yet to come.
   */
  async waitForDiagnostics(
    uri: string,
    version: number,
    options: { readonly from?: number; readonly ms?: number } = {},
  ): Promise<Diagnostic[]> {
    const params = await this.waitForPublish(
      (p) => p.uri === uri && p.version === version,
      `diagnostics of ${uri} v${version}`,
      options,
    );
    return params.diagnostics;
  }

  /** Index the next publishDiagnostics will get in `publishes`. */
  get cursor(): number {
    return this.publishes.length;
  }

  /**
   * The first publish `accept` takes among those received from index `from` on
   * (default: all, including ones already received), or yet to come.
   */
  async waitForPublish(
    accept: (params: PublishDiagnosticsParams) => boolean,
    what: string,
    options: { readonly from?: number; readonly ms?: number } = {},
  ): Promise<PublishDiagnosticsParams> {
    const earlier = this.publishes.slice(options.from ?? 0).find(accept);
    if (earlier) return earlier;
    let waiter: Waiter | undefined;
    const published = new Promise<PublishDiagnosticsParams>((resolve) => {
      waiter = { accept, resolve };
      this.waiters.add(waiter);
    });
    try {
      return await this.guard(published, what, options.ms);
    } finally {
      if (waiter) this.waiters.delete(waiter);
    }
  }

  /** Every publish for `uri` so far, in arrival order. */
  publishesFor(uri: string): PublishDiagnosticsParams[] {
    return this.publishes.filter((p) => p.uri === uri);
  }

  /** Tells the server files changed on disk. */
  async filesChanged(changes: FileEvent[]): Promise<void> {
    await this.connection.sendNotification(DidChangeWatchedFilesNotification.type, { changes });
  }

  /** shutdown, then exit; kills the process if either does not happen in time. */
  async shutdown(ms = this.timeoutMs): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    try {
      if (this.alive) {
        await withTimeout(
          Promise.race([this.connection.sendRequest(ShutdownRequest.type), this.exited]),
          ms,
          'shutdown',
        );
        await this.connection.sendNotification(ExitNotification.type);
        await withTimeout(
          this.exited.catch(() => undefined),
          ms,
          'the server to exit',
        );
      }
    } finally {
      this.kill();
    }
  }

  /** Ends the process at once (idempotent). */
  kill(): void {
    this.connection.dispose();
    if (this.alive) this.child.kill('SIGKILL');
  }
}

// Positions as LSP defines them: lines end at `\r\n`, `\n` or a lone `\r`, and
// characters are UTF-16 code units (JavaScript string indexes).

function isLineBreak(code: number): boolean {
  return code === 10 || code === 13;
}

/** The offset where each line of `text` starts. */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (!isLineBreak(code)) continue;
    if (code === 13 && text.charCodeAt(i + 1) === 10) i++;
    starts.push(i + 1);
  }
  return starts;
}

/** The lines of `text` without their line breaks, as an LSP client counts them. */
export function linesOf(text: string): string[] {
  const starts = lineStarts(text);
  return starts.map((start, line) => {
    let end = starts[line + 1] ?? text.length;
    while (end > start && isLineBreak(text.charCodeAt(end - 1))) end--;
    return text.slice(start, end);
  });
}

/** A diagnostic's message as text (LSP 3.18 allows markup too; Sluice sends text). */
export function messageOf(diagnostic: Diagnostic): string {
  return typeof diagnostic.message === 'string' ? diagnostic.message : diagnostic.message.value;
}

/** The position after the last character of `text`. */
export function endOf(text: string): Position {
  return positionAt(text, text.length);
}

/** The position of `offset` in `text`. */
export function positionAt(text: string, offset: number, starts = lineStarts(text)): Position {
  const clamped = Math.max(0, Math.min(offset, text.length));
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= clamped) lo = mid;
    else hi = mid - 1;
  }
  const lineStart = starts[lo]!;
  let at = clamped;
  // Between `\r` and `\n` counts as the end of the line.
  while (at > lineStart && isLineBreak(text.charCodeAt(at - 1))) at--;
  return { line: lo, character: at - lineStart };
}

/** The offset of a position in `text`; positions past a line's end clamp to it (as LSP documents do). */
export function offsetAt(text: string, position: Position, starts = lineStarts(text)): number {
  if (position.line >= starts.length) return text.length;
  if (position.line < 0) return 0;
  const lineStart = starts[position.line]!;
  if (position.character <= 0) return lineStart;
  const next = starts[position.line + 1] ?? text.length;
  let at = Math.min(lineStart + position.character, next);
  while (at > lineStart && isLineBreak(text.charCodeAt(at - 1))) at--;
  return at;
}

/** The range of the `occurrence`-th (0-based) `search` in `text`. */
export function rangeOf(text: string, search: string, occurrence = 0): Range {
  let at = -1;
  for (let i = 0; i <= occurrence; i++) {
    at = text.indexOf(search, at + 1);
    if (at === -1) throw new Error(`\`${search}\` (#${occurrence}) is not in the text`);
  }
  return { start: positionAt(text, at), end: positionAt(text, at + search.length) };
}

/** A position `delta` characters into the `occurrence`-th `search` (delta may be its length: its end). */
export function positionOf(text: string, search: string, delta = 0, occurrence = 0): Position {
  const { start } = rangeOf(text, search, occurrence);
  return { line: start.line, character: start.character + delta };
}

export function range(line: number, character: number, endLine: number, endCharacter: number): Range {
  return { start: { line, character }, end: { line: endLine, character: endCharacter } };
}

export function applyEdit(text: string, edit: TextEdit): string {
  const start = offsetAt(text, edit.range.start);
  const end = offsetAt(text, edit.range.end);
  return text.slice(0, start) + edit.newText + text.slice(end);
}

/** Applies edits that all refer to the same original text (a WorkspaceEdit's edits for one document). */
export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  const located = edits
    .map((edit) => ({
      start: offsetAt(text, edit.range.start),
      end: offsetAt(text, edit.range.end),
      newText: edit.newText,
    }))
    .sort((a, b) => b.start - a.start || b.end - a.end);
  let result = text;
  for (const edit of located) result = result.slice(0, edit.start) + edit.newText + result.slice(edit.end);
  return result;
}

/** A temporary workspace folder; its manifest is `sluice.yaml` at the root. */
export class TempWorkspace {
  readonly root: string;

  constructor(prefix = 'sluice-lsp-') {
    // The real path: the server compares real paths when it follows links.
    this.root = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  }

  path(relative: string): string {
    return join(this.root, relative);
  }

  uri(relative = 'sluice.yaml'): string {
    return pathToFileURL(this.path(relative)).href;
  }

  /** Writes a file, creating its folders. */
  write(relative: string, content = ''): string {
    const path = this.path(relative);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    return path;
  }

  mkdir(relative: string): string {
    const path = this.path(relative);
    mkdirSync(path, { recursive: true });
    return path;
  }

  /** Creates a symbolic link at `relative` pointing to `target` (absolute or relative to the link). */
  symlink(target: string, relative: string): string {
    const path = this.path(relative);
    mkdirSync(dirname(path), { recursive: true });
    symlinkSync(target, path);
    return path;
  }

  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
