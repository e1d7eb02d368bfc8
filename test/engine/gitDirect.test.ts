// Objects and refs Sluice writes itself (git/looseObjects.ts, git/looseRefs.ts)
// must be exactly what git writes: the same ids for generated blobs, trees and
// commits, `git fsck --strict` clean, refs moved under git's own lock so that
// Sluice and `git update-ref` racing on one ref never both win, and git
// processes doing the work where the repository is unusual (sha256, a linked
// worktree, alternates). SLUICE_GIT_DIRECT_SEED replays a run,
// SLUICE_GIT_DIRECT_ROUNDS sets the racing rounds (default 12).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { SluiceError } from '../../src/core/errors';
import { GitRepository } from '../../src/core/git/repository';
import { LooseObjects } from '../../src/core/git/looseObjects';
import { seededRandom } from '../../src/core/seededRandom';
import {
  CLI,
  clearVariablesRefusedBySimpleGit,
  createWorkspace,
  git,
  removeTree,
  sluiceJson,
  startSluice,
} from '../support/workspace';

clearVariablesRefusedBySimpleGit();

const SEED = Number(process.env['SLUICE_GIT_DIRECT_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const ROUNDS = Number(process.env['SLUICE_GIT_DIRECT_ROUNDS'] ?? 12);
const REF = 'refs/sluice/datasets/d';

const made: string[] = [];
after(() => {
  for (const dir of made.splice(0)) removeTree(dir);
});

/** A fresh repository with an identity, and a GitRepository on it that keeps its facts in a file. */
function repository(initArgs: readonly string[] = []): { root: string; repo: GitRepository } {
  const root = mkdtempSync(join(tmpdir(), 'sluice-gitdirect-'));
  made.push(root);
  git(root, 'init', '--quiet', ...initArgs);
  git(root, 'config', 'user.name', 'Sluice Test');
  git(root, 'config', 'user.email', 'test@sluice.invalid');
  return { root, repo: open(root) };
}

function open(root: string): GitRepository {
  return new GitRepository(root, join(root, '.sluice', 'tmp'), join(root, '.sluice', 'state', 'git.json'));
}

function gitInput(cwd: string, input: string | Buffer, ...args: string[]): string {
  const result = spawnSync('git', args, { cwd, input, encoding: 'utf8' });
  assert.equal(result.status, 0, `git ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}

function assertGitFsckClean(root: string): void {
  const result = spawnSync('git', ['fsck', '--strict', '--full', '--no-dangling'], {
    cwd: root,
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, `git fsck: ${result.stdout}${result.stderr}`);
  assert.equal(result.stdout.trim(), '', `git fsck said: ${result.stdout}`);
}

/** Names that sort differently as bytes, as UTF-16 and with a folder's '/': what tree order gets wrong. */
const NAME_PARTS = [
  'a',
  'a-b',
  'a.b',
  'a0',
  'A',
  'ä',
  'é x',
  '😀',
  '\ufb01',
  'z z',
  'data',
  'd-1',
  '_',
  '~',
  'a b',
];

function randomName(random: () => number): string {
  const parts = 1 + Math.floor(random() * 2);
  let name = '';
  for (let i = 0; i < parts; i++) name += NAME_PARTS[Math.floor(random() * NAME_PARTS.length)]!;
  return name;
}

function randomBytes(random: () => number, size: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

describe('objects Sluice writes itself', () => {
  test('have the ids git gives them, and git fsck finds nothing wrong (generated trees)', async () => {
    const { root, repo } = repository();
    assert.equal(await repo.writtenByGitBecause(), undefined, 'a plain repository is written directly');
    const random = seededRandom(SEED);
    for (let round = 0; round < 8; round++) {
      const blobs: (string | Buffer)[] = [
        '',
        'text\n',
        randomBytes(random, Math.floor(random() * 5000)),
        `${'ü'.repeat(Math.floor(random() * 50))}\n`,
        randomBytes(random, 70_000 + Math.floor(random() * 1000)),
      ];
      const ids = await repo.writeBlobs(blobs);
      for (const [i, blob] of blobs.entries()) {
        assert.equal(ids[i], gitInput(root, blob, 'hash-object', '--stdin'), `blob ${i}, seed ${SEED}`);
        assert.equal(
          Buffer.compare(
            spawnSync('git', ['cat-file', 'blob', ids[i]], { cwd: root }).stdout,
            typeof blob === 'string' ? Buffer.from(blob) : blob,
          ),
          0,
          'git reads back the same bytes',
        );
      }
      // Trees of random names and modes, nested, each naming earlier trees.
      const trees: Map<string, readonly [string, string]>[] = [];
      const treeIdsSoFar: string[] = [];
      for (let t = 0; t < 4; t++) {
        const entries = new Map<string, readonly [string, string]>();
        const count = 1 + Math.floor(random() * 12);
        for (let e = 0; e < count; e++) {
          const name = randomName(random);
          const pick = random();
          if (pick < 0.25 && treeIdsSoFar.length > 0)
            entries.set(name, ['40000', treeIdsSoFar[Math.floor(random() * treeIdsSoFar.length)]!]);
          else
            entries.set(name, [
              pick < 0.5 ? '100755' : pick < 0.6 ? '120000' : '100644',
              ids[Math.floor(random() * ids.length)]!,
            ]);
        }
        trees.push(entries);
        const [id] = await repo.writeTrees([entries]);
        treeIdsSoFar.push(id!);
        const mktree = [...entries]
          .map(([name, [mode, id2]]) => `${mode} ${mode === '40000' ? 'tree' : 'blob'} ${id2}\t${name}\0`)
          .join('');
        assert.equal(id, gitInput(root, mktree, 'mktree', '-z'), `tree ${t} of round ${round}, seed ${SEED}`);
      }
      const messages = ['Snapshot of d', `x  \n\nSluice-Snapshot: ${'f'.repeat(64)}`, 'é ☃ 😀\n\n\nend  '];
      const message = messages[round % messages.length]!;
      const parent = round === 0 ? undefined : git(root, 'rev-parse', REF);
      const commit = await repo.commit(treeIdsSoFar[treeIdsSoFar.length - 1]!, parent, message);
      // git writes the same commit given the same moment.
      const raw = git(root, 'cat-file', 'commit', commit);
      const date = /^author .* (\d+ [+-]\d{4})$/m.exec(raw)![1]!;
      const again = spawnSync(
        'git',
        [
          'commit-tree',
          treeIdsSoFar[treeIdsSoFar.length - 1]!,
          ...(parent ? ['-p', parent] : []),
          '-m',
          message,
        ],
        {
          cwd: root,
          encoding: 'utf8',
          env: { ...process.env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date },
        },
      );
      assert.equal(again.stdout.trim(), commit, `git commit-tree agrees, seed ${SEED}`);
      await repo.compareAndSwap(REF, commit, parent, 'Dataset d');
      assert.equal(git(root, 'rev-parse', REF), commit);
    }
    assertGitFsckClean(root);
    assert.equal(git(root, 'log', '--format=%s', REF).split('\n').length, 8, 'git log walks the chain');
  });

  test('a first record of many folders holds a bounded number of files open (ulimit -n 512, 600 folders)', () => {
    const root = createWorkspace({ d: 'data/d' }, 'sluice-gitdirect-fds-');
    made.push(root);
    for (let i = 0; i < 600; i++) {
      mkdirSync(join(root, 'data', 'd', `f${i}`), { recursive: true });
      writeFileSync(join(root, 'data', 'd', `f${i}`, 'x'), `${i}\n`);
    }
    // 1,200 new objects in one record: one open file each would pass the limit.
    const result = spawnSync(
      'sh',
      ['-c', `ulimit -n 512 && exec "${process.execPath}" "${CLI}" snapshot d --json`],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assertGitFsckClean(root);
    assert.equal(
      git(root, 'ls-tree', '-r', REF, 'data').split('\n').length,
      601,
      'a listing per folder, and the root',
    );
  });

  test('a tree naming an object git lacks is refused as missing, as git mktree refuses it', async () => {
    const { repo } = repository();
    await assert.rejects(
      repo.writeTrees([new Map([['x', ['40000', '1'.repeat(40)] as const]])]),
      /unavailable|missing/,
    );
  });

  test('a tree naming objects only a pack holds is written (the packs are searched)', async () => {
    const { root, repo } = repository();
    const [blob] = await repo.writeBlobs(['packed\n']);
    git(
      root,
      'update-ref',
      'refs/keep',
      (await repo.writeTrees([new Map([['f', ['100644', blob!] as const]])]))[0]!,
    );
    git(root, 'repack', '-a', '-d', '--quiet');
    git(root, 'prune-packed');
    assert.equal(existsSync(join(root, '.git', 'objects', blob!.slice(0, 2), blob!.slice(2))), false);
    const [tree] = await open(root).writeTrees([new Map([['g', ['100644', blob!] as const]])]);
    assert.match(tree!, /^[0-9a-f]{40}$/);
    assertGitFsckClean(root);
    // A large index is searched in its file rather than read whole: the same answers.
    const inPlace = new LooseObjects(join(root, '.git', 'objects'), 0);
    assert.equal(inPlace.has(blob!), true);
    assert.equal(inPlace.has('0'.repeat(39) + '1'), false);
    assert.equal(inPlace.has('f'.repeat(40)), false);
  });
});

describe('histories read from the files', () => {
  test('the newest commits of a chain, as git log gives them, loose or packed, whatever the messages', async () => {
    const { root, repo } = repository();
    const random = seededRandom(SEED + 7);
    const messages = [
      'plain',
      'two\n\nparagraphs\n',
      '  padded  \n\n',
      'ünïcödé ✓',
      'trailer\n\nSluice-Tree: empty',
    ];
    const [blob] = await repo.writeBlobs(['x\n']);
    const [tree] = await repo.writeTrees([new Map([['f', ['100644', blob!] as const]])]);
    let head: string | undefined;
    for (let i = 0; i < 12; i++) {
      const message = `${messages[Math.floor(random() * messages.length)]!} ${String(i)}`;
      // Now and then a merge: the first parent is the chain, as --first-parent follows it.
      const side =
        i > 2 && random() < 0.3 ? await repo.commit(tree!, undefined, `side ${String(i)}`) : undefined;
      head =
        side === undefined
          ? await repo.commit(tree!, head, message)
          : git(root, 'commit-tree', tree!, '-p', head!, '-p', side, '-m', message);
    }
    git(root, 'update-ref', REF, head!);
    const viaGit = async (limit: number) => {
      process.env['SLUICE_GIT_PROCESSES'] = '1';
      try {
        return await open(root).history(REF, limit);
      } finally {
        delete process.env['SLUICE_GIT_PROCESSES'];
      }
    };
    for (const limit of [1, 3, 12, 20])
      assert.deepEqual(await open(root).history(REF, limit), await viaGit(limit), `-n${String(limit)}`);
    assert.deepEqual(await open(root).history('refs/sluice/datasets/none', 1), [], 'no such ref: no history');
    // Packed: the files cannot tell, git reads them; the same answer.
    git(root, 'gc', '--quiet');
    assert.deepEqual(await open(root).history(REF, 5), await viaGit(5), 'after gc');
  });
});

describe('refs Sluice moves itself', () => {
  async function commitOn(repo: GitRepository, text: string, parent?: string): Promise<string> {
    const [blob] = await repo.writeBlobs([text]);
    const [tree] = await repo.writeTrees([new Map([['f', ['100644', blob!] as const]])]);
    return repo.commit(tree!, parent, text);
  }

  test('compare-and-swap: create, update, and a clear ref-moved refusal, loose or packed', async () => {
    const { root, repo } = repository();
    const first = await commitOn(repo, 'one');
    const second = await commitOn(repo, 'two', first);
    const third = await commitOn(repo, 'three', second);
    await repo.compareAndSwap(REF, first, undefined, 'Dataset d');
    await assert.rejects(repo.compareAndSwap(REF, second, undefined, 'Dataset d'), (error: unknown) => {
      assert.ok(error instanceof SluiceError);
      assert.equal(error.code, 'ref-moved');
      return true;
    });
    git(root, 'pack-refs', '--all');
    assert.equal(existsSync(join(root, '.git', REF)), false, 'the ref is packed');
    await assert.rejects(repo.compareAndSwap(REF, second, third, 'Dataset d'), /moved under you/);
    await repo.compareAndSwap(REF, second, first, 'Dataset d');
    assert.equal(git(root, 'rev-parse', REF), second);
    assert.equal(existsSync(`${join(root, '.git', REF)}.lock`), false, 'no lock left behind');
    // What readObjects reads of the ref is what git resolves.
    const [head] = await repo.readObjects([REF]);
    assert.equal(head!.id, second);
    assert.equal(head!.type, 'commit');
    assertGitFsckClean(root);
  });

  test('the reflog gets a line where git would write one (an existing log, or logAllRefUpdates=always)', async () => {
    const { root, repo } = repository();
    const first = await commitOn(repo, 'one');
    await repo.compareAndSwap(REF, first, undefined, 'Dataset d');
    assert.equal(
      existsSync(join(root, '.git', 'logs', REF)),
      false,
      'git logs no refs/sluice ref by default',
    );
    git(root, 'config', 'core.logAllRefUpdates', 'always');
    const reopened = open(root);
    const second = await commitOn(reopened, 'two', first);
    await reopened.compareAndSwap(REF, second, first, 'Dataset d');
    const lines = readFileSync(join(root, '.git', 'logs', REF), 'utf8')
      .trim()
      .split('\n');
    assert.equal(lines.length, 1);
    assert.match(
      lines[0]!,
      new RegExp(`^${first} ${second} Sluice Test <test@sluice.invalid> \\d+ [+-]\\d{4}$`),
    );
    assert.equal(git(root, 'rev-parse', `${REF}@{0}`), second, 'git reads the reflog');
  });

  test('a lock another process holds: Sluice waits as git does, then says which file to remove', async () => {
    const { root, repo } = repository();
    const first = await commitOn(repo, 'one');
    await repo.compareAndSwap(REF, first, undefined, 'Dataset d');
    const lock = `${join(root, '.git', REF)}.lock`;
    writeFileSync(lock, '');
    const second = await commitOn(repo, 'two', first);
    await assert.rejects(repo.compareAndSwap(REF, second, first, 'Dataset d'), (error: unknown) => {
      assert.ok(error instanceof SluiceError);
      assert.ok(error.message.includes(lock), error.message);
      return true;
    });
    assert.equal(git(root, 'rev-parse', REF), first, 'nothing moved');
  });

  test('a lock left by a Sluice process that died is taken over; one a live process holds, or a stranger’s, is not', async () => {
    const { root, repo } = repository();
    const first = await commitOn(repo, 'one');
    await repo.compareAndSwap(REF, first, undefined, 'Dataset d');
    const lock = `${join(root, '.git', REF)}.lock`;
    const holder = join(root, '.sluice', 'state', 'ref-locks', createHash('sha1').update(lock).digest('hex'));
    mkdirSync(dirname(holder), { recursive: true });
    const dead = spawnSync('true').pid;
    const alive = spawn('sleep', ['30']);
    try {
      let parent = first;
      const cases: { what: string; pid: number; sameInode: boolean; taken: boolean }[] = [
        { what: 'a dead holder', pid: dead, sameInode: true, taken: true },
        { what: 'a live holder', pid: alive.pid!, sameInode: true, taken: false },
        { what: 'a dead holder of an older lock (another inode)', pid: dead, sameInode: false, taken: false },
      ];
      for (const { what, pid, sameInode, taken } of cases) {
        writeFileSync(lock, 'f'.repeat(40) + '\n');
        const inode = statSync(lock).ino + (sameInode ? 0 : 1);
        writeFileSync(holder, `${pid} ${inode}\n`);
        const next = await commitOn(repo, what, parent);
        if (taken) {
          await repo.compareAndSwap(REF, next, parent, 'Dataset d');
          assert.equal(git(root, 'rev-parse', REF), next, what);
          assert.equal(existsSync(lock), false, `${what}: no lock left`);
          parent = next;
        } else {
          await assert.rejects(repo.compareAndSwap(REF, next, parent, 'Dataset d'), (error: unknown) => {
            assert.ok(
              error instanceof SluiceError && error.message.includes(lock),
              `${what}: ${String(error)}`,
            );
            return true;
          });
          assert.equal(git(root, 'rev-parse', REF), parent, `${what}: nothing moved`);
          removeTree(lock);
        }
      }
      // No record at all (git's own lock, or one from before records): git's rule, the file is named.
      removeTree(holder);
      writeFileSync(lock, '');
      await assert.rejects(
        repo.compareAndSwap(REF, await commitOn(repo, 'x', parent), parent, 'Dataset d'),
        /is locked/,
      );
      removeTree(lock);
    } finally {
      alive.kill();
    }
  });

  test(`racing git update-ref: one writer wins each round, the others are refused (${ROUNDS} rounds)`, async () => {
    const { root, repo } = repository();
    let current = await commitOn(repo, 'base');
    await repo.compareAndSwap(REF, current, undefined, 'Dataset d');
    const random = seededRandom(SEED);
    for (let round = 0; round < ROUNDS; round++) {
      const ours = await commitOn(repo, `ours ${round}`, current);
      const theirs = await Promise.all([1, 2].map((k) => commitOn(repo, `theirs ${round} ${k}`, current)));
      const gitWriters = theirs.map(
        (next) =>
          new Promise<boolean>((resolve) => {
            const child = spawn('git', ['update-ref', REF, next, current], { cwd: root, stdio: 'ignore' });
            child.on('close', (code) => {
              resolve(code === 0);
            });
          }),
      );
      await new Promise((resolve) => setTimeout(resolve, random() * 8));
      const sluiceWon = repo.compareAndSwap(REF, ours, current, 'Dataset d').then(
        () => true,
        (error: unknown) => {
          assert.ok(error instanceof SluiceError, String(error));
          assert.ok(['ref-moved', 'git-failed'].includes(error.code), error.message);
          return false;
        },
      );
      const outcomes = await Promise.all([sluiceWon, ...gitWriters]);
      const now = git(root, 'rev-parse', REF);
      assert.equal(
        outcomes.filter(Boolean).length,
        1,
        `exactly one writer wins, round ${round}, seed ${SEED}`,
      );
      const winner = [ours, ...theirs][outcomes.indexOf(true)];
      assert.equal(now, winner, 'the ref holds the winner');
      current = now;
    }
    assertGitFsckClean(root);
  });
});

describe('repositories Sluice leaves to git', () => {
  test('sha256 objects: git processes write them, and the snapshot is recorded', async (t) => {
    const probe = spawnSync('git', [
      'init',
      '--quiet',
      '--object-format=sha256',
      join(tmpdir(), 'sluice-probe'),
    ]);
    removeTree(join(tmpdir(), 'sluice-probe'));
    if (probe.status !== 0) {
      t.skip('this git cannot make sha256 repositories');
      return;
    }
    const { root, repo } = repository(['--object-format=sha256']);
    assert.match((await repo.writtenByGitBecause()) ?? '', /extensions\.objectformat/);
    const [blob] = await repo.writeBlobs(['x']);
    assert.equal(blob!.length, 64);
    assertGitFsckClean(root);
  });

  test('a linked worktree and alternates: left to git', async () => {
    const { root } = repository();
    git(root, 'commit', '--allow-empty', '-q', '-m', 'base');
    const linked = join(root, 'linked');
    git(root, 'worktree', 'add', '-q', '--detach', linked);
    assert.match((await open(linked).writtenByGitBecause()) ?? '', /worktree/);
    const { root: other } = repository();
    writeFileSync(join(other, '.git', 'objects', 'info', 'alternates'), `${join(root, '.git', 'objects')}\n`);
    assert.match((await open(other).writtenByGitBecause()) ?? '', /alternates/);
  });

  test('the facts are learnt again when the config changes (a new identity is used at once)', async () => {
    const { root, repo } = repository();
    const first = await repo.commit((await repo.writeTrees([new Map()]))[0]!, undefined, 'one');
    assert.match(git(root, 'cat-file', 'commit', first), /author Sluice Test/);
    git(root, 'config', 'user.name', 'Someone Else');
    const reopened = open(root);
    const second = await reopened.commit((await reopened.writeTrees([new Map()]))[0]!, undefined, 'two');
    assert.match(git(root, 'cat-file', 'commit', second), /author Someone Else/);
  });
});

describe('sluice snapshot killed while it records', () => {
  test('leaves the old ref or the new one, and git fsck clean', async () => {
    const root = createWorkspace({ d: 'data/d' }, 'sluice-gitdirect-kill-');
    made.push(root);
    const random = seededRandom(SEED + 1);
    const write = (version: number): void => {
      for (let i = 0; i < 40; i++) {
        const folder = join(root, 'data', 'd', `part-${i % 8}`);
        spawnSync('mkdir', ['-p', folder]);
        writeFileSync(join(folder, `row-${i}.csv`), `${version},${i}\n`);
      }
    };
    write(0);
    sluiceJson(['snapshot', 'd'], root);
    for (let trial = 1; trial <= 6; trial++) {
      const before = git(root, 'rev-parse', REF);
      write(trial);
      const running = startSluice(['snapshot', 'd', '--json'], root);
      await new Promise((resolve) => setTimeout(resolve, 60 + random() * 250));
      running.crash();
      await running.done;
      // Killed while holding the ref's lock, it leaves the lock (git would too); the next writer takes it over.
      const now = git(root, 'rev-parse', REF);
      if (now !== before)
        assert.equal(git(root, 'rev-parse', `${now}^`), before, 'the new record sits on the old');
      assertGitFsckClean(root);
    }
    sluiceJson(['snapshot', 'd'], root);
    assertGitFsckClean(root);
  });
});
