// What a pipeline run leaves behind as an experiment record: gathered from the
// run's own context (params, stage records, run cache) right after it ends,
// wherever it ran (the workspace, a queued experiment's copy, a staging
// worktree). A run that ran no stage at all records nothing.
import type { PipelineContext } from '../pipelines/context';
import type { CachedOutput } from '../pipelines/outputs';
import type { RunReport } from '../pipelines/runner';
import { datasetRef, readHead } from '../snapshots/records';
import type { Workspace } from '../workspace';
import { flattenParams } from '../pipelines/paramOverrides';
import { valueAt } from '../pipelines/values';
import {
  defaultExperimentName,
  flattenMetrics,
  writeExperiment,
  type Experiment,
  type ExperimentContent,
} from './records';
import type { ExperimentOrigin } from './table';

export interface RecordingOptions {
  readonly origin: ExperimentOrigin;
  /** Where records and snapshots live: the developer's workspace (a queued run's copy has its own root). */
  readonly home: Workspace;
  readonly overrides?: Readonly<Record<string, unknown>>;
  readonly name?: string | undefined;
  readonly from?: string | null;
  readonly release?: string | null;
  readonly code: ExperimentContent['code'];
  /** Dataset snapshot ids the run's data came from; read from the refs when not given. */
  readonly snapshots?: Readonly<Record<string, string | null>>;
}

/** The code a workspace run ran: HEAD, and a digest of uncommitted changes (Sluice's own cache aside). */
export async function workspaceCode(workspace: Workspace): Promise<ExperimentContent['code']> {
  let commit: string | null;
  try {
    commit = await workspace.git.headCommit();
  } catch {
    return { commit: null, dirty: true, changes: null };
  }
  const uncommitted = (await workspace.git.uncommittedPaths()).filter((path) => !path.startsWith('.sluice/'));
  if (uncommitted.length === 0) return { commit, dirty: false, changes: null };
  return { commit, dirty: true, changes: await workspace.git.uncommittedDigest(uncommitted) };
}

export async function latestSnapshots(workspace: Workspace): Promise<Record<string, string | null>> {
  const snapshots: Record<string, string | null> = {};
  for (const name of workspace.manifest.datasets.keys()) {
    snapshots[name] = (await readHead(workspace.git, datasetRef(name)))?.id ?? null;
  }
  return snapshots;
}

/** What a run that just ended in `context` contributes to its record, gathered while the copy it ran in exists. */
export type RunParts = Pick<ExperimentContent, 'params' | 'metrics' | 'stages' | 'signatures' | 'outputs'>;

export function gatherRun(context: PipelineContext, report: RunReport): RunParts {
  const signatures: Record<string, string> = {};
  const outputs: CachedOutput[] = [];
  for (const stage of [...context.plan.pipelines.values()].flatMap((pipeline) => pipeline.stages)) {
    const signature = context.state.lastSuccess(stage.id)?.signature;
    if (signature === undefined) continue;
    signatures[stage.id] = signature;
    const cached = context.runCache.read(signature);
    if (cached) outputs.push(...cached.outs);
  }
  let params: Record<string, unknown> = {};
  try {
    params = flattenParams(context.params());
  } catch {
    // A params file that does not parse failed the stages that read it; the record says so through them.
  }
  // Params of other files, as stages read them: `FILE#key` (every key of a whole file).
  for (const stage of [...context.plan.pipelines.values()].flatMap((pipeline) => pipeline.stages)) {
    for (const { file, keys } of stage.paramFiles) {
      try {
        const document = context.paramsFile(file);
        if (keys === undefined) {
          for (const [key, value] of Object.entries(flattenParams(document)))
            params[`${file}#${key}`] = value;
        } else for (const key of keys) params[`${file}#${key}`] = valueAt(document, key) ?? null;
      } catch {
        // As above: the stage that reads it failed, and says why.
      }
    }
  }
  return {
    params,
    metrics: flattenMetrics(report.metrics),
    stages: report.stages.map((stage) => ({
      pipeline: stage.pipeline,
      stage: stage.stage,
      // A detached run records nothing (runWorkspace); a queued stage would be one that has not run yet.
      result: stage.result === 'queued' ? 'not-run' : stage.result,
      durationMs: stage.durationMs ?? null,
      runId: stage.runId ?? null,
    })),
    signatures,
    outputs,
  };
}

/** Writes a run's record into the developer's repository. */
export async function writeRunRecord(parts: RunParts, options: RecordingOptions): Promise<Experiment> {
  const overrides = options.overrides ?? {};
  return writeExperiment(options.home.git, {
    format: 'sluice-experiment 1',
    name: options.name ?? defaultExperimentName(overrides),
    origin: options.origin,
    time: new Date().toISOString(),
    actor: await options.home.git.actor(),
    code: options.code,
    snapshots: options.snapshots ?? (await latestSnapshots(options.home)),
    ...parts,
    overrides,
    release: options.release ?? null,
    from: options.from ?? null,
  });
}

/** Writes the record of a run that just ended in `context`; undefined when it selected no stage. */
export async function recordRun(
  context: PipelineContext,
  report: RunReport,
  options: RecordingOptions,
): Promise<Experiment | undefined> {
  if (report.stages.length === 0) return undefined;
  return writeRunRecord(gatherRun(context, report), options);
}
