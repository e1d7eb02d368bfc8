// Edits of sluice.yaml's `remotes:` section (`sluice remote add|remove|default`):
// only the lines of the remote change. Every other byte stays as the user
// wrote it: comments and their alignment, blank lines, folded text, flow lists.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { analyzeManifest } from '../../src/core/manifest';
import { addRemoteText, removeRemoteText, setDefaultRemoteText } from '../../src/core/manifest/remoteEdits';
import { CHURN_EXAMPLE } from '../../src/core/operations/init/churnExample';
import { STARTER_MANIFEST } from '../../src/core/operations/init/starterManifest';

const HANDWRITTEN = `# Churn model: features and a classifier.
version: 1
name: churn-model        # shown in the editor

datasets:
  events:
    path: data/raw/events          # exported nightly
    description: >-
      Raw click events,
      one file per month

# The pipeline.
pipelines:
  train:
    stages:
      prepare:
        run: "node src/prepare.js --rows 'all'"
        datasets: [ events ]
        deps: [src/prepare.js]
        outs:
          - data/prepared   # cached
`;

const CHURN = CHURN_EXAMPLE.files().find((file) => file.path === 'sluice.yaml')!.content;

function errors(text: string): string[] {
  return analyzeManifest(text)
    .diagnostics.filter((diagnostic) => diagnostic.severity === 'error')
    .map((diagnostic) => `${diagnostic.code}: ${diagnostic.message}`);
}

describe('editing remotes in sluice.yaml', () => {
  for (const [label, original] of [
    ['a handwritten manifest', HANDWRITTEN],
    ['the churn example', CHURN],
    ['the starter manifest', STARTER_MANIFEST],
    ['a manifest without a final line break', HANDWRITTEN.trimEnd()],
  ] as const) {
    test(`${label}: add, add as default, move the default, remove both: back to the same bytes`, () => {
      const withTeam = addRemoteText(original, 'team', {
        url: 'ssh://storage.example.com/srv/sluice',
        default: true,
      });
      // Everything before is untouched; the new section is at the end, after one blank line.
      assert.ok(withTeam.startsWith(original.trimEnd()), withTeam);
      assert.match(
        withTeam.slice(original.trimEnd().length),
        /^\n\nremotes:\n {2}team:\n {4}url: ssh:\/\/storage\.example\.com\/srv\/sluice\n {4}default: true\n$/,
      );
      const withArchive = addRemoteText(withTeam, 'archive', {
        url: 's3://bucket/sluice',
        endpoint: 'https://minio.internal:9000',
        region: 'eu-west-1',
        default: true,
      });
      assert.deepEqual(errors(withArchive), []);
      const values = parse(withArchive) as { remotes: Record<string, Record<string, unknown>> };
      assert.deepEqual(values.remotes, {
        team: { url: 'ssh://storage.example.com/srv/sluice' },
        archive: {
          url: 's3://bucket/sluice',
          default: true,
          endpoint: 'https://minio.internal:9000',
          region: 'eu-west-1',
        },
      });
      const moved = setDefaultRemoteText(withArchive, 'team');
      assert.deepEqual((parse(moved) as { remotes: Record<string, { default?: boolean }> }).remotes, {
        team: { url: 'ssh://storage.example.com/srv/sluice', default: true },
        archive: { url: 's3://bucket/sluice', endpoint: 'https://minio.internal:9000', region: 'eu-west-1' },
      });
      const back = removeRemoteText(removeRemoteText(moved, 'archive'), 'team');
      assert.equal(back, original.endsWith('\n') ? original : `${original}\n`);
    });
  }

  test('an entry goes with the comment lines right above it; the others keep theirs', () => {
    const text = [
      'version: 1',
      '# Where we share data.',
      'remotes:',
      '  # The team server.',
      '  team:',
      '    url: /srv/team    # NFS',
      '  # Old releases, read only.',
      '  archive:',
      '    url: s3://bucket/x',
      '',
      '# Pipelines follow.',
      'pipelines: {}',
      '',
    ].join('\n');
    assert.equal(
      removeRemoteText(text, 'team'),
      text.replace('  # The team server.\n  team:\n    url: /srv/team    # NFS\n', ''),
    );
    assert.equal(
      removeRemoteText(text, 'archive'),
      text.replace('  # Old releases, read only.\n  archive:\n    url: s3://bucket/x\n', ''),
    );
    // The last one takes its section along; comments outside the section stay.
    const alone = removeRemoteText(removeRemoteText(text, 'archive'), 'team');
    assert.equal(alone, 'version: 1\n# Where we share data.\n\n# Pipelines follow.\npipelines: {}\n');
    // A new remote goes after the last one, before what follows the section.
    const added = addRemoteText(text, 'mirror', { url: '/mnt/mirror' });
    assert.equal(
      added,
      text.replace('    url: s3://bucket/x\n', '    url: s3://bucket/x\n  mirror:\n    url: /mnt/mirror\n'),
    );
  });

  test('the file’s own indentation is followed', () => {
    const text = 'version: 1\nremotes:\n    team:\n        url: /srv/team\n';
    assert.equal(
      addRemoteText(text, 'b', { url: '/y', git: 'upstream' }),
      `${text}    b:\n        url: /y\n        git: upstream\n`,
    );
    const fresh = addRemoteText('version: 1\ndatasets:\n    d:\n        path: d\n', 'b', { url: '/y' });
    assert.match(fresh, /\nremotes:\n {4}b:\n {8}url: \/y\n$/);
  });

  test('`remotes:` with nothing under it gets the entry right below', () => {
    const text = 'version: 1\nremotes:\n# later\n';
    assert.equal(
      addRemoteText(text, 'b', { url: '/y' }),
      'version: 1\nremotes:\n  b:\n    url: /y\n# later\n',
    );
  });

  test('values YAML would misread are quoted', () => {
    const text = addRemoteText('version: 1\n', 'odd', { url: '/srv/a #b: c', region: 'yes' });
    assert.deepEqual((parse(text) as { remotes: unknown }).remotes, {
      odd: { url: '/srv/a #b: c', region: 'yes' },
    });
  });

  test('default: an existing `default: false` is turned, other defaults removed', () => {
    const text =
      'version: 1\nremotes:\n  a:\n    url: /a\n    default: true\n  b:\n    url: /b\n    default: false   # not yet\n';
    assert.equal(
      setDefaultRemoteText(text, 'b'),
      'version: 1\nremotes:\n  a:\n    url: /a\n  b:\n    url: /b\n    default: true   # not yet\n',
    );
  });

  test('a section in flow style is re-printed on its own; the rest of the file is not', () => {
    const text = `${HANDWRITTEN}remotes: {a: {url: /a, default: true}}   # flow\n`;
    const added = addRemoteText(text, 'b', { url: '/b', default: true });
    assert.ok(added.startsWith(HANDWRITTEN), added);
    assert.deepEqual((parse(added) as { remotes: unknown }).remotes, {
      a: { url: '/a' },
      b: { url: '/b', default: true },
    });
    const removed = removeRemoteText(removeRemoteText(added, 'a'), 'b');
    assert.equal(removed, HANDWRITTEN);
  });
});
