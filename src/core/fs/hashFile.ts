// The sha256 of a file's bytes, read in 1 MiB pieces (never the whole file in memory).
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';

export function hashFile(path: string): string {
  const digest = createHash('sha256');
  const buffer = Buffer.allocUnsafe(1 << 20);
  const descriptor = openSync(path, 'r');
  try {
    for (;;) {
      const read = readSync(descriptor, buffer, 0, buffer.length, null);
      if (read === 0) break;
      digest.update(buffer.subarray(0, read));
    }
  } finally {
    closeSync(descriptor);
  }
  return digest.digest('hex');
}
