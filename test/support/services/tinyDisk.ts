// A small disk for "the remote is full" tests: a tmpfs of a few MiB mounted
// in a private mount namespace (`unshare --mount`) held open by a sleeping
// child of ours, so the mount is seen by no other process on the machine and
// vanishes with that child. The folder is reached through
// /proc/PID/root/…, which resolves paths in that process's namespace; a
// folder remote and the SSH server (which runs as root) both write there.
// Needs root, as CI has; stopped by the pid we spawned.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const TMPFS_MAGIC = 0x01021994;

export interface TinyDisk {
  /** The mounted folder, as this process (or any root process) reaches it. */
  readonly path: string;
  readonly pid: number;
  stop(): Promise<void>;
}

export async function startTinyDisk(bytes: number): Promise<TinyDisk> {
  const mountPoint = mkdtempSync(join(tmpdir(), 'sluice-tiny-disk-'));
  const child = spawn(
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      'mount -t tmpfs -o "size=$1" tmpfs "$2" && exec sleep 3600',
      'sh',
      String(bytes),
      mountPoint,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let said = '';
  child.stderr.on('data', (chunk: Buffer) => (said += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) =>
    child.once('close', () => {
      resolve();
    }),
  );
  const holder = { gone: false };
  void exited.then(() => (holder.gone = true));
  const path = `/proc/${child.pid!}/root${mountPoint}`;
  const stop = async (): Promise<void> => {
    try {
      process.kill(child.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
    await exited;
    rmSync(mountPoint, { recursive: true, force: true });
  };
  for (const deadline = Date.now() + 10_000; Date.now() < deadline && !holder.gone;) {
    try {
      if (statfsSync(path).type === TMPFS_MAGIC) return { path, pid: child.pid!, stop };
    } catch {
      // Not there yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await stop();
  throw new Error(
    `Could not mount a ${bytes}-byte tmpfs in a private namespace (unshare --mount, which needs root): ${said.trim() || 'no word from it'}`,
  );
}
