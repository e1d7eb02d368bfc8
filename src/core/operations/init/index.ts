// `init`: a starter manifest for an existing project, or a runnable example
// workspace (files, data and a git repository with one commit); either with
// a CI workflow that runs it (`--ci`), or that workflow alone for a workspace
// that exists.
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { VERSION } from '../../build';
import { fromSystemError, SluiceError } from '../../errors';
import { pathExists } from '../../fs/pathExists';
import { MANIFEST_FILE } from '../../manifest';
import { CHURN_EXAMPLE } from './churnExample';
import { CI_PROVIDERS, ciWorkflowFile, isCiProvider, type CiProvider } from './ciWorkflows';
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
  /**
   * Replace an existing file: the manifest with the starter one or, with `ci`
   * alone, the workflow. Examples never replace anything.
   */
  readonly force?: boolean | undefined;
  /**
   * Write this CI's workflow (`github`, `gitlab`): into the new example, or,
   * without `example`, into the repository of the workspace at `dir`.
   */
  readonly ci?: string | undefined;
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
  /** The CI workflow written (its absolute path), and whether it replaced one (only with `force`). */
  readonly ci?: { readonly provider: CiProvider; readonly file: string; readonly replaced: boolean };
}

export async function initWorkspace(dir: string, options: InitOptions = {}): Promise<InitResult> {
  const root = resolve(dir);
  const ci = options.ci === undefined ? undefined : requireCiProvider(options.ci);
  if (options.example === undefined)
    return ci === undefined
      ? writeStarterManifest(root, options.force ?? false)
      : writeCiWorkflow(root, ci, options.force ?? false);
  const example = EXAMPLES.find((candidate) => candidate.name === options.example);
  if (!example) {
    throw new SluiceError(
      `There is no example named '${options.example}'.`,
      'usage',
      `Available: ${EXAMPLES.map((known) => known.name).join(', ')}.`,
    );
  }
  return createExample(root, example, ci);
}

function requireCiProvider(name: string): CiProvider {
  if (isCiProvider(name)) return name;
  throw new SluiceError(
    `There is no CI named '${name}'.`,
    'usage',
    `Available: ${CI_PROVIDERS.join(', ')}.`,
    {
      code: 'invalid-flag-value',
      data: { flag: 'ci', value: name },
    },
  );
}

/**
 * The workflow of `provider` for the workspace at `root`, at the root of its
 * git repository (where the CI reads it), working in the workspace's folder.
 */
function writeCiWorkflow(root: string, provider: CiProvider, force: boolean): InitResult {
  const manifest = join(root, MANIFEST_FILE);
  if (!pathExists(manifest)) {
    throw new SluiceError(
      `No ${MANIFEST_FILE} in ${root}: --ci adds a workflow to a workspace.`,
      'usage',
      `Run \`sluice init\` there first, or create an example with it: \`sluice init DIR --example ${EXAMPLES[0]!.name} --ci ${provider}\`.`,
      { code: 'no-workspace', data: { folder: root } },
    );
  }
  const repository = repositoryRoot(root) ?? root;
  const workspace = relative(repository, root).split(sep).join('/');
  const file = ciWorkflowFile(provider, { version: VERSION, workspace });
  const target = join(repository, ...file.path.split('/'));
  try {
    const exists = pathExists(target);
    if (exists && !force)
      throw new SluiceError(`${target} already exists.`, 'usage', 'Pass --force to replace it.');
    writeWorkspaceFile(repository, file, { replace: force });
    return {
      dir: root,
      files: [relative(root, target).split(sep).join('/')],
      replaced: false,
      ci: { provider, file: target, replaced: exists },
    };
  } catch (error) {
    throw asSluiceError(error, `Cannot write ${target}`);
  }
}

/** The closest folder at or above `start` holding `.git` (a folder, or a linked worktree's file). */
function repositoryRoot(start: string): string | undefined {
  for (let dir = start; ; dir = dirname(dir)) {
    if (pathExists(join(dir, '.git'))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
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

async function createExample(
  root: string,
  example: Example,
  ci: CiProvider | undefined,
): Promise<InitResult> {
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
  // The example is a repository of its own: its workflow works in its root.
  const workflow = ci === undefined ? undefined : ciWorkflowFile(ci, { version: VERSION, workspace: '' });
  const files = [...example.files(), ...(workflow === undefined ? [] : [workflow])];
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
      ...(ci === undefined || workflow === undefined
        ? {}
        : { ci: { provider: ci, file: join(root, ...workflow.path.split('/')), replaced: false } }),
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
