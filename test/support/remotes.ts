// Helpers for the remote tests: files of random bytes made without raising
// this process's memory, a sampler of that memory, a look at a remote folder
// behind the transport's back, and a folder that even root cannot write.
import { spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { chmodSync, createReadStream, readdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export const MiB = 1024 * 1024;

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/**
 * A file of random bytes and its sha256, written through one reused buffer:
 * making it must not raise this process's memory, which the transfer after
 * it is measured against.
 */
export async function randomFile(path: string, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  const file = await open(path, 'w');
  const buffer = Buffer.allocUnsafe(MiB);
  for (let written = 0; written < bytes; written += MiB) {
    const chunk = randomFillSync(buffer).subarray(0, Math.min(MiB, bytes - written));
    hash.update(chunk);
    await file.write(chunk);
  }
  await file.close();
  return hash.digest('hex');
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Runs `work` while sampling this process's RSS every 5 ms; returns how far
 * it rose above where it started. Every 50 ms the garbage is collected: V8
 * frees dead Buffers lazily, letting tens of MiB of them pile up before it
 * looks, and that would measure the collector's patience rather than what a
 * transfer holds. What a transfer holds on to (a buffered copy of the file)
 * still shows in full: the test checks that a readFile does.
 */
export async function rssGrowth(work: () => Promise<void>): Promise<number> {
  // Dead Buffers' memory goes back a moment after a collection, on another thread: let it settle.
  collectGarbage();
  await new Promise((resolve) => setTimeout(resolve, 100));
  collectGarbage();
  await new Promise((resolve) => setTimeout(resolve, 100));
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  let samples = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
    if (++samples % 10 === 0) collectGarbage();
  }, 5);
  try {
    await work();
  } finally {
    clearInterval(sampler);
  }
  return Math.max(peak, process.memoryUsage.rss()) - baseline;
}

/** Keys under `base` on this machine's disk, temporary leftovers included. */
export function filesUnder(base: string, folder = ''): string[] {
  return readdirSync(join(base, folder), { withFileTypes: true }).flatMap((entry) => {
    const key = folder === '' ? entry.name : `${folder}/${entry.name}`;
    return entry.isDirectory() ? filesUnder(base, key) : [key];
  });
}

/**
 * Makes a folder unwritable: immutable for root (whom permission bits do not
 * stop; CI runs as root), mode 555 for anyone else. Returns the undo.
 */
export function makeReadOnly(folder: string): () => void {
  if (process.getuid?.() !== 0) {
    chmodSync(folder, 0o555);
    return () => {
      chmodSync(folder, 0o755);
    };
  }
  const made = spawnSync('chattr', ['+i', folder], { encoding: 'utf8' });
  if (made.status !== 0)
    throw new Error(
      `chattr +i ${folder} failed (${made.stderr.trim() || made.error?.message}): the read-only tests need a ` +
        'file system with immutable folders (ext4, xfs, btrfs) for root.',
    );
  return () => spawnSync('chattr', ['-i', folder]);
}
