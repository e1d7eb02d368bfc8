// Running the user's commands (stages, checks): `sh -c` in a process group
// of its own, so cancelling or a timeout kills the command and everything it
// started. Output goes to a log file and, live, to the caller.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface CommandOptions {
  readonly command: string;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  /** Where stdout and stderr are kept, interleaved as they arrive. */
  readonly logFile: string;
  readonly onOutput?: (text: string, stream: 'stdout' | 'stderr') => void;
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs?: number | undefined;
}

export interface CommandResult {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly cancelled: boolean;
  readonly startedAt: Date;
  readonly durationMs: number;
}

/** How long a command gets between SIGTERM and SIGKILL. */
const GRACE_MS = 2000;

export function runCommand(options: CommandOptions): Promise<CommandResult> {
  mkdirSync(dirname(options.logFile), { recursive: true });
  const log = openSync(options.logFile, 'a');
  const startedAt = new Date();
  const started = performance.now();
  return new Promise((resolve) => {
    let timedOut = false;
    let cancelled = false;
    let finished = false;
    const child = spawn('/bin/sh', ['-c', options.command], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      detached: true, // a new process group, led by the shell
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const killGroup = (signal: NodeJS.Signals): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // The group is gone already.
      }
    };
    const stop = (): void => {
      killGroup('SIGTERM');
      setTimeout(() => {
        killGroup('SIGKILL');
      }, GRACE_MS).unref();
    };
    const onAbort = (): void => {
      cancelled = true;
      stop();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            stop();
          }, options.timeoutMs);
    const forward = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      writeSync(log, chunk);
      options.onOutput?.(chunk.toString('utf8'), stream);
    };
    child.stdout.on('data', forward('stdout'));
    child.stderr.on('data', forward('stderr'));
    const finish = (exitCode: number | null, signal: string | null): void => {
      if (finished) return;
      finished = true;
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      // Whatever the command left running in the background goes with it:
      // outputs are read next, and nothing may still be writing them.
      killGroup('SIGKILL');
      closeSync(log);
      resolve({
        exitCode,
        signal,
        timedOut,
        cancelled,
        startedAt,
        durationMs: Math.round(performance.now() - started),
      });
    };
    child.on('error', (error) => {
      writeSync(log, `sluice: could not start /bin/sh: ${error.message}\n`);
      finish(127, null);
    });
    // 'close' waits for the output pipes, which a background child may hold
    // open: after the shell exits, give them a moment, then stop waiting.
    child.on('exit', (code, signal) => {
      setTimeout(() => {
        finish(code, signal);
      }, 2000).unref();
    });
    child.on('close', (code, signal) => {
      finish(code, signal);
    });
  });
}

/** One line for a command that did not succeed. */
export function describeExit(result: CommandResult): string {
  if (result.cancelled) return 'cancelled';
  if (result.timedOut) return 'timed out';
  return describeEnd(result.exitCode, result.signal);
}

/** How a process ended, from its exit code or signal alone (a run's log record keeps both). */
export function describeEnd(exitCode: number | null, signal: string | null): string {
  if (exitCode === 127) return 'command not found (exit 127)';
  if (exitCode === 126) return 'command not executable (exit 126)';
  if (signal !== null) return `killed by ${signal}`;
  return `exit code ${String(exitCode)}`;
}
