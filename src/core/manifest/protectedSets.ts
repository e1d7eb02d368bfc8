// The protected paths of one manifest: the sets the rules of
// paths/protectedPaths.ts judge a stage's outputs and a deploy folder against.
// Built here, beside the manifest model, so that the rules themselves stay in
// the base layer and know nothing of manifests.
import type { DeployProtectedSet, ProtectedSet } from '../paths/protectedPaths';
import type { Manifest } from './model';

/**
 * The set every stage output is judged against: the manifest, its values
 * files (the params file and `vars` files: the manifest's stages are made
 * from them), its datasets.
 */
export function protectedSetOf(manifest: Manifest, manifestPath = 'sluice.yaml'): ProtectedSet {
  const datasets = [...manifest.datasets.values()].flatMap((d) =>
    d.path ? [{ name: d.name, path: d.path.value }] : [],
  );
  const params = manifest.params?.value;
  return {
    manifest: manifestPath,
    params: [...(params === undefined ? [] : [params]), ...manifest.varsFiles.map((file) => file.value)],
    datasets,
  };
}

/** The deploy set of a manifest: the common set, plus every stage's deps and outputs. */
export function deployProtectedSet(manifest: Manifest, manifestPath = 'sluice.yaml'): DeployProtectedSet {
  const deps: string[] = [];
  const outputs: { stage: string; path: string }[] = [];
  for (const pipeline of manifest.pipelines.values()) {
    for (const stage of pipeline.stages.values()) {
      for (const dep of stage.deps) deps.push(dep.value);
      for (const out of [...stage.outs, ...stage.metrics])
        outputs.push({ stage: `${pipeline.name}.${stage.name}`, path: out.value });
    }
  }
  return { ...protectedSetOf(manifest, manifestPath), deps, outputs };
}
