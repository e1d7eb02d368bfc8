// A long-running helper (code-server) in a process group of its own, that
// must not outlive the command that started it: not when that command is
// stopped with Ctrl-C (SIGINT), nor by `kill` (SIGTERM), nor when its terminal
// closes (SIGHUP), nor when it exits for any other reason. The group is ended
// by the pid recorded at spawn (its leader's, which is the group's id), never
// by name.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';

/** The signals that end a command run from a terminal. */
export const ENDING_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type EndingSignal = (typeof ENDING_SIGNALS)[number];

export interface ProcessGroup {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  /** Resolves when the leader exits, whoever stopped it. */
  readonly exited: Promise<number | null>;
  /** SIGTERM to the group, SIGKILL to what is left after `graceMs`; resolves once the leader is gone. */
  stop(): Promise<void>;
  /** The signal that is ending this process (and so the group), if one is. */
  signalled(): EndingSignal | undefined;
}

export interface GroupOptions {
  readonly env: NodeJS.ProcessEnv;
  /** How long the group may take to leave after SIGTERM before it gets SIGKILL. */
  readonly graceMs: number;
  /**
   * Called once the group is stopped because this process got `signal`; this
   * process then exits with 128 + the signal's number, as the signal would have.
   */
  readonly onSignal?: (signal: EndingSignal) => void;
}

export function spawnGroup(command: string, args: readonly string[], options: GroupOptions): ProcessGroup {
  // detached: setsid, so the child leads a new session and process group (id = its pid).
  const child = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: options.env });
  const leader = child.pid;
  const signalGroup = (signal: NodeJS.Signals): void => {
    if (leader === undefined) return;
    try {
      process.kill(-leader, signal);
    } catch {
      // The group is gone already.
    }
  };
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      resolve(code);
    });
    child.once('error', () => {
      resolve(null);
    });
  });
  // Whatever ends this process, the group must not outlive it: 'exit' covers a normal end and
  // process.exit(); a signal with no listener ends Node without 'exit', hence the listeners below.
  const killOnExit = (): void => {
    signalGroup('SIGKILL');
  };
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      signalGroup('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        exited,
        new Promise((resolve) => {
          timer = setTimeout(resolve, options.graceMs);
        }),
      ]);
      clearTimeout(timer);
      // Helpers it started (an extension host) may linger after the leader: end the whole group.
      signalGroup('SIGKILL');
      await exited;
      process.off('exit', killOnExit);
      for (const signal of ENDING_SIGNALS) process.off(signal, onSignal);
    })());
  let signalled: EndingSignal | undefined;
  const onSignal = (signal: EndingSignal): void => {
    signalled ??= signal;
    void stop().then(() => {
      options.onSignal?.(signal);
      process.exit(128 + constants.signals[signal]);
    });
  };
  process.on('exit', killOnExit);
  for (const signal of ENDING_SIGNALS) process.on(signal, onSignal);
  // Not started (its 'error' resolves `exited`): nothing to stop, and no listener to keep.
  if (leader === undefined) void stop();
  return { child, exited, stop, signalled: () => signalled };
}
