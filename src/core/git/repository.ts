// Sluice's control plane lives in git: records are blobs, histories are commit
// chains under refs/sluice/, and every ref update is a compare-and-swap. This
// is the one place that runs git, through simple-git's plumbing calls.
import { shortId } from '../format';
import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { GitError, simpleGit, type SimpleGit } from 'simple-git';
import { gitFailure, SluiceError, withPath } from '../errors';
import { makeFolder } from '../fs/makeFolder';
import { gitFacts, type GitFacts } from './gitFacts';
import { LooseObjects, objectId, treeContentOf } from './looseObjects';
import { isPlainRefName, readRef, UnusualRef, updateRef } from './looseRefs';

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

/**
 * What a fetch or push over SSH needs besides: the user's agent. Passed to
 * those calls only (git runs ssh there, with the user's own ~/.ssh/config).
 */
const NETWORK_VARIABLES = ['SSH_AUTH_SOCK', 'SSH_AGENT_PID', 'GIT_SSH_COMMAND', 'GIT_SSH'];

function gitEnvironment(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of [...PASSED_VARIABLES, ...ALLOWED_GIT_VARIABLES]) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...extra };
}

/**
 * `-c` overrides on every git process Sluice starts. Sluice's own plumbing
 * (a staging checkout, a ref update, a status) is not the user's git work:
 * the repository's hooks (post-checkout on `worktree add`,
 * reference-transaction on `update-ref`, …; /dev/null holds no hook on any
 * git), its fsmonitor daemon or script, commit signing (commit-tree honours
 * commit.gpgSign and would run gpg.program) and submodule recursion must not
 * run programs on its behalf. Clean/smudge filters (filter.*, e.g. git-lfs)
 * stay on: they define what a committed file's bytes are, and a staging
 * checkout without them would build a release from pointer files. diff.external
 * and textconv never run: Sluice asks git for raw listings, never patches.
 */
export const GIT_OVERRIDES: readonly string[] = [
  'core.hooksPath=/dev/null',
  'core.fsmonitor=false',
  'commit.gpgSign=false',
  'submodule.recurse=false',
];

/** Modes of tree entries, as git writes them. */
export const TREE_MODE = '40000';
export const FILE_MODE = '100644';

/** Who is recorded as the author of Sluice's commits when git has no identity configured. */
const FALLBACK_IDENTITY = { name: 'Sluice', email: 'sluice@localhost' };

/** Histories at most this long are read from the repository's files when they can be (historyFromFiles). */
const FILES_HISTORY_LIMIT = 64;

export interface CommitInfo {
  readonly id: string;
  readonly parent: string | undefined;
  readonly message: string;
}

export interface GitObject {
  readonly id: string;
  readonly type: string;
  readonly content: Buffer;
}

/** One entry of `git ls-tree -r -t`: its mode, type, object id and path below the tree listed. */
export interface TreeEntryInfo {
  readonly mode: string;
  readonly type: string;
  readonly id: string;
  readonly path: string;
}

/** The blobs a commit added or changed relative to its parent (all of them for a root commit). */
export interface CommitBlobs {
  readonly commit: string;
  readonly blobs: readonly { readonly path: string; readonly id: string }[];
}

/** Sluice writing objects and moving refs itself (the repository is a plain one, gitFacts.ts). */
interface DirectAccess {
  readonly facts: GitFacts;
  readonly objects: LooseObjects;
}

/** Set to 1 to have every object and ref written by git processes (tests compare the two ways). */
const PROCESSES_ONLY = 'SLUICE_GIT_PROCESSES';

export class GitRepository {
  private readonly git: SimpleGit;
  private factsRead: Promise<GitFacts | undefined> | undefined;
  private directAccess: Promise<DirectAccess | undefined> | undefined;

  constructor(
    readonly root: string,
    /** Where temporary files for git objects go (inside .sluice/, so on the same disk). */
    private readonly scratch: string,
    /**
     * Where the facts of the repository are kept between commands
     * (.sluice/state/git.json). Without it, objects and refs are always
     * written by git processes.
     */
    private readonly factsFile?: string,
  ) {
    this.git = this.client(gitEnvironment());
  }

  /** The repository's facts, learnt once (and kept in factsFile); undefined without a facts file. */
  private facts(): Promise<GitFacts | undefined> {
    if (this.factsFile === undefined) return Promise.resolve(undefined);
    const file = this.factsFile;
    this.factsRead ??= gitFacts(this.root, file, (args) => this.runGit(args)).catch(() => undefined);
    return this.factsRead;
  }

  /** Why git processes write this repository's objects and refs (undefined: Sluice writes them itself). */
  async writtenByGitBecause(): Promise<string | undefined> {
    if (process.env[PROCESSES_ONLY] === '1') return `${PROCESSES_ONLY}=1`;
    const facts = await this.facts();
    return facts === undefined ? 'no facts file' : facts.unusual;
  }

  /** How Sluice writes objects and refs itself here, or undefined when git processes must. */
  private direct(): Promise<DirectAccess | undefined> {
    if (process.env[PROCESSES_ONLY] === '1') return Promise.resolve(undefined);
    this.directAccess ??= this.facts().then((facts) =>
      facts === undefined || facts.unusual !== undefined
        ? undefined
        : { facts, objects: new LooseObjects(join(facts.gitDir, 'objects')) },
    );
    return this.directAccess;
  }

  /**
   * A simple-git client. `input` goes to git's stdin; `trimmed: false` keeps
   * output exactly as git wrote it (NUL-separated listings end in a NUL).
   */
  private client(
    env: Record<string, string>,
    options: { input?: string; trimmed?: boolean } = {},
  ): SimpleGit {
    const { input } = options;
    return simpleGit({
      baseDir: this.root,
      maxConcurrentProcesses: 4,
      trimmed: options.trimmed ?? true,
      allowEnvironment: ALLOWED_GIT_VARIABLES,
      config: [...GIT_OVERRIDES],
      // The user's own choice of config file (GIT_CONFIG_GLOBAL) is theirs to make. simple-git
      // guards hooksPath and fsmonitor overrides: here they switch programs off, never on.
      unsafe: { allowUnsafeConfigPaths: true, allowUnsafeHooksPath: true, allowUnsafeFsMonitor: true },
      ...(input === undefined ? {} : { input: () => input }),
      // A failing git process becomes one line naming git's own reason, never a raw dump of its output.
      errors: (error, result) => {
        if (error === undefined) return undefined;
        const stderr = Buffer.isBuffer(error)
          ? error.toString('utf8')
          : Buffer.concat(result.stdErr).toString('utf8') || error.message;
        // simple-git passes on a GitError as it is but wraps anything else into one whose message is
        // `String(error)` ("SluiceError: …", then reported as a bug): the SluiceError rides as its cause.
        const failure = gitFailure(stderr, result.exitCode);
        return Object.assign(new GitError(undefined, failure.message), { cause: failure });
      },
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
    // --no-index: only the ignore rules count, and git does not load the index (70 ms with 100,000 files).
    if ((await this.git.raw(['check-ignore', '--no-index', path])) !== '') return;
    const prefix = await this.git.raw(['rev-parse', '--show-prefix']);
    const exclude = resolve(this.root, await this.git.raw(['rev-parse', '--git-path', 'info/exclude']));
    makeFolder(dirname(exclude));
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

  /**
   * The commit a ref points at, or undefined when the ref does not exist. A
   * ref that exists but does not lead to a commit (a tree, a blob, a missing
   * object) is an error, never "absent": a reader taking it for "no history
   * yet" would show nothing, and gc would collect everything that history needs.
   */
  async resolveRef(ref: string): Promise<string | undefined> {
    const [object] = await this.readObjects([`${ref}^{commit}`], { check: true });
    if (object !== undefined) return object.id;
    if (!ref.startsWith('refs/')) return undefined;
    const [pointed] = await this.readObjects([ref], { check: true });
    // A commit by now: the ref moved between the two reads (a monitor appending), it is no damage.
    if (pointed?.type === 'commit') return pointed.id;
    const target = pointed?.id ?? (await this.listRefs(ref)).get(ref);
    if (target === undefined) return undefined;
    const what = pointed ? `a ${pointed.type} (${shortId(target)})` : `${target}, which git does not have`;
    throw new SluiceError(
      `${ref} is damaged: it points at ${what}, not at a record's commit.`,
      'failed',
      'Run `sluice fsck`.',
      {
        code: 'damaged-ref',
        data: { ref, object: target },
      },
    );
  }

  /** A path inside the repository's git folder (`git rev-parse --git-path`), relative to root or absolute. */
  async gitPath(path: string): Promise<string> {
    return this.git.raw(['rev-parse', '--git-path', path]);
  }

  /**
   * Objects by name (ids, refs, `REV:PATH`), in one `git cat-file --batch`:
   * undefined for each name that names nothing. Names must not hold a newline.
   * With `check`, only ids and types are read (the contents come back empty).
   */
  async readObjects(
    names: readonly string[],
    options: { check?: boolean } = {},
  ): Promise<(GitObject | undefined)[]> {
    if (names.length === 0) return [];
    const direct = await this.direct();
    if (!direct) return this.catFile(names, options);
    // Loose objects by id or plain ref are read here; the rest (packed, `REV:PATH`, …) by git, in one call.
    const found = names.map((name) => readDirectly(direct, name, options.check === true));
    const asked = names.filter((_, i) => found[i] === ASK_GIT);
    if (asked.length === 0) return found as (GitObject | undefined)[];
    const answers = await this.catFile(asked, options);
    let next = 0;
    return found.map((object) => (object === ASK_GIT ? answers[next++] : object));
  }

  /** Objects by name from one `git cat-file --batch` (or `--batch-check`). */
  private async catFile(
    names: readonly string[],
    options: { check?: boolean },
  ): Promise<(GitObject | undefined)[]> {
    const input = `${names.join('\n')}\n`;
    // cat-file always answers (a "missing" line at least): simple-git never waits on silence.
    const output = (await this.client(gitEnvironment(), { input, trimmed: false }).binaryCatFile([
      options.check ? '--batch-check' : '--batch',
    ])) as Buffer;
    const objects: (GitObject | undefined)[] = [];
    let at = 0;
    for (let i = 0; i < names.length; i++) {
      const newline = output.indexOf(0x0a, at);
      if (newline < 0) throw new SluiceError('git cat-file answered less than asked.', 'failed');
      const header = output.toString('utf8', at, newline).split(' ');
      at = newline + 1;
      if (header.length !== 3) {
        objects.push(undefined); // "NAME missing" or "NAME ambiguous"
        continue;
      }
      const [id = '', type = '', sizeText = '0'] = header;
      if (options.check) {
        objects.push({ id, type, content: Buffer.alloc(0) });
        continue;
      }
      const size = Number(sizeText);
      objects.push({ id, type, content: output.subarray(at, at + size) });
      at += size + 1;
    }
    return objects;
  }

  /** Every entry below `treeish` (a commit or a tree), recursively, trees included. */
  async listTree(treeish: string): Promise<TreeEntryInfo[]> {
    const output = await this.client(gitEnvironment(), { trimmed: false }).raw([
      'ls-tree',
      '-r',
      '-t',
      '-z',
      '--full-tree',
      treeish,
    ]);
    const entries: TreeEntryInfo[] = [];
    for (const line of output.split('\0')) {
      if (line === '') continue;
      const tab = line.indexOf('\t');
      const [mode = '', type = '', id = ''] = line.slice(0, tab).split(' ');
      entries.push({ mode, type, id, path: line.slice(tab + 1) });
    }
    return entries;
  }

  /**
   * Each commit of `ref`'s first-parent chain, newest first, with the blobs it
   * added or changed (paths and ids): what a commit introduced, each blob once
   * where it appeared rather than in every commit that still holds it.
   */
  async changedBlobs(ref: string): Promise<CommitBlobs[]> {
    if ((await this.resolveRef(ref)) === undefined) return [];
    const output = await this.client(gitEnvironment(), { trimmed: false }).raw([
      'log',
      '--first-parent',
      '--format=%x1e%H',
      '--raw',
      '-r',
      '-z',
      '--root',
      '--no-renames',
      '--no-abbrev',
      ref,
      '--',
    ]);
    const commits: CommitBlobs[] = [];
    for (const chunk of output.split('\x1e')) {
      if (chunk === '') continue;
      const fields = chunk.split('\0');
      const blobs: { path: string; id: string }[] = [];
      // ":OLDMODE NEWMODE OLDID NEWID STATUS", then the path, for each change.
      for (let i = 1; i + 1 < fields.length; i += 2) {
        const [, , , id = '', status = ''] = fields[i]!.replace(/^\n/, '').split(' ');
        if (status !== 'D') blobs.push({ path: fields[i + 1]!, id });
      }
      commits.push({ commit: fields[0]!, blobs });
    }
    return commits;
  }

  /**
   * Writes blobs and returns their ids, in order: through temporary files
   * that git reads (and writes durably as objects itself), one git call for all.
   */
  async writeBlobs(contents: readonly (string | Buffer)[]): Promise<string[]> {
    if (contents.length === 0) return [];
    const direct = await this.direct();
    if (direct)
      return direct.objects.write(
        contents.map((content) => ({
          type: 'blob',
          content: typeof content === 'string' ? Buffer.from(content) : content,
        })),
      );
    makeFolder(this.scratch);
    const stem = join(this.scratch, `git-${process.pid}-${randomBytes(6).toString('hex')}-`);
    const files: string[] = [];
    try {
      contents.forEach((content, index) => {
        const file = `${stem}${index}`;
        files.push(file);
        writeFileSync(file, content, { flag: 'wx' });
      });
    } catch (error) {
      // A full disk: no temporary file stays, and the error names the one that could not be written.
      for (const file of files) rmSync(file, { force: true });
      throw withPath(error, files[files.length - 1] ?? this.scratch);
    }
    try {
      const output = await this.client(gitEnvironment(), { input: `${files.join('\n')}\n` }).raw([
        'hash-object',
        '-w',
        '--no-filters',
        '--stdin-paths',
      ]);
      const ids = output.split('\n');
      if (ids.length !== contents.length)
        throw new SluiceError('git hash-object wrote fewer blobs than asked.', 'failed');
      return ids;
    } finally {
      for (const file of files) rmSync(file, { force: true });
    }
  }

  /**
   * Writes trees, each a map of name → [mode, object id], and returns their
   * ids, in order. A tree may refer to trees before it in the list: git checks
   * that every object a tree names exists.
   */
  async writeTrees(
    trees: readonly ReadonlyMap<string, readonly [mode: string, id: string]>[],
  ): Promise<string[]> {
    if (trees.length === 0) return [];
    const direct = await this.direct();
    if (direct) {
      const contents = treeContents(direct, trees, new Set());
      return direct.objects.write(contents.map((content) => ({ type: 'tree', content })));
    }
    const input = trees
      .map((entries) =>
        [...entries]
          .map(([name, [mode, id]]) => `${mode} ${mode === TREE_MODE ? 'tree' : 'blob'} ${id}\t${name}\0`)
          .join(''),
      )
      .join('\0');
    const output = await this.client(gitEnvironment(), { input: `${input}\0` }).raw([
      'mktree',
      '-z',
      '--batch',
    ]);
    const ids = output.split('\n');
    if (ids.length !== trees.length)
      throw new SluiceError('git mktree wrote fewer trees than asked.', 'failed');
    return ids;
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

  /**
   * What `git commit-tree TREE [-p PARENT] -m MESSAGE` writes, with the same
   * identity and clock; undefined when git must write it (an identity git
   * would rewrite, a tree or parent it lacks: git then says so).
   */
  private commitText(
    direct: DirectAccess,
    identity: { name: string; email: string },
    tree: string,
    parent: string | undefined,
    message: string,
    batch: ReadonlySet<string>,
  ): Buffer | undefined {
    if (!cleanIdentity(identity) || message.includes('\0')) return undefined;
    const has = (id: string): boolean => batch.has(id) || direct.objects.has(id);
    if (!has(tree) || (parent !== undefined && !has(parent))) return undefined;
    const person = `${identity.name} <${identity.email}> ${gitTime()}`;
    return Buffer.from(
      `tree ${tree}\n${parent ? `parent ${parent}\n` : ''}author ${person}\ncommitter ${person}\n\n${message}\n`,
    );
  }

  /**
   * Writes blobs, then the trees `treesOf` makes of their ids (the last one
   * the commit's), then the commit on top of `parent`: writeBlobs, writeTrees
   * and commit in one. Written by Sluice itself, the objects reach the disk
   * in one flush (one journal commit, where three cost three).
   */
  async writeCommitOf(
    blobs: readonly (string | Buffer)[],
    treesOf: (
      blobIds: readonly string[],
    ) => readonly ReadonlyMap<string, readonly [mode: string, id: string]>[],
    parent: string | undefined,
    message: string,
    /** Ids the caller knows git has (reachable from `parent`), read after treesOf: not looked for. */
    present: ReadonlySet<string> = new Set(),
  ): Promise<{ readonly blobIds: string[]; readonly treeIds: string[]; readonly commit: string }> {
    const direct = await this.direct();
    const identity = await this.identity();
    if (direct) {
      const blobContents = blobs.map((blob) => (typeof blob === 'string' ? Buffer.from(blob) : blob));
      const blobIds = blobContents.map((content) => objectId('blob', content));
      // treesOf may name what `present` holds only once it has run (the caller fills it there).
      const trees = treesOf(blobIds);
      const batch = new Set([...present, ...blobIds]);
      const contents = treeContents(direct, trees, batch);
      const treeIds = contents.map((content) => objectId('tree', content));
      const text = this.commitText(direct, identity, treeIds[treeIds.length - 1]!, parent, message, batch);
      if (text !== undefined) {
        const ids = await direct.objects.write([
          ...blobContents.map((content) => ({ type: 'blob' as const, content })),
          ...contents.map((content) => ({ type: 'tree' as const, content })),
          { type: 'commit', content: text },
        ]);
        return { blobIds, treeIds, commit: ids[ids.length - 1]! };
      }
    }
    const blobIds = await this.writeBlobs(blobs);
    const treeIds = await this.writeTrees(treesOf(blobIds));
    const commit = await this.commit(treeIds[treeIds.length - 1]!, parent, message);
    return { blobIds, treeIds, commit };
  }

  /** Creates a commit of `tree` on top of `parent` (none for the first) and returns its id. */
  async commit(tree: string, parent: string | undefined, message: string): Promise<string> {
    const identity = await this.identity();
    const direct = await this.direct();
    const text = direct && this.commitText(direct, identity, tree, parent, message, new Set());
    if (direct && text !== undefined)
      return (await direct.objects.write([{ type: 'commit', content: text }]))[0]!;
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
    // A transaction on stdin: `create` insists the ref is absent, `update` that it holds `expected`.
    // git answers each step ("start: ok"), so simple-git does not wait on a silent process.
    const direct = await this.direct();
    // git refuses a ref naming an object it lacks: such a call goes to git, which says so.
    if (direct && direct.objects.has(next)) {
      const identity = await this.identity();
      try {
        const outcome = await updateRef(direct.facts.gitDir, {
          ref,
          next,
          expected,
          logIdentity: `${identity.name} <${identity.email}> ${gitTime()}`,
          logAll: direct.facts.logAllRefUpdates,
          // Beside the facts, in .sluice/state/ (direct writes happen only where that file is known).
          ...(this.factsFile === undefined ? {} : { holders: join(dirname(this.factsFile), 'ref-locks') }),
        });
        if (outcome === 'moved') throw refMoved(what, ref);
        return;
      } catch (error) {
        if (!(error instanceof UnusualRef)) throw error;
      }
    }
    const step = expected === undefined ? `create ${ref} ${next}` : `update ${ref} ${next} ${expected}`;
    try {
      await this.client(gitEnvironment(), { input: `start\n${step}\nprepare\ncommit\n` }).raw([
        'update-ref',
        '--stdin',
      ]);
    } catch (error) {
      const now = await this.resolveRef(ref);
      if (now !== expected) throw refMoved(what, ref);
      throw error;
    }
  }

  /** The URL of a git remote of this repository, or undefined when there is no such remote. */
  async remoteUrl(name: string): Promise<string | undefined> {
    const result = await this.runGit(['remote', 'get-url', safeRemote(name)]);
    return result.code === 0 ? result.stdout.trim() : undefined;
  }

  /** Refs matching `pattern` on the git remote `remote` (`git ls-remote`), with their commits. */
  async remoteRefs(remote: string, pattern: string): Promise<Map<string, string>> {
    const result = await this.runGit(['ls-remote', '--refs', safeRemote(remote), pattern], true);
    if (result.code !== 0) throw gitRemoteFailure(remote, result.stderr, result.code);
    const refs = new Map<string, string>();
    for (const line of result.stdout.split('\n')) {
      const [id, name] = line.split('\t');
      if (id && name) refs.set(name, id);
    }
    return refs;
  }

  /** Fetches the refs of `from` (a pattern) on `remote` into `into` (the same pattern, elsewhere), pruning. */
  async fetchRefs(remote: string, from: string, into: string): Promise<void> {
    const result = await this.runGit(
      [
        'fetch',
        '--quiet',
        '--no-tags',
        '--no-write-fetch-head',
        '--prune',
        safeRemote(remote),
        `+${from}:${into}`,
      ],
      true,
    );
    if (result.code !== 0) throw gitRemoteFailure(remote, result.stderr, result.code);
  }

  /**
   * Pushes ref updates to `remote` in one atomic push, each with a lease: the
   * push fails as a whole, and nothing moves, when any ref on the remote is
   * not at `expected` (undefined: absent) any more. Throws `git-remote-failed`
   * on any failure; the caller asks the remote what moved.
   */
  async pushRefs(
    remote: string,
    updates: readonly {
      readonly ref: string;
      /** null: delete the ref there. */
      readonly commit: string | null;
      readonly expected: string | undefined;
    }[],
  ): Promise<void> {
    if (updates.length === 0) return;
    const args = ['push', '--atomic', '--porcelain', '--no-verify', '--quiet'];
    for (const { ref, expected } of updates) args.push(`--force-with-lease=${ref}:${expected ?? ''}`);
    args.push(safeRemote(remote), ...updates.map(({ ref, commit }) => `${commit ?? ''}:${ref}`));
    const result = await this.runGit(args, true);
    if (result.code !== 0) throw gitRemoteFailure(remote, result.stderr || result.stdout, result.code);
  }

  /** Whether `ancestor` is `descendant` or one of its ancestors (both commits this repository has). */
  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    const result = await this.runGit(['merge-base', '--is-ancestor', ancestor, descendant]);
    if (result.code === 0 || result.code === 1) return result.code === 0;
    throw gitFailure(result.stderr, result.code);
  }

  /** How many commits `ours` has that `theirs` lacks, and the reverse (`git rev-list --left-right --count`). */
  async aheadBehind(
    ours: string,
    theirs: string,
  ): Promise<{ readonly ahead: number; readonly behind: number }> {
    const result = await this.runGit(['rev-list', '--left-right', '--count', `${ours}...${theirs}`]);
    if (result.code !== 0) throw gitFailure(result.stderr, result.code);
    const [ahead, behind] = result.stdout.trim().split(/\s+/).map(Number);
    return { ahead: ahead ?? 0, behind: behind ?? 0 };
  }

  /** Points `ref` at `commit` whatever it held: for refs that only mirror another repository's. */
  async setRef(ref: string, commit: string): Promise<void> {
    const result = await this.runGit(['update-ref', ref, commit]);
    if (result.code !== 0) throw gitFailure(result.stderr, result.code);
  }

  /** Deletes `ref` if it still holds `expected`; a 'conflict' error when another writer moved it. */
  async deleteRef(ref: string, expected: string): Promise<void> {
    const result = await this.runGit(['update-ref', '-d', ref, expected]);
    if (result.code === 0) return;
    if ((await this.resolveRef(ref)) !== expected)
      throw new SluiceError(`${ref} moved under you (another process updated it).`, 'conflict', 'Retry.', {
        code: 'ref-moved',
        data: { ref },
      });
    throw gitFailure(result.stderr, result.code);
  }

  /**
   * A digest of the uncommitted changes to tracked files (`git diff HEAD`,
   * binary included) and of the untracked paths' names: two runs of the same
   * dirty tree have the same one. Null when the tree is clean.
   */
  async uncommittedDigest(untracked: readonly string[]): Promise<string | null> {
    const result = await this.runGit(['diff', 'HEAD', '--binary', '--no-ext-diff', '--no-textconv']);
    if (result.code !== 0) throw gitFailure(result.stderr, result.code);
    if (result.stdout === '' && untracked.length === 0) return null;
    return createHash('sha256')
      .update(result.stdout)
      .update('\0')
      .update([...untracked].sort().join('\0'))
      .digest('hex');
  }

  /** The commit a name (`HEAD`, a branch, a tag, an abbreviated id) resolves to; undefined when none. */
  async resolveCommit(name: string): Promise<string | undefined> {
    if (name.startsWith('-') || /[\s\0]/.test(name)) return undefined;
    const result = await this.runGit(['rev-parse', '--verify', '--quiet', `${name}^{commit}`]);
    return result.code === 0 ? result.stdout.trim() : undefined;
  }

  /** Whether this repository has the commit `id`. */
  async hasCommit(id: string): Promise<boolean> {
    return (await this.runGit(['cat-file', '-e', `${id}^{commit}`])).code === 0;
  }

  /**
   * The commits of `ref`'s chain that `base`'s lacks (every one without a
   * base), oldest first (`git rev-list --reverse base..ref`).
   */
  async commitsSince(base: string | undefined, ref: string): Promise<string[]> {
    const result = await this.runGit(['rev-list', '--reverse', base === undefined ? ref : `${base}..${ref}`]);
    if (result.code !== 0) throw gitFailure(result.stderr, result.code);
    return result.stdout.split('\n').filter((line) => line !== '');
  }

  /** A commit's tree and message, to write it again on another parent. */
  async commitContent(id: string): Promise<{ readonly tree: string; readonly message: string }> {
    const result = await this.runGit(['show', '-s', '--format=%T%n%B', id]);
    if (result.code !== 0) throw gitFailure(result.stderr, result.code);
    const [tree, ...message] = result.stdout.split('\n');
    return { tree: tree!, message: message.join('\n').replace(/\n+$/, '') };
  }

  /**
   * Runs git with Sluice's overrides and returns its exit code and output
   * instead of throwing: for calls whose failures carry meaning (a lease, an
   * ancestry test, a missing remote). `network` passes the user's SSH agent on.
   */
  private runGit(
    args: readonly string[],
    network = false,
  ): Promise<{ readonly code: number; readonly stdout: string; readonly stderr: string }> {
    const env = gitEnvironment();
    if (network)
      for (const name of NETWORK_VARIABLES)
        if (process.env[name] !== undefined) env[name] = process.env[name];
    // No terminal prompts: a face has no terminal to answer them on.
    env['GIT_TERMINAL_PROMPT'] = '0';
    const overrides = GIT_OVERRIDES.flatMap((setting) => ['-c', setting]);
    return new Promise((resolve, reject) => {
      const child = spawn('git', [...overrides, ...args], {
        cwd: this.root,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
      child.once('error', reject);
      child.once('close', (code) => {
        resolve({
          code: code ?? 1,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
        });
      });
    });
  }

  /** The commit HEAD points at. */
  async headCommit(): Promise<string> {
    try {
      return await this.git.raw(['rev-parse', '--verify', 'HEAD^{commit}']);
    } catch {
      throw new SluiceError(`${this.root} has no commit yet.`, 'failed', 'Commit your code first.');
    }
  }

  /** Paths with uncommitted changes (tracked or not, ignored files aside), as `git status` lists them. */
  async uncommittedPaths(): Promise<string[]> {
    const output = await this.client(gitEnvironment(), { trimmed: false }).raw([
      'status',
      '--porcelain=v1',
      '-z',
      '--untracked-files=normal',
    ]);
    return output
      .split('\0')
      .filter((entry) => entry.length > 3)
      .map((entry) => entry.slice(3));
  }

  /**
   * Paths git tracks at or below `path` (relative to the workspace root), at
   * most `limit` of them. The path is taken literally (no globs) and matched
   * ignoring case, as a case-insensitive file system would open it.
   */
  async trackedPaths(path: string, limit = 10): Promise<string[]> {
    const output = await this.client(gitEnvironment(), { trimmed: false }).raw([
      'ls-files',
      '-z',
      '--',
      `:(icase,literal)${path}`,
    ]);
    const paths: string[] = [];
    for (const entry of output.split('\0')) {
      if (entry === '') continue;
      paths.push(entry);
      if (paths.length >= limit) break;
    }
    return paths;
  }

  /** The workspace folder's path inside the repository ('' at its top, else ending in '/'). */
  async prefix(): Promise<string> {
    return (
      await this.client(gitEnvironment(), { trimmed: false }).raw(['rev-parse', '--show-prefix'])
    ).trim();
  }

  /** Checks out `commit` into a new linked worktree at `path`, with a detached HEAD. */
  async addWorktree(path: string, commit: string): Promise<void> {
    await this.git.raw(['worktree', 'add', '--detach', '--quiet', path, commit]);
  }

  /** The linked worktrees git has registered (the main one aside), by the absolute paths git recorded. */
  async listWorktrees(): Promise<string[]> {
    const output = await this.client(gitEnvironment(), { trimmed: false }).raw([
      'worktree',
      'list',
      '--porcelain',
    ]);
    const paths = output
      .split('\n')
      .filter((line) => line.startsWith('worktree '))
      .map((line) => line.slice('worktree '.length));
    return paths.slice(1);
  }

  /** Removes a linked worktree and forgets it, whatever it holds. */
  async removeWorktree(path: string): Promise<void> {
    try {
      await this.git.raw(['worktree', 'remove', '--force', '--force', path]);
    } catch {
      // Half made, or its files already gone: remove what is left, and git's note of it.
      rmSync(path, { recursive: true, force: true });
      await this.git.raw(['worktree', 'prune']);
    }
  }

  /** The commit chain of a ref, newest first: id, parent and full message. */
  async history(ref: string, limit?: number, retried = false): Promise<CommitInfo[]> {
    if (limit !== undefined && limit <= FILES_HISTORY_LIMIT) {
      const read = await this.historyFromFiles(ref, limit);
      if (read !== undefined) return read;
    }
    let output: string;
    try {
      output = await this.git.raw([
        'log',
        '--first-parent',
        '--format=%H%x1f%P%x1f%B%x1e',
        ...(limit === undefined ? [] : [`-n${limit}`]),
        ref,
        '--',
      ]);
    } catch (error) {
      // Asked only when the log failed (one git process, not two, on every read of a history):
      // an absent ref is an empty history, a ref that does not lead to a commit is damage.
      if ((await this.resolveRef(ref)) === undefined) return [];
      // It leads to a commit now: a writer moved it while git read it. Read once more.
      if (!retried) return this.history(ref, limit, true);
      throw error;
    }
    return output
      .split('\x1e')
      .map((record) => record.replace(/^\n/, ''))
      .filter((record) => record.includes('\x1f'))
      .map((record) => {
        const [id = '', parents = '', message = ''] = record.split('\x1f');
        return { id, parent: parents.split(' ')[0] || undefined, message: message.trim() };
      });
  }

  /**
   * The newest `limit` commits of `ref`'s first-parent chain read from the
   * repository's files as `git log` gives them, or undefined when the files
   * cannot tell (a packed or unreadable object, an `encoding` header, a ref
   * git must resolve): git reads it then. A monitor reads the newest record of
   * two chains on every run, and Sluice writes those commits loose itself.
   */
  private async historyFromFiles(ref: string, limit: number): Promise<CommitInfo[] | undefined> {
    const direct = await this.direct();
    if (direct === undefined) return undefined;
    let id: string | undefined;
    try {
      id = readRef(direct.facts.gitDir, ref);
    } catch {
      return undefined;
    }
    const commits: CommitInfo[] = [];
    while (id !== undefined && commits.length < limit) {
      const object = direct.objects.read(id);
      if (object?.type !== 'commit') return undefined;
      const text = object.content.toString('utf8');
      const blank = text.indexOf('\n\n');
      const headers = (blank < 0 ? text : text.slice(0, blank)).split('\n');
      if (headers.some((header) => header.startsWith('encoding '))) return undefined;
      // The first `parent` line is the first parent; a signature's continuation lines start with a space.
      const parent = headers.find((header) => header.startsWith('parent '))?.slice('parent '.length);
      commits.push({ id, parent, message: blank < 0 ? '' : text.slice(blank + 2).trim() });
      id = parent;
    }
    return commits;
  }

  private cachedIdentity: { name: string; email: string; fallback: boolean } | undefined;

  private async identity(): Promise<{ name: string; email: string; fallback: boolean }> {
    if (this.cachedIdentity) return this.cachedIdentity;
    // Both keys in one call: "KEY\nVALUE\0" each.
    const configured = new Map<string, string>();
    const facts = await this.facts();
    if (facts) {
      configured.set('user.name', facts.userName);
      configured.set('user.email', facts.userEmail);
    } else
      try {
        const output = await this.client(gitEnvironment(), { trimmed: false }).raw([
          'config',
          '-z',
          '--get-regexp',
          '^user\\.(name|email)$',
        ]);
        for (const item of output.split('\0')) {
          const newline = item.indexOf('\n');
          if (newline > 0) configured.set(item.slice(0, newline), item.slice(newline + 1));
        }
      } catch {
        // No identity configured: the fallback below.
      }
    const name = process.env['GIT_AUTHOR_NAME'] ?? (configured.get('user.name') || undefined);
    const email = process.env['GIT_AUTHOR_EMAIL'] ?? (configured.get('user.email') || undefined);
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
}

/** A fetch or push that failed: one line naming the git remote and git's reason. */
function gitRemoteFailure(remote: string, stderr: string, exitCode: number): SluiceError {
  const failure = gitFailure(stderr, exitCode);
  return new SluiceError(
    `Cannot reach the git remote '${remote}': ${failure.message.replace(/^git failed: /, '')}`,
    'failed',
    `Check \`git remote -v\` and that \`git ls-remote ${remote}\` works from this folder.`,
    { code: 'git-remote-failed', data: { remote, ...failure.data } },
  );
}

/** A git remote's name or URL as an argument: never one git could read as an option. */
function safeRemote(remote: string): string {
  if (remote.startsWith('-') || remote === '')
    throw new SluiceError(
      `'${remote}' is not a git remote name.`,
      'usage',
      'Name a remote that `git remote -v` lists.',
      {
        code: 'git-remote-invalid',
        data: { remote },
      },
    );
  return remote;
}

/**
 * Trees' contents as git mktree writes them, after checking as it does that
 * each entry names an object git has, one of `batch` (written with them), or
 * a tree before it in the list; a missing one is an error that says so.
 */
function treeContents(
  direct: DirectAccess,
  trees: readonly ReadonlyMap<string, readonly [mode: string, id: string]>[],
  batch: Set<string>,
): Buffer[] {
  return trees.map((entries) => {
    for (const [name, [, id]] of entries)
      if (!batch.has(id) && !direct.objects.has(id))
        throw new SluiceError(
          `git failed: entry '${name}' object ${id} is unavailable (missing from the repository).`,
          'failed',
          'Check the repository with `git fsck`, then run the command again.',
          { code: 'git-failed', data: { exitCode: 128, output: [] } },
        );
    const content = treeContentOf(entries);
    batch.add(objectId('tree', content));
    return content;
  });
}

function refMoved(what: string, ref: string): SluiceError {
  return new SluiceError(`${what} moved under you (another process updated it).`, 'conflict', 'Retry.', {
    code: 'ref-moved',
    data: { ref },
  });
}

/** readDirectly's answer when git must be asked (a packed object, a name it alone resolves). */
const ASK_GIT = Symbol('ask git');

/** Object `name` (an id or a plain ref) read without git, undefined when it does not exist. */
function readDirectly(
  direct: DirectAccess,
  name: string,
  check: boolean,
): GitObject | undefined | typeof ASK_GIT {
  let id = name;
  if (!/^[0-9a-f]{40}$/.test(name)) {
    if (!isPlainRefName(name)) return ASK_GIT;
    try {
      const target = readRef(direct.facts.gitDir, name);
      // No such ref: git's other spellings of the name (refs/tags/refs/…) are never Sluice's.
      if (target === undefined) return undefined;
      id = target;
    } catch (error) {
      if (error instanceof UnusualRef) return ASK_GIT;
      throw error;
    }
  }
  const object = direct.objects.read(id);
  if (object === undefined) return ASK_GIT;
  return { id, type: object.type, content: check ? Buffer.alloc(0) : object.content };
}

/** Bytes git strips from the ends of a name or email ("crud"): an identity with them is left to git. */
const CRUD = /^[\s.,:;<>"'\\]|[\s.,:;<>"'\\]$/;

/** Whether git would write `name <email>` exactly as given (else commit-tree writes the commit). */
function cleanIdentity(identity: { name: string; email: string }): boolean {
  const { name, email } = identity;
  if (name === '' || email === '') return false;
  return ![name, email].some((part) => /[<>\n\0]/.test(part) || CRUD.test(part));
}

/** Now as git writes it in a commit or reflog line: seconds since the epoch and the local UTC offset. */
function gitTime(): string {
  const now = new Date();
  const offset = -now.getTimezoneOffset();
  const sign = offset < 0 ? '-' : '+';
  const hours = Math.floor(Math.abs(offset) / 60);
  const minutes = Math.abs(offset) % 60;
  return `${Math.floor(now.getTime() / 1000)} ${sign}${String(hours).padStart(2, '0')}${String(minutes).padStart(2, '0')}`;
}
