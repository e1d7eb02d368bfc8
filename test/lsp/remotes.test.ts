// The `remotes:` section in an editor (issue 14): the real language server
// over stdio. Each mistake is reported on its own range (a password on the
// `user:password` of the URL, an S3 option on its key, a second default on
// its `true`); completion offers the keys that fit the remote's URL, the git
// remotes of the repository and the URL forms; hover says where a remote leads.
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CompletionRequest,
  DiagnosticSeverity,
  DocumentSymbolRequest,
  HoverRequest,
  SymbolKind,
  type CompletionItem,
  type Diagnostic,
  type DocumentSymbol,
  type Hover,
  type Range,
} from 'vscode-languageserver-protocol/node';
import { LspClient, messageOf, positionAt, positionOf, rangeOf, TempWorkspace } from './support/lspClient';

const MANIFEST = `version: 1

remotes:
  team:
    url: ssh://bob@storage.example.com:2222/srv/sluice
    default: true
    description: The team's storage server
  archive:
    url: s3://team-bucket/sluice
    endpoint: https://minio.internal:9000
    region: eu-west-1
  mirror:
    url: ../mirror
`;

const GIT_CONFIG = `[core]
\trepositoryformatversion = 0
[remote "origin"]
\turl = git@example.com:team/churn.git
\tfetch = +refs/heads/*:refs/remotes/origin/*
[remote "backup"]
\turl = /srv/git/churn.git
[branch "main"]
\tremote = origin
`;

let client: LspClient;
let ws: TempWorkspace;

before(async () => {
  client = await LspClient.start();
  ws = new TempWorkspace();
  ws.write('.git/config', GIT_CONFIG);
});

after(async () => {
  await client.shutdown();
  ws.cleanup();
});

interface Seen {
  readonly range: Range;
  readonly code: string;
  readonly message: string;
}

function seen(diagnostics: readonly Diagnostic[]): Seen[] {
  for (const diagnostic of diagnostics) assert.equal(diagnostic.severity, DiagnosticSeverity.Error);
  return diagnostics.map((d) => ({ range: d.range, code: String(d.code), message: messageOf(d) }));
}

/** The diagnostics of MANIFEST with `search` replaced; then the original is restored, clean again. */
async function diagnosticsAfter(
  search: string,
  replacement: string,
): Promise<{ text: string; found: Seen[] }> {
  const uri = ws.uri();
  assert.deepEqual(await client.openAndWait(uri, MANIFEST), [], 'MANIFEST is clean');
  const found = seen(await client.replaceAndWait(uri, search, replacement));
  const text = client.text(uri);
  assert.deepEqual(await client.setTextAndWait(uri, MANIFEST), [], 'restoring the text clears them');
  await client.close(uri);
  return { text, found };
}

const ADVICE =
  'SSH logs in with your ~/.ssh/config, keys and ssh agent; S3 uses the AWS credential chain ' +
  '(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile in ~/.aws, or an instance role).';

void describe('remotes: diagnostics on the right range', () => {
  void test('a password in a URL, on `user:password` only, never repeated', async () => {
    const { text, found } = await diagnosticsAfter('ssh://bob@', 'ssh://bob:hunter2@');
    assert.deepEqual(found, [
      {
        range: rangeOf(text, 'bob:hunter2'),
        code: 'credentials-in-manifest',
        message: `This URL carries a password (\`user:…@\`). Credentials never go in the manifest: ${ADVICE}`,
      },
    ]);
  });

  void test('a password in a quoted endpoint, and a key that holds a secret', async () => {
    const { text, found } = await diagnosticsAfter(
      '    region: eu-west-1\n',
      '    region: eu-west-1\n    secret_access_key: abc\n',
    );
    assert.deepEqual(found, [
      {
        range: rangeOf(text, 'secret_access_key'),
        code: 'credentials-in-manifest',
        message: `\`secret_access_key\` would hold a secret. Credentials never go in the manifest: ${ADVICE}`,
      },
    ]);
    const quoted = await diagnosticsAfter(
      'endpoint: https://minio.internal:9000',
      'endpoint: "https://key:secret@minio.internal:9000"',
    );
    assert.deepEqual(
      quoted.found.map((d) => [d.code, d.range]),
      [['credentials-in-manifest', rangeOf(quoted.text, 'key:secret')]],
    );
  });

  void test('a URL parseRemoteUrl refuses: its message, on the URL', async () => {
    const { text, found } = await diagnosticsAfter('url: ../mirror', 'url: ftp://files.example.com/x');
    assert.deepEqual(found, [
      {
        range: rangeOf(text, 'ftp://files.example.com/x'),
        code: 'remote-url-invalid',
        message:
          "The remote URL 'ftp://files.example.com/x' uses ftp://, which Sluice cannot reach. Use a folder (/mnt/team/sluice or file:///mnt/team/sluice), ssh://[user@]host[:port]/path, [user@]host:path, or s3://bucket/prefix.",
      },
    ]);
  });

  void test('a second `default: true`, on its value, naming the first', async () => {
    const { text, found } = await diagnosticsAfter(
      '    region: eu-west-1\n',
      '    region: eu-west-1\n    default: true\n',
    );
    assert.deepEqual(found, [
      {
        range: rangeOf(text, 'true', 1),
        code: 'multiple-default-remotes',
        message:
          '`archive` and `team` are both marked `default: true`; at most one remote is the default. Remove one of them.',
      },
    ]);
  });

  void test('S3 options on a remote that is not s3://, on each key', async () => {
    const { text, found } = await diagnosticsAfter(
      '    url: ../mirror\n',
      '    url: ../mirror\n    endpoint: https://minio:9000\n    path_style: true\n',
    );
    assert.deepEqual(found, [
      {
        range: rangeOf(text, 'endpoint', 1),
        code: 'remote-option-not-s3',
        message:
          '`endpoint` applies to S3 remotes only, and `mirror` is a folder remote. Remove it, or give an s3:// URL.',
      },
      {
        range: rangeOf(text, 'path_style'),
        code: 'remote-option-not-s3',
        message:
          '`path_style` applies to S3 remotes only, and `mirror` is a folder remote. Remove it, or give an s3:// URL.',
      },
    ]);
  });

  void test('unknown keys with "did you mean", a git remote that would be an option, an endpoint that is no URL', async () => {
    const misspelt = await diagnosticsAfter('    default: true\n', '    defualt: true\n');
    assert.deepEqual(misspelt.found, [
      {
        range: rangeOf(misspelt.text, 'defualt'),
        code: 'unknown-key',
        message: 'Unknown key `defualt` in remote `team`. Did you mean `default`?',
      },
    ]);
    const option = await diagnosticsAfter(
      '    url: ../mirror\n',
      '    url: ../mirror\n    git: --upload-pack=touch\n',
    );
    assert.deepEqual(
      option.found.map((d) => [d.code, d.range]),
      [['invalid-value', rangeOf(option.text, '--upload-pack=touch')]],
    );
    const endpoint = await diagnosticsAfter('https://minio.internal:9000', 'minio.internal:9000');
    assert.deepEqual(endpoint.found, [
      {
        range: rangeOf(endpoint.text, 'minio.internal:9000'),
        code: 'remote-endpoint-invalid',
        message:
          'The endpoint `minio.internal:9000` is not a URL; write the server as http://host:port or https://host.',
      },
    ]);
  });

  void test('a remote without url, a bad name, a URL that is not text', async () => {
    const { text, found } = await diagnosticsAfter(
      '  mirror:\n    url: ../mirror\n',
      '  9mirror:\n    url: [a]\n  bare:\n    git: origin\n',
    );
    assert.deepEqual(
      found.map((d) => [d.code, d.range]),
      [
        ['invalid-name', rangeOf(text, '9mirror')],
        ['wrong-type', rangeOf(text, '[a]')],
        ['missing-required', rangeOf(text, 'bare')],
      ],
    );
  });
});

/** Completion in MANIFEST with `search` replaced; the cursor goes where `|` is in the replacement. */
async function completeAt(
  search: string,
  replacement: string,
  manifest = MANIFEST,
): Promise<CompletionItem[]> {
  assert.ok(manifest.includes(search), `${search} is in the manifest`);
  const text = manifest.replace(search, replacement.replace('|', ''));
  const uri = ws.uri();
  await client.openAndWait(uri, text);
  const result = await client.request(CompletionRequest.type, {
    textDocument: { uri },
    position: positionAt(text, manifest.indexOf(search) + replacement.indexOf('|')),
  });
  await client.close(uri);
  return Array.isArray(result) ? result : (result?.items ?? []);
}

const labels = (items: readonly CompletionItem[]): string[] => items.map((item) => item.label).sort();

void describe('remotes: completion', () => {
  void test('`remotes` is offered at the top level', async () => {
    const items = await completeAt('version: 1\n', 'version: 1\n|', 'version: 1\n');
    assert.ok(labels(items).includes('remotes'), labels(items).join(', '));
  });

  void test('keys of a new remote: all of them, `url` required, each documented', async () => {
    const items = await completeAt('  mirror:\n', '  fresh:\n    |\n  mirror:\n');
    assert.deepEqual(labels(items), [
      'default',
      'description',
      'endpoint',
      'git',
      'path_style',
      'region',
      'url',
    ]);
    assert.equal(items.find((item) => item.label === 'url')?.detail, 'required');
    for (const item of items) assert.ok(item.documentation, `${item.label} is documented`);
  });

  void test('keys of a folder or SSH remote leave out the S3 options; an S3 remote offers what it lacks', async () => {
    assert.deepEqual(labels(await completeAt('    url: ../mirror\n', '    url: ../mirror\n    |\n')), [
      'default',
      'description',
      'git',
    ]);
    assert.deepEqual(labels(await completeAt('    region: eu-west-1\n', '    region: eu-west-1\n    |\n')), [
      'default',
      'description',
      'git',
      'path_style',
    ]);
  });

  void test('`git:` offers the git remotes of the repository, origin first', async () => {
    const items = await completeAt('    url: ../mirror\n', '    url: ../mirror\n    git: |\n');
    assert.deepEqual(
      items.map((item) => [item.label, item.detail]),
      [
        ['origin', 'git@example.com:team/churn.git'],
        ['backup', '/srv/git/churn.git'],
      ],
    );
  });

  void test('`url:` offers the URL forms until a scheme is typed; `default:` true and false', async () => {
    assert.deepEqual(labels(await completeAt('    url: ../mirror\n', '    url: |\n')), [
      'file://',
      's3://',
      'ssh://',
    ]);
    assert.deepEqual(labels(await completeAt('    url: ../mirror\n', '    url: s|\n')), ['s3://', 'ssh://']);
    assert.deepEqual(labels(await completeAt('    url: ../mirror\n', '    url: s3://b|\n')), []);
    assert.deepEqual(labels(await completeAt('    default: true\n', '    default: |\n')), ['false', 'true']);
  });
});

function markdown(hover: Hover | null): string {
  assert.ok(hover && typeof hover.contents === 'object' && 'kind' in hover.contents, 'a markdown hover');
  return hover.contents.value;
}

void describe('remotes: hover and outline', () => {
  void test('hover on a name, a URL and a key', async () => {
    const uri = ws.uri();
    assert.deepEqual(await client.openAndWait(uri, MANIFEST), []);
    const hoverAt = async (search: string, occurrence = 0): Promise<string> =>
      markdown(
        await client.request(HoverRequest.type, {
          textDocument: { uri },
          position: positionOf(MANIFEST, search, 1, occurrence),
        }),
      );
    assert.equal(
      await hoverAt('team:'),
      [
        '**remote** `team` (default)',
        "The team's storage server",
        'SSH to `storage.example.com` port 2222 as `bob`, folder `/srv/sluice`. Logs in with your ~/.ssh/config, keys and agent.',
        'Refs travel through the git remote `origin`; .sluice/remotes.yaml may override this remote on one machine.',
      ].join('\n\n'),
    );
    assert.match(
      await hoverAt('s3://team-bucket'),
      /S3 bucket `team-bucket`, under `sluice\/` on `https:\/\/minio\.internal:9000`\. Credentials come from the AWS chain\./,
    );
    assert.match(await hoverAt('../mirror'), new RegExp(`A folder: \`${resolve(ws.root, '../mirror')}\`\\.`));
    assert.match(
      await hoverAt('endpoint:'),
      /^\*\*endpoint\*\*\n\nFor S3-compatible servers \(MinIO, Ceph RGW, Cloudflare R2, …\)/,
    );

    const symbols = (await client.request(DocumentSymbolRequest.type, {
      textDocument: { uri },
    })) as DocumentSymbol[];
    const section = symbols.find((symbol) => symbol.name === 'remotes');
    assert.ok(section, 'a remotes section');
    assert.deepEqual(
      section.children?.map((child) => [child.name, child.kind, child.detail]),
      [
        ['team', SymbolKind.Package, 'ssh://bob@storage.example.com:2222/srv/sluice'],
        ['archive', SymbolKind.Package, 's3://team-bucket/sluice'],
        ['mirror', SymbolKind.Package, '../mirror'],
      ],
    );
    await client.close(uri);
  });
});
