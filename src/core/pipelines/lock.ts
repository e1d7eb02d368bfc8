// One `sluice run` at a time per workspace: two runners writing the same
// outputs would each capture the other's half-written files. The lock is a
// file created exclusively, holding the owner's pid; a lock whose owner is
// dead (a crash, SIGKILL) is taken over.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { SluiceError } from '../errors';
import { processAlive } from '../process/alive';

export class RunLock {
  private constructor(private readonly file: string) {}

  static acquire(file: string): RunLock {
    mkdirSync(dirname(file), { recursive: true });
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        writeFileSync(file, String(process.pid), { flag: 'wx' });
        return new RunLock(file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
          // 'wx' made the file before the write failed (a full disk): it is no lock. A failed
          // write on a descriptor names no path; the user is told which file.
          rmSync(file, { force: true });
          const failure = error as NodeJS.ErrnoException;
          throw failure.path === undefined ? Object.assign(failure, { path: file }) : failure;
        }
      }
      const owner = Number(readText(file));
      if (Number.isInteger(owner) && owner > 0 && processAlive(owner)) {
        throw new SluiceError(
          `Another sluice run (process ${owner}) is running in this workspace.`,
          'conflict',
          'Wait for it to finish, or stop it, then run again.',
        );
      }
      rmSync(file, { force: true }); // its owner died; the next attempt takes it
    }
    throw new SluiceError(
      'Could not take the run lock of this workspace.',
      'conflict',
      `Remove ${file} if no sluice runs.`,
    );
  }

  release(): void {
    if (readText(this.file) === String(process.pid)) rmSync(this.file, { force: true });
  }
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}
