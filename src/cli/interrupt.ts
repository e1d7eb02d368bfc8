// Ctrl-C during a long command (snapshot, diff, restore) stops it the way the
// engine stops on cancellation: temporary files removed, no ref moved, each
// file whole. A second Ctrl-C ends the process at once.
export function abortOnInterrupt(): AbortSignal {
  const controller = new AbortController();
  process.once('SIGINT', () => {
    controller.abort();
  });
  return controller.signal;
}
