// A monitored environment's metrics over time, as the plots every face draws:
// one line chart per metric check of its health history (the value each
// monitor run measured, oldest first, on a time axis). The editor opens it
// from a health element of the Environments view or the palette.
import { readHealth, type RecordedHealth } from '../environments/healthHistory';
import type { Workspace } from '../workspace';
import { PLOTS_DOCUMENT_FORMAT, type PlotRow, type PlotsDocument, type PlotView } from './document';

/** How many runs a chart reads, newest first (a monitor every 30 s writes 2,880 a day). */
export const HEALTH_PLOT_RUNS = 500;

/** The fields of each row: when the run was, and what it measured. */
export const HEALTH_TIME_FIELD = 'time';
export const HEALTH_VALUE_FIELD = 'value';

/** The metric checks of a history: those with a value in some run, in the order the newest run lists them. */
export function healthMetricNames(records: readonly RecordedHealth[]): string[] {
  const names = new Set<string>();
  for (const record of records)
    for (const check of record.checks) if (check.value !== null) names.add(check.name);
  return [...names];
}

/** The charts of `checks` (default: every metric check) from runs given newest first. */
export function healthPlotsDocument(
  environment: string,
  records: readonly RecordedHealth[],
  checks: readonly string[] = healthMetricNames(records),
  name: string | null = null,
): PlotsDocument {
  const oldestFirst = [...records].reverse();
  const plots = checks.map((check): PlotView => {
    const rows: PlotRow[] = oldestFirst.flatMap((record) => {
      const value = record.checks.find((candidate) => candidate.name === check)?.value;
      return typeof value === 'number'
        ? [{ [HEALTH_TIME_FIELD]: record.time.slice(0, 19).replace('T', ' '), [HEALTH_VALUE_FIELD]: value }]
        : [];
    });
    return {
      id: `health/${environment}/${check}`,
      path: check,
      stage: `monitor of ${environment}`,
      title: `${check} in ${environment}`,
      template: 'line',
      fields: { x: HEALTH_TIME_FIELD, y: [HEALTH_VALUE_FIELD], actual: null, predicted: null },
      xLabel: 'time (UTC)',
      yLabel: check,
      sources: [
        rows.length > 0
          ? { label: environment, kind: 'rows', rows }
          : {
              label: environment,
              kind: 'error',
              error: {
                code: 'plot-value-missing',
                message: `No monitor run of ${environment} measured ${check}.`,
                hint: null,
                data: { file: check },
              },
            },
      ],
    };
  });
  return { format: PLOTS_DOCUMENT_FORMAT, name, sources: [environment], plots };
}

/** Reads the newest HEALTH_PLOT_RUNS runs of `environment` and charts `checks` (default: all metric checks). */
export async function healthPlots(
  workspace: Workspace,
  environment: string,
  checks?: readonly string[],
): Promise<PlotsDocument> {
  const records = await readHealth(workspace.git, environment, HEALTH_PLOT_RUNS);
  return healthPlotsDocument(environment, records, checks, workspace.manifest.name ?? null);
}
