// Where a snapshot's time goes, on stderr when SLUICE_DEBUG is set (the
// benchmark reads these lines); nothing otherwise. One line per phase.

const ENABLED = process.env['SLUICE_DEBUG'] !== undefined;

/** Writes `sluice: debug: TEXT` when SLUICE_DEBUG is set. */
export function debugLine(text: string): void {
  if (ENABLED) process.stderr.write(`sluice: debug: ${text}\n`);
}

/** A clock for the phases of one operation: `lap(name)` prints the time since the previous lap. */
export function phaseClock(operation: string, announce = true): (phase: string) => void {
  if (!ENABLED) return () => undefined;
  let last = performance.now();
  // performance.now() counts from the process's start: what came before (Node, the bundle, the workspace).
  if (announce) debugLine(`${operation}: begins ${last.toFixed(1)} ms after the process started`);
  return (phase) => {
    const now = performance.now();
    debugLine(`${operation}: ${phase} in ${(now - last).toFixed(1)} ms`);
    last = now;
  };
}
