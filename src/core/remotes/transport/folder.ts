// A remote in a folder: a shared or mounted disk (NFS, SMB, a USB drive).
// A put writes a temporary file beside the key, fsyncs it and renames it
// into place, so a reader on another machine sees the whole file or none.
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { lstat, mkdir, open, opendir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { fromSystemError, SluiceError } from '../../errors';
import {
  CHECKPOINT_BYTES,
  encodeRecord,
  endWriter,
  newWriter,
  OrderedDigest,
  receiveFile,
  takeOverRemote,
  type RemotePartials,
} from './resume';
import {
  checkKey,
  isTemporaryKey,
  objectMissing,
  remoteError,
  resumeRecordKeyFor,
  temporaryKeyFor,
  throwIfAborted,
  type FolderLocation,
  type GetOptions,
  type ListOptions,
  type PutOptions,
  type PutSource,
  type RemoteEntry,
  type TransferOptions,
  type TransferResult,
  type Transport,
} from './transport';

/** Bytes per read and write: big enough for a network disk's throughput, small enough to keep memory flat. */
const CHUNK = 1024 * 1024;

export async function openFolderTransport(location: FolderLocation): Promise<Transport> {
  const transport = new FolderTransport(location);
  await transport.checkBase();
  return transport;
}

class FolderTransport implements Transport {
  readonly display: string;
  private readonly base: string;

  constructor(location: FolderLocation) {
    this.display = location.url;
    this.base = location.path;
  }

  async checkBase(): Promise<void> {
    let isFolder: boolean;
    try {
      isFolder = (await stat(this.base)).isDirectory();
    } catch (error) {
      throw this.failure(error, 'read');
    }
    if (!isFolder)
      throw remoteError(
        'remote-not-found',
        this.display,
        `The remote ${this.display} is a file, not a folder.`,
        "Fix the remote's URL, or move that file away.",
      );
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    checkKey(key, this.display);
    const size = await this.sizeOf(key);
    return size === undefined ? undefined : { size };
  }

  private async sizeOf(key: string): Promise<number | undefined> {
    try {
      const info = await lstat(this.pathOf(key));
      return info.isFile() ? info.size : undefined;
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) return undefined;
      throw this.failure(error, 'read');
    }
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<RemoteEntry> {
    const slash = prefix.lastIndexOf('/');
    const pending = [slash === -1 ? '' : prefix.slice(0, slash)];
    for (let folderKey = pending.pop(); folderKey !== undefined; folderKey = pending.pop()) {
      let entries;
      try {
        entries = await opendir(folderKey === '' ? this.base : this.pathOf(folderKey));
      } catch (error) {
        if (isErrno(error, 'ENOENT', 'ENOTDIR')) continue;
        throw this.failure(error, 'read');
      }
      for await (const entry of entries) {
        const key = folderKey === '' ? entry.name : `${folderKey}/${entry.name}`;
        if (entry.isDirectory()) {
          if (mayHoldPrefix(key, prefix)) pending.push(key);
        } else if (entry.isFile() && key.startsWith(prefix)) {
          if (isTemporaryKey(key) && options.includeTemporary !== true) continue;
          const size = await this.sizeOf(key);
          // Gone since the listing (deleted by someone else): not there any more.
          if (size !== undefined) yield { key, size };
        }
      }
    }
  }

  async put(key: string, source: PutSource, options: PutOptions = {}): Promise<TransferResult> {
    checkKey(key, this.display);
    throwIfAborted(options.signal, 'Upload', this.display, key);
    const target = this.pathOf(key);
    try {
      await mkdir(dirname(target), { recursive: true });
    } catch (error) {
      throw this.failure(error, 'write');
    }
    let temporaryKey = temporaryKeyFor(key);
    /** Set while the temporary file is one a later put may resume: it is then kept on failure. */
    let resume: { readonly record: string; readonly writer: string } | undefined;
    let output: FileHandle | undefined;
    let digest: OrderedDigest | undefined;
    let size = 0;
    try {
      size = 'bytes' in source ? source.bytes.byteLength : await sizeOf(source.path);
      const resumable = options.resumable === true && 'path' in source;
      const taken = resumable ? await takeOverRemote(this.partials, key, size, source.path) : undefined;
      const start = taken?.start ?? 0;
      if (taken) temporaryKey = taken.temporaryKey;
      const temporary = this.pathOf(temporaryKey);
      output = await open(temporary, taken ? 'r+' : 'wx').catch((error: unknown) => {
        throw this.failure(error, 'write');
      });
      const file = output;
      const hash = taken?.hash ?? createHash('sha256');
      if (resumable) {
        resume = { record: resumeRecordKeyFor(temporaryKey), writer: newWriter() };
        // Recorded at once, so a put killed before its first checkpoint still leaves the prefix it took over.
        await this.writeRecord(
          resume.record,
          encodeRecord(resume.writer, size, start, hash.copy().digest('hex')),
        );
      }
      let checkpointed = start;
      const recording = resume;
      if (resume || options.verify) digest = new OrderedDigest(hash, start);
      const ordered = digest;
      await copyInto(file, source, start, options, {
        remote: this.display,
        key,
        onWriteError: (error) => this.failure(error, 'write'),
        onWritten: async (position, bytes) => {
          await ordered?.add(position - bytes.byteLength, bytes, true);
          if (!recording || !ordered || position - checkpointed < CHECKPOINT_BYTES || position === size)
            return;
          checkpointed = position;
          await file.datasync();
          await this.writeRecord(
            recording.record,
            encodeRecord(recording.writer, size, position, ordered.hash.copy().digest('hex')),
          );
        },
      });
      if (options.verify && ordered!.digest() !== options.verify.expected) {
        if (resume) endWriter(resume.writer);
        resume = undefined;
        throw options.verify.onMismatch();
      }
      await file.sync().catch((error: unknown) => {
        throw this.failure(error, 'write');
      });
      output = undefined;
      await file.close().catch((error: unknown) => {
        throw this.failure(error, 'write');
      });
      await rename(temporary, target).catch((error: unknown) => {
        throw this.failure(error, 'write');
      });
      if (resume) {
        const done = resume;
        resume = undefined;
        endWriter(done.writer);
        await rm(this.pathOf(done.record), { force: true }).catch(() => undefined);
      }
      return { skipped: start };
    } catch (error) {
      if (error instanceof SluiceError && error.code === 'changed-while-sending' && resume) {
        endWriter(resume.writer);
        resume = undefined;
      }
      if (resume) {
        await this.keepForResume(resume, output, size, digest);
      } else {
        await output?.close().catch(() => undefined);
        await rm(this.pathOf(temporaryKey), { force: true }).catch(() => undefined);
        if (options.resumable === true)
          await rm(this.pathOf(resumeRecordKeyFor(temporaryKey)), { force: true }).catch(() => undefined);
      }
      throw error;
    }
  }

  /**
   * A resumable put cut off: its record is brought up to everything written
   * in order (a cancel loses nothing; a SIGKILL, what followed the last
   * checkpoint), and its temporary file stays for the next put.
   */
  private async keepForResume(
    resume: { readonly record: string; readonly writer: string },
    output: FileHandle | undefined,
    size: number,
    digest: OrderedDigest | undefined,
  ): Promise<void> {
    try {
      if (output && digest) {
        await output.datasync();
        await this.writeRecord(
          resume.record,
          encodeRecord(resume.writer, size, digest.position, digest.hash.copy().digest('hex')),
        );
      }
    } catch {
      // The record of the last checkpoint stands: less is resumed, nothing wrong is.
    }
    await output?.close().catch(() => undefined);
    endWriter(resume.writer);
  }

  /** Writes a resumable put's record in place: a torn one fails its own check and only means less is resumed. */
  private async writeRecord(recordKey: string, bytes: Uint8Array): Promise<void> {
    const record = await open(this.pathOf(recordKey), 'w').catch((error: unknown) => {
      throw this.failure(error, 'write');
    });
    try {
      await writeAll(record, bytes);
      await record.datasync();
    } catch (error) {
      throw this.failure(error, 'write');
    } finally {
      await record.close().catch(() => undefined);
    }
  }

  /** What takeOverRemote needs of this folder. */
  private readonly partials: RemotePartials = {
    siblings: async (key) => {
      const folderKey = posix.dirname(key);
      const name = posix.basename(key);
      let names: string[];
      try {
        names = await readdir(folderKey === '.' ? this.base : this.pathOf(folderKey));
      } catch (error) {
        if (isErrno(error, 'ENOENT', 'ENOTDIR')) return [];
        throw this.failure(error, 'read');
      }
      const found: { key: string; modifiedMs: number }[] = [];
      for (const entry of names.filter((candidate) => candidate.startsWith(`${name}.`))) {
        const siblingKey = folderKey === '.' ? entry : `${folderKey}/${entry}`;
        try {
          const info = await lstat(this.pathOf(siblingKey));
          if (info.isFile()) found.push({ key: siblingKey, modifiedMs: info.mtimeMs });
        } catch {
          // Gone since the listing: another put took it.
        }
      }
      return found;
    },
    read: async (key) => {
      try {
        const file = await open(this.pathOf(key), 'r');
        try {
          const buffer = Buffer.alloc(4096);
          const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
          return buffer.subarray(0, bytesRead);
        } finally {
          await file.close();
        }
      } catch (error) {
        if (isErrno(error, 'ENOENT', 'ENOTDIR')) return undefined;
        throw this.failure(error, 'read');
      }
    },
    move: async (from, to) => {
      try {
        await rename(this.pathOf(from), this.pathOf(to));
        return true;
      } catch (error) {
        if (isErrno(error, 'ENOENT')) return false;
        throw this.failure(error, 'write');
      }
    },
    size: (key) => this.sizeOf(key),
    remove: async (key) => {
      await rm(this.pathOf(key), { force: true }).catch((error: unknown) => {
        throw this.failure(error, 'write');
      });
    },
  };

  async get(key: string, destPath: string, options: GetOptions = {}): Promise<TransferResult> {
    checkKey(key, this.display);
    throwIfAborted(options.signal, 'Download', this.display, key);
    const input = await this.openForReading(key);
    try {
      return await receiveFile(destPath, options, async (sink) => {
        const size = await input.stat().then(
          (info) => info.size,
          (error: unknown) => {
            throw this.failure(error, 'read');
          },
        );
        const buffer = Buffer.allocUnsafe(CHUNK);
        let position = await sink.begin(size);
        for (;;) {
          throwIfAborted(options.signal, 'Download', this.display, key);
          const { bytesRead } = await input.read(buffer, 0, CHUNK, position).catch((error: unknown) => {
            throw this.failure(error, 'read');
          });
          if (bytesRead === 0) break;
          await sink.write(position, buffer.subarray(0, bytesRead), true);
          position += bytesRead;
        }
      });
    } finally {
      await input.close().catch(() => undefined);
    }
  }

  async getRange(key: string, start: number, endExclusive: number): Promise<Uint8Array> {
    checkKey(key, this.display);
    const input = await this.openForReading(key);
    try {
      const wanted = Math.max(0, endExclusive - start);
      const bytes = Buffer.alloc(wanted);
      let filled = 0;
      while (filled < wanted) {
        const { bytesRead } = await input.read(bytes, filled, wanted - filled, start + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return bytes.subarray(0, filled);
    } catch (error) {
      throw this.failure(error, 'read');
    } finally {
      await input.close().catch(() => undefined);
    }
  }

  async delete(key: string): Promise<void> {
    checkKey(key, this.display, { allowTemporary: true });
    try {
      await rm(this.pathOf(key), { force: true });
    } catch (error) {
      throw this.failure(error, 'write');
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private pathOf(key: string): string {
    return join(this.base, key);
  }

  private async openForReading(key: string): Promise<FileHandle> {
    try {
      return await open(this.pathOf(key), 'r');
    } catch (error) {
      if (isErrno(error, 'ENOENT', 'ENOTDIR')) {
        await this.checkBase();
        throw objectMissing(this.display, key);
      }
      throw this.failure(error, 'read');
    }
  }

  /** A failure of the remote folder, by what the user can do about it. */
  private failure(error: unknown, doing: 'read' | 'write'): SluiceError {
    const errno = (error as NodeJS.ErrnoException).code;
    const remote = this.display;
    const said = fromSystemError(error)?.message ?? String(error);
    switch (errno) {
      case 'EACCES':
      case 'EPERM':
      case 'EROFS':
        return remoteError(
          'remote-permission',
          remote,
          `Cannot ${doing} ${remote}: ${errno === 'EROFS' ? 'it is mounted read-only' : 'permission denied'} (${errno}).`,
          `Ask for ${doing} access to that folder, or use a remote you can ${doing}.`,
          { errno },
        );
      case 'ENOSPC':
      case 'EDQUOT':
        return remoteError(
          'remote-full',
          remote,
          `${remote} is full: ${errno === 'EDQUOT' ? 'the disk quota is used up' : 'no space left on its disk'} (${errno}).`,
          'Free some space there, then run the command again.',
          { errno },
        );
      case 'ENOENT':
        return remoteError(
          'remote-not-found',
          remote,
          `The remote folder ${remote} does not exist.`,
          "Create it (or mount its disk), or fix the remote's URL.",
          { errno },
        );
      case 'EIO':
      case 'ESTALE':
      case 'ENOTCONN':
      case 'EHOSTDOWN':
      case 'ETIMEDOUT':
        return remoteError(
          'remote-unreachable',
          remote,
          `Cannot reach ${remote}: ${said}`,
          'Check that its disk is mounted and reachable, then run the command again.',
          { errno },
        );
      default:
        return remoteError(
          'remote-failed',
          remote,
          `${remote} failed: ${said}`,
          'Check the folder, then run the command again.',
          {
            errno: errno ?? null,
          },
        );
    }
  }
}

/** Whether a folder's contents can have keys starting with `prefix`. */
function mayHoldPrefix(folderKey: string, prefix: string): boolean {
  return `${folderKey}/`.startsWith(prefix) || prefix.startsWith(`${folderKey}/`);
}

function isErrno(error: unknown, ...codes: string[]): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && codes.includes(code);
}

/** A failure on this machine's side (the file being read or written), named as such. */
function localFailure(error: unknown, path: string): unknown {
  if (error instanceof Error && (error as NodeJS.ErrnoException).path === undefined)
    Object.assign(error, { path });
  return fromSystemError(error) ?? error;
}

/** Writes all of `bytes` at `position` (at the file's end when it is undefined). */
async function writeAll(output: FileHandle, bytes: Uint8Array, position?: number): Promise<void> {
  let written = 0;
  while (written < bytes.byteLength) {
    const at = position === undefined ? null : position + written;
    const result = await output.write(bytes, written, bytes.byteLength - written, at);
    written += result.bytesWritten;
  }
}

interface CopyContext {
  readonly remote: string;
  readonly key: string;
  readonly onWriteError: (error: unknown) => unknown;
  /** After each chunk is written, with the position after it; the chunk's buffer is reused once it resolves. */
  readonly onWritten: (position: number, bytes: Uint8Array) => Promise<void>;
}

/** Copies a put's source from `start` into `output` at the same offset, a chunk at a time, reporting progress and stopping on abort. */
async function copyInto(
  output: FileHandle,
  source: PutSource,
  start: number,
  options: TransferOptions,
  context: CopyContext,
): Promise<void> {
  const write = (bytes: Uint8Array, position: number): Promise<void> =>
    writeAll(output, bytes, position).catch((error: unknown) => {
      throw context.onWriteError(error);
    });
  if ('bytes' in source) {
    for (let offset = start; offset < source.bytes.byteLength; offset += CHUNK) {
      throwIfAborted(options.signal, 'Upload', context.remote, context.key);
      const end = Math.min(offset + CHUNK, source.bytes.byteLength);
      const chunk = source.bytes.subarray(offset, end);
      await write(chunk, offset);
      options.onProgress?.(end - start);
      await context.onWritten(end, chunk);
    }
    return;
  }
  const input = await open(source.path, 'r').catch((error: unknown) => {
    throw localFailure(error, source.path);
  });
  try {
    const buffer = Buffer.allocUnsafe(CHUNK);
    let position = start;
    for (;;) {
      throwIfAborted(options.signal, 'Upload', context.remote, context.key);
      const { bytesRead } = await input.read(buffer, 0, CHUNK, position).catch((error: unknown) => {
        throw localFailure(error, source.path);
      });
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      await write(chunk, position);
      position += bytesRead;
      options.onProgress?.(position - start);
      await context.onWritten(position, chunk);
    }
  } finally {
    await input.close().catch(() => undefined);
  }
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    throw localFailure(error, path);
  }
}
