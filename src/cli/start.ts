// The `sluice` command's entry point (dist/cli.js). It loads the command's
// bundle (dist/cliMain.js, built from main.ts) with V8's code cache, the way
// Python keeps compiled modules beside their sources: compiling 700 KB of
// JavaScript again on every start is about a fifth of `sluice --version`
// here. The cache (dist/cliMain.js.cache) is written by the first command
// that finds none, or finds one made from another bundle or by another Node;
// where dist/ cannot be written, every start compiles, as without it. The
// bundle must not use import(): a vm script has no module loader for it.
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Script } from 'node:vm';
import { writeFileAtomic } from '../core/fs/atomicWrite';

const bundle = join(__dirname, 'cliMain.js');
const cacheFile = `${bundle}.cache`;
/**
 * The cache starts with a digest of the bundle's identity and of the Node that
 * made it; V8 checks only the source's length. The identity is the file's
 * inode, size, mtime and ctime, as the fingerprint cache keys a file's hash
 * (any write to the file moves its ctime): hashing 3 MB of source on every
 * start cost more than a tenth of `sluice --version`.
 */
const DIGEST_BYTES = 32;

/**
 * V8 drops the bytecode of functions a command has not run for a while, the
 * bundle's top level first: a cache written at the end of a long command (a
 * first `sluice run` that ran every stage) then lacked it, and every later
 * start compiled the whole bundle again (40 ms here) before using the cache.
 * Kept, the cache holds all the command ran. V8 keys its caches on its flags,
 * so every start sets this one before compiling.
 */
setFlagsFromString('--no-flush-bytecode');

function loadBundle(): void {
  let source: string;
  let identity: string;
  try {
    // One descriptor for both: a bundle replaced meanwhile cannot pair its source with another's identity.
    const descriptor = openSync(bundle, 'r');
    try {
      const stat = fstatSync(descriptor);
      identity = `${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`;
      source = readFileSync(descriptor, 'utf8');
    } finally {
      closeSync(descriptor);
    }
  } catch (error) {
    process.stderr.write(`sluice: cannot read ${bundle}: ${(error as Error).message}. Reinstall Sluice.\n`);
    process.exit(1);
  }
  const digest = createHash('sha256').update(process.version).update(process.arch).update(identity).digest();
  let cachedData: Buffer | undefined;
  try {
    const cache = readFileSync(cacheFile);
    if (cache.subarray(0, DIGEST_BYTES).equals(digest)) cachedData = cache.subarray(DIGEST_BYTES);
  } catch {
    // No cache yet: this start compiles, and writes one when the command is done.
  }
  // A `#!` line is allowed only at the very start of a script, not inside the wrapper.
  const body = source.startsWith('#!') ? `//${source.slice(2)}` : source;
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${body}\n})`, {
    filename: bundle,
    ...(cachedData ? { cachedData } : {}),
  });
  if (!cachedData || script.cachedDataRejected === true) {
    // At exit the cache also holds the functions this command compiled on the way.
    process.once('exit', () => {
      writeCache(digest, script.createCachedData());
    });
  }
  const module = { exports: {}, filename: bundle, id: bundle, loaded: false };
  const wrapper = script.runInThisContext() as (
    exports: unknown,
    require: NodeJS.Require,
    module: unknown,
    filename: string,
    dirname: string,
  ) => void;
  wrapper(module.exports, createRequire(bundle), module, bundle, __dirname);
}

function writeCache(digest: Buffer, data: Buffer): void {
  try {
    // Atomic: a reader finds the old cache, the new one or none, never half of one.
    writeFileAtomic(cacheFile, Buffer.concat([digest, data]));
  } catch {
    // A read-only installation: starts compile, as they would without a cache.
  }
}

loadBundle();
