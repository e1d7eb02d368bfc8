// Packs: many small blobs in one remote object, so 100,000 small files cost a
// few requests instead of 100,000. A pack is the blobs' bytes one after
// another; its index (a separate, small object) lists each blob's hash,
// offset and length. The pack's name is the sha256 of its index, so a pack
// and its index never change once written, and the index is uploaded only
// after its pack: an index on the remote always describes a complete pack.
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { SluiceError } from '../errors';
import { damagedBlob, type ObjectStore } from '../store/objectStore';

/** Blobs smaller than this travel in packs; larger ones travel alone, streamed. */
export const PACKED_BELOW = 1 << 20;
/** About how many bytes of blobs go in one pack. */
export const PACK_TARGET_BYTES = 16 << 20;

const INDEX_MAGIC = Buffer.from('SLUICE-PACK-INDEX-1\n', 'latin1');
/** sha256 (32 bytes), offset and length (8 bytes each) per blob. */
const ENTRY_BYTES = 48;

export interface PackEntry {
  readonly hash: string;
  readonly offset: number;
  readonly length: number;
}

export interface BlobSize {
  readonly hash: string;
  readonly size: number;
}

/** The index of a pack of `entries` (in pack order). */
export function encodeIndex(entries: readonly PackEntry[]): Buffer {
  const index = Buffer.alloc(INDEX_MAGIC.length + 4 + entries.length * ENTRY_BYTES);
  INDEX_MAGIC.copy(index, 0);
  index.writeUInt32BE(entries.length, INDEX_MAGIC.length);
  let at = INDEX_MAGIC.length + 4;
  for (const entry of entries) {
    index.write(entry.hash, at, 32, 'hex');
    index.writeBigUInt64BE(BigInt(entry.offset), at + 32);
    index.writeBigUInt64BE(BigInt(entry.length), at + 40);
    at += ENTRY_BYTES;
  }
  return index;
}

/** The entries of an index; `name` says which object in an error. */
export function decodeIndex(index: Uint8Array, name: string): PackEntry[] {
  const bytes = Buffer.from(index.buffer, index.byteOffset, index.byteLength);
  const header = INDEX_MAGIC.length + 4;
  const count = bytes.length >= header ? bytes.readUInt32BE(INDEX_MAGIC.length) : -1;
  if (
    bytes.length < header ||
    !bytes.subarray(0, INDEX_MAGIC.length).equals(INDEX_MAGIC) ||
    bytes.length !== header + count * ENTRY_BYTES
  ) {
    throw new SluiceError(`The pack index ${name} on the remote is damaged.`, 'failed', damagedRemoteHint, {
      code: 'remote-damaged',
      data: { key: name },
    });
  }
  const entries: PackEntry[] = [];
  for (let at = header; at < bytes.length; at += ENTRY_BYTES) {
    entries.push({
      hash: bytes.toString('hex', at, at + 32),
      offset: Number(bytes.readBigUInt64BE(at + 32)),
      length: Number(bytes.readBigUInt64BE(at + 40)),
    });
  }
  return entries;
}

const damagedRemoteHint =
  'Push again from a machine that has the data: the damaged object is replaced by a new pack; `sluice gc --remote` removes the old one.';

/** A pack's name: the sha256 of its index. */
export function packName(index: Uint8Array): string {
  return createHash('sha256').update(index).digest('hex');
}

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
    let offset = 0;
    for (const { hash } of blobs) {
      const file = store.pathOf(hash);
      const bytes = readFileSync(file);
      if (createHash('sha256').update(bytes).digest('hex') !== hash) throw damagedBlob(hash, file);
      for (let written = 0; written < bytes.length;)
        written += writeSync(output, bytes, written, bytes.length - written);
      entries.push({ hash, offset, length: bytes.length });
      offset += bytes.length;
    }
  } finally {
    closeSync(output);
  }
  return encodeIndex(entries);
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
