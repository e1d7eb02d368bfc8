// A remote in an S3 bucket (AWS, or MinIO, Ceph RGW, R2 and the like through
// `endpoint`). Credentials come from the AWS SDK's standard chain (environment,
// profile, SSO, instance role): nothing here reads or stores a secret.
// A single PUT is atomic on S3, and so is completing a multipart upload, so a
// key is never seen half-written. Files stream from disk part by part, a few
// parts in flight, so memory does not grow with the file.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fromSystemError, SluiceError } from '../../errors';
import {
  cancelled,
  checkKey,
  isTemporaryKey,
  objectMissing,
  remoteError,
  runLanes,
  throwIfAborted,
  type GetOptions,
  type ListOptions,
  type OpenOptions,
  type PutOptions,
  type PutSource,
  type RemoteEntry,
  type S3Location,
  type TransferResult,
  type Transport,
} from './transport';
import { OrderedDigest, receiveFile } from './resume';

const MiB = 1024 * 1024;
/** Up to this size a file goes in one PUT; above it, in parts. */
const SINGLE_PUT_LIMIT = 16 * MiB;
/** A part's size, unless the file needs bigger parts to fit S3's 10,000. */
const PART_SIZE = 8 * MiB;
const MAX_PARTS = 10_000;
/** Parts uploading at once: enough to fill a link, with memory flat since each streams from disk. */
const PARTS_IN_FLIGHT = 4;
/** Attempts per part: the SDK does not retry a request whose body is a stream. */
const PART_ATTEMPTS = 3;

export async function openS3Transport(
  location: S3Location,
  options: NonNullable<OpenOptions['s3']>,
): Promise<Transport> {
  const client = await makeClient(options);
  const transport = new S3Transport(location, client);
  try {
    await transport.checkBucket();
  } catch (error) {
    await transport.close();
    throw error;
  }
  return transport;
}

/** The SDK's log lines would land on the user's terminal; every failure reaches the user as a SluiceError instead. */
const SILENT = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

async function makeClient(options: NonNullable<OpenOptions['s3']>): Promise<S3Client> {
  // The SDK warns, once per process, that its releases after early 2027 need
  // Node 22: a note for Sluice's maintainers (the version is pinned in
  // package.json), not something a user of the CLI can act on.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const config: S3ClientConfig = {
    logger: SILENT,
    // Most servers other than AWS serve buckets in the path, not as host names.
    forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
    followRegionRedirects: true,
    // Give up on a host that does not answer instead of waiting on it forever.
    requestHandler: { connectionTimeout: 15_000, requestTimeout: 120_000 },
  };
  if (options.endpoint !== undefined) {
    config.endpoint = options.endpoint;
    // Many S3-compatible servers reject the SDK's newer default checksum trailers.
    config.requestChecksumCalculation = 'WHEN_REQUIRED';
    config.responseChecksumValidation = 'WHEN_REQUIRED';
  }
  if (options.region !== undefined) return new S3Client({ ...config, region: options.region });
  const client = new S3Client(config);
  try {
    await client.config.region();
    return client;
  } catch {
    // No region configured anywhere: any will do, since followRegionRedirects finds the bucket's own.
    client.destroy();
    return new S3Client({ ...config, region: 'us-east-1' });
  }
}

class S3Transport implements Transport {
  readonly display: string;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(
    location: S3Location,
    private readonly client: S3Client,
  ) {
    this.display = location.url;
    this.bucket = location.bucket;
    this.prefix = location.prefix === '' ? '' : `${location.prefix}/`;
  }

  /**
   * One listing request: it fails as the bucket is missing or the credentials
   * are refused, with S3's own reason. It lists a name nothing has, so it is
   * never truncated: some S3-protocol servers fail on a truncated listing's
   * continuation token (s3rver on OpenSSL 3), which says nothing of the bucket.
   */
  async checkBucket(): Promise<void> {
    try {
      await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: `${this.prefix}.sluice-bucket-check`,
          MaxKeys: 1,
        }),
      );
    } catch (error) {
      throw this.failure(error);
    }
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    checkKey(key, this.display);
    try {
      const head = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.keyOf(key) }),
      );
      return { size: head.ContentLength ?? 0 };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw this.failure(error);
    }
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<RemoteEntry> {
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.keyOf(prefix),
            ContinuationToken: token,
          }),
        );
      } catch (error) {
        throw this.failure(error);
      }
      for (const object of page.Contents ?? []) {
        const key = object.Key?.slice(this.prefix.length);
        // A key ending in / is a "folder" some consoles create: no bytes of ours.
        if (key === undefined || key === '' || key.endsWith('/')) continue;
        if (isTemporaryKey(key) && options.includeTemporary !== true) continue;
        yield { key, size: object.Size ?? 0 };
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async put(key: string, source: PutSource, options: PutOptions = {}): Promise<TransferResult> {
    checkKey(key, this.display);
    throwIfAborted(options.signal, 'Upload', this.display, key);
    let size: number;
    if ('bytes' in source) {
      size = source.bytes.byteLength;
    } else {
      try {
        size = (await stat(source.path)).size;
      } catch (error) {
        throw localFailure(error, source.path);
      }
    }
    // Set when the bytes did not hash as they should: that, not how the request ended, is the failure.
    const outcome: { mismatch: SluiceError | undefined } = { mismatch: undefined };
    try {
      // A file to verify goes as a multipart upload whatever its size: only CompleteMultipartUpload,
      // sent once its bytes hashed right, makes the key (some S3-protocol servers store a single PUT cut off).
      if (size > SINGLE_PUT_LIMIT || (options.verify && 'path' in source && size > 0))
        return await this.putInParts(key, source, size, options, outcome);
      const verify = options.verify;
      if (verify && sha256Of('bytes' in source ? source.bytes : new Uint8Array(0)) !== verify.expected)
        throw (outcome.mismatch = verify.onMismatch());
      const request = requestController(options.signal);
      const body = bodyOf(source, 0, size, (bytes) => options.onProgress?.(bytes), request.controller);
      try {
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: this.keyOf(key),
            Body: body,
            ContentLength: size,
          }),
          abortable(request.signal),
        );
      } catch (error) {
        throw bodyFailure(request.controller, options.signal) ?? error;
      }
      options.onProgress?.(size);
      return { skipped: 0 };
    } catch (error) {
      if (outcome.mismatch) throw outcome.mismatch;
      if (isAborted(options.signal)) throw cancelled('Upload', this.display, key);
      throw this.failure(error);
    }
  }

  async get(key: string, destPath: string, options: GetOptions = {}): Promise<TransferResult> {
    checkKey(key, this.display);
    throwIfAborted(options.signal, 'Download', this.display, key);
    try {
      return await receiveFile(destPath, options, async (sink) => {
        let body: Readable;
        let size: number;
        let start = 0;
        /** Bytes of the body before `start`: a server that ignores Range sends the whole object. */
        let skip = 0;
        try {
          if (options.partial !== undefined) {
            // Where to start depends on what an earlier run kept, which depends on the size.
            const head = await this.client.send(
              new HeadObjectCommand({ Bucket: this.bucket, Key: this.keyOf(key) }),
              abortable(options.signal),
            );
            size = head.ContentLength ?? 0;
            start = await sink.begin(size);
          }
          const response = await this.client.send(
            new GetObjectCommand({
              Bucket: this.bucket,
              Key: this.keyOf(key),
              ...(start > 0 ? { Range: `bytes=${start}-` } : {}),
            }),
            abortable(options.signal),
          );
          body = response.Body as Readable;
          if (options.partial === undefined) {
            size = response.ContentLength ?? 0;
            await sink.begin(size);
          }
          if (start > 0 && response.ContentRange === undefined) skip = start;
        } catch (error) {
          if (isAborted(options.signal)) throw cancelled('Download', this.display, key);
          if (isNotFound(error)) throw objectMissing(this.display, key);
          throw this.failure(error);
        }
        let position = start;
        let skipped = 0;
        const output = new Writable({
          write: (chunk: Buffer, _encoding, done) => {
            let bytes = chunk;
            if (skipped < skip) {
              const drop = Math.min(skip - skipped, bytes.length);
              skipped += drop;
              bytes = bytes.subarray(drop);
              if (bytes.length === 0) {
                done();
                return;
              }
            }
            const at = position;
            position += bytes.length;
            sink.write(at, bytes, false).then(() => {
              done();
            }, done);
          },
        });
        try {
          await pipeline(body, output, options.signal ? { signal: options.signal } : {});
        } catch (error) {
          if (isAborted(options.signal)) throw cancelled('Download', this.display, key);
          if (error instanceof SluiceError) throw error;
          // An error with a path is this machine's disk; anything else is the download.
          if ((error as NodeJS.ErrnoException).path !== undefined) throw fromSystemError(error) ?? error;
          throw this.failure(error);
        }
        if (position !== size!)
          throw remoteError(
            'remote-unreachable',
            this.display,
            `The download of ${key} from ${this.display} stopped after ${position} of ${size!} bytes.`,
            'Check the network, then run the command again.',
            { key },
          );
      });
    } catch (error) {
      if (isAborted(options.signal) && !(error instanceof SluiceError))
        throw cancelled('Download', this.display, key);
      throw error;
    }
  }

  async getRange(key: string, start: number, endExclusive: number): Promise<Uint8Array> {
    checkKey(key, this.display);
    if (endExclusive <= start) return new Uint8Array(0);
    try {
      const response = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.keyOf(key),
          Range: `bytes=${start}-${endExclusive - 1}`,
        }),
      );
      const bytes = await response.Body!.transformToByteArray();
      // A server that ignores Range sends the whole object.
      return response.ContentRange === undefined && start > 0
        ? bytes.subarray(start, endExclusive)
        : bytes.subarray(0, endExclusive - start);
    } catch (error) {
      if (isNotFound(error)) throw objectMissing(this.display, key);
      // Starting at or past the end: nothing there, as a file would say.
      if (errorName(error) === 'InvalidRange') return new Uint8Array(0);
      throw this.failure(error);
    }
  }

  async delete(key: string): Promise<void> {
    checkKey(key, this.display, { allowTemporary: true });
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.keyOf(key) }));
    } catch (error) {
      if (isNotFound(error)) return;
      throw this.failure(error);
    }
  }

  close(): Promise<void> {
    this.client.destroy();
    return Promise.resolve();
  }

  private keyOf(key: string): string {
    return this.prefix + key;
  }

  /**
   * A multipart upload: the key appears only when CompleteMultipartUpload
   * succeeds, and that only once the bytes hash as `verify` says. A
   * resumable put first looks for an upload of the key that a cut-off put
   * left, keeps the parts of it that match this file (their ETags are their
   * MD5s), sends the rest and aborts the uploads it cannot use. A failure
   * aborts the upload, unless the put is resumable and its bytes were right,
   * so that its parts are not kept (and billed) on the bucket for nothing.
   */
  private async putInParts(
    key: string,
    source: PutSource,
    size: number,
    options: PutOptions,
    outcome: { mismatch: SluiceError | undefined },
  ): Promise<TransferResult> {
    const Bucket = this.bucket;
    const Key = this.keyOf(key);
    const partSize = Math.max(PART_SIZE, Math.ceil(size / MAX_PARTS / MiB) * MiB);
    const count = Math.ceil(size / partSize);
    const resumable = options.resumable === true && 'path' in source;
    const earlier = resumable ? await this.earlierUpload(Key, options.signal) : undefined;
    const UploadId =
      earlier?.uploadId ??
      (await this.client.send(new CreateMultipartUploadCommand({ Bucket, Key }), abortable(options.signal)))
        .UploadId!;
    let keep = resumable;
    try {
      const etags = new Array<string>(count);
      let hash = createHash('sha256');
      let first = 0;
      if (earlier && 'path' in source) {
        // The parts in place from the first on, each checked against this file's bytes (read, not sent).
        for (; first < count; first++) {
          const part = earlier.parts.get(first + 1);
          const length = Math.min(partSize, size - first * partSize);
          if (part?.size !== length) break;
          const before = hash.copy();
          const md5 = await hashRange(source.path, first * partSize, length, hash);
          if (`"${md5}"` !== part.etag && md5 !== part.etag) {
            hash = before;
            break;
          }
          etags[first] = part.etag;
        }
      }
      const start = first * partSize;
      const digest = options.verify ? new OrderedDigest(hash, start) : undefined;
      const partSent = new Array<number>(count).fill(0);
      /** Per part, how far its bytes were hashed: a retry sends them again but hashes only what is new. */
      const partHashed = new Array<number>(count).fill(0);
      let sent = 0;
      let next = first;
      await runLanes(
        Math.max(1, Math.min(PARTS_IN_FLIGHT, count - first)),
        async (stopped) => {
          while (!stopped() && !isAborted(options.signal) && next < count) {
            const index = next++;
            const partStart = index * partSize;
            const length = Math.min(partSize, size - partStart);
            for (let attempt = 1; ; attempt++) {
              // A retry sends the part again from its start: its progress starts again too.
              sent -= partSent[index]!;
              partSent[index] = 0;
              const request = requestController(options.signal);
              const body = bodyOf(
                source,
                partStart,
                length,
                (bytes) => {
                  sent += bytes - partSent[index]!;
                  partSent[index] = bytes;
                  options.onProgress?.(sent);
                },
                request.controller,
                digest ? hashedInOrder(digest, partStart, index, partHashed) : undefined,
              );
              if (digest && body instanceof Uint8Array && partHashed[index] === 0) {
                await digest.add(partStart, body, false);
                partHashed[index] = length;
              }
              try {
                const part = await this.client.send(
                  new UploadPartCommand({
                    Bucket,
                    Key,
                    UploadId,
                    PartNumber: index + 1,
                    Body: body,
                    ContentLength: length,
                  }),
                  abortable(request.signal),
                );
                etags[index] = part.ETag!;
                break;
              } catch (error) {
                const failed = bodyFailure(request.controller, options.signal);
                if (failed) throw failed;
                if (attempt >= PART_ATTEMPTS || isAborted(options.signal) || !isTransient(error)) throw error;
              }
            }
          }
        },
        (error) => digest?.fail(error),
      );
      throwIfAborted(options.signal, 'Upload', this.display, key);
      if (options.verify && digest!.digest() !== options.verify.expected) {
        keep = false;
        throw (outcome.mismatch = options.verify.onMismatch());
      }
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key,
          UploadId,
          MultipartUpload: { Parts: etags.map((ETag, index) => ({ ETag, PartNumber: index + 1 })) },
        }),
      );
      return { skipped: start };
    } catch (error) {
      if (error instanceof SluiceError && error.code === 'changed-while-sending') keep = false;
      if (!keep)
        await this.client
          .send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId }))
          .catch(() => undefined);
      throw error;
    }
  }

  /**
   * The newest multipart upload of `Key` that a cut-off put left, with its
   * parts; the others are aborted, as no put will use them. Undefined when
   * there is none, or the server cannot list uploads (some S3-protocol
   * servers cannot): the put then starts a new one.
   */
  private async earlierUpload(
    Key: string,
    signal: AbortSignal | undefined,
  ): Promise<{ uploadId: string; parts: Map<number, { etag: string; size: number }> } | undefined> {
    const Bucket = this.bucket;
    const uploads: { id: string; initiated: number }[] = [];
    try {
      let KeyMarker: string | undefined;
      let UploadIdMarker: string | undefined;
      do {
        const page = await this.client.send(
          new ListMultipartUploadsCommand({ Bucket, Prefix: Key, KeyMarker, UploadIdMarker }),
          abortable(signal),
        );
        for (const upload of page.Uploads ?? [])
          if (upload.Key === Key && upload.UploadId !== undefined)
            uploads.push({ id: upload.UploadId, initiated: upload.Initiated?.getTime() ?? 0 });
        const more = page.IsTruncated === true;
        KeyMarker = more ? page.NextKeyMarker : undefined;
        UploadIdMarker = more ? page.NextUploadIdMarker : undefined;
      } while (KeyMarker !== undefined);
    } catch (error) {
      if (isAborted(signal)) throw error;
      return undefined;
    }
    uploads.sort((a, b) => b.initiated - a.initiated);
    let chosen: { uploadId: string; parts: Map<number, { etag: string; size: number }> } | undefined;
    for (const upload of uploads) {
      if (!chosen) {
        const parts = await this.partsOf(Key, upload.id, signal);
        if (parts) {
          chosen = { uploadId: upload.id, parts };
          continue;
        }
      }
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: upload.id }))
        .catch(() => undefined);
    }
    return chosen;
  }

  private async partsOf(
    Key: string,
    UploadId: string,
    signal: AbortSignal | undefined,
  ): Promise<Map<number, { etag: string; size: number }> | undefined> {
    const parts = new Map<number, { etag: string; size: number }>();
    try {
      let PartNumberMarker: string | undefined;
      do {
        const page = await this.client.send(
          new ListPartsCommand({ Bucket: this.bucket, Key, UploadId, PartNumberMarker }),
          abortable(signal),
        );
        for (const part of page.Parts ?? [])
          if (part.PartNumber !== undefined && part.ETag !== undefined)
            parts.set(part.PartNumber, { etag: part.ETag, size: part.Size ?? -1 });
        PartNumberMarker = page.IsTruncated === true ? page.NextPartNumberMarker : undefined;
      } while (PartNumberMarker !== undefined);
    } catch (error) {
      if (isAborted(signal)) throw error;
      return undefined;
    }
    return parts;
  }

  /** A failure of S3 or of the connection to it, by what the user can do about it. */
  private failure(error: unknown): SluiceError {
    if (error instanceof SluiceError) return error;
    const remote = this.display;
    const name = errorName(error);
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const said = error instanceof Error ? error.message : String(error);
    const data = { s3: name, status: status ?? null };
    if (name === 'NoSuchBucket')
      return remoteError(
        'remote-not-found',
        remote,
        `The bucket ${this.bucket} of ${remote} does not exist.`,
        "Create the bucket, or fix the remote's URL (and its endpoint, for a server other than AWS).",
        data,
      );
    if (AUTH_FAILURES.has(name))
      return remoteError(
        'remote-auth',
        remote,
        name === 'CredentialsProviderError'
          ? `No AWS credentials were found for ${remote}.`
          : `${remote} refused the credentials (${name}).`,
        'Check the AWS credentials Sluice finds: AWS_PROFILE, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or ~/.aws/credentials.',
        data,
      );
    if (name === 'AccessDenied' || name === 'AllAccessDisabled' || status === 403)
      return remoteError(
        'remote-permission',
        remote,
        `${remote} denied access (${name}).`,
        'Ask for read and write access to that bucket and prefix for these credentials, or use another remote.',
        data,
      );
    if (name === 'QuotaExceeded' || name === 'XMinioStorageFull' || name === 'StorageFull')
      return remoteError(
        'remote-full',
        remote,
        `${remote} is full (${name}).`,
        'Free some space or raise the quota there, then run the command again.',
        data,
      );
    if (isUnreachable(error))
      return remoteError(
        'remote-unreachable',
        remote,
        `Cannot reach ${remote}: ${said}.`,
        'Check the network and the endpoint, then run the command again.',
        data,
      );
    return remoteError(
      'remote-failed',
      remote,
      `${remote} failed: ${name}: ${said}`,
      'Run the command again.',
      data,
    );
  }
}

const AUTH_FAILURES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'CredentialsProviderError',
]);

const NETWORK_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
]);

function errorName(error: unknown): string {
  return (error as { name?: string } | undefined)?.name ?? 'Error';
}

function isNotFound(error: unknown): boolean {
  const name = errorName(error);
  return name === 'NotFound' || name === 'NoSuchKey';
}

function isUnreachable(error: unknown): boolean {
  const errno = (error as NodeJS.ErrnoException).code;
  const name = errorName(error);
  return (
    (errno !== undefined && NETWORK_ERRNOS.has(errno)) ||
    name === 'TimeoutError' ||
    name === 'RequestTimeout' ||
    (error instanceof Error && /socket hang up|premature close|aborted/i.test(error.message))
  );
}

/** Worth sending a part again: the network, or the server's 5xx. */
function isTransient(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return isUnreachable(error) || (status !== undefined && status >= 500);
}

/** A function, not a property test, so that TypeScript does not keep a narrowing across awaits. */
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/** The SDK's per-request options that stop it on `signal`. */
function abortable(signal: AbortSignal | undefined): { abortSignal?: AbortSignal } {
  return signal === undefined ? {} : { abortSignal: signal };
}

/** Counts the bytes that pass, as they pass. */
function counter(onBytes: (bytes: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      onBytes(chunk.length);
      done(null, chunk);
    },
  });
}

/**
 * Feeds a part's bytes to the digest of the whole file as they stream
 * (chunks of later parts wait there, within its window, for the earlier
 * ones). A retry of the part sends its bytes again; only those past what
 * the first attempts hashed are hashed.
 */
function hashedInOrder(digest: OrderedDigest, partStart: number, index: number, hashed: number[]): Transform {
  let offset = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const at = offset;
      offset += chunk.length;
      const fresh = at + chunk.length - hashed[index]!;
      if (fresh <= 0) {
        done(null, chunk);
        return;
      }
      const part = chunk.subarray(chunk.length - fresh);
      hashed[index] = offset;
      digest.add(partStart + offset - fresh, part, false).then(
        () => {
          done(null, chunk);
        },
        (error: unknown) => {
          done(error as Error);
        },
      );
    },
  });
}

/** The MD5 of `length` bytes of a file from `start` (what S3 names a part by), feeding `hash` the same bytes. */
async function hashRange(path: string, start: number, length: number, hash: Hash): Promise<string> {
  const md5 = createHash('md5');
  if (length > 0)
    for await (const chunk of createReadStream(path, {
      start,
      end: start + length - 1,
      highWaterMark: MiB,
    })) {
      md5.update(chunk as Buffer);
      hash.update(chunk as Buffer);
    }
  return md5.digest('hex');
}

function sha256Of(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** `length` bytes of a put's source from `start`, as a request body; `onProgress` gets the bytes read so far. */
function bodyOf(
  source: PutSource,
  start: number,
  length: number,
  onProgress: (bytes: number) => void,
  request: AbortController,
  through?: Transform,
): Uint8Array | Readable {
  if ('bytes' in source) return source.bytes.subarray(start, start + length);
  if (length === 0) return new Uint8Array(0);
  let read = 0;
  const file = createReadStream(source.path, { start, end: start + length - 1, highWaterMark: 256 * 1024 });
  const counted = counter((bytes) => {
    read += bytes;
    onProgress(read);
  });
  // The SDK listens to no error of a request's body: each one ends the request instead (its reason is the failure).
  const stop = (error: unknown): void => {
    if (!request.signal.aborted) request.abort(error);
    file.destroy();
  };
  file.on('error', (error) => {
    stop(localFailure(error, source.path));
  });
  counted.on('error', stop);
  const body = file.pipe(counted);
  if (!through) return body;
  through.on('error', stop);
  return body.pipe(through);
}

/** A request's own abort controller, also aborted by `signal`: a body that fails aborts only its request. */
function requestController(signal: AbortSignal | undefined): {
  controller: AbortController;
  signal: AbortSignal;
} {
  const controller = new AbortController();
  return { controller, signal: signal ? AbortSignal.any([signal, controller.signal]) : controller.signal };
}

/** Why a request's body stopped it, when it did (a local read error, bytes that hash wrong). */
function bodyFailure(controller: AbortController, signal: AbortSignal | undefined): SluiceError | undefined {
  if (isAborted(signal) || !controller.signal.aborted) return undefined;
  const reason: unknown = controller.signal.reason;
  return reason instanceof SluiceError ? reason : undefined;
}

/** A failure on this machine's side (the file being sent or received), named as such. */
function localFailure(error: unknown, path: string): unknown {
  if (error instanceof Error && (error as NodeJS.ErrnoException).path === undefined)
    Object.assign(error, { path });
  return fromSystemError(error) ?? error;
}
