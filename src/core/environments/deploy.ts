// Deploying a release into an environment: write releases/<id>/ under the
// environment's deploy.path, record the deployment (compare-and-swap), swap
// `current` with rename(2), then run the deploy hook and the health check;
// when either fails, roll back at once and record why. Order of writes: the
// release folder, then the history, then the link, so a crash leaves `current`
// on a complete release; the next deployment puts it back in line with the history.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readlinkSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { isAbsolute, join, normalize, relative, sep } from 'node:path';
import { notFound, SluiceError } from '../errors';
import { shortId } from '../format';
import { refuseProtectedDeployFolder } from '../manifest/protectedRuntime';
import type { EnvironmentDecl } from '../manifest/model';
import { newRunId } from '../pipelines/logs';
import { describeExit, runCommand } from '../process/runCommand';
import type { Workspace } from '../workspace';
import { appendDeployment, readHead, type DeploymentAction, type RecordedDeployment } from './history';
import { linkEscapes, linkLeadsOutside, releaseLayout, writeLayout } from './materialize';
import { Placer, type PlacementMethod } from './placement';
import { readRelease, type Release } from './releases';

export const CURRENT_LINK = 'current';
export const RELEASES_FOLDER = 'releases';

export interface DeployResult {
  readonly environment: string;
  /** What is live after the command. */
  readonly release: string;
  /** What was live before it (null: nothing). */
  readonly previous: string | null;
  readonly action: DeploymentAction;
  /** Set when the hook or the health check failed. */
  readonly failure: string | undefined;
  /** True when the failure rolled the environment back to `previous`. */
  readonly rolledBack: boolean;
  readonly placement: PlacementMethod | undefined;
  /** Why, as recorded in the history (null: no reason given). */
  readonly reason: string | null;
}

export function requireEnvironment(workspace: Workspace, name: string): EnvironmentDecl {
  const environment = workspace.manifest.environments.get(name);
  if (!environment) {
    const known = [...workspace.manifest.environments.keys()];
    throw notFound(
      'environment',
      name,
      `Unknown environment '${name}'.`,
      known.length > 0
        ? `Environments: ${known.join(', ')}.`
        : 'Declare one under `environments:` in sluice.yaml.',
      { data: { environment: name, known } },
    );
  }
  return environment;
}

/** The absolute deploy folder of an environment, or undefined when it deploys nowhere. */
export function deployFolder(workspace: Workspace, name: string): string | undefined {
  const path = requireEnvironment(workspace, name).deploy?.path?.value;
  if (path === undefined) return undefined;
  const absolute = normalize(join(workspace.root, path));
  const inside = relative(workspace.root, absolute);
  if (isAbsolute(path) || inside === '' || inside === '..' || inside.startsWith(`..${sep}`)) {
    throw new SluiceError(
      `deploy.path '${path}' of environment ${name} leaves the workspace.`,
      'manifest',
      'Give a folder inside the workspace.',
    );
  }
  return absolute;
}

/** The release `current` points at in a deploy folder, if any. */
export function linkedRelease(folder: string): string | undefined {
  try {
    const target = readlinkSync(join(folder, CURRENT_LINK));
    const prefix = `${RELEASES_FOLDER}/`;
    return target.startsWith(prefix) ? target.slice(prefix.length) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes releases/<id>/ (once: a folder there is complete, being renamed into
 * place whole, so deploying a release already present does nothing). The
 * outputs are merged first (overlapping declarations materialise each file
 * once); a link leading out of the release is refused before anything is
 * written, and checked again on disk (through other links) before the rename.
 * A failure leaves nothing behind but what was there.
 */
export function materializeRelease(
  workspace: Workspace,
  folder: string,
  release: Release,
  placer: Placer,
): void {
  const layout = releaseLayout(release.id, release.outputs);
  const final = join(folder, RELEASES_FOLDER, release.id);
  if (existsSync(final)) return;
  for (const entry of layout)
    if (entry.type === 'file' && !workspace.store.has(entry.sha256)) {
      throw new SluiceError(
        `Release ${shortId(release.id)} needs a blob the cache does not have (${entry.path}).`,
        'failed',
        'Run `sluice fsck` to see what is missing.',
        { code: 'release-blob-missing', data: { release: release.id, path: entry.path } },
      );
    }
  const partial = join(
    folder,
    RELEASES_FOLDER,
    `.partial-${shortId(release.id)}-${randomBytes(4).toString('hex')}`,
  );
  try {
    mkdirSync(partial, { recursive: true });
    writeLayout(partial, layout, placer);
    for (const entry of layout)
      if (entry.type === 'link' && linkLeadsOutside(partial, entry.path))
        throw linkEscapes(release.id, entry.path, entry.target);
    try {
      renameSync(partial, final);
    } catch (error) {
      // Another deployment wrote the same release first: theirs is as good.
      if (!existsSync(final)) throw error;
    }
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
}

/** Points `current` at releases/<id> by renaming a fresh link over it: never a moment without one. */
export function swapCurrent(folder: string, id: string): void {
  const fresh = join(folder, `.${CURRENT_LINK}-${randomBytes(6).toString('hex')}`);
  symlinkSync(`${RELEASES_FOLDER}/${id}`, fresh);
  try {
    renameSync(fresh, join(folder, CURRENT_LINK));
  } catch (error) {
    rmSync(fresh, { force: true });
    throw error;
  }
}

/**
 * Makes `current` show what the history says is live. Called after every
 * swap: of two deployments racing, the last to swap leaves the history's head.
 */
export async function alignCurrent(workspace: Workspace, name: string, placer: Placer): Promise<void> {
  await refuseProtectedDeployFolder(workspace, name);
  const folder = deployFolder(workspace, name);
  if (folder === undefined) return;
  for (let attempt = 0; attempt < 5; attempt++) {
    const head = await readHead(workspace.git, name);
    if (head === undefined || linkedRelease(folder) === head.release) return;
    materializeRelease(workspace, folder, await readRelease(workspace.git, head.release), placer);
    swapCurrent(folder, head.release);
  }
}

/** An environment whose `current` does not show the release its history says is live. */
export interface MisalignedEnvironment {
  readonly environment: string;
  /** The absolute deploy folder. */
  readonly folder: string;
  /** The release the history says is live. */
  readonly live: string;
  /** The release `current` points at (null: no link, or one not into releases/). */
  readonly linked: string | null;
}

/**
 * Environments whose `current` is out of line with their history (a deploy
 * killed between recording and swapping, or a hand edit). Reads only; for
 * fsck. Environments without a deploy folder or a history are never listed.
 */
export async function findMisalignedEnvironments(workspace: Workspace): Promise<MisalignedEnvironment[]> {
  const found: MisalignedEnvironment[] = [];
  for (const name of workspace.manifest.environments.keys()) {
    let folder: string | undefined;
    try {
      folder = deployFolder(workspace, name);
    } catch {
      continue; // a deploy path that leaves the workspace is the manifest's diagnostic, not ours
    }
    if (folder === undefined) continue;
    let head: RecordedDeployment | undefined;
    try {
      head = await readHead(workspace.git, name);
    } catch (error) {
      // A damaged history is fsck's damaged-ref finding; which release is live cannot be told from it.
      if (error instanceof SluiceError && error.code === 'damaged-ref') continue;
      throw error;
    }
    if (head === undefined) continue;
    const linked = linkedRelease(folder) ?? null;
    if (linked !== head.release) found.push({ environment: name, folder, live: head.release, linked });
  }
  return found;
}

export interface RepairReport {
  /** Environments whose `current` was swapped to the history's live release. */
  readonly repaired: readonly MisalignedEnvironment[];
  /** Environments that could not be repaired, and why (the live release cannot be materialised). */
  readonly failed: readonly {
    readonly environment: string;
    readonly code: string;
    readonly message: string;
  }[];
}

/**
 * Puts `current` back in line with the history, by the same rename swap a
 * deploy uses, for `names` (default: every environment). Never throws for one
 * environment's trouble: a live release that cannot be written (a missing
 * blob, a link leading out) is reported, and every later command still works.
 */
export async function repairEnvironments(
  workspace: Workspace,
  names?: readonly string[],
): Promise<RepairReport> {
  const wanted = names === undefined ? undefined : new Set(names);
  const repaired: MisalignedEnvironment[] = [];
  const failed: { environment: string; code: string; message: string }[] = [];
  const placer = new Placer(workspace.store);
  for (const misaligned of await findMisalignedEnvironments(workspace)) {
    if (wanted !== undefined && !wanted.has(misaligned.environment)) continue;
    try {
      await alignCurrent(workspace, misaligned.environment, placer);
      repaired.push(misaligned);
    } catch (error) {
      if (!(error instanceof SluiceError)) throw error;
      failed.push({ environment: misaligned.environment, code: error.code, message: error.message });
    }
  }
  return { repaired, failed };
}

export interface DeployOptions {
  readonly action: DeploymentAction;
  /** The history's head the caller judged against (undefined: the environment is new). */
  readonly expected: RecordedDeployment | undefined;
  readonly reason: string | null;
  readonly signal?: AbortSignal | undefined;
  /** Live lines of the hook and the health check. */
  readonly onOutput?: ((text: string) => void) | undefined;
}

export async function deployRelease(
  workspace: Workspace,
  name: string,
  release: Release,
  options: DeployOptions,
): Promise<DeployResult> {
  const environment = requireEnvironment(workspace, name);
  await refuseProtectedDeployFolder(workspace, name);
  const folder = deployFolder(workspace, name);
  const placer = new Placer(workspace.store);
  const actor = await workspace.git.actor();
  if (folder !== undefined) materializeRelease(workspace, folder, release, placer);
  const commit = await appendDeployment(
    workspace.git,
    name,
    {
      release: release.id,
      action: options.action,
      time: new Date().toISOString(),
      actor,
      reason: options.reason,
    },
    options.expected?.commit,
  );
  const previous = options.expected?.release ?? null;
  const result = {
    environment: name,
    release: release.id,
    previous,
    action: options.action,
    failure: undefined,
    rolledBack: false,
    placement: placer.placement,
    reason: options.reason,
  };
  if (folder === undefined) return result;
  swapCurrent(folder, release.id);
  await alignCurrent(workspace, name, placer);

  const failure = await runHooks(workspace, name, environment, release, folder, options);
  if (failure === undefined) return { ...result, placement: placer.placement };
  const mayRollBack =
    environment.health?.rollbackOnFailure !== false &&
    options.action !== 'rollback' &&
    options.action !== 'auto-rollback';
  if (!mayRollBack || previous === null) return { ...result, failure, placement: placer.placement };
  const before = await readRelease(workspace.git, previous);
  materializeRelease(workspace, folder, before, placer);
  await appendDeployment(
    workspace.git,
    name,
    { release: previous, action: 'auto-rollback', time: new Date().toISOString(), actor, reason: failure },
    commit,
  );
  swapCurrent(folder, previous);
  await alignCurrent(workspace, name, placer);
  // The hook hears of the release live again; its own failure now changes nothing more.
  await runHook(workspace, name, environment.deploy?.run?.value, 'deploy', before, folder, options);
  return { ...result, release: previous, failure, rolledBack: true, placement: placer.placement };
}

/** Runs deploy.run, then health.run; returns why one failed, or undefined. */
async function runHooks(
  workspace: Workspace,
  name: string,
  environment: EnvironmentDecl,
  release: Release,
  folder: string,
  options: DeployOptions,
): Promise<string | undefined> {
  const hook = await runHook(
    workspace,
    name,
    environment.deploy?.run?.value,
    'deploy',
    release,
    folder,
    options,
  );
  if (hook !== undefined) return hook;
  const timeout = environment.health?.timeout;
  return runHook(
    workspace,
    name,
    environment.health?.run?.value,
    'health',
    release,
    folder,
    options,
    timeout,
  );
}

/**
 * What a command acting on a live release is told (deploy hooks, the health
 * check, monitor checks): the environment, the release, its folder (empty when
 * the environment deploys nowhere), its code commit and the workspace.
 */
export function releaseVariables(
  workspace: Workspace,
  name: string,
  release: Release,
  folder: string | undefined,
): Record<string, string> {
  return {
    SLUICE_ENV: name,
    SLUICE_RELEASE: release.id,
    SLUICE_RELEASE_DIR: folder === undefined ? '' : join(folder, RELEASES_FOLDER, release.id),
    SLUICE_CODE_COMMIT: release.code,
    SLUICE_WORKSPACE: workspace.root,
  };
}

async function runHook(
  workspace: Workspace,
  name: string,
  command: string | undefined,
  kind: 'deploy' | 'health',
  release: Release,
  folder: string,
  options: DeployOptions,
  timeoutSeconds?: number,
): Promise<string | undefined> {
  if (command === undefined) return undefined;
  const result = await runCommand({
    command,
    cwd: workspace.root,
    env: releaseVariables(workspace, name, release, folder),
    logFile: join(workspace.sluiceDir, 'logs', '@environments', name, `${newRunId()}-${kind}.log`),
    ...(options.onOutput ? { onOutput: options.onOutput } : {}),
    signal: options.signal,
    timeoutMs: timeoutSeconds === undefined ? undefined : timeoutSeconds * 1000,
  });
  if (result.exitCode === 0 && !result.timedOut && !result.cancelled) return undefined;
  const what = kind === 'deploy' ? 'the deploy hook' : 'the health check';
  return `${what} (${command}) failed: ${describeExit(result)}`;
}
