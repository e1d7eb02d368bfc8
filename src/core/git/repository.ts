// Sluice's control plane lives in git: records are blobs, histories are commit
// chains under refs/sluice/, and every ref update is a compare-and-swap. This
// is the one place that runs git, through simple-git's plumbing calls.
import { randomBytes } from 'node:crypto';
import { appendFileSync, closeSync, fsyncSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { SluiceError } from '../errors';

/** The object id git uses for "no such ref" in a compare-and-swap. */
const NO_REF = '0000000000000000000000000000000000000000';

/**
 * GIT_* variables passed on to git. Others (GIT_DIR, GIT_INDEX_FILE, … as set
 * for hooks) would point git at another repository; simple-git refuses any it
 * is not told to allow.
 */
const ALLOWED_GIT_VARIABLES = [
  'GIT_AUTHOR_NAME',
  'GIT_AUTHOR_EMAIL',
  'GIT_COMMITTER_NAME',
  'GIT_COMMITTER_EMAIL',
  'GIT_CONFIG_GLOBAL',
  'GIT_CONFIG_SYSTEM',
  'GIT_CONFIG_NOSYSTEM',
];

/**
 * Other variables git needs (finding itself, the user's config, the locale).
 * Only these are passed on: simple-git refuses to run git with variables
 * that could run other programs (EDITOR, PAGER, SSH_ASKPASS, …), which many
 * shells set.
 */
const PASSED_VARIABLES = [
  'PATH',
  'HOME',
  'XDG_CONFIG_HOME',
  'LANG',
  'LANGUAGE',
  'LC_ALL',
  'LC_CTYPE',
  'TMPDIR',
  'USER',
  'LOGNAME',
  'SystemRoot',
];

function gitEnvironment(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of [...PASSED_VARIABLES, ...ALLOWED_GIT_VARIABLES]) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...extra };
}

/** Who is recorded as the author of Sluice's commits when git has no identity configured. */
const FALLBACK_IDENTITY = { name: 'Sluice', email: 'sluice@localhost' };

export interface CommitInfo {
  readonly id: string;
  readonly parent: string | undefined;
  readonly message: string;
}

export class GitRepository {
  private readonly git: SimpleGit;

  constructor(
    readonly root: string,
    /** Where temporary files for git objects go (inside .sluice/, so on the same disk). */
    private readonly scratch: string,
  ) {
    this.git = this.client(gitEnvironment());
  }

  private client(env: Record<string, string>): SimpleGit {
    return simpleGit({
      baseDir: this.root,
      maxConcurrentProcesses: 4,
      trimmed: true,
      allowEnvironment: ALLOWED_GIT_VARIABLES,
      // The user's own choice of config file (GIT_CONFIG_GLOBAL) is theirs to make.
      unsafe: { allowUnsafeConfigPaths: true },
    }).env(env);
  }

  /** Throws a clear error when git cannot be run at all. */
  static async requireGit(): Promise<void> {
    try {
      await simpleGit().raw(['--version']);
    } catch {
      throw new SluiceError('git is not installed or not on PATH.', 'failed', 'Install git and try again.');
    }
  }

  /**
   * Makes `root` a new repository with every file committed (for example
   * workspaces); returns the commit id. Sets a local identity only when git has none.
   */
  async initializeWithEverything(message: string): Promise<string> {
    await this.git.raw(['init', '--quiet']);
    const identity = await this.identity();
    if (identity.fallback) {
      await this.git.raw(['config', 'user.name', identity.name]);
      await this.git.raw(['config', 'user.email', identity.email]);
    }
    await this.git.raw(['add', '--all']);
    // This first commit is Sluice's, not the user's work: the user's hooks and
    // signing setup are not meant for it and must not make it fail or prompt.
    await this.git.raw(['commit', '--quiet', '--no-verify', '--no-gpg-sign', '--message', message]);
    return this.git.raw(['rev-parse', 'HEAD']);
  }

  /**
   * Makes git ignore `path` (relative to root) if nothing ignores it yet, in
   * the repository's own exclude file: the user's .gitignore is left alone.
   */
  async ignoreLocally(path: string): Promise<void> {
    // check-ignore prints the path when something ignores it (simple-git does not fail on its exit 1).
    if ((await this.git.raw(['check-ignore', path])) !== '') return;
    const prefix = await this.git.raw(['rev-parse', '--show-prefix']);
    const exclude = resolve(this.root, await this.git.raw(['rev-parse', '--git-path', 'info/exclude']));
    mkdirSync(dirname(exclude), { recursive: true });
    appendFileSync(exclude, `\n# Sluice's cache of data blobs\n/${prefix}${path}/\n`);
  }

  /** Throws a clear error when `root` is not inside a git work tree. */
  async requireRepository(): Promise<void> {
    try {
      await this.git.raw(['rev-parse', '--git-dir']);
    } catch {
      throw new SluiceError(
        `${this.root} is not a git repository.`,
        'usage',
        'Run `git init` there first: Sluice keeps its records in git refs.',
      );
    }
  }

  /** The commit a ref points at, or undefined when the ref does not exist. */
  async resolveRef(ref: string): Promise<string | undefined> {
    try {
      const id = await this.git.raw(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
      return id === '' ? undefined : id;
    } catch {
      return undefined;
    }
  }

  /** Refs under a prefix, with the commit each points at. */
  async listRefs(prefix: string): Promise<Map<string, string>> {
    const output = await this.git.raw(['for-each-ref', '--format=%(refname) %(objectname)', prefix]);
    const refs = new Map<string, string>();
    for (const line of output.split('\n')) {
      const [name, id] = line.split(' ');
      if (name && id) refs.set(name, id);
    }
    return refs;
  }

  /** Writes `content` as a blob and returns its id. */
  async writeBlob(content: string | Buffer): Promise<string> {
    return this.withScratchFile(content, (file) => this.git.raw(['hash-object', '-w', '--no-filters', file]));
  }

  /** The concatenated contents of several blobs, named `COMMIT:PATH`, in one git call. */
  async readBlobs(names: readonly string[]): Promise<string> {
    return this.git.raw(['show', '--no-textconv', ...names]);
  }

  /**
   * Writes a tree of blobs (name → blob id) and returns its id. Built by hand
   * in git's binary tree format so no process needs a pipe.
   */
  async writeTree(entries: ReadonlyMap<string, string>): Promise<string> {
    const sorted = [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const content = Buffer.concat(
      sorted.map(([name, blob]) =>
        Buffer.concat([Buffer.from(`100644 ${name}\0`), Buffer.from(blob, 'hex')]),
      ),
    );
    return this.withScratchFile(content, (file) => this.git.raw(['hash-object', '-w', '-t', 'tree', file]));
  }

  /** Creates a commit of `tree` on top of `parent` (none for the first) and returns its id. */
  async commit(tree: string, parent: string | undefined, message: string): Promise<string> {
    const identity = await this.identity();
    const env = {
      GIT_AUTHOR_NAME: identity.name,
      GIT_AUTHOR_EMAIL: identity.email,
      GIT_COMMITTER_NAME: identity.name,
      GIT_COMMITTER_EMAIL: identity.email,
    };
    const args = ['commit-tree', tree, ...(parent ? ['-p', parent] : []), '-m', message];
    return this.client(gitEnvironment(env)).raw(args);
  }

  /**
   * Moves `ref` from `expected` (undefined: the ref must not exist) to `next`,
   * atomically. Throws a 'conflict' error when another writer moved it first.
   */
  async compareAndSwap(ref: string, next: string, expected: string | undefined, what: string): Promise<void> {
    try {
      await this.git.raw(['update-ref', ref, next, expected ?? NO_REF]);
    } catch (error) {
      const now = await this.resolveRef(ref);
      if (now !== expected) {
        throw new SluiceError(`${what} moved under you (another process updated it).`, 'conflict', 'Retry.');
      }
      throw error;
    }
  }

  /** The commit chain of a ref, newest first: id, parent and full message. */
  async history(ref: string, limit?: number): Promise<CommitInfo[]> {
    if ((await this.resolveRef(ref)) === undefined) return [];
    const output = await this.git.raw([
      'log',
      '--first-parent',
      '--format=%H%x1f%P%x1f%B%x1e',
      ...(limit === undefined ? [] : [`-n${limit}`]),
      ref,
      '--',
    ]);
    return output
      .split('\x1e')
      .map((record) => record.replace(/^\n/, ''))
      .filter((record) => record.includes('\x1f'))
      .map((record) => {
        const [id = '', parents = '', message = ''] = record.split('\x1f');
        return { id, parent: parents.split(' ')[0] || undefined, message: message.trim() };
      });
  }

  private cachedIdentity: { name: string; email: string; fallback: boolean } | undefined;

  private async identity(): Promise<{ name: string; email: string; fallback: boolean }> {
    if (this.cachedIdentity) return this.cachedIdentity;
    const read = async (key: string): Promise<string | undefined> => {
      try {
        return (await this.git.raw(['config', '--get', key])) || undefined;
      } catch {
        return undefined;
      }
    };
    const name = process.env['GIT_AUTHOR_NAME'] ?? (await read('user.name'));
    const email = process.env['GIT_AUTHOR_EMAIL'] ?? (await read('user.email'));
    this.cachedIdentity = {
      name: name ?? FALLBACK_IDENTITY.name,
      email: email ?? FALLBACK_IDENTITY.email,
      fallback: name === undefined || email === undefined,
    };
    return this.cachedIdentity;
  }

  /** The name of who acts, for records and histories. */
  async actor(): Promise<string> {
    const { name, email } = await this.identity();
    return `${name} <${email}>`;
  }

  private async withScratchFile<T>(content: string | Buffer, use: (file: string) => Promise<T>): Promise<T> {
    mkdirSync(this.scratch, { recursive: true });
    const file = join(this.scratch, `git-${randomBytes(8).toString('hex')}`);
    const descriptor = openSync(file, 'wx');
    try {
      writeSync(descriptor, typeof content === 'string' ? Buffer.from(content) : content);
      fsyncSync(descriptor);
    } finally {
      closeSync(descriptor);
    }
    try {
      return await use(file);
    } finally {
      rmSync(file, { force: true });
    }
  }
}
