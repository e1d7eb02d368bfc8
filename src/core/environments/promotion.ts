// Promotion and rollback. A promotion moves the upstream's live release (or
// one the upstream had) into the target, behind the gates of what is live in
// the target now: the manifest of the live release's code commit, so a
// candidate can never loosen the gate in front of itself.
import { SluiceError } from '../errors';
import { analyzeManifest } from '../manifest';
import type { GateDecl, Manifest } from '../manifest/model';
import { listSnapshots } from '../snapshots/snapshots';
import type { Workspace } from '../workspace';
import { judgeChecksGate, type GateResult } from './checksGate';
import {
  deployFolder,
  deployRelease,
  repairEnvironments,
  requireEnvironment,
  type DeployResult,
} from './deploy';
import { readHead, readHistory, type RecordedDeployment } from './history';
import { releaseLayout, WORKTREE_PREFIX } from './materialize';
import { readRelease, resolveReleaseId, type Release } from './releases';

export type { GateResult } from './checksGate';

/** What a promotion would change, by content: ids differ whenever a time or a message does. */
export interface PromotionChanges {
  /** The code commits, when they differ. */
  readonly code: { readonly from: string; readonly to: string } | null;
  /** Datasets whose snapshot content differs (a re-snapshot of the same bytes is no change). */
  readonly data: readonly { readonly dataset: string; readonly from: string | null; readonly to: string }[];
  /** True when the candidate's outputs differ from the live release's. */
  readonly outputs: boolean;
  /** Metrics whose value differs. */
  readonly metrics: readonly {
    readonly metric: string;
    readonly from: number;
    readonly to: number;
  }[];
  /** Same code, same data content, same outputs: the candidate is what the target has. */
  readonly unchanged: boolean;
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
  /** Against what is live (null: nothing is). */
  readonly changes: PromotionChanges | null;
}

/** True when no environment is promoted from `name` (production): changing it asks for confirmation. */
export function isFinalEnvironment(workspace: Workspace, name: string): boolean {
  return ![...workspace.manifest.environments.values()].some((other) => other.from?.value === name);
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
        `Release ${candidateId.slice(0, 12)} was never deployed to ${upstream}, so it was not verified there.`,
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
    changes: live === undefined ? null : await compareReleases(workspace, live, candidate),
  };
}

/** What changes from `live` to `candidate`, by content. */
async function compareReleases(
  workspace: Workspace,
  live: Release,
  candidate: Release,
): Promise<PromotionChanges> {
  const data: { dataset: string; from: string | null; to: string }[] = [];
  for (const [dataset, id] of Object.entries(candidate.snapshots)) {
    const before = live.snapshots[dataset];
    if (before === id) continue;
    // Snapshot ids digest the header (message, time, parent) too: the content digest decides.
    const contentOf = new Map<string, string>();
    if (before !== undefined && workspace.manifest.datasets.has(dataset))
      for (const summary of await listSnapshots(workspace, dataset))
        contentOf.set(summary.id, summary.content);
    const from = before === undefined ? undefined : contentOf.get(before);
    const to = contentOf.get(id);
    if (from !== undefined && from !== '' && from === to) continue;
    data.push({ dataset, from: before ?? null, to: id });
  }
  for (const dataset of Object.keys(live.snapshots))
    if (!(dataset in candidate.snapshots))
      data.push({ dataset, from: live.snapshots[dataset]!, to: '(none)' });
  const metrics: { metric: string; from: number; to: number }[] = [];
  for (const [file, values] of Object.entries(candidate.metrics))
    for (const [key, value] of Object.entries(values)) {
      const before = live.metrics[file]?.[key];
      if (before !== undefined && before !== value)
        metrics.push({ metric: `${file}#${key}`, from: before, to: value });
    }
  const outputs = !sameOutputs(live, candidate);
  const code = live.code === candidate.code ? null : { from: live.code, to: candidate.code };
  return { code, data, outputs, metrics, unchanged: code === null && data.length === 0 && !outputs };
}

function sameOutputs(a: Release, b: Release): boolean {
  try {
    return JSON.stringify(releaseLayout(a.id, a.outputs)) === JSON.stringify(releaseLayout(b.id, b.outputs));
  } catch {
    return false;
  }
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
      `The manifest of commit ${commit.slice(0, 12)} (which defines ${name}'s gates) cannot be read.`,
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

/**
 * The refusal of a plan whose gates did not all pass, naming the first that
 * failed (code `gate-refused`, every gate's verdict in `data.gates`); undefined
 * when they all passed. Both faces show this one wording.
 */
export function gateRefusal(plan: PromotionPlan): SluiceError | undefined {
  const first = plan.gates.find((gate) => !gate.passed);
  if (first === undefined) return undefined;
  return new SluiceError(
    `Promotion of ${plan.candidate.id.slice(0, 12)} into ${plan.environment} refused by gate ${first.gate}: ${first.detail}.`,
    'failed',
    `The gates are those of the release live in ${plan.environment} (commit ${plan.gatesFrom.slice(0, 12)}); nothing changed.`,
    {
      code: 'gate-refused',
      data: {
        environment: plan.environment,
        release: plan.candidate.id,
        gatesFrom: plan.gatesFrom,
        gates: plan.gates.map((gate) => ({ name: gate.gate, passed: gate.passed, detail: gate.detail })),
      },
    },
  );
}

/** Carries out a plan whose gates all passed; refuses (exit 1) naming the first gate that did not. */
export async function promote(
  workspace: Workspace,
  plan: PromotionPlan,
  options: { signal?: AbortSignal; onOutput?: (text: string) => void; reason?: string | undefined } = {},
): Promise<DeployResult> {
  const refusal = gateRefusal(plan);
  if (refusal) throw refusal;
  return deployRelease(workspace, plan.environment, plan.candidate, {
    action: 'promote',
    expected: plan.head,
    reason: options.reason ?? null,
    signal: options.signal,
    onOutput: options.onOutput,
  });
}

/** Deploys an earlier release of `name` again (default: the one live before the current one). */
export async function rollback(
  workspace: Workspace,
  name: string,
  options: {
    to?: string | undefined;
    signal?: AbortSignal;
    onOutput?: (text: string) => void;
    reason?: string | undefined;
    onWarning?: (text: string) => void;
    /** Asked before anything changes, once the target is known; throws to stop. */
    confirm?: (from: string, to: string) => Promise<void>;
  } = {},
): Promise<DeployResult> {
  requireEnvironment(workspace, name);
  await repair(workspace, [name], options.onWarning);
  const history = await readHistory(workspace.git, name);
  const head = history[0];
  if (!head)
    throw new SluiceError(
      `Nothing was ever deployed to ${name}.`,
      'failed',
      'There is nothing to go back to.',
      { code: 'nothing-to-roll-back', data: { environment: name } },
    );
  let target: string;
  if (options.to !== undefined) {
    target = await resolveReleaseId(workspace.git, options.to);
    if (!history.some((deployment) => deployment.release === target)) {
      throw new SluiceError(
        `Release ${target.slice(0, 12)} was never live in ${name}.`,
        'failed',
        `Pick one from \`sluice history ${name}\`.`,
        { code: 'release-never-live', data: { environment: name, release: target } },
      );
    }
  } else {
    const earlier = history.find((deployment) => deployment.release !== head.release);
    if (!earlier)
      throw new SluiceError(
        `${name} has had only release ${head.release.slice(0, 12)}.`,
        'failed',
        'There is nothing to go back to.',
        { code: 'nothing-to-roll-back', data: { environment: name, release: head.release } },
      );
    target = earlier.release;
  }
  if (target === head.release)
    throw new SluiceError(
      `Release ${target.slice(0, 12)} is live in ${name} already.`,
      'failed',
      'Nothing to do.',
      { code: 'already-live', data: { environment: name, release: target } },
    );
  const release = await readRelease(workspace.git, target);
  await options.confirm?.(head.release, target);
  return deployRelease(workspace, name, release, {
    action: 'rollback',
    expected: head,
    reason: options.reason ?? (options.to === undefined ? null : `back to ${target.slice(0, 12)}`),
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
