// `sluice remote add|list|remove|default` (issue 14), the built command run as
// a user runs it, in a real git repository: round trips through sluice.yaml
// and .sluice/remotes.yaml, the user's comments surviving every edit, and the
// refusals with their exit codes, in text and in --json.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { environmentWorkspace, onlyJson } from '../support/environments';
import { clearVariablesRefusedBySimpleGit, git, removeTree, sluice, sluiceJson } from '../support/workspace';

clearVariablesRefusedBySimpleGit();

const MANIFEST = `# Our project. Remotes are added below by \`sluice remote add\`.
version: 1
name: churn        # shown in the editor

datasets:
  events:
    path: data/events          # exported nightly
    description: >-
      Raw click events,
      one file per month

# Pipelines come later.
`;

interface RemoteEntry {
  name: string;
  url: string;
  kind: string;
  default: boolean;
  source: string;
  overridden: boolean;
  git: string;
}

const roots: string[] = [];
after(() => {
  roots.forEach(removeTree);
});

function workspace(manifest = MANIFEST): string {
  const root = environmentWorkspace(manifest, {}, 'sluice-remote-cli-');
  roots.push(root);
  return root;
}

function remotes(root: string): RemoteEntry[] {
  return (sluiceJson(['remote', 'list'], root) as { remotes: RemoteEntry[] }).remotes;
}

function manifestOf(root: string): string {
  return readFileSync(join(root, 'sluice.yaml'), 'utf8');
}

void describe('sluice remote', () => {
  void test('add, list and remove round trip, and every comment of sluice.yaml survives', () => {
    const root = workspace();
    assert.equal(
      sluice(['remote'], root).stdout,
      'No remotes. Add one with `sluice remote add NAME URL --default`.\n',
    );

    const added = sluice(
      ['remote', 'add', 'team', 'ssh://storage.example.com/srv/sluice', '--default'],
      root,
    );
    assert.equal(added.status, 0, added.stderr);
    assert.equal(added.stdout, 'Added remote team (SSH) to sluice.yaml. It is the default.\n');
    assert.equal(
      manifestOf(root),
      `${MANIFEST}\nremotes:\n  team:\n    url: ssh://storage.example.com/srv/sluice\n    default: true\n`,
    );
    // A comment the user writes into the section is kept by the next edits too.
    writeFileSync(
      join(root, 'sluice.yaml'),
      manifestOf(root).replace('  team:\n', '  # The team server.\n  team:\n'),
    );
    const withComment = manifestOf(root);

    const archive = sluice(
      [
        'remote',
        'add',
        'archive',
        's3://team-bucket/sluice',
        '--endpoint',
        'https://minio.internal:9000',
        '--region',
        'eu-west-1',
        '--git',
        'upstream',
      ],
      root,
    );
    assert.equal(archive.status, 0, archive.stderr);
    assert.equal(
      manifestOf(root),
      `${withComment}  archive:\n    url: s3://team-bucket/sluice\n    git: upstream\n    endpoint: https://minio.internal:9000\n    region: eu-west-1\n`,
    );
    assert.deepEqual(remotes(root), [
      {
        name: 'team',
        url: 'ssh://storage.example.com/srv/sluice',
        kind: 'ssh',
        default: true,
        source: 'manifest',
        overridden: false,
        git: 'origin',
        endpoint: null,
        region: null,
        pathStyle: null,
      },
      {
        name: 'archive',
        url: 's3://team-bucket/sluice',
        kind: 's3',
        default: false,
        source: 'manifest',
        overridden: false,
        git: 'upstream',
        endpoint: 'https://minio.internal:9000',
        region: 'eu-west-1',
        pathStyle: true,
      },
    ]);
    const listed = sluice(['remote', 'list'], root);
    assert.equal(
      listed.stdout,
      [
        '* team     ssh     ssh://storage.example.com/srv/sluice',
        '  archive  s3      s3://team-bucket/sluice  (endpoint https://minio.internal:9000; region eu-west-1; refs through git remote upstream)',
        '',
      ].join('\n'),
    );
    // The edited manifest is one every command accepts.
    assert.equal(sluice(['validate'], root).status, 0);
    assert.equal(sluice(['status', '--json'], root).status, 0);

    const removed = sluice(['remote', 'remove', 'archive'], root);
    assert.equal(removed.status, 0, removed.stderr);
    assert.equal(removed.stdout, 'Removed remote archive from sluice.yaml.\n');
    assert.equal(manifestOf(root), withComment);
    assert.equal(sluice(['remote', 'remove', 'team'], root).status, 0);
    assert.equal(manifestOf(root), MANIFEST);
    assert.deepEqual(remotes(root), []);
  });

  void test('refusals: a taken name exits 1, a bad URL 2, and with --json each prints one error object', () => {
    const root = workspace();
    assert.equal(sluice(['remote', 'add', 'team', '/srv/team'], root).status, 0);
    const before = manifestOf(root);
    const cases: [string[], number, string][] = [
      [['add', 'team', '/srv/other'], 1, 'remote-exists'],
      [['add', 'web', 'https://example.com/sluice'], 2, 'remote-url-invalid'],
      [['add', 'web', 's3://Not_A_Bucket/x'], 2, 'remote-url-invalid'],
      [['add', 'web', 'ssh://me:hunter2@host/srv'], 2, 'remote-url-invalid'],
      [['add', 'web', '/srv/web', '--endpoint', 'https://minio:9000'], 2, 'remote-option-not-s3'],
      [['add', 'web', 's3://bucket/x', '--endpoint', 'minio:9000'], 2, 'remote-endpoint-invalid'],
      [['add', 'web', '/srv/web', '--git', '--upload-pack=x'], 2, 'usage'],
      [['add', '9web', '/srv/web'], 2, 'remote-name-invalid'],
      [['add', 'web'], 2, 'usage'],
      [['list', 'extra'], 2, 'usage'],
      [['list', '--default'], 2, 'usage'],
      [['remove', 'tema'], 2, 'not-found'],
      [['default', 'nosuch'], 2, 'not-found'],
      [['push'], 2, 'unknown-command'],
    ];
    for (const [args, status, code] of cases) {
      const text = sluice(['remote', ...args], root);
      assert.equal(text.status, status, `remote ${args.join(' ')}: ${text.stderr}`);
      assert.equal(text.stdout, '', `remote ${args.join(' ')} prints nothing on stdout`);
      assert.match(text.stderr, /^sluice: .+\n$/, `remote ${args.join(' ')}: one line on stderr`);
      const json = sluice(['remote', ...args, '--json'], root);
      assert.equal(json.status, status, `remote ${args.join(' ')} --json`);
      assert.equal(
        (onlyJson(json)['error'] as { code: string }).code,
        code,
        `remote ${args.join(' ')} --json`,
      );
    }
    // The password is neither stored nor repeated.
    const secret = sluice(['remote', 'add', 'web', 'ssh://me:hunter2@host/srv', '--json'], root);
    assert.doesNotMatch(secret.stdout + secret.stderr, /hunter2/);
    assert.match(secret.stderr, /credential chain/);
    assert.match(sluice(['remote', 'add', 'team', '/x'], root).stderr, /sluice remote remove team/);
    assert.match(sluice(['remote', 'remove', 'tema'], root).stderr, /Did you mean 'team'\?/);
    assert.equal(manifestOf(root), before, 'no refusal wrote anything');
  });

  void test('--local: a mirror for a shared remote, a remote of this machine only, its own default', () => {
    const root = workspace();
    assert.equal(
      sluice(['remote', 'add', 'team', 'ssh://storage.example.com/srv/sluice', '--default'], root).status,
      0,
    );
    const shared = manifestOf(root);
    mkdirSync(join(root, 'data'), { recursive: true });
    // Typed in a subfolder: kept relative to the workspace root, as the file reads it.
    const mirror = sluice(['remote', 'add', 'team', '../mirror', '--local'], join(root, 'data'));
    assert.equal(mirror.status, 0, mirror.stderr);
    assert.equal(
      mirror.stdout,
      'Remote team now leads to mirror (folder) on this machine, set in .sluice/remotes.yaml.\n',
    );
    const laptop = sluice(['remote', 'add', 'laptop', '/media/backup/sluice', '--local', '--default'], root);
    assert.equal(laptop.status, 0, laptop.stderr);
    assert.equal(manifestOf(root), shared, 'sluice.yaml is not touched by --local');
    const local = readFileSync(join(root, '.sluice/remotes.yaml'), 'utf8');
    assert.match(local, /^# This machine's remote settings/);
    assert.match(
      local,
      /\ndefault: laptop\nremotes:\n {2}team:\n {4}url: mirror\n {2}laptop:\n {4}url: \/media\/backup\/sluice\n$/,
    );
    // .sluice/ is git-ignored: nothing to commit.
    assert.equal(git(root, 'status', '--porcelain', '--', '.sluice'), '');
    assert.deepEqual(
      remotes(root).map(({ name, url, default: isDefault, source, overridden }) => ({
        name,
        url,
        isDefault,
        source,
        overridden,
      })),
      [
        { name: 'team', url: 'mirror', isDefault: false, source: 'manifest', overridden: true },
        { name: 'laptop', url: '/media/backup/sluice', isDefault: true, source: 'local', overridden: false },
      ],
    );
    // A shared default while this machine keeps its own: said so, and this machine's wins here.
    const shown = sluice(['remote', 'default', 'team'], root);
    assert.equal(shown.status, 0, shown.stderr);
    assert.match(shown.stdout, /This machine's own default, laptop, still wins here/);
    assert.equal(sluice(['remote', 'default', 'team', '--local'], root).status, 0);
    assert.equal(remotes(root).find((remote) => remote.default)?.name, 'team');
    // Removing laptop locally; removing team (shared) takes this machine's override along.
    assert.equal(sluice(['remote', 'remove', 'laptop', '--local'], root).status, 0);
    const gone = onlyJson(sluice(['remote', 'remove', 'team', '--json'], root));
    assert.deepEqual(
      (gone['change'] as { files: { which: string }[] }).files.map((file) => file.which),
      ['manifest', 'local'],
    );
    assert.deepEqual(remotes(root), []);
    assert.ok(existsSync(join(root, '.sluice/remotes.yaml')));
    // A refused --local edit leaves the file as it was.
    const refused = sluice(['remote', 'remove', 'nosuch', '--local'], root);
    assert.equal(refused.status, 2);
  });

  void test('a broken .sluice/remotes.yaml is one line naming the file, the line and what to do', () => {
    const root = workspace();
    mkdirSync(join(root, '.sluice'), { recursive: true });
    writeFileSync(join(root, '.sluice/remotes.yaml'), 'remotes:\n  laptop:\n    url: /x\n    token: abc\n');
    const text = sluice(['remote', 'list'], root);
    assert.equal(text.status, 2);
    assert.match(
      text.stderr,
      /^sluice: \.sluice\/remotes\.yaml, line 4: `token` would hold a secret\. .*AWS credential chain.*\n$/,
    );
    // Commands that need no remote still run.
    assert.equal(sluice(['status'], root).status, 0);
  });
});
