// What is live where: the declared environments in promotion order, each with
// its history and the release live in it. `sluice envs` prints it; the editor's
// Environments view and status bar show it. One environment whose history
// cannot be read does not hide the others.
import { asSluiceError, describeError, type SluiceError } from '../errors';
import type { Manifest } from '../manifest/model';
import type { Workspace } from '../workspace';
import { deployFolder } from './deploy';
import { readHistory, type RecordedDeployment } from './history';
import { readReleases, type Release } from './releases';

/** The developer's own environment: `from: workspace` names it. */
export const WORKSPACE_ENVIRONMENT = 'workspace';

export interface DeclaredEnvironment {
  readonly name: string;
  /** `workspace`, another environment, or undefined when the manifest gives none. */
  readonly from: string | undefined;
  readonly description: string | undefined;
  /** True when no environment is promoted from this one (production): changing it needs a confirmation. */
  readonly final: boolean;
}

export type LiveHistory =
  | {
      readonly kind: 'read';
      /** Newest first; the first is live. */
      readonly deployments: readonly RecordedDeployment[];
      /** The release of the first deployment. */
      readonly live: Release | undefined;
    }
  | {
      readonly kind: 'failed';
      readonly message: string;
      /** The engine's error, when it was one (a damaged history: `damaged-ref`). */
      readonly error?: SluiceError | undefined;
    };

export interface EnvironmentLive extends DeclaredEnvironment {
  readonly history: LiveHistory;
}

/**
 * Environments in promotion order: those fed from the workspace first, then
 * those fed from them, and so on; ties keep the manifest's order, and
 * environments no chain reaches (a missing or unknown `from`, a cycle) come last.
 */
export function promotionOrder(manifest: Manifest): string[] {
  const declared = [...manifest.environments];
  const depth = new Map<string, number>();
  for (let level = 0, frontier = [WORKSPACE_ENVIRONMENT]; frontier.length > 0; level++) {
    const next: string[] = [];
    for (const [name, environment] of declared) {
      const from = environment.from?.value;
      if (from !== undefined && frontier.includes(from) && !depth.has(name)) {
        depth.set(name, level);
        next.push(name);
      }
    }
    frontier = next;
  }
  const rank = (name: string): number => depth.get(name) ?? Number.MAX_SAFE_INTEGER;
  return declared.map(([name]) => name).sort((a, b) => rank(a) - rank(b));
}

/** True when no environment of `manifest` is promoted from `name` (production). */
export function isFinalIn(manifest: Manifest, name: string): boolean {
  return ![...manifest.environments.values()].some((other) => other.from?.value === name);
}

/** The environments of a manifest, in promotion order, as declared (nothing read). */
export function declaredEnvironments(manifest: Manifest): DeclaredEnvironment[] {
  return promotionOrder(manifest).map((name) => {
    const environment = manifest.environments.get(name)!;
    return {
      name,
      from: environment.from?.value,
      description: environment.description,
      final: isFinalIn(manifest, name),
    };
  });
}

/** Every declared environment with its history and live release, in promotion order. */
export async function readLiveEnvironments(workspace: Workspace): Promise<EnvironmentLive[]> {
  const environments: EnvironmentLive[] = [];
  for (const declared of declaredEnvironments(workspace.manifest)) {
    let history: LiveHistory;
    try {
      const deployments = await readHistory(workspace.git, declared.name);
      const head = deployments[0];
      const [live] = head === undefined ? [] : await readReleases(workspace.git, [head.release]);
      history = { kind: 'read', deployments, live };
    } catch (error) {
      history = { kind: 'failed', message: describeError(error), error: asSluiceError(error) };
    }
    environments.push({ ...declared, history });
  }
  return environments;
}

/** One line of `sluice envs --json`: an environment and what is live in it. */
export interface EnvironmentSummary {
  readonly name: string;
  readonly from: string | null;
  readonly release: string | null;
  readonly deployedAt: string | null;
  readonly path: string | null;
}

/** What is live where, in promotion order; throws the first history that cannot be read. */
export async function listEnvironments(workspace: Workspace): Promise<EnvironmentSummary[]> {
  return (await readLiveEnvironments(workspace)).map((environment) => {
    const { history } = environment;
    if (history.kind === 'failed') throw history.error ?? new Error(history.message);
    const head = history.deployments[0];
    return {
      name: environment.name,
      from: environment.from ?? null,
      release: head?.release ?? null,
      deployedAt: head?.time ?? null,
      path: deployFolder(workspace, environment.name) ?? null,
    };
  });
}
