// One owner at a time: one `sluice run` per workspace (two runners writing the
// same outputs would each capture the other's half-written files), one
// `sluice monitor` per environment. The lock is a file created exclusively,
// holding the owner's pid and start time; a lock whose owner is dead (a crash,
// SIGKILL) or whose pid now names another process is taken over.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { SluiceError } from '../errors';
import { processAlive, processStartTime } from '../process/alive';

/** Who holds a lock, in the words of its refusal. */
export interface LockOwner {
  /** What holds it, for the message: `sluice run`, `sluice monitor staging`. */
  readonly what: string;
  /** Where: `in this workspace`, `for environment staging`. */
  readonly where: string;
  /** The code of the refusal (default `conflict`). */
  readonly code?: string;
  readonly data?: Readonly<Record<string, unknown>>;
}

const RUN_OWNER: LockOwner = { what: 'sluice run', where: 'in this workspace' };

export class RunLock {
  private constructor(
    private readonly file: string,
    private readonly content: string,
  ) {}

  static acquire(file: string, owner: LockOwner = RUN_OWNER): RunLock {
    mkdirSync(dirname(file), { recursive: true });
    const start = processStartTime(process.pid);
    const content = start === undefined ? String(process.pid) : `${process.pid} ${start}`;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        writeFileSync(file, content, { flag: 'wx' });
        return new RunLock(file, content);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
          // 'wx' made the file before the write failed (a full disk): it is no lock. A failed
          // write on a descriptor names no path; the user is told which file.
          rmSync(file, { force: true });
          const failure = error as NodeJS.ErrnoException;
          throw failure.path === undefined ? Object.assign(failure, { path: file }) : failure;
        }
      }
      const [pidText = '', started] = readText(file).split(' ');
      const pid = Number(pidText);
      if (Number.isInteger(pid) && pid > 0 && ownerRuns(pid, started)) {
        throw new SluiceError(
          `Another ${owner.what} (process ${pid}) is running ${owner.where}.`,
          'conflict',
          'Wait for it to finish, or stop it, then run again.',
          { code: owner.code ?? 'conflict', data: { ...owner.data, pid } },
        );
      }
      rmSync(file, { force: true }); // its owner died; the next attempt takes it
    }
    throw new SluiceError(
      `Could not take the lock ${file}.`,
      'conflict',
      `Remove ${file} if no ${owner.what} runs.`,
    );
  }

  release(): void {
    if (readText(this.file) === this.content) rmSync(this.file, { force: true });
  }
}

/** The lock's pid still runs and, when its start time was written, is the same process. */
function ownerRuns(pid: number, started: string | undefined): boolean {
  if (!processAlive(pid)) return false;
  if (started === undefined) return true;
  const now = processStartTime(pid);
  return now === undefined || now === started;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}
