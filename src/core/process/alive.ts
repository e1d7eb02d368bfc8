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
