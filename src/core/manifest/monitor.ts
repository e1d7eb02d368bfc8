// An environment's `monitor:` section: how its schedule is spelled (read by
// the engine's monitor too, so the two can never disagree) and what only the
// whole manifest can say about it (metric files no monitor command writes,
// baselines no stage declares, a schedule that is not a duration).
import { normalizeRelative } from '../paths';
import type { ManifestDiagnostic } from './diagnostics';
import type { LocatedValue, Manifest, MonitorDecl } from './model';
import { metricFile, metricFilesOf, pipelineOf, type SemanticContext } from './semantics';
import { closestName } from './spelling';

/** How many consecutive failures trigger `on_failure` when `after:` is not written. */
export const DEFAULT_MONITOR_AFTER = 3;

const UNITS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Words people write for a unit, mapped to the letter `every:` takes. */
const UNIT_WORDS: Readonly<Record<string, string>> = {
  s: 's',
  sec: 's',
  secs: 's',
  second: 's',
  seconds: 's',
  m: 'm',
  min: 'm',
  mins: 'm',
  minute: 'm',
  minutes: 'm',
  h: 'h',
  hr: 'h',
  hrs: 'h',
  hour: 'h',
  hours: 'h',
  d: 'd',
  day: 'd',
  days: 'd',
};

export type EveryReading =
  | { readonly ok: true; readonly ms: number }
  | { readonly ok: false; readonly suggestion: string | undefined };

/** `30s`, `15m`, `2h`, `1d` in milliseconds; else the spelling to propose (`15 minutes` → `15m`), if any. */
export function parseEvery(value: string | number): EveryReading {
  if (typeof value === 'number')
    return { ok: false, suggestion: value > 0 && Number.isInteger(value) ? `${value}s` : undefined };
  const exact = /^([1-9][0-9]*)([smhd])$/.exec(value);
  if (exact) return { ok: true, ms: Number(exact[1]) * UNITS[exact[2]!]! };
  const loose = /^\s*([0-9]+)\s*([a-z]+)\s*$/i.exec(value);
  const unit = loose ? UNIT_WORDS[loose[2]!.toLowerCase()] : undefined;
  const amount = loose ? Number(loose[1]) : 0;
  return { ok: false, suggestion: unit !== undefined && amount > 0 ? `${amount}${unit}` : undefined };
}

/** Diagnostics of every environment's `monitor:`, beyond what the schema says. */
export function checkMonitors(context: SemanticContext, out: ManifestDiagnostic[]): void {
  for (const environment of context.manifest.environments.values()) {
    if (environment.monitor === undefined) continue;
    checkEvery(environment.monitor.every, out);
    checkMonitorMetrics(context, environment.name, environment.monitor, out);
  }
}

function checkEvery(every: LocatedValue | undefined, out: ManifestDiagnostic[]): void {
  // A bare number is the schema's wrong-type diagnostic already.
  if (every === undefined || typeof every.value === 'number') return;
  const reading = parseEvery(every.value);
  if (reading.ok) return;
  const written = every.value;
  out.push({
    severity: 'error',
    code: 'invalid-duration',
    message: `\`every: ${written}\` is not a duration: write a number and one of s, m, h, d${
      reading.suggestion === undefined ? ', as `30s` or `15m`' : `, here \`${reading.suggestion}\``
    }.`,
    start: every.start,
    end: every.end,
    ...(reading.suggestion === undefined
      ? {}
      : {
          fixes: [
            {
              title: `Change to \`${reading.suggestion}\``,
              edits: [{ start: every.start, end: every.end, newText: reading.suggestion }],
              preferred: true,
            },
          ],
        }),
  });
}

function checkMonitorMetrics(
  context: SemanticContext,
  environment: string,
  monitor: MonitorDecl,
  out: ManifestDiagnostic[],
): void {
  const { manifest, text } = context;
  const written = new Set<string>();
  for (const check of monitor.checks)
    for (const file of check.metrics) written.add(normalizeRelative(file.value));
  for (const check of monitor.checks) {
    const file = check.metric ? metricFile(text, check.metric) : undefined;
    if (file && !written.has(normalizeRelative(file.value))) {
      const suggestion = closestName(file.value, written);
      out.push({
        severity: 'error',
        code: 'unknown-metric-file',
        message: `No monitor command of environment \`${environment}\` writes \`${file.value}\`.${
          suggestion !== undefined
            ? ` Did you mean \`${suggestion}\`?`
            : ' List it under `metrics:` of the monitor check whose command writes it.'
        }`,
        start: file.start,
        end: file.end,
        ...(suggestion === undefined
          ? {}
          : {
              fixes: [
                {
                  title: `Change to \`${suggestion}\``,
                  edits: [{ start: file.start, end: file.end, newText: suggestion }],
                  preferred: true,
                },
              ],
            }),
      });
    }
    if (check.noRegression === undefined && check.baseline !== undefined)
      out.push({
        severity: 'warning',
        code: 'unused-baseline',
        message: '`baseline:` is only read by `no_regression:`; add one, or remove the baseline.',
        start: check.baseline.start,
        end: check.baseline.end,
      });
    checkBaseline(manifest, environment, check.baseline, text, out);
  }
}

/** A baseline names a metric of the release, so a stage of the environment's pipeline must declare its file. */
function checkBaseline(
  manifest: Manifest,
  environment: string,
  baseline: MonitorDecl['checks'][number]['baseline'],
  text: string,
  out: ManifestDiagnostic[],
): void {
  const declaration = manifest.environments.get(environment);
  const file = baseline ? metricFile(text, baseline) : undefined;
  if (declaration === undefined || file === undefined) return;
  const pipelineName = pipelineOf(manifest, declaration);
  const pipeline = pipelineName === undefined ? undefined : manifest.pipelines.get(pipelineName);
  if (pipeline === undefined) return;
  const known = metricFilesOf(pipeline);
  if (known.has(normalizeRelative(file.value))) return;
  const suggestion = closestName(file.value, known);
  out.push({
    severity: 'error',
    code: 'unknown-metric-file',
    message: `No stage of pipeline \`${pipeline.name}\` declares the metrics file \`${file.value}\`, so no release carries it.${
      suggestion !== undefined ? ` Did you mean \`${suggestion}\`?` : ''
    }`,
    start: file.start,
    end: file.end,
  });
}
