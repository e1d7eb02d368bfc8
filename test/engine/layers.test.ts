// The layers of src/core (ARCHITECTURE.md) are enforced by lint, so that
// `npm test` fails when someone imports against them. Each case lints a line
// of code as if it stood in a real file of the tree, with the repository's own
// eslint.config.mjs, and checks what the layer rule says about it.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ESLint } from 'eslint';
import { ROOT } from '../support/workspace';

const eslint = new ESLint({ cwd: ROOT });

/** What the layer rule reports for `code` placed in `file` (other rules' findings are ignored). */
async function layerFindings(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'sluice/layers').map((m) => m.message);
}

interface Case {
  readonly file: string;
  readonly imports: string;
  /** Words the finding must hold; empty: the import is allowed. */
  readonly refused: readonly string[];
}

const CASES: readonly Case[] = [
  // Upward imports inside core.
  {
    file: 'src/core/store/objectStore.ts',
    imports: '../operations/maintenance',
    refused: ['store', 'operations'],
  },
  { file: 'src/core/git/repository.ts', imports: '../manifest/model', refused: ['git', 'manifest'] },
  { file: 'src/core/errors.ts', imports: './snapshots/records', refused: ['src/core/*.ts', 'snapshots'] },
  { file: 'src/core/manifest/model.ts', imports: '../workspace', refused: ['manifest', 'workspace'] },
  { file: 'src/core/workspace/index.ts', imports: '../pipelines/plan', refused: ['workspace', 'pipelines'] },
  {
    file: 'src/core/pipelines/plan.ts',
    imports: '../environments/history',
    refused: ['pipelines', 'environments'],
  },
  { file: 'src/core/environments/history.ts', imports: '../operations/results', refused: ['operations'] },
  { file: 'src/core/manifest/parser.ts', imports: '../dvc/convert', refused: ['manifest', 'dvc'] },
  { file: 'src/core/pipelines/plan.ts', imports: '../dvc', refused: ['pipelines', 'dvc'] },
  { file: 'src/core/dvc/index.ts', imports: '../../cli/importDvc', refused: ['no face'] },
  // Two rooms of one layer that stay apart.
  { file: 'src/core/pipelines/plan.ts', imports: '../snapshots/records', refused: ['apart'] },
  { file: 'src/core/snapshots/scan.ts', imports: '../pipelines/outputs', refused: ['apart'] },
  // Core imports no face, and only the extension imports vscode.
  { file: 'src/core/format.ts', imports: '../cli/main', refused: ['no face'] },
  { file: 'src/core/environments/live.ts', imports: '../../extension/model', refused: ['no face'] },
  { file: 'src/core/format.ts', imports: 'vscode', refused: ['vscode'] },
  { file: 'src/server/server.ts', imports: 'vscode', refused: ['vscode'] },
  // Faces: the extension and the server import no other face.
  { file: 'src/extension/model.ts', imports: '../cli/envs', refused: ['extension', 'cli'] },
  { file: 'src/extension/model.ts', imports: '../server/server', refused: ['extension', 'server'] },
  { file: 'src/server/server.ts', imports: '../extension/model', refused: ['server', 'extension'] },
  // Allowed: down, sideways in one room, faces into core, the CLI into the server.
  { file: 'src/core/operations/maintenance.ts', imports: '../environments/history', refused: [] },
  { file: 'src/core/environments/live.ts', imports: '../pipelines/outputs', refused: [] },
  { file: 'src/core/snapshots/scan.ts', imports: '../store/workerPool', refused: [] },
  { file: 'src/core/store/objectStore.ts', imports: '../fs/hashFile', refused: [] },
  { file: 'src/core/dvc/index.ts', imports: '../manifest', refused: [] },
  { file: 'src/core/dvc/index.ts', imports: '../fs/atomicWrite', refused: [] },
  { file: 'src/core/operations/importDvcResults.ts', imports: '../dvc', refused: [] },
  { file: 'src/core/manifest/model.ts', imports: '../paths', refused: [] },
  { file: 'src/cli/lsp.ts', imports: '../server/server', refused: [] },
  { file: 'src/extension/model.ts', imports: 'vscode', refused: [] },
];

void describe('the layer rule of eslint.config.mjs', () => {
  for (const { file, imports, refused } of CASES) {
    const verdict = refused.length > 0 ? 'refuses' : 'allows';
    void test(`${verdict} ${imports} in ${file}`, async () => {
      const findings = await layerFindings(
        file,
        `import * as imported from '${imports}';\nexport { imported };\n`,
      );
      if (refused.length === 0) {
        assert.deepEqual(findings, []);
        return;
      }
      assert.equal(findings.length, 1, `one finding for ${imports} in ${file}: ${JSON.stringify(findings)}`);
      for (const word of refused) assert.match(findings[0]!, new RegExp(word.replace(/[.*/]/g, '\\$&')));
      assert.match(findings[0]!, /ARCHITECTURE\.md/);
    });
  }

  void test('checks export-from and dynamic imports as well', async () => {
    const findings = await layerFindings(
      'src/core/store/objectStore.ts',
      "export { gc } from '../operations/maintenance';\nexport const later = () => import('../environments/live');\n",
    );
    assert.equal(findings.length, 2);
  });

  void test('every folder of src/core is a room of some layer', async () => {
    const config = (await import(pathToFileURL(join(ROOT, 'eslint.config.mjs')).href)) as {
      CORE_LAYERS: readonly { readonly rooms: readonly string[] }[];
    };
    const rooms = new Set(config.CORE_LAYERS.flatMap((layer) => layer.rooms));
    const folders = readdirSync(join(ROOT, 'src/core'), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
    assert.deepEqual(
      folders.filter((folder) => !rooms.has(folder)),
      [],
    );
  });
});
