// `sluice init --ci github|gitlab`, and the workflows it writes run for real:
// a workspace pushed to a bare `origin` and a folder remote, then, in a fresh
// clone on this machine, every shell step of the workflow in order, the way
// the CI runs them (GitHub: bash -eo pipefail per step, with $GITHUB_PATH,
// $GITHUB_ENV and $GITHUB_STEP_SUMMARY; GitLab: before_script and script in
// one shell, after_script in another). The one substitution is how Sluice is
// installed: $SLUICE (the CI variable the workflow reads) is this build's
// `node dist/cli.js` instead of a published package, which needs the
// network. Git has no identity and no global config there, as on a fresh runner.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import {
  CLI,
  clearVariablesRefusedBySimpleGit,
  git,
  readTree,
  removeTree,
  ROOT,
  sluice,
  type CliResult,
} from '../support/workspace';

clearVariablesRefusedBySimpleGit();

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/** How this machine installs Sluice: the build under test (ROOT has no spaces: the shim splits on them). */
const THIS_BUILD = `${process.execPath} ${CLI}`;

const base = mkdtempSync(join(tmpdir(), 'sluice-ci-'));
const origin = join(base, 'origin.git');
const blobs = join(base, 'blobs');
const alice = join(base, 'alice');
after(() => {
  removeTree(base);
});

function ok(cwd: string, args: readonly string[]): CliResult {
  const result = sluice(args, cwd);
  assert.equal(result.status, 0, `sluice ${args.join(' ')}: ${result.stderr}${result.stdout}`);
  return result;
}

/** The commit each ref under refs/sluice/ points at on `origin`. */
function originRefs(): Map<string, string> {
  const output = git(base, 'ls-remote', origin, 'refs/sluice/*');
  return new Map(
    output
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [commit, ref] = line.split('\t');
        return [ref!, commit!];
      }),
  );
}

function freshClone(name: string): string {
  const root = join(base, name);
  git(base, 'clone', '--quiet', origin, root);
  return root;
}

/** A process environment like a fresh runner's: no git identity or global config, a home of its own. */
function runnerEnvironment(name: string): NodeJS.ProcessEnv {
  const home = join(base, `${name}-home`);
  mkdirSync(home, { recursive: true });
  const identity = /^(GIT_(AUTHOR|COMMITTER)_(NAME|EMAIL)|EMAIL|SLUICE_.*|GITHUB_.*|CI.*)$/;
  return {
    ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !identity.test(key))),
    HOME: home,
    GIT_CONFIG_GLOBAL: join(home, 'no-gitconfig'),
    GIT_CONFIG_NOSYSTEM: '1',
    // The CI's Node first (setup-node), as on the runner.
    PATH: `${dirname(process.execPath)}${delimiter}${process.env['PATH'] ?? ''}`,
    CI: 'true',
  };
}

function bash(script: string, cwd: string, env: NodeJS.ProcessEnv, file: string): CliResult {
  writeFileSync(file, script);
  const result = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', file], {
    cwd,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

interface GithubStep {
  readonly name?: string;
  readonly uses?: string;
  readonly with?: Record<string, unknown>;
  readonly if?: string;
  readonly run?: string;
}

interface GithubWorkflow {
  readonly on: Record<string, unknown>;
  readonly permissions: Record<string, string>;
  readonly jobs: {
    readonly sluice: {
      readonly 'runs-on': string;
      readonly env: Record<string, string>;
      readonly defaults?: { readonly run: { readonly 'working-directory': string } };
      readonly steps: readonly GithubStep[];
    };
  };
}

interface GitlabJob {
  readonly image: string;
  readonly rules: readonly { readonly if: string }[];
  readonly variables: Record<string, string>;
  readonly before_script: readonly string[];
  readonly script: readonly string[];
  readonly after_script: readonly string[];
  readonly artifacts: { readonly when: string; readonly paths: readonly string[] };
}

function readGithub(root: string): GithubWorkflow {
  return parse(readFileSync(join(root, '.github/workflows/sluice.yml'), 'utf8')) as GithubWorkflow;
}

function readGitlab(root: string): GitlabJob {
  return (parse(readFileSync(join(root, '.gitlab-ci.yml'), 'utf8')) as { sluice: GitlabJob }).sluice;
}

/** The commands the workflow runs, step by step, one line each. */
function commandLines(runs: readonly string[]): string[] {
  return runs.flatMap((run) => run.split('\n').filter((line) => line.trim() !== ''));
}

/** Where each Sluice command comes among the command lines (-1: absent). */
function orderOf(lines: readonly string[], commands: readonly string[]): number[] {
  return commands.map((command) =>
    lines.findIndex((line) => new RegExp(`(^|; then |&& )sluice ${command}( |;|$)`).test(line)),
  );
}

const WORKFLOW_ORDER = ['--version', 'pull', 'validate', 'run', 'stage', 'push', 'report'];

/**
 * A GitHub expression as the runner would evaluate it for this job: only the
 * forms the workflow uses (an unknown form fails the test, so a change to the
 * workflow comes with its meaning here).
 */
function githubExpression(
  text: string,
  context: {
    readonly vars: Record<string, string>;
    readonly secrets: Record<string, string>;
    readonly env: NodeJS.ProcessEnv;
    readonly ref: string;
  },
): string | boolean {
  const inner = /^\$\{\{\s*(.*?)\s*\}\}$/.exec(text.trim())?.[1] ?? text.trim();
  if (inner === '!cancelled()' || inner === 'always()') return true;
  if (inner === "github.ref == format('refs/heads/{0}', github.event.repository.default_branch)")
    return context.ref === 'refs/heads/main';
  const notEmpty = /^env\.([A-Z_]+) != ''$/.exec(inner);
  if (notEmpty) return (context.env[notEmpty[1]!] ?? '') !== '';
  if (!text.includes('${{')) assert.fail(`an expression the test does not know: ${text}`);
  const operands = inner.split('||').map((operand) => operand.trim());
  for (const operand of operands) {
    const variable = /^(vars|secrets)\.([A-Z_]+)$/.exec(operand);
    const value = variable
      ? (context[variable[1] as 'vars' | 'secrets'][variable[2]!] ?? '')
      : /^'([^']*)'$/.exec(operand)?.[1];
    assert.ok(value !== undefined, `an expression the test does not know: ${text}`);
    if (value !== '') return value;
  }
  return '';
}

/** Variables a step wrote to $GITHUB_ENV (NAME=value lines) and folders it added to $GITHUB_PATH. */
function readRunnerFiles(env: NodeJS.ProcessEnv): { vars: Record<string, string>; paths: string[] } {
  const read = (file: string | undefined): string[] =>
    file !== undefined && existsSync(file)
      ? readFileSync(file, 'utf8')
          .split('\n')
          .filter((line) => line !== '')
      : [];
  const vars = Object.fromEntries(
    read(env['GITHUB_ENV']).map((line) => [
      line.slice(0, line.indexOf('=')),
      line.slice(line.indexOf('=') + 1),
    ]),
  );
  return { vars, paths: read(env['GITHUB_PATH']).reverse() };
}

interface JobRun {
  readonly root: string;
  /** Step name → what it printed and its exit code; skipped steps are absent. */
  readonly steps: Map<string, CliResult>;
  readonly env: NodeJS.ProcessEnv;
}

/** Runs the workflow's steps in a fresh clone, as a GitHub runner would on `ref`. */
function runGithubJob(name: string, ref: string, secrets: Record<string, string>): JobRun {
  const root = freshClone(name);
  const workflow = readGithub(root);
  const job = workflow.jobs.sluice;
  const runner = join(base, `${name}-runner`);
  mkdirSync(runner);
  const fresh = runnerEnvironment(name);
  const files = {
    RUNNER_TEMP: join(runner, 'temp'),
    GITHUB_PATH: join(runner, 'path'),
    GITHUB_ENV: join(runner, 'env'),
    GITHUB_STEP_SUMMARY: join(runner, 'summary.md'),
  };
  mkdirSync(files.RUNNER_TEMP);
  for (const file of [files.GITHUB_PATH, files.GITHUB_ENV, files.GITHUB_STEP_SUMMARY])
    writeFileSync(file, '');
  const context = { vars: { SLUICE: THIS_BUILD }, secrets, env: {} as NodeJS.ProcessEnv, ref };
  const jobEnv = Object.fromEntries(
    Object.entries(job.env).map(([key, value]) => [key, String(githubExpression(value, context))]),
  );
  const env: NodeJS.ProcessEnv = {
    ...fresh,
    ...files,
    ...jobEnv,
    GITHUB_REF: ref,
    GITHUB_WORKSPACE: root,
    GITHUB_ACTIONS: 'true',
  };
  const cwd = join(root, job.defaults?.run['working-directory'] ?? '.');
  const steps = new Map<string, CliResult>();
  job.steps.forEach((step, index) => {
    const stepName = step.name ?? `step ${index + 1}`;
    if (step.uses !== undefined) {
      // What the two actions do, done by this test: a clone with the full history, and Node 20.
      if (step.uses.startsWith('actions/checkout@')) {
        assert.equal(step.with?.['fetch-depth'], 0, 'checkout takes the full history');
        assert.ok(Number(git(root, 'rev-list', '--count', 'HEAD')) > 1, 'the clone has the full history');
      } else if (step.uses.startsWith('actions/setup-node@')) {
        assert.equal(String(step.with?.['node-version']), '20');
        assert.match(process.version, /^v20\./, 'the tests run on Node 20');
      } else assert.fail(`an action the test does not know: ${step.uses}`);
      return;
    }
    assert.ok(step.run !== undefined, `${stepName} is a shell step`);
    const written = readRunnerFiles(env);
    const stepEnv: NodeJS.ProcessEnv = {
      ...env,
      ...written.vars,
      PATH: [...written.paths, env['PATH']].join(delimiter),
    };
    if (step.if !== undefined && githubExpression(step.if, { ...context, env: stepEnv }) !== true) return;
    const result = bash(step.run, cwd, stepEnv, join(runner, `step-${index + 1}.sh`));
    assert.equal(
      result.status,
      0,
      `step "${stepName}" exits 0:\n$ ${step.run}\n${result.stdout}${result.stderr}`,
    );
    steps.set(stepName, result);
  });
  return { root, steps, env };
}

/** Runs the GitLab job in a fresh clone: before_script and script in one shell, after_script in another. */
function runGitlabJob(name: string, branch: string): { root: string; script: CliResult; after: CliResult } {
  const root = freshClone(name);
  const job = readGitlab(root);
  const runner = join(base, `${name}-runner`);
  mkdirSync(join(runner, 'tmp'), { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...runnerEnvironment(name),
    ...job.variables,
    // The CI/CD variable of the same name overrides the file's: this build.
    SLUICE: THIS_BUILD,
    TMPDIR: join(runner, 'tmp'),
    GITLAB_CI: 'true',
    CI_PROJECT_DIR: root,
    CI_PIPELINE_SOURCE: 'push',
    CI_COMMIT_BRANCH: branch,
    CI_DEFAULT_BRANCH: 'main',
  };
  const script = bash([...job.before_script, ...job.script].join('\n'), root, env, join(runner, 'script.sh'));
  const after = bash(job.after_script.join('\n'), root, env, join(runner, 'after.sh'));
  return { root, script, after };
}

before(() => {
  git(base, 'init', '--quiet', '--bare', '--initial-branch=main', origin);
  mkdirSync(blobs);
  ok(base, ['init', alice, '--example', 'churn', '--ci', 'github']);
  git(alice, 'config', 'user.name', 'Alice');
  git(alice, 'config', 'user.email', 'alice@sluice.invalid');
  git(alice, 'remote', 'add', 'origin', origin);
  ok(alice, ['remote', 'add', 'team', blobs, '--default']);
  ok(alice, ['init', '--ci', 'gitlab']);
  git(alice, 'add', '--all');
  git(alice, 'commit', '--quiet', '-m', 'A default remote, and the GitLab pipeline');
  git(alice, 'push', '--quiet', 'origin', 'HEAD:refs/heads/main');
  ok(alice, ['snapshot']);
  ok(alice, ['run']);
  ok(alice, ['stage']);
  ok(alice, ['promote', '--yes']);
  ok(alice, ['push']);
});

void describe('sluice init --ci', () => {
  void test('github: a workflow that parses, with the steps in order and credentials from secrets only', () => {
    const workflow = readGithub(alice);
    assert.deepEqual(Object.keys(workflow.on).sort(), ['pull_request', 'push', 'workflow_dispatch']);
    assert.equal(workflow.permissions['contents'], 'write', 'push moves refs on origin');
    const job = workflow.jobs.sluice;
    assert.equal(job['runs-on'], 'ubuntu-latest');
    assert.equal(job.steps[0]!.uses, 'actions/checkout@v4');
    assert.equal(job.steps[1]!.uses, 'actions/setup-node@v4');
    const runs = job.steps.flatMap((step) => (step.run === undefined ? [] : [step.run]));
    const order = orderOf(commandLines(runs), WORKFLOW_ORDER);
    assert.ok(
      order.every((at, i) => at >= 0 && (i === 0 || at > order[i - 1]!)),
      `${WORKFLOW_ORDER.join(', ')} in this order: ${order.join(', ')}`,
    );
    // Each Sluice step is one plain command, with no CI expression inside.
    for (const command of ['pull', 'validate', 'run', 'stage', 'push'])
      assert.ok(runs.includes(`sluice ${command}`), `a step that is just \`sluice ${command}\``);
    assert.ok(runs.includes('sluice report >> "$GITHUB_STEP_SUMMARY"'));
    for (const run of runs) assert.doesNotMatch(run, /\$\{\{/, 'no expression inside a shell step');
    const push = job.steps.find((step) => step.run === 'sluice push')!;
    assert.match(push.if ?? '', /default_branch/, 'push on the default branch only');
    const report = job.steps.find((step) => step.run?.startsWith('sluice report') === true)!;
    assert.match(report.if ?? '', /!cancelled\(\)/, 'the report comes even when a step failed');
    // How Sluice is run: $SLUICE, a CI variable with no default (a guessed package name could be anyone's).
    assert.equal(job.env['SLUICE'], '${{ vars.SLUICE }}');
    for (const secret of [
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'SLUICE_SSH_KEY',
      'SLUICE_SSH_KNOWN_HOSTS',
    ])
      assert.equal(job.env[secret], `\${{ secrets.${secret} }}`);
    assert.doesNotMatch(
      readFileSync(join(alice, 'sluice.yaml'), 'utf8'),
      /AWS_|SLUICE_SSH|PRIVATE KEY|password|token/i,
    );
    assert.equal(git(alice, 'ls-files', '.github/workflows/sluice.yml'), '.github/workflows/sluice.yml');
  });

  void test('gitlab: added to an existing workspace, it parses, with the script in order and the report kept', () => {
    const job = readGitlab(alice);
    assert.equal(job.image, 'node:20');
    assert.equal(job.variables['GIT_DEPTH'], '0', 'the full history');
    assert.equal(job.variables['SLUICE'], '');
    const order = orderOf(
      commandLines([...job.before_script, ...job.script, ...job.after_script]),
      WORKFLOW_ORDER,
    );
    assert.ok(
      order.every((at, i) => at >= 0 && (i === 0 || at > order[i - 1]!)),
      `${WORKFLOW_ORDER.join(', ')} in this order: ${order.join(', ')}`,
    );
    assert.deepEqual(job.script.slice(0, 4), [
      'sluice pull',
      'sluice validate',
      'sluice run',
      'sluice stage',
    ]);
    assert.ok(job.after_script.includes('sluice report --out sluice-report.md'));
    assert.deepEqual(job.artifacts, {
      when: 'always',
      expose_as: 'Sluice report',
      paths: ['sluice-report.md'],
    });
    assert.ok(job.rules.some((rule) => rule.if.includes('CI_DEFAULT_BRANCH')));
  });

  void test('an existing workflow is replaced only with --force; a workspace is needed; an unknown CI is refused', () => {
    const file = join(alice, '.gitlab-ci.yml');
    const before = readFileSync(file, 'utf8');
    writeFileSync(file, 'mine: true\n');
    const refused = sluice(['init', '--ci', 'gitlab'], alice);
    assert.equal(refused.status, 2);
    assert.match(
      refused.stderr,
      /^sluice: .*\.gitlab-ci\.yml already exists\. Pass --force to replace it\.\n$/,
    );
    assert.equal(readFileSync(file, 'utf8'), 'mine: true\n');
    ok(alice, ['init', '--ci', 'gitlab', '--force']);
    assert.equal(readFileSync(file, 'utf8'), before);
    assert.equal(git(alice, 'status', '--porcelain'), '', 'the same file as committed');

    const empty = mkdtempSync(join(base, 'empty-'));
    const nowhere = sluice(['init', '--ci', 'github'], empty);
    assert.equal(nowhere.status, 2);
    assert.match(nowhere.stderr, /^sluice: No sluice\.yaml in .*: --ci adds a workflow to a workspace\./);
    assert.equal(existsSync(join(empty, '.github')), false);
    const unknown = sluice(['init', '--ci', 'jenkins'], alice);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /There is no CI named 'jenkins'\. Available: github, gitlab\./);
  });

  void test('a workspace in a folder of its repository: the workflow at the root, working in that folder', () => {
    const repository = mkdtempSync(join(base, 'mono-'));
    git(repository, 'init', '--quiet');
    mkdirSync(join(repository, 'ml'));
    ok(join(repository, 'ml'), ['init']);
    ok(join(repository, 'ml'), ['init', '--ci', 'github']);
    ok(join(repository, 'ml'), ['init', '--ci', 'gitlab']);
    assert.equal(readGithub(repository).jobs.sluice.defaults?.run['working-directory'], 'ml');
    const gitlab = readGitlab(repository);
    assert.equal(gitlab.before_script.at(-1), 'cd "ml"');
    assert.ok(gitlab.after_script.includes('cd "ml"'));
    assert.deepEqual(gitlab.artifacts.paths, ['ml/sluice-report.md']);
    assert.equal(existsSync(join(repository, 'ml', '.github')), false);
  });
});

void describe("the workflow's shell steps, run in a fresh clone on this machine", () => {
  void test('github, on the default branch: every step exits 0, push moves the refs, the summary holds the report', () => {
    const pushed = originRefs();
    // A key and known hosts as the secrets would give them (the folder remote does not use them).
    const keyFile = join(base, 'ci-key');
    const keygen = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile]);
    const key = keygen.status === 0 ? readFileSync(keyFile, 'utf8').trim() : 'not a key';
    const job = runGithubJob('github-main', 'refs/heads/main', {
      SLUICE_SSH_KEY: key,
      SLUICE_SSH_KNOWN_HOSTS:
        'sluice.invalid ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMQ0yDtT2b3r4ipLkSPs6DFGYGjbp4XyfUDHqzkwZbvm',
    });
    assert.deepEqual(
      [...job.steps.keys()],
      [
        'Install Sluice',
        'Sluice version',
        'SSH credentials',
        'Pull the data and the run cache',
        'Validate the manifest',
        'Run the stale stages and the checks',
        'Stage a release',
        'Push the records and the data',
        'Report',
      ],
    );
    assert.equal(job.steps.get('Sluice version')!.stdout, `sluice ${VERSION}\n`);
    // The data came with pull; every stage came back from the run cache, none ran.
    assert.deepEqual(readTree(join(job.root, 'data/raw')), readTree(join(alice, 'data/raw')));
    assert.match(job.steps.get('Run the stale stages and the checks')!.stdout, /0 ran, 2 restored/);
    assert.equal(
      readFileSync(join(job.root, 'models/model.json'), 'utf8'),
      readFileSync(join(alice, 'models/model.json'), 'utf8'),
    );
    // The SSH step left a config Sluice's ssh reads, with the key and the known hosts, and nothing else.
    const { vars } = readRunnerFiles(job.env);
    const config = vars['SLUICE_SSH_CONFIG'] ?? '';
    assert.ok(config !== '' && existsSync(config), 'SLUICE_SSH_CONFIG names the config');
    assert.equal(statSync(join(dirname(config), 'key')).mode & 0o777, 0o600);
    assert.equal(readFileSync(join(dirname(config), 'key'), 'utf8'), `${key}\n`);
    const resolved = spawnSync('ssh', ['-G', '-F', config, 'sluice.invalid'], { encoding: 'utf8' });
    // Where OpenSSH is installed (.ci/run installs it), it reads the config as Sluice's ssh will.
    if ((resolved.error as NodeJS.ErrnoException | undefined)?.code !== 'ENOENT') {
      assert.equal(resolved.status, 0, resolved.stderr);
      assert.ok(resolved.stdout.includes(`identityfile ${join(dirname(config), 'key')}`));
      assert.ok(resolved.stdout.includes(`userknownhostsfile ${join(dirname(config), 'known_hosts')}`));
      assert.match(resolved.stdout, /^stricthostkeychecking (ask|true|yes)$/m, 'host keys are still checked');
    }
    // Push ran on the default branch: the new staging deployment is on origin.
    const now = originRefs();
    assert.notEqual(
      now.get('refs/sluice/environments/staging'),
      pushed.get('refs/sluice/environments/staging'),
    );
    assert.equal(
      now.get('refs/sluice/environments/staging'),
      git(job.root, 'rev-parse', 'refs/sluice/environments/staging'),
    );
    // The summary is the report, compared with what is live in production.
    const summary = readFileSync(job.env['GITHUB_STEP_SUMMARY']!, 'utf8');
    assert.equal(job.steps.get('Report')!.stdout, '', 'the report went to the summary');
    assert.match(summary, /^## Sluice report: churn-model$/m);
    assert.match(summary, /Compared with what is live in \*\*production\*\*: release `[0-9a-f]{12}`/);
    assert.match(summary, /Last run: 0 ran, 2 restored, 0 up to date, 0 failed, checks 2\/2 passed\./);
    assert.match(summary, /\| `train\.train` \| restored from the run cache \| up to date \|/);
    assert.match(summary, /\| `metrics\.json#accuracy` \| [0-9.]+ \| [0-9.]+ \| unchanged \|/);
    assert.match(
      summary,
      /\| `events` \| `[0-9a-f]{12}` \| `[0-9a-f]{12}` \| none \| as in the latest snapshot \|/,
    );
  });

  void test('github, on another branch: the push step is skipped and origin is left as it was', () => {
    const pushed = originRefs();
    const job = runGithubJob('github-branch', 'refs/heads/feature', {});
    assert.ok(!job.steps.has('Push the records and the data'));
    assert.ok(!job.steps.has('SSH credentials'), 'no SSH secret: no SSH step');
    assert.ok(job.steps.has('Stage a release') && job.steps.has('Report'));
    assert.deepEqual(originRefs(), pushed);
    assert.match(readFileSync(job.env['GITHUB_STEP_SUMMARY']!, 'utf8'), /^## Sluice report: churn-model$/m);
  });

  void test('gitlab, on the default branch: the script and after_script exit 0, push moves the refs, the report is the artifact', () => {
    const pushed = originRefs();
    const job = runGitlabJob('gitlab-main', 'main');
    assert.equal(job.script.status, 0, `script:\n${job.script.stdout}${job.script.stderr}`);
    assert.equal(job.after.status, 0, `after_script:\n${job.after.stdout}${job.after.stderr}`);
    assert.match(job.script.stdout, new RegExp(`^sluice ${VERSION.replace(/\./g, '\\.')}$`, 'm'));
    assert.notEqual(
      originRefs().get('refs/sluice/environments/staging'),
      pushed.get('refs/sluice/environments/staging'),
    );
    const report = readFileSync(join(job.root, 'sluice-report.md'), 'utf8');
    assert.match(report, /^## Sluice report: churn-model$/m);
    assert.match(report, /Compared with what is live in \*\*production\*\*/);
  });
});
