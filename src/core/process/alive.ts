import { readFileSync } from 'node:fs';

// Whether a process recorded as the owner of something (a lock, a worktree, a
// queue, a half-written record) still runs. Signal 0 only asks; EPERM means it
// runs as someone else.
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * When a process started, as the kernel counts it (clock ticks since boot,
 * /proc/PID/stat field 22); undefined where there is no /proc. A pid written
 * in a lock may belong to another process after a reboot or a wrap: a start
 * time that differs says the owner is gone.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
