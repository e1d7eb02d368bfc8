// A blob remote's layout, on top of a transport:
//
//   sluice-remote.json        marks the remote as Sluice's (written by the first push)
//   packs/<name>.pack         small blobs, one after another (packs.ts)
//   packs/<name>.idx          the pack's index, uploaded after the pack
//   blobs/<ab>/<cdef…>        each large blob alone
//   runs/<signature>.json     run-cache entries (what a stage's successful run produced)
//
// Knows blobs and run entries by hash and signature only; which ones a push
// or a pull needs is decided above (operations/sync/). Every blob that
// arrives is hashed before it enters the local store: a wrong or truncated
// blob is refused, named, and not kept.
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { CancelledError, SluiceError } from '../errors';
import { writeFileAtomic } from '../fs/atomicWrite';
import { LocalPacks, type StagedPack } from '../store/localPacks';
import { damagedBlob, type ObjectStore } from '../store/objectStore';
import {
  contiguousRuns,
  decodeIndex,
  packName,
  planPacks,
  encodeIndex,
  writePack,
  PACKED_BELOW,
  type BlobSize,
  type PackEntry,
} from './packs';
import { runLanes, type Transport } from './transport/transport';

const MARKER = 'sluice-remote.json';
const MARKER_CONTENT = `${JSON.stringify({ format: 'sluice-remote 1' })}\n`;

/** Where one blob is on the remote. */
export type BlobPlace =
  | { readonly kind: 'packed'; readonly pack: string; readonly offset: number; readonly length: number }
  | { readonly kind: 'alone'; readonly size: number };

export interface Inventory {
  /** Whether anyone ever pushed to this remote. */
  readonly initialized: boolean;
  readonly blobs: ReadonlyMap<string, BlobPlace>;
  /** Run-cache signatures on the remote. */
  readonly runs: ReadonlySet<string>;
  /** Packs whose index is there, with their size. */
  readonly packs: ReadonlyMap<string, number>;
}

export interface Progress {
  /** What is moving, in words, with counts so far. */
  (done: { readonly blobs: number; readonly bytes: number }): void;
}

export interface TransferTotals {
  readonly blobs: number;
  readonly bytes: number;
  /** Remote objects written or read (packs, large blobs, run entries). */
  readonly requests: number;
}

const LANES = 4;
/**
 * Blobs that arrive together from one pack stay packed in the cache from this
 * many on (store/localPacks.ts): one file instead of a file per blob. Fewer
 * become files of their own, so a fetch of a few blobs leaves no small packs.
 */
const PACK_LOCALLY_FROM = 16;
/**
 * Bytes of a pack asked for at once: a lane holds one range in memory while
 * it checks and stores it, so four lanes hold at most four of these, however
 * large the data.
 */
const RANGE_BYTES = 4 << 20;

export class RemoteBlobs {
  constructor(
    readonly transport: Transport,
    /** A local folder for what this remote's packs say (indexes are immutable, so they are kept). */
    readonly cacheDirectory: string,
  ) {}

  get display(): string {
    return this.transport.display;
  }

  /** What the remote holds: one listing of packs, blobs and runs, and the indexes not read before. */
  async inventory(signal?: AbortSignal): Promise<Inventory> {
    const initialized = (await this.transport.stat(MARKER)) !== undefined;
    const blobs = new Map<string, BlobPlace>();
    const runs = new Set<string>();
    const packs = new Map<string, number>();
    if (!initialized) return { initialized, blobs, runs, packs };
    const packSizes = new Map<string, number>();
    const indexes: string[] = [];
    for await (const { key, size } of this.transport.list('packs/')) {
      const match = /^packs\/([0-9a-f]{64})\.(pack|idx)$/.exec(key);
      if (!match) continue;
      if (match[2] === 'pack') packSizes.set(match[1]!, size);
      else indexes.push(match[1]!);
    }
    for await (const { key, size } of this.transport.list('blobs/')) {
      const match = /^blobs\/([0-9a-f]{2})\/([0-9a-f]{62})$/.exec(key);
      if (match) blobs.set(match[1]! + match[2]!, { kind: 'alone', size });
    }
    for await (const { key } of this.transport.list('runs/')) {
      const match = /^runs\/([0-9a-f]{64})\.json$/.exec(key);
      if (match) runs.add(match[1]!);
    }
    const names = indexes.filter((name) => packSizes.has(name));
    const indexFolder = join(this.cacheDirectory, 'packs');
    mkdirSync(indexFolder, { recursive: true });
    const unread = names.filter((name) => !isFile(join(indexFolder, `${name}.idx`)));
    await runLanes(LANES, async (stopped) => {
      while (!stopped() && unread.length > 0) {
        if (signal?.aborted) throw new CancelledError('Reading the remote');
        const name = unread.pop()!;
        const key = `packs/${name}.idx`;
        const size = (await this.transport.stat(key))?.size ?? 0;
        const bytes = await this.transport.getRange(key, 0, size);
        // An index is named by its own digest: a damaged one is refused here and never cached.
        if (packName(bytes) !== name) decodeIndex(new Uint8Array(0), key);
        writeFileAtomic(join(indexFolder, `${name}.idx`), Buffer.from(bytes));
      }
    });
    for (const name of names) {
      const entries = decodeIndex(readFileSync(join(indexFolder, `${name}.idx`)), `packs/${name}.idx`);
      packs.set(name, packSizes.get(name)!);
      for (const entry of entries)
        if (!blobs.has(entry.hash))
          blobs.set(entry.hash, { kind: 'packed', pack: name, offset: entry.offset, length: entry.length });
    }
    return { initialized, blobs, runs, packs };
  }

  /**
   * Uploads the blobs of `hashes` the remote lacks (small ones in packs,
   * large ones alone), then marks the remote as Sluice's. An upload cut off
   * leaves only objects no index names; the next push sends what is still
   * missing. `recordedSizes` are the sizes the records give: a small blob
   * among them is read only when it is packed (and a missing one named
   * then, before any ref moves); the others are looked up in the cache.
   */
  async upload(
    store: ObjectStore,
    hashes: Iterable<string>,
    recordedSizes: ReadonlyMap<string, number>,
    inventory: Inventory,
    options: { readonly signal?: AbortSignal | undefined; readonly progress?: Progress } = {},
  ): Promise<TransferTotals> {
    const missing: BlobSize[] = [];
    for (const hash of new Set(hashes)) {
      if (inventory.blobs.has(hash)) continue;
      const recorded = recordedSizes.get(hash);
      const size = recorded !== undefined && recorded < PACKED_BELOW ? recorded : store.sizeOf(hash);
      if (size === undefined) {
        throw new SluiceError(
          `Cannot push blob ${hash}: it is not in this machine's cache.`,
          'failed',
          'Run `sluice fsck` to see what is missing, and `sluice fetch` from a remote that has it.',
          { code: 'missing-blob', data: { hash } },
        );
      }
      missing.push({ hash, size });
    }
    if (!inventory.initialized) await this.transport.put(MARKER, { bytes: Buffer.from(MARKER_CONTENT) });
    const large = missing.filter((blob) => blob.size >= PACKED_BELOW);
    const packs = planPacks(missing.filter((blob) => blob.size < PACKED_BELOW));
    const done = { blobs: 0, bytes: 0 };
    let requests = 0;
    const report = (blobs: number, bytes: number): void => {
      done.blobs += blobs;
      done.bytes += bytes;
      options.progress?.(done);
    };
    const scratch = store.scratchFolder();
    await runLanes(LANES, async (stopped) => {
      for (;;) {
        if (stopped()) return;
        if (options.signal?.aborted) throw new CancelledError('Push');
        const blob = large.pop();
        if (blob) {
          // Hashed on the way out, like every byte that leaves the cache, in the pass that sends it:
          // the remote keeps it only if it hashes to its name. A push cut off resumes inside it.
          const file = store.pathOf(blob.hash);
          let moved = 0;
          await this.transport.put(
            blobKey(blob.hash),
            { path: file },
            {
              ...withSignal(options.signal),
              resumable: true,
              verify: {
                algorithm: 'sha256',
                expected: blob.hash,
                onMismatch: () => damagedBlob(blob.hash, file),
              },
              onProgress: (bytes) => {
                report(0, bytes - moved);
                moved = bytes;
              },
            },
          );
          requests++;
          report(1, 0);
          continue;
        }
        const pack = packs.pop();
        if (!pack) return;
        const path = join(scratch, `pack-${process.pid}-${Math.random().toString(16).slice(2)}`);
        try {
          const index = writePack(store, pack, path);
          const name = packName(index);
          await this.transport.put(`packs/${name}.pack`, { path }, withSignal(options.signal));
          await this.transport.put(`packs/${name}.idx`, { bytes: index }, withSignal(options.signal));
          requests += 2;
          report(
            pack.length,
            pack.reduce((sum, blob) => sum + blob.size, 0),
          );
        } finally {
          rmSync(path, { force: true });
        }
      }
    });
    return { blobs: done.blobs, bytes: done.bytes, requests };
  }

  /**
   * Downloads the blobs of `hashes` the local store lacks into it, each hashed
   * before it is kept. A blob the remote does not have is an error naming it
   * (the caller says which record needs it).
   */
  async download(
    store: ObjectStore,
    hashes: Iterable<string>,
    inventory: Inventory,
    options: { readonly signal?: AbortSignal | undefined; readonly progress?: Progress } = {},
  ): Promise<TransferTotals & { readonly absent: readonly string[] }> {
    const absent: string[] = [];
    const alone: { hash: string; size: number }[] = [];
    const byPack = new Map<string, { hash: string; offset: number; length: number }[]>();
    for (const hash of store.lacking(new Set(hashes))) {
      const place = inventory.blobs.get(hash);
      if (!place) absent.push(hash);
      else if (place.kind === 'alone') alone.push({ hash, size: place.size });
      else {
        const list = byPack.get(place.pack) ?? [];
        list.push({ hash, offset: place.offset, length: place.length });
        byPack.set(place.pack, list);
      }
    }
    const done = { blobs: 0, bytes: 0 };
    let requests = 0;
    const report = (blobs: number, bytes: number): void => {
      done.blobs += blobs;
      done.bytes += bytes;
      options.progress?.(done);
    };
    const pending: { temporary: string; hash: string }[] = [];
    const staged: StagedPack[] = [];
    const work: (() => Promise<void>)[] = [];
    for (const blob of alone) {
      work.push(async () => {
        const temporary = store.temporaryPath();
        const key = blobKey(blob.hash);
        let moved = 0;
        try {
          // Hashed as it lands and kept only if it hashes to its name; a fetch cut off resumes inside it.
          await this.transport.get(key, temporary, {
            ...withSignal(options.signal),
            partial: join(store.scratchFolder(), 'fetch', blob.hash),
            verify: {
              algorithm: 'sha256',
              expected: blob.hash,
              onMismatch: () => wrongBlob(this.display, key, blob.hash),
            },
            onProgress: (bytes) => {
              report(0, bytes - moved);
              moved = bytes;
            },
          });
          requests++;
          pending.push({ temporary, hash: blob.hash });
          report(1, 0);
        } catch (error) {
          rmSync(temporary, { force: true });
          throw error;
        }
      });
    }
    for (const [pack, entries] of byPack) {
      const packSize = inventory.packs.get(pack) ?? 0;
      const wanted = entries.reduce((sum, entry) => sum + entry.length, 0);
      // Most of a pack wanted: one read of all of it; else one ranged read per run of neighbours.
      const runs = wanted * 2 >= packSize ? [entries] : contiguousRuns(entries);
      for (const run of runs.flatMap((whole) => boundedRuns(whole, RANGE_BYTES))) {
        work.push(async () => {
          const start = Math.min(...run.map((entry) => entry.offset));
          const end = Math.max(...run.map((entry) => entry.offset + entry.length));
          const key = `packs/${pack}.pack`;
          const bytes = await this.transport.getRange(key, start, end);
          requests++;
          if (bytes.length !== end - start) throw wrongBlob(this.display, key, run[0]!.hash);
          const arrived: { hash: string; bytes: Uint8Array }[] = [];
          for (const entry of run) {
            const slice = bytes.subarray(entry.offset - start, entry.offset - start + entry.length);
            if (createHash('sha256').update(slice).digest('hex') !== entry.hash)
              throw wrongBlob(this.display, key, entry.hash);
            arrived.push({ hash: entry.hash, bytes: slice });
          }
          if (arrived.length >= PACK_LOCALLY_FROM) {
            staged.push(LocalPacks.stage(arrived, store.scratchFolder()));
          } else {
            for (const blob of arrived) {
              const temporary = store.temporaryPath();
              writeFileSync(temporary, blob.bytes, { mode: 0o644 });
              pending.push({ temporary, hash: blob.hash });
            }
          }
          report(run.length, end - start);
        });
      }
    }
    try {
      await runLanes(LANES, async (stopped) => {
        while (!stopped()) {
          if (options.signal?.aborted) throw new CancelledError('Fetch');
          const next = work.pop();
          if (!next) return;
          await next();
        }
      });
      // One flush of the file system for every blob and pack that arrived, then each is renamed into place.
      await store.adoptDurably(pending, () => Promise.resolve(), staged);
    } catch (error) {
      for (const { temporary } of pending) rmSync(temporary, { force: true });
      for (const pack of staged) {
        rmSync(pack.packTemporary, { force: true });
        rmSync(pack.indexTemporary, { force: true });
      }
      throw error;
    }
    return { blobs: done.blobs, bytes: done.bytes, requests, absent };
  }

  /** Uploads run-cache entries (signature → file) the remote lacks; returns how many went. */
  async uploadRuns(entries: ReadonlyMap<string, string>, inventory: Inventory): Promise<number> {
    const missing = [...entries].filter(([signature]) => !inventory.runs.has(signature));
    const sent = missing.length;
    await runLanes(LANES, async (stopped) => {
      while (!stopped()) {
        const next = missing.pop();
        if (!next) return;
        await this.transport.put(`runs/${next[0]}.json`, { path: next[1] });
      }
    });
    return sent;
  }

  /** Downloads run-cache entries into `write(signature, bytes)`, for the signatures given. */
  async downloadRuns(
    signatures: readonly string[],
    write: (signature: string, bytes: Uint8Array) => void,
  ): Promise<void> {
    const queue = [...signatures];
    await runLanes(LANES, async (stopped) => {
      while (!stopped()) {
        const signature = queue.pop();
        if (signature === undefined) return;
        const key = `runs/${signature}.json`;
        const size = (await this.transport.stat(key))?.size;
        if (size === undefined) continue;
        write(signature, await this.transport.getRange(key, 0, size));
      }
    });
  }
}

/** Objects gc found unreachable, each with when it first did: deleted only if still unreachable later (remoteGc.ts). */
export type GcMarks = Readonly<Record<string, string>>;

const PENDING = 'gc-pending.json';

export class RemoteMaintenance {
  constructor(private readonly remote: RemoteBlobs) {}

  /** Every key on the remote, what interrupted puts left included. */
  async keys(): Promise<{ readonly key: string; readonly size: number }[]> {
    const found: { key: string; size: number }[] = [];
    for await (const entry of this.remote.transport.list('', { includeTemporary: true })) found.push(entry);
    return found;
  }

  /** A pack's entries, from the index inventory() cached. */
  entries(pack: string): PackEntry[] {
    return decodeIndex(
      readFileSync(join(this.remote.cacheDirectory, 'packs', `${pack}.idx`)),
      `packs/${pack}.idx`,
    );
  }

  /**
   * Writes a new pack of `keep` (entries of `pack`), read from the remote by
   * ranges and hashed on the way, uploads it and its index, and returns its
   * name. The old pack stays until its caller removes it.
   */
  async repack(pack: string, keep: readonly PackEntry[], scratch: string): Promise<string> {
    const path = join(scratch, `repack-${process.pid}-${randomBytes(6).toString('hex')}`);
    const entries: PackEntry[] = [];
    const output = openSync(path, 'wx', 0o600);
    try {
      let offset = 0;
      for (const run of contiguousRuns(keep)) {
        const start = run[0]!.offset;
        const end = Math.max(...run.map((entry) => entry.offset + entry.length));
        const bytes = await this.remote.transport.getRange(`packs/${pack}.pack`, start, end);
        for (const entry of run) {
          const slice = bytes.subarray(entry.offset - start, entry.offset - start + entry.length);
          if (
            slice.length !== entry.length ||
            createHash('sha256').update(slice).digest('hex') !== entry.hash
          )
            throw wrongBlob(this.remote.display, `packs/${pack}.pack`, entry.hash);
          writeSync(output, slice);
          entries.push({ hash: entry.hash, offset, length: entry.length });
          offset += entry.length;
        }
      }
    } finally {
      closeSync(output);
    }
    try {
      const index = encodeIndex(entries);
      const name = packName(index);
      await this.remote.transport.put(`packs/${name}.pack`, { path });
      await this.remote.transport.put(`packs/${name}.idx`, { bytes: index });
      return name;
    } finally {
      rmSync(path, { force: true });
    }
  }

  async remove(keys: readonly string[]): Promise<void> {
    const queue = [...keys];
    await runLanes(LANES, async (stopped) => {
      while (!stopped()) {
        const key = queue.shift();
        if (key === undefined) return;
        await this.remote.transport.delete(key);
      }
    });
  }

  async readMarks(): Promise<GcMarks> {
    const size = (await this.remote.transport.stat(PENDING))?.size;
    if (size === undefined) return {};
    try {
      const marks = JSON.parse(
        Buffer.from(await this.remote.transport.getRange(PENDING, 0, size)).toString('utf8'),
      ) as unknown;
      return typeof marks === 'object' && marks !== null && !Array.isArray(marks) ? (marks as GcMarks) : {};
    } catch {
      return {}; // unreadable marks only delay deletion
    }
  }

  async writeMarks(marks: GcMarks): Promise<void> {
    if (Object.keys(marks).length === 0) await this.remote.transport.delete(PENDING);
    else await this.remote.transport.put(PENDING, { bytes: Buffer.from(`${JSON.stringify(marks)}\n`) });
  }
}

/** A run of pack entries cut, at entry boundaries, into runs spanning at most `bytes` each. */
function boundedRuns<T extends { readonly offset: number; readonly length: number }>(
  run: readonly T[],
  bytes: number,
): T[][] {
  const sorted = [...run].sort((a, b) => a.offset - b.offset);
  const cut: T[][] = [];
  let current: T[] = [];
  for (const entry of sorted) {
    if (current.length > 0 && entry.offset + entry.length - current[0]!.offset > bytes) {
      cut.push(current);
      current = [];
    }
    current.push(entry);
  }
  if (current.length > 0) cut.push(current);
  return cut;
}

export function blobKey(hash: string): string {
  return `blobs/${hash.slice(0, 2)}/${hash.slice(2)}`;
}

function withSignal(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal ? { signal } : {};
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function wrongBlob(remote: string, key: string, hash: string): SluiceError {
  return new SluiceError(
    `The remote ${remote} sent bytes for blob ${hash} (${key}) that do not hash to it: damaged or truncated on the remote. Nothing of it was kept.`,
    'failed',
    'Push the data again from a machine that has it intact, then fetch again.',
    { code: 'remote-damaged', data: { remote, key, hash } },
  );
}
