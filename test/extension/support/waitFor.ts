// Waiting in the extension host: poll a condition until it holds or a deadline
// passes, never a fixed sleep. The failure message says what was awaited.
const POLL_INTERVAL_MS = 50;
const DEFAULT_TIMEOUT_MS = 15_000;

/**
 * Resolves with the first value of `probe` that is neither undefined, null
 * nor false; rejects after `timeoutMs` naming `what` and the last value seen.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    last = await probe();
    if (last !== undefined && last !== null && last !== false) return last as T;
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  throw new Error(
    `Timed out after ${String(timeoutMs)} ms waiting for ${what} (last seen: ${String(last)}).`,
  );
}
