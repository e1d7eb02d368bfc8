// The protected-path rules (protectedPaths.ts) applied at the moment of
// writing, independently of validation: the runner calls this before it
// clears, moves or restores any output, and deploy before it writes a deploy
// folder. Here the disk is asked too: a path is also judged by where it
// really leads (a link to `.git` is `.git`), an output folder holding a
// nested `.git` is a repository, and a deploy folder git tracks anything in
// is someone's code.
import { existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { SluiceError } from '../errors';
import type { Manifest } from './model';
import { RealPaths } from '../paths';
import {
  deployRemedy,
  deployViolation,
  describeViolation,
  foldPath,
  outputRemedy,
  outputViolation,
  plainPath,
  type ProtectedSet,
  type Violation,
} from '../paths/protectedPaths';
import { deployProtectedSet, protectedSetOf } from './protectedSets';

/** What the runner knows of a stage: its id, the paths it reads and the paths it writes. */
export interface WritingStage {
  readonly id: string;
  readonly deps: readonly string[];
  readonly outs: readonly string[];
}

/** The protected set of a manifest, with each path also in the form its links resolve to. */
function resolvedSetOf(manifest: Manifest, manifestPath: string, real: RealPaths): ProtectedSet {
  const set = protectedSetOf(manifest, manifestPath);
  const datasets = [...set.datasets];
  for (const dataset of set.datasets) {
    const resolved = real.of(dataset.path);
    if (resolved) datasets.push({ name: dataset.name, path: resolved });
  }
  return { ...set, params: withLinks(set.params, real), datasets };
}

function withLinks(paths: readonly string[], real: RealPaths): string[] {
  const all = [...paths];
  for (const path of paths) {
    const resolved = real.of(path);
    if (resolved && foldPath(resolved) !== foldPath(path)) all.push(resolved);
  }
  return all;
}

/**
 * Refuses, before anything is cleared or moved, a run in which some stage
 * writes a protected path (outputViolation), lexically or through a link, or
 * an output folder that holds a repository of its own.
 */
export function refuseProtectedOutputs(
  root: string,
  manifest: Manifest,
  stages: readonly WritingStage[],
  manifestPath = 'sluice.yaml',
): void {
  const real = new RealPaths(root);
  const set = resolvedSetOf(manifest, manifestPath, real);
  for (const stage of stages) {
    const deps = withLinks(stage.deps, real);
    for (const output of stage.outs) {
      let violation = outputViolation(output, set, deps, stage.id);
      let throughLink = false;
      const resolved = violation ? undefined : real.of(output);
      if (!violation && resolved !== undefined && foldPath(resolved) !== foldPath(output)) {
        violation = outputViolation(resolved, set, deps, stage.id);
        throughLink = violation !== undefined;
      }
      if (!violation && !real.isNoFolder(output) && holdsRepository(root, output)) {
        violation = { kind: 'git', relation: 'contains', protectedPath: `${output}/.git` };
      }
      if (violation) throw outputRefusal(stage.id, output, violation, throughLink ? resolved : undefined);
    }
  }
}

function holdsRepository(root: string, output: string): boolean {
  const path = join(root, output);
  // Only a folder can: with a trailing slash, access(2) says whether it is one (through a link
  // too), with neither an exception nor a Stats object. A run asks this of every output, and
  // most are files.
  if (!existsSync(`${path}/`)) return false;
  try {
    return lstatSync(join(path, '.git'), { throwIfNoEntry: false }) !== undefined;
  } catch {
    return false; // gone or replaced by a file meanwhile
  }
}

function outputRefusal(
  stage: string,
  output: string,
  violation: Violation,
  linkTarget: string | undefined,
): SluiceError {
  const via = linkTarget === undefined ? '' : ` (through a link, it leads to \`${linkTarget}\`)`;
  return new SluiceError(
    `Stage ${stage} may not write \`${output}\`${via}: it ${describeViolation(violation)}. Nothing was cleared or moved.`,
    'manifest',
    `${capitalized(outputRemedy(violation))} Then run \`sluice validate\`.`,
    {
      code: 'protected-output',
      data: {
        stage,
        output,
        protected: violation.protectedPath,
        kind: violation.kind,
        relation: violation.relation,
        ...(linkTarget === undefined ? {} : { resolved: linkTarget }),
      },
    },
  );
}

/** What deploy asks git: the paths it tracks under a workspace-relative folder. */
export interface TrackedPaths {
  trackedPaths(path: string): Promise<readonly string[]>;
}

/**
 * The rules that need no manifest (.git, .sluice, the manifest, the
 * workspace itself), for the functions that clear or restore outputs: a last
 * guard should anything reach them without refuseProtectedOutputs.
 */
export function refuseRepositoryOutputs(root: string, outs: readonly string[]): void {
  refuseProtectedOutputs(root, EMPTY_MANIFEST, [{ id: '(unknown stage)', deps: [], outs }]);
}

const EMPTY_MANIFEST: Manifest = {
  version: undefined,
  name: undefined,
  description: undefined,
  params: undefined,
  varsFiles: [],
  datasets: new Map(),
  pipelines: new Map(),
  environments: new Map(),
  remotes: new Map(),
  datasetsSection: undefined,
};

/** What deploy knows of its workspace. */
export interface DeployingWorkspace {
  readonly root: string;
  readonly manifest: Manifest;
  readonly git: TrackedPaths;
}

/**
 * Refuses to write the deploy folder of `environment` when it is a protected
 * path (deployViolation), lexically or through a link, or holds anything git
 * tracks. An environment that deploys nowhere passes.
 */
export async function refuseProtectedDeployFolder(
  workspace: DeployingWorkspace,
  environment: string,
): Promise<void> {
  const path = workspace.manifest.environments.get(environment)?.deploy?.path?.value;
  // A path leaving the workspace is deployFolder's to refuse, with its own words.
  if (path === undefined || foldPath(path) === undefined) return;
  const { root, manifest, git } = workspace;
  const set = deployProtectedSet(manifest);
  let violation = deployViolation(path, set);
  let resolved: string | undefined;
  if (!violation) {
    resolved = new RealPaths(root).of(path);
    if (resolved !== undefined && foldPath(resolved) !== foldPath(path))
      violation = deployViolation(resolved, set);
    else resolved = undefined;
  }
  if (!violation) {
    const tracked = await git.trackedPaths(resolved ?? plainPath(path) ?? path);
    if (tracked.length > 0) violation = { kind: 'tracked', relation: 'contains', protectedPath: tracked[0]! };
  }
  if (!violation) return;
  const via = resolved !== undefined ? ` (through a link, it leads to \`${resolved}\`)` : '';
  throw new SluiceError(
    `Environment ${environment} may not deploy into \`${path}\`${via}: it ${describeViolation(violation)}. Nothing was written.`,
    'manifest',
    `${deployRemedy()} Change \`deploy.path\` in sluice.yaml.`,
    {
      code: 'protected-deploy-path',
      data: {
        environment,
        path,
        protected: violation.protectedPath,
        kind: violation.kind,
        relation: violation.relation,
        ...(resolved === undefined ? {} : { resolved }),
      },
    },
  );
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
