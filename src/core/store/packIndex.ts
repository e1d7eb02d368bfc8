// The index of a pack: many small blobs stored one after another in one file,
// and beside it the list of each blob's hash, offset and length. Remotes keep
// small blobs in packs so 100,000 files cost a few requests; the local cache
// keeps what arrived in packs as packs, so a pull does not create a file per
// blob twice (once in the cache, once in the workspace). A pack's name is the
// sha256 of its index: a pack and its index never change once written.
import { createHash } from 'node:crypto';

const INDEX_MAGIC = Buffer.from('SLUICE-PACK-INDEX-1\n', 'latin1');
/** sha256 (32 bytes), offset and length (8 bytes each) per blob. */
const ENTRY_BYTES = 48;

export interface PackEntry {
  readonly hash: string;
  readonly offset: number;
  readonly length: number;
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

/** The entries of an index, or undefined when it is not a well-formed index (the caller names where). */
export function decodeIndex(index: Uint8Array): PackEntry[] | undefined {
  const bytes = Buffer.from(index.buffer, index.byteOffset, index.byteLength);
  const header = INDEX_MAGIC.length + 4;
  const count = bytes.length >= header ? bytes.readUInt32BE(INDEX_MAGIC.length) : -1;
  if (
    bytes.length < header ||
    !bytes.subarray(0, INDEX_MAGIC.length).equals(INDEX_MAGIC) ||
    bytes.length !== header + count * ENTRY_BYTES
  )
    return undefined;
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

/** A pack's name: the sha256 of its index. */
export function packName(index: Uint8Array): string {
  return createHash('sha256').update(index).digest('hex');
}
