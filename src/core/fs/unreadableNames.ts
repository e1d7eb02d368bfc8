// File names that are not valid UTF-8. Snapshots, listings and fingerprints
// keep names as text; Node reads such a name with U+FFFD in place of its bad
// bytes, a path that does not exist, so the file would drop out of a snapshot
// (and a restore, a diff) without a word. Sluice refuses them instead, naming
// the file with its bad bytes escaped so the name prints.
import { readdirSync } from 'node:fs';
import { SluiceError } from '../errors';
import { UNREADABLE_NAME } from './folderReads';

/**
 * A refusal to record a file whose name is not valid UTF-8: snapshots keep
 * names as text, and leaving it out would lose it without a word.
 */
export function unreadableName(printable: string): SluiceError {
  return new SluiceError(
    `Cannot record ${printable}: its name is not valid UTF-8.`,
    'failed',
    'Rename it (for example with `convmv` or `mv`) to a UTF-8 name, then run the command again.',
    { code: UNREADABLE_NAME, data: { path: printable } },
  );
}

/** The bytes of a file name as text that prints: valid UTF-8 as it is, any other byte as \xNN. */
export function printableName(bytes: Uint8Array): string {
  let text = '';
  for (let at = 0; at < bytes.length;) {
    const lead = bytes[at]!;
    const length = lead < 0x80 ? 1 : lead >= 0xc2 && lead < 0xe0 ? 2 : lead >= 0xe0 && lead < 0xf0 ? 3 : 4;
    const piece = Buffer.from(bytes.subarray(at, at + length));
    const decoded = piece.toString('utf8');
    const valid = lead < 0xf5 && piece.length === length && Buffer.from(decoded).equals(piece);
    if (valid && lead >= 0x20 && lead !== 0x7f && lead !== 0x5c) {
      text += decoded;
      at += length;
    } else {
      text += lead === 0x5c ? '\\\\' : `\\x${lead.toString(16).padStart(2, '0')}`;
      at += 1;
    }
  }
  return text;
}

/**
 * The raw name of the first entry of folder `dir` that is not valid UTF-8,
 * given its `names` as Node read them (only a folder where one holds U+FFFD
 * is read again, as bytes).
 */
export function findUnreadableName(dir: string, names: readonly string[]): Uint8Array | undefined {
  if (!names.some((name) => name.includes('\ufffd'))) return undefined;
  for (const raw of readdirSync(dir, { encoding: 'buffer' }))
    if (!Buffer.from(raw.toString('utf8')).equals(raw)) return raw;
  return undefined;
}
