// Pipelines as a user meets them: `sluice run`, `status` and `logs` from the
// built CLI, on real git repositories with small Node-script stages. A trace
// file outside the workspace tells which stage commands really ran, and when.
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import {
  assertOneLineError,
  clearVariablesRefusedBySimpleGit,
  git,
  removeTree,
  sluice,
  startSluice,
  type CliResult,
} from '../support/workspace';

clearVariablesRefusedBySimpleGit();

/**
 * A stage command: `node tools/stage.js NAME OUT [INPUT…]` writes OUT from its
 * inputs, and appends "NAME start|end TIME" to $TRACE. $SLEEP_MS slows it,
 * $FAIL_STAGE=NAME makes it exit 3, and $MEET (a folder) makes it wait up to
 * $WAIT_MS for another stage to start, tracing "met" or "alone".
 */
const STAGE_SCRIPT = `
const fs = require('node:fs');
const path = require('node:path');
const [name, out, ...inputs] = process.argv.slice(2);
const trace = (what) => fs.appendFileSync(process.env.TRACE, name + ' ' + what + ' ' + Date.now() + '\\n');
trace('start');
const pause = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const sleep = Number(process.env.SLEEP_MS || 0);
if (sleep) pause(sleep);
if (process.env.MEET) {
  // Waits (up to WAIT_MS) for another stage to arrive: two stages meet only if they run at once.
  fs.writeFileSync(path.join(process.env.MEET, name), '');
  const until = Date.now() + Number(process.env.WAIT_MS);
  while (fs.readdirSync(process.env.MEET).length < 2 && Date.now() < until) pause(10);
  trace(fs.readdirSync(process.env.MEET).length >= 2 ? 'met' : 'alone');
}
if (process.env.FAIL_STAGE === name) { console.error(name + ' fails on purpose'); process.exit(3); }
const content = [name, ...inputs.map((input) => fs.readFileSync(input, 'utf8'))].join('|');
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, content);
console.log(name + ' wrote ' + out);
trace('end');
`;

const MANIFEST = `version: 1
params: params.yaml
datasets:
  raw:
    path: data/raw.csv
pipelines:
  main:
    stages:
      a:
        run: node tools/stage.js a out/a.txt data/raw.csv src/a.txt
        datasets: [raw]
        deps: [tools/stage.js, src/a.txt]
        params: [a.level]
        outs: [out/a.txt]
      b:
        run: node tools/stage.js b out/b.txt out/a.txt
        deps: [tools/stage.js, out/a.txt]
        outs: [out/b.txt]
      c:
        run: node tools/stage.js c out/c.txt src/c.txt
        deps: [tools/stage.js, src/c.txt]
        outs: [out/c.txt]
      d:
        run: node tools/stage.js d out/d.txt out/c.txt
        deps: [tools/stage.js, out/c.txt]
        outs: [out/d.txt]
`;

interface Workspace {
  readonly root: string;
  readonly trace: string;
  /** `sluice ARGS` in the workspace, with $TRACE set and `env` added. */
  run(args: readonly string[], env?: Readonly<Record<string, string>>): CliResult;
  /** `sluice run ARGS --json`, parsed; asserts the exit code. */
  runJson(args: readonly string[], status?: number, env?: Readonly<Record<string, string>>): RunJson;
  /** `sluice status --json`, parsed. */
  status(): StatusJson;
  /** Stage names whose command started, in order, since the last call. */
  started(): string[];
  write(path: string, content: string): void;
  read(path: string): string;
}

function workspace(t: TestContext, manifest = MANIFEST): Workspace {
  const root = mkdtempSync(join(tmpdir(), 'sluice-run-'));
  const traceDir = mkdtempSync(join(tmpdir(), 'sluice-trace-'));
  t.after(() => {
    removeTree(root);
    removeTree(traceDir);
  });
  const trace = join(traceDir, 'trace.log');
  writeFileSync(trace, '');
  const write = (path: string, content: string): void => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  };
  git(root, 'init', '--quiet');
  write('sluice.yaml', manifest);
  write('tools/stage.js', STAGE_SCRIPT);
  write('params.yaml', 'a:\n  level: 1\n');
  write('data/raw.csv', 'id,value\n1,2\n');
  write('src/a.txt', 'A1');
  write('src/c.txt', 'C1');
  let seen = 0;
  const run = (args: readonly string[], env: Readonly<Record<string, string>> = {}): CliResult =>
    sluice(args, root, { ...process.env, TRACE: trace, ...env });
  return {
    root,
    trace,
    run,
    runJson(args: readonly string[], status = 0, env: Readonly<Record<string, string>> = {}): RunJson {
      const result = run(['run', ...args, '--json'], env);
      assert.equal(result.status, status, `sluice ${args.join(' ')}: ${result.stderr}`);
      return JSON.parse(result.stdout) as RunJson;
    },
    status(): StatusJson {
      const result = run(['status', '--json']);
      assert.equal(result.status, 0, `sluice status: ${result.stderr}`);
      return JSON.parse(result.stdout) as StatusJson;
    },
    started() {
      const lines = readFileSync(trace, 'utf8').split('\n').filter(Boolean);
      const fresh = lines.slice(seen);
      seen = lines.length;
      return fresh.filter((line) => line.split(' ')[1] === 'start').map((line) => line.split(' ')[0]!);
    },
    write,
    read: (path) => readFileSync(join(root, path), 'utf8'),
  };
}

interface RunJson {
  stages: { pipeline: string; stage: string; result: string; reason: string | null }[];
  checks: { name: string; outcome: string; detail: string; cached: boolean }[];
  metrics: Record<string, Record<string, number>>;
  cancelled: boolean;
}

interface StatusJson {
  stages: { pipeline: string; stage: string; state: string; reasons: string[] }[];
  datasets: { name: string; changed: boolean }[];
  environments: { name: string; release: string | null }[];
}

/** Waits (up to 5 s) until `pid` is gone; a zombie nobody reaps (PID 1 in a container) counts as gone. */
async function waitUntilGone(pid: number): Promise<void> {
  const gone = (): boolean => {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    try {
      return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return true;
    }
  };
  const deadline = Date.now() + 5000;
  while (!gone()) {
    assert.ok(Date.now() < deadline, `process ${pid} is still running`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const results = (report: RunJson): Record<string, string> =>
  Object.fromEntries(report.stages.map((s) => [s.stage, s.result]));
const states = (report: StatusJson): Record<string, string> =>
  Object.fromEntries(report.stages.map((s) => [s.stage, s.state]));
const reasonsOf = (report: StatusJson, stage: string): string[] =>
  report.stages.find((s) => s.stage === stage)!.reasons;

void describe('sluice run', () => {
  void test('the first run runs every stage in order; the second runs none', (t) => {
    const ws = workspace(t);
    assert.deepEqual(states(ws.status()), {
      a: 'never-run',
      b: 'never-run',
      c: 'never-run',
      d: 'never-run',
    });
    const first = ws.runJson(['-j', '1']);
    assert.deepEqual(results(first), { a: 'ran', b: 'ran', c: 'ran', d: 'ran' });
    assert.deepEqual(ws.started(), ['a', 'b', 'c', 'd']);
    assert.equal(ws.read('out/b.txt'), 'b|a|id,value\n1,2\n|A1');

    const second = ws.runJson([]);
    assert.deepEqual(results(second), { a: 'skipped', b: 'skipped', c: 'skipped', d: 'skipped' });
    assert.deepEqual(ws.started(), []);
    assert.deepEqual(states(ws.status()), {
      a: 'up-to-date',
      b: 'up-to-date',
      c: 'up-to-date',
      d: 'up-to-date',
    });
  });

  void test('a changed dep reruns exactly its stage and what depends on it; changed back, the cache restores', (t) => {
    const ws = workspace(t);
    ws.runJson([]);
    ws.started();
    ws.write('src/a.txt', 'A2');
    const status = ws.status();
    assert.deepEqual(states(status), { a: 'stale', b: 'stale', c: 'up-to-date', d: 'up-to-date' });
    assert.deepEqual(reasonsOf(status, 'a'), ['dep src/a.txt changed']);
    assert.deepEqual(reasonsOf(status, 'b'), ['upstream stage a is stale']);

    assert.deepEqual(results(ws.runJson([])), { a: 'ran', b: 'ran', c: 'skipped', d: 'skipped' });
    assert.deepEqual(ws.started().sort(), ['a', 'b']);
    assert.equal(ws.read('out/b.txt'), 'b|a|id,value\n1,2\n|A2');

    ws.write('src/a.txt', 'A1');
    assert.deepEqual(results(ws.runJson([])), {
      a: 'restored',
      b: 'restored',
      c: 'skipped',
      d: 'skipped',
    });
    assert.deepEqual(ws.started(), [], 'nothing ran: the outputs came from the cache');
    assert.equal(ws.read('out/b.txt'), 'b|a|id,value\n1,2\n|A1');
  });

  void test('params, datasets and outputs make a stage stale, with the reason', (t) => {
    const ws = workspace(t);
    ws.runJson([]);
    ws.write('params.yaml', 'a:\n  level: 2\n');
    ws.write('data/raw.csv', 'id,value\n1,3\n');
    ws.write('out/d.txt', 'edited by hand');
    const status = ws.status();
    assert.deepEqual(reasonsOf(status, 'a'), ['dataset raw changed', 'param a.level changed (1 → 2)']);
    assert.deepEqual(reasonsOf(status, 'd'), ['output out/d.txt was modified']);
    assert.deepEqual(states(status), { a: 'stale', b: 'stale', c: 'up-to-date', d: 'stale' });
    assert.deepEqual(
      status.datasets,
      [{ name: 'raw', state: 'no-snapshot', changed: true, snapshot: null }],
      'never snapshotted',
    );

    ws.started();
    assert.deepEqual(results(ws.runJson([])), { a: 'ran', b: 'ran', c: 'skipped', d: 'restored' });
    assert.equal(ws.read('out/d.txt'), 'd|c|C1', 'the output is the run’s again');
    // The hand-edited bytes were not the output of any run: they are kept.
    const trash = join(ws.root, '.sluice', 'trash');
    const kept = readdirSync(trash).map((run) => readFileSync(join(trash, run, 'out/d.txt'), 'utf8'));
    assert.deepEqual(kept, ['edited by hand']);
  });

  void test('a failing stage stops what depends on it; independent branches finish', (t) => {
    const ws = workspace(t);
    const report = ws.runJson(['-j', '1'], 1, { FAIL_STAGE: 'c' });
    assert.deepEqual(results(report), { a: 'ran', b: 'ran', c: 'failed', d: 'not-run' });
    assert.equal(report.stages.find((s) => s.stage === 'c')!.reason, 'exit code 3');
    assert.equal(report.stages.find((s) => s.stage === 'd')!.reason, 'upstream stage c failed');
    assert.deepEqual(report.checks, [], 'no checks on a pipeline with a failure');
    assert.ok(!existsSync(join(ws.root, 'out/d.txt')));
    const status = ws.status();
    assert.deepEqual(states(status), { a: 'up-to-date', b: 'up-to-date', c: 'failed', d: 'never-run' });
    assert.deepEqual(reasonsOf(status, 'c'), ['exit code 3']);

    const text = ws.run(['run'], { FAIL_STAGE: 'c' });
    assert.equal(text.status, 1);
    assert.match(text.stdout, /failed +main\.c \(exit code 3\) — see `sluice logs main\.c`/);
    assert.match(text.stderr, /main\.c +│ c fails on purpose/, 'stage output streams, prefixed');
    const log = ws.run(['logs', 'main.c']);
    assert.equal(log.status, 0, log.stderr);
    // How it ended, said once (was "exit code 3 (exit code 3)").
    assert.match(log.stdout, /^c fails on purpose\n— failed .* exit code 3\n$/);
  });

  void test('independent stages run at the same time', (t) => {
    const ws = workspace(t);
    const meetings = (): string[] =>
      readFileSync(ws.trace, 'utf8')
        .split('\n')
        .filter((line) => / (met|alone) /.test(line))
        .map((line) => line.split(' ').slice(0, 2).join(' '))
        .sort();
    const room = (): string => {
      const dir = mkdtempSync(join(tmpdir(), 'sluice-meet-'));
      t.after(() => {
        removeTree(dir);
      });
      return dir;
    };
    // With two jobs, a and c wait for each other, however slow the machine is.
    ws.runJson(['main.a', 'main.c', '-j', '2'], 0, { MEET: room(), WAIT_MS: '30000' });
    assert.deepEqual(meetings(), ['a met', 'c met']);
    // With one job, the first waits alone (c only finds a's mark afterwards):
    // the test tells the two apart.
    writeFileSync(ws.trace, '');
    ws.runJson(['main.a', 'main.c', '-j', '1', '--force'], 0, { MEET: room(), WAIT_MS: '300' });
    assert.deepEqual(meetings(), ['a alone', 'c met']);
  });

  void test('a stage target brings what it depends on, and nothing else', (t) => {
    const ws = workspace(t);
    assert.deepEqual(results(ws.runJson(['main.b'])), { a: 'ran', b: 'ran' });
    assert.deepEqual(ws.started(), ['a', 'b']);
    const wrong = ws.run(['run', 'main.zz']);
    assertOneLineError(wrong, 2, "No pipeline or stage named 'main.zz'");
  });

  void test('stages run in the workspace with SLUICE_* variables', (t) => {
    const ws = workspace(
      t,
      `version: 1
params: params.yaml
pipelines:
  env:
    stages:
      show:
        run: mkdir -p sub && cd sub && node ../tools/env.js
        params: [a.level]
        outs: [env.json]
`,
    );
    ws.write(
      'tools/env.js',
      `const path = require('node:path');
require('node:fs').writeFileSync('../env.json', JSON.stringify({
  cwd: process.env.SLUICE_WORKSPACE === path.resolve('..'),
  p: process.env.SLUICE_PIPELINE,
  s: process.env.SLUICE_STAGE,
  params: JSON.parse(process.env.SLUICE_PARAMS),
}));`,
    );
    ws.runJson([]);
    assert.deepEqual(JSON.parse(ws.read('env.json')), {
      cwd: true,
      p: 'env',
      s: 'show',
      params: { 'a.level': 1 },
    });
  });

  void test('cancelling kills every running command and its children, and records no success', async (t) => {
    const ws = workspace(
      t,
      `version: 1
pipelines:
  slow:
    stages:
      wait:
        run: node tools/spawner.js
        deps: [tools/spawner.js]
        outs: [done.txt]
`,
    );
    // The stage starts a grandchild, writes both pids, then would write its output a minute later.
    ws.write(
      'tools/spawner.js',
      `const { spawn } = require('node:child_process');
const child = spawn('sleep', ['60'], { stdio: 'ignore' });
require('fs').writeFileSync('pids.txt', process.pid + ' ' + child.pid);
setTimeout(() => require('fs').writeFileSync('done.txt', 'done'), 60000);`,
    );
    const running = startSluice(['run', '--json'], ws.root);
    t.after(() => {
      running.crash();
    });
    const pidsFile = join(ws.root, 'pids.txt');
    const deadline = Date.now() + 20_000;
    while (!existsSync(pidsFile) || readFileSync(pidsFile, 'utf8') === '') {
      assert.ok(Date.now() < deadline, 'the stage started');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const pids = readFileSync(pidsFile, 'utf8').split(' ').map(Number);
    running.child.kill('SIGINT'); // only the CLI: it must stop the stage's whole group itself
    const done = await running.done;
    assert.equal(done.status, 130, done.stderr);
    const report = JSON.parse(done.stdout) as RunJson;
    assert.deepEqual(results(report), { wait: 'failed' });
    assert.equal(report.stages[0]!.reason, 'cancelled');
    assert.equal(report.cancelled, true);
    for (const pid of pids) await waitUntilGone(pid);
    assert.deepEqual(states(ws.status()), { wait: 'never-run' });
    assert.ok(!existsSync(join(ws.root, 'done.txt')));
  });

  void test('checks: pass, fail and inconclusive, and metrics reported', (t) => {
    const ws = workspace(
      t,
      `version: 1
pipelines:
  model:
    stages:
      score:
        run: node tools/score.js
        metrics: [metrics.json]
    checks:
      - name: always
        run: node -e 0
      - name: cannot tell
        run: node -e "process.exit(77)"
      - name: accuracy floor
        metric: metrics.json#accuracy
        min: 0.8
      - name: loss ceiling
        metric: metrics.json#loss.train
        max: 0.5
`,
    );
    ws.write(
      'tools/score.js',
      'require(\'fs\').writeFileSync(\'metrics.json\', \'{"accuracy": 0.7, "loss": {"train": 0.2}}\')',
    );
    const report = ws.runJson([], 1);
    assert.deepEqual(
      report.checks.map((c) => [c.name, c.outcome, c.detail]),
      [
        ['always', 'pass', 'exit code 0'],
        ['cannot tell', 'inconclusive', 'exit code 77 (inconclusive)'],
        ['accuracy floor', 'fail', 'metrics.json#accuracy = 0.7, below the minimum 0.8'],
        ['loss ceiling', 'pass', 'metrics.json#loss.train = 0.2 (≤ 0.5)'],
      ],
    );
    assert.deepEqual(report.metrics, { 'metrics.json': { accuracy: 0.7, 'loss.train': 0.2 } });
    // Nothing changed: the results stand without running the checks again…
    const again = ws.runJson([], 1);
    assert.deepEqual(
      again.checks.map((c) => [c.outcome, c.cached]),
      [
        ['pass', true],
        ['inconclusive', true],
        ['fail', true],
        ['pass', true],
      ],
    );
    // …unless forced.
    assert.ok(ws.runJson(['--force'], 1).checks.every((c) => !c.cached));
  });

  void test('clear errors: manifest errors, missing commands, missing and escaping outputs', (t) => {
    const broken = workspace(
      t,
      MANIFEST.replace('needs: []', '').replace('deps: [tools/stage.js, out/a.txt]', 'needs: [zz]'),
    );
    const refused = broken.run(['run']);
    assertOneLineError(refused, 2, 'sluice.yaml:', 'zz');
    assert.deepEqual(broken.started(), [], 'nothing ran');

    const outside = mkdtempSync(join(tmpdir(), 'sluice-outside-'));
    t.after(() => {
      removeTree(outside);
    });
    const ws = workspace(
      t,
      `version: 1
pipelines:
  bad:
    stages:
      missing-command:
        run: no-such-command-anywhere --flag
        outs: [x.txt]
      lazy:
        run: node -e 0
        outs: [never-written.txt]
      leaky:
        run: node -e "require('fs').writeFileSync('link/out.txt', 'x')"
        outs: [link/out.txt]
`,
    );
    mkdirSync(join(ws.root, 'link'));
    const report = ws.runJson([], 1);
    const reasons = Object.fromEntries(report.stages.map((s) => [s.stage, s.reason]));
    assert.equal(reasons['missing-command'], 'command not found (exit 127)');
    assert.equal(reasons['lazy'], 'Stage bad.lazy did not write its output never-written.txt.');
    assert.equal(results(report)['leaky'], 'ran');
    // The manifest was checked (and remembered) while link/ was a folder. Made
    // a link leading out now, the runner itself refuses to take the output.
    removeTree(join(ws.root, 'link'));
    symlinkSync(outside, join(ws.root, 'link'));
    const escaped = ws.runJson(['bad.leaky', '--force'], 1);
    assert.match(
      escaped.stages[0]!.reason!,
      /^Output link\/out\.txt of stage bad\.leaky leads outside the workspace through a link/,
    );
  });

  void test('one run at a time per workspace', async (t) => {
    const ws = workspace(
      t,
      `version: 1
pipelines:
  slow:
    stages:
      nap:
        run: node -e "setTimeout(() => require('fs').writeFileSync('nap.txt', 'z'), 3000)"
        outs: [nap.txt]
`,
    );
    const first = startSluice(['run'], ws.root);
    t.after(() => {
      first.crash();
    });
    const lock = join(ws.root, '.sluice', 'state', 'run.lock');
    const deadline = Date.now() + 20_000;
    while (!existsSync(lock)) {
      assert.ok(Date.now() < deadline, 'the first run took the lock');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assertOneLineError(ws.run(['run']), 1, 'Another sluice run', String(first.child.pid));
    const done = await first.done;
    assert.equal(done.status, 0, done.stderr);
    assert.ok(!existsSync(lock), 'released');
  });
});
