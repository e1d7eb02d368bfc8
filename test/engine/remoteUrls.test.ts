// parseRemoteUrl (issue 14): every URL form a remote may take, and the
// refusal of anything else, naming the value and the accepted forms.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SluiceError } from '../../src/core/errors';
import { parseRemoteUrl } from '../../src/core/remotes/transport/transport';

function refusal(url: string): SluiceError {
  try {
    parseRemoteUrl(url);
  } catch (error) {
    assert.ok(error instanceof SluiceError, String(error));
    return error;
  }
  assert.fail(`${url} was accepted`);
}

describe('parseRemoteUrl', () => {
  test('reads every accepted form', () => {
    const home = process.env['HOME'] ?? '';
    const cases: [string, Record<string, unknown>][] = [
      ['/mnt/team/sluice/', { kind: 'folder', path: '/mnt/team/sluice' }],
      ['file:///mnt/team/my%20data', { kind: 'folder', path: '/mnt/team/my data' }],
      ['~/remotes/sluice', { kind: 'folder', path: `${home}/remotes/sluice` }],
      [
        'ssh://alice@data.example.org:2222/srv/sluice',
        { kind: 'ssh', host: 'data.example.org', user: 'alice', port: 2222, path: '/srv/sluice' },
      ],
      [
        'ssh://backup/~/sluice',
        { kind: 'ssh', host: 'backup', user: undefined, port: undefined, path: 'sluice' },
      ],
      ['ssh://[::1]:22/srv', { kind: 'ssh', host: '::1', port: 22, path: '/srv' }],
      ['sftp://nas/volume1/sluice', { kind: 'ssh', host: 'nas', path: '/volume1/sluice' }],
      ['nas:sluice/store', { kind: 'ssh', host: 'nas', user: undefined, path: 'sluice/store' }],
      ['bob@nas:/srv/sluice', { kind: 'ssh', host: 'nas', user: 'bob', path: '/srv/sluice' }],
      ['nas:', { kind: 'ssh', host: 'nas', path: '.' }],
      ['s3://team-data/sluice/store/', { kind: 's3', bucket: 'team-data', prefix: 'sluice/store' }],
      ['s3://team-data', { kind: 's3', bucket: 'team-data', prefix: '' }],
    ];
    for (const [url, expected] of cases) {
      const location = parseRemoteUrl(url) as unknown as Record<string, unknown>;
      assert.equal(location['url'], url);
      for (const [field, value] of Object.entries(expected))
        assert.equal(location[field], value, `${url}: ${field}`);
    }
    assert.equal(
      (parseRemoteUrl('store', { relativeTo: '/work/project' }) as { path: string }).path,
      '/work/project/store',
    );
    assert.equal(parseRemoteUrl('./a:b', { relativeTo: '/w' }).kind, 'folder');
  });

  test('refuses anything else, naming the value and the accepted forms', () => {
    for (const url of [
      '',
      'relative/folder',
      'https://example.org/store',
      'ssh://host',
      'ssh://-oProxyCommand=touch%20x/srv',
      '-oProxyCommand=x:path',
      'ssh://host:99999/srv',
      'ssh://host/~other/srv',
      's3://Bad_Bucket/prefix',
      's3://ab',
      's3://bucket/a//b',
    ]) {
      const failure = refusal(url);
      assert.equal(failure.code, 'remote-url-invalid', url);
      assert.equal(failure.kind, 'usage');
      assert.equal(failure.data['url'], url);
      assert.ok(failure.message.includes(`'${url}'`), failure.message);
      assert.match(failure.hint ?? '', /ssh:\/\/\[user@\]host\[:port\]\/path.*s3:\/\/bucket\/prefix/);
    }
  });
});
