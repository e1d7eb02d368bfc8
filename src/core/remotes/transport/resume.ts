// What lets a large transfer check its bytes as they move and continue
// where a cut-off one stopped, for every kind of transport:
//
// - OrderedDigest hashes chunks that complete in any order (many requests
//   are in flight) in file order, holding at most a window of them.
// - A partial record says how much of a partial file is a complete, durable
//   prefix (written only after that prefix was flushed), with the prefix's
//   sha256, so a resumed transfer never trusts bytes that could have holes
//   or that came from other bytes than its own.
// - receiveFile is a download into a local file that hashes as the bytes
//   land and, given a partial path, keeps what it received for the next run.
import { createHash, randomBytes, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fromSystemError, SluiceError } from '../../errors';
import { writeFileAtomicAsync } from '../../fs/atomicWrite';
import { parseResumeRecordKey, temporaryKeyFor, type GetOptions, type TransferResult } from './transport';
import { processAlive } from '../../process/alive';

const MiB = 1024 * 1024;

/** How many bytes a resumable transfer moves between two records of its progress (each costs a flush). */
export const CHECKPOINT_BYTES = 16 * MiB;

/**
 * A partial whose writer cannot be asked whether it still runs (another
 * machine's) is taken over once its record is this old: a live writer
 * rewrites its record every CHECKPOINT_BYTES.
 */
export const ABANDONED_AFTER_MS = 10 * 60 * 1000;

/** Chunks completed ahead of the hashing, held for it: bounds a transfer's extra memory. */
export const DIGEST_WINDOW = 16 * MiB;

/**
 * Hashes bytes that arrive in any order in file order, from `start`. A chunk
 * whose turn has not come is held (copied when its buffer is `reused`)
 * while the held bytes stay under the window; past it, `add` waits for the
 * chunks before it. `onAdvance` sees each new position with the hash of
 * everything before it.
 */
export class OrderedDigest {
  #position: number;
  readonly #held = new Map<number, Uint8Array>();
  #heldBytes = 0;
  #room: (() => void)[] = [];
  #failure: { readonly error: unknown } | undefined;

  constructor(
    readonly hash: Hash,
    start: number,
    private readonly window = DIGEST_WINDOW,
    private readonly onAdvance?: (position: number, hash: Hash) => void,
  ) {
    this.#position = start;
  }

  /** Bytes hashed so far, from the start of the file. */
  get position(): number {
    return this.#position;
  }

  async add(offset: number, bytes: Uint8Array, reused: boolean): Promise<void> {
    for (;;) {
      if (this.#failure) throw this.#failure.error;
      if (offset === this.#position) {
        this.#take(bytes);
        this.#drain();
        return;
      }
      if (this.#heldBytes === 0 || this.#heldBytes + bytes.byteLength <= this.window) break;
      await new Promise<void>((resolve) => this.#room.push(resolve));
    }
    const kept = reused ? Buffer.from(bytes) : bytes;
    this.#held.set(offset, kept);
    this.#heldBytes += kept.byteLength;
  }

  /** Wakes every chunk waiting for room: the transfer failed, and they fail with it. */
  fail(error: unknown): void {
    this.#failure ??= { error };
    this.#wake();
  }

  /** The hex digest of everything hashed; call it once, after the last chunk. */
  digest(): string {
    return this.hash.digest('hex');
  }

  #take(bytes: Uint8Array): void {
    this.hash.update(bytes);
    this.#position += bytes.byteLength;
    this.onAdvance?.(this.#position, this.hash);
  }

  #drain(): void {
    for (let next = this.#held.get(this.#position); next; next = this.#held.get(this.#position)) {
      this.#held.delete(this.#position);
      this.#heldBytes -= next.byteLength;
      this.#take(next);
    }
    this.#wake();
  }

  #wake(): void {
    const waiting = this.#room;
    this.#room = [];
    for (const resolve of waiting) resolve();
  }
}

/** How far a partial file is known complete, as a resumable transfer records it. */
export interface PartialRecord {
  readonly host: string;
  readonly pid: number;
  /** Names one transfer, so a process can tell its own live transfers from ones it abandoned (cancelled). */
  readonly writer: string;
  /** The size of the whole file. */
  readonly size: number;
  /** Bytes from the start that are written and flushed. */
  readonly prefix: number;
  /** The sha256 of those bytes. */
  readonly sha256: string;
}

const RECORD_FORMAT = 'sluice-partial 1';
/** Writers of this process still running: their records are not abandoned, whatever their age. */
const liveWriters = new Set<string>();

export function newWriter(): string {
  const writer = randomBytes(8).toString('hex');
  liveWriters.add(writer);
  return writer;
}

export function endWriter(writer: string): void {
  liveWriters.delete(writer);
}

/** A record's bytes: JSON, then its own sha256, so a torn write reads as no record rather than a wrong one. */
export function encodeRecord(writer: string, size: number, prefix: number, sha256: string): Buffer {
  const body = JSON.stringify({
    format: RECORD_FORMAT,
    host: hostname(),
    pid: process.pid,
    writer,
    size,
    prefix,
    sha256,
  });
  return Buffer.from(`${body}\n${sha256Hex(body)}\n`);
}

export function decodeRecord(bytes: Uint8Array | undefined): PartialRecord | undefined {
  if (bytes === undefined) return undefined;
  const [body, check] = Buffer.from(bytes).toString('utf8').split('\n');
  if (body === undefined || check !== sha256Hex(body)) return undefined;
  try {
    const record = JSON.parse(body) as Record<string, unknown>;
    const { host, pid, writer, size, prefix, sha256 } = record;
    if (
      record['format'] !== RECORD_FORMAT ||
      typeof host !== 'string' ||
      typeof writer !== 'string' ||
      typeof sha256 !== 'string' ||
      !isCount(pid) ||
      !isCount(size) ||
      !isCount(prefix) ||
      prefix > size
    )
      return undefined;
    return { host, pid, writer, size, prefix, sha256 };
  } catch {
    return undefined;
  }
}

/**
 * Whether a partial's writer is gone, so another transfer may take it over:
 * a process of this machine that no longer runs (or this process, once that
 * transfer ended), or a record untouched for ABANDONED_AFTER_MS.
 */
export function isAbandoned(record: PartialRecord, modifiedMs: number, now = Date.now()): boolean {
  if (now - modifiedMs > ABANDONED_AFTER_MS) return true;
  if (record.host !== hostname()) return false;
  if (record.pid === process.pid) return !liveWriters.has(record.writer);
  return !processAlive(record.pid);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The sha256 of a local file's first `length` bytes, read in order (what a resumed transfer continues from). */
export async function hashPrefix(path: string, length: number): Promise<Hash> {
  const hash = createHash('sha256');
  if (length === 0) return hash;
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(Math.min(length, MiB));
    for (let position = 0; position < length;) {
      const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, length - position), position);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      position += bytesRead;
    }
  } finally {
    await file.close();
  }
  return hash;
}

/** The remote side of a resumable put, as a folder or an SSH server offers it. */
export interface RemotePartials {
  /** Keys in `key`'s folder that start with `key`, temporary ones included, with when each was last written. */
  siblings(key: string): Promise<readonly { readonly key: string; readonly modifiedMs: number }[]>;
  /** A small key's bytes, or undefined when it is gone. */
  read(key: string): Promise<Uint8Array | undefined>;
  /** Renames `from` to the new name `to`; false when `from` is gone (another writer took it first). */
  move(from: string, to: string): Promise<boolean>;
  size(key: string): Promise<number | undefined>;
  remove(key: string): Promise<void>;
}

export interface TakenOver {
  /** The temporary key, renamed to a name of this writer's own. */
  readonly temporaryKey: string;
  /** Where sending continues: the recorded prefix, or 0 when it cannot be trusted. */
  readonly start: number;
  /** The sha256 of the source's first `start` bytes. */
  readonly hash: Hash;
}

/**
 * Takes over what an abandoned put of `key` left on the remote: a temporary
 * key whose record says how much of it is complete. The prefix is used only
 * when the remote has that much and the record's digest of it equals the
 * digest of the same bytes of `sourcePath` (which are read, not sent):
 * bytes another machine sent from another file are never kept.
 */
export async function takeOverRemote(
  remote: RemotePartials,
  key: string,
  size: number,
  sourcePath: string,
): Promise<TakenOver | undefined> {
  for (const sibling of await remote.siblings(key)) {
    const names = parseResumeRecordKey(sibling.key);
    if (names?.key !== key) continue;
    const record = decodeRecord(await remote.read(sibling.key));
    if (!record || record.size !== size || !isAbandoned(record, sibling.modifiedMs)) continue;
    const mine = temporaryKeyFor(key);
    if (!(await remote.move(names.temporaryKey, mine))) continue;
    await remote.remove(sibling.key);
    const there = (await remote.size(mine)) ?? 0;
    if (record.prefix > 0 && there >= record.prefix) {
      const hash = await hashPrefix(sourcePath, record.prefix);
      if (hash.copy().digest('hex') === record.sha256)
        return { temporaryKey: mine, start: record.prefix, hash };
    }
    return { temporaryKey: mine, start: 0, hash: createHash('sha256') };
  }
  return undefined;
}

/** Where a download's bytes go, as a transport hands them over. */
export interface DownloadSink {
  /** The key's size, once known; resolves to the offset to start from (what an earlier run kept, or 0). */
  begin(size: number): Promise<number>;
  /**
   * `bytes` at `offset`, in any order; resolves once they are written and
   * hashed or held for hashing. `reused`: the caller fills the same buffer
   * again, so bytes held must be copied (fresh buffers are held as they are).
   */
  write(offset: number, bytes: Uint8Array, reused: boolean): Promise<void>;
  /** The transfer failed: chunks waiting for their turn give up. */
  fail(error: unknown): void;
}

interface Local {
  readonly file: FileHandle;
  readonly path: string;
  readonly digest: OrderedDigest | undefined;
  readonly start: number;
  /** Set when the file is a partial others may resume. */
  readonly partial?: { readonly record: string; readonly writer: string; readonly size: number };
}

/**
 * Downloads into `destPath` through `transfer`, which opens the key, calls
 * `sink.begin(size)` and writes from the offset it gets. With `verify`, the
 * bytes are hashed as they land and a mismatch removes everything and
 * throws. With `partial` (a path stem), the bytes land in
 * `<partial>.<pid>.part` and a record of its durable prefix beside it, both
 * kept when the download is cut off; a later download with the same stem
 * takes over one whose process is gone and continues after its prefix.
 */
export async function receiveFile(
  destPath: string,
  options: GetOptions,
  transfer: (sink: DownloadSink) => Promise<void>,
): Promise<TransferResult> {
  let local: Local | undefined;
  let moved = 0;
  let checkpoints: Promise<void> = Promise.resolve();
  let lastCheckpoint = 0;
  const hashing = options.verify !== undefined || options.partial !== undefined;
  const sink: DownloadSink = {
    begin: async (size) => {
      local = await openLocal(destPath, options.partial, size, hashing, (position, hash) => {
        const partial = local?.partial;
        if (!partial || position - lastCheckpoint < CHECKPOINT_BYTES || position === size) return;
        lastCheckpoint = position;
        const sha256 = hash.copy().digest('hex');
        const file = local!.file;
        checkpoints = checkpoints.then(async () => {
          await file.datasync();
          await writeFileAtomicAsync(
            partial.record,
            encodeRecord(partial.writer, partial.size, position, sha256),
          );
        });
      });
      lastCheckpoint = local.start;
      return local.start;
    },
    write: async (offset, bytes, reused) => {
      const current = local!;
      await writeAt(current.file, current.path, bytes, offset);
      moved += bytes.byteLength;
      options.onProgress?.(moved);
      await current.digest?.add(offset, bytes, reused);
    },
    fail: (error) => local?.digest?.fail(error),
  };
  try {
    await transfer(sink);
    await checkpoints;
  } catch (error) {
    await checkpoints.catch(() => undefined);
    await abandon(local, destPath);
    throw localFailure(error, local?.path ?? destPath);
  }
  // Every transport begins before it writes; an empty key begins too.
  const done = local!;
  try {
    if (options.verify && done.digest!.digest() !== options.verify.expected) {
      await discard(done);
      throw options.verify.onMismatch();
    }
    await done.file.close();
    if (done.partial) {
      await rename(done.path, destPath);
      await rm(done.partial.record, { force: true });
      endWriter(done.partial.writer);
    }
  } catch (error) {
    await discard(done);
    await rm(destPath, { force: true }).catch(() => undefined);
    throw localFailure(error, destPath);
  }
  return { skipped: done.start };
}

/** The file a download writes: a partial taken over, a new partial, or `destPath` itself. */
async function openLocal(
  destPath: string,
  stem: string | undefined,
  size: number,
  hashing: boolean,
  onAdvance: (position: number, hash: Hash) => void,
): Promise<Local> {
  const fresh = (hash: Hash, start: number): OrderedDigest | undefined =>
    hashing ? new OrderedDigest(hash, start, DIGEST_WINDOW, onAdvance) : undefined;
  if (stem === undefined) {
    const file = await open(destPath, 'w');
    return { file, path: destPath, digest: fresh(createHash('sha256'), 0), start: 0 };
  }
  await mkdir(dirname(stem), { recursive: true });
  const writer = newWriter();
  const path = `${stem}.${process.pid}.part`;
  const record = `${stem}.${process.pid}.resume`;
  try {
    const taken = await takeOverLocal(stem, size, path);
    const file = await open(path, taken ? 'r+' : 'w');
    const start = taken?.start ?? 0;
    const hash = taken?.hash ?? createHash('sha256');
    // Recorded at once, so a run killed before its first checkpoint still leaves the prefix it took over.
    await writeFileAtomicAsync(record, encodeRecord(writer, size, start, hash.copy().digest('hex')));
    return { file, path, digest: fresh(hash, start), start, partial: { record, writer, size } };
  } catch (error) {
    endWriter(writer);
    throw error;
  }
}

/** Takes over the partial of `stem` a dead process left (renaming it to `path`), after checking its prefix. */
async function takeOverLocal(
  stem: string,
  size: number,
  path: string,
): Promise<{ start: number; hash: Hash } | undefined> {
  const folder = dirname(stem);
  const prefix = `${basename(stem)}.`;
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return undefined;
  }
  for (const name of names) {
    if (name.startsWith(`.${prefix}`) && name.endsWith('.tmp')) {
      await removeOrphanedRecordTemporary(folder, name);
      continue;
    }
    if (!name.startsWith(prefix) || !name.endsWith('.resume')) continue;
    const recordPath = join(folder, name);
    let modifiedMs: number;
    let bytes: Buffer;
    try {
      modifiedMs = (await stat(recordPath)).mtimeMs;
      const file = await open(recordPath, 'r');
      try {
        bytes = await file.readFile();
      } finally {
        await file.close();
      }
    } catch {
      continue; // gone meanwhile: another process took it
    }
    const record = decodeRecord(bytes);
    if (!record || record.size !== size || !isAbandoned(record, modifiedMs)) continue;
    const theirs = join(folder, `${name.slice(0, -'.resume'.length)}.part`);
    if (theirs !== path) {
      try {
        // Only one process can move the file away: whoever does owns it.
        await rename(theirs, path);
      } catch {
        continue;
      }
    }
    await rm(recordPath, { force: true });
    const there = (await stat(path)).size;
    if (there < record.prefix) return { start: 0, hash: createHash('sha256') };
    const hash = await hashPrefix(path, record.prefix);
    // A prefix that no longer hashes as recorded was damaged on this disk: start over.
    if (hash.copy().digest('hex') !== record.sha256) return { start: 0, hash: createHash('sha256') };
    return { start: record.prefix, hash };
  }
  return undefined;
}

/**
 * Removes `.<hash>.<pid>.resume.<random>.tmp`, the temporary file of a record
 * being written, when the process that wrote it is gone (killed between
 * writing it and renaming it into place): nobody else would.
 */
async function removeOrphanedRecordTemporary(folder: string, name: string): Promise<void> {
  const [, , pid, kind] = name.split('.');
  const writer = Number(pid);
  if (kind !== 'resume' || !isCount(writer) || writer === process.pid || processAlive(writer)) return;
  await rm(join(folder, name), { force: true }).catch(() => undefined);
}

/**
 * A download cut off: a partial stays for the next run, its record brought
 * up to everything written in order so far (a cancel or a dropped connection
 * loses nothing; a SIGKILL, what followed the last checkpoint); anything
 * else goes.
 */
async function abandon(local: Local | undefined, destPath: string): Promise<void> {
  if (local?.partial) {
    const { record, writer, size } = local.partial;
    const digest = local.digest!;
    const position = digest.position;
    const sha256 = digest.hash.copy().digest('hex');
    try {
      await local.file.datasync();
      await writeFileAtomicAsync(record, encodeRecord(writer, size, position, sha256));
    } catch {
      // The record of the last checkpoint stands: less is resumed, nothing wrong is.
    }
    await local.file.close().catch(() => undefined);
    endWriter(writer);
    return;
  }
  await local?.file.close().catch(() => undefined);
  await rm(destPath, { force: true }).catch(() => undefined);
}

/** Removes a download whose bytes are wrong, with its record: nothing of it is kept. */
async function discard(local: Local): Promise<void> {
  await local.file.close().catch(() => undefined);
  await rm(local.path, { force: true }).catch(() => undefined);
  if (local.partial) {
    await rm(local.partial.record, { force: true }).catch(() => undefined);
    endWriter(local.partial.writer);
  }
}

async function writeAt(file: FileHandle, path: string, data: Uint8Array, position: number): Promise<void> {
  for (let written = 0; written < data.byteLength;) {
    const result = await file
      .write(data, written, data.byteLength - written, position + written)
      .catch((error: unknown) => {
        throw localFailure(error, path);
      });
    written += result.bytesWritten;
  }
}

/** A failure on this machine's side (the file being received), named as such; SluiceErrors pass as they are. */
function localFailure(error: unknown, path: string): unknown {
  if (error instanceof SluiceError || !(error instanceof Error)) return error;
  if ((error as NodeJS.ErrnoException).code === undefined) return error;
  if ((error as NodeJS.ErrnoException).path === undefined) Object.assign(error, { path });
  return fromSystemError(error) ?? error;
}
