// How the editor tooling's entry points (install, demo, the extension-host
// harness) end: a failure is one line on stderr naming what to do, never a
// stack trace, and exit code 1.
import { describeError } from '../../src/core/errors';

export function runTool(name: string, main: () => Promise<number>): void {
  const fail = (error: unknown): void => {
    process.stderr.write(`${name}: ${describeError(error).replace(/\s*\n\s*/g, ' ')}\n`);
    process.exitCode = 1;
  };
  process.on('unhandledRejection', fail);
  main().then((code) => {
    process.exitCode = code;
  }, fail);
}
