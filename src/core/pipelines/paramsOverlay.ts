// `run --set`: the stage commands read the params file themselves, so for the
// length of the run the file holds the overridden values, and afterwards its
// own bytes again. Under the run lock only. The original bytes are kept in
// .sluice/state/ first, so a run killed midway is undone by the next run;
// a file edited by hand during the run is left as the user wrote it.
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomicWrite';
import type { Workspace } from '../workspace';
import { applyOverrides } from './paramOverrides';

interface OverlayRecord {
  readonly file: string;
  readonly original: string;
  readonly mode: number;
  /** sha256 of what the run wrote: the file is put back only while it still holds exactly that. */
  readonly written: string;
}

function recordPath(workspace: Workspace): string {
  return join(workspace.sluiceDir, 'state', 'params-overlay.json');
}

function digest(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** What putting the file back did: `restored`, or `kept` when someone edited it during the run. */
export type OverlayEnd = 'restored' | 'kept' | 'none';

function putBack(workspace: Workspace, record: OverlayRecord): OverlayEnd {
  const target = join(workspace.root, record.file);
  let now: Buffer | undefined;
  try {
    now = readFileSync(target);
  } catch {
    now = undefined;
  }
  const end: OverlayEnd = now !== undefined && digest(now) !== record.written ? 'kept' : 'restored';
  if (end === 'restored') writeFileAtomic(target, Buffer.from(record.original, 'base64'), record.mode);
  rmSync(recordPath(workspace), { force: true });
  return end;
}

/** Undoes the overlay a killed run left, if any. Call with the run lock held. */
export function recoverParamsOverlay(workspace: Workspace): OverlayEnd {
  let record: OverlayRecord;
  try {
    record = JSON.parse(readFileSync(recordPath(workspace), 'utf8')) as OverlayRecord;
  } catch {
    return 'none';
  }
  return putBack(workspace, record);
}

/** Writes the overrides into the params file and returns how to put it back. Call with the run lock held. */
export function overlayParams(
  workspace: Workspace,
  paramsFile: string,
  overrides: Readonly<Record<string, unknown>>,
): () => OverlayEnd {
  const target = join(workspace.root, paramsFile);
  const original = readFileSync(target);
  const text = applyOverrides(original.toString('utf8'), paramsFile, overrides);
  const record: OverlayRecord = {
    file: paramsFile,
    original: original.toString('base64'),
    mode: statSync(target).mode & 0o7777,
    written: digest(text),
  };
  writeFileAtomic(recordPath(workspace), JSON.stringify(record));
  writeFileAtomic(target, text, record.mode);
  return () => putBack(workspace, record);
}
