// A remote in a folder: a shared or mounted disk (NFS, SMB, a USB drive).
// A put writes a temporary file beside the key, fsyncs it and renames it
// into place, so a reader on another machine sees the whole file or none.
import type { FileHandle } from 'node:fs/promises';
import { lstat, mkdir, open, opendir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fromSystemError, type SluiceError } from '../../errors';
import {
  checkKey,
  isTemporaryKey,
  objectMissing,
  remoteError,
  temporaryKeyFor,
  throwIfAborted,
  type FolderLocation,
  type ListOptions,
  type PutSource,
  type RemoteEntry,
  type TransferOptions,
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

  async put(key: string, source: PutSource, options: TransferOptions = {}): Promise<void> {
    checkKey(key, this.display);
    throwIfAborted(options.signal, 'Upload', this.display, key);
    const target = this.pathOf(key);
    const temporary = this.pathOf(temporaryKeyFor(key));
    try {
      await mkdir(dirname(target), { recursive: true });
    } catch (error) {
      throw this.failure(error, 'write');
    }
    let output: FileHandle | undefined;
    try {
      output = await open(temporary, 'wx').catch((error: unknown) => {
        throw this.failure(error, 'write');
      });
      await copyInto(output, source, options, {
        remote: this.display,
        key,
        onWriteError: (error) => this.failure(error, 'write'),
      });
      await output.sync().catch((error: unknown) => {
        throw this.failure(error, 'write');
      });
      await output.close().catch((error: unknown) => {
        throw this.failure(error, 'write');
      });
      output = undefined;
      await rename(temporary, target).catch((error: unknown) => {
        throw this.failure(error, 'write');
      });
    } catch (error) {
      await output?.close().catch(() => undefined);
      await rm(temporary, { force: true }).catch(() => undefined);
      throw error;
    }
  }

  async get(key: string, destPath: string, options: TransferOptions = {}): Promise<void> {
    checkKey(key, this.display);
    throwIfAborted(options.signal, 'Download', this.display, key);
    const input = await this.openForReading(key);
    let output: FileHandle | undefined;
    try {
      output = await open(destPath, 'w').catch((error: unknown) => {
        throw localFailure(error, destPath);
      });
      const buffer = Buffer.allocUnsafe(CHUNK);
      let position = 0;
      for (;;) {
        throwIfAborted(options.signal, 'Download', this.display, key);
        const { bytesRead } = await input.read(buffer, 0, CHUNK, position).catch((error: unknown) => {
          throw this.failure(error, 'read');
        });
        if (bytesRead === 0) break;
        await writeAll(output, buffer.subarray(0, bytesRead)).catch((error: unknown) => {
          throw localFailure(error, destPath);
        });
        position += bytesRead;
        options.onProgress?.(position);
      }
      await output.close().catch((error: unknown) => {
        throw localFailure(error, destPath);
      });
      output = undefined;
    } catch (error) {
      await output?.close().catch(() => undefined);
      await rm(destPath, { force: true }).catch(() => undefined);
      throw error;
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

async function writeAll(output: FileHandle, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.byteLength) {
    const result = await output.write(bytes, written, bytes.byteLength - written);
    written += result.bytesWritten;
  }
}

interface CopyContext {
  readonly remote: string;
  readonly key: string;
  readonly onWriteError: (error: unknown) => unknown;
}

/** Copies a put's source into `output` a chunk at a time, reporting progress and stopping on abort. */
async function copyInto(
  output: FileHandle,
  source: PutSource,
  options: TransferOptions,
  context: CopyContext,
): Promise<void> {
  const write = (bytes: Uint8Array): Promise<void> =>
    writeAll(output, bytes).catch((error: unknown) => {
      throw context.onWriteError(error);
    });
  if ('bytes' in source) {
    for (let offset = 0; offset < source.bytes.byteLength; offset += CHUNK) {
      throwIfAborted(options.signal, 'Upload', context.remote, context.key);
      const end = Math.min(offset + CHUNK, source.bytes.byteLength);
      await write(source.bytes.subarray(offset, end));
      options.onProgress?.(end);
    }
    return;
  }
  const input = await open(source.path, 'r').catch((error: unknown) => {
    throw localFailure(error, source.path);
  });
  try {
    const buffer = Buffer.allocUnsafe(CHUNK);
    let position = 0;
    for (;;) {
      throwIfAborted(options.signal, 'Upload', context.remote, context.key);
      const { bytesRead } = await input.read(buffer, 0, CHUNK, position).catch((error: unknown) => {
        throw localFailure(error, source.path);
      });
      if (bytesRead === 0) break;
      await write(buffer.subarray(0, bytesRead));
      position += bytesRead;
      options.onProgress?.(position);
    }
  } finally {
    await input.close().catch(() => undefined);
  }
}
