// The `checks` gate. A candidate is judged by the checks of what guards the
// target now: the pipeline checks of the manifest at the live release's code
// commit, not the ones the candidate brought (which could have lowered a
// threshold or dropped a check). Metric checks are evaluated against the
// candidate's recorded metrics; command checks run (the live commit's scripts)
// against a copy of the candidate: a worktree at the live commit holding the
// candidate's outputs and datasets, with SLUICE_WORKSPACE pointing there. On a
// first promotion (nothing live) the candidate's own recorded checks decide.
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { formatNumber, shortId } from '../format';
import type { CheckDecl, Manifest } from '../manifest/model';
import { normalizeRelative } from '../paths';
import { INCONCLUSIVE_EXIT } from '../pipelines/checks';
import { newRunId } from '../pipelines/logs';
import { describeExit, runCommand } from '../process/runCommand';
import { compareSnapshots, readSnapshot } from '../snapshots/snapshots';
import type { Workspace } from '../workspace';
import { placeDataset, releaseLayout, writeLayout } from './materialize';
import { Placer } from './placement';
import { describeCheckProblem, type CheckOutcome, type Release } from './releases';

export interface GateResult {
  /** The gate in words, as the manifest says it. */
  readonly gate: string;
  readonly passed: boolean;
  /** The numbers behind the judgement. */
  readonly detail: string;
}

/** One check of the live manifest, judged on the candidate. */
export interface JudgedCheck {
  readonly name: string;
  readonly outcome: CheckOutcome;
  readonly detail: string;
}

function judgeMetricCheck(check: CheckDecl, candidate: Release): JudgedCheck {
  const name = check.name?.value ?? check.metric?.value ?? '(unnamed)';
  const metric = check.metric?.value ?? '';
  const hash = metric.indexOf('#');
  const value = hash < 0 ? undefined : candidate.metrics[metric.slice(0, hash)]?.[metric.slice(hash + 1)];
  if (value === undefined) return { name, outcome: 'fail', detail: `the release has no ${metric}` };
  if (check.min !== undefined && value < check.min)
    return {
      name,
      outcome: 'fail',
      detail: `${metric} = ${formatNumber(value)}, below the minimum ${check.min}`,
    };
  if (check.max !== undefined && value > check.max)
    return {
      name,
      outcome: 'fail',
      detail: `${metric} = ${formatNumber(value)}, above the maximum ${check.max}`,
    };
  return { name, outcome: 'pass', detail: `${metric} = ${formatNumber(value)}` };
}

/**
 * Runs command checks against a copy of the candidate: a worktree at
 * `commit` (the live code: its check scripts), the candidate's datasets and
 * outputs placed into it from the cache. The worktree goes away afterwards.
 */
async function runCommandChecks(
  workspace: Workspace,
  environment: string,
  commit: string,
  manifest: Manifest,
  checks: readonly CheckDecl[],
  candidate: Release,
  options: GateOptions,
): Promise<JudgedCheck[]> {
  const worktree = join(
    workspace.store.scratchFolder(),
    `${options.worktreePrefix}${process.pid}-${randomBytes(6).toString('hex')}`,
  );
  const judged: JudgedCheck[] = [];
  try {
    await workspace.git.addWorktree(worktree, commit);
    const root = join(worktree, await workspace.git.prefix());
    const placer = new Placer(workspace.store);
    for (const [dataset, id] of Object.entries(candidate.snapshots)) {
      // Where the live code expects each dataset (falling back to the workspace's manifest).
      const declared = (manifest.datasets.get(dataset) ?? workspace.manifest.datasets.get(dataset))?.path
        ?.value;
      if (declared === undefined) continue;
      const snapshot = await readSnapshot(workspace, dataset, id);
      const { added } = await compareSnapshots(workspace, undefined, snapshot);
      placeDataset(join(root, declared), added, placer);
    }
    const layout = releaseLayout(candidate.id, candidate.outputs);
    // The outputs replace whatever the checkout holds at their paths.
    for (const output of candidate.outputs)
      rmSync(join(root, normalizeRelative(output.path)), { recursive: true, force: true });
    mkdirSync(root, { recursive: true });
    writeLayout(root, layout, placer);
    for (const check of checks) {
      const name = check.name?.value ?? check.run?.value ?? '(unnamed)';
      const result = await runCommand({
        command: check.run!.value,
        cwd: root,
        env: {
          SLUICE_PIPELINE: candidate.pipeline,
          SLUICE_CHECK: name,
          SLUICE_WORKSPACE: root,
          SLUICE_ENV: environment,
          SLUICE_RELEASE: candidate.id,
        },
        logFile: join(workspace.sluiceDir, 'logs', '@environments', environment, `${newRunId()}-gate.log`),
        ...(options.onOutput ? { onOutput: options.onOutput } : {}),
        signal: options.signal,
        timeoutMs: (check.timeout ?? 600) * 1000,
      });
      const outcome: CheckOutcome =
        result.exitCode === 0 && !result.cancelled
          ? 'pass'
          : result.timedOut || result.exitCode === INCONCLUSIVE_EXIT
            ? 'inconclusive'
            : 'fail';
      judged.push({ name, outcome, detail: outcome === 'pass' ? 'exit code 0' : describeExit(result) });
    }
  } finally {
    await workspace.git.removeWorktree(worktree);
  }
  return judged;
}

export interface GateOptions {
  readonly worktreePrefix: string;
  readonly signal?: AbortSignal | undefined;
  readonly onOutput?: ((text: string) => void) | undefined;
}

/**
 * The `checks` gate of a promotion into `environment`. `liveManifest` is the
 * manifest at the live release's code commit `commit` (undefined on a first
 * promotion: the candidate's own recorded checks decide).
 */
export async function judgeChecksGate(
  workspace: Workspace,
  environment: string,
  candidate: Release,
  live: { readonly release: Release; readonly manifest: Manifest; readonly commit: string } | undefined,
  options: GateOptions,
): Promise<GateResult & { readonly checks: readonly JudgedCheck[] }> {
  let judged: JudgedCheck[];
  let where: string;
  if (live === undefined) {
    judged = candidate.checks.map(({ name, outcome, detail }) => ({ name, outcome, detail }));
    where = "the candidate's own";
  } else {
    // The checks of the pipeline that produced what is live, as the live code defines them.
    const pipeline =
      live.manifest.pipelines.get(live.release.pipeline) ?? live.manifest.pipelines.get(candidate.pipeline);
    const checks = pipeline?.checks ?? [];
    judged = checks
      .filter((check) => check.run === undefined)
      .map((check) => judgeMetricCheck(check, candidate));
    const commands = checks.filter((check) => check.run !== undefined);
    if (commands.length > 0)
      judged.push(
        ...(await runCommandChecks(
          workspace,
          environment,
          live.commit,
          live.manifest,
          commands,
          candidate,
          options,
        )),
      );
    where = `the live release's (${shortId(live.commit)})`;
  }
  const notPassed = judged.filter((check) => check.outcome !== 'pass');
  const failures = [...candidate.failures, ...notPassed.map(describeCheckProblem)];
  return {
    gate: 'checks',
    passed: failures.length === 0,
    detail: failures.length === 0 ? `${judged.length} of ${where} checks passed` : failures.join('; '),
    checks: judged,
  };
}
