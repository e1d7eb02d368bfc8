// Navigation over LSP: hover, go to definition, find references and rename,
// for every kind of name the manifest declares. A name may be both a pipeline
// and a stage (`train` here): each kind must stay on its own.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  DefinitionRequest,
  DiagnosticSeverity,
  ErrorCodes,
  HoverRequest,
  PrepareRenameRequest,
  ReferencesRequest,
  RenameRequest,
  ResponseError,
  type Hover,
  type Location,
  type Position,
  type Range,
  type WorkspaceEdit,
} from 'vscode-languageserver-protocol/node';
import { applyEdits, LspClient, range, TempWorkspace } from './support/lspClient';
import { BASE, FILES } from './support/fixtures';

/** Line numbers in the comments of the tests below refer to this text (0-based, as in LSP). */

let client: LspClient;
let ws: TempWorkspace;
let uri: string;

before(async () => {
  client = await LspClient.start();
  ws = new TempWorkspace();
  for (const [path, content] of Object.entries(FILES)) ws.write(path, content);
  uri = ws.uri();
  assert.deepEqual(await client.openAndWait(uri, BASE), [], 'BASE is clean');
});

after(async () => {
  await client.shutdown();
  ws.cleanup();
});

const at = (line: number, character: number): { textDocument: { uri: string }; position: Position } => ({
  textDocument: { uri },
  position: { line, character },
});

async function hoverAt(line: number, character: number): Promise<Hover | null> {
  return client.request(HoverRequest.type, at(line, character));
}

function markdown(hover: Hover | null): string {
  assert.ok(hover, 'a hover');
  const contents = hover.contents;
  assert.ok(typeof contents === 'object' && 'kind' in contents, 'markdown contents');
  assert.equal(contents.kind, 'markdown');
  return contents.value;
}

async function definitionAt(line: number, character: number): Promise<Range[]> {
  const result = await client.request(DefinitionRequest.type, at(line, character));
  const locations = (Array.isArray(result) ? result : result ? [result] : []) as Location[];
  for (const location of locations) assert.equal(location.uri, uri);
  return locations.map((location) => location.range);
}

async function referencesAt(line: number, character: number, includeDeclaration: boolean): Promise<Range[]> {
  const result =
    (await client.request(ReferencesRequest.type, {
      ...at(line, character),
      context: { includeDeclaration },
    })) ?? [];
  for (const location of result) assert.equal(location.uri, uri);
  return result.map((location) => location.range);
}

/** Renames at a position, applies the edit to BASE and checks the result is a valid manifest. */
async function renameAt(line: number, character: number, newName: string): Promise<string> {
  const edit: WorkspaceEdit | null = await client.request(RenameRequest.type, {
    ...at(line, character),
    newName,
  });
  assert.ok(edit?.changes, 'a WorkspaceEdit with changes');
  assert.deepEqual(Object.keys(edit.changes), [uri], 'edits only the manifest');
  const renamed = applyEdits(BASE, edit.changes[uri] ?? []);
  // The renamed manifest, checked by the same server in a copy of the workspace.
  const other = new TempWorkspace();
  try {
    for (const [path, content] of Object.entries(FILES)) other.write(path, content);
    const diagnostics = await client.openAndWait(other.uri(), renamed);
    assert.deepEqual(
      diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error).map((d) => d.message),
      [],
      'the renamed manifest has no errors',
    );
    assert.deepEqual(diagnostics, [], 'nor warnings');
    await client.close(other.uri());
  } finally {
    other.cleanup();
  }
  return renamed;
}

async function refused(promise: Promise<unknown>, message: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ResponseError, `a ResponseError, not ${String(error)}`);
    assert.equal(error.code, ErrorCodes.InvalidRequest);
    assert.equal(error.message, message);
    return true;
  });
}

void describe('hover', () => {
  void test('on a key: its documentation from the schema', async () => {
    const hover = await hoverAt(17, 9); // `deps` of stage prepare
    assert.equal(
      markdown(hover),
      "**deps**\n\nFiles or folders this stage reads (code, config, other stages' outs). A change in their content makes the stage stale.",
    );
    assert.deepEqual(hover?.range, range(17, 8, 17, 12));
    assert.equal(
      markdown(await hoverAt(0, 3)),
      '**version**\n\nManifest format version. Sluice understands version 1.',
    );
  });

  void test("on a dataset in a stage's `datasets` list: its path, description and readers", async () => {
    const hover = await hoverAt(16, 21);
    assert.equal(
      markdown(hover),
      '**dataset** `events` at `data/raw/events`\n\nRaw click events\n\nRead by `train.prepare`.',
    );
    assert.deepEqual(hover?.range, range(16, 19, 16, 25));
  });

  void test('on a stage in `needs`: its command, reads and writes', async () => {
    const hover = await hoverAt(21, 17);
    assert.equal(
      markdown(hover),
      '**stage** `prepare` of pipeline `train`\n\n```sh\nnode src/prepare.js\n```\n\nreads `src/prepare.js` · writes `data/prepared`',
    );
    assert.deepEqual(hover?.range, range(21, 16, 21, 23));
  });

  void test('on an environment in `from`: where it comes from and what it carries', async () => {
    const hover = await hoverAt(38, 12);
    assert.equal(markdown(hover), '**environment** `staging` ← `workspace`\n\ncarries pipeline `train`');
    assert.deepEqual(hover?.range, range(38, 10, 38, 17));
  });

  void test('on a pipeline in `pipeline:`', async () => {
    const hover = await hoverAt(36, 16);
    assert.equal(
      markdown(hover),
      '**pipeline** `train`\n\nPrepare features and train the model\n\n2 stages, 2 checks.',
    );
    assert.deepEqual(hover?.range, range(36, 14, 36, 19));
  });

  void test('on plain text (a command): nothing', async () => {
    assert.equal(await hoverAt(15, 20), null);
  });
});

void describe('definition and references', () => {
  void test('dataset: from a use to its declaration, and every use', async () => {
    assert.deepEqual(await definitionAt(16, 20), [range(4, 2, 4, 8)]);
    assert.deepEqual(await referencesAt(4, 3, true), [range(4, 2, 4, 8), range(16, 19, 16, 25)]);
    assert.deepEqual(await referencesAt(4, 3, false), [range(16, 19, 16, 25)]);
  });

  void test('stage: `needs` leads to the stage, not to the pipeline of the same name', async () => {
    assert.deepEqual(await definitionAt(21, 18), [range(14, 6, 14, 13)]);
    assert.deepEqual(await referencesAt(14, 8, true), [range(14, 6, 14, 13), range(21, 16, 21, 23)]);
    // Stage `train` is referenced nowhere; pipeline `train` is.
    assert.deepEqual(await referencesAt(19, 8, false), []);
  });

  void test('pipeline: `pipeline:` leads to the pipeline, not to the stage of the same name', async () => {
    assert.deepEqual(await definitionAt(36, 15), [range(11, 2, 11, 7)]);
    assert.deepEqual(await referencesAt(11, 4, true), [range(11, 2, 11, 7), range(36, 14, 36, 19)]);
  });

  void test('environment: `from:` leads to the environment', async () => {
    assert.deepEqual(await definitionAt(38, 12), [range(34, 2, 34, 9)]);
    assert.deepEqual(await referencesAt(34, 2, false), [range(38, 10, 38, 17)]);
  });

  void test('nothing on a key or a command', async () => {
    assert.deepEqual(await definitionAt(17, 9), []);
    assert.deepEqual(await referencesAt(15, 20, true), []);
  });
});

void describe('rename', () => {
  void test('a dataset, at its declaration and in every stage reading it', async () => {
    const renamed = await renameAt(16, 20, 'clicks');
    assert.equal(
      renamed,
      BASE.replace('  events:', '  clicks:').replace('datasets: [events]', 'datasets: [clicks]'),
    );
  });

  void test('a stage, and the `needs` naming it', async () => {
    const renamed = await renameAt(14, 8, 'featurize');
    assert.equal(
      renamed,
      BASE.replace('      prepare:', '      featurize:').replace('needs: [prepare]', 'needs: [featurize]'),
    );
  });

  void test('a pipeline, leaving the stage of the same name alone', async () => {
    const renamed = await renameAt(36, 15, 'fit');
    assert.equal(
      renamed,
      BASE.replace('  train:\n    description', '  fit:\n    description').replace(
        'pipeline: train',
        'pipeline: fit',
      ),
    );
    assert.ok(renamed.includes('      train:\n        run: node src/train.js'));
  });

  void test('an environment, and the `from` naming it', async () => {
    const renamed = await renameAt(34, 4, 'preprod');
    assert.equal(renamed, BASE.replace('  staging:', '  preprod:').replace('from: staging', 'from: preprod'));
  });

  void test('prepareRename gives the name and its range', async () => {
    const prepared = await client.request(PrepareRenameRequest.type, at(21, 20));
    assert.deepEqual(prepared, { range: range(21, 16, 21, 23), placeholder: 'prepare' });
  });

  void test('prepareRename on something that is not a name is refused', async () => {
    const message = 'Only dataset, stage, pipeline and environment names can be renamed.';
    await refused(client.request(PrepareRenameRequest.type, at(17, 9)), message); // the key `deps`
    await refused(client.request(PrepareRenameRequest.type, at(15, 20)), message); // a command
    await refused(client.request(RenameRequest.type, { ...at(15, 20), newName: 'x' }), message);
  });

  void test('refused for an invalid new name', async () => {
    await refused(
      client.request(RenameRequest.type, { ...at(34, 4), newName: '9lives' }),
      '`9lives` is not a valid name: use a letter, then letters, digits, `_` or `-`.',
    );
    await refused(
      client.request(RenameRequest.type, { ...at(4, 4), newName: 'raw events' }),
      '`raw events` is not a valid name: use a letter, then letters, digits, `_` or `-`.',
    );
    await refused(
      client.request(RenameRequest.type, { ...at(34, 4), newName: 'workspace' }),
      '`workspace` is reserved for the working tree.',
    );
  });

  void test('refused when the new name is taken', async () => {
    await refused(
      client.request(RenameRequest.type, { ...at(14, 8), newName: 'train' }),
      'A stage named `train` already exists.',
    );
    await assert.rejects(
      client.request(RenameRequest.type, { ...at(34, 4), newName: 'production' }),
      (error: unknown) =>
        error instanceof ResponseError && /named `production` already exists\.$/.test(error.message),
    );
  });

  void test('a clash is refused in good English', async () => {
    await refused(
      client.request(RenameRequest.type, { ...at(34, 4), newName: 'production' }),
      'An environment named `production` already exists.',
    );
  });
});
