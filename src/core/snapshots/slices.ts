// Long operations share the event loop: the VS Code extension runs the engine
// in its own process, where a scan of 100,000 files must not freeze anything.
// Work is cut into slices of a few milliseconds with a turn of the event loop
// between them, and every turn is a point where a cancellation takes effect.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { CancelledError } from '../errors';

/** How long one stretch of synchronous work may run before the event loop gets a turn. */
const SLICE_MS = 8;

export class Slicer {
  private sliceStart = performance.now();

  constructor(
    private readonly signal: AbortSignal | undefined,
    /** What is running, for the cancellation message ("Snapshot of 'events'"). */
    private readonly what: string,
  ) {}

  /** Throws CancelledError if the signal fired. */
  check(): void {
    if (this.signal?.aborted) throw new CancelledError(this.what);
  }

  /** True when the current slice is used up. */
  get due(): boolean {
    return performance.now() - this.sliceStart >= SLICE_MS;
  }

  /** Gives the event loop a turn if the slice is used up; then checks for cancellation. */
  async maybeYield(): Promise<void> {
    if (this.due) await this.yield();
    else this.check();
  }

  /** Gives the event loop a turn now. */
  async yield(): Promise<void> {
    await nextTurn();
    this.sliceStart = performance.now();
    this.check();
  }

  /** Waits for `promise`, but stops waiting (and throws) as soon as the signal fires. */
  async race<T>(promise: Promise<T>): Promise<T> {
    const signal = this.signal;
    if (!signal) return promise;
    this.check();
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        reject(new CancelledError(this.what));
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([promise, aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort!);
      this.sliceStart = performance.now();
    }
  }
}

/** Anything thrown, as an Error (to rethrow later). */
export function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}
