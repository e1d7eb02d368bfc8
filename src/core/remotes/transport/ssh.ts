// A remote on an SSH server, reached through the user's own OpenSSH client:
// `ssh -s HOST sftp` with SFTP spoken over its stdin and stdout (sftp.ts).
// Using the real client, rather than an SSH library, means ~/.ssh/config
// aliases, keys, the agent, ProxyJump and known_hosts all apply as they do
// in a terminal, and host-key checking stays on. One ssh process serves the
// transport's whole life; requests are pipelined over it.
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { posix } from 'node:path';
import { fromSystemError, SluiceError } from '../../errors';
import {
  isFolder,
  isRegularFile,
  OPEN_FLAGS,
  SFTP_STATUS,
  SftpConnectionLost,
  SftpSession,
  SftpStatusError,
  type SftpName,
} from './sftp';
import {
  CHECKPOINT_BYTES,
  DIGEST_WINDOW,
  encodeRecord,
  endWriter,
  newWriter,
  OrderedDigest,
  receiveFile,
  takeOverRemote,
  type RemotePartials,
} from './resume';
import { SshProcess } from './sshProcess';
import {
  checkKey,
  isTemporaryKey,
  objectMissing,
  remoteError,
  resumeRecordKeyFor,
  runLanes,
  temporaryKeyFor,
  throwIfAborted,
  type GetOptions,
  type ListOptions,
  type PutOptions,
  type PutSource,
  type RemoteEntry,
  type SshLocation,
  type TransferResult,
  type Transport,
} from './transport';

/** Bytes per READ and WRITE when the server states no limits: what every SFTP server takes. */
const DEFAULT_CHUNK = 32 * 1024;
/**
 * The most per READ and WRITE, when the server's limits@openssh.com allows
 * it (OpenSSH's allow 255 KiB, and its own client then uses that much): an
 * eighth of the requests for the same bytes, each parsed and answered.
 */
const LARGEST_CHUNK = 255 * 1024;
/** Bytes in flight per transfer: 2 MiB keeps a long link busy (64 requests of 32 KiB, or 8 of 255 KiB). */
const WINDOW = 2 * 1024 * 1024;
/** Files open on the server at once across concurrent operations, well under its descriptor limit. */
const OPEN_FILES = 64;
/** Folders listed at once. */
const LIST_LANES = 8;
/** Below this much free space, a write failure is a full disk. */
const NEARLY_FULL = WINDOW;

export async function openSshTransport(location: SshLocation, configFile?: string): Promise<Transport> {
  const connection = new SshProcess(location, configFile);
  let session: SftpSession;
  try {
    session = await Promise.race([
      SftpSession.start(connection.child.stdin!, connection.child.stdout!),
      connection.exited.then(() => {
        throw new SftpConnectionLost('ssh exited');
      }),
    ]);
  } catch (error) {
    connection.stop();
    throw await connection.failure(error);
  }
  let chunk = DEFAULT_CHUNK;
  try {
    const limits = await session.limits();
    if (limits) chunk = Math.max(DEFAULT_CHUNK, Math.min(LARGEST_CHUNK, limits.maxRead, limits.maxWrite));
  } catch {
    // a server that offers the extension but fails it: the size every server takes
  }
  const transport = new SshTransport(location, connection, session, chunk);
  try {
    await transport.checkBase();
  } catch (error) {
    await transport.close();
    throw error;
  }
  return transport;
}

type Doing = 'read' | 'write';

class SshTransport implements Transport {
  readonly display: string;
  private readonly base: string;
  private readonly openFiles = new Semaphore(OPEN_FILES);
  /** Folders known to exist (or being made), so each is made once however many puts need it. */
  private readonly folders = new Map<string, Promise<void>>();
  /** Requests in flight per transfer: a WINDOW's worth of chunks. */
  private readonly lanes: number;

  constructor(
    private readonly location: SshLocation,
    private readonly connection: SshProcess,
    private readonly session: SftpSession,
    /** Bytes per READ and WRITE, as the server allows. */
    private readonly chunk: number,
  ) {
    this.lanes = Math.max(1, Math.floor(WINDOW / chunk));
    this.display = location.url;
    this.base = location.path === '/' ? '/' : location.path.replace(/\/+$/, '') || '.';
  }

  async checkBase(): Promise<void> {
    let attributes;
    try {
      attributes = await this.session.stat(this.base);
    } catch (error) {
      throw await this.failure(error, 'read');
    }
    if (!isFolder(attributes)) throw this.baseMissing('is not a folder');
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    checkKey(key, this.display);
    try {
      const attributes = await this.session.stat(this.pathOf(key));
      return isRegularFile(attributes) ? { size: attributes.size ?? 0 } : undefined;
    } catch (error) {
      if (hasStatus(error, SFTP_STATUS.NO_SUCH_FILE)) return undefined;
      throw await this.failure(error, 'read');
    }
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<RemoteEntry> {
    const slash = prefix.lastIndexOf('/');
    const pending = [slash === -1 ? '' : prefix.slice(0, slash)];
    const listing = new Map<string, Promise<FolderListing>>();
    while (pending.length > 0 || listing.size > 0) {
      while (listing.size < LIST_LANES && pending.length > 0) {
        const folderKey = pending.pop()!;
        listing.set(folderKey, this.listFolder(folderKey));
      }
      const done = await Promise.race(listing.values());
      listing.delete(done.folderKey);
      if (done.error !== undefined) throw await this.failure(done.error, 'read');
      for (const { name, attributes } of done.names) {
        if (name === '.' || name === '..') continue;
        const key = done.folderKey === '' ? name : `${done.folderKey}/${name}`;
        if (isFolder(attributes)) {
          if (`${key}/`.startsWith(prefix) || prefix.startsWith(`${key}/`)) pending.push(key);
        } else if (isRegularFile(attributes) && key.startsWith(prefix)) {
          if (isTemporaryKey(key) && options.includeTemporary !== true) continue;
          yield { key, size: attributes.size ?? 0 };
        }
      }
    }
  }

  async put(key: string, source: PutSource, options: PutOptions = {}): Promise<TransferResult> {
    checkKey(key, this.display);
    throwIfAborted(options.signal, 'Upload', this.display, key);
    const target = this.pathOf(key);
    const release = await this.openFiles.acquire();
    let input: FileHandle | undefined;
    let handle: Buffer | undefined;
    let temporaryKey = temporaryKeyFor(key);
    /** Set while the temporary key is one a later put may resume: it is then kept on failure. */
    let resume: { readonly record: string; readonly writer: string } | undefined;
    let digest: OrderedDigest | undefined;
    let checkpoints: Promise<void> = Promise.resolve();
    let size = 0;
    try {
      // A lane reads into its own buffer again once the server has answered the WRITE that sent it.
      let readChunk: (offset: number, length: number, lane: Buffer) => Promise<Uint8Array>;
      if ('bytes' in source) {
        const bytes = source.bytes;
        size = bytes.byteLength;
        readChunk = (offset, length) => Promise.resolve(bytes.subarray(offset, offset + length));
      } else {
        const file = await open(source.path, 'r').catch((error: unknown) => {
          throw localFailure(error, source.path);
        });
        input = file;
        size = (await file.stat()).size;
        readChunk = (offset, length, lane) =>
          readExactly(file, source.path, offset, lane.subarray(0, length));
      }
      const resumable = options.resumable === true && 'path' in source;
      const taken = resumable ? await takeOverRemote(this.partials, key, size, source.path) : undefined;
      const start = taken?.start ?? 0;
      if (taken) temporaryKey = taken.temporaryKey;
      const temporary = this.pathOf(temporaryKey);
      handle = taken
        ? await this.session.open(temporary, OPEN_FLAGS.WRITE)
        : await this.createFile(temporary, key);
      const opened = handle;
      const hash = taken?.hash ?? createHash('sha256');
      if (resumable) {
        resume = { record: resumeRecordKeyFor(temporaryKey), writer: newWriter() };
        // Recorded at once, so a put killed before its first checkpoint still leaves the prefix it took over.
        await this.writeRecord(
          resume.record,
          encodeRecord(resume.writer, size, start, hash.copy().digest('hex')),
        );
      }
      if (resume || options.verify) {
        let checkpointed = start;
        const recording = resume;
        digest = new OrderedDigest(hash, start, DIGEST_WINDOW, (position, state) => {
          if (!recording || position - checkpointed < CHECKPOINT_BYTES || position === size) return;
          checkpointed = position;
          const record = encodeRecord(recording.writer, size, position, state.copy().digest('hex'));
          // Written only after the WRITEs before `position` are on the server's disk.
          checkpoints = checkpoints.then(async () => {
            await this.session.fsync(opened, temporary);
            await this.writeRecord(recording.record, record);
          });
        });
      }
      const ordered = digest;
      let next = start;
      let sent = 0;
      await runLanes(
        Math.max(1, Math.min(this.lanes, Math.ceil((size - start) / this.chunk))),
        async (stopped) => {
          const lane = Buffer.allocUnsafe(this.chunk);
          while (!stopped() && options.signal?.aborted !== true && next < size) {
            const offset = next;
            next += this.chunk;
            const length = Math.min(this.chunk, size - offset);
            const data = await readChunk(offset, length, lane);
            // A file cut short meanwhile: the bytes after it would wait for these forever.
            if (data.byteLength !== length)
              throw changedWhileSending('path' in source ? source.path : key, size, offset + data.byteLength);
            await this.session.write(opened, temporary, offset, data);
            sent += data.byteLength;
            options.onProgress?.(sent);
            // Hashed once the server has them, so the position is always a prefix that is all written.
            await ordered?.add(offset, data, 'path' in source);
          }
        },
        (error) => ordered?.fail(error),
      );
      throwIfAborted(options.signal, 'Upload', this.display, key);
      await checkpoints;
      if (options.verify && ordered!.digest() !== options.verify.expected) {
        if (resume) endWriter(resume.writer);
        resume = undefined;
        throw options.verify.onMismatch();
      }
      await this.session.fsync(opened, temporary);
      handle = undefined;
      await this.session.close(opened, temporary);
      await this.session.rename(temporary, target);
      if (resume) {
        const done = resume;
        resume = undefined;
        endWriter(done.writer);
        await this.session.remove(this.pathOf(done.record)).catch(() => undefined);
      }
      return { skipped: start };
    } catch (error) {
      const failure = error instanceof SluiceError ? error : await this.failure(error, 'write');
      if (failure instanceof SluiceError && failure.code === 'changed-while-sending' && resume) {
        endWriter(resume.writer);
        resume = undefined;
      }
      await checkpoints.catch(() => undefined);
      if (resume) {
        await this.keepForResume(resume, handle, temporaryKey, size, digest);
      } else {
        // Best effort: over a lost connection nothing more can be done, and the
        // temporary name tells a later cleanup what the leftover is.
        if (handle) await this.session.close(handle, this.pathOf(temporaryKey)).catch(() => undefined);
        await this.session.remove(this.pathOf(temporaryKey)).catch(() => undefined);
        if (options.resumable === true)
          await this.session.remove(this.pathOf(resumeRecordKeyFor(temporaryKey))).catch(() => undefined);
      }
      throw failure;
    } finally {
      await input?.close().catch(() => undefined);
      release();
    }
  }

  /**
   * A resumable put cut off: its record is brought up to everything the
   * server acknowledged in order (a cancel loses nothing; a lost connection
   * or a SIGKILL, what followed the last checkpoint), and its temporary key
   * stays for the next put.
   */
  private async keepForResume(
    resume: { readonly record: string; readonly writer: string },
    handle: Buffer | undefined,
    temporaryKey: string,
    size: number,
    digest: OrderedDigest | undefined,
  ): Promise<void> {
    const temporary = this.pathOf(temporaryKey);
    try {
      if (handle && digest) {
        await this.session.fsync(handle, temporary);
        await this.writeRecord(
          resume.record,
          encodeRecord(resume.writer, size, digest.position, digest.hash.copy().digest('hex')),
        );
      }
    } catch {
      // The record of the last checkpoint stands: less is resumed, nothing wrong is.
    }
    if (handle) await this.session.close(handle, temporary).catch(() => undefined);
    endWriter(resume.writer);
  }

  /** Writes a resumable put's record in place: a torn one fails its own check and only means less is resumed. */
  private async writeRecord(recordKey: string, bytes: Uint8Array): Promise<void> {
    const path = this.pathOf(recordKey);
    const record = await this.session.open(path, OPEN_FLAGS.WRITE | OPEN_FLAGS.CREAT | OPEN_FLAGS.TRUNC);
    try {
      await this.session.write(record, path, 0, bytes);
      await this.session.fsync(record, path);
    } finally {
      await this.session.close(record, path).catch(() => undefined);
    }
  }

  /** What takeOverRemote needs of this server. */
  private readonly partials: RemotePartials = {
    siblings: async (key) => {
      const folderKey = posix.dirname(key);
      const listing = await this.listFolder(folderKey === '.' ? '' : folderKey);
      if (listing.error !== undefined) throw await this.failure(listing.error, 'read');
      const name = posix.basename(key);
      return listing.names
        .filter((entry) => entry.name.startsWith(`${name}.`) && isRegularFile(entry.attributes))
        .map((entry) => ({
          key: folderKey === '.' ? entry.name : `${folderKey}/${entry.name}`,
          modifiedMs: (entry.attributes.modified ?? 0) * 1000,
        }));
    },
    read: async (key) => {
      const path = this.pathOf(key);
      let handle: Buffer;
      try {
        handle = await this.session.open(path, OPEN_FLAGS.READ);
      } catch (error) {
        if (hasStatus(error, SFTP_STATUS.NO_SUCH_FILE)) return undefined;
        throw error;
      }
      try {
        return await this.session.read(handle, path, 0, 4096);
      } finally {
        await this.session.close(handle, path).catch(() => undefined);
      }
    },
    move: async (from, to) => {
      try {
        await this.session.rename(this.pathOf(from), this.pathOf(to));
        return true;
      } catch (error) {
        if (hasStatus(error, SFTP_STATUS.NO_SUCH_FILE)) return false;
        throw error;
      }
    },
    size: async (key) => {
      try {
        return (await this.session.stat(this.pathOf(key))).size;
      } catch (error) {
        if (hasStatus(error, SFTP_STATUS.NO_SUCH_FILE)) return undefined;
        throw error;
      }
    },
    remove: async (key) => {
      await this.session.remove(this.pathOf(key)).catch((error: unknown) => {
        if (!hasStatus(error, SFTP_STATUS.NO_SUCH_FILE)) throw error;
      });
    },
  };

  async get(key: string, destPath: string, options: GetOptions = {}): Promise<TransferResult> {
    checkKey(key, this.display);
    throwIfAborted(options.signal, 'Download', this.display, key);
    const path = this.pathOf(key);
    const release = await this.openFiles.acquire();
    let handle: Buffer | undefined;
    try {
      return await receiveFile(destPath, options, async (sink) => {
        handle = await this.openForReading(path, key);
        const opened = handle;
        const size = (await this.session.fstat(opened, path)).size ?? 0;
        const start = await sink.begin(size);
        let next = start;
        await runLanes(
          Math.max(1, Math.min(this.lanes, Math.ceil((size - start) / this.chunk))),
          async (stopped) => {
            while (!stopped() && options.signal?.aborted !== true && next < size) {
              const offset = next;
              next += this.chunk;
              const length = Math.min(this.chunk, size - offset);
              for (let got = 0; got < length;) {
                // A server may send less than asked: ask again for the rest.
                const data = await this.session.read(opened, path, offset + got, length - got);
                if (data === undefined) throw this.changedWhileReading(key);
                await sink.write(offset + got, data, false);
                got += data.byteLength;
              }
            }
          },
          (error) => {
            sink.fail(error);
          },
        );
        throwIfAborted(options.signal, 'Download', this.display, key);
      });
    } catch (error) {
      throw error instanceof SluiceError ? error : await this.failure(error, 'read');
    } finally {
      if (handle) await this.session.close(handle, path).catch(() => undefined);
      release();
    }
  }

  async getRange(key: string, start: number, endExclusive: number): Promise<Uint8Array> {
    checkKey(key, this.display);
    const path = this.pathOf(key);
    const wanted = Math.max(0, endExclusive - start);
    const release = await this.openFiles.acquire();
    let handle: Buffer | undefined;
    try {
      handle = await this.openForReading(path, key);
      const opened = handle;
      const pieces = new Array<Buffer | undefined>(Math.ceil(wanted / this.chunk));
      let next = 0;
      await runLanes(Math.min(this.lanes, pieces.length), async (stopped) => {
        while (!stopped() && next < pieces.length) {
          const index = next++;
          const offset = index * this.chunk;
          const length = Math.min(this.chunk, wanted - offset);
          const parts: Buffer[] = [];
          for (let got = 0; got < length;) {
            const data = await this.session.read(opened, path, start + offset + got, length - got);
            if (data === undefined) break; // the end of the key
            parts.push(data);
            got += data.byteLength;
          }
          pieces[index] = Buffer.concat(parts);
        }
      });
      // Everything up to the first short piece: the key ends there.
      const whole: Buffer[] = [];
      for (const [index, piece] of pieces.entries()) {
        whole.push(piece!);
        if (piece!.byteLength < Math.min(this.chunk, wanted - index * this.chunk)) break;
      }
      return Buffer.concat(whole);
    } catch (error) {
      throw error instanceof SluiceError ? error : await this.failure(error, 'read');
    } finally {
      if (handle) await this.session.close(handle, path).catch(() => undefined);
      release();
    }
  }

  async delete(key: string): Promise<void> {
    checkKey(key, this.display, { allowTemporary: true });
    try {
      await this.session.remove(this.pathOf(key));
    } catch (error) {
      if (hasStatus(error, SFTP_STATUS.NO_SUCH_FILE)) return;
      throw await this.failure(error, 'write');
    }
  }

  async close(): Promise<void> {
    this.session.shutDown('the transport was closed');
    await this.connection.close();
  }

  private pathOf(key: string): string {
    if (this.base === '.') return key;
    return this.base === '/' ? `/${key}` : `${this.base}/${key}`;
  }

  /** Opens a new file for writing, making its folders first when they are missing (mkdir -p). */
  private async createFile(path: string, key: string): Promise<Buffer> {
    const flags = OPEN_FLAGS.WRITE | OPEN_FLAGS.CREAT | OPEN_FLAGS.EXCL;
    try {
      return await this.session.open(path, flags);
    } catch (error) {
      if (!hasStatus(error, SFTP_STATUS.NO_SUCH_FILE)) throw error;
    }
    await this.makeFolders(posix.dirname(key));
    return await this.session.open(path, flags);
  }

  private makeFolders(folderKey: string): Promise<void> {
    if (folderKey === '.' || folderKey === '') return Promise.resolve();
    let made = this.folders.get(folderKey);
    if (!made) {
      made = this.makeFolder(folderKey);
      this.folders.set(folderKey, made);
      // A failure is not remembered: the next put tries again.
      made.catch(() => this.folders.delete(folderKey));
    }
    return made;
  }

  private async makeFolder(folderKey: string): Promise<void> {
    const path = this.pathOf(folderKey);
    try {
      await this.session.makeFolder(path);
      return;
    } catch (error) {
      if (hasStatus(error, SFTP_STATUS.NO_SUCH_FILE)) {
        await this.makeFolders(posix.dirname(folderKey));
      } else if (!(await this.isFolder(path))) {
        throw error;
      } else {
        return;
      }
    }
    try {
      await this.session.makeFolder(path);
    } catch (error) {
      // Another put made it meanwhile.
      if (!(await this.isFolder(path))) throw error;
    }
  }

  private async isFolder(path: string): Promise<boolean> {
    try {
      return isFolder(await this.session.stat(path));
    } catch {
      return false;
    }
  }

  private async openForReading(path: string, key: string): Promise<Buffer> {
    try {
      return await this.session.open(path, OPEN_FLAGS.READ);
    } catch (error) {
      if (!hasStatus(error, SFTP_STATUS.NO_SUCH_FILE)) throw error;
      await this.checkBase();
      throw objectMissing(this.display, key);
    }
  }

  private async listFolder(folderKey: string): Promise<FolderListing> {
    const path = folderKey === '' ? this.base : this.pathOf(folderKey);
    const release = await this.openFiles.acquire();
    let handle: Buffer | undefined;
    try {
      handle = await this.session.openFolder(path);
      const names: SftpName[] = [];
      for (let batch = await this.session.readFolder(handle, path); batch;) {
        names.push(...batch);
        batch = await this.session.readFolder(handle, path);
      }
      return { folderKey, names, error: undefined };
    } catch (error) {
      // A folder that is gone or is a file holds no keys.
      if (hasStatus(error, SFTP_STATUS.NO_SUCH_FILE) || hasStatus(error, SFTP_STATUS.FAILURE))
        return { folderKey, names: [], error: undefined };
      return { folderKey, names: [], error };
    } finally {
      if (handle) await this.session.close(handle, path).catch(() => undefined);
      release();
    }
  }

  private changedWhileReading(key: string): SluiceError {
    return remoteError(
      'remote-failed',
      this.display,
      `${key} on ${this.display} ended early: it changed while being read.`,
      'Run the command again; if it happens again, check what else writes to that remote.',
      { key },
    );
  }

  private baseMissing(problem: string): SluiceError {
    return remoteError(
      'remote-not-found',
      this.display,
      `The remote folder ${this.display} ${problem}.`,
      `Create it (\`ssh ${this.location.host} mkdir -p ${this.base}\`), or fix the remote's URL.`,
    );
  }

  /** A failure of the server or the connection, by what the user can do about it. */
  private async failure(error: unknown, doing: Doing): Promise<SluiceError> {
    if (error instanceof SluiceError) return error;
    if (error instanceof SftpConnectionLost) return this.connection.failure(error);
    if (!(error instanceof SftpStatusError))
      return (
        fromSystemError(error) ??
        remoteError(
          'remote-failed',
          this.display,
          `${this.display} failed: ${String(error)}`,
          'Run the command again.',
        )
      );
    const remote = this.display;
    const data = { path: error.path, sftpStatus: error.status, server: error.serverMessage };
    switch (error.status) {
      case SFTP_STATUS.PERMISSION_DENIED:
        return remoteError(
          'remote-permission',
          remote,
          `Cannot ${doing} ${error.path} on ${remote}: permission denied.`,
          `Ask for ${doing} access to that folder on ${this.location.host}, or use a remote you can ${doing}.`,
          data,
        );
      case SFTP_STATUS.NO_SUCH_FILE:
        if (error.path === this.base || !(await this.isFolder(this.base)))
          return this.baseMissing('does not exist');
        break;
      case SFTP_STATUS.FAILURE: {
        // SFTP version 3 has no "disk full" status: ask how much space is left.
        const space =
          doing === 'write' ? await this.session.space(this.base).catch(() => undefined) : undefined;
        if (space !== undefined && space.availableBytes < NEARLY_FULL)
          return remoteError(
            'remote-full',
            remote,
            `${remote} is full: ${space.availableBytes} bytes are left on its disk.`,
            `Free some space on ${this.location.host}, then run the command again.`,
            data,
          );
        break;
      }
      case SFTP_STATUS.NO_CONNECTION:
      case SFTP_STATUS.CONNECTION_LOST:
        return this.connection.failure(error);
    }
    return remoteError(
      'remote-failed',
      remote,
      `${remote} could not ${error.operation} ${error.path}: ${error.serverMessage || `SFTP status ${error.status}`}.`,
      `Check that folder on ${this.location.host} (a full disk or quota, a file where a folder should be), then run again.`,
      data,
    );
  }
}

interface FolderListing {
  readonly folderKey: string;
  readonly names: SftpName[];
  /** Kept rather than thrown, so a listing nobody waits for any more cannot go unhandled. */
  readonly error: unknown;
}

function hasStatus(error: unknown, status: number): boolean {
  return error instanceof SftpStatusError && error.status === status;
}

/** A failure on this machine's side (the file being sent or received), named as such. */
function localFailure(error: unknown, path: string): unknown {
  if (error instanceof Error && (error as NodeJS.ErrnoException).path === undefined)
    Object.assign(error, { path });
  return fromSystemError(error) ?? error;
}

function changedWhileSending(path: string, size: number, sent: number): SluiceError {
  return new SluiceError(
    `${path} changed while it was being sent: ${sent} of ${size} bytes were read.`,
    'failed',
    'Wait until nothing writes to it, then run the command again.',
    { code: 'changed-while-sending', data: { path, size, sent } },
  );
}

/** Fills `buffer` from `offset` of the file, or as much of it as the file has. */
async function readExactly(file: FileHandle, path: string, offset: number, buffer: Buffer): Promise<Buffer> {
  const length = buffer.length;
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await file
      .read(buffer, filled, length - filled, offset + filled)
      .catch((error: unknown) => {
        throw localFailure(error, path);
      });
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

/** At most `count` holders at once; the others wait in order. */
class Semaphore {
  private readonly queue: (() => void)[] = [];

  constructor(private available: number) {}

  async acquire(): Promise<() => void> {
    if (this.available > 0) this.available--;
    else await new Promise<void>((resolve) => this.queue.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.queue.shift();
      if (next) next();
      else this.available++;
    };
  }
}
