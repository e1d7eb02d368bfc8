// Promotion and rollback. A promotion moves the upstream's live release (or
// one the upstream had) into the target, behind the gates of what is live in
// the target now: the manifest of the live release's code commit, so a
// candidate can never loosen the gate in front of itself.
import { SluiceError } from '../errors';
import { analyzeManifest } from '../manifest';
import type { GateDecl } from '../manifest/model';
import type { Workspace } from '../workspace';
import { alignCurrent, deployFolder, deployRelease, requireEnvironment, type DeployResult } from './deploy';
import { readHead, readHistory, type RecordedDeployment } from './history';
import { Placer } from './placement';
import { readRelease, resolveReleaseId, type Release } from './releases';

export interface GateResult {
  /** The gate in words, as the manifest says it. */
  readonly gate: string;
  readonly passed: boolean;
  /** The numbers behind the judgement. */
  readonly detail: string;
}

export interface PromotionPlan {
  readonly environment: string;
  readonly upstream: string;
  readonly candidate: Release;
  readonly live: Release | undefined;
  readonly head: RecordedDeployment | undefined;
  readonly gates: readonly GateResult[];
  /** Where the gates were read: the live release's code commit, or the candidate's on a first promotion. */
  readonly gatesFrom: string;
  /** True when nothing is promoted from the target (production): promotion must be confirmed. */
  readonly final: boolean;
}

/** The environment fed by `workspace`, which `sluice stage` deploys to. */
export function firstEnvironment(workspace: Workspace): string {
  for (const [name, environment] of workspace.manifest.environments)
    if (environment.from?.value === 'workspace') return name;
  throw new SluiceError(
    'No environment is fed from the workspace.',
    'manifest',
    'Give one environment `from: workspace` in sluice.yaml.',
  );
}

/** The target when `--to` is not given: the one environment fed from an environment, if there is one. */
function defaultTarget(workspace: Workspace): string {
  const candidates = [...workspace.manifest.environments]
    .filter(([, environment]) => environment.from !== undefined && environment.from.value !== 'workspace')
    .map(([name]) => name);
  if (candidates.length === 1) return candidates[0]!;
  throw new SluiceError(
    candidates.length === 0
      ? 'No environment is promoted into (none has `from: ENV`).'
      : `Promote into which environment: ${candidates.join(', ')}?`,
    'usage',
    'Name it with --to ENV.',
  );
}

export async function planPromotion(
  workspace: Workspace,
  options: { to?: string | undefined; release?: string | undefined },
): Promise<PromotionPlan> {
  const name = options.to ?? defaultTarget(workspace);
  const environment = requireEnvironment(workspace, name);
  const upstream = environment.from?.value;
  if (upstream === undefined || upstream === 'workspace') {
    throw new SluiceError(
      `Environment ${name} is not promoted into (its \`from\` is ${upstream ?? 'missing'}).`,
      'usage',
      upstream === 'workspace' ? 'Use `sluice stage` for it.' : 'Give it `from: ENV` in sluice.yaml.',
    );
  }
  requireEnvironment(workspace, upstream);
  const upstreamHistory = await readHistory(workspace.git, upstream);
  let candidateId: string;
  if (options.release !== undefined) {
    candidateId = await resolveReleaseId(workspace.git, options.release);
    if (!upstreamHistory.some((deployment) => deployment.release === candidateId)) {
      throw new SluiceError(
        `Release ${candidateId.slice(0, 12)} was never deployed to ${upstream}, so it was not verified there.`,
        'failed',
        `Promote a release from \`sluice history ${upstream}\`.`,
      );
    }
  } else {
    const live = upstreamHistory[0];
    if (!live)
      throw new SluiceError(
        `Nothing is live in ${upstream} to promote.`,
        'failed',
        upstream === firstEnvironment(workspace)
          ? 'Run `sluice stage` first.'
          : `Promote into ${upstream} first.`,
      );
    candidateId = live.release;
  }
  const head = await readHead(workspace.git, name);
  const candidate = await readRelease(workspace.git, candidateId);
  const live = head === undefined ? undefined : await readRelease(workspace.git, head.release);
  const gatesFrom = (live ?? candidate).code;
  const gateDecls = await gatesAt(workspace, gatesFrom, name);
  const final = ![...workspace.manifest.environments.values()].some((other) => other.from?.value === name);
  return {
    environment: name,
    upstream,
    candidate,
    live,
    head,
    gates: gateDecls.map((gate) => judge(gate, candidate, live)),
    gatesFrom,
    final,
  };
}

/** The gates of environment `name` in the manifest at `commit`. */
async function gatesAt(workspace: Workspace, commit: string, name: string): Promise<readonly GateDecl[]> {
  const prefix = await workspace.git.prefix();
  const [object] = await workspace.git.readObjects([`${commit}:${prefix}sluice.yaml`]);
  if (!object) {
    throw new SluiceError(
      `The manifest of commit ${commit.slice(0, 12)} (which defines ${name}'s gates) cannot be read.`,
      'failed',
      'Is the commit still in the repository? Run `git fsck`.',
    );
  }
  const manifest = analyzeManifest(object.content.toString('utf8')).manifest;
  return manifest.environments.get(name)?.gates ?? [];
}

function metricValue(release: Release, metric: string): number | undefined {
  const hash = metric.indexOf('#');
  if (hash < 0) return undefined;
  return release.metrics[metric.slice(0, hash)]?.[metric.slice(hash + 1)];
}

function judge(gate: GateDecl, candidate: Release, live: Release | undefined): GateResult {
  if (gate.kind === 'checks') {
    const notPassed = candidate.checks.filter((check) => check.outcome !== 'pass');
    const failures = [...candidate.failures, ...notPassed.map((check) => `${check.name}: ${check.outcome}`)];
    return {
      gate: 'checks',
      passed: failures.length === 0,
      detail: failures.length === 0 ? `${candidate.checks.length} passed` : failures.join('; '),
    };
  }
  const metric = gate.metric?.value ?? '(no metric)';
  const value = metricValue(candidate, metric);
  const shown = (n: number): string => String(Number(n.toPrecision(6)));
  if (value === undefined) return { gate: metric, passed: false, detail: `the release has no ${metric}` };
  if (gate.min !== undefined && value < gate.min)
    return { gate: `${metric} min ${gate.min}`, passed: false, detail: `${shown(value)} < ${gate.min}` };
  if (gate.max !== undefined && value > gate.max)
    return { gate: `${metric} max ${gate.max}`, passed: false, detail: `${shown(value)} > ${gate.max}` };
  if (gate.noRegression !== undefined && live !== undefined) {
    const now = metricValue(live, metric);
    if (now !== undefined && value < now - gate.noRegression) {
      return {
        gate: `${metric} no_regression ${gate.noRegression}`,
        passed: false,
        detail: `${shown(value)} is ${shown(now - value)} below the live ${shown(now)} (at most ${gate.noRegression} allowed)`,
      };
    }
  }
  return { gate: metric, passed: true, detail: shown(value) };
}

/** Carries out a plan whose gates all passed; refuses (exit 1) naming the first gate that did not. */
export async function promote(
  workspace: Workspace,
  plan: PromotionPlan,
  options: { signal?: AbortSignal; onOutput?: (text: string) => void } = {},
): Promise<DeployResult> {
  const refused = plan.gates.find((gate) => !gate.passed);
  if (refused) {
    throw new SluiceError(
      `Promotion of ${plan.candidate.id.slice(0, 12)} into ${plan.environment} refused by gate ${refused.gate}: ${refused.detail}.`,
      'failed',
      `The gates are those of the release live in ${plan.environment} (commit ${plan.gatesFrom.slice(0, 12)}); nothing changed.`,
    );
  }
  await alignCurrent(workspace, plan.environment, new Placer(workspace.store));
  return deployRelease(workspace, plan.environment, plan.candidate, {
    action: 'promote',
    expected: plan.head,
    reason: null,
    signal: options.signal,
    onOutput: options.onOutput,
  });
}

/** Deploys an earlier release of `name` again (default: the one live before the current one). */
export async function rollback(
  workspace: Workspace,
  name: string,
  options: { to?: string | undefined; signal?: AbortSignal; onOutput?: (text: string) => void } = {},
): Promise<DeployResult> {
  requireEnvironment(workspace, name);
  const history = await readHistory(workspace.git, name);
  const head = history[0];
  if (!head)
    throw new SluiceError(
      `Nothing was ever deployed to ${name}.`,
      'failed',
      'There is nothing to go back to.',
    );
  let target: string;
  if (options.to !== undefined) {
    target = await resolveReleaseId(workspace.git, options.to);
    if (!history.some((deployment) => deployment.release === target)) {
      throw new SluiceError(
        `Release ${target.slice(0, 12)} was never live in ${name}.`,
        'failed',
        `Pick one from \`sluice history ${name}\`.`,
      );
    }
  } else {
    const earlier = history.find((deployment) => deployment.release !== head.release);
    if (!earlier)
      throw new SluiceError(
        `${name} has had only release ${head.release.slice(0, 12)}.`,
        'failed',
        'There is nothing to go back to.',
      );
    target = earlier.release;
  }
  if (target === head.release)
    throw new SluiceError(
      `Release ${target.slice(0, 12)} is live in ${name} already.`,
      'failed',
      'Nothing to do.',
    );
  await alignCurrent(workspace, name, new Placer(workspace.store));
  return deployRelease(workspace, name, await readRelease(workspace.git, target), {
    action: 'rollback',
    expected: head,
    reason: options.to === undefined ? null : `back to ${target.slice(0, 12)}`,
    signal: options.signal,
    onOutput: options.onOutput,
  });
}

export interface EnvironmentSummary {
  readonly name: string;
  readonly from: string | null;
  readonly release: string | null;
  readonly deployedAt: string | null;
  readonly path: string | null;
}

export async function listEnvironments(workspace: Workspace): Promise<EnvironmentSummary[]> {
  const summaries: EnvironmentSummary[] = [];
  for (const [name, environment] of workspace.manifest.environments) {
    const head = await readHead(workspace.git, name);
    summaries.push({
      name,
      from: environment.from?.value ?? null,
      release: head?.release ?? null,
      deployedAt: head?.time ?? null,
      path: deployFolder(workspace, name) ?? null,
    });
  }
  return summaries;
}
