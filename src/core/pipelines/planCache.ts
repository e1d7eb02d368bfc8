// The plan of a manifest read from its cache, remembered beside that cache.
// Planning 5,000 stages (their graph, their paths, their order) costs a no-op
// `sluice run` more than deciding them all; reading the plan back is one JSON
// parse. A plan is remembered only for a model the model cache knows, under
// that model's key, so it is the plan of exactly that model: a changed
// manifest, params file or vars file is a new key, and a model made any other
// way (edited in memory, params overridden for one run) is planned afresh.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomicWrite';
import { writeCache } from '../fs/cacheWrite';
import { derivedCachesOf } from '../manifest/modelCache';
import type { Manifest } from '../manifest/model';
import type { PipelinePlan, WorkspacePlan } from './plan';

/** Bump when the plan's shape (StagePlan, PipelinePlan, WorkspacePlan) changes, so an older plan is never read as the new shape. */
const PLAN_FORMAT = 1;

const FILE = 'plan.json';

interface CacheFile {
  readonly format: number;
  /** The key of the model it was made from (DerivedCaches.key). */
  readonly model: string;
  readonly paramsFile: string | null;
  readonly pipelines: [string, PipelinePlan][];
}

/** The remembered plan of `manifest`, if it is a model the model cache knows and its plan was remembered. */
export function rememberedPlan(manifest: Manifest): WorkspacePlan | undefined {
  const caches = derivedCachesOf(manifest);
  if (caches === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(join(caches.folder, FILE), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as CacheFile;
    if (parsed.format !== PLAN_FORMAT || parsed.model !== caches.key) return undefined;
    return { paramsFile: parsed.paramsFile ?? undefined, pipelines: new Map(parsed.pipelines) };
  } catch {
    return undefined; // a damaged cache is only a slower start
  }
}

/** Remembers the plan of `manifest` for the next command, when the model cache knows the model. */
export function rememberPlan(manifest: Manifest, plan: WorkspacePlan): void {
  const caches = derivedCachesOf(manifest);
  if (caches === undefined) return;
  const content: CacheFile = {
    format: PLAN_FORMAT,
    model: caches.key,
    paramsFile: plan.paramsFile ?? null,
    pipelines: [...plan.pipelines],
  };
  writeCache('the plan cache', () => {
    writeFileAtomic(join(caches.folder, FILE), JSON.stringify(content));
  });
}
