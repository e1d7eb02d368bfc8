// `init`: a starter manifest for an existing project, or a runnable example
// workspace (files, data and a git repository with one commit).
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fromSystemError, SluiceError } from '../../errors';
import { pathExists } from '../../fs/pathExists';
import { MANIFEST_FILE } from '../../manifest';
import { CHURN_EXAMPLE } from './churnExample';
import { GitRepository } from '../../git/repository';
import { STARTER_MANIFEST } from './starterManifest';
import { writeWorkspaceFile, type WorkspaceFile } from './workspaceFile';

export interface Example {
  readonly name: string;
  /** One line, shown by `sluice help init` and in the unknown-example error. */
  readonly description: string;
  files(): WorkspaceFile[];
}

export const EXAMPLES: readonly Example[] = [CHURN_EXAMPLE];

export interface InitOptions {
  /** Create this example workspace instead of writing a starter manifest. */
  readonly example?: string | undefined;
  /** Replace an existing manifest with the starter one. Examples never replace anything. */
  readonly force?: boolean | undefined;
}

export interface InitResult {
  /** The workspace folder, absolute. */
  readonly dir: string;
  /** The files written, relative to `dir`, with `/` separators. */
  readonly files: readonly string[];
  /** True when an existing manifest was replaced (only with `force`). */
  readonly replaced: boolean;
  /** The example created, and the commit of its new repository. */
  readonly example?: { readonly name: string; readonly commit: string };
}

export async function initWorkspace(dir: string, options: InitOptions = {}): Promise<InitResult> {
  const root = resolve(dir);
  if (options.example === undefined) return writeStarterManifest(root, options.force ?? false);
  const example = EXAMPLES.find((candidate) => candidate.name === options.example);
  if (!example) {
    throw new SluiceError(
      `There is no example named '${options.example}'.`,
      'usage',
      `Available: ${EXAMPLES.map((known) => known.name).join(', ')}.`,
    );
  }
  return createExample(root, example);
}

function writeStarterManifest(root: string, force: boolean): InitResult {
  const manifest = join(root, MANIFEST_FILE);
  try {
    if (existsSync(root) && !statSync(root).isDirectory()) {
      throw new SluiceError(
        `${root} is a file, not a folder.`,
        'usage',
        'Pass the folder to create the manifest in.',
      );
    }
    const exists = pathExists(manifest);
    if (exists && !force) {
      throw new SluiceError(`${manifest} already exists.`, 'usage', 'Pass --force to replace it.');
    }
    mkdirSync(root, { recursive: true });
    writeWorkspaceFile(root, { path: MANIFEST_FILE, content: STARTER_MANIFEST }, { replace: force });
    return { dir: root, files: [MANIFEST_FILE], replaced: exists };
  } catch (error) {
    throw asSluiceError(error, `Cannot write ${manifest}`);
  }
}

async function createExample(root: string, example: Example): Promise<InitResult> {
  // A dangling link counts as existing: it is the user's, and the cleanup below must not remove it.
  const existed = pathExists(root);
  if (existed && !isEmptyFolder(root)) {
    throw new SluiceError(
      `${root} is not an empty folder.`,
      'usage',
      'An example needs a new or empty folder; pass another DIR.',
    );
  }
  await GitRepository.requireGit();
  const files = example.files();
  try {
    mkdirSync(root, { recursive: true });
    for (const file of files) writeWorkspaceFile(root, file, { replace: false });
    const commit = await new GitRepository(root, join(root, '.git', 'sluice-tmp')).initializeWithEverything(
      `Sluice ${example.name} example`,
    );
    return {
      dir: root,
      files: files.map((file) => file.path),
      replaced: false,
      example: { name: example.name, commit },
    };
  } catch (error) {
    // The folder was new or empty, so everything in it is ours: leave it as we found it.
    if (existed) {
      const ours = new Set(['.git', ...files.map((file) => file.path.split('/')[0]!)]);
      for (const name of ours) rmSync(join(root, name), { recursive: true, force: true });
    } else {
      rmSync(root, { recursive: true, force: true });
    }
    throw asSluiceError(error, `Cannot create the ${example.name} example in ${root}`);
  }
}

function isEmptyFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory() && readdirSync(path).length === 0;
  } catch (error) {
    throw asSluiceError(error, `Cannot read ${path}`);
  }
}

/** File system failures become errors the CLI reports in one line; anything else stays a bug. */
function asSluiceError(error: unknown, context: string): unknown {
  if (error instanceof SluiceError) return error;
  const system = fromSystemError(error);
  if (system) return system;
  if (error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string') {
    return new SluiceError(`${context}: ${error.message}`, 'failed');
  }
  return error;
}
