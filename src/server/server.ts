// The language server: a thin LSP face over core's manifest analysis. It runs
// inside VS Code (IPC) and as `sluice lsp --stdio` for any LSP editor.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CodeActionKind,
  CompletionItemKind,
  DiagnosticSeverity,
  DidChangeWatchedFilesNotification,
  DocumentHighlightKind,
  ErrorCodes,
  InsertTextFormat,
  ProposedFeatures,
  ResponseError,
  SymbolKind,
  TextDocumentSyncKind,
  TextDocuments,
  createConnection,
  type CodeAction,
  type CompletionItem,
  type Connection,
  type Diagnostic,
  type DocumentSymbol,
  type InitializeResult,
  type Range,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { describeError } from '../core/errors';
import { VERSION } from '../core/build';
import {
  LineIndex,
  ManifestDocument,
  type ManifestAnalysis,
  type ManifestDiagnostic,
} from '../core/manifest';
import { complete, type CompletionKind } from '../core/manifest/completion';
import {
  definition,
  documentLinks,
  documentSymbols,
  hover,
  prepareRename,
  references,
  rename,
  RenameRefused,
  type OutlineSymbol,
  type Span,
} from '../core/manifest/navigation';
import { DiskProbe } from '../core/paths';

/** What a published diagnostic carries back to us in a code action request. */
interface FixData {
  readonly fixes: readonly {
    title: string;
    preferred: boolean;
    edits: { range: Range; newText: string }[];
  }[];
}

/** How long file facts are trusted when the client cannot tell us about file changes. */
const PROBE_TTL_MS = 5000;

export function runLanguageServer(): void {
  startServer(createConnection(ProposedFeatures.all));
}

export function startServer(connection: Connection): void {
  const documents = new TextDocuments(TextDocument);
  const manifests = new Map<string, ManifestDocument>();
  const probes = new Map<string, { probe: DiskProbe; checked: number }>();
  const pending = new Set<string>();
  let watchesFiles = false;

  function probeFor(uri: string): DiskProbe | undefined {
    if (!uri.startsWith('file:')) return undefined;
    const root = dirname(fileURLToPath(uri));
    let entry = probes.get(root);
    if (!entry) probes.set(root, (entry = { probe: new DiskProbe(root), checked: Date.now() }));
    if (!watchesFiles && Date.now() - entry.checked > PROBE_TTL_MS) {
      entry.probe.invalidate();
      entry.checked = Date.now();
    }
    return entry.probe;
  }

  /** The line index of a document version, made once per version (completion asks on every keystroke). */
  const lineIndexes = new Map<string, { version: number; lines: LineIndex }>();
  function linesOf(document: TextDocument): LineIndex {
    const cached = lineIndexes.get(document.uri);
    if (cached?.version === document.version) return cached.lines;
    const lines = new LineIndex(document.getText());
    lineIndexes.set(document.uri, { version: document.version, lines });
    return lines;
  }

  function manifestFor(uri: string): ManifestDocument {
    let manifest = manifests.get(uri);
    if (!manifest) {
      const probe = probeFor(uri);
      manifests.set(uri, (manifest = new ManifestDocument(probe ? { probe } : {})));
    }
    return manifest;
  }

  /** The analysis of the document's current text. */
  function analysisOf(uri: string): ManifestAnalysis | undefined {
    const document = documents.get(uri);
    if (!document) return undefined;
    probeFor(uri);
    return manifestFor(uri).update(document.getText(), document.version);
  }

  /**
   * Analyzes the document's latest text one step per event-loop turn, so that
   * requests arriving meanwhile (completion while typing) are answered between
   * steps, then publishes, unless a newer version arrived: diagnostics are
   * never published for a stale version.
   */
  function publish(uri: string): void {
    const document = documents.get(uri);
    if (!document) {
      pending.delete(uri);
      return;
    }
    const version = document.version;
    const steps = manifestFor(uri).updateInSteps(document.getText(), version);
    const step = (): void => {
      try {
        const next = steps.next();
        if (!next.done) {
          setImmediate(step);
          return;
        }
        pending.delete(uri);
        const current = documents.get(uri);
        if (!current) return;
        if (current.version !== version) {
          schedule(uri);
          return;
        }
        const analysis = next.value;
        void connection.sendDiagnostics({
          uri,
          version,
          diagnostics: analysis.diagnostics.map((d) => toLspDiagnostic(d, analysis.lineIndex)),
        });
      } catch (error) {
        pending.delete(uri);
        connection.console.error(`Sluice: diagnostics failed: ${describeError(error)}`);
      }
    };
    step();
  }

  function schedule(uri: string): void {
    if (pending.has(uri)) return;
    pending.add(uri);
    // Coalesces a burst of changes into one analysis of the latest text.
    setImmediate(() => {
      publish(uri);
    });
  }

  function guard<T>(what: string, work: () => T, fallback?: T): T | undefined {
    try {
      return work();
    } catch (error) {
      if (error instanceof ResponseError) throw error;
      connection.console.error(`Sluice: ${what} failed: ${describeError(error)}`);
      return fallback;
    }
  }

  connection.onInitialize((params): InitializeResult => {
    watchesFiles = params.capabilities.workspace?.didChangeWatchedFiles?.dynamicRegistration === true;
    return {
      serverInfo: { name: 'sluice', version: VERSION },
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
        completionProvider: {
          // `{` and `.` open the names of `${…}` and the keys of one.
          triggerCharacters: [' ', ':', '/', '[', ',', '#', '-', '{', '.'],
          resolveProvider: false,
        },
        hoverProvider: true,
        definitionProvider: true,
        referencesProvider: true,
        documentHighlightProvider: true,
        renameProvider: { prepareProvider: true },
        documentSymbolProvider: true,
        documentLinkProvider: { resolveProvider: false },
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
      },
    };
  });

  connection.onInitialized(() => {
    if (!watchesFiles) return;
    // Deps that appear or vanish on disk change the warnings.
    void connection.client.register(DidChangeWatchedFilesNotification.type, {
      watchers: [{ globPattern: '**/*' }],
    });
  });

  connection.onDidChangeWatchedFiles(() => {
    for (const { probe } of probes.values()) probe.invalidate();
    for (const manifest of manifests.values()) manifest.forget();
    for (const document of documents.all()) schedule(document.uri);
  });

  documents.onDidOpen((event) => {
    schedule(event.document.uri);
  });
  documents.onDidChangeContent((event) => {
    schedule(event.document.uri);
  });
  documents.onDidClose((event) => {
    manifests.delete(event.document.uri);
    lineIndexes.delete(event.document.uri);
    pending.delete(event.document.uri);
    void connection.sendDiagnostics({ uri: event.document.uri, diagnostics: [] });
  });

  connection.onCompletion((params) =>
    guard(
      'completion',
      () => {
        const document = documents.get(params.textDocument.uri);
        if (!document) return [];
        // Names come from the last analysis, even if a keystroke behind: completion must stay instant.
        const manifest = manifestFor(params.textDocument.uri);
        const analysis = manifest.analysis ?? manifest.update(document.getText(), document.version);
        // A manifest past a limit is not analyzed; indexing its lines alone would block the server.
        if (analysis.overLimit) return [];
        const lines = linesOf(document);
        const offset = lines.offset(params.position);
        return complete(analysis, lines, offset).map((item): CompletionItem => ({
          label: item.label,
          kind: COMPLETION_KINDS[item.kind],
          ...(item.detail === undefined ? {} : { detail: item.detail }),
          ...(item.documentation === undefined
            ? {}
            : { documentation: { kind: 'markdown', value: item.documentation } }),
          ...(item.sortText === undefined ? {} : { sortText: item.sortText }),
          insertTextFormat: item.snippet ? InsertTextFormat.Snippet : InsertTextFormat.PlainText,
          textEdit: { range: toRange(item.replaceStart, item.replaceEnd, lines), newText: item.insertText },
          ...(item.retrigger
            ? { command: { title: 'Suggest', command: 'editor.action.triggerSuggest' } }
            : {}),
        }));
      },
      [],
    ),
  );

  connection.onHover(
    (params) =>
      guard('hover', () => {
        const analysis = analysisOf(params.textDocument.uri);
        if (!analysis) return null;
        const found = hover(analysis, analysis.lineIndex.offset(params.position));
        if (!found) return null;
        return {
          contents: { kind: 'markdown', value: found.markdown },
          range: toRange(found.start, found.end, analysis.lineIndex),
        };
      }) ?? null,
  );

  connection.onDefinition((params) =>
    guard(
      'definition',
      () => {
        const analysis = analysisOf(params.textDocument.uri);
        if (!analysis) return [];
        const root = analysis.probe?.root;
        return definition(analysis, analysis.lineIndex.offset(params.position)).flatMap((target) => {
          if (!('file' in target))
            return [{ uri: params.textDocument.uri, range: toSpanRange(target, analysis.lineIndex) }];
          // A params or vars file `${…}` names, at its key.
          if (root === undefined) return [];
          return [
            {
              uri: pathToFileURL(join(root, target.file)).toString(),
              range: { start: target.start, end: target.end },
            },
          ];
        });
      },
      [],
    ),
  );

  connection.onReferences((params) =>
    guard(
      'references',
      () => {
        const analysis = analysisOf(params.textDocument.uri);
        if (!analysis) return [];
        const offset = analysis.lineIndex.offset(params.position);
        return references(analysis, offset, params.context.includeDeclaration).map((span) => ({
          uri: params.textDocument.uri,
          range: toSpanRange(span, analysis.lineIndex),
        }));
      },
      [],
    ),
  );

  connection.onDocumentHighlight((params) =>
    guard(
      'highlight',
      () => {
        const analysis = analysisOf(params.textDocument.uri);
        if (!analysis) return [];
        const offset = analysis.lineIndex.offset(params.position);
        const occurrence = analysis.symbols.at(offset);
        if (!occurrence) return [];
        return analysis.symbols.sameSymbol(occurrence).map((o) => ({
          range: toRange(o.start, o.end, analysis.lineIndex),
          kind: o.definition ? DocumentHighlightKind.Write : DocumentHighlightKind.Read,
        }));
      },
      [],
    ),
  );

  connection.onPrepareRename(
    (params) =>
      guard('rename', () => {
        const analysis = analysisOf(params.textDocument.uri);
        if (!analysis) return null;
        const target = prepareRename(analysis, analysis.lineIndex.offset(params.position));
        if (!target) {
          throw new ResponseError(
            ErrorCodes.InvalidRequest,
            'Only dataset, stage, pipeline and environment names can be renamed.',
          );
        }
        return { range: toSpanRange(target, analysis.lineIndex), placeholder: target.name };
      }) ?? null,
  );

  connection.onRenameRequest(
    (params) =>
      guard('rename', () => {
        const analysis = analysisOf(params.textDocument.uri);
        if (!analysis) return null;
        try {
          const edits = rename(analysis, analysis.lineIndex.offset(params.position), params.newName);
          return {
            changes: {
              [params.textDocument.uri]: edits.map((edit) => ({
                range: toRange(edit.start, edit.end, analysis.lineIndex),
                newText: edit.newText,
              })),
            },
          };
        } catch (error) {
          if (error instanceof RenameRefused)
            throw new ResponseError(ErrorCodes.InvalidRequest, error.message);
          throw error;
        }
      }) ?? null,
  );

  connection.onDocumentSymbol((params) =>
    guard(
      'symbols',
      () => {
        const analysis = analysisOf(params.textDocument.uri);
        if (!analysis) return [];
        const convert = (symbol: OutlineSymbol): DocumentSymbol => ({
          name: symbol.name,
          ...(symbol.detail ? { detail: symbol.detail } : {}),
          kind: SYMBOL_KINDS[symbol.kind],
          range: toSpanRange(symbol, analysis.lineIndex),
          selectionRange: toSpanRange(symbol.selection, analysis.lineIndex),
          children: symbol.children.map(convert),
        });
        return documentSymbols(analysis).map(convert);
      },
      [],
    ),
  );

  connection.onDocumentLinks((params) =>
    guard(
      'links',
      () => {
        const analysis = analysisOf(params.textDocument.uri);
        const probe = probeFor(params.textDocument.uri);
        if (!analysis || !probe) return [];
        return documentLinks(analysis).map((link) => ({
          range: toSpanRange(link, analysis.lineIndex),
          target: pathToFileURL(`${probe.root}/${link.target}`).toString(),
          tooltip: `Open ${link.target}`,
        }));
      },
      [],
    ),
  );

  connection.onCodeAction((params) =>
    guard(
      'code actions',
      () => {
        const actions: CodeAction[] = [];
        for (const diagnostic of params.context.diagnostics) {
          const data = diagnostic.data as FixData | undefined;
          for (const fix of data?.fixes ?? []) {
            actions.push({
              title: fix.title,
              kind: CodeActionKind.QuickFix,
              diagnostics: [diagnostic],
              isPreferred: fix.preferred,
              edit: { changes: { [params.textDocument.uri]: fix.edits } },
            });
          }
        }
        return actions;
      },
      [],
    ),
  );

  documents.listen(connection);
  connection.listen();
}

const COMPLETION_KINDS: Record<CompletionKind, CompletionItemKind> = {
  key: CompletionItemKind.Property,
  value: CompletionItemKind.Value,
  reference: CompletionItemKind.Reference,
  path: CompletionItemKind.File,
  folder: CompletionItemKind.Folder,
  variable: CompletionItemKind.Variable,
};

const SYMBOL_KINDS: Record<OutlineSymbol['kind'], SymbolKind> = {
  section: SymbolKind.Namespace,
  dataset: SymbolKind.File,
  pipeline: SymbolKind.Module,
  stage: SymbolKind.Function,
  check: SymbolKind.Boolean,
  environment: SymbolKind.Object,
  'metrics-file': SymbolKind.File,
  remote: SymbolKind.Package,
};

const SEVERITIES: Record<ManifestDiagnostic['severity'], DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
};

function toRange(start: number, end: number, lines: LineIndex): Range {
  return { start: lines.position(start), end: lines.position(end) };
}

function toSpanRange(span: Span, lines: LineIndex): Range {
  return toRange(span.start, span.end, lines);
}

function toLspDiagnostic(diagnostic: ManifestDiagnostic, lines: LineIndex): Diagnostic {
  const data: FixData | undefined = diagnostic.fixes
    ? {
        fixes: diagnostic.fixes.map((fix) => ({
          title: fix.title,
          preferred: fix.preferred === true,
          edits: fix.edits.map((edit) => ({
            range: toRange(edit.start, edit.end, lines),
            newText: edit.newText,
          })),
        })),
      }
    : undefined;
  return {
    range: toRange(diagnostic.start, diagnostic.end, lines),
    severity: SEVERITIES[diagnostic.severity],
    code: diagnostic.code,
    source: 'sluice',
    message: diagnostic.message,
    ...(data ? { data } : {}),
  };
}
