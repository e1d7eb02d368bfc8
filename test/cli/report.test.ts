// `sluice report` on the churn example, through the built CLI: the Markdown a
// CI job posts names the last run's stages, the checks and the metric deltas
// against what is live; --json is one object valid against its schema; with
// nothing live the report says so and exits 0; it runs nothing and records
// nothing, writing only --out.
import Ajv2020 from 'ajv/dist/2020';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { formatSigned } from '../../src/core/format';
import type { ReportJson } from '../../src/core/operations/results';
import { commitEverything, environmentWorkspace, onlyJson } from '../support/environments';
import {
  clearVariablesRefusedBySimpleGit,
  git,
  readTree,
  removeTree,
  ROOT,
  sluice,
  sluiceRefs,
  type CliResult,
} from '../support/workspace';

clearVariablesRefusedBySimpleGit();

const SCHEMAS = join(ROOT, 'src/cli/schemas');
const ajv = new Ajv2020({ allErrors: true, strict: true });
for (const file of readdirSync(SCHEMAS).filter((name) => name.endsWith('.schema.json')))
  ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS, file), 'utf8')) as object);
const validateReport = ajv.getSchema('https://sluice.dev/schemas/v1/report.json')!;

const made: string[] = [];
after(() => {
  for (const dir of made.splice(0)) removeTree(dir);
});

/** Runs `sluice ARGS` and asserts it exited `status`. */
function ok(root: string, args: readonly string[], status = 0): CliResult {
  const result = sluice(args, root);
  assert.equal(result.status, status, `sluice ${args.join(' ')}: ${result.stderr}${result.stdout}`);
  return result;
}

/** `sluice report --json ARGS`: exit 0, nothing on stderr, one object valid against the schema. */
function reportJson(root: string, ...args: string[]): ReportJson {
  const result = ok(root, ['report', '--json', ...args]);
  assert.equal(result.stderr, '', 'report writes nothing to stderr');
  const json = onlyJson(result);
  assert.ok(validateReport(json), ajv.errorsText(validateReport.errors));
  return json as unknown as ReportJson;
}

function markdown(root: string, ...args: string[]): string {
  const result = ok(root, ['report', ...args]);
  assert.equal(result.stderr, '', 'report writes nothing to stderr');
  return result.stdout;
}

/** The Markdown table row of `name` (the first cell), as text. */
function row(text: string, name: string): string {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`| ${name} |`));
  assert.ok(line !== undefined, `a row for ${name} in:\n${text}`);
  return line;
}

function churn(): string {
  const parent = mkdtempSync(join(tmpdir(), 'sluice-report-'));
  made.push(parent);
  const root = join(parent, 'churn');
  ok(parent, ['init', root, '--example', 'churn']);
  git(root, 'config', 'user.name', 'Sluice Test');
  git(root, 'config', 'user.email', 'test@sluice.invalid');
  return root;
}

/** What a read-only command must leave as it was: refs, git's view, the stage records and every workspace file. */
function footprint(root: string): unknown {
  const state = (name: string): string => readFileSync(join(root, '.sluice', 'state', name), 'utf8');
  return {
    refs: [...sluiceRefs(root)],
    status: git(root, 'status', '--porcelain', '--ignored'),
    stages: state('stages.json'),
    files: [...readTree(root, /^(\.sluice|\.git)$/)].map(([path, entry]) => [
      path,
      entry.type === 'file' ? entry.content.toString('base64') : entry,
    ]),
  };
}

void describe('sluice report on the churn example', () => {
  let root: string;

  before(() => {
    root = churn();
    ok(root, ['snapshot']);
  });

  void test('before any run: no stage has run, no check result, nothing live; exit 0', () => {
    const json = reportJson(root);
    assert.equal(json.environment, null);
    assert.equal(json.lastRun, null);
    assert.deepEqual(
      json.stages.map((stage) => [stage.stage, stage.result, stage.state]),
      [
        ['prepare', 'not-run', 'never-run'],
        ['train', 'not-run', 'never-run'],
      ],
    );
    assert.ok(json.checks.every((check) => check.outcome === 'not-run'));
    const text = markdown(root);
    assert.match(text, /^## Sluice report: churn-model$/m);
    assert.match(text, /No stage has run in this workspace yet\./);
    assert.match(text, /Nothing is live in any environment yet/);
  });

  void test('after a run, with nothing live: the stages that ran and the checks, said so, exit 0', () => {
    ok(root, ['run']);
    const json = reportJson(root);
    assert.equal(json.environment, null, 'nothing is live anywhere');
    assert.deepEqual(
      json.stages.map((stage) => [stage.stage, stage.result, stage.state]),
      [
        ['prepare', 'ran', 'up-to-date'],
        ['train', 'ran', 'up-to-date'],
      ],
    );
    assert.deepEqual(
      json.checks.map((check) => [check.name, check.outcome]),
      [
        ['enough rows', 'pass'],
        ['accuracy floor', 'pass'],
      ],
    );
    assert.deepEqual(json.summary, {
      ran: 2,
      restored: 0,
      skipped: 0,
      failed: 0,
      notRun: 0,
      queued: 0,
      checks: { passed: 2, failed: 0, total: 2 },
    });
    // No release: the workspace's metrics are listed, compared with nothing.
    assert.ok(json.metrics.some((metric) => metric.name === 'metrics.json#accuracy' && metric.live === null));
    assert.ok(json.datasets.every((dataset) => dataset.live === null && dataset.disk === 'unchanged'));

    const text = markdown(root);
    assert.match(text, /Nothing is live in any environment yet/);
    assert.match(text, /Last run: 2 ran, 0 restored, 0 up to date, 0 failed, checks 2\/2 passed\./);
    assert.match(row(text, '`train.prepare`'), /\| ran in \d/);
    assert.match(row(text, '`train.train`'), /\| ran in \d/);
    assert.match(row(text, 'enough rows'), /pass \| exit code 0 \|/);
    assert.match(row(text, 'accuracy floor'), /pass \| metrics\.json#accuracy = /);

    // Named, an environment with nothing live is said so too.
    const production = reportJson(root, '--env', 'production');
    assert.deepEqual(production.environment, {
      name: 'production',
      release: null,
      code: null,
      pipeline: null,
      deployedAt: null,
    });
    assert.match(markdown(root, '--env', 'production'), /Nothing is live in production yet/);
  });

  void test('an unknown --env: exit 2, one line, and with --json the error envelope of the schema', () => {
    const text = sluice(['report', '--env', 'nosuch'], root);
    assert.equal(text.status, 2);
    assert.match(text.stderr, /^sluice: Unknown environment 'nosuch'\./);
    const json = sluice(['report', '--env', 'nosuch', '--json'], root);
    assert.equal(json.status, 2);
    const failure = onlyJson(json);
    assert.ok(validateReport(failure), ajv.errorsText(validateReport.errors));
    assert.equal((failure['error'] as { code: string }).code, 'not-found');
  });

  void test('against production after a params change and a re-run: what ran, what was up to date, the metric deltas', () => {
    ok(root, ['stage']);
    ok(root, ['promote', '--yes']);
    const promoted = reportJson(root);
    assert.equal(promoted.environment?.name, 'production', 'the last environment with something live');
    assert.ok(promoted.metrics.length > 0 && promoted.metrics.every((metric) => metric.delta === 0));
    assert.match(markdown(root), /Compared with what is live in \*\*production\*\*: release `[0-9a-f]{12}`/);

    writeFileSync(
      join(root, 'params.yaml'),
      readFileSync(join(root, 'params.yaml'), 'utf8').replace('epochs: 400', 'epochs: 60'),
    );
    commitEverything(root, 'fewer epochs');
    ok(root, ['run']);
    const json = reportJson(root);
    assert.deepEqual(
      json.stages.map((stage) => [stage.stage, stage.result]),
      [
        ['prepare', 'skipped'],
        ['train', 'ran'],
      ],
      'prepare reads no epochs: up to date in the last run',
    );
    assert.equal(json.summary.ran, 1);
    assert.equal(json.summary.skipped, 1);
    const live = JSON.parse(
      git(root, 'show', `refs/sluice/releases/${json.environment!.release!}:release.json`),
    ) as { metrics: Record<string, Record<string, number>> };
    const now = JSON.parse(readFileSync(join(root, 'metrics.json'), 'utf8')) as Record<string, number>;
    const changed = json.metrics.filter((metric) => metric.delta !== null && metric.delta !== 0);
    assert.ok(changed.length > 0, `a metric moved with 60 epochs: ${JSON.stringify(json.metrics)}`);
    for (const metric of json.metrics) {
      const key = metric.name.replace(/^metrics\.json#/, '');
      assert.equal(metric.live, live.metrics['metrics.json']![key]);
      assert.equal(metric.workspace, now[key]);
    }

    const text = markdown(root);
    assert.match(text, /Last run: 1 ran, 0 restored, 1 up to date, 0 failed, checks \d\/2 passed\./);
    assert.match(row(text, '`train.prepare`'), /\| up to date \| up to date \|/);
    assert.match(row(text, '`train.train`'), /\| ran in \d/);
    assert.ok(row(text, 'enough rows').includes('exit code 0'));
    assert.match(text, /### Metrics: the workspace against production/);
    for (const metric of changed)
      assert.ok(
        row(text, `\`${metric.name}\``).includes(formatSigned(metric.delta!)),
        `the delta of ${metric.name} (${formatSigned(metric.delta!)}) in:\n${text}`,
      );
  });

  void test('data changes: a new snapshot against the one production used, and a disk that differs from its latest snapshot', () => {
    writeFileSync(
      join(root, 'data/raw/events/events-2024-04.csv'),
      'timestamp,user_id,event\n2024-04-01T00:00:00Z,u001,login\n',
    );
    ok(root, ['snapshot', 'events']);
    appendFileSync(join(root, 'data/raw/users.csv'), 'u999,free,0\n');
    const json = reportJson(root);
    const events = json.datasets.find((dataset) => dataset.dataset === 'events')!;
    assert.notEqual(events.latest, events.live);
    assert.deepEqual([events.added, events.modified, events.removed], [1, 0, 0]);
    assert.equal(events.disk, 'unchanged');
    const users = json.datasets.find((dataset) => dataset.dataset === 'users')!;
    assert.equal(users.latest, users.live);
    assert.equal(users.disk, 'changed');
    assert.deepEqual(users.diskChanges, { added: 0, modified: 1, removed: 0 });
    // The stages are not up to date now: the report says so beside what the last run did.
    assert.ok(json.stages.every((stage) => stage.state === 'stale'));
    assert.ok(json.checks.every((check) => check.outcome === 'not-run'));

    const text = markdown(root);
    assert.match(text, /### Data: the latest snapshots against production/);
    assert.match(row(text, '`events`'), /\| 1 added, 0 modified, 0 removed \| as in the latest snapshot \|/);
    assert.match(
      row(text, '`users`'),
      /\| none \| \*\*changed\*\* since the latest snapshot: 0 added, 1 modified/,
    );
    assert.match(row(text, '`train.train`'), /\| ran in .* \| stale: /);
  });

  void test('it runs nothing and records nothing; --out writes the Markdown and only that', () => {
    const before = footprint(root);
    const logs = readTree(join(root, '.sluice', 'logs'));
    const text = markdown(root);
    reportJson(root, '--env', 'staging');
    const out = join(root, '..', 'summary.md');
    const written = ok(root, ['report', '--out', out]);
    assert.equal(written.stdout, `Wrote the report to ${out}.\n`);
    assert.equal(readFileSync(out, 'utf8'), text);
    const both = ok(root, ['report', '--out', out, '--json']);
    assert.ok(validateReport(onlyJson(both)));
    assert.deepEqual(footprint(root), before, 'refs, records and files are as they were');
    assert.deepEqual([...readTree(join(root, '.sluice', 'logs')).keys()], [...logs.keys()], 'no stage ran');
    assert.deepEqual(readdirSync(join(root, '..')).sort(), ['churn', 'summary.md']);
  });
});

void describe('sluice report on a failed run', () => {
  void test('the failed stage with its reason, the stage after it not run, and still exit 0', () => {
    const root = environmentWorkspace(
      [
        'version: 1',
        'name: broken',
        'pipelines:',
        '  p:',
        '    stages:',
        '      first:',
        '        run: node -e "process.exit(3)"',
        '        outs: [one.txt]',
        '      second:',
        "        run: node -e \"require('fs').writeFileSync('two.txt', '2')\"",
        '        deps: [one.txt]',
        '        outs: [two.txt]',
        '',
      ].join('\n'),
      {},
      'sluice-report-failed-',
    );
    made.push(root);
    ok(root, ['run'], 1);
    const json = reportJson(root);
    assert.deepEqual(
      json.stages.map((stage) => [stage.stage, stage.result, stage.state]),
      [
        ['first', 'failed', 'failed'],
        ['second', 'not-run', 'never-run'],
      ],
    );
    assert.match(json.stages[0]!.reason ?? '', /exit code 3/);
    assert.equal(json.summary.failed, 1);
    const text = markdown(root);
    assert.match(row(text, '`p.first`'), /\*\*failed\*\*: exit code 3/);
    assert.match(text, /Last run: 0 ran, 0 restored, 0 up to date, 1 failed, 1 not run\./);
  });
});
