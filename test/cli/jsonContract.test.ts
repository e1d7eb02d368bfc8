// The `--json` contract (src/cli/schemas/): every command, run for real in a
// git repository, prints exactly one JSON object on stdout whether it
// succeeds, is refused or fails, and that object is valid against the
// command's schema. The schemas are tested too: a wrong object fails them.
import Ajv2020 from 'ajv/dist/2020';
import type { ValidateFunction } from 'ajv';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { JSON_FLAG } from '../../src/cli/command';
import { COMMANDS } from '../../src/cli/commands';
import { OUTCOME_CODES } from '../../src/core/errors';
import { commitEverything, environmentWorkspace } from '../support/environments';
import {
  blobPath,
  clearVariablesRefusedBySimpleGit,
  git,
  listBlobs,
  removeTree,
  ROOT,
  sluice,
  startSluice,
  type CliResult,
} from '../support/workspace';

clearVariablesRefusedBySimpleGit();

const SCHEMAS = join(ROOT, 'src/cli/schemas');
const ajv = new Ajv2020({ allErrors: true, strict: true });
for (const file of readdirSync(SCHEMAS).filter((name) => name.endsWith('.schema.json')))
  ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS, file), 'utf8')) as object);

function schemaOf(command: string): ValidateFunction {
  const validate = ajv.getSchema(`https://sluice.dev/schemas/v1/${command}.json`);
  assert.ok(validate, `a schema for ${command}`);
  return validate;
}

function problems(validate: ValidateFunction, value: unknown): string {
  return validate(value) ? '' : ajv.errorsText(validate.errors, { separator: '\n' });
}

type Json = Record<string, unknown>;

/** The one object a `--json` command printed, checked against its command's schema. */
function contract(command: string, result: CliResult, exitCode: number, errorCode?: string): Json {
  assert.equal(result.status, exitCode, `sluice ${command}: exit code; stderr: ${result.stderr}`);
  const lines = result.stdout.split('\n').filter((line) => line.trim() !== '');
  assert.equal(lines.length, 1, `sluice ${command}: one line on stdout, got:\n${result.stdout}`);
  const json = JSON.parse(lines[0]!) as Json;
  assert.equal(problems(schemaOf(command), json), '', `sluice ${command} --json: ${lines[0]!}`);
  const error = json['error'] as { code: string } | undefined;
  if (errorCode !== undefined)
    assert.equal(error?.code, errorCode, `sluice ${command}: error code in ${lines[0]!}`);
  // A failure always says why; a success never carries an error.
  else assert.equal(error !== undefined, exitCode !== 0, `sluice ${command}: error in ${lines[0]!}`);
  return json;
}

function run(root: string, command: string, ...args: string[]): CliResult {
  return sluice([command, ...args, '--json'], root);
}

const made: string[] = [];
after(() => {
  for (const dir of made.splice(0)) removeTree(dir);
});

void describe('the schemas', () => {
  void test('every command with --json has a versioned schema, and every schema a command', () => {
    const withJson = COMMANDS.filter((command) => command.flags.includes(JSON_FLAG)).map((c) => c.name);
    const files = readdirSync(SCHEMAS)
      .filter((name) => name.endsWith('.schema.json'))
      .map((name) => name.replace('.schema.json', ''));
    assert.deepEqual([...files].sort(), [...withJson, 'error'].sort());
    for (const name of files) {
      const schema = JSON.parse(readFileSync(join(SCHEMAS, `${name}.schema.json`), 'utf8')) as Json;
      assert.equal(schema['$id'], `https://sluice.dev/schemas/v1/${name}.json`);
      assert.equal(schema['$schema'], 'https://json-schema.org/draft/2020-12/schema');
    }
  });

  void test('the error schema documents every outcome code the engine declares', () => {
    const error = JSON.parse(readFileSync(join(SCHEMAS, 'error.schema.json'), 'utf8')) as {
      $defs: { error: { allOf: { if: { properties: { code: { const: string } } } }[] } };
    };
    const documented = error.$defs.error.allOf.map((rule) => rule.if.properties.code.const);
    for (const code of OUTCOME_CODES) assert.ok(documented.includes(code), `${code} is documented`);
  });

  void test('a schema rejects a wrong object: a missing field, a wrong type, an error without its data', () => {
    const snapshot = schemaOf('snapshot');
    const entry = {
      dataset: 'events',
      id: 'a'.repeat(64),
      parent: null,
      changed: true,
      files: 1,
      bytes: 2,
      added: 1,
      modified: 0,
      removed: 0,
      hashed: 1,
    };
    assert.equal(problems(snapshot, { snapshots: [entry] }), '');
    const withoutId: Partial<typeof entry> = { ...entry };
    delete withoutId.id;
    assert.match(problems(snapshot, { snapshots: [withoutId] }), /must have required property 'id'/);
    assert.notEqual(problems(snapshot, { snapshots: [{ ...entry, files: '1' }] }), '');
    const failure = {
      error: { code: 'not-found', message: 'No.', hint: null, data: { sought: 'snapshot', id: 'ab12' } },
    };
    assert.equal(problems(snapshot, failure), '');
    assert.notEqual(
      problems(snapshot, { error: { ...failure.error, hint: undefined } }),
      '',
      'hint is required',
    );
    assert.notEqual(problems(snapshot, { ...failure, extra: 1 }), '', 'a failure is the envelope alone');
    const unsaved = {
      code: 'unsaved-data',
      message: 'Would lose files.',
      hint: null,
      data: { dataset: 'd' },
    };
    assert.notEqual(problems(schemaOf('restore'), { error: unsaved }), '', 'unsaved-data names its paths');
    const refused = { code: 'gate-refused', message: 'Refused.', hint: null, data: { environment: 'p' } };
    assert.notEqual(problems(schemaOf('promote'), { error: refused }), '', 'gate-refused lists every gate');
  });
});

void describe('every command, run for real, prints what its schema says', () => {
  let parent: string;
  let root: string;

  before(() => {
    parent = mkdtempSync(join(tmpdir(), 'sluice-contract-'));
    made.push(parent);
    root = join(parent, 'churn');
    const init = sluice(['init', root, '--example', 'churn'], parent);
    assert.equal(init.status, 0, init.stderr);
    git(root, 'config', 'user.name', 'Sluice Test');
    git(root, 'config', 'user.email', 'test@sluice.invalid');
  });

  void test('validate: clean, with errors, and a missing file', () => {
    contract('validate', run(root, 'validate'), 0);
    writeFileSync(join(parent, 'broken.yaml'), 'version: 1\ncolour: red\n');
    const broken = contract('validate', run(parent, 'validate', 'broken.yaml'), 1, 'manifest-invalid');
    assert.ok((broken['diagnostics'] as unknown[]).length > 0);
    const missing = contract(
      'validate',
      run(parent, 'validate', 'nothing-here.yaml'),
      2,
      'manifest-unreadable',
    );
    assert.equal((missing['error'] as { data: { errno: string } }).data.errno, 'ENOENT');
  });

  void test('outside a workspace, every command that needs one fails with no-workspace', () => {
    const away = mkdtempSync(join(tmpdir(), 'sluice-contract-away-'));
    made.push(away);
    for (const [command, ...args] of [
      ['status'],
      ['log', 'events'],
      ['envs'],
      ['gc'],
      ['run'],
      ['remote', 'list'],
    ])
      contract(command!, run(away, command!, ...args), 2, 'no-workspace');
  });

  void test('datasets: snapshot, log, diff and restore in success, refusal and failure', () => {
    const snapshot = contract('snapshot', run(root, 'snapshot'), 0);
    const first = (snapshot['snapshots'] as { dataset: string; id: string }[]).find(
      (s) => s.dataset === 'events',
    )!;
    contract('snapshot', run(root, 'snapshot', 'nosuch'), 2, 'not-found');
    const log = contract('log', run(root, 'log', 'events'), 0);
    assert.equal((log['snapshots'] as { id: string }[])[0]!.id, first.id);
    contract('log', run(root, 'log', 'nosuch'), 2, 'not-found');
    contract('diff', run(root, 'diff', 'events'), 0);
    contract('diff', run(root, 'diff', 'events', 'ffff'), 2, 'not-found');
    // A change in no snapshot: restore refuses, naming it; --force keeps it in a snapshot first.
    const month = readdirSync(join(root, 'data/raw/events'))[0]!;
    appendFileSync(join(root, 'data/raw/events', month), 'unsaved,row\n');
    const refused = contract('restore', run(root, 'restore', 'events', first.id), 1, 'unsaved-data');
    const data = (refused['error'] as { data: { paths: string[] } }).data;
    assert.deepEqual(data.paths, [month]);
    const restored = contract('restore', run(root, 'restore', 'events', first.id, '--force'), 0);
    assert.equal(restored['id'], first.id);
    assert.notEqual(restored['saved'], null);
    contract('restore', run(root, 'restore', 'events', 'zz'), 2, 'usage');
  });

  void test('pipelines: status, run and logs', () => {
    contract('status', run(root, 'status'), 0);
    contract('run', run(root, 'run'), 0);
    contract('run', run(root, 'run', 'nosuch'), 2);
    contract('logs', run(root, 'logs', 'train.prepare'), 0);
    contract('logs', run(root, 'logs', 'train.prepare', '--all'), 0);
    contract('logs', run(root, 'logs', 'train.nosuch'), 2, 'not-found');
  });

  void test('plots: a page of the declared plots, and a revision it does not know', () => {
    const page = join(parent, 'plots.html');
    const shown = contract('plots', run(root, 'plots', 'show', '--out', page), 0);
    assert.equal(shown['out'], page);
    contract('plots', run(root, 'plots', 'show', 'nosuch', '--out', page), 2, 'unknown-revision');
  });

  void test('environments: stage, promote, rollback, history and envs', () => {
    // The latest snapshot of events is the one restore --force saved, with a row that spoils the model.
    const spoiled = contract('stage', run(root, 'stage'), 1, 'checks-failed');
    assert.equal(spoiled['deployed'], false);
    contract('snapshot', run(root, 'snapshot'), 0);
    const staged = contract('stage', run(root, 'stage', '-m', 'first'), 0);
    assert.equal(staged['deployed'], true);
    contract('promote', run(root, 'promote', '--to', 'staging'), 2, 'not-promoted-into');
    contract('promote', run(root, 'promote', '--to', 'nosuch'), 2, 'not-found');
    const promoted = contract('promote', run(root, 'promote', '--yes'), 0);
    assert.ok((promoted['gates'] as unknown[]).length > 0);
    contract('rollback', run(root, 'rollback', 'production', '--yes'), 1, 'nothing-to-roll-back');
    contract('rollback', run(root, 'rollback', 'production', '--to', 'ffff', '--yes'), 1, 'not-found');
    // Two release ids that share a prefix: the refusal lists both.
    const release = staged['release'] as { id: string };
    const commit = git(root, 'rev-parse', `refs/sluice/releases/${release.id}`);
    for (const twin of ['0000aaaa', '0000bbbb'])
      git(root, 'update-ref', `refs/sluice/releases/${twin.padEnd(64, '0')}`, commit);
    const ambiguous = contract(
      'rollback',
      run(root, 'rollback', 'production', '--to', '0000', '--yes'),
      2,
      'ambiguous-id',
    );
    assert.equal((ambiguous['error'] as { data: { candidates: string[] } }).data.candidates.length, 2);
    for (const twin of ['0000aaaa', '0000bbbb'])
      git(root, 'update-ref', '-d', `refs/sluice/releases/${twin.padEnd(64, '0')}`);
    const history = contract('history', run(root, 'history', 'production'), 0);
    assert.equal((history['deployments'] as unknown[]).length, 1);
    contract('history', run(root, 'history', 'nosuch'), 2, 'not-found');
    contract('envs', run(root, 'envs'), 0);
    // A second release (the same model from changed code) promoted, then rolled back.
    appendFileSync(join(root, 'src/prepare.js'), '// a change that leaves the model as it was\n');
    commitEverything(root, 'a comment');
    const second = contract('stage', run(root, 'stage'), 0);
    assert.notEqual((second['release'] as { id: string }).id, release.id);
    contract('promote', run(root, 'promote', '--yes'), 0);
    const back = contract('rollback', run(root, 'rollback', 'production', '--yes'), 0);
    assert.equal(back['release'], release.id);
    assert.equal(back['action'], 'rollback');
  });

  void test('monitoring: monitor --once and health, passing, failing and refused', () => {
    const ws = environmentWorkspace(
      `version: 1
pipelines:
  p:
    stages:
      build:
        run: echo one > out.txt
        outs: [out.txt]
environments:
  staging:
    from: workspace
    deploy:
      path: deploy/staging
    monitor:
      every: 30s
      checks:
        - name: up
          run: test ! -f down
  production:
    from: staging
`,
      {},
      'sluice-contract-monitor-',
    );
    made.push(ws);
    contract('monitor', run(ws, 'monitor', 'staging', '--once'), 1, 'not-found');
    contract('health', run(ws, 'health', 'staging'), 0);
    contract('stage', run(ws, 'stage'), 0);
    const passed = contract('monitor', run(ws, 'monitor', '--once'), 0);
    assert.equal((passed['runs'] as { outcome: string }[])[0]!.outcome, 'pass');
    writeFileSync(join(ws, 'down'), '');
    contract('monitor', run(ws, 'monitor', 'staging', '--once'), 1, 'monitor-check-failed');
    contract('monitor', run(ws, 'monitor', 'production', '--once'), 2, 'no-monitor');
    contract('monitor', run(ws, 'monitor', 'nosuch', '--once'), 2, 'not-found');
    const health = contract('health', run(ws, 'health', 'staging'), 0);
    assert.equal((health['history'] as unknown[]).length, 2);
    contract('health', run(ws, 'health', 'nosuch'), 2, 'not-found');
  });

  void test('maintenance: gc and fsck, clean and damaged', () => {
    contract('gc', run(root, 'gc', '--dry-run'), 0);
    contract('gc', run(root, 'gc', '--min-age', 'soon'), 2, 'invalid-flag-value');
    contract('fsck', run(root, 'fsck'), 0);
    const blob = listBlobs(root)[0]!;
    writeFileSync(blobPath(root, blob), 'not what was hashed');
    const damaged = contract('fsck', run(root, 'fsck'), 1, 'store-damaged');
    assert.deepEqual(damaged['damaged'], [blob]);
    rmSync(blobPath(root, blob));
  });
});

void describe('remote: add, list, remove and default, shared and local, in success, refusal and failure', () => {
  void test('every subcommand prints the remotes after its change, and every failure one error object', () => {
    const root = environmentWorkspace('version: 1\n', {}, 'sluice-contract-remote-');
    made.push(root);
    const empty = contract('remote', run(root, 'remote', 'list'), 0);
    assert.deepEqual(empty['remotes'], []);
    const added = contract(
      'remote',
      run(
        root,
        'remote',
        'add',
        'archive',
        's3://bucket/sluice',
        '--endpoint',
        'https://minio:9000',
        '--default',
      ),
      0,
    );
    assert.deepEqual(added['change'], {
      action: 'add',
      name: 'archive',
      files: [{ which: 'manifest', path: join(root, 'sluice.yaml') }],
      override: false,
      localDefault: null,
    });
    contract('remote', run(root, 'remote', 'add', 'team', '/srv/team'), 0);
    contract('remote', run(root, 'remote', 'add', 'team', '/srv/other'), 1, 'remote-exists');
    contract('remote', run(root, 'remote', 'add', 'bad', 'ftp://host/x'), 2, 'remote-url-invalid');
    contract('remote', run(root, 'remote', 'add', 'bad', 'ssh://me:secret@host/x'), 2, 'remote-url-invalid');
    contract(
      'remote',
      run(root, 'remote', 'add', 'bad', '/srv/x', '--region', 'eu'),
      2,
      'remote-option-not-s3',
    );
    contract('remote', run(root, 'remote', 'ad'), 2, 'unknown-command');
    const local = contract('remote', run(root, 'remote', 'add', 'team', '/mnt/mirror', '--local'), 0);
    assert.equal((local['change'] as { override: boolean }).override, true);
    contract('remote', run(root, 'remote', 'default', 'team', '--local'), 0);
    const listed = contract('remote', run(root, 'remote', 'list'), 0);
    assert.deepEqual(
      (listed['remotes'] as { name: string; default: boolean; overridden: boolean; url: string }[]).map(
        ({ name, default: isDefault, overridden, url }) => ({ name, isDefault, overridden, url }),
      ),
      [
        { name: 'archive', isDefault: false, overridden: false, url: 's3://bucket/sluice' },
        { name: 'team', isDefault: true, overridden: true, url: '/mnt/mirror' },
      ],
    );
    const missing = contract('remote', run(root, 'remote', 'remove', 'tema'), 2, 'not-found');
    assert.deepEqual((missing['error'] as { data: unknown }).data, {
      sought: 'remote',
      id: 'tema',
      candidates: ['archive', 'team'],
    });
    const removed = contract('remote', run(root, 'remote', 'remove', 'team'), 0);
    assert.deepEqual(
      (removed['change'] as { files: { which: string }[] }).files.map((file) => file.which),
      ['manifest', 'local'],
    );
    writeFileSync(join(root, '.sluice/remotes.yaml'), 'remotes:\n  laptop:\n    url: /x\n    ulr: /y\n');
    const broken = contract('remote', run(root, 'remote', 'list'), 2, 'remote-settings-invalid');
    assert.equal((broken['error'] as { data: { line: number } }).data.line, 4);
  });
});

void describe('import-dvc: written, written with things not carried, refused and invalid', () => {
  void test('each outcome prints one object its schema accepts', () => {
    const root = mkdtempSync(join(tmpdir(), 'sluice-contract-dvc-'));
    made.push(root);
    writeFileSync(
      join(root, 'dvc.yaml'),
      'stages:\n  build:\n    cmd: echo hi > out.txt\n    outs: [out.txt]\n',
    );
    const written = contract('import-dvc', run(root, 'import-dvc'), 0);
    assert.equal(written['written'], join(root, 'sluice.yaml'));
    assert.deepEqual(written['notCarried'], []);
    contract('import-dvc', run(root, 'import-dvc'), 2, 'manifest-exists');
    writeFileSync(
      join(root, 'dvc.yaml'),
      'stages:\n  build:\n    cmd: echo hi > out.txt\n    outs: [out.txt]\n    meta: {owner: me}\n',
    );
    const partial = contract('import-dvc', run(root, 'import-dvc', '--force'), 1, 'not-carried');
    assert.deepEqual(
      (partial['notCarried'] as { code: string }[]).map((item) => item.code),
      ['stage-meta'],
    );
    writeFileSync(join(root, 'dvc.yaml'), 'stages:\n  build: [echo]\n');
    const invalid = contract('import-dvc', run(root, 'import-dvc', '--force'), 2, 'dvc-yaml-invalid');
    assert.deepEqual((invalid['error'] as { data: unknown }).data, {
      file: join(root, 'dvc.yaml'),
      line: 2,
      column: 10,
    });
    contract('import-dvc', run(root, 'import-dvc', 'nowhere'), 2, 'dvc-yaml-not-found');
    contract('import-dvc', run(root, 'import-dvc', '--pipeline', '1st'), 2, 'invalid-flag-value');
  });
});

void describe('Ctrl-C', () => {
  void test('an interrupted run stops its stages, exits 130 and prints one object with error cancelled', async () => {
    const root = environmentWorkspace(
      [
        'version: 1',
        'pipelines:',
        '  p:',
        '    stages:',
        '      wait:',
        `        run: node -e "require('fs').writeFileSync('started.txt', ''); setTimeout(() => {}, 60000)"`,
        '        outs: [done.txt]',
        '',
      ].join('\n'),
      {},
      'sluice-contract-cancel-',
    );
    made.push(root);
    const running = startSluice(['run', '--json'], root);
    try {
      const deadline = Date.now() + 20_000;
      while (!readdirSync(root).includes('started.txt')) {
        assert.ok(Date.now() < deadline, 'the stage started');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      running.child.kill('SIGINT');
      const done = await running.done;
      const json = contract('run', done, 130, 'cancelled');
      assert.equal(json['cancelled'], true);
      assert.match(done.stderr, /^sluice: sluice run was interrupted\./m);
    } finally {
      running.crash();
    }
  });

  void test('a command that does not stop by itself ends at once: exit 130, one object with error cancelled', async () => {
    const root = environmentWorkspace('version: 1\n', {}, 'sluice-contract-cancel-');
    made.push(root);
    // `lsp` serves until its editor goes away: an interrupt is the only way it ends here.
    const running = startSluice(['lsp', '--stdio'], root);
    try {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      running.child.kill('SIGINT');
      const done = await running.done;
      assert.equal(done.status, 130, done.stderr);
      assert.match(done.stderr, /^sluice: sluice lsp was interrupted\./);
    } finally {
      running.crash();
    }
  });
});
