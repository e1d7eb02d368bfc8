// Caches (the stat cache, the fingerprints, the manifest model) only save
// work: a command that cannot write one (a read-only file system, a full
// disk, a quota, a folder it may not write) does without it. Any other
// failure is a real one and is thrown.

/** The errno values that mean "this cannot be written here now", not "something is wrong". */
const UNWRITABLE = new Set(['EROFS', 'ENOSPC', 'EDQUOT', 'EACCES', 'EPERM']);

/** Whether `error` says the file system refused a write (read-only, full, not permitted). */
export function isUnwritable(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && UNWRITABLE.has(code);
}

/** One debug line when SLUICE_DEBUG is set; otherwise the skip is silent. */
function noteSkipped(what: string, error: unknown): void {
  if (process.env['SLUICE_DEBUG'] === undefined) return;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  process.stderr.write(`sluice: debug: ${what} not saved (${code})\n`);
}

/** Runs the cache write `write`; a write the file system refuses is skipped. */
export function writeCache(what: string, write: () => void): void {
  try {
    write();
  } catch (error) {
    if (!isUnwritable(error)) throw error;
    noteSkipped(what, error);
  }
}

/** The same for an asynchronous write. */
export async function writeCacheAsync(what: string, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (error) {
    if (!isUnwritable(error)) throw error;
    noteSkipped(what, error);
  }
}
