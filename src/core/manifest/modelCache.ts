// A clean manifest's model, remembered by the digest of its text. Analysing a
// 1,000-stage manifest takes a second (YAML parsing and the checks); commands
// such as a no-op `sluice run` must not pay that when sluice.yaml did not change.
// Only manifests without errors are remembered, so a cached model is always
// one the full analysis accepted. Checks that read the disk (links leading out
// of the workspace) are made again where paths are used: the runner and the
// snapshot scanner refuse such paths themselves.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../fs/atomicWrite';
import type { Manifest } from './model';

/** Bump when the model's shape changes, so an older cache is never read as the new shape. */
const MODEL_FORMAT = 1;

interface CacheFile {
  readonly format: number;
  readonly digest: string;
  readonly manifest: unknown;
}

export function manifestDigest(text: string): string {
  return createHash('sha256').update(`sluice-model-${MODEL_FORMAT}\0`).update(text).digest('hex');
}

/** The remembered model of a manifest whose text has `digest`, if any. */
export function cachedModel(cacheFile: string, digest: string): Manifest | undefined {
  let text: string;
  try {
    text = readFileSync(cacheFile, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(text, revive) as CacheFile;
    if (parsed.format !== MODEL_FORMAT || parsed.digest !== digest) return undefined;
    return parsed.manifest as Manifest;
  } catch {
    return undefined; // a damaged cache is only a slower start
  }
}

export function rememberModel(cacheFile: string, digest: string, manifest: Manifest): void {
  const content: CacheFile = { format: MODEL_FORMAT, digest, manifest };
  writeFileAtomic(cacheFile, JSON.stringify(content, replace));
}

// The model holds Maps (names in manifest order); JSON keeps them as entry lists.
function replace(_key: string, value: unknown): unknown {
  return value instanceof Map ? { $map: [...(value as Map<unknown, unknown>)] } : value;
}

function revive(_key: string, value: unknown): unknown {
  if (typeof value === 'object' && value !== null && '$map' in value) {
    return new Map((value as { $map: [unknown, unknown][] }).$map);
  }
  return value;
}
