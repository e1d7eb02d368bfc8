// Where the editor tooling keeps things. Everything it downloads or creates
// lives in git-ignored folders of the repository: `.vscode-test/` for installs
// and scratch runs, `test-output/` for what a person may want to look at.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Bundled tooling runs from out/test/e2e/ (or out/test/ui/); the repository root is three levels up. */
export const ROOT = join(__dirname, '../../..');

/** Installs (code-server) and the demo's state; git-ignored. */
export const VSCODE_TEST_DIR = join(ROOT, '.vscode-test');

/** Screenshots and logs of test runs; git-ignored. */
export const TEST_OUTPUT_DIR = join(ROOT, 'test-output');

export const CLI = join(ROOT, 'dist/cli.js');

interface PackageJson {
  readonly name: string;
  readonly version: string;
  readonly publisher: string;
}

export function packageJson(): PackageJson {
  return JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
}

/** The extension's id, `publisher.name`, as VS Code knows it. */
export function extensionId(): string {
  const { publisher, name } = packageJson();
  return `${publisher}.${name}`;
}

/** Where `npm run package` writes the VSIX (vsce's default name, in the repository root). */
export function vsixPath(): string {
  const { name, version } = packageJson();
  return join(ROOT, `${name}-${version}.vsix`);
}
