// The client side of SFTP version 3 (draft-ietf-secsh-filexfer-02), spoken
// over any pair of streams: here the stdin and stdout of the user's own `ssh
// -s HOST sftp`. Every request carries an id and the server answers each
// one, in any order, so any number can be in flight at once: a transfer
// keeps dozens of READs or WRITEs outstanding and many small operations
// share one connection without waiting for each other.
import type { Readable, Writable } from 'node:stream';

/** Packet types. */
const FXP = {
  INIT: 1,
  VERSION: 2,
  OPEN: 3,
  CLOSE: 4,
  READ: 5,
  WRITE: 6,
  LSTAT: 7,
  FSTAT: 8,
  OPENDIR: 11,
  READDIR: 12,
  REMOVE: 13,
  MKDIR: 14,
  STAT: 17,
  RENAME: 18,
  STATUS: 101,
  HANDLE: 102,
  DATA: 103,
  NAME: 104,
  ATTRS: 105,
  EXTENDED: 200,
  EXTENDED_REPLY: 201,
} as const;

/** Status codes of SSH_FXP_STATUS. */
export const SFTP_STATUS = {
  OK: 0,
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  NO_CONNECTION: 6,
  CONNECTION_LOST: 7,
  OP_UNSUPPORTED: 8,
} as const;

/** Flags of SSH_FXP_OPEN. */
export const OPEN_FLAGS = {
  READ: 0x01,
  WRITE: 0x02,
  APPEND: 0x04,
  CREAT: 0x08,
  TRUNC: 0x10,
  EXCL: 0x20,
} as const;

const ATTR_SIZE = 0x01;
const ATTR_UIDGID = 0x02;
const ATTR_PERMISSIONS = 0x04;
const ATTR_ACMODTIME = 0x08;
const ATTR_EXTENDED = 0x80000000;

const FILE_TYPE_MASK = 0o170000;
const FILE_TYPE_FOLDER = 0o040000;
const FILE_TYPE_REGULAR = 0o100000;

/** A packet longer than this is not SFTP: a login script printed text into the channel, or the stream is corrupt. */
const MAX_PACKET = 4 * 1024 * 1024;

export interface SftpAttributes {
  readonly size: number | undefined;
  readonly permissions: number | undefined;
  /** The last modification, in seconds since 1970, when the server says. */
  readonly modified?: number | undefined;
}

export function isFolder(attributes: SftpAttributes): boolean {
  return (
    attributes.permissions !== undefined && (attributes.permissions & FILE_TYPE_MASK) === FILE_TYPE_FOLDER
  );
}

export function isRegularFile(attributes: SftpAttributes): boolean {
  return (
    attributes.permissions !== undefined && (attributes.permissions & FILE_TYPE_MASK) === FILE_TYPE_REGULAR
  );
}

export interface SftpName {
  readonly name: string;
  readonly attributes: SftpAttributes;
}

/** What statvfs@openssh.com says about the file system holding a path. */
export interface SftpSpace {
  /** Bytes an unprivileged user may still write. */
  readonly availableBytes: number;
}

/** The server answered a request with an error status. */
export class SftpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly serverMessage: string,
    readonly operation: string,
    readonly path: string,
  ) {
    super(`SFTP ${operation} ${path}: ${serverMessage || `status ${status}`}`);
    this.name = 'SftpStatusError';
  }
}

/** The stream ended, or the server sent something that is not SFTP: no request can be answered any more. */
export class SftpConnectionLost extends Error {
  constructor(readonly reason: string) {
    super(`SFTP connection lost: ${reason}`);
    this.name = 'SftpConnectionLost';
  }
}

interface Waiting {
  readonly operation: string;
  readonly path: string;
  readonly resolve: (reply: Reply) => void;
  readonly reject: (error: Error) => void;
}

interface Reply {
  readonly type: number;
  readonly body: PacketReader;
}

export class SftpSession {
  /** The server's extensions (name → version) from its VERSION packet. */
  private extensions = new Map<string, string>();
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  private lost: SftpConnectionLost | undefined;
  private version: { resolve: (reply: Reply) => void; reject: (error: Error) => void } | undefined;
  private readonly received: Buffer[] = [];
  private receivedBytes = 0;

  private constructor(
    private readonly toServer: Writable,
    fromServer: Readable,
  ) {
    fromServer.on('data', (chunk: Buffer) => {
      this.received.push(chunk);
      this.receivedBytes += chunk.length;
      this.dispatch();
    });
    fromServer.on('end', () => {
      this.connectionLost('the server closed the channel');
    });
    fromServer.on('error', (error) => {
      this.connectionLost(error.message);
    });
    toServer.on('error', (error) => {
      this.connectionLost(error.message);
    });
  }

  /** Says hello (INIT, version 3) and waits for the server's VERSION. */
  static async start(toServer: Writable, fromServer: Readable): Promise<SftpSession> {
    const session = new SftpSession(toServer, fromServer);
    const reply = await new Promise<Reply>((resolve, reject) => {
      session.version = { resolve, reject };
      session.send(packet(FXP.INIT, [u32(3)]));
    });
    session.version = undefined;
    if (reply.type !== FXP.VERSION)
      throw session.connectionLost(`the server answered INIT with packet ${reply.type}`);
    const serverVersion = reply.body.u32();
    if (serverVersion < 3)
      throw session.connectionLost(`the server speaks SFTP version ${serverVersion}, not 3`);
    while (!reply.body.done()) session.extensions.set(reply.body.text(), reply.body.text());
    return session;
  }

  supports(extension: string): boolean {
    return this.extensions.has(extension);
  }

  /** Ends the session: every request still waiting fails. */
  shutDown(reason: string): void {
    this.connectionLost(reason);
  }

  async open(path: string, flags: number): Promise<Buffer> {
    const reply = await this.request(FXP.OPEN, 'open', path, [text(path), u32(flags), u32(0)]);
    return expectHandle(reply, 'open', path);
  }

  async close(handle: Buffer, path: string): Promise<void> {
    expectOk(await this.request(FXP.CLOSE, 'close', path, [bytes(handle)]), 'close', path);
  }

  /** Up to `length` bytes at `offset` (fewer is allowed), or undefined at the end of the file. */
  async read(handle: Buffer, path: string, offset: number, length: number): Promise<Buffer | undefined> {
    const reply = await this.request(FXP.READ, 'read', path, [bytes(handle), u64(offset), u32(length)]);
    if (reply.type === FXP.DATA) return reply.body.bytes();
    if (isStatus(reply, SFTP_STATUS.EOF)) return undefined;
    throw unexpected(reply, 'read', path);
  }

  async write(handle: Buffer, path: string, offset: number, data: Uint8Array): Promise<void> {
    const fields = [bytes(handle), u64(offset), u32(data.byteLength)];
    expectOk(await this.request(FXP.WRITE, 'write', path, fields, data), 'write', path);
  }

  async stat(path: string): Promise<SftpAttributes> {
    return expectAttributes(await this.request(FXP.STAT, 'stat', path, [text(path)]), 'stat', path);
  }

  async lstat(path: string): Promise<SftpAttributes> {
    return expectAttributes(await this.request(FXP.LSTAT, 'lstat', path, [text(path)]), 'lstat', path);
  }

  async fstat(handle: Buffer, path: string): Promise<SftpAttributes> {
    return expectAttributes(await this.request(FXP.FSTAT, 'fstat', path, [bytes(handle)]), 'fstat', path);
  }

  async openFolder(path: string): Promise<Buffer> {
    return expectHandle(await this.request(FXP.OPENDIR, 'opendir', path, [text(path)]), 'opendir', path);
  }

  /** The next batch of a folder's entries ('.' and '..' included), or undefined when there are no more. */
  async readFolder(handle: Buffer, path: string): Promise<SftpName[] | undefined> {
    const reply = await this.request(FXP.READDIR, 'readdir', path, [bytes(handle)]);
    if (isStatus(reply, SFTP_STATUS.EOF)) return undefined;
    if (reply.type !== FXP.NAME) throw unexpected(reply, 'readdir', path);
    const count = reply.body.u32();
    const names: SftpName[] = [];
    for (let i = 0; i < count; i++) {
      const name = reply.body.text();
      reply.body.bytes(); // the long name, as `ls -l` would print it
      names.push({ name, attributes: reply.body.attributes() });
    }
    return names;
  }

  async remove(path: string): Promise<void> {
    expectOk(await this.request(FXP.REMOVE, 'remove', path, [text(path)]), 'remove', path);
  }

  async makeFolder(path: string): Promise<void> {
    expectOk(await this.request(FXP.MKDIR, 'mkdir', path, [text(path), u32(0)]), 'mkdir', path);
  }

  /**
   * Renames `from` to `to`, replacing `to` atomically where the server offers
   * posix-rename@openssh.com (OpenSSH does); plain version 3 RENAME fails when
   * `to` exists, so without the extension `to` is removed first.
   */
  async rename(from: string, to: string): Promise<void> {
    if (this.supports('posix-rename@openssh.com')) {
      const reply = await this.request(FXP.EXTENDED, 'rename', to, [
        text('posix-rename@openssh.com'),
        text(from),
        text(to),
      ]);
      expectOk(reply, 'rename', to);
      return;
    }
    await this.remove(to).catch((error: unknown) => {
      if (!(error instanceof SftpStatusError && error.status === SFTP_STATUS.NO_SUCH_FILE)) throw error;
    });
    expectOk(await this.request(FXP.RENAME, 'rename', to, [text(from), text(to)]), 'rename', to);
  }

  /** Flushes a file to the server's disk where fsync@openssh.com is offered; a no-op elsewhere. */
  async fsync(handle: Buffer, path: string): Promise<void> {
    if (!this.supports('fsync@openssh.com')) return;
    expectOk(
      await this.request(FXP.EXTENDED, 'fsync', path, [text('fsync@openssh.com'), bytes(handle)]),
      'fsync',
      path,
    );
  }

  /** Free space where statvfs@openssh.com is offered; undefined elsewhere. */
  async space(path: string): Promise<SftpSpace | undefined> {
    if (!this.supports('statvfs@openssh.com')) return undefined;
    const reply = await this.request(FXP.EXTENDED, 'statvfs', path, [
      text('statvfs@openssh.com'),
      text(path),
    ]);
    if (reply.type !== FXP.EXTENDED_REPLY) throw unexpected(reply, 'statvfs', path);
    reply.body.u64(); // f_bsize
    const fragmentSize = reply.body.u64();
    reply.body.u64(); // f_blocks
    reply.body.u64(); // f_bfree
    const available = reply.body.u64();
    return { availableBytes: available * fragmentSize };
  }

  /** The server's limits (limits@openssh.com): the largest WRITE and READ it takes, where offered. */
  async limits(): Promise<{ maxRead: number; maxWrite: number } | undefined> {
    if (!this.supports('limits@openssh.com')) return undefined;
    const reply = await this.request(FXP.EXTENDED, 'limits', '', [text('limits@openssh.com')]);
    if (reply.type !== FXP.EXTENDED_REPLY) return undefined;
    reply.body.u64(); // max packet length
    const maxRead = reply.body.u64();
    const maxWrite = reply.body.u64();
    return { maxRead, maxWrite };
  }

  /** Sends a request; `data` (a WRITE's bytes) follows the fields as it is, rather than copied into the packet. */
  private request(
    type: number,
    operation: string,
    path: string,
    fields: Uint8Array[],
    data?: Uint8Array,
  ): Promise<Reply> {
    if (this.lost) return Promise.reject(this.lost);
    const id = this.nextId;
    this.nextId = (this.nextId + 1) >>> 0 || 1;
    return new Promise<Reply>((resolve, reject) => {
      this.waiting.set(id, { operation, path, resolve, reject });
      this.send(packet(type, [u32(id), ...fields], data?.byteLength ?? 0));
      if (data !== undefined && data.byteLength > 0) this.send(data);
    });
  }

  private send(chunk: Uint8Array): void {
    // Memory stays bounded without waiting for 'drain': callers keep a fixed number of requests in flight.
    this.toServer.write(chunk);
  }

  /** Takes every complete packet off what has arrived and hands it to its request. */
  private dispatch(): void {
    while (this.receivedBytes >= 4 && !this.lost) {
      const length = this.peekLength();
      if (length < 1 || length > MAX_PACKET) {
        this.connectionLost(
          `the server sent ${this.receivedBytes} bytes that are not SFTP (a login script printing text?)`,
        );
        return;
      }
      if (this.receivedBytes < 4 + length) return;
      const whole = this.take(4 + length);
      const type = whole[4]!;
      const body = new PacketReader(whole, 5);
      if (type === FXP.VERSION) {
        this.version?.resolve({ type, body });
        continue;
      }
      if (length < 5) {
        this.connectionLost(`the server sent a packet of type ${type} without a request id`);
        return;
      }
      const id = body.u32();
      const waiting = this.waiting.get(id);
      if (!waiting) {
        this.connectionLost(`the server answered request ${id}, which was never sent`);
        return;
      }
      this.waiting.delete(id);
      waiting.resolve({ type, body });
    }
  }

  private peekLength(): number {
    const first = this.received[0]!;
    if (first.length >= 4) return first.readUInt32BE(0);
    return Buffer.concat(this.received).readUInt32BE(0);
  }

  private take(count: number): Buffer {
    const first = this.received[0]!;
    let taken: Buffer;
    if (first.length >= count) {
      taken = first.subarray(0, count);
      if (first.length === count) this.received.shift();
      else this.received[0] = first.subarray(count);
    } else {
      // Copy only this packet's bytes; what follows it stays where it arrived.
      taken = Buffer.allocUnsafe(count);
      let filled = 0;
      while (filled < count) {
        const chunk = this.received[0]!;
        const used = Math.min(chunk.length, count - filled);
        chunk.copy(taken, filled, 0, used);
        filled += used;
        if (used === chunk.length) this.received.shift();
        else this.received[0] = chunk.subarray(used);
      }
    }
    this.receivedBytes -= count;
    return taken;
  }

  private connectionLost(reason: string): SftpConnectionLost {
    if (this.lost) return this.lost;
    const lost = new SftpConnectionLost(reason);
    this.lost = lost;
    this.version?.reject(lost);
    for (const waiting of this.waiting.values()) waiting.reject(lost);
    this.waiting.clear();
    return lost;
  }
}

class PacketReader {
  constructor(
    private readonly buffer: Buffer,
    private offset: number,
  ) {}

  done(): boolean {
    return this.offset >= this.buffer.length;
  }

  peekU32(): number {
    return this.buffer.readUInt32BE(this.offset);
  }

  u32(): number {
    const value = this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  u64(): number {
    const value = Number(this.buffer.readBigUInt64BE(this.offset));
    this.offset += 8;
    return value;
  }

  bytes(): Buffer {
    const length = this.u32();
    const value = this.buffer.subarray(this.offset, this.offset + length);
    if (value.length !== length) throw new SftpConnectionLost('the server sent a truncated packet');
    this.offset += length;
    return value;
  }

  text(): string {
    return this.bytes().toString('utf8');
  }

  attributes(): SftpAttributes {
    const flags = this.u32();
    const size = flags & ATTR_SIZE ? this.u64() : undefined;
    if (flags & ATTR_UIDGID) this.offset += 8;
    const permissions = flags & ATTR_PERMISSIONS ? this.u32() : undefined;
    let modified: number | undefined;
    if (flags & ATTR_ACMODTIME) {
      this.offset += 4; // the last access
      modified = this.u32();
    }
    if (flags & ATTR_EXTENDED) {
      const count = this.u32();
      for (let i = 0; i < count * 2; i++) this.bytes();
    }
    return { size, permissions, modified };
  }
}

function u32(value: number): Buffer {
  const buffer = Buffer.allocUnsafe(4);
  buffer.writeUInt32BE(value >>> 0, 0);
  return buffer;
}

function u64(value: number): Buffer {
  const buffer = Buffer.allocUnsafe(8);
  buffer.writeBigUInt64BE(BigInt(value), 0);
  return buffer;
}

function bytes(value: Uint8Array): Buffer {
  return Buffer.concat([u32(value.byteLength), value]);
}

function text(value: string): Buffer {
  return bytes(Buffer.from(value, 'utf8'));
}

/** A packet's length, type and fields; its length counts `trailing` more bytes sent after it. */
function packet(type: number, fields: Uint8Array[], trailing = 0): Buffer {
  const body = Buffer.concat(fields);
  const out = Buffer.allocUnsafe(5 + body.length);
  out.writeUInt32BE(1 + body.length + trailing, 0);
  out[4] = type;
  body.copy(out, 5);
  return out;
}

function isStatus(reply: Reply, status: number): boolean {
  return reply.type === FXP.STATUS && reply.body.peekU32() === status;
}

function statusError(reply: Reply, operation: string, path: string): SftpStatusError {
  const status = reply.body.u32();
  const message = reply.body.done() ? '' : reply.body.text();
  return new SftpStatusError(status, message, operation, path);
}

function unexpected(reply: Reply, operation: string, path: string): Error {
  if (reply.type === FXP.STATUS) return statusError(reply, operation, path);
  return new SftpConnectionLost(`the server answered ${operation} with packet ${reply.type}`);
}

function expectOk(reply: Reply, operation: string, path: string): void {
  if (isStatus(reply, SFTP_STATUS.OK)) return;
  throw unexpected(reply, operation, path);
}

function expectHandle(reply: Reply, operation: string, path: string): Buffer {
  if (reply.type === FXP.HANDLE) return Buffer.from(reply.body.bytes());
  throw unexpected(reply, operation, path);
}

function expectAttributes(reply: Reply, operation: string, path: string): SftpAttributes {
  if (reply.type === FXP.ATTRS) return reply.body.attributes();
  throw unexpected(reply, operation, path);
}
