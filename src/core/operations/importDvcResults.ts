// `sluice import-dvc --json` and the lines both faces say of it, in a file of
// their own to keep results.ts short.
import type { ErrorJson } from '../errors';
import type { ImportDvcResult, NotCarried } from '../dvc';

export interface ImportDvcJson {
  /** The sluice.yaml written. */
  readonly written: string;
  readonly pipeline: string;
  readonly stages: number;
  readonly datasets: number;
  readonly notCarried: readonly NotCarried[];
  /** Set (code `not-carried`, exit 1) when something was not carried over; the manifest is written all the same. */
  readonly error?: ErrorJson;
}

export function importDvcJson(result: ImportDvcResult): ImportDvcJson {
  const json = {
    written: result.written,
    pipeline: result.pipeline,
    stages: result.stages,
    datasets: result.datasets,
    notCarried: result.notCarried,
  };
  const count = result.notCarried.length;
  if (count === 0) return json;
  return {
    ...json,
    error: {
      code: 'not-carried',
      message: `${count} thing${count === 1 ? '' : 's'} of ${result.source} could not be carried over into ${result.written}.`,
      hint: 'Each entry of `notCarried` says why and what to do by hand.',
      data: { file: result.written, source: result.source, count },
    },
  };
}

/** The first line of `sluice import-dvc`: what was written. */
export function describeImportDvc(json: ImportDvcJson, shownPath: string): string {
  const stages = `${json.stages} stage${json.stages === 1 ? '' : 's'}`;
  const datasets = `${json.datasets} dataset${json.datasets === 1 ? '' : 's'}`;
  return `Wrote ${shownPath}: pipeline ${json.pipeline} with ${stages}, ${datasets}.`;
}

/** One line per thing not carried over: which, why, and what to do by hand. */
export function describeNotCarried(item: NotCarried): string {
  return `not carried: ${item.what}: ${item.reason}.`;
}
