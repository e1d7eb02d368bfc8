// Refs read and moved by Sluice itself, under git's own protocol for its
// "files" ref store, so Sluice and git processes exclude each other: a ref is
// a file holding an object id (refs/sluice/datasets/d), or a line of
// packed-refs when no such file exists. A ref is moved by creating
// `REF.lock` exclusively (O_EXCL, as every git does), comparing the ref's
// value with the one expected while holding the lock, writing the new value
// into the lock file, fsyncing it and renaming it over the ref. A writer that
// finds the lock taken waits for it as git does (core.filesRefLockTimeout,
// 100 ms), then reports the ref as moved or locked.
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { SluiceError, withPath } from '../errors';

const SHA1 = /^[0-9a-f]{40}$/;
const NO_OBJECT = '0'.repeat(40);
/** How long a writer waits for a ref lock another process holds (git's core.filesRefLockTimeout). */
const LOCK_TIMEOUT_MS = 100;

/**
 * What Sluice leaves to git: a ref that is symbolic, a name git might spell
 * differently on disk, a folder where the ref's file would be. The caller
 * then runs git, which says what is wrong in its own words.
 */
export class UnusualRef extends Error {}

/**
 * Names Sluice reads and writes itself: `refs/` and components of letters,
 * digits and `-_.@+`, none starting with '.' or ending in '.lock', no '..'
 * (a stricter rule than git's check-ref-format; any other name goes to git).
 */
export function isPlainRefName(ref: string): boolean {
  if (!ref.startsWith('refs/') || ref.includes('..') || ref.includes('@{')) return false;
  return ref
    .split('/')
    .every(
      (part) =>
        /^[A-Za-z0-9_@+.-]+$/.test(part) &&
        !part.startsWith('.') &&
        !part.endsWith('.lock') &&
        !part.endsWith('.'),
    );
}

/** The object id `ref` holds (its file, else its line in packed-refs), or undefined when it does not exist. */
export function readRef(gitDir: string, ref: string): string | undefined {
  if (!isPlainRefName(ref)) throw new UnusualRef(ref);
  let text: string | undefined;
  try {
    text = readFileSync(join(gitDir, ref), 'latin1');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // A folder (refs/sluice/datasets holds refs) or a missing parent: no such ref as a file.
    if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'EISDIR')
      throw withPath(error, join(gitDir, ref));
  }
  if (text !== undefined) {
    const value = text.trimEnd();
    if (SHA1.test(value)) return value;
    // Symbolic ("ref: …") or damaged: git resolves or reports it.
    throw new UnusualRef(ref);
  }
  return packedRef(gitDir, ref);
}

/** `ref`'s line in packed-refs, if any. */
function packedRef(gitDir: string, ref: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(join(gitDir, 'packed-refs'), 'latin1');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw withPath(error, join(gitDir, 'packed-refs'));
  }
  // Lines are "ID NAME"; "^ID" lines peel the tag above; "#" starts the header.
  const needle = ` ${ref}\n`;
  for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) {
    const lineStart = text.lastIndexOf('\n', at) + 1;
    if (at - lineStart === 40 && SHA1.test(text.slice(lineStart, at))) return text.slice(lineStart, at);
  }
  return undefined;
}

export interface RefUpdate {
  readonly ref: string;
  readonly next: string;
  /** The value the ref must hold now; undefined: it must not exist. */
  readonly expected: string | undefined;
  /** A reflog line's identity and time ("Name <email> 1700000000 +0100") if git would log this update. */
  readonly logIdentity: string | undefined;
  /** Whether git logs updates of every ref here (core.logAllRefUpdates=always), not only those with a log. */
  readonly logAll: boolean;
  /**
   * A folder of Sluice's own where each lock it holds is recorded with its
   * process id, so that a lock left by a Sluice process killed while holding
   * it (SIGKILL, a crash) is recognised and taken over instead of blocking
   * that ref until someone removes the file by hand.
   */
  readonly holders?: string;
}

/**
 * Moves a ref by compare-and-swap under git's lock. Returns 'moved' (nothing
 * written) when the ref does not hold the expected value.
 */
export async function updateRef(gitDir: string, update: RefUpdate): Promise<'updated' | 'moved'> {
  const { ref, next, expected } = update;
  if (!isPlainRefName(ref) || !SHA1.test(next)) throw new UnusualRef(ref);
  const path = join(gitDir, ref);
  const lock = `${path}.lock`;
  const holder = update.holders === undefined ? undefined : holderFile(update.holders, lock);
  const descriptor = await takeLock(lock, ref, () => readRef(gitDir, ref) !== expected, holder);
  if (descriptor === 'moved') return 'moved';
  if (holder !== undefined) recordHolder(holder, descriptor);
  let renamed = false;
  try {
    try {
      const current = readRef(gitDir, ref);
      if (current !== expected) return 'moved';
      const line = Buffer.from(`${next}\n`);
      for (let at = 0; at < line.length;) at += writeSync(descriptor, line, at, line.length - at);
      fsyncSync(descriptor);
    } finally {
      closeSync(descriptor);
    }
    appendReflog(gitDir, update);
    try {
      renameSync(lock, path);
    } catch (error) {
      // A folder where the ref's file belongs (refs that nest under it): git explains.
      if ((error as NodeJS.ErrnoException).code === 'EISDIR') throw new UnusualRef(ref);
      throw withPath(error, path);
    }
    renamed = true;
    return 'updated';
  } finally {
    if (!renamed) rmSync(lock, { force: true });
    if (holder !== undefined) rmSync(holder, { force: true });
  }
}

/** Where the holder of `lock` is recorded: one file per lock path, in Sluice's folder (never among git's refs). */
function holderFile(holders: string, lock: string): string {
  return join(holders, createHash('sha1').update(lock).digest('hex'));
}

/** Records this process as the holder of the lock just created (`descriptor`), with the lock's inode. */
function recordHolder(holder: string, descriptor: number): void {
  try {
    mkdirSync(dirname(holder), { recursive: true });
    writeFileSync(holder, `${process.pid} ${fstatSync(descriptor).ino}\n`);
  } catch {
    // Unrecorded, a lock left by a kill is git's kind: the error names it for removal by hand.
  }
}

/**
 * Whether `lock` was left by a Sluice process that no longer runs: its holder
 * record names a dead process and the lock's own inode (not one made since by
 * someone else). The record is not flushed: after a machine crash it may be
 * gone, and the lock is then reported as git's would be.
 */
function leftByDeadHolder(lock: string, holder: string): boolean {
  let pid: number;
  let inode: number;
  try {
    [pid, inode] = readFileSync(holder, 'utf8').trim().split(' ').map(Number) as [number, number];
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
    if (statSync(lock).ino !== inode) return false;
  } catch {
    return false;
  }
  try {
    process.kill(pid, 0);
    return false; // alive (or another's process by that pid: left alone)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Creates the lock file exclusively, retrying for git's timeout while
 * another process holds it. 'moved' when the ref moved meanwhile (the other
 * holder wrote it); an error naming the lock when it stays taken.
 */
async function takeLock(
  lock: string,
  ref: string,
  moved: () => boolean,
  holder: string | undefined,
): Promise<number | 'moved'> {
  let started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return openSync(lock, 'wx', 0o666);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        try {
          mkdirSync(dirname(lock), { recursive: true });
        } catch (cause) {
          const causeCode = (cause as NodeJS.ErrnoException).code;
          // A ref file where a folder of refs belongs (refs/a when writing refs/a/b): git explains.
          if (causeCode === 'ENOTDIR' || causeCode === 'EEXIST') throw new UnusualRef(ref);
          throw withPath(cause, dirname(lock));
        }
        continue;
      }
      if (code === 'ENOTDIR') throw new UnusualRef(ref);
      if (code !== 'EEXIST') throw withPath(error, lock);
      if (Date.now() - started >= LOCK_TIMEOUT_MS) {
        if (moved()) return 'moved';
        if (holder !== undefined && leftByDeadHolder(lock, holder)) {
          // Its writer is gone: whatever it left in the lock never became the ref's value.
          rmSync(lock, { force: true });
          rmSync(holder, { force: true });
          started = Date.now();
          continue;
        }
        throw new SluiceError(
          `${ref} is locked: ${lock} exists (another git process is writing it, or one was killed while it did).`,
          'failed',
          `If no git process is running in this repository, remove ${lock} and try again.`,
          {
            code: 'git-failed',
            data: { exitCode: 128, output: [`Unable to create '${lock}': File exists.`] },
          },
        );
      }
      // git's backoff: random waits growing with each attempt.
      await new Promise((resolve) => setTimeout(resolve, 1 + Math.random() * Math.min(attempt + 1, 10)));
    }
  }
}

/**
 * Adds the update to the ref's reflog where git would: when the log exists,
 * or when every ref is logged (core.logAllRefUpdates=always). Sluice's refs
 * have none by default (git logs branches, remotes, notes and HEAD only).
 */
function appendReflog(gitDir: string, update: RefUpdate): void {
  if (update.logIdentity === undefined) return;
  const log = join(gitDir, 'logs', update.ref);
  // git logs an update when the log exists already, or when it logs every ref.
  if (!update.logAll && !existsSync(log)) return;
  const line = `${update.expected ?? NO_OBJECT} ${update.next} ${update.logIdentity}\n`;
  try {
    mkdirSync(dirname(log), { recursive: true });
    appendFileSync(log, line);
  } catch (error) {
    throw withPath(error, log);
  }
}
