// Remote transports (issue 14) against real servers: a folder, a private
// OpenSSH server and an S3-protocol server (s3rver), both on 127.0.0.1,
// started here and stopped by their pids. The same behaviour is asked of all
// three kinds: keys round-trip byte-exact, a put is all or nothing (a
// cancelled one leaves no key), 64 MiB stream with flat memory. Then each
// kind's own faults, as a user meets them: a wrong key or credentials, an
// unknown host key, nothing listening, a missing folder or bucket, a
// read-only folder, a full disk, a server killed mid-put; and many small
// puts over one SSH connection.
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';
import { SluiceError } from '../../src/core/errors';
import {
  isTemporaryKey,
  openTransport,
  parseRemoteUrl,
  type OpenOptions,
  type RemoteLocation,
  type Transport,
} from '../../src/core/remotes/transport/transport';
import { s3rverCredentials, startS3rver, type S3Server } from '../support/services/s3rver';
import { freePort, SSH_ALIAS, startSshd, type SshServer } from '../support/services/sshd';
import { startTinyDisk } from '../support/services/tinyDisk';
import { filesUnder, makeReadOnly, MiB, randomFile, rssGrowth, sha256OfFile } from '../support/remotes';

const BUCKET = 'sluice-remote-tests';
const scratch = mkdtempSync(join(tmpdir(), 'sluice-transports-'));
Object.assign(process.env, s3rverCredentials(scratch));

/** Servers shared by the tests that do not kill theirs, started on first use. */
const shared: { sshd?: Promise<SshServer>; s3?: Promise<S3Server> } = {};
const sharedSshd = (): Promise<SshServer> => (shared.sshd ??= startSshd());
const sharedS3 = (): Promise<S3Server> => (shared.s3 ??= startS3rver([BUCKET]));
after(async () => {
  await Promise.allSettled([
    shared.sshd?.then((server) => server.stop()),
    shared.s3?.then((server) => server.stop()),
  ]);
  rmSync(scratch, { recursive: true, force: true });
});

function newFolder(name: string): string {
  return mkdtempSync(join(scratch, `${name}-`));
}

interface Remote {
  readonly location: RemoteLocation;
  readonly options: OpenOptions;
  /** The remote's folder on this machine (folder and SSH remotes), to look behind the transport. */
  readonly base: string | undefined;
  /** Writes a key behind the transport's back, as another program (or an interrupted put) would. */
  plant(key: string, bytes: Uint8Array): Promise<void>;
}

interface Kind {
  readonly name: 'folder' | 'ssh' | 's3';
  /** A new, empty remote of this kind. */
  fresh(): Promise<Remote>;
}

const plantFile =
  (base: string) =>
  (key: string, bytes: Uint8Array): Promise<void> => {
    mkdirSync(dirname(join(base, key)), { recursive: true });
    writeFileSync(join(base, key), bytes);
    return Promise.resolve();
  };

const KINDS: readonly Kind[] = [
  {
    name: 'folder',
    fresh: () => {
      const base = newFolder('folder-remote');
      return Promise.resolve({ location: parseRemoteUrl(base), options: {}, base, plant: plantFile(base) });
    },
  },
  {
    name: 'ssh',
    fresh: async () => {
      const sshd = await sharedSshd();
      const base = newFolder('ssh-remote');
      const location = parseRemoteUrl(`ssh://${SSH_ALIAS}${base}`);
      return { location, options: { sshConfigFile: sshd.configFile }, base, plant: plantFile(base) };
    },
  },
  {
    name: 's3',
    fresh: async () => {
      const server = await sharedS3();
      const prefix = `remote-${randomBytes(4).toString('hex')}`;
      const options = { s3: { endpoint: server.endpoint } };
      const plant = async (key: string, bytes: Uint8Array): Promise<void> => {
        const client = new S3Client({ endpoint: server.endpoint, forcePathStyle: true });
        await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}/${key}`, Body: bytes }));
        client.destroy();
      };
      return { location: parseRemoteUrl(`s3://${BUCKET}/${prefix}`), options, base: undefined, plant };
    },
  },
];

async function withTransport<T>(
  remote: Pick<Remote, 'location' | 'options'>,
  use: (transport: Transport) => Promise<T>,
): Promise<T> {
  const transport = await openTransport(remote.location, remote.options);
  try {
    return await use(transport);
  } finally {
    await transport.close();
  }
}

async function listAll(
  transport: Transport,
  prefix: string,
  includeTemporary = false,
): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for await (const { key, size } of transport.list(prefix, { includeTemporary })) found.set(key, size);
  return found;
}

/** Awaits a failure and checks it is the SluiceError a user should see: its code, naming the remote, no stack. */
async function failsWith(promise: Promise<unknown>, code: string, remote: string): Promise<SluiceError> {
  let failure: unknown;
  try {
    await promise;
  } catch (error) {
    failure = error;
  }
  assert.ok(failure instanceof SluiceError, `expected ${code}, got ${String(failure)}`);
  assert.equal(failure.code, code, `expected ${code}: ${failure.message}`);
  if (code !== 'remote-url-invalid') assert.equal(failure.data['remote'], remote);
  assert.ok(failure.message.includes(remote), `the message names ${remote}: ${failure.message}`);
  assert.ok((failure.hint ?? '').length > 0, 'it says what to do next');
  assert.doesNotMatch(failure.message, /\n\s+at /, 'no stack trace');
  return failure;
}

function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(2)} s`;
}

for (const kind of KINDS) {
  describe(`a ${kind.name} remote`, { timeout: 180_000 }, () => {
    test('put, stat, get, getRange, list and delete round-trip keys at any depth', async () => {
      const remote = await kind.fresh();
      await withTransport(remote, async (transport) => {
        assert.equal(transport.display, remote.location.url);
        const hello = Buffer.from('hello, remote\n');
        await transport.put('objects/ab/cdef', { bytes: hello });
        const sourcePath = join(newFolder('source'), 'file.bin');
        const sourceHash = await randomFile(sourcePath, 300_000);
        await transport.put('top', { path: sourcePath });
        await transport.put('objects/ab/empty', { bytes: new Uint8Array(0) });

        assert.deepEqual(await transport.stat('objects/ab/cdef'), { size: hello.length });
        assert.deepEqual(await transport.stat('top'), { size: 300_000 });
        assert.equal(await transport.stat('objects/ab'), undefined, 'a folder is not a key');

        const dest = join(newFolder('download'), 'top');
        await transport.get('top', dest);
        assert.equal(await sha256OfFile(dest), sourceHash);
        assert.deepEqual(
          Buffer.from(await transport.getRange('objects/ab/cdef', 7, 13)),
          Buffer.from('remote'),
        );
        assert.deepEqual(
          Buffer.from(await transport.getRange('objects/ab/cdef', 7, 1000)),
          hello.subarray(7),
        );
        assert.equal((await transport.getRange('objects/ab/cdef', 100, 200)).byteLength, 0);

        assert.deepEqual(
          await listAll(transport, ''),
          new Map([
            ['objects/ab/cdef', hello.length],
            ['objects/ab/empty', 0],
            ['top', 300_000],
          ]),
        );
        await transport.delete('objects/ab/cdef');
        await transport.delete('objects/ab/cdef'); // already gone: fine
        assert.equal(await transport.stat('objects/ab/cdef'), undefined);
      });
    });

    test('a put replaces a key whole', async () => {
      await withTransport(await kind.fresh(), async (transport) => {
        await transport.put('refs/manifest', { bytes: Buffer.from('first version, longer than the second') });
        await transport.put('refs/manifest', { bytes: Buffer.from('second') });
        const dest = join(newFolder('download'), 'manifest');
        await transport.get('refs/manifest', dest);
        assert.equal(readFileSync(dest, 'utf8'), 'second');
      });
    });

    test('list finds keys by string prefix at any depth, and leftovers only when asked', async () => {
      const remote = await kind.fresh();
      await withTransport(remote, async (transport) => {
        for (const key of ['packs/p1.pack', 'packs/p1.idx', 'packs/old/p0.pack', 'pack-list', 'objects/aa/1'])
          await transport.put(key, { bytes: Buffer.from(key) });
        await remote.plant('packs/p2.pack.sluice-tmp-0123456789ab', Buffer.from('half a pack'));
        assert.deepEqual([...(await listAll(transport, 'packs/')).keys()].sort(), [
          'packs/old/p0.pack',
          'packs/p1.idx',
          'packs/p1.pack',
        ]);
        assert.deepEqual([...(await listAll(transport, 'pack')).keys()].sort(), [
          'pack-list',
          'packs/old/p0.pack',
          'packs/p1.idx',
          'packs/p1.pack',
        ]);
        assert.deepEqual([...(await listAll(transport, 'packs/p1')).keys()].sort(), [
          'packs/p1.idx',
          'packs/p1.pack',
        ]);
        assert.deepEqual([...(await listAll(transport, 'nothing/here')).keys()], []);
        const withLeftovers = [...(await listAll(transport, 'packs/', true)).keys()];
        assert.deepEqual(withLeftovers.filter(isTemporaryKey), ['packs/p2.pack.sluice-tmp-0123456789ab']);
      });
    });

    test('a missing key: stat says so, get fails naming it, delete is fine', async () => {
      await withTransport(await kind.fresh(), async (transport) => {
        assert.equal(await transport.stat('objects/no/such'), undefined);
        const dest = join(newFolder('download'), 'missing');
        const failure = await failsWith(
          transport.get('objects/no/such', dest),
          'remote-object-missing',
          transport.display,
        );
        assert.equal(failure.data['key'], 'objects/no/such');
        assert.equal(existsSync(dest), false, 'no empty file is left where the download was going');
        await failsWith(
          transport.getRange('objects/no/such', 0, 10),
          'remote-object-missing',
          transport.display,
        );
        await transport.delete('objects/no/such');
      });
    });

    test('keys that could escape the remote are refused', async () => {
      await withTransport(await kind.fresh(), async (transport) => {
        for (const key of ['../outside', '/etc/passwd', 'a//b', 'a/./b', '', 'x.sluice-tmp-0123456789ab'])
          await failsWith(
            transport.put(key, { bytes: Buffer.from('x') }),
            'remote-key-invalid',
            transport.display,
          );
      });
    });

    test('a put cancelled midway leaves no key, at most a leftover named as one', async () => {
      const remote = await kind.fresh();
      await withTransport(remote, async (transport) => {
        const source = join(newFolder('source'), 'big.bin');
        await randomFile(source, 24 * MiB);
        const controller = new AbortController();
        const putting = transport.put(
          'objects/big',
          { path: source },
          {
            signal: controller.signal,
            onProgress: (bytes) => {
              if (bytes >= 2 * MiB) controller.abort();
            },
          },
        );
        const failure = await failsWith(putting, 'cancelled', transport.display);
        assert.equal(failure.kind, 'cancelled');
        assert.equal(await transport.stat('objects/big'), undefined);
        const left = [...(await listAll(transport, 'objects/', true)).keys()];
        assert.ok(left.every(isTemporaryKey), `only temporary names may be left: ${left.join(', ')}`);
        if (remote.base !== undefined) assert.ok(filesUnder(remote.base).every(isTemporaryKey));
      });
    });

    test('64 MiB round-trip byte-exact with memory that does not grow with the file', async (t: TestContext) => {
      await withTransport(await kind.fresh(), async (transport) => {
        const folder = newFolder('big');
        const source = join(folder, 'source.bin');
        const hash = await randomFile(source, 64 * MiB);
        // How a buffering transfer would show: reading the whole file at once. Measured first,
        // while the heap holds nothing freed that a later read could take back without growing.
        const wholeFile = await rssGrowth(async () => {
          const bytes = await readFile(source);
          await new Promise((resolve) => setTimeout(resolve, 20));
          assert.equal(bytes.length, 64 * MiB);
        });
        let progress = 0;
        let started = performance.now();
        const putGrowth = await rssGrowth(async () => {
          await transport.put(
            'objects/large',
            { path: source },
            { onProgress: (bytes) => (progress = bytes) },
          );
        });
        const putTime = seconds(started);
        assert.equal(progress, 64 * MiB, 'progress reaches the size');
        assert.deepEqual(await transport.stat('objects/large'), { size: 64 * MiB });
        started = performance.now();
        const dest = join(folder, 'dest.bin');
        const getGrowth = await rssGrowth(async () => {
          await transport.get('objects/large', dest);
        });
        const getTime = seconds(started);
        assert.equal(await sha256OfFile(dest), hash);
        t.diagnostic(
          // The times include the sampler's full collection every 50 ms.
          `${kind.name}: 64 MiB put ${putTime} (RSS +${(putGrowth / MiB).toFixed(1)} MiB), ` +
            `get ${getTime} (RSS +${(getGrowth / MiB).toFixed(1)} MiB); readFile of it: RSS +${(wholeFile / MiB).toFixed(1)} MiB`,
        );
        assert.ok(
          wholeFile > 56 * MiB,
          `the sampler sees a buffered copy (+${(wholeFile / MiB).toFixed(1)} MiB)`,
        );
        assert.ok(putGrowth < 32 * MiB, `put grew RSS by ${(putGrowth / MiB).toFixed(1)} MiB`);
        assert.ok(getGrowth < 32 * MiB, `get grew RSS by ${(getGrowth / MiB).toFixed(1)} MiB`);
      });
    });
  });
}

describe('faults of a folder remote', { timeout: 120_000 }, () => {
  test('a folder that does not exist is remote-not-found', async () => {
    const missing = join(scratch, 'no-such-remote');
    await failsWith(openTransport(parseRemoteUrl(missing)), 'remote-not-found', missing);
  });

  test('a read-only folder is remote-permission, and nothing is left in it', async () => {
    const base = newFolder('read-only');
    await withTransport({ location: parseRemoteUrl(base), options: {} }, async (transport) => {
      await transport.put('existing', { bytes: Buffer.from('written before') });
      const undo = makeReadOnly(base);
      try {
        await failsWith(transport.put('objects/new', { bytes: Buffer.from('x') }), 'remote-permission', base);
        await failsWith(transport.put('new', { bytes: Buffer.from('x') }), 'remote-permission', base);
        assert.deepEqual(
          await transport.getRange('existing', 0, 7),
          Buffer.from('written'),
          'reading still works',
        );
      } finally {
        undo();
      }
      assert.deepEqual(filesUnder(base), ['existing']);
    });
  });

  test('a full disk is remote-full, nothing is left, and the space is free again', async () => {
    const disk = await startTinyDisk(4 * MiB);
    try {
      const source = join(newFolder('source'), 'eight.bin');
      await randomFile(source, 8 * MiB);
      await withTransport({ location: parseRemoteUrl(disk.path), options: {} }, async (transport) => {
        await failsWith(transport.put('objects/eight', { path: source }), 'remote-full', disk.path);
        assert.deepEqual(filesUnder(disk.path), []);
        await transport.put('objects/small', { bytes: randomBytes(2 * MiB) });
      });
    } finally {
      await disk.stop();
    }
  });
});

describe('faults of an ssh remote', { timeout: 180_000 }, () => {
  const url = (path: string): string => `ssh://${SSH_ALIAS}${path}`;

  test('a key the server does not accept is remote-auth', async () => {
    const sshd = await sharedSshd();
    const base = newFolder('ssh-auth');
    const sshConfigFile = sshd.clientConfig('stranger', { identity: 'stranger' });
    const failure = await failsWith(
      openTransport(parseRemoteUrl(url(base)), { sshConfigFile }),
      'remote-auth',
      url(base),
    );
    assert.match(failure.message, /refused the SSH login.*Permission denied \(publickey\)/);
    assert.match(failure.hint ?? '', /ssh-add -l/);
  });

  test("an unknown host key is remote-auth, and is not accepted behind the user's back", async () => {
    const sshd = await sharedSshd();
    const base = newFolder('ssh-host-key');
    const sshConfigFile = sshd.clientConfig('unknown-host', { trustHost: false });
    const failure = await failsWith(
      openTransport(parseRemoteUrl(url(base)), { sshConfigFile }),
      'remote-auth',
      url(base),
    );
    assert.match(failure.message, /host key .* not in known_hosts/);
    assert.equal(readFileSync(sshConfigFile.replace('.ssh_config', '.known_hosts'), 'utf8'), '');
  });

  test('a port where nothing listens is remote-unreachable', async () => {
    const sshd = await sharedSshd();
    const sshConfigFile = sshd.clientConfig('closed-port', { port: await freePort() });
    const failure = await failsWith(
      openTransport(parseRemoteUrl(url('/srv/sluice')), { sshConfigFile }),
      'remote-unreachable',
      url('/srv/sluice'),
    );
    assert.match(failure.message, /connection was refused/);
  });

  test('a base folder that does not exist is remote-not-found', async () => {
    const sshd = await sharedSshd();
    const missing = join(scratch, 'no-such-ssh-remote');
    const failure = await failsWith(
      openTransport(parseRemoteUrl(url(missing)), { sshConfigFile: sshd.configFile }),
      'remote-not-found',
      url(missing),
    );
    assert.match(failure.hint ?? '', /mkdir -p/);
  });

  test('a read-only folder is remote-permission, and nothing is left in it', async () => {
    const sshd = await sharedSshd();
    const base = newFolder('ssh-read-only');
    const location = parseRemoteUrl(url(base));
    await withTransport({ location, options: { sshConfigFile: sshd.configFile } }, async (transport) => {
      await transport.put('existing', { bytes: Buffer.from('written before') });
      const undo = makeReadOnly(base);
      try {
        await failsWith(
          transport.put('objects/new', { bytes: Buffer.from('x') }),
          'remote-permission',
          url(base),
        );
        await failsWith(transport.put('new', { bytes: Buffer.from('x') }), 'remote-permission', url(base));
        assert.deepEqual(
          await transport.getRange('existing', 0, 7),
          Buffer.from('written'),
          'reading still works',
        );
      } finally {
        undo();
      }
      assert.deepEqual(filesUnder(base), ['existing']);
    });
  });

  test('a full disk is remote-full, nothing is left, and the space is free again', async () => {
    const sshd = await sharedSshd();
    const disk = await startTinyDisk(4 * MiB);
    try {
      const source = join(newFolder('source'), 'eight.bin');
      await randomFile(source, 8 * MiB);
      const location = parseRemoteUrl(url(disk.path));
      await withTransport({ location, options: { sshConfigFile: sshd.configFile } }, async (transport) => {
        await failsWith(transport.put('objects/eight', { path: source }), 'remote-full', url(disk.path));
        assert.deepEqual(filesUnder(disk.path), []);
        await transport.put('objects/small', { bytes: randomBytes(2 * MiB) });
      });
    } finally {
      await disk.stop();
    }
  });

  test('a server killed mid-put is remote-unreachable, and the key never appears', async () => {
    const sshd = await startSshd();
    try {
      const base = newFolder('ssh-killed');
      const source = join(newFolder('source'), 'big.bin');
      await randomFile(source, 64 * MiB);
      const transport = await openTransport(parseRemoteUrl(url(base)), { sshConfigFile: sshd.configFile });
      let killing: Promise<void> | undefined;
      const putting = transport.put(
        'objects/big',
        { path: source },
        {
          onProgress: (bytes) => {
            if (bytes >= 8 * MiB) killing ??= sshd.kill();
          },
        },
      );
      await failsWith(putting, 'remote-unreachable', url(base));
      await killing;
      assert.equal(existsSync(join(base, 'objects/big')), false);
      assert.ok(filesUnder(base).every(isTemporaryKey), `only leftovers: ${filesUnder(base).join(', ')}`);
      // The transport stays dead, and says so at once rather than hanging.
      await failsWith(transport.stat('objects/big'), 'remote-unreachable', url(base));
      await transport.close();
    } finally {
      await sshd.stop();
    }
  });

  test('2,000 small puts go over one connection in a few seconds', async (t: TestContext) => {
    const sshd = await sharedSshd();
    const base = newFolder('ssh-small');
    const loginsBefore = sshd.acceptedLogins();
    const started = performance.now();
    await withTransport(
      { location: parseRemoteUrl(url(base)), options: { sshConfigFile: sshd.configFile } },
      (transport) =>
        Promise.all(
          Array.from({ length: 2000 }, (_, index) =>
            transport.put(`small/${(index % 64).toString(16).padStart(2, '0')}/${index}`, {
              bytes: Buffer.from(`small file ${index}\n`),
            }),
          ),
        ),
    );
    const elapsed = seconds(started);
    t.diagnostic(`2,000 puts of about 16 bytes over SSH (each fsynced on the server): ${elapsed}`);
    assert.equal(sshd.acceptedLogins() - loginsBefore, 1, 'one ssh connection');
    assert.equal(filesUnder(base).length, 2000);
    assert.ok(performance.now() - started < 15_000, `2,000 puts took ${elapsed}`);
  });
});

describe('faults of an s3 remote', { timeout: 180_000 }, () => {
  test('a bucket that does not exist is remote-not-found', async () => {
    const server = await sharedS3();
    const remote = 's3://no-such-bucket/prefix';
    await failsWith(
      openTransport(parseRemoteUrl(remote), { s3: { endpoint: server.endpoint } }),
      'remote-not-found',
      remote,
    );
  });

  // s3rver checks the access key id but not SigV4 signatures, so a wrong
  // secret (SignatureDoesNotMatch on a real server) cannot be shown here.
  test('an access key the server does not know is remote-auth', async () => {
    const server = await sharedS3();
    const remote = `s3://${BUCKET}/prefix`;
    const right = process.env['AWS_ACCESS_KEY_ID'];
    process.env['AWS_ACCESS_KEY_ID'] = 'NOT-S3RVER';
    try {
      const failure = await failsWith(
        openTransport(parseRemoteUrl(remote), { s3: { endpoint: server.endpoint } }),
        'remote-auth',
        remote,
      );
      assert.match(failure.message, /refused the credentials \(InvalidAccessKeyId\)/);
      assert.match(failure.hint ?? '', /AWS_PROFILE/);
    } finally {
      process.env['AWS_ACCESS_KEY_ID'] = right;
    }
  });

  test('no credentials anywhere is remote-auth, saying where credentials are looked for', async () => {
    const server = await sharedS3();
    const remote = `s3://${BUCKET}/prefix`;
    const saved = { id: process.env['AWS_ACCESS_KEY_ID'], secret: process.env['AWS_SECRET_ACCESS_KEY'] };
    // The chain then reads the (missing) files the helper points it at; instance metadata is turned off.
    delete process.env['AWS_ACCESS_KEY_ID'];
    delete process.env['AWS_SECRET_ACCESS_KEY'];
    try {
      const failure = await failsWith(
        openTransport(parseRemoteUrl(remote), { s3: { endpoint: server.endpoint } }),
        'remote-auth',
        remote,
      );
      assert.match(failure.message, /No AWS credentials were found/);
    } finally {
      process.env['AWS_ACCESS_KEY_ID'] = saved.id;
      process.env['AWS_SECRET_ACCESS_KEY'] = saved.secret;
    }
  });

  test('an endpoint where nothing listens is remote-unreachable', async () => {
    const remote = `s3://${BUCKET}/prefix`;
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    await failsWith(
      openTransport(parseRemoteUrl(remote), { s3: { endpoint } }),
      'remote-unreachable',
      remote,
    );
  });

  test('a server killed mid-put is remote-unreachable, and the key never appears', async () => {
    const server = await startS3rver([BUCKET]);
    const remote = `s3://${BUCKET}/killed`;
    const source = join(newFolder('source'), 'big.bin');
    await randomFile(source, 64 * MiB);
    let restarted: S3Server | undefined;
    try {
      await withTransport(
        { location: parseRemoteUrl(remote), options: { s3: { endpoint: server.endpoint } } },
        async (transport) => {
          let killing: Promise<void> | undefined;
          const putting = transport.put(
            'objects/big',
            { path: source },
            {
              onProgress: (bytes) => {
                if (bytes >= 16 * MiB) killing ??= server.kill();
              },
            },
          );
          await failsWith(putting, 'remote-unreachable', remote);
          await killing;
        },
      );
      restarted = await startS3rver([BUCKET], server.folder);
      await withTransport(
        { location: parseRemoteUrl(remote), options: { s3: { endpoint: restarted.endpoint } } },
        async (transport) => {
          assert.equal(await transport.stat('objects/big'), undefined);
          assert.deepEqual([...(await listAll(transport, '', true)).keys()], []);
        },
      );
    } finally {
      await server.stop({ keepFolder: true });
      await restarted?.stop();
    }
  });
});
