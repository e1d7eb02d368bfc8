// The report as Markdown: what `sluice report` prints for a CI job's summary
// (GitHub's $GITHUB_STEP_SUMMARY, a GitLab merge request note) and what the
// editor could show. Written from the --json object only, so every face says
// the same thing.
import { formatDuration, formatNumber, formatSigned, shortId } from '../format';
import { describeRunCounts } from '../pipelines/runSummary';
import type { ReportJson } from './results';

type StageJson = ReportJson['stages'][number];
type DatasetJson = ReportJson['datasets'][number];

export function reportMarkdown(json: ReportJson): string {
  const { environment } = json;
  const live = environment?.release ?? null;
  const lines: string[] = [
    `## Sluice report${json.workspace === null ? '' : `: ${cell(json.workspace)}`}`,
    '',
  ];
  if (environment === null)
    lines.push(
      'Nothing is live in any environment yet: the metrics and data are not compared with a release.',
    );
  else if (live === null)
    lines.push(
      `Nothing is live in ${cell(environment.name)} yet: the metrics and data are not compared with a release.`,
    );
  else
    lines.push(
      `Compared with what is live in **${cell(environment.name)}**: release ${code(shortId(live))}` +
        (environment.code === null ? '' : ` (code ${code(shortId(environment.code))})`) +
        (environment.deployedAt === null ? '' : `, deployed ${environment.deployedAt}`) +
        '.',
    );
  const side = live === null || environment === null ? null : environment.name;

  lines.push('', '### Stages', '');
  if (json.stages.length === 0) lines.push('No stages are declared.');
  else {
    lines.push(
      json.lastRun === null
        ? 'No stage has run in this workspace yet.'
        : `Last run: ${describeRunCounts(json.summary)}.`,
      '',
      '| Stage | Last run | Now |',
      '| --- | --- | --- |',
      ...json.stages.map(
        (stage) => `| ${code(`${stage.pipeline}.${stage.stage}`)} | ${lastRun(stage)} | ${now(stage)} |`,
      ),
    );
  }

  lines.push('', '### Checks', '');
  if (json.checks.length === 0) lines.push('No checks are declared.');
  else
    lines.push(
      '| Check | Outcome | Detail |',
      '| --- | --- | --- |',
      ...json.checks.map(
        (check) => `| ${cell(check.name)} | ${OUTCOME_WORDS[check.outcome]} | ${cell(check.detail)} |`,
      ),
    );

  lines.push('', side === null ? '### Metrics' : `### Metrics: the workspace against ${cell(side)}`, '');
  if (json.metrics.length === 0) lines.push('No metrics.');
  else
    lines.push(
      `| Metric | ${side === null ? 'live' : cell(side)} | workspace | Change |`,
      '| --- | ---: | ---: | --- |',
      ...json.metrics.map(
        (metric) =>
          `| ${code(metric.name)} | ${number(metric.live)} | ${number(metric.workspace)} | ${metricChange(metric, side !== null)} |`,
      ),
    );

  lines.push('', side === null ? '### Data' : `### Data: the latest snapshots against ${cell(side)}`, '');
  if (json.datasets.length === 0) lines.push('No datasets are declared.');
  else
    lines.push(
      `| Dataset | ${side === null ? 'live' : cell(side)} | latest | Changes | On disk |`,
      '| --- | --- | --- | --- | --- |',
      ...json.datasets.map(
        (dataset) =>
          `| ${code(dataset.dataset)} | ${id(dataset.live)} | ${id(dataset.latest)} | ${dataChanges(dataset, side !== null)} | ${disk(dataset)} |`,
      ),
    );
  return `${lines.join('\n')}\n`;
}

const OUTCOME_WORDS: Readonly<Record<ReportJson['checks'][number]['outcome'], string>> = {
  pass: '✅ pass',
  fail: '❌ **fail**',
  inconclusive: '⚠️ inconclusive',
  'not-run': '➖ not run',
};

function lastRun(stage: StageJson): string {
  switch (stage.result) {
    case 'ran':
      return stage.durationMs === null ? 'ran' : `ran in ${formatDuration(stage.durationMs)}`;
    case 'restored':
      return 'restored from the run cache';
    case 'skipped':
      return 'up to date';
    case 'failed':
      return `❌ **failed**${stage.reason === null ? '' : `: ${cell(stage.reason)}`}`;
    case 'not-run':
      return 'not run';
    case 'queued':
      return 'queued on Slurm';
  }
}

function now(stage: StageJson): string {
  const words = stage.state === 'up-to-date' ? 'up to date' : stage.state.replace(/-/g, ' ');
  // A failure's reason is in the last-run column already.
  const reason = stage.reason !== null && stage.result !== 'failed' ? `: ${cell(stage.reason)}` : '';
  return `${words}${reason}`;
}

function metricChange(metric: ReportJson['metrics'][number], compared: boolean): string {
  if (!compared) return '';
  if (metric.live === null) return 'new';
  if (metric.workspace === null) return 'not in the workspace';
  if (metric.delta === 0) return 'unchanged';
  return `**${formatSigned(metric.delta ?? 0)}**`;
}

function dataChanges(dataset: DatasetJson, compared: boolean): string {
  if (dataset.latest === null) return 'no snapshot';
  if (!compared) return '';
  if (dataset.sameContent) return dataset.live === dataset.latest ? 'none' : 'none (the same files)';
  if (dataset.added === null || dataset.modified === null || dataset.removed === null)
    return 'snapshot records not found';
  return `${dataset.added} added, ${dataset.modified} modified, ${dataset.removed} removed`;
}

function disk(dataset: DatasetJson): string {
  switch (dataset.disk) {
    case 'unchanged':
      return 'as in the latest snapshot';
    case 'changed': {
      const changes = dataset.diskChanges;
      return changes === null
        ? '**changed** since the latest snapshot'
        : `**changed** since the latest snapshot: ${changes.added} added, ${changes.modified} modified, ${changes.removed} removed`;
    }
    case 'missing':
      return 'not on disk';
    case 'no-snapshot':
      return 'on disk, no snapshot yet';
  }
}

function number(value: number | null): string {
  return value === null ? '—' : formatNumber(value);
}

function id(value: string | null): string {
  return value === null ? '—' : code(shortId(value));
}

/** Text in a table cell: one line, and a `|` does not end the cell. */
function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
}

/** A name in a code span (a name holding a backtick stays plain text). */
function code(text: string): string {
  return text.includes('`') ? cell(text) : `\`${cell(text)}\``;
}
