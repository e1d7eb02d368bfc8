// Paths a stage may never write and a deploy may never fill: the repository
// (.git), Sluice's own store (.sluice), the manifest, the params file, the
// datasets, a stage's own inputs, and (for deploy folders) the workspace
// itself and its source folders. One set of rules, used twice: by the
// manifest's validation (diagnostics, see manifest/protection.ts) and by the
// runner and deploy just before they clear, move or write anything (see
// manifest/protectedRuntime.ts), so that neither a cached validation nor a manifest
// edited after it can get a hostile path past them.
//
// Paths are compared in a folded form, conservatively: case is ignored and
// Windows' trailing dots and spaces, NTFS's `GIT~1` short name and the code
// points HFS+ ignores are dropped, the way git itself refuses `.Git` or
// `.git.` as a path component. A manifest is shared between machines: what
// is harmless on Linux names the repository on macOS or Windows.
import { posix } from 'node:path';

/** What a protected path is, as messages, error data and tests name it. */
export type ProtectedKind =
  | 'git'
  | 'sluice'
  | 'workspace'
  | 'manifest'
  | 'params'
  | 'dataset'
  | 'dep'
  | 'source'
  | 'output'
  | 'tracked';

/** How a written path meets a protected one. */
export type Relation = 'is' | 'inside' | 'contains';

export interface Violation {
  readonly kind: ProtectedKind;
  readonly relation: Relation;
  /** The protected path as the rules name it ('' for the workspace). */
  readonly protectedPath: string;
  /** The dataset's or stage's name, when the protected path is one of theirs. */
  readonly owner?: string | undefined;
}

/** What the rules protect in one workspace: every path workspace-relative, as the manifest writes it. */
export interface ProtectedSet {
  /** The manifest's path relative to the workspace (normally `sluice.yaml`). */
  readonly manifest: string;
  /** The params file, and where a link makes it lead (empty: the manifest names none). */
  readonly params: readonly string[];
  readonly datasets: readonly { readonly name: string; readonly path: string }[];
}

/** The extra paths a deploy folder must keep away from. */
export interface DeployProtectedSet extends ProtectedSet {
  /** Every stage's deps: they and their folders are source folders. */
  readonly deps: readonly string[];
  /** Every stage's outs and metrics: a run clears them. */
  readonly outputs: readonly { readonly stage: string; readonly path: string }[];
}

const GIT_DIR = '.git';
const SLUICE_DIR = '.sluice';

/** Code points HFS+ ignores in names (git's is_hfs_dotgit list), so `.g\u200cit` is `.git` there. */
const IGNORED_CODE_POINTS = /[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]/g;

/**
 * The folded form of a workspace-relative path, or undefined when it leaves
 * the workspace (`..`, absolute): those are refused by the workspace rule
 * (`path-escapes-workspace`), not here. '' is the workspace itself.
 */
export function foldPath(path: string): string | undefined {
  // Each protected path is compared with every output: fold each spelling once.
  if (folded.has(path)) return folded.get(path);
  if (folded.size >= FOLD_CACHE_SIZE) folded.clear();
  const result = foldUncached(path);
  folded.set(path, result);
  return result;
}

const FOLD_CACHE_SIZE = 100_000;
const folded = new Map<string, string | undefined>();

/**
 * Lowercase ASCII names joined by single dots (`out/p0/s1.txt`): already in
 * folded form. Most manifest paths are; no segment is `.`, `..` or hidden.
 */
const FOLDED = /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*(?:\/[a-z0-9_-]+(?:\.[a-z0-9_-]+)*)*$/;

function foldUncached(path: string): string | undefined {
  if (FOLDED.test(path)) return path;
  const slashed = path.replace(/\\/g, '/');
  if (slashed.startsWith('/') || /^[A-Za-z]:/.test(slashed) || slashed.startsWith('~')) return undefined;
  const normalized = posix.normalize(slashed);
  if (normalized === '..' || normalized.startsWith('../')) return undefined;
  const segments: string[] = [];
  for (const segment of normalized.split('/')) {
    if (segment === '' || segment === '.') continue;
    segments.push(foldSegment(segment));
  }
  return segments.join('/');
}

/**
 * `path` as a file system would open it, case kept: normalized, without the
 * trailing dots and spaces Windows drops ('' for the workspace; undefined
 * when it leaves it). What git is asked about.
 */
export function plainPath(path: string): string | undefined {
  if (foldPath(path) === undefined) return undefined;
  return posix
    .normalize(path.replace(/\\/g, '/'))
    .split('/')
    .filter((segment) => segment !== '' && segment !== '.')
    .map((segment) => (/^\.+$/.test(segment) ? segment : segment.replace(/[. ]+$/, '')))
    .join('/');
}

function foldSegment(segment: string): string {
  let folded = segment.normalize('NFC').replace(IGNORED_CODE_POINTS, '').toLowerCase();
  // Windows drops trailing dots and spaces: `.git.` and `.git ` open `.git`.
  if (!/^\.+$/.test(folded)) folded = folded.replace(/[. ]+$/, '');
  // NTFS's short name of `.git`.
  if (folded === 'git~1') folded = GIT_DIR;
  return folded;
}

/** How `path` meets `protectedPath` (both folded), or undefined when they do not overlap. */
export function relationOf(path: string, protectedPath: string): Relation | undefined {
  if (path === protectedPath) return 'is';
  if (protectedPath === '' || startsWithFolder(path, protectedPath)) return 'inside';
  if (path === '' || startsWithFolder(protectedPath, path)) return 'contains';
  return undefined;
}

/** `path.startsWith(folder + '/')`, without making that string: a run asks it of every output, many times. */
function startsWithFolder(path: string, folder: string): boolean {
  return path.length > folder.length && path.charCodeAt(folder.length) === SLASH && path.startsWith(folder);
}

const SLASH = 0x2f;

/** True when some component of a folded path is `.git`: a repository, at the top or nested. */
function gitComponent(folded: string): string | undefined {
  if (!folded.includes(GIT_DIR)) return undefined;
  const segments = folded.split('/');
  const at = segments.indexOf(GIT_DIR);
  return at === -1 ? undefined : segments.slice(0, at + 1).join('/');
}

/**
 * The rules every written path obeys, stage output or deploy folder: not the
 * workspace itself, nothing in or holding a `.git`, `.sluice/`, the manifest,
 * the params file or a dataset.
 */
function commonViolation(folded: string, set: ProtectedSet): Violation | undefined {
  if (folded === '') return { kind: 'workspace', relation: 'is', protectedPath: '' };
  const git = gitComponent(folded);
  if (git !== undefined) {
    return { kind: 'git', relation: git === folded ? 'is' : 'inside', protectedPath: git };
  }
  for (const check of checksOf(set)) {
    const relation = relationOf(folded, check.folded);
    if (relation !== undefined)
      return { kind: check.kind, relation, protectedPath: check.path, owner: check.owner };
  }
  return undefined;
}

interface Check {
  readonly kind: ProtectedKind;
  readonly path: string;
  readonly owner?: string;
  /** The path folded: what a written path is compared with. */
  readonly folded: string;
}

/**
 * A set's checks, in the order they are tried, folded once per set: a run
 * asks of every output. Paths that can protect nothing (leaving the
 * workspace, or the workspace itself) are left out, as `against` would.
 */
const checkLists = new WeakMap<ProtectedSet, readonly Check[]>();

function checksOf(set: ProtectedSet): readonly Check[] {
  let checks = checkLists.get(set);
  if (checks === undefined) {
    const all: Omit<Check, 'folded'>[] = [
      { kind: 'sluice', path: SLUICE_DIR },
      { kind: 'manifest', path: set.manifest },
      ...set.params.map((path) => ({ kind: 'params' as const, path })),
      ...set.datasets.map((dataset) => ({
        kind: 'dataset' as const,
        path: dataset.path,
        owner: dataset.name,
      })),
    ];
    checks = all.flatMap((check) => {
      const folded = foldPath(check.path);
      return folded === undefined || folded === '' ? [] : [{ ...check, folded }];
    });
    checkLists.set(set, checks);
  }
  return checks;
}

function against(folded: string, kind: ProtectedKind, path: string, owner?: string): Violation | undefined {
  const protectedPath = foldPath(path);
  if (protectedPath === undefined || (protectedPath === '' && kind !== 'workspace')) return undefined;
  const relation = relationOf(folded, protectedPath);
  return relation === undefined ? undefined : { kind, relation, protectedPath: path, owner };
}

/**
 * Why a stage may not write `path`, or undefined when it may. `ownDeps` are
 * the stage's own deps (and its datasets' paths are in `set`): writing them
 * would clear its own inputs before it runs.
 */
export function outputViolation(
  path: string,
  set: ProtectedSet,
  ownDeps: readonly string[],
  stage?: string,
): Violation | undefined {
  const folded = foldPath(path);
  if (folded === undefined) return undefined;
  const common = commonViolation(folded, set);
  if (common) return common;
  for (const dep of ownDeps) {
    const violation = against(folded, 'dep', dep, stage);
    if (violation) return violation;
  }
  return undefined;
}

/**
 * Why an environment may not deploy into `path`, or undefined when it may.
 * Besides the common rules: no source folder (one holding a dep, or a dep
 * itself), and no stage's output, which a run clears.
 */
export function deployViolation(path: string, set: DeployProtectedSet): Violation | undefined {
  const folded = foldPath(path);
  if (folded === undefined) return undefined;
  const common = commonViolation(folded, set);
  if (common) return common;
  for (const dep of set.deps) {
    const depPath = foldPath(dep);
    if (depPath === undefined || depPath === '') continue;
    const violation = against(folded, 'dep', dep);
    if (violation) return violation;
    const folder = posix.dirname(dep.replace(/\\/g, '/'));
    const source = folder === '.' ? undefined : against(folded, 'source', folder);
    if (source) return source;
  }
  for (const output of set.outputs) {
    const violation = against(folded, 'output', output.path, output.stage);
    if (violation) return violation;
  }
  return undefined;
}

const WHAT: Record<ProtectedKind, (v: Violation) => string> = {
  git: (v) => `\`${v.protectedPath}\`, a git repository`,
  sluice: () => "`.sluice`, Sluice's cache and records",
  workspace: () => 'the workspace itself',
  manifest: (v) => `the manifest \`${v.protectedPath}\``,
  params: (v) => `the params file \`${v.protectedPath}\``,
  dataset: (v) => `dataset \`${v.owner}\` (\`${v.protectedPath}\`)`,
  dep: (v) =>
    `\`${v.protectedPath}\`, a dep${v.owner === undefined ? ' of a stage' : ` of stage \`${v.owner}\``}`,
  source: (v) => `\`${v.protectedPath}\`, a source folder (it holds a stage's deps)`,
  output: (v) => `\`${v.protectedPath}\`, an output of stage \`${v.owner}\``,
  tracked: (v) => `\`${v.protectedPath}\`, which git tracks`,
};

const RELATION: Record<Relation, string> = { is: 'is', inside: 'lies inside', contains: 'contains' };

/** "is `.git/hooks`, …": how the path meets what it must not touch. */
export function describeViolation(violation: Violation): string {
  if (violation.kind === 'workspace') return 'is the workspace itself';
  return `${RELATION[violation.relation]} ${WHAT[violation.kind](violation)}`;
}

/** Why the rule exists and what to do, for a stage output. */
export function outputRemedy(violation: Violation): string {
  switch (violation.kind) {
    case 'dep':
      return 'Sluice clears a stage’s outputs before it runs, so the stage would destroy its own input: write the result to another path.';
    case 'dataset':
      return 'datasets are inputs that snapshots version: write the result to another path.';
    default:
      return 'Sluice clears or moves a stage’s outputs before it runs, which would damage the repository or the workspace: write the result to a folder of its own, such as `out/`.';
  }
}

/** Why the rule exists and what to do, for a deploy folder. */
export function deployRemedy(): string {
  return 'A deploy folder receives every release’s files and must be a folder of its own, such as `deploy/production`, that nothing else (git, a dataset, a stage, your code) keeps files in.';
}
