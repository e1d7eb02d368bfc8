// The refs a sync moves, by kind, and how a message names them.
import { DATASET_REFS } from '../../snapshots/records';
import { HEALTH_REFS } from '../../environments/healthHistory';
import { ENVIRONMENT_REFS } from '../../environments/history';
import { RELEASE_REFS } from '../../environments/releases';
import { EXPERIMENT_REFS } from '../../experiments/records';
import { shortId } from '../../format';

export const SLUICE_REFS = 'refs/sluice/';

/** `health`: an environment's health history (what `sluice monitor` recorded), a chain like its deployments. */
export type RefKind = 'dataset' | 'environment' | 'release' | 'experiment' | 'health';

const KINDS: readonly (readonly [string, RefKind])[] = [
  [DATASET_REFS, 'dataset'],
  [ENVIRONMENT_REFS, 'environment'],
  [RELEASE_REFS, 'release'],
  [EXPERIMENT_REFS, 'experiment'],
  [HEALTH_REFS, 'health'],
];

/** Records that never change once written: the same name is the same content, whatever commit holds it. */
export function isImmutableKind(kind: RefKind): boolean {
  return kind === 'release' || kind === 'experiment';
}

/** The kind of a ref under refs/sluice/, or undefined for one Sluice does not sync. */
export function refKind(ref: string): RefKind | undefined {
  return KINDS.find(([prefix]) => ref.startsWith(prefix) && ref.length > prefix.length)?.[1];
}

/** The dataset, environment or release a ref records. */
export function refName(ref: string): string {
  const prefix = KINDS.find(([candidate]) => ref.startsWith(candidate))?.[0] ?? '';
  const name = ref.slice(prefix.length);
  const kind = refKind(ref);
  return kind !== undefined && isImmutableKind(kind) ? shortId(name) : name;
}

/** How a message names refs of a kind: one, several. */
const KIND_WORDS: Readonly<Record<RefKind, readonly [string, string]>> = {
  environment: ['environment', 'environments'],
  health: ['the health history of environment', 'the health histories of environments'],
  dataset: ['dataset', 'datasets'],
  release: ['release', 'releases'],
  experiment: ['experiment', 'experiments'],
};

/** "Environment production", "Environments production and staging, dataset events", … */
export function describeRefs(refs: readonly string[]): string {
  const parts: string[] = [];
  for (const kind of ['environment', 'health', 'dataset', 'release', 'experiment'] as const) {
    const names = refs.filter((ref) => refKind(ref) === kind).map(refName);
    if (names.length === 0) continue;
    const list =
      names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]!}`;
    parts.push(`${KIND_WORDS[kind][names.length === 1 ? 0 : 1]} ${list}`);
  }
  const text = parts.join(', ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}
