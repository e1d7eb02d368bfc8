// What `run`, `status` and `logs` say must agree with the disk (issue 12):
// the declared outputs are part of a stage's signature, a cache entry is
// only restored when it holds exactly the declared outputs, nothing is moved
// to the trash that a run produced, links leading out of an output are
// refused, --force forces the named stage only, and logs name the run whose
// outputs are on disk. From the built CLI, on real git repositories.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import {
  clearVariablesRefusedBySimpleGit,
  git,
  removeTree,
  sluice,
  type CliResult,
} from '../support/workspace';

clearVariablesRefusedBySimpleGit();

interface RunJson {
  stages: {
    stage: string;
    result: string;
    reason: string | null;
    runId: string | null;
    code?: string;
    data?: Record<string, unknown>;
  }[];
}
interface StatusJson {
  stages: { stage: string; state: string; reasons: string[] }[];
}

interface Ws {
  readonly root: string;
  cli(args: readonly string[]): CliResult;
  run(args?: readonly string[], status?: number): RunJson;
  status(): StatusJson;
  write(path: string, content: string): void;
  trash(): string[];
}

function workspace(t: TestContext, manifest: string): Ws {
  const root = mkdtempSync(join(tmpdir(), 'sluice-decide-'));
  t.after(() => {
    removeTree(root);
  });
  const write = (path: string, content: string): void => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  };
  git(root, 'init', '--quiet');
  write('sluice.yaml', manifest);
  git(root, 'add', 'sluice.yaml');
  git(root, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '--quiet', '-m', 'manifest');
  const cli = (args: readonly string[]): CliResult => sluice(args, root);
  return {
    root,
    cli,
    write,
    run(args = [], status = 0) {
      const result = cli(['run', ...args, '--json']);
      assert.equal(result.status, status, `sluice run ${args.join(' ')}: ${result.stdout} ${result.stderr}`);
      return JSON.parse(result.stdout) as RunJson;
    },
    status() {
      const result = cli(['status', '--json']);
      assert.equal(result.status, 0, result.stderr);
      return JSON.parse(result.stdout) as StatusJson;
    },
    trash() {
      const folder = join(root, '.sluice', 'trash');
      return existsSync(folder) ? readdirSync(folder, { recursive: true }).map(String).sort() : [];
    },
  };
}

const results = (report: RunJson): Record<string, string> =>
  Object.fromEntries(report.stages.map((s) => [s.stage, s.result]));
const states = (report: StatusJson): Record<string, string> =>
  Object.fromEntries(report.stages.map((s) => [s.stage, s.state]));

const EVALUATE = (outs: string): string => `version: 1
pipelines:
  p:
    stages:
      evaluate:
        run: mkdir -p eval/plots && printf '{"auc":0.9}' > eval/metrics.json && echo x > eval/plots/a.txt
        outs: [${outs}]
`;

void describe('run and status agree with the disk', () => {
  void test('changing the declared outputs makes the stage stale; it runs once, trashes nothing, then is up to date', (t) => {
    const ws = workspace(t, EVALUATE('eval'));
    assert.deepEqual(results(ws.run()), { evaluate: 'ran' });
    ws.write('sluice.yaml', EVALUATE('eval/plots'));
    const stale = ws.status().stages[0]!;
    assert.equal(stale.state, 'stale');
    assert.deepEqual(stale.reasons, ['output eval/plots was added', 'output eval was removed']);
    assert.deepEqual(results(ws.run()), { evaluate: 'ran' }, 'not restored from the entry for `eval`');
    assert.deepEqual(ws.trash(), [], 'the bytes were a run’s: nothing is moved to the trash');
    assert.deepEqual(states(ws.status()), { evaluate: 'up-to-date' });
    assert.deepEqual(results(ws.run()), { evaluate: 'skipped' });
    // Back to `eval`: that declaration ran before, its outputs come back.
    ws.write('sluice.yaml', EVALUATE('eval'));
    assert.deepEqual(results(ws.run()), { evaluate: 'restored' });
    assert.deepEqual(states(ws.status()), { evaluate: 'up-to-date' });
    assert.deepEqual(ws.trash(), []);
    // Up to its parent and back into the sub-folder: each once, then nothing.
    ws.write('sluice.yaml', EVALUATE('eval/plots'));
    assert.deepEqual(results(ws.run()), { evaluate: 'restored' });
    assert.deepEqual(results(ws.run()), { evaluate: 'skipped' });
    assert.deepEqual(ws.trash(), []);
  });

  void test('an output nothing writes fails every run, forced or not, and is never up to date', (t) => {
    const ws = workspace(t, EVALUATE('eval'));
    ws.run();
    ws.write('sluice.yaml', EVALUATE('eval, eval/never.json'));
    for (const args of [[], [], ['--force'], []]) {
      const report = ws.run(args, 1);
      assert.deepEqual(results(report), { evaluate: 'failed' }, `run ${args.join(' ')}`);
      assert.equal(report.stages[0]!.code, 'output-not-written');
      assert.deepEqual(report.stages[0]!.data, { stage: 'p.evaluate', outputs: ['eval/never.json'] });
      assert.deepEqual(states(ws.status()), { evaluate: 'failed' });
    }
    assert.deepEqual(ws.trash(), [], 'what the failed runs wrote was theirs');
    // A metrics file nothing writes is the same.
    ws.write('sluice.yaml', EVALUATE('eval') + '        metrics: [scores.json]\n');
    assert.deepEqual(results(ws.run([], 1)), { evaluate: 'failed' });
    assert.equal(ws.status().stages[0]!.state, 'failed');
  });

  void test('bytes edited by hand are still kept in the trash', (t) => {
    const ws = workspace(t, EVALUATE('eval'));
    ws.run();
    ws.write('eval/plots/a.txt', 'by hand');
    assert.equal(ws.status().stages[0]!.state, 'stale');
    ws.write('sluice.yaml', EVALUATE('eval/plots'));
    assert.deepEqual(results(ws.run()), { evaluate: 'ran' });
    assert.deepEqual(
      ws.trash().filter((path) => path.endsWith('a.txt')).length,
      1,
      'the hand edit was moved, not deleted',
    );
  });

  void test('a renamed stage runs again: its name is an input (SLUICE_STAGE), not taken from the cache', (t) => {
    const named = (name: string): string => `version: 1
pipelines:
  p:
    stages:
      ${name}:
        run: node -e "require('fs').writeFileSync('who.txt', process.env.SLUICE_STAGE)"
        outs: [who.txt]
`;
    const ws = workspace(t, named('first'));
    assert.deepEqual(results(ws.run()), { first: 'ran' });
    ws.write('sluice.yaml', named('second'));
    assert.deepEqual(results(ws.run()), { second: 'ran' });
    assert.equal(readFileSync(join(ws.root, 'who.txt'), 'utf8'), 'second');
    assert.deepEqual(states(ws.status()), { second: 'up-to-date' });
    assert.deepEqual(ws.trash(), []);
  });

  void test('a stage refused before running (a missing dep) says so with a code, and run and status agree', (t) => {
    const ws = workspace(
      t,
      `version: 1
pipelines:
  p:
    stages:
      needy:
        run: cp missing.txt copy.txt
        deps: [missing.txt]
        outs: [copy.txt]
`,
    );
    const refused = ws.run([], 1).stages[0]!;
    assert.equal(refused.result, 'failed');
    assert.equal(refused.code, 'dep-missing');
    assert.deepEqual(refused.data, { params: [], deps: ['missing.txt'], datasets: [] });
    const status = ws.status().stages[0]!;
    assert.notEqual(status.state, 'up-to-date');
    assert.deepEqual(status.reasons, ['dep missing.txt does not exist']);
    const text = ws.cli(['run']);
    assert.match(
      text.stdout,
      /^failed +p\.needy \(dep missing\.txt does not exist\)$/m,
      'no log to point to',
    );
  });

  void test('a stage reading a dataset that is not on disk is refused (dataset-missing), in every mix of what is missing', (t) => {
    // With and without a missing dep too (a missing param is a manifest error before any stage):
    // the refusal names all of them, its code is the dep's first, and the command never runs.
    for (const dep of [false, true]) {
      const ws = workspace(
        t,
        `version: 1
params: params.yaml
datasets:
  raw:
    path: data/raw
pipelines:
  p:
    stages:
      reader:
        run: ls data/raw > listing.txt
        datasets: [raw]
        deps: [${dep ? 'gone.txt' : 'present.txt'}]
        params: [epochs]
        outs: [listing.txt]
`,
      );
      ws.write('params.yaml', 'epochs: 3\n');
      ws.write('present.txt', 'here\n');
      const refused = ws.run([], 1).stages[0]!;
      assert.equal(refused.result, 'failed', `with a missing dep: ${dep}`);
      assert.equal(refused.code, dep ? 'dep-missing' : 'dataset-missing');
      assert.deepEqual(refused.data, {
        params: [],
        deps: dep ? ['gone.txt'] : [],
        datasets: ['raw'],
      });
      assert.ok(!existsSync(join(ws.root, 'listing.txt')), 'the command did not run');
      const status = ws.status().stages[0]!;
      assert.notEqual(status.state, 'up-to-date');
      assert.ok(
        status.reasons.some((reason) => reason.startsWith('dataset raw (data/raw) is not on disk')),
        status.reasons.join('; '),
      );
      if (!dep) {
        ws.write('data/raw/a.csv', 'x\n');
        assert.deepEqual(results(ws.run()), { reader: 'ran' });
      }
    }
  });

  void test('a link in an output that leads out of it fails the stage, naming the link', (t) => {
    const make = (target: string): string => `version: 1
pipelines:
  p:
    stages:
      linky:
        run: mkdir -p out/sub && echo x > out/sub/f.txt && ln -sfn '${target}' out/sub/l
        outs: [out]
`;
    const ws = workspace(t, make('/etc/hostname'));
    const absolute = ws.run([], 1).stages[0]!;
    assert.equal(absolute.code, 'output-link-escapes');
    assert.match(absolute.reason!, /out\/sub\/l → \/etc\/hostname.*leads outside the output/);
    assert.deepEqual(absolute.data, {
      stage: 'p.linky',
      output: 'out',
      link: 'out/sub/l',
      target: '/etc/hostname',
      escape: 'absolute',
    });
    assert.equal(ws.status().stages[0]!.state, 'failed');
    ws.write('sluice.yaml', make('../../sluice.yaml'));
    assert.equal(ws.run([], 1).stages[0]!.code, 'output-link-escapes', '`..` leaving the output');
    ws.write('sluice.yaml', make('../sub/f.txt'));
    assert.deepEqual(results(ws.run()), { linky: 'ran' }, 'a link that stays inside is kept');
  });
});

const CHAIN = `version: 1
pipelines:
  m:
    stages:
      a:
        run: node -e "require('fs').writeFileSync('a.txt', require('fs').readFileSync('in.txt', 'utf8')); console.log('a says ' + require('fs').readFileSync('in.txt', 'utf8'))"
        deps: [in.txt]
        outs: [a.txt]
      b:
        run: node -e "require('fs').writeFileSync('b.txt', 'b' + require('fs').readFileSync('a.txt', 'utf8'))"
        deps: [a.txt]
        outs: [b.txt]
`;

void describe('run --force and logs', () => {
  void test('--force forces the named stage only; --force-upstream forces what it depends on too', (t) => {
    const ws = workspace(t, CHAIN);
    ws.write('in.txt', '1');
    ws.run();
    assert.deepEqual(results(ws.run(['m.b', '--force'])), { a: 'skipped', b: 'ran' });
    assert.deepEqual(results(ws.run(['m.b', '--force-upstream'])), { a: 'ran', b: 'ran' });
    ws.write('in.txt', '2');
    assert.deepEqual(
      results(ws.run(['m.b', '--force'])),
      { a: 'ran', b: 'ran' },
      'a stale upstream still runs',
    );
    assert.deepEqual(results(ws.run(['--force'])), { a: 'ran', b: 'ran' }, 'no target: everything');
    const help = ws.cli(['help', 'run']);
    assert.match(help.stdout, /--force-upstream/);
  });

  void test('after a restore, run --json and logs name the run whose outputs are on disk', (t) => {
    const ws = workspace(t, CHAIN);
    ws.write('in.txt', '1');
    const first = ws.run(['m.a']).stages[0]!;
    assert.equal(first.result, 'ran');
    ws.write('in.txt', '2');
    const second = ws.run(['m.a']).stages[0]!;
    assert.notEqual(second.runId, first.runId);
    ws.write('in.txt', '1');
    const restored = ws.run(['m.a']).stages[0]!;
    assert.equal(restored.result, 'restored');
    assert.equal(restored.runId, first.runId, 'the run that produced the outputs');
    assert.equal(ws.run(['m.a']).stages[0]!.runId, first.runId, 'skipped: the same run');
    const logs = ws.cli(['logs', 'm.a']);
    assert.equal(logs.status, 0, logs.stderr);
    assert.match(
      logs.stdout,
      new RegExp(
        `^— restored from the cache .*: the outputs on disk are from run ${first.runId!} of .*\\.\\na says 1\\n— ran .* exit code 0\\n$`,
      ),
    );
    const json = JSON.parse(ws.cli(['logs', 'm.a', '--json']).stdout) as {
      run: { runId: string };
      restored: { runId: string };
    };
    assert.equal(json.run.runId, first.runId);
    assert.equal(json.restored.runId, first.runId);
    // A run since the restore is what logs shows again.
    ws.write('in.txt', '3');
    ws.run(['m.a']);
    assert.match(ws.cli(['logs', 'm.a']).stdout, /^a says 3\n— ran /);
  });
});
