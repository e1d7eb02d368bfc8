// `import-dvc`: a DVC project (dvc.yaml, its params and vars files, the .dvc
// files of its data) as the equivalent sluice.yaml beside it, written
// atomically, with the list of what could not be carried over and why.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { SluiceError } from '../errors';
import { writeFileAtomic } from '../fs/atomicWrite';
import { MANIFEST_FILE } from '../manifest';
import { convertProject } from './convert';
import { readDvcYaml } from './dvcYaml';
import { manifestText } from './manifestText';
import type { NotCarried } from './model';
import { scanProject } from './trackedData';

export { NOT_CARRIED_CODES } from './model';
export type { NotCarried, NotCarriedCode } from './model';

export const DVC_PIPELINE_FILE = 'dvc.yaml';
export const DEFAULT_PIPELINE = 'main';

export interface ImportDvcOptions {
  /** The name of the pipeline the stages go into (default `main`). */
  readonly pipeline?: string | undefined;
  /** Replace an existing sluice.yaml. */
  readonly force?: boolean | undefined;
}

export interface ImportDvcResult {
  /** The sluice.yaml written (absolute). */
  readonly written: string;
  /** The dvc.yaml read (absolute). */
  readonly source: string;
  readonly pipeline: string;
  /** Stages written (a foreach or matrix stage counts once). */
  readonly stages: number;
  readonly datasets: number;
  readonly notCarried: readonly NotCarried[];
  /** True when an existing sluice.yaml was replaced (only with `force`). */
  readonly replaced: boolean;
}

/**
 * Converts the DVC project at `path` (a folder holding dvc.yaml, or a dvc.yaml)
 * into sluice.yaml in the same folder. Throws `invalid-flag-value`,
 * `dvc-yaml-not-found`, `dvc-yaml-unreadable`, `dvc-yaml-invalid` or
 * `manifest-exists` (all exit 2) before writing anything.
 */
export function importDvc(path: string, options: ImportDvcOptions = {}): ImportDvcResult {
  const pipeline = options.pipeline ?? DEFAULT_PIPELINE;
  if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(pipeline))
    throw new SluiceError(
      `'${pipeline}' is not a pipeline name: a letter, then letters, digits, _ or -.`,
      'usage',
      'Pass another --pipeline NAME.',
      { code: 'invalid-flag-value', data: { flag: '--pipeline', value: pipeline } },
    );
  const source = pipelineFile(path);
  const root = dirname(source);
  const target = join(root, MANIFEST_FILE);
  // A broken or missing dvc.yaml is the first thing to fix: said before any refusal to replace.
  const dvcYaml = readDvcYaml(source);
  const replaced = existsSync(target);
  if (replaced && options.force !== true)
    throw new SluiceError(`${target} already exists.`, 'usage', 'Pass --force to replace it.', {
      code: 'manifest-exists',
      data: { file: target },
    });
  const scan = scanProject(root, source);
  const { manifest, notCarried } = convertProject({ root, dvcYaml, scan, pipeline });
  writeFileAtomic(target, manifestText(manifest, basename(source), notCarried));
  return {
    written: target,
    source,
    pipeline,
    stages: manifest.stages.length,
    datasets: manifest.datasets.length,
    notCarried,
    replaced,
  };
}

/** The dvc.yaml `path` names: itself, or the one in the folder it names. */
function pipelineFile(path: string): string {
  const absolute = resolve(path);
  try {
    return statSync(absolute).isDirectory() ? join(absolute, DVC_PIPELINE_FILE) : absolute;
  } catch {
    // Reported by readDvcYaml, naming the file.
    return absolute;
  }
}
