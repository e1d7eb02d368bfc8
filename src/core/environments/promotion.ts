// Promotion and rollback. A promotion moves the upstream's live release (or
// one the upstream had) into the target, behind the gates of what is live in
// the target now: the manifest of the live release's code commit, so a
// candidate can never loosen the gate in front of itself.
import { SluiceError } from '../errors';
import { formatNumber, shortId } from '../format';
import { analyzeManifest } from '../manifest';
import type { GateDecl, Manifest } from '../manifest/model';
import type { Workspace } from '../workspace';
import { judgeChecksGate, type GateResult } from './checksGate';
import { compareReleases, type ReleaseComparison } from './comparison';
import { deployRelease, repairEnvironments, requireEnvironment, type DeployResult } from './deploy';
import { readHead, readHistory, type RecordedDeployment } from './history';
import { isFinalIn } from './live';
import { WORKTREE_PREFIX } from './materialize';
import { readRelease, resolveReleaseId, type Release } from './releases';
import { resolveRollbackTarget } from './rollbackTarget';

export type { GateResult } from './checksGate';

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
  /** What is live in the target (`from`, labelled with its name) against the candidate (labelled with the upstream's). */
  readonly comparison: ReleaseComparison;
}

/** True when no environment is promoted from `name` (production): changing it asks for confirmation. */
export function isFinalEnvironment(workspace: Workspace, name: string): boolean {
  return isFinalIn(workspace.manifest, name);
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

export interface PlanOptions {
  readonly to?: string | undefined;
  readonly release?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Output of the checks gate's commands. */
  readonly onOutput?: ((text: string) => void) | undefined;
  /** Told of things the user should know (a `current` that could not be repaired). */
  readonly onWarning?: ((text: string) => void) | undefined;
}

export async function planPromotion(workspace: Workspace, options: PlanOptions): Promise<PromotionPlan> {
  const name = options.to ?? defaultTarget(workspace);
  const environment = requireEnvironment(workspace, name);
  const upstream = environment.from?.value;
  if (upstream === undefined || upstream === 'workspace') {
    throw new SluiceError(
      `Environment ${name} is not promoted into (its \`from\` is ${upstream ?? 'missing'}).`,
      'usage',
      upstream === 'workspace' ? 'Use `sluice stage` for it.' : 'Give it `from: ENV` in sluice.yaml.',
      { code: 'not-promoted-into', data: { environment: name, from: upstream ?? null } },
    );
  }
  requireEnvironment(workspace, upstream);
  await repair(workspace, [upstream, name], options.onWarning);
  const upstreamHistory = await readHistory(workspace.git, upstream);
  let candidateId: string;
  if (options.release !== undefined) {
    candidateId = await resolveReleaseId(workspace.git, options.release);
    if (!upstreamHistory.some((deployment) => deployment.release === candidateId)) {
      throw new SluiceError(
        `Release ${shortId(candidateId)} was never deployed to ${upstream}, so it was not verified there.`,
        'failed',
        `Promote a release from \`sluice history ${upstream}\`.`,
        { code: 'release-not-verified', data: { release: candidateId, environment: upstream } },
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
        { code: 'nothing-live', data: { environment: upstream } },
      );
    candidateId = live.release;
  }
  const head = await readHead(workspace.git, name);
  const candidate = await readRelease(workspace.git, candidateId);
  const live = head === undefined ? undefined : await readRelease(workspace.git, head.release);
  const gatesFrom = (live ?? candidate).code;
  const manifest = await manifestAt(workspace, gatesFrom, name);
  const gateDecls = manifest.environments.get(name)?.gates ?? [];
  const gates: GateResult[] = [];
  for (const gate of gateDecls) {
    if (gate.kind === 'checks') {
      const {
        gate: label,
        passed,
        detail,
      } = await judgeChecksGate(
        workspace,
        name,
        candidate,
        live === undefined ? undefined : { release: live, manifest, commit: gatesFrom },
        { worktreePrefix: WORKTREE_PREFIX, signal: options.signal, onOutput: options.onOutput },
      );
      gates.push({ gate: label, passed, detail });
    } else gates.push(judge(gate, candidate, live));
  }
  return {
    environment: name,
    upstream,
    candidate,
    live,
    head,
    gates,
    gatesFrom,
    final: isFinalEnvironment(workspace, name),
    comparison: await compareReleases(workspace, {
      fromLabel: name,
      from: live,
      toLabel: upstream,
      to: candidate,
    }),
  };
}

/** Repairs `current` of `names`, telling the user of what could not be repaired. */
async function repair(
  workspace: Workspace,
  names: readonly string[],
  onWarning: ((text: string) => void) | undefined,
): Promise<void> {
  for (const failed of (await repairEnvironments(workspace, names)).failed)
    onWarning?.(
      `${failed.environment}: current cannot be put back in line with its history: ${failed.message}`,
    );
}

/** The manifest at `commit` (which defines environment `name`'s gates). */
async function manifestAt(workspace: Workspace, commit: string, name: string): Promise<Manifest> {
  const prefix = await workspace.git.prefix();
  const [object] = await workspace.git.readObjects([`${commit}:${prefix}sluice.yaml`]);
  if (!object) {
    throw new SluiceError(
      `The manifest of commit ${shortId(commit)} (which defines ${name}'s gates) cannot be read.`,
      'failed',
      'Is the commit still in the repository? Run `git fsck`.',
      { code: 'gates-unreadable', data: { commit, environment: name } },
    );
  }
  return analyzeManifest(object.content.toString('utf8')).manifest;
}

function metricValue(release: Release, metric: string): number | undefined {
  const hash = metric.indexOf('#');
  if (hash < 0) return undefined;
  return release.metrics[metric.slice(0, hash)]?.[metric.slice(hash + 1)];
}

function judge(
  gate: Exclude<GateDecl, { kind: 'checks' }>,
  candidate: Release,
  live: Release | undefined,
): GateResult {
  const metric = gate.metric?.value ?? '(no metric)';
  const value = metricValue(candidate, metric);
  const shown = formatNumber;
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

/**
 * The refusal of a plan whose gates did not all pass, naming the first that
 * failed (code `gate-refused`, every gate's verdict in `data.gates`); undefined
 * when they all passed. Both faces show this one wording.
 */
export function gateRefusal(plan: PromotionPlan): SluiceError | undefined {
  const first = plan.gates.find((gate) => !gate.passed);
  if (first === undefined) return undefined;
  return new SluiceError(
    `Promotion of ${shortId(plan.candidate.id)} into ${plan.environment} refused by gate ${first.gate}: ${first.detail}.`,
    'failed',
    `The gates are those of the release live in ${plan.environment} (commit ${shortId(plan.gatesFrom)}); nothing changed.`,
    {
      code: 'gate-refused',
      data: {
        environment: plan.environment,
        release: plan.candidate.id,
        gatesFrom: plan.gatesFrom,
        gates: gatesJson(plan),
      },
    },
  );
}

/** Every gate's result as --json and the refusal's data show it. */
export function gatesJson(plan: PromotionPlan): { name: string; passed: boolean; detail: string }[] {
  return plan.gates.map((gate) => ({ name: gate.gate, passed: gate.passed, detail: gate.detail }));
}

/** Carries out a plan whose gates all passed; refuses (exit 1) naming the first gate that did not. */
export async function promote(
  workspace: Workspace,
  plan: PromotionPlan,
  options: { signal?: AbortSignal; onOutput?: (text: string) => void; reason?: string | undefined } = {},
): Promise<DeployResult> {
  const refusal = gateRefusal(plan);
  if (refusal !== undefined) throw refusal;
  return deployRelease(workspace, plan.environment, plan.candidate, {
    action: 'promote',
    expected: plan.head,
    reason: options.reason ?? null,
    signal: options.signal,
    onOutput: options.onOutput,
  });
}

export interface RollbackPlan {
  readonly environment: string;
  /** The deployment live now, which the rollback replaces (compare-and-swap against it). */
  readonly head: RecordedDeployment;
  readonly live: Release;
  readonly target: Release;
  /** True when `--to` or a pick named the target (the history then says which). */
  readonly chosen: boolean;
  /** True when nothing is promoted from the environment (production): a rollback must be confirmed. */
  readonly final: boolean;
  /** What is live (labelled with the environment) against the release going back (labelled `rollback`). */
  readonly comparison: ReleaseComparison;
}

/**
 * What a rollback of `name` would do, before anything changes: the target
 * (`to`, an id or prefix of a release once live there; by default the one live
 * before the current one) and the comparison with what is live.
 */
export async function planRollback(
  workspace: Workspace,
  name: string,
  options: { to?: string | undefined; onWarning?: ((text: string) => void) | undefined } = {},
): Promise<RollbackPlan> {
  requireEnvironment(workspace, name);
  await repair(workspace, [name], options.onWarning);
  const { head, release } = await resolveRollbackTarget(workspace.git, name, options.to);
  const [live, target] = await Promise.all([
    readRelease(workspace.git, head.release),
    readRelease(workspace.git, release),
  ]);
  return {
    environment: name,
    head,
    live,
    target,
    chosen: options.to !== undefined,
    final: isFinalEnvironment(workspace, name),
    comparison: await compareReleases(workspace, {
      fromLabel: name,
      from: live,
      toLabel: 'rollback',
      to: target,
    }),
  };
}

/** Deploys the earlier release of a plan again; a conflict when the environment moved since it was planned. */
export async function rollback(
  workspace: Workspace,
  plan: RollbackPlan,
  options: {
    signal?: AbortSignal;
    onOutput?: (text: string) => void;
    reason?: string | undefined;
    /** True when a monitor decided it, not a person: recorded as `auto-rollback`. */
    automatic?: boolean;
  } = {},
): Promise<DeployResult> {
  return deployRelease(workspace, plan.environment, plan.target, {
    action: options.automatic === true ? 'auto-rollback' : 'rollback',
    expected: plan.head,
    reason: options.reason ?? (plan.chosen ? `back to ${shortId(plan.target.id)}` : null),
    signal: options.signal,
    onOutput: options.onOutput,
  });
}
