// Large transfers checked in the pass that moves them, and resumed inside a
// file (issue 14), against real servers (a folder, a private sshd, s3rver on
// 127.0.0.1) started here and stopped by their pids. For each kind: a put and
// a get cut off partway (an AbortSignal at several points, on sizes around
// the checkpoints) and run again move only the rest; a source that does not
// hash as it should is refused without leaving anything at the key; a key
// that does not hash as it should is refused without keeping a byte here.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';
import { SluiceError } from '../../src/core/errors';
import { ObjectStore } from '../../src/core/store/objectStore';
import { CHECKPOINT_BYTES } from '../../src/core/remotes/transport/resume';
import {
  isTemporaryKey,
  openTransport,
  parseRemoteUrl,
  type OpenOptions,
  type RemoteLocation,
  type Transport,
} from '../../src/core/remotes/transport/transport';
import { s3rverCredentials, startS3rver, type S3Server } from '../support/services/s3rver';
import { SSH_ALIAS, startSshd, type SshServer } from '../support/services/sshd';
import { filesUnder, MiB, randomFile, sha256OfFile } from '../support/remotes';

const BUCKET = 'sluice-resume-tests';
const scratch = mkdtempSync(join(tmpdir(), 'sluice-resume-'));
Object.assign(process.env, s3rverCredentials(scratch));

const shared: { sshd?: Promise<SshServer>; s3?: Promise<S3Server> } = {};
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
  /** The remote's folder on this machine (folder and SSH remotes). */
  readonly base: string | undefined;
}

interface Kind {
  readonly name: 'folder' | 'ssh' | 's3';
  /** Whether a put cut off resumes: s3rver cannot list multipart uploads, so on it a put starts again. */
  readonly putResumes: boolean;
  fresh(): Promise<Remote>;
}

const KINDS: readonly Kind[] = [
  {
    name: 'folder',
    putResumes: true,
    fresh: () => {
      const base = newFolder('folder-remote');
      return Promise.resolve({ location: parseRemoteUrl(base), options: {}, base });
    },
  },
  {
    name: 'ssh',
    putResumes: true,
    fresh: async () => {
      const sshd = await (shared.sshd ??= startSshd());
      const base = newFolder('ssh-remote');
      return {
        location: parseRemoteUrl(`ssh://${SSH_ALIAS}${base}`),
        options: { sshConfigFile: sshd.configFile },
        base,
      };
    },
  },
  {
    name: 's3',
    putResumes: false,
    fresh: async () => {
      const server = await (shared.s3 ??= startS3rver([BUCKET]));
      const prefix = `remote-${randomBytes(4).toString('hex')}`;
      return {
        location: parseRemoteUrl(`s3://${BUCKET}/${prefix}`),
        options: { s3: { endpoint: server.endpoint } },
        base: undefined,
      };
    },
  },
];

async function withTransport<T>(remote: Remote, use: (transport: Transport) => Promise<T>): Promise<T> {
  const transport = await openTransport(remote.location, remote.options);
  try {
    return await use(transport);
  } finally {
    await transport.close();
  }
}

async function failure(promise: Promise<unknown>): Promise<SluiceError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof SluiceError, `a SluiceError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a failure');
}

async function keysOn(transport: Transport): Promise<string[]> {
  const keys: string[] = [];
  for await (const { key } of transport.list('', { includeTemporary: true })) keys.push(key);
  return keys.sort();
}

/** Sizes around the checkpoints: just past one, just short of the next. */
const SIZES = [CHECKPOINT_BYTES + 1, 2 * CHECKPOINT_BYTES - 7];
/** Where the first attempt is cut, as a share of the size. */
const CUTS = [0.3, 0.8];
/** What a cut can leave unproven: the chunks still in flight when it came. */
const IN_FLIGHT = 3 * MiB;

const damaged = (): SluiceError =>
  new SluiceError('damaged on purpose', 'failed', 'nothing to do', { code: 'damaged-blob' });

for (const kind of KINDS) {
  describe(`resuming on a ${kind.name} remote`, { timeout: 300_000 }, () => {
    for (const size of SIZES)
      for (const cut of CUTS)
        test(`a put of ${size} bytes cut at ${cut * 100}% sends only the rest`, async (t: TestContext) => {
          const remote = await kind.fresh();
          const source = join(newFolder('source'), 'blob.bin');
          const hash = await randomFile(source, size);
          const key = `blobs/${hash.slice(0, 2)}/${hash.slice(2)}`;
          const verify = { algorithm: 'sha256' as const, expected: hash, onMismatch: damaged };
          await withTransport(remote, async (transport) => {
            const controller = new AbortController();
            let cutAt = 0;
            const cutOff = await failure(
              transport.put(
                key,
                { path: source },
                {
                  resumable: true,
                  verify,
                  signal: controller.signal,
                  onProgress: (bytes) => {
                    if (bytes >= size * cut && !controller.signal.aborted) {
                      cutAt = bytes;
                      controller.abort();
                    }
                  },
                },
              ),
            );
            assert.equal(cutOff.code, 'cancelled');
            assert.equal(await transport.stat(key), undefined, 'nothing at the key yet');
            assert.ok((await keysOn(transport)).every(isTemporaryKey));

            let moved = 0;
            const result = await transport.put(
              key,
              { path: source },
              { resumable: true, verify, onProgress: (bytes) => (moved = bytes) },
            );
            t.diagnostic(`${kind.name}: cut after ${cutAt} bytes; resumed ${result.skipped}, sent ${moved}`);
            if (kind.putResumes) {
              assert.ok(result.skipped >= cutAt - IN_FLIGHT, `resumed ${result.skipped} of ${cutAt}`);
              assert.ok(result.skipped <= size);
            } else {
              assert.equal(result.skipped, 0);
            }
            assert.equal(moved, size - result.skipped, 'only the rest moved');
            assert.deepEqual(await keysOn(transport), [key], 'no leftover beside the key');
            const back = join(newFolder('back'), 'blob.bin');
            await transport.get(key, back, { verify });
            assert.equal(await sha256OfFile(back), hash);
          });
        });

    for (const size of SIZES)
      for (const cut of CUTS)
        test(`a get of ${size} bytes cut at ${cut * 100}% receives only the rest`, async (t: TestContext) => {
          const remote = await kind.fresh();
          const source = join(newFolder('source'), 'blob.bin');
          const hash = await randomFile(source, size);
          const key = `blobs/${hash.slice(0, 2)}/${hash.slice(2)}`;
          const verify = { algorithm: 'sha256' as const, expected: hash, onMismatch: damaged };
          const local = newFolder('local');
          const partial = join(local, 'fetch', hash);
          await withTransport(remote, async (transport) => {
            await transport.put(key, { path: source });
            const controller = new AbortController();
            let cutAt = 0;
            const first = join(local, 'first');
            const cutOff = await failure(
              transport.get(key, first, {
                partial,
                verify,
                signal: controller.signal,
                onProgress: (bytes) => {
                  if (bytes >= size * cut && !controller.signal.aborted) {
                    cutAt = bytes;
                    controller.abort();
                  }
                },
              }),
            );
            assert.equal(cutOff.code, 'cancelled');
            assert.equal(existsSync(first), false);
            // What a later run finds: the partial and its record, nothing else.
            assert.deepEqual(
              readdirSync(join(local, 'fetch'))
                .map((name) => name.replace(String(process.pid), 'PID'))
                .sort(),
              [`${hash}.PID.part`, `${hash}.PID.resume`],
            );

            let moved = 0;
            const dest = join(local, 'second');
            const result = await transport.get(key, dest, {
              partial,
              verify,
              onProgress: (bytes) => (moved = bytes),
            });
            t.diagnostic(
              `${kind.name}: cut after ${cutAt} bytes; resumed ${result.skipped}, received ${moved}`,
            );
            assert.ok(result.skipped >= cutAt - IN_FLIGHT, `resumed ${result.skipped} of ${cutAt}`);
            assert.equal(moved, size - result.skipped, 'only the rest moved');
            assert.equal(await sha256OfFile(dest), hash);
            assert.deepEqual(readdirSync(join(local, 'fetch')), [], 'the partial became the file');
          });
        });

    test('a source that does not hash as it should is refused, and nothing is left at the key', async () => {
      const remote = await kind.fresh();
      await withTransport(remote, async (transport) => {
        // One PUT, and (above 16 MiB on S3) a multipart upload; resumable and not.
        for (const size of [MiB + 1, 20 * MiB + 3])
          for (const resumable of [false, true]) {
            const source = join(newFolder('source'), 'blob.bin');
            const hash = await randomFile(source, size);
            const wrong = hash.replace(/^./, (first) => (first === '0' ? '1' : '0'));
            const key = `blobs/${wrong.slice(0, 2)}/${wrong.slice(2)}`;
            const refused = await failure(
              transport.put(
                key,
                { path: source },
                { resumable, verify: { algorithm: 'sha256', expected: wrong, onMismatch: damaged } },
              ),
            );
            assert.equal(refused.code, 'damaged-blob', refused.message);
            assert.equal(await transport.stat(key), undefined);
            assert.deepEqual(
              await keysOn(transport),
              [],
              `nothing left (${size} bytes, resumable ${resumable})`,
            );
            if (remote.base !== undefined) assert.deepEqual(filesUnder(remote.base), []);
          }
      });
    });

    test('a key that does not hash as it should is refused, and nothing of it is kept', async () => {
      const remote = await kind.fresh();
      await withTransport(remote, async (transport) => {
        for (const size of [MiB + 1, CHECKPOINT_BYTES + 5])
          for (const truncated of [false, true]) {
            const source = join(newFolder('source'), 'blob.bin');
            const hash = await randomFile(source, size);
            // The bytes on the remote are other than the name says: cut short, or wholly other.
            if (truncated) truncateSync(source, size - 1000);
            else await randomFile(source, size);
            const key = `blobs/${hash.slice(0, 2)}/${hash.slice(2)}`;
            await transport.put(key, { path: source });
            const local = newFolder('local');
            const dest = join(local, 'blob');
            const refused = await failure(
              transport.get(key, dest, {
                partial: join(local, 'fetch', hash),
                verify: { algorithm: 'sha256', expected: hash, onMismatch: damaged },
              }),
            );
            assert.equal(refused.code, 'damaged-blob');
            assert.equal(existsSync(dest), false);
            assert.deepEqual(readdirSync(join(local, 'fetch')), [], 'no partial kept either');
          }
      });
    });
  });
}

describe('partial downloads and gc', () => {
  test("gc's sweep of stale temporaries removes old partials and their records", async () => {
    const root = newFolder('store');
    const store = new ObjectStore(root);
    const folder = join(store.scratchFolder(), 'fetch');
    mkdirSync(folder, { recursive: true });
    const remote = await KINDS[0]!.fresh();
    const source = join(newFolder('source'), 'blob.bin');
    const hash = await randomFile(source, 4 * MiB);
    const key = `blobs/${hash.slice(0, 2)}/${hash.slice(2)}`;
    await withTransport(remote, async (transport) => {
      await transport.put(key, { path: source });
      const controller = new AbortController();
      await failure(
        transport.get(key, store.temporaryPath(), {
          partial: join(folder, hash),
          signal: controller.signal,
          onProgress: () => {
            controller.abort();
          },
        }),
      );
    });
    assert.equal(readdirSync(folder).length, 2);
    assert.equal(store.removeStaleTemporaries(60_000), 0, 'young partials stay');
    const old = new Date(Date.now() - 3_600_000);
    for (const name of readdirSync(folder)) utimesSync(join(folder, name), old, old);
    assert.equal(store.removeStaleTemporaries(60_000), 2);
    assert.deepEqual(readdirSync(folder), []);
  });

  test('a record half-written by a killed process is removed by the next download of that blob; a live one stays', async () => {
    const folder = newFolder('records');
    const remote = await KINDS[0]!.fresh();
    const source = join(newFolder('source'), 'blob.bin');
    const hash = await randomFile(source, 1 * MiB);
    const key = `blobs/${hash.slice(0, 2)}/${hash.slice(2)}`;
    // A process that has ended: its pid names no running process (for the moment this test takes).
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    }).stdout;
    const orphan = `.${hash}.${gone}.resume.0123456789ab.tmp`;
    const live = `.${hash}.${process.pid}.resume.ba9876543210.tmp`;
    const otherBlob = `.${'0'.repeat(64)}.${gone}.resume.0123456789ab.tmp`;
    for (const name of [orphan, live, otherBlob]) writeFileSync(join(folder, name), 'torn');
    await withTransport(remote, async (transport) => {
      await transport.put(key, { path: source });
      const dest = join(folder, 'dest.bin');
      await transport.get(key, dest, {
        partial: join(folder, hash),
        verify: { algorithm: 'sha256', expected: hash, onMismatch: damaged },
      });
      assert.equal(await sha256OfFile(dest), hash);
    });
    assert.deepEqual(readdirSync(folder).sort(), [otherBlob, live, 'dest.bin'].sort());
  });
});
