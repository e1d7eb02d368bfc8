// A clean manifest's model, remembered by the digest of its text. Analysing a
// 1,000-stage manifest takes a second (YAML parsing and the checks); commands
// such as a no-op `sluice run` must not pay that when sluice.yaml did not change.
// Only manifests without errors are remembered, so a cached model is always
// one the full analysis accepted. Checks that read the disk (links leading out
// of the workspace) are made again where paths are used: the runner and the
// snapshot scanner refuse such paths themselves.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../fs/atomicWrite';
import { writeCache } from '../fs/cacheWrite';
import type { Manifest, PipelineDecl, StageDecl, TemplateDecl } from './model';

/**
 * Bump when the model's shape changes, so an older cache is never read as the
 * new shape, and when validation grows stricter (3: protected paths, unknown
 * params and `${` are errors; 4: remotes; 5: plots; 6: templates, wdir, output options), so a model the older rules accepted is checked again.
 */
const MODEL_FORMAT = 6;

interface CacheFile {
  readonly format: number;
  readonly digest: string;
  /**
   * Files `${…}` read values from (params and vars files), with the digest of
   * their content then (null: missing): the model is stale when one changed.
   */
  readonly inputs: [string, string | null][];
  readonly manifest: EncodedManifest;
}

/** The model with its Maps (names in manifest order) as entry lists, which JSON keeps. */
type EncodedManifest = Omit<Manifest, 'datasets' | 'pipelines' | 'environments' | 'remotes'> & {
  readonly datasets: [string, unknown][];
  readonly pipelines: [
    string,
    Omit<PipelineDecl, 'stages' | 'templates'> & {
      stages: [string, StageDecl][];
      templates: [string, TemplateDecl][];
    },
  ][];
  readonly environments: [string, unknown][];
  readonly remotes: [string, unknown][];
};

export function manifestDigest(text: string): string {
  return createHash('sha256').update(`sluice-model-${MODEL_FORMAT}\0`).update(text).digest('hex');
}

function contentDigest(content: string | Buffer | undefined): string | null {
  return content === undefined ? null : createHash('sha256').update(content).digest('hex');
}

function fileDigest(root: string, path: string): string | null {
  try {
    return contentDigest(readFileSync(join(root, path)));
  } catch {
    return null;
  }
}

/**
 * Where caches of what is derived from a model (the pipelines' plan) live,
 * and the key that names the model there: its manifest's digest and its
 * inputs'. Known only for a model this module read from its cache or
 * remembered, so a model made any other way (edited, with params overridden
 * for one run) never meets a cache made from another.
 */
export interface DerivedCaches {
  /** The folder the model cache is in. */
  readonly folder: string;
  readonly key: string;
}

const derivedCaches = new WeakMap<Manifest, DerivedCaches>();

export function derivedCachesOf(manifest: Manifest): DerivedCaches | undefined {
  return derivedCaches.get(manifest);
}

function keep(manifest: Manifest, cacheFile: string, digest: string, inputs: CacheFile['inputs']): Manifest {
  const key = createHash('sha256')
    .update(JSON.stringify([digest, inputs]))
    .digest('hex');
  derivedCaches.set(manifest, { folder: dirname(cacheFile), key });
  return manifest;
}

/** The remembered model of a manifest whose text has `digest`, if any, and whose inputs are as they were. */
export function cachedModel(cacheFile: string, digest: string, root: string): Manifest | undefined {
  let text: string;
  try {
    text = readFileSync(cacheFile, 'utf8');
  } catch {
    return undefined;
  }
  try {
    // No reviver: calling one per value costs more than the parse itself.
    const parsed = JSON.parse(text) as CacheFile;
    if (parsed.format !== MODEL_FORMAT || parsed.digest !== digest) return undefined;
    for (const [path, was] of parsed.inputs) if (fileDigest(root, path) !== was) return undefined;
    return keep(decode(parsed.manifest), cacheFile, digest, parsed.inputs);
  } catch {
    return undefined; // a damaged cache is only a slower start
  }
}

export function rememberModel(
  cacheFile: string,
  digest: string,
  manifest: Manifest,
  /** The files the model was read from besides the manifest, with the content read then. */
  inputs: ReadonlyMap<string, string | undefined>,
): void {
  const content: CacheFile = {
    format: MODEL_FORMAT,
    digest,
    inputs: [...inputs].map(([path, text]) => [path, contentDigest(text)]),
    manifest: encode(manifest),
  };
  keep(manifest, cacheFile, digest, content.inputs);
  writeCache('the manifest model cache', () => {
    writeFileAtomic(cacheFile, JSON.stringify(content));
  });
}

function encode(manifest: Manifest): EncodedManifest {
  return {
    ...manifest,
    datasets: [...manifest.datasets],
    pipelines: [...manifest.pipelines].map(([name, pipeline]) => [
      name,
      { ...pipeline, stages: [...pipeline.stages], templates: [...pipeline.templates] },
    ]),
    environments: [...manifest.environments],
    remotes: [...manifest.remotes],
  };
}

function decode(encoded: EncodedManifest): Manifest {
  return {
    ...encoded,
    datasets: new Map(encoded.datasets) as Manifest['datasets'],
    pipelines: new Map(
      encoded.pipelines.map(([name, pipeline]): [string, PipelineDecl] => [
        name,
        { ...pipeline, stages: new Map(pipeline.stages), templates: new Map(pipeline.templates) },
      ]),
    ),
    environments: new Map(encoded.environments) as Manifest['environments'],
    remotes: new Map(encoded.remotes) as Manifest['remotes'],
  };
}
