// Paths the manifest may not write: every stage output (outs and metrics) and
// every deploy folder is judged by the rules of core/paths/protectedPaths.ts, the
// same rules the runner and deploy apply again just before they write. Here
// they become error diagnostics on the offending entry.
import {
  deployRemedy,
  deployViolation,
  describeViolation,
  foldPath,
  outputRemedy,
  outputViolation,
  type Violation,
} from '../paths/protectedPaths';
import { deployProtectedSet, protectedSetOf } from './protectedSets';
import { normalizeRelative, type FileProbe } from '../paths';
import type { ManifestDiagnostic } from './diagnostics';
import type { Located, Manifest } from './model';

/**
 * With a probe, a path is also judged by where links make it lead, and so
 * are the protected paths: `out -> .git` is `.git`.
 */
export function checkProtectedPaths(
  manifest: Manifest,
  probe: FileProbe | undefined,
  out: ManifestDiagnostic[],
): void {
  const resolve = (path: string): string | undefined => {
    const real = probe?.resolve?.(path);
    return real === undefined || foldPath(real) === foldPath(path) ? undefined : real;
  };
  const withLinks = (paths: readonly string[]): string[] =>
    probe?.resolve ? [...paths, ...paths.flatMap((p) => resolve(p) ?? [])] : [...paths];
  const base = protectedSetOf(manifest);
  const set = probe?.resolve
    ? {
        ...base,
        params: withLinks(base.params),
        datasets: [
          ...base.datasets,
          ...base.datasets.flatMap((d) => {
            const real = resolve(d.path);
            return real === undefined ? [] : [{ name: d.name, path: real }];
          }),
        ],
      }
    : base;
  for (const pipeline of manifest.pipelines.values()) {
    for (const stage of pipeline.stages.values()) {
      const deps = withLinks(stage.deps.map((dep) => dep.value));
      for (const located of [...stage.outs, ...stage.metrics]) {
        const lexical = outputViolation(located.value, set, deps, stage.name);
        if (lexical) {
          out.push(outputDiagnostic(located, lexical, undefined));
          continue;
        }
        const through = resolve(located.value);
        const linkedViolation =
          through === undefined ? undefined : outputViolation(through, set, deps, stage.name);
        if (linkedViolation) out.push(outputDiagnostic(located, linkedViolation, through));
      }
    }
  }
  let deploySet: ReturnType<typeof deployProtectedSet> | undefined;
  for (const environment of manifest.environments.values()) {
    const path = environment.deploy?.path;
    if (!path) continue;
    deploySet ??= deployProtectedSet(manifest);
    let violation = deployViolation(path.value, deploySet);
    const through = violation ? undefined : resolve(path.value);
    if (through !== undefined) violation = deployViolation(through, deploySet);
    if (!violation) continue;
    out.push({
      severity: 'error',
      code: 'protected-deploy-path',
      message: `The deploy path \`${path.value}\` of environment \`${environment.name}\`${linked(through)} ${describeViolation(violation)}. ${deployRemedy()}`,
      start: path.start,
      end: path.end,
    });
  }
}

function linked(through: string | undefined): string {
  return through === undefined ? '' : ` (through a link, it leads to \`${through}\`)`;
}

function outputDiagnostic(
  located: Located,
  violation: Violation,
  through: string | undefined,
): ManifestDiagnostic {
  if (violation.kind === 'dataset') {
    return {
      severity: 'error',
      code: 'output-in-dataset',
      message: `Output \`${normalizeRelative(located.value)}\`${linked(through)} overlaps dataset \`${violation.owner}\` (\`${normalizeRelative(violation.protectedPath)}\`): datasets are inputs that snapshots version, so stages must write elsewhere.`,
      start: located.start,
      end: located.end,
    };
  }
  const code = violation.kind === 'dep' ? 'output-overlaps-dep' : 'protected-output';
  return {
    severity: 'error',
    code,
    message: `Output \`${located.value}\`${linked(through)} ${describeViolation(violation)}: ${outputRemedy(violation)}`,
    start: located.start,
    end: located.end,
  };
}
