// Remote configuration (issue 14): which remote a command gets, from
// sluice.yaml and this machine's .sluice/remotes.yaml, on a real workspace
// (a git repository in a temp folder). The variants are generated: every URL
// form × where the remote is declared × how the default is chosen.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SluiceError } from '../../src/core/errors';
import { openWorkspace, type Workspace } from '../../src/core/workspace';
import { addRemote, removeRemote, setDefaultRemote } from '../../src/core/workspace/remoteChanges';
import type { OpenOptions } from '../../src/core/remotes/transport/transport';
import { listRemotes, resolveRemote, transportOptions } from '../../src/core/workspace/remotes';
import { clearVariablesRefusedBySimpleGit, git, removeTree } from '../support/workspace';

clearVariablesRefusedBySimpleGit();

let root: string;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'sluice-remote-config-'));
  git(root, 'init', '--quiet');
});

after(() => {
  removeTree(root);
});

/** Writes sluice.yaml (after `version: 1`) and .sluice/remotes.yaml (absent when undefined), then opens the workspace. */
async function workspaceWith(manifest: string, local?: string): Promise<Workspace> {
  writeFileSync(join(root, 'sluice.yaml'), `version: 1\n${manifest}`);
  const file = join(root, '.sluice', 'remotes.yaml');
  if (local === undefined) rmSync(file, { force: true });
  else {
    mkdirSync(join(root, '.sluice'), { recursive: true });
    writeFileSync(file, local);
  }
  return openWorkspace(root);
}

function failure(run: () => unknown): SluiceError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof SluiceError, String(error));
    return error;
  }
  assert.fail('it did not fail');
}

interface UrlForm {
  readonly url: string;
  /** What the location must hold, the workspace root given. */
  readonly location: (root: string) => Record<string, unknown>;
}

const ENDPOINT = 'https://minio.internal:9000';

const FORMS: readonly UrlForm[] = [
  { url: '/srv/team/sluice', location: () => ({ kind: 'folder', path: '/srv/team/sluice' }) },
  { url: 'file:///srv/team/my%20data', location: () => ({ kind: 'folder', path: '/srv/team/my data' }) },
  { url: 'store/sluice', location: (at) => ({ kind: 'folder', path: join(at, 'store/sluice') }) },
  { url: '../shared-store', location: (at) => ({ kind: 'folder', path: resolve(at, '../shared-store') }) },
  { url: '~/sluice-store', location: () => ({ kind: 'folder', path: join(homedir(), 'sluice-store') }) },
  {
    url: 'ssh://bob@storage.example.com:2222/srv/sluice',
    location: () => ({
      kind: 'ssh',
      host: 'storage.example.com',
      user: 'bob',
      port: 2222,
      path: '/srv/sluice',
    }),
  },
  {
    url: 'storage.example.com:srv/sluice',
    location: () => ({ kind: 'ssh', host: 'storage.example.com', user: undefined, path: 'srv/sluice' }),
  },
  {
    url: 's3://team-bucket/sluice/store',
    location: () => ({ kind: 's3', bucket: 'team-bucket', prefix: 'sluice/store' }),
  },
];

/** Where the remote under test is declared. */
type Source = 'manifest' | 'local' | 'override';
/** How the default is chosen: the lone remote, sluice.yaml's `default: true`, this machine's `default:`, that over sluice.yaml's, or none of them. */
type Choice = 'single' | 'manifest' | 'local' | 'local-over-manifest' | 'none';

const SOURCES: readonly Source[] = ['manifest', 'local', 'override'];
const CHOICES: readonly Choice[] = ['single', 'manifest', 'local', 'local-over-manifest', 'none'];

/** sluice.yaml's remotes and .sluice/remotes.yaml for one variant; the remote under test is `subject`. */
function variant(
  form: UrlForm,
  source: Source,
  choice: Choice,
): { manifest: string; local: string | undefined } {
  const s3 = form.url.startsWith('s3://') ? `    endpoint: ${ENDPOINT}\n` : '';
  const manifest: string[] = ['remotes:'];
  if (source === 'manifest')
    manifest.push(
      `  subject:\n    url: "${form.url}"\n${s3}${choice === 'manifest' ? '    default: true\n' : ''}`,
    );
  if (source === 'override')
    manifest.push(
      `  subject:\n    url: /srv/original\n    git: team-remote\n${choice === 'manifest' ? '    default: true\n' : ''}`,
    );
  if (choice !== 'single')
    manifest.push(
      `  other:\n    url: /srv/other\n${choice === 'local-over-manifest' ? '    default: true\n' : ''}`,
    );
  const local: string[] = [];
  if (choice === 'local' || choice === 'local-over-manifest') local.push('default: subject');
  if (source !== 'manifest')
    local.push(
      `remotes:\n  subject:\n    url: "${form.url}"\n${s3}${source === 'local' ? '    git: upstream\n' : ''}`,
    );
  return {
    manifest: manifest.length > 1 ? `${manifest.join('\n')}\n` : '',
    local: local.length > 0 ? `${local.join('\n')}\n` : undefined,
  };
}

describe('resolving remotes: every URL form × where it is declared × how the default is chosen', () => {
  // sluice.yaml cannot mark a remote only this machine knows as the default.
  const combinations = FORMS.flatMap((form) =>
    SOURCES.flatMap((source) =>
      CHOICES.filter((choice) => !(source === 'local' && choice === 'manifest')).map((choice) => ({
        form,
        source,
        choice,
      })),
    ),
  );

  test(`${combinations.length} variants`, async () => {
    for (const { form, source, choice } of combinations) {
      const label = `${form.url} declared ${source}, default ${choice}`;
      const { manifest, local } = variant(form, source, choice);
      const workspace = await workspaceWith(manifest, local);
      const remotes = listRemotes(workspace);
      const subject = remotes.find((remote) => remote.name === 'subject');
      assert.ok(subject, label);
      assert.equal(remotes.length, choice === 'single' ? 1 : 2, label);
      // sluice.yaml's remotes first, then this machine's own.
      if (source === 'local' && choice !== 'single')
        assert.deepEqual(
          remotes.map((r) => r.name),
          ['other', 'subject'],
        );
      assert.equal(subject.url, form.url, label);
      assert.deepEqual(pick(subject.location, form.location(root)), form.location(root), label);
      assert.equal(subject.source, source === 'local' ? 'local' : 'manifest', label);
      assert.equal(subject.overridden, source === 'override', label);
      assert.equal(
        subject.gitRemote,
        source === 'local' ? 'upstream' : source === 'override' ? 'team-remote' : 'origin',
        label,
      );
      assert.deepEqual(
        subject.s3,
        form.url.startsWith('s3://') ? { endpoint: ENDPOINT, forcePathStyle: true } : undefined,
        label,
      );
      assert.equal(subject.isDefault, choice !== 'none', label);
      assert.equal(remotes.filter((remote) => remote.isDefault).length, choice === 'none' ? 0 : 1, label);
      assert.deepEqual(resolveRemote(workspace, 'subject'), subject, label);
      if (choice === 'none') {
        const refused = failure(() => resolveRemote(workspace, undefined));
        assert.equal(refused.code, 'remote-no-default', label);
        assert.deepEqual(refused.data, { remotes: remotes.map((remote) => remote.name) }, label);
      } else {
        assert.deepEqual(resolveRemote(workspace, undefined), subject, label);
      }
    }
  });
});

/** The fields of `value` that `expected` names, to compare a location with what a form promises. */
function pick(value: object, expected: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.keys(expected).map((key) => [key, (value as Record<string, unknown>)[key]]),
  );
}

describe('resolving remotes: S3 options and overrides field by field', () => {
  test("this machine's fields change only themselves; a folder mirror drops the S3 options", async () => {
    const shared = `remotes:\n  archive:\n    url: s3://bucket/sluice\n    endpoint: ${ENDPOINT}\n    region: eu-west-1\n`;
    let workspace = await workspaceWith(shared);
    assert.deepEqual(resolveRemote(workspace, 'archive').s3, {
      endpoint: ENDPOINT,
      region: 'eu-west-1',
      forcePathStyle: true,
    });
    workspace = await workspaceWith(
      shared,
      'remotes:\n  archive:\n    region: us-east-2\n    path_style: false\n',
    );
    const overridden = resolveRemote(workspace, 'archive');
    assert.deepEqual(overridden.s3, { endpoint: ENDPOINT, region: 'us-east-2', forcePathStyle: false });
    assert.equal(overridden.url, 's3://bucket/sluice');
    assert.equal(overridden.overridden, true);
    const options: OpenOptions = transportOptions(overridden, { sshConfigFile: '/tmp/ssh_config' });
    assert.deepEqual(options, {
      sshConfigFile: '/tmp/ssh_config',
      s3: { endpoint: ENDPOINT, region: 'us-east-2', forcePathStyle: false },
    });
    workspace = await workspaceWith(shared, 'remotes:\n  archive:\n    url: /mnt/mirror\n');
    const mirror = resolveRemote(workspace, 'archive');
    assert.equal(mirror.location.kind, 'folder');
    assert.equal(mirror.s3, undefined);
    assert.deepEqual(transportOptions(mirror), {});
    // Without an endpoint, AWS itself: no path style unless asked.
    workspace = await workspaceWith('remotes:\n  aws:\n    url: s3://bucket/x\n');
    assert.deepEqual(resolveRemote(workspace, undefined).s3, {});
  });

  test('a model read back from the cache resolves the same', async () => {
    const manifest = `remotes:\n  team:\n    url: ssh://host/srv\n    default: true\n  archive:\n    url: s3://bucket/x\n    endpoint: ${ENDPOINT}\n`;
    const first = listRemotes(await workspaceWith(manifest));
    const again = listRemotes(await openWorkspace(root));
    assert.deepEqual(again, first);
  });
});

describe('resolving remotes: refusals', () => {
  test('no remote at all: remote-not-configured, with the command that adds one', async () => {
    const workspace = await workspaceWith('');
    for (const name of [undefined, 'team']) {
      const refused = failure(() => resolveRemote(workspace, name));
      assert.equal(refused.code, 'remote-not-configured');
      assert.equal(refused.exitCode, 2);
      assert.deepEqual(refused.data, { remote: name ?? null });
      assert.match(refused.hint ?? '', /sluice remote add .* URL --default/);
    }
    assert.deepEqual(listRemotes(workspace), []);
  });

  test('an unknown name: not-found with the candidates and a "did you mean"', async () => {
    const workspace = await workspaceWith(
      'remotes:\n  team:\n    url: /srv/team\n  archive:\n    url: /srv/archive\n',
    );
    const refused = failure(() => resolveRemote(workspace, 'tema'));
    assert.equal(refused.code, 'not-found');
    assert.deepEqual(refused.data, { sought: 'remote', id: 'tema', candidates: ['team', 'archive'] });
    assert.match(refused.message, /Did you mean 'team'\?/);
    const far = failure(() => resolveRemote(workspace, 'production'));
    assert.doesNotMatch(far.message, /Did you mean/);
  });

  test('several remotes and no default: remote-no-default names them', async () => {
    const workspace = await workspaceWith(
      'remotes:\n  team:\n    url: /srv/team\n  archive:\n    url: /srv/archive\n',
    );
    const refused = failure(() => resolveRemote(workspace, undefined));
    assert.equal(refused.code, 'remote-no-default');
    assert.match(refused.message, /team, archive/);
    assert.match(refused.hint ?? '', /sluice remote default team/);
  });
});

describe('.sluice/remotes.yaml: a broken file names itself, the line and what to do', () => {
  const manifest = 'remotes:\n  team:\n    url: /srv/team\n';
  const cases: [string, string, number, RegExp][] = [
    ['YAML syntax', 'remotes:\n  team:\n    url: /x\n   bad: [\n', 4, /not valid YAML/],
    ['a list at the top', '- team\n', 1, /should be a mapping/],
    [
      'a misspelt section',
      'remote:\n  team:\n    url: /x\n',
      1,
      /unknown key `remote`\. Did you mean `remotes`\?/,
    ],
    ['a misspelt field', 'remotes:\n  team:\n    ulr: /x\n', 3, /unknown key `ulr`\. Did you mean `url`\?/],
    [
      'a secret as a key',
      'remotes:\n  team:\n    url: /x\n    secret_access_key: abc\n',
      4,
      /would hold a secret/,
    ],
    ['a password in a URL', 'remotes:\n  team:\n    url: ssh://me:pw@host/srv\n', 3, /carries a password/],
    [
      'a default inside a remote',
      'remotes:\n  team:\n    default: true\n',
      3,
      /names its default remote at the top/,
    ],
    ['a machine-only remote without a url', 'remotes:\n  laptop:\n    git: origin\n', 2, /needs a `url`/],
    ['an S3 option on a folder', 'remotes:\n  team:\n    region: eu-west-1\n', 3, /apply to S3 remotes only/],
    ['a default that names nothing', 'default: tema\n', 1, /names no remote\. Did you mean `team`\?/],
    [
      'path_style as text',
      'remotes:\n  team:\n    url: s3://bucket/x\n    path_style: "yes"\n',
      4,
      /true or false/,
    ],
    [
      'a git remote that is an option',
      'remotes:\n  team:\n    git: --upload-pack=x\n',
      3,
      /not a git remote's name/,
    ],
    [
      'an endpoint that is no URL',
      'remotes:\n  team:\n    url: s3://bucket/x\n    endpoint: minio:9000\n',
      4,
      /is not a URL/,
    ],
    ['a URL Sluice cannot reach', 'remotes:\n  team:\n    url: ftp://host/x\n', 3, /uses ftp:\/\//],
    ['a remote name that is not one', 'remotes:\n  9team:\n    url: /x\n', 2, /not a remote name/],
  ];
  for (const [what, text, line, message] of cases) {
    test(what, async () => {
      const workspace = await workspaceWith(manifest, text);
      const refused = failure(() => listRemotes(workspace));
      assert.equal(refused.code, 'remote-settings-invalid', refused.message);
      assert.equal(refused.exitCode, 2);
      assert.deepEqual(refused.data, { file: join(root, '.sluice', 'remotes.yaml'), line });
      assert.ok(refused.message.startsWith(`.sluice/remotes.yaml, line ${line}: `), refused.message);
      assert.match(refused.message, message);
      assert.ok((refused.hint ?? '').length > 0);
    });
  }

  test('an empty file, or one with comments only, is no settings', async () => {
    for (const text of ['', '# nothing yet\n', 'remotes:\n']) {
      const workspace = await workspaceWith(manifest, text);
      assert.deepEqual(
        listRemotes(workspace).map((remote) => [remote.name, remote.overridden]),
        [['team', false]],
      );
    }
  });
});

describe('add, remove and default, in-process', () => {
  test('add --local of a shared remote overrides it; remove takes the override along', async () => {
    const workspace = await workspaceWith('remotes:\n  team:\n    url: /srv/team\n');
    const added = addRemote(workspace, 'team', { url: 'mirror', local: true, makeDefault: true });
    assert.equal(added.override, true);
    let team = resolveRemote(await openWorkspace(root), undefined);
    assert.equal(team.url, 'mirror');
    assert.equal(team.location.kind === 'folder' && team.location.path, join(root, 'mirror'));
    assert.equal(team.overridden, true);
    const removed = removeRemote(await openWorkspace(root), 'team');
    assert.deepEqual(
      removed.files.map((file) => file.which),
      ['manifest', 'local'],
    );
    const after = await openWorkspace(root);
    assert.deepEqual(listRemotes(after), []);
    // The machine-only file is left valid (its header only).
    addRemote(after, 'team', { url: '/srv/team' });
    team = resolveRemote(await openWorkspace(root), 'team');
    assert.equal(team.overridden, false);
  });

  test('a relative folder typed in a subfolder is kept relative to the workspace root', async () => {
    const workspace = await workspaceWith('');
    mkdirSync(join(root, 'sub'), { recursive: true });
    const change = addRemote(workspace, 'near', { url: '../store', cwd: join(root, 'sub') });
    assert.equal(change.url, 'store');
    const near = resolveRemote(await openWorkspace(root), 'near');
    assert.equal(near.location.kind === 'folder' && near.location.path, join(root, 'store'));
  });

  test('default moves `default: true`, and says when this machine still prefers its own', async () => {
    const workspace = await workspaceWith(
      'remotes:\n  team:\n    url: /srv/team\n    default: true\n  archive:\n    url: /srv/archive\n',
      'default: team\n',
    );
    const change = setDefaultRemote(workspace, 'archive');
    assert.equal(change.localDefault, 'team');
    const reopened = await openWorkspace(root);
    assert.equal(reopened.manifest.remotes.get('archive')?.default?.value, true);
    assert.equal(reopened.manifest.remotes.get('team')?.default, undefined);
    assert.equal(resolveRemote(reopened, undefined).name, 'team');
    setDefaultRemote(reopened, 'archive', { local: true });
    assert.equal(resolveRemote(await openWorkspace(root), undefined).name, 'archive');
  });

  test('refusals: a taken name, a bad name, a bad URL, S3 flags on another kind, an unknown name', async () => {
    const workspace = await workspaceWith('remotes:\n  team:\n    url: /srv/team\n');
    const cases: [() => unknown, string, number][] = [
      [() => addRemote(workspace, 'team', { url: '/x' }), 'remote-exists', 1],
      [() => addRemote(workspace, '9lives', { url: '/x' }), 'remote-name-invalid', 2],
      [() => addRemote(workspace, 'x', { url: 'http://host/x' }), 'remote-url-invalid', 2],
      [() => addRemote(workspace, 'x', { url: 'https://me:pw@host/x' }), 'remote-url-invalid', 2],
      [() => addRemote(workspace, 'x', { url: '/x', endpoint: ENDPOINT }), 'remote-option-not-s3', 2],
      [
        () => addRemote(workspace, 'x', { url: 's3://bucket/x', endpoint: 'minio' }),
        'remote-endpoint-invalid',
        2,
      ],
      [() => addRemote(workspace, 'x', { url: '/x', git: '-oops' }), 'invalid-flag-value', 2],
      [() => removeRemote(workspace, 'nosuch'), 'not-found', 2],
      [() => removeRemote(workspace, 'team', { local: true }), 'not-found', 2],
      [() => setDefaultRemote(workspace, 'nosuch'), 'not-found', 2],
    ];
    for (const [run, code, exit] of cases) {
      const refused = failure(run);
      assert.equal(refused.code, code, refused.message);
      assert.equal(refused.exitCode, exit, refused.message);
    }
  });
});
