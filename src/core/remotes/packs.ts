// Packs: many small blobs in one remote object, so 100,000 small files cost a
// few requests instead of 100,000. A pack is the blobs' bytes one after
// another; its index (a separate, small object) lists each blob's hash,
// offset and length. The pack's name is the sha256 of its index, so a pack
// and its index never change once written, and the index is uploaded only
// after its pack: an index on the remote always describes a complete pack.
import { closeSync, openSync, writeSync, writevSync } from 'node:fs';
import { SluiceError } from '../errors';
import type { ObjectStore } from '../store/objectStore';
import { decodeIndex as decodeIndexBytes, encodeIndex, type PackEntry } from '../store/packIndex';

/** Blobs smaller than this travel in packs; larger ones travel alone, streamed. */
export const PACKED_BELOW = 1 << 20;
/** About how many bytes of blobs go in one pack. */
export const PACK_TARGET_BYTES = 16 << 20;

export type { PackEntry } from '../store/packIndex';
export { encodeIndex, packName } from '../store/packIndex';

export interface BlobSize {
  readonly hash: string;
  readonly size: number;
}

/** The entries of a remote pack's index; `name` says which object in the error when it is damaged. */
export function decodeIndex(index: Uint8Array, name: string): PackEntry[] {
  const entries = decodeIndexBytes(index);
  if (entries === undefined)
    throw new SluiceError(`The pack index ${name} on the remote is damaged.`, 'failed', damagedRemoteHint, {
      code: 'remote-damaged',
      data: { key: name },
    });
  return entries;
}

const damagedRemoteHint =
  'Push again from a machine that has the data: the damaged object is replaced by a new pack; `sluice gc --remote` removes the old one.';

/** Splits blobs into packs of about PACK_TARGET_BYTES, in hash order (so two pushes of one set agree). */
export function planPacks(blobs: readonly BlobSize[]): BlobSize[][] {
  const sorted = [...blobs].sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
  const packs: BlobSize[][] = [];
  let current: BlobSize[] = [];
  let bytes = 0;
  for (const blob of sorted) {
    if (current.length > 0 && bytes + blob.size > PACK_TARGET_BYTES) {
      packs.push(current);
      current = [];
      bytes = 0;
    }
    current.push(blob);
    bytes += blob.size;
  }
  if (current.length > 0) packs.push(current);
  return packs;
}

/**
 * Writes the pack of `blobs` from the local store into the file `path` and
 * returns its index. Each blob is hashed as it is read: a damaged blob stops
 * the push here (naming it and `sluice fsck`) and never reaches a teammate.
 */
export function writePack(store: ObjectStore, blobs: readonly BlobSize[], path: string): Buffer {
  const entries: PackEntry[] = [];
  const output = openSync(path, 'wx', 0o600);
  try {
    // Gathered and written a few hundred at a time: one write call per blob cost 4 µs each.
    const gathered: Buffer[] = [];
    let gatheredBytes = 0;
    const flush = (): void => {
      writeAll(output, gathered, gatheredBytes);
      gathered.length = 0;
      gatheredBytes = 0;
    };
    let offset = 0;
    for (const { hash } of blobs) {
      const bytes = store.readVerified(hash);
      gathered.push(bytes);
      gatheredBytes += bytes.length;
      if (gathered.length >= WRITE_BATCH_BLOBS || gatheredBytes >= WRITE_BATCH_BYTES) flush();
      entries.push({ hash, offset, length: bytes.length });
      offset += bytes.length;
    }
    flush();
  } finally {
    closeSync(output);
  }
  return encodeIndex(entries);
}

/** At most this many buffers in one writev (IOV_MAX is 1,024 on Linux), */
const WRITE_BATCH_BLOBS = 512;
/** or this many bytes. */
const WRITE_BATCH_BYTES = 1 << 20;

/** Writes `buffers` (`total` bytes) one after another at the file's position, however few bytes each call takes. */
function writeAll(descriptor: number, buffers: readonly Buffer[], total: number): void {
  if (total === 0) return;
  let written = writevSync(descriptor, buffers);
  if (written === total) return;
  for (const buffer of buffers) {
    if (written >= buffer.length) {
      written -= buffer.length;
      continue;
    }
    for (let at = written; at < buffer.length;) at += writeSync(descriptor, buffer, at, buffer.length - at);
    written = 0;
  }
}

/** Runs of entries that lie next to each other in the pack, so one ranged read fetches each run. */
export function contiguousRuns(entries: readonly PackEntry[], maxGap = 64 << 10): PackEntry[][] {
  const sorted = [...entries].sort((a, b) => a.offset - b.offset);
  const runs: PackEntry[][] = [];
  for (const entry of sorted) {
    const run = runs[runs.length - 1];
    const last = run?.[run.length - 1];
    if (run && last && entry.offset - (last.offset + last.length) <= maxGap) run.push(entry);
    else runs.push([entry]);
  }
  return runs;
}
