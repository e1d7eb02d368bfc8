// No face decides anything from the words of a message: the CLI, the
// extension and the language server branch on `code` and `data` (issue 13).
// The checker is tested on violations written for the purpose, so a checker
// that finds nothing cannot pass for a clean tree.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { findMessageMatching } from '../support/messageMatching';
import { ROOT } from '../support/workspace';

const FACES = ['src/cli', 'src/extension', 'src/server'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

void describe('faces read codes, not messages', () => {
  void test('no file of the CLI, the extension or the language server matches on message text', () => {
    const files = FACES.flatMap((face) => sourceFiles(join(ROOT, face)));
    assert.ok(files.length > 40, `the faces' sources were found (${files.length} files)`);
    const found = files.flatMap((file) =>
      findMessageMatching(readFileSync(file, 'utf8')).map(
        (match) => `${relative(ROOT, file)}:${match.line}: ${match.rule}: ${match.text}`,
      ),
    );
    assert.deepEqual(found, [], `branch on error.code / error.data instead:\n${found.join('\n')}`);
  });

  void test('the checker finds each way of reading a message', () => {
    const violations = [
      "if (error.message.includes('no snapshot')) return;",
      "if (error instanceof SluiceError && error.message.startsWith('Unknown dataset')) showDatasets();",
      "const refused = err?.message?.endsWith('refused.');",
      "if (error.message.toLowerCase().includes('cancel')) return;",
      'if (/ambiguous/.test(error.message)) askAgain();',
      'const match = /release (\\w+)/i.exec(failure.message);',
      "if (error.message === 'Nothing to do.') return;",
      "if ('Nothing to do.' !== error.message) throw error;",
      'switch (error.message) {',
      "if (describeError(error).includes('ENOSPC')) freeSpace();",
      'if (String(error).match(/moved under you/)) retry();',
      "if (result.stderr.includes('cancelled')) return 130;",
    ];
    for (const line of violations) {
      const found = findMessageMatching(`function f(): void {\n  ${line}\n}\n`);
      assert.equal(found.length, 1, `one finding in: ${line}`);
      assert.equal(found[0]!.line, 2, line);
    }
  });

  void test('the checker leaves alone what only shows or carries a message', () => {
    const fine = [
      'log.error(`${id} failed: ${describeError(error)}`);',
      'void vscode.window.showErrorMessage(`Sluice: ${error.message}`);',
      "if (hasCode(error, 'unsaved-data')) offerSnapshotFirst(error.data);",
      "if (error instanceof SluiceError && error.code === 'gate-refused') showGates(error.data);",
      "if (message?.type === 'ready') post();",
      "const problem = 'message' in state ? state.message : undefined;",
      "// never match on error.message.includes('text'): use the code",
      "/* error.message === 'x' would break when the wording changes */",
      "return { kind: 'failed', message: describeError(error) };",
    ];
    for (const line of fine) assert.deepEqual(findMessageMatching(line), [], line);
  });
});
