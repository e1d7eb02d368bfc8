// `sluice exp apply`: bring an experiment into the workspace. Its params go
// into the params file (the file as it was is kept in .sluice/trash/ first),
// then each stage whose inputs are now the experiment's gets its outputs back
// from the run cache, under the run's rules: bytes Sluice has no copy of are
// moved to the trash, never overwritten. A stage that cannot be restored
// (the code or data changed since the experiment) is not run, and says so.
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { SluiceError } from '../errors';
import { writeFileAtomic } from '../fs/atomicWrite';
import { makeFolder } from '../fs/makeFolder';
import { openPipelines } from '../pipelines/context';
import { newRunId } from '../pipelines/logs';
import { planWorkspace } from '../pipelines/plan';
import { runPipelines, type StageOutcome } from '../pipelines/runner';
import { readValues } from '../pipelines/values';
import type { Workspace } from '../workspace';
import { applyOverrides, flattenParams } from '../pipelines/paramOverrides';
import { findExperiment } from './records';
import { readExperimentRows } from './show';

export interface ApplyResult {
  readonly id: string;
  readonly name: string;
  /** Params written into the params file: key → value. */
  readonly params: Readonly<Record<string, unknown>>;
  /** Params of the experiment the params file no longer has (left out). */
  readonly missingParams: readonly string[];
  /** Where the params file as it was is kept (null: nothing changed in it). */
  readonly savedParams: string | null;
  readonly stages: readonly StageOutcome[];
}

export async function applyExperiment(
  workspace: Workspace,
  idOrName: string,
  options: { readonly signal?: AbortSignal | undefined } = {},
): Promise<ApplyResult> {
  const experiment = findExperiment(await readExperimentRows(workspace), idOrName);
  const paramsFile = planWorkspace(workspace.manifest).paramsFile;
  const changed: Record<string, unknown> = {};
  const missingParams: string[] = [];
  let savedParams: string | null = null;
  if (paramsFile !== undefined && Object.keys(experiment.params).length > 0) {
    const target = join(workspace.root, paramsFile);
    if (!existsSync(target))
      throw new SluiceError(
        `${paramsFile} does not exist.`,
        'failed',
        'Restore it from git, then apply again.',
        {
          code: 'not-found',
          data: { sought: 'params-file', id: paramsFile },
        },
      );
    const now = flattenParams(readValues(workspace.root, paramsFile));
    for (const [key, value] of Object.entries(experiment.params)) {
      if (!(key in now)) missingParams.push(key);
      else if (JSON.stringify(now[key]) !== JSON.stringify(value)) changed[key] = value;
    }
    if (Object.keys(changed).length > 0) {
      const text = readFileSync(target, 'utf8');
      const trash = join(workspace.sluiceDir, 'trash', newRunId());
      makeFolder(trash);
      savedParams = join(trash, basename(paramsFile));
      copyFileSync(target, savedParams);
      writeFileAtomic(target, applyOverrides(text, paramsFile, changed));
    }
  }
  const context = openPipelines(workspace);
  const report = await runPipelines(context, {
    restoreOnly: true,
    checks: false,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return {
    id: experiment.id,
    name: experiment.name,
    params: changed,
    missingParams,
    savedParams,
    stages: report.stages,
  };
}
