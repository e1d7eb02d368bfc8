// `sluice push`, `fetch` and `pull` as teammates use them, over each kind of
// remote a team has: a folder, an SSH server (a private sshd on 127.0.0.1
// that the test starts and stops by pid, reached through an ssh_config of
// the test's own, host keys checked) and an S3-protocol server (s3rver).
// Each machine is a clone in its own temp folder with its own cache; refs
// travel through a bare git repository, `origin`.
import Ajv2020 from 'ajv/dist/2020';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeRecord } from '../../src/core/remotes/transport/resume';
import { onlyJson } from '../support/environments';
import { startS3rver, s3rverCredentials, type S3Server } from '../support/services/s3rver';
import { startSshd, SSH_ALIAS, type SshServer } from '../support/services/sshd';
import {
  blobPath,
  clearVariablesRefusedBySimpleGit,
  git,
  noise,
  readTree,
  ROOT,
  sha256,
  sluice,
  startSluice,
} from '../support/workspace';

clearVariablesRefusedBySimpleGit();

const base = mkdtempSync(join(tmpdir(), 'sluice-cli-sync-'));
let sshd: SshServer;
let s3: S3Server;

before(async () => {
  sshd = await startSshd();
  s3 = await startS3rver(['team-data']);
});

after(async () => {
  await sshd.stop();
  await s3.stop();
  rmSync(base, { recursive: true, force: true });
});

/** The environment every command of one kind of remote runs with. */
function environmentFor(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, SLUICE_SSH_CONFIG: sshd.configFile, ...s3rverCredentials(base), ...extra };
}

const SCHEMAS = join(ROOT, 'src/cli/schemas');
const ajv = new Ajv2020({ allErrors: true, strict: true });
for (const file of readdirSync(SCHEMAS).filter((name) => name.endsWith('.schema.json')))
  ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS, file), 'utf8')) as object);

/** The command's one JSON object, checked against its schema (src/cli/schemas/) for push, fetch and pull. */
function checked(command: string, json: Record<string, unknown>): Record<string, unknown> {
  if (['push', 'fetch', 'pull', 'gc'].includes(command)) {
    const validate = ajv.getSchema(`https://sluice.dev/schemas/v1/${command}.json`)!;
    assert.ok(
      validate(json),
      `${command} --json: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(json)}`,
    );
  }
  return json;
}

function run(root: string, env: NodeJS.ProcessEnv, ...args: string[]): Record<string, unknown> {
  const result = sluice([...args, '--json'], root, env);
  assert.equal(result.status, 0, `sluice ${args.join(' ')}: ${result.stderr}${result.stdout}`);
  return checked(args[0]!, onlyJson(result));
}

interface Team {
  readonly origin: string;
  readonly alice: string;
  readonly env: NodeJS.ProcessEnv;
  readonly clone: (name: string) => string;
}

/** Alice's workspace (the churn example plus one large file), her remote declared and pushed to origin. */
function team(name: string, url: string, addFlags: readonly string[], env: NodeJS.ProcessEnv): Team {
  const folder = join(base, name);
  mkdirSync(folder);
  const origin = join(folder, 'origin.git');
  git(folder, 'init', '--quiet', '--bare', '--initial-branch=main', origin);
  const alice = join(folder, 'alice');
  assert.equal(sluice(['init', alice, '--example', 'churn'], folder).status, 0);
  for (const [key, value] of [
    ['user.name', 'Alice'],
    ['user.email', 'alice@sluice.invalid'],
  ] as const)
    git(alice, 'config', key, value);
  // One blob above the pack threshold, so the large-blob path travels too.
  writeFileSync(join(alice, 'data/raw/events/archive.bin'), noise(3 << 20, name));
  const added = sluice(['remote', 'add', 'team', url, '--default', ...addFlags], alice, env);
  assert.equal(added.status, 0, added.stderr);
  git(alice, 'commit', '--quiet', '-am', 'Declare the team remote');
  git(alice, 'remote', 'add', 'origin', origin);
  git(alice, 'push', '--quiet', 'origin', 'HEAD:refs/heads/main');
  return {
    origin,
    alice,
    env,
    clone: (who: string): string => {
      const root = join(folder, who);
      git(folder, 'clone', '--quiet', origin, root);
      git(root, 'config', 'user.name', who);
      git(root, 'config', 'user.email', `${who}@sluice.invalid`);
      return root;
    },
  };
}

function roundTrip(kind: string, make: () => Team): void {
  void test(`${kind}: push, then a fresh clone pulls byte for byte and runs nothing`, () => {
    const { alice, env, clone } = make();
    run(alice, env, 'snapshot');
    run(alice, env, 'stage');
    const pushed = run(alice, env, 'push');
    assert.equal(pushed['remote'], 'team');
    assert.ok((pushed['refs'] as unknown[]).length >= 3, JSON.stringify(pushed));
    const transferred = pushed['transferred'] as { blobs: number; requests: number };
    assert.ok(transferred.blobs > 0 && transferred.requests < transferred.blobs, JSON.stringify(transferred));

    const again = sluice(['push'], alice, env);
    assert.equal(again.status, 0);
    assert.match(again.stdout, /^Everything is on team \(git: origin\) already\.$/m);

    const bob = clone('bob');
    const fetched = run(bob, env, 'fetch');
    const behind = (fetched['status'] as { refs: { behind: number }[] }).refs;
    assert.ok(behind.length >= 2 && behind.every((ref) => ref.behind > 0), JSON.stringify(fetched));
    const pulled = run(bob, env, 'pull');
    assert.ok((pulled['datasets'] as { action: string }[]).every((dataset) => dataset.action === 'restored'));
    assert.deepEqual(readTree(join(bob, 'data/raw')), readTree(join(alice, 'data/raw')));
    const stages = run(bob, env, 'run')['stages'] as { result: string }[];
    assert.ok(
      stages.length > 0 && stages.every((stage) => stage.result === 'restored'),
      JSON.stringify(stages),
    );
  });
}

/** A failure: exit 1, one line naming the remote, the code in --json, and no ref moved anywhere. */
function assertRefused(
  root: string,
  origin: string,
  env: NodeJS.ProcessEnv,
  code: string,
  ...args: string[]
): void {
  // Something new to send, so the blob remote is really asked (a push with nothing new asks only git).
  if (args[0] === 'push') {
    writeFileSync(join(root, 'data/raw/events/new.csv'), `${code}\n`);
    run(root, env, 'snapshot');
  }
  const localBefore = git(root, 'for-each-ref', 'refs/sluice/');
  const originBefore = git(origin, 'for-each-ref', 'refs/sluice/');
  const text = sluice(args, root, env);
  assert.equal(text.status, 1, `sluice ${args.join(' ')}: ${text.stderr}`);
  const lines = text.stderr.split('\n').filter((line) => line.trim() !== '');
  assert.ok(lines.length === 1 && lines[0]!.includes('Remote team: '), text.stderr);
  assert.doesNotMatch(text.stderr, /\n\s+at /, 'no stack trace');
  const json = checked(args[0]!, onlyJson(sluice([...args, '--json'], root, env)));
  assert.equal((json['error'] as { code: string }).code, code, JSON.stringify(json));
  assert.equal(git(root, 'for-each-ref', 'refs/sluice/'), localBefore);
  assert.equal(git(origin, 'for-each-ref', 'refs/sluice/'), originBefore);
}

void describe('push, fetch and pull from the CLI', () => {
  const folderRemote = join(base, 'folder-remote');
  let folderTeam: Team | undefined;
  roundTrip('a folder', () => {
    mkdirSync(folderRemote);
    folderTeam = team('folder', folderRemote, [], environmentFor({}));
    return folderTeam;
  });

  let sshTeam: Team | undefined;
  roundTrip('SSH', () => {
    const path = join(base, 'ssh-remote');
    mkdirSync(path);
    sshTeam = team('ssh', `ssh://${SSH_ALIAS}${path}`, [], environmentFor({}));
    return sshTeam;
  });

  roundTrip('S3', () => team('s3', 's3://team-data/sluice', ['--endpoint', s3.endpoint], environmentFor({})));

  void test('an unreachable host, a refused key, an unknown bucket, a read-only folder: one line each, nothing moved', () => {
    const ssh = sshTeam!;
    const closed = sshd.clientConfig('closed', { port: 1 });
    assertRefused(
      ssh.alice,
      ssh.origin,
      { ...ssh.env, SLUICE_SSH_CONFIG: closed },
      'remote-unreachable',
      'push',
    );
    const stranger = sshd.clientConfig('stranger', { identity: 'stranger' });
    assertRefused(ssh.alice, ssh.origin, { ...ssh.env, SLUICE_SSH_CONFIG: stranger }, 'remote-auth', 'push');

    const bucketless = team(
      'nobucket',
      's3://no-such-bucket/x',
      ['--endpoint', s3.endpoint],
      environmentFor({}),
    );
    run(bucketless.alice, bucketless.env, 'snapshot');
    assertRefused(bucketless.alice, bucketless.origin, bucketless.env, 'remote-not-found', 'push');

    const locked = join(base, 'locked-remote');
    mkdirSync(locked);
    const readOnly = team('readonly', locked, [], environmentFor({}));
    run(readOnly.alice, readOnly.env, 'snapshot');
    chmodSync(locked, 0o555);
    spawnImmutable(locked, true);
    try {
      assertRefused(readOnly.alice, readOnly.origin, readOnly.env, 'remote-permission', 'push');
    } finally {
      spawnImmutable(locked, false);
      chmodSync(locked, 0o755);
    }
  });

  void test('a remote nobody pushed to says so, and a teammate’s newer promotion refuses a push until pull', () => {
    const empty = join(base, 'empty-remote');
    mkdirSync(empty);
    const lonely = team('lonely', empty, [], environmentFor({}));
    const frank = lonely.clone('frank');
    git(lonely.alice, 'push', '--quiet', 'origin', 'HEAD:refs/heads/main');
    run(lonely.alice, lonely.env, 'snapshot');
    git(lonely.alice, 'push', '--quiet', 'origin', 'refs/sluice/datasets/*:refs/sluice/datasets/*');
    assertRefused(frank, lonely.origin, lonely.env, 'remote-empty', 'fetch');

    const { alice, env, clone } = folderTeam!;
    const carol = clone('carol');
    run(carol, env, 'pull');
    run(alice, env, 'stage', '-m', 'alice again');
    run(carol, env, 'stage', '-m', 'carol again');
    run(alice, env, 'push');
    const refused = sluice(['push'], carol, env);
    assert.equal(refused.status, 1);
    assert.match(
      refused.stderr,
      /Environment staging moved on origin since your last pull: pull, then retry\./,
    );
    run(carol, env, 'pull');
    run(carol, env, 'push');
    const history = run(alice, env, 'history', 'staging')['deployments'] as { reason: string | null }[];
    assert.equal(history[0]?.reason, 'alice again');
    run(alice, env, 'pull');
    const merged = (run(alice, env, 'history', 'staging')['deployments'] as { reason: string | null }[]).map(
      (deployment) => deployment.reason,
    );
    assert.deepEqual(merged.slice(0, 2), ['carol again', 'alice again']);
  });
});

void describe('a blob the pusher lost', () => {
  // One team each: what a refused push sent before it stopped stays on the remote, rightly.
  for (const [kind, file] of [
    ['small', 'data/raw/users.csv'],
    ['large', 'data/raw/events/archive.bin'],
  ] as const) {
    void test(`a ${kind} one refuses the push naming the blob; no ref moves, and with it back the push goes`, () => {
      const remote = join(base, `lost-${kind}-remote`);
      mkdirSync(remote);
      const { alice, origin, env } = team(`lost-${kind}`, remote, [], environmentFor({}));
      run(alice, env, 'snapshot');
      const hash = sha256(readFileSync(join(alice, file)));
      const blob = blobPath(alice, hash);
      renameSync(blob, `${blob}.aside`);
      const text = sluice(['push'], alice, env);
      assert.equal(text.status, 1, text.stderr);
      const lines = text.stderr.split('\n').filter((line) => line.trim() !== '');
      assert.ok(lines.length === 1 && lines[0]!.includes(hash), text.stderr);
      const json = checked('push', onlyJson(sluice(['push', '--json'], alice, env)));
      assert.equal((json['error'] as { code: string }).code, 'missing-blob', JSON.stringify(json));
      assert.equal(git(origin, 'for-each-ref', 'refs/sluice/'), '', 'no ref reached origin');
      renameSync(`${blob}.aside`, blob);
      run(alice, env, 'push');
      assert.notEqual(git(origin, 'for-each-ref', 'refs/sluice/'), '');
    });
  }
});

void describe('a push cut off', () => {
  void test('a SIGKILLed push leaves no partial object, and the next push sends only what is missing', async () => {
    const remoteFolder = join(base, 'resume-remote');
    mkdirSync(remoteFolder);
    const { alice, env, clone } = team('resume', remoteFolder, [], environmentFor({}));
    const count = 40;
    for (let i = 0; i < count; i++)
      writeFileSync(
        join(alice, `data/raw/events/big-${String(i)}.bin`),
        noise(2 << 20, `resume ${String(i)}`),
      );
    run(alice, env, 'snapshot');
    const blobsOnRemote = (): string[] => {
      try {
        return readdirSync(join(remoteFolder, 'blobs'), { recursive: true, withFileTypes: true })
          .filter((entry) => entry.isFile() && /^[0-9a-f]{62}$/.test(entry.name))
          .map((entry) => join(entry.parentPath, entry.name));
      } catch {
        return [];
      }
    };
    const pushing = startSluice(['push'], alice, env);
    const deadline = Date.now() + 30_000;
    while (blobsOnRemote().length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    pushing.crash();
    await pushing.done;
    const before = blobsOnRemote();
    assert.ok(
      before.length >= 3 && before.length < count + 1,
      `cut off part way: ${String(before.length)} blobs there`,
    );
    // Every object that is there is whole: named by the hash of its bytes.
    for (const path of before) {
      const name = path.split('/').slice(-2).join('');
      assert.equal(sha256(readFileSync(path)), name, `${path} is complete`);
    }
    assert.equal(git(join(base, 'resume', 'origin.git'), 'for-each-ref', 'refs/sluice/'), '', 'no ref moved');

    const resumed = run(alice, env, 'push');
    const sent = resumed['transferred'] as { blobs: number; bytes: number };
    // What was left to send: the big files not yet there, the 3 MiB archive and the small files' pack at most.
    assert.ok(sent.bytes <= (count - before.length) * (2 << 20) + (4 << 20), JSON.stringify(sent));
    assert.match(sluice(['push'], alice, env).stdout, /^Everything is on team/m);
    const bob = clone('bob');
    run(bob, env, 'pull');
    assert.deepEqual(readTree(join(bob, 'data/raw/events')), readTree(join(alice, 'data/raw/events')));
  });
});

/** Files under `folder` at any depth whose name matches, with their size; none when it does not exist. */
function filesMatching(folder: string, pattern: RegExp): { path: string; size: number }[] {
  try {
    return readdirSync(folder, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile() && pattern.test(entry.name))
      .map((entry) => {
        const path = join(entry.parentPath, entry.name);
        try {
          return { path, size: statSync(path).size };
        } catch {
          return { path, size: 0 };
        }
      });
  } catch {
    return [];
  }
}

/** Starts `sluice ARGS` and SIGKILLs it (and its ssh) once a file matching `pattern` under `folder` holds `bytes`. */
async function killWhenWritten(
  args: string[],
  root: string,
  env: NodeJS.ProcessEnv,
  folder: string,
  pattern: RegExp,
  bytes: number,
): Promise<void> {
  const running = startSluice(args, root, env);
  const deadline = Date.now() + 60_000;
  while (!filesMatching(folder, pattern).some((file) => file.size >= bytes) && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 2));
  running.crash();
  const ended = await running.done;
  assert.equal(ended.signal, 'SIGKILL', `cut off before the end: ${ended.stderr}`);
}

void describe('a large blob cut off by SIGKILL resumes inside it', () => {
  const SIZE = 64 << 20;
  /** Bytes that may be sent again: since the last record (every 16 MiB), plus the small files and the 3 MiB archive. */
  const SLACK = 4 << 20;

  const kinds: [string, (folder: string) => [string, string[]], boolean][] = [
    ['a folder', (folder) => [folder, []], true],
    ['SSH', (folder) => [`ssh://${SSH_ALIAS}${folder}`, []], true],
    // s3rver cannot list multipart uploads, so on it only the fetch resumes.
    ['S3', () => [`s3://team-data/resume-${String(process.pid)}`, ['--endpoint', s3.endpoint]], false],
  ];
  for (const [kind, urlOf, pushResumes] of kinds)
    void test(`${kind}: push and fetch killed partway each move only the rest the second time`, async () => {
      const name = `cut-${kind.replace(/\W/g, '')}`;
      const remoteFolder = join(base, `${name}-remote`);
      mkdirSync(remoteFolder);
      const [url, flags] = urlOf(remoteFolder);
      const { alice, env, clone } = team(name, url, flags, environmentFor({}));
      writeFileSync(join(alice, 'data/raw/events/huge.bin'), noise(SIZE, name));
      run(alice, env, 'snapshot');

      if (pushResumes) {
        await killWhenWritten(['push'], alice, env, remoteFolder, /\.sluice-tmp-[0-9a-f]{12}$/, 40 << 20);
        const [record] = filesMatching(remoteFolder, /\.sluice-resume\.sluice-tmp-[0-9a-f]{12}$/);
        const recorded = decodeRecord(readFileSync(record!.path))!;
        assert.ok(recorded.prefix >= 16 << 20, `a prefix was recorded: ${JSON.stringify(recorded)}`);
        const pushed = run(alice, env, 'push')['transferred'] as { bytes: number };
        assert.ok(
          pushed.bytes <= SIZE - recorded.prefix + SLACK,
          `sent ${String(pushed.bytes)} after ${String(recorded.prefix)} were in place`,
        );
        assert.deepEqual(
          filesMatching(remoteFolder, /sluice-tmp/),
          [],
          'the temporary key and its record are gone',
        );
      } else {
        run(alice, env, 'push');
      }

      const bob = clone('bob');
      const scratch = join(bob, '.sluice', 'tmp', 'fetch');
      await killWhenWritten(['fetch'], bob, env, scratch, /\.part$/, 40 << 20);
      const [record] = filesMatching(scratch, /\.resume$/);
      const recorded = decodeRecord(readFileSync(record!.path))!;
      assert.ok(recorded.prefix >= 16 << 20, `a prefix was recorded: ${JSON.stringify(recorded)}`);
      const fetched = run(bob, env, 'fetch')['transferred'] as { bytes: number };
      assert.ok(
        fetched.bytes <= SIZE - recorded.prefix + SLACK,
        `received ${String(fetched.bytes)} after ${String(recorded.prefix)} were in place`,
      );
      assert.deepEqual(filesMatching(scratch, /./), [], 'the partial became the blob');
      run(bob, env, 'pull');
      assert.deepEqual(readTree(join(bob, 'data/raw/events')), readTree(join(alice, 'data/raw/events')));
    });
});

void describe('gc --remote', () => {
  void test('marks first, then removes what no ref reaches; --json as the schema says', () => {
    const remoteFolder = join(base, 'gc-remote');
    mkdirSync(remoteFolder);
    const { alice, env } = team('gc', remoteFolder, [], environmentFor({}));
    run(alice, env, 'snapshot');
    run(alice, env, 'push');
    const orphan = join(remoteFolder, 'packs', `${'a'.repeat(64)}.pack`);
    writeFileSync(orphan, 'a pack whose push was cut off');
    const first = run(alice, env, 'gc', '--remote', 'team');
    assert.deepEqual([first['removed'], first['waiting']], [0, 1]);
    const text = sluice(['gc', '--remote', 'team', '--min-age', '0'], alice, env);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /^team: Removed 1 object, /);
    assert.equal(
      readdirSync(join(remoteFolder, 'packs')).filter((name) => name.startsWith('aaaa')).length,
      0,
    );
    const bob = join(base, 'gc', 'bob');
    git(join(base, 'gc'), 'clone', '--quiet', join(base, 'gc', 'origin.git'), bob);
    assert.ok(
      (run(bob, env, 'pull')['datasets'] as { action: string }[]).every((d) => d.action === 'restored'),
    );
  });
});

/** Root ignores permission bits: the immutable attribute makes a folder read-only for root too. */
function spawnImmutable(folder: string, on: boolean): void {
  if (process.getuid?.() !== 0) return;
  spawnSync('chattr', [on ? '+i' : '-i', folder]);
}
