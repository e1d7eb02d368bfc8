// The rest of the editor experience over LSP: the outline (document symbols),
// links to files, quick fixes, and diagnostics that follow the disk.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CodeActionKind,
  CodeActionRequest,
  DiagnosticSeverity,
  DidChangeWatchedFilesNotification,
  DocumentLinkRequest,
  DocumentSymbolRequest,
  FileChangeType,
  SymbolKind,
  type CodeAction,
  type Diagnostic,
  type DocumentSymbol,
  type Range,
} from 'vscode-languageserver-protocol/node';
import { packageJson } from '../e2e/paths';
import { applyEdits, LspClient, range, TempWorkspace } from './support/lspClient';
import { BASE, FILES } from './support/fixtures';

let client: LspClient;
const workspaces: TempWorkspace[] = [];

function workspace(files: Readonly<Record<string, string>> = FILES): TempWorkspace {
  const ws = new TempWorkspace();
  workspaces.push(ws);
  for (const [path, content] of Object.entries(files)) ws.write(path, content);
  return ws;
}

before(async () => {
  client = await LspClient.start();
});

after(async () => {
  await client.shutdown();
  for (const ws of workspaces) ws.cleanup();
});

interface Outline {
  readonly name: string;
  readonly detail?: string;
  readonly kind: SymbolKind;
  readonly range: Range;
  readonly selectionRange: Range;
  readonly children: Outline[];
}

function outline(symbols: readonly DocumentSymbol[]): Outline[] {
  return symbols.map((s) => ({
    name: s.name,
    ...(s.detail === undefined ? {} : { detail: s.detail }),
    kind: s.kind,
    range: s.range,
    selectionRange: s.selectionRange,
    children: outline(s.children ?? []),
  }));
}

function symbol(
  name: string,
  kind: SymbolKind,
  whole: Range,
  selectionRange: Range,
  children: Outline[] = [],
  detail?: string,
): Outline {
  return { name, ...(detail === undefined ? {} : { detail }), kind, range: whole, selectionRange, children };
}

async function codeActions(uri: string, diagnostic: Diagnostic): Promise<CodeAction[]> {
  const result = await client.request(CodeActionRequest.type, {
    textDocument: { uri },
    range: diagnostic.range,
    context: { diagnostics: [diagnostic] },
  });
  return (result ?? []).filter(
    (action): action is CodeAction =>
      'title' in action && !('command' in action && typeof action.command === 'string'),
  );
}

/** The text after applying a code action's edit to the document. */
function applied(uri: string, action: CodeAction): string {
  const edits = action.edit?.changes?.[uri];
  assert.ok(edits, `${action.title} edits the manifest`);
  return applyEdits(client.text(uri), edits);
}

void test('the server names itself with the version it was built from', () => {
  assert.deepEqual(client.initializeResult?.serverInfo, { name: 'sluice', version: packageJson().version });
});

void describe('document symbols', () => {
  void test('the outline: sections, datasets, pipelines with their stages and checks, environments', async () => {
    const uri = workspace().uri();
    await client.openAndWait(uri, BASE);
    const symbols = (await client.request(DocumentSymbolRequest.type, { textDocument: { uri } })) ?? [];
    assert.ok(
      symbols.every((s) => 'range' in s && 'selectionRange' in s),
      'hierarchical DocumentSymbols',
    );
    const section = SymbolKind.Namespace;
    assert.deepEqual(outline(symbols), [
      symbol('version', section, range(0, 0, 0, 10), range(0, 0, 0, 7)),
      symbol('name', section, range(1, 0, 1, 17), range(1, 0, 1, 4)),
      symbol('datasets', section, range(3, 0, 7, 0), range(3, 0, 3, 8), [
        symbol('events', SymbolKind.File, range(4, 2, 7, 0), range(4, 2, 4, 8), [], 'data/raw/events'),
      ]),
      symbol('params', section, range(8, 0, 8, 19), range(8, 0, 8, 6)),
      symbol('pipelines', section, range(10, 0, 32, 0), range(10, 0, 10, 9), [
        symbol(
          'train',
          SymbolKind.Module,
          range(11, 2, 32, 0),
          range(11, 2, 11, 7),
          [
            symbol(
              'prepare',
              SymbolKind.Function,
              range(14, 6, 19, 0),
              range(14, 6, 14, 13),
              [],
              'node src/prepare.js',
            ),
            symbol(
              'train',
              SymbolKind.Function,
              range(19, 6, 26, 0),
              range(19, 6, 19, 11),
              [],
              'node src/train.js',
            ),
            symbol(
              'enough rows',
              SymbolKind.Boolean,
              range(27, 8, 29, 0),
              range(27, 14, 27, 25),
              [],
              'node checks/rows.js data/prepared',
            ),
            symbol(
              'accuracy floor',
              SymbolKind.Boolean,
              range(29, 8, 32, 0),
              range(29, 14, 29, 28),
              [],
              'metrics.json#accuracy',
            ),
          ],
          'Prepare features and train the model',
        ),
      ]),
      symbol('environments', section, range(33, 0, 49, 0), range(33, 0, 33, 12), [
        symbol('staging', SymbolKind.Object, range(34, 2, 37, 0), range(34, 2, 34, 9), [], 'from workspace'),
        symbol(
          'production',
          SymbolKind.Object,
          range(37, 2, 49, 0),
          range(37, 2, 37, 12),
          [],
          'from staging',
        ),
      ]),
    ]);
    await client.close(uri);
  });

  void test('the outline follows edits', async () => {
    const uri = workspace().uri();
    await client.openAndWait(uri, BASE);
    await client.replaceAndWait(uri, '      prepare:', '      featurize:');
    const symbols = ((await client.request(DocumentSymbolRequest.type, { textDocument: { uri } })) ??
      []) as DocumentSymbol[];
    const stages = symbols.find((s) => s.name === 'pipelines')?.children?.[0]?.children ?? [];
    assert.deepEqual(
      stages.map((s) => [s.name, s.selectionRange]),
      [
        ['featurize', range(14, 6, 14, 15)],
        ['train', range(19, 6, 19, 11)],
        ['enough rows', range(27, 14, 27, 25)],
        ['accuracy floor', range(29, 14, 29, 28)],
      ],
    );
    await client.close(uri);
  });
});

void describe('document links', () => {
  void test('paths that exist link to their files; missing ones and ones leading out do not', async () => {
    const outside = workspace({ 'file.txt': 'secret\n' });
    const ws = workspace();
    ws.symlink(outside.root, 'link');
    const uri = ws.uri();
    await client.openAndWait(
      uri,
      BASE.replace('deps: [src/prepare.js]', 'deps: [src/prepare.js, link/file.txt]'),
    );
    const links = (await client.request(DocumentLinkRequest.type, { textDocument: { uri } })) ?? [];
    const file = (path: string): string => ws.uri(path);
    const seen = links
      .map((link) => ({ range: link.range, target: link.target }))
      .sort(
        (a, b) =>
          a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character,
      );
    assert.deepEqual(seen, [
      { range: range(5, 10, 5, 25), target: file('data/raw/events') },
      { range: range(8, 8, 8, 19), target: file('params.yaml') },
      { range: range(17, 15, 17, 29), target: file('src/prepare.js') },
      { range: range(22, 15, 22, 27), target: file('src/train.js') },
      { range: range(25, 18, 25, 30), target: file('metrics.json') },
      { range: range(30, 16, 30, 28), target: file('metrics.json') },
      { range: range(41, 16, 41, 28), target: file('metrics.json') },
    ]);
    await client.close(uri);
  });
});

void describe('code actions', () => {
  void test('"Did you mean" for an unknown key fixes it', async () => {
    const uri = workspace().uri();
    const [diagnostic, ...rest] = await client.openAndWait(
      uri,
      BASE.replace('    description: Raw', '    descripton: Raw'),
    );
    assert.ok(diagnostic && rest.length === 0, 'one diagnostic');
    assert.equal(diagnostic.code, 'unknown-key');
    const actions = await codeActions(uri, diagnostic);
    assert.deepEqual(
      actions.map((a) => ({ title: a.title, kind: a.kind, isPreferred: a.isPreferred, edit: a.edit })),
      [
        {
          title: 'Change to `description`',
          kind: CodeActionKind.QuickFix,
          isPreferred: true,
          edit: { changes: { [uri]: [{ range: range(6, 4, 6, 14), newText: 'description' }] } },
        },
      ],
    );
    assert.deepEqual(actions[0]?.diagnostics, [diagnostic]);
    const fixed = applied(uri, actions[0]);
    assert.equal(fixed, BASE);
    assert.deepEqual(await client.setTextAndWait(uri, fixed), []);
    await client.close(uri);
  });

  void test('"Did you mean" for an unknown dataset fixes it', async () => {
    const uri = workspace().uri();
    const text = BASE.replace('datasets: [events]', 'datasets: [evnts]');
    const diagnostics = await client.openAndWait(uri, text);
    const unknown = diagnostics.find((d) => d.code === 'unknown-dataset');
    assert.ok(unknown);
    const actions = await codeActions(uri, unknown);
    assert.deepEqual(
      actions.map((a) => [a.title, a.isPreferred]),
      [
        ['Change to `events`', true],
        ['Add dataset `evnts`', false],
      ],
    );
    assert.deepEqual(actions[0]?.edit, {
      changes: { [uri]: [{ range: range(16, 19, 16, 24), newText: 'events' }] },
    });
    const fixed = applied(uri, actions[0]);
    assert.equal(fixed, BASE);
    assert.deepEqual(await client.setTextAndWait(uri, fixed), []);
    await client.close(uri);
  });

  void test('"Add dataset" declares the dataset, and unknown-dataset is gone', async () => {
    const uri = workspace().uri();
    const diagnostics = await client.openAndWait(
      uri,
      BASE.replace('datasets: [events]', 'datasets: [events, clicks]'),
    );
    assert.deepEqual(
      diagnostics.map((d) => [d.code, d.range]),
      [['unknown-dataset', range(16, 27, 16, 33)]],
    );
    const actions = await codeActions(uri, diagnostics[0]!);
    const add = actions.find((a) => a.title === 'Add dataset `clicks`');
    assert.ok(add, actions.map((a) => a.title).join(', '));
    const fixed = applied(uri, add);
    const after = await client.setTextAndWait(uri, fixed);
    assert.deepEqual(
      after.filter((d) => d.code === 'unknown-dataset' || d.severity === DiagnosticSeverity.Error),
      [],
      fixed,
    );
    assert.deepEqual(after, [], 'no warnings either');
    assert.match(fixed, /^datasets:\n {2}events:\n(?:.*\n)*? {2}clicks:\n {4}path: data\/clicks\n/m);
    await client.close(uri);
  });

  void test('"Add dataset" puts the entry right after the last dataset, keeping the blank line before the next section', async () => {
    const uri = workspace().uri();
    const diagnostics = await client.openAndWait(
      uri,
      BASE.replace('datasets: [events]', 'datasets: [events, clicks]'),
    );
    const add = (await codeActions(uri, diagnostics[0]!)).find((a) => a.title === 'Add dataset `clicks`');
    assert.ok(add);
    assert.equal(
      applied(uri, add).split('\n').slice(3, 12).join('\n'),
      [
        'datasets:',
        '  events:',
        '    path: data/raw/events',
        '    description: Raw click events',
        '  clicks:',
        '    path: data/clicks',
        '',
        'params: params.yaml',
        '',
      ].join('\n'),
    );
    await client.close(uri);
  });

  void test('"Add dataset" creates the `datasets` section when there is none', async () => {
    const uri = workspace().uri();
    const text =
      'version: 1\npipelines:\n  p:\n    stages:\n      s:\n        run: node s.js\n        datasets: [raw]\n        outs: [out]\n';
    const diagnostics = await client.openAndWait(uri, text);
    assert.deepEqual(
      diagnostics.map((d) => [d.code, d.range]),
      [['unknown-dataset', range(6, 19, 6, 22)]],
    );
    const add = (await codeActions(uri, diagnostics[0]!)).find((a) => a.title === 'Add dataset `raw`');
    assert.ok(add);
    const fixed = applied(uri, add);
    assert.equal(fixed, `${text}datasets:\n  raw:\n    path: data/raw\n`);
    assert.deepEqual(await client.setTextAndWait(uri, fixed), []);
    await client.close(uri);
  });

  void test('no actions for a diagnostic without a fix', async () => {
    const uri = workspace().uri();
    const diagnostics = await client.openAndWait(
      uri,
      BASE.replace('deps: [src/prepare.js]', 'deps: [src/gone.js]'),
    );
    assert.deepEqual(
      diagnostics.map((d) => d.code),
      ['missing-dep'],
    );
    assert.deepEqual(await codeActions(uri, diagnostics[0]!), []);
    await client.close(uri);
  });
});

void describe('files changing on disk', () => {
  void test('creating a missing dep and notifying the server clears the missing-dep warning', async () => {
    const watching = await LspClient.start({ watchFiles: true });
    try {
      const ws = workspace();
      const uri = ws.uri();
      const diagnostics = await watching.openAndWait(
        uri,
        BASE.replace('deps: [src/prepare.js]', 'deps: [src/prepare.js, src/features.js]'),
      );
      // The server asked to be told about file changes, since the client said it could.
      assert.deepEqual(
        watching.registrations.map((r) => r.method),
        [DidChangeWatchedFilesNotification.method],
      );
      assert.deepEqual(
        diagnostics.map((d) => [d.code, d.range, d.severity]),
        [['missing-dep', range(17, 31, 17, 46), DiagnosticSeverity.Warning]],
      );
      ws.write('src/features.js', 'module.exports = {};\n');
      const from = watching.cursor;
      await watching.filesChanged([{ uri: ws.uri('src/features.js'), type: FileChangeType.Created }]);
      const republished = await watching.waitForPublish(
        (p) => p.uri === uri,
        'diagnostics after the file appeared',
        { from },
      );
      assert.equal(republished.version, watching.version(uri), 'for the current version');
      assert.deepEqual(republished.diagnostics, []);
      await watching.close(uri);
      await watching.shutdown();
      assert.equal(watching.exitCode, 0, 'shutdown then exit ends the server with code 0');
    } finally {
      watching.kill();
    }
  });

  void test('a client that cannot watch files is not asked to', async () => {
    const uri = workspace().uri();
    await client.openAndWait(uri, BASE);
    // A round trip: a registration request sent at `initialized` would have arrived before this answer.
    await client.request(DocumentSymbolRequest.type, { textDocument: { uri } });
    assert.deepEqual(client.registrations, []);
    await client.close(uri);
  });
});
