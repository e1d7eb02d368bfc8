// What Sluice needs to know of a repository to write its objects and move its
// refs itself (looseObjects.ts, looseRefs.ts) instead of starting git: where
// the git folder is, whether anything about the repository is unusual (then
// git processes do the work, as before), and the config values that shape a
// commit and a reflog line. Learnt from git itself (two processes), then kept
// in .sluice/state/git.json with the identity (inode, size, times) of every
// file they came from; a later command checks those with a stat each and asks
// git again only when one changed (`git config` rewrites a file by rename).
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { writeFileAtomic } from '../fs/atomicWrite';
import { writeCache } from '../fs/cacheWrite';

export interface GitFacts {
  /** The git folder, absolute. */
  readonly gitDir: string;
  /** Why objects and refs are left to git processes here; undefined when Sluice may write them itself. */
  readonly unusual: string | undefined;
  /** user.name and user.email, as git resolves them (last one wins); '' when unset. */
  readonly userName: string;
  readonly userEmail: string;
  /** core.logAllRefUpdates is `always`: every ref update is logged. */
  readonly logAllRefUpdates: boolean;
}

interface CachedFacts extends GitFacts {
  readonly format: 1;
  readonly root: string;
  /** The variables that decide which config files git reads. */
  readonly environment: string;
  /** Files the facts came from (or would, once they exist), with their identity (null: absent). */
  readonly sources: readonly (readonly [path: string, identity: string | null])[];
}

export type RunGit = (args: readonly string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

const CONFIG_VARIABLES = [
  'HOME',
  'XDG_CONFIG_HOME',
  'GIT_CONFIG_GLOBAL',
  'GIT_CONFIG_SYSTEM',
  'GIT_CONFIG_NOSYSTEM',
];

function environmentKey(): string {
  return JSON.stringify(CONFIG_VARIABLES.map((name) => process.env[name] ?? null));
}

function identityOf(path: string): string | null {
  const stat = statSync(path, { throwIfNoEntry: false, bigint: true });
  if (stat === undefined) return null;
  // A folder (.git) counts by its inode alone: its times move with every git command.
  if (stat.isDirectory()) return `folder:${stat.ino}`;
  return `${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
}

/** The facts in `cacheFile`, if it holds them for `root` and none of their sources changed. */
function cachedFacts(cacheFile: string, root: string): GitFacts | undefined {
  let cached: Partial<CachedFacts>;
  try {
    cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as Partial<CachedFacts>;
  } catch {
    return undefined;
  }
  if (
    cached.format !== 1 ||
    cached.root !== root ||
    cached.environment !== environmentKey() ||
    !Array.isArray(cached.sources) ||
    typeof cached.gitDir !== 'string'
  )
    return undefined;
  for (const [path, identity] of cached.sources as readonly (readonly [string, string | null])[])
    if (identityOf(path) !== identity) return undefined;
  return cached as CachedFacts;
}

/** Files git may read config from besides those it names (absent ones count: one may appear). */
function configCandidates(gitDir: string): string[] {
  const home = process.env['HOME'] ?? '';
  const xdg = process.env['XDG_CONFIG_HOME'] || join(home, '.config');
  return [
    process.env['GIT_CONFIG_SYSTEM'] ?? '/etc/gitconfig',
    process.env['GIT_CONFIG_GLOBAL'] ?? join(home, '.gitconfig'),
    join(xdg, 'git', 'config'),
    join(gitDir, 'config'),
    join(gitDir, 'config.worktree'),
    join(gitDir, 'commondir'),
    join(gitDir, 'objects', 'info', 'alternates'),
  ];
}

/** The `.git` (folder or file) git finds from `root`, as git walks up. */
function dotGitOf(root: string): string | undefined {
  for (let dir = root; ; dir = dirname(dir)) {
    const candidate = join(dir, '.git');
    if (statSync(candidate, { throwIfNoEntry: false }) !== undefined) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * The facts of the repository at `root`: from `cacheFile` when still true,
 * else from git (and saved there). Undefined when git cannot tell (not a
 * repository, git missing): the caller's git processes then say why.
 */
export async function gitFacts(
  root: string,
  cacheFile: string,
  runGit: RunGit,
): Promise<GitFacts | undefined> {
  const cached = cachedFacts(cacheFile, root);
  if (cached) return cached;
  const dotGit = dotGitOf(root);
  const before = new Map<string, string | null>();
  if (dotGit) before.set(dotGit, identityOf(dotGit));
  // Identities taken before git reads the files: a change after this is seen next time.
  const [where, config] = await Promise.all([
    runGit(['rev-parse', '--absolute-git-dir', '--git-common-dir']),
    runGit(['config', '--list', '--show-origin', '-z']),
  ]);
  if (where.code !== 0 || config.code !== 0) return undefined;
  const [gitDirLine = '', commonLine = ''] = where.stdout.split('\n');
  const gitDir = gitDirLine.trim();
  let commonDir = resolve(root, commonLine.trim());
  try {
    // git names its own folder by its real path; the common one comes relative to `root`.
    commonDir = realpathSync(commonDir);
  } catch {
    // Not there: the comparison below leaves the work to git.
  }
  for (const path of configCandidates(gitDir)) before.set(path, identityOf(path));

  // "file:PATH\0KEY\nVALUE\0" per entry; later entries override earlier ones.
  const values = new Map<string, string>();
  const sources = new Set<string>();
  const fields = config.stdout.split('\0');
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const origin = fields[i]!;
    const entry = fields[i + 1]!;
    if (origin.startsWith('file:')) {
      const path = origin.slice('file:'.length);
      sources.add(isAbsolute(path) ? path : resolve(root, path));
    }
    const newline = entry.indexOf('\n');
    const key = (newline < 0 ? entry : entry.slice(0, newline)).toLowerCase();
    values.set(key, newline < 0 ? 'true' : entry.slice(newline + 1));
  }
  // A config that depends on the branch checked out changes when HEAD does.
  if ([...values.keys()].some((key) => key.startsWith('includeif.onbranch:')))
    sources.add(join(gitDir, 'HEAD'));
  for (const path of sources) if (!before.has(path)) before.set(path, identityOf(path));

  const facts: CachedFacts = {
    format: 1,
    root,
    environment: environmentKey(),
    sources: [...before],
    gitDir,
    unusual: unusualIn(gitDir, commonDir, values, before),
    userName: values.get('user.name') ?? '',
    userEmail: values.get('user.email') ?? '',
    logAllRefUpdates: (values.get('core.logallrefupdates') ?? '').toLowerCase() === 'always',
  };
  writeCache('the git facts', () => {
    writeFileAtomic(cacheFile, `${JSON.stringify(facts)}\n`);
  });
  return facts;
}

/** Why Sluice should leave objects and refs to git here, if anything. */
function unusualIn(
  gitDir: string,
  commonDir: string,
  values: ReadonlyMap<string, string>,
  sources: ReadonlyMap<string, string | null>,
): string | undefined {
  if (gitDir === '' || !isAbsolute(gitDir)) return 'git did not name its folder';
  // A linked worktree shares refs and objects with its main repository, elsewhere.
  if (commonDir !== gitDir) return 'a linked worktree (refs live in its common folder)';
  for (const key of values.keys())
    // objectFormat=sha256, refStorage=reftable, partialClone, …: git knows what they mean.
    if (key.startsWith('extensions.')) return `the repository sets ${key}`;
  const version = Number(values.get('core.repositoryformatversion') ?? '0');
  if (version !== 0 && version !== 1) return `repository format version ${String(version)}`;
  const shared = (values.get('core.sharedrepository') ?? 'false').toLowerCase();
  // Shared repositories give objects and refs group or other permissions git works out.
  if (!['false', 'umask', '0', 'no', 'off', ''].includes(shared)) return 'core.sharedRepository is set';
  const encoding = (values.get('i18n.commitencoding') ?? 'utf-8').toLowerCase();
  if (encoding !== 'utf-8' && encoding !== 'utf8') return 'i18n.commitEncoding is not UTF-8';
  if (sources.get(join(gitDir, 'objects', 'info', 'alternates'))) return 'objects in alternates';
  if (sources.get(join(gitDir, 'commondir'))) return 'a linked worktree (commondir)';
  return undefined;
}
