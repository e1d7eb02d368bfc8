// What the runner remembers about each stage: the inputs and outputs of its
// last successful run, and its last failure. One file for the workspace,
// so a no-op `sluice run` reads one file, not one per stage. It is an index:
// the run cache (.sluice/runs/) holds every successful run on its own, so
// losing this file costs restores from the cache, never a wrong result.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../fs/atomicWrite';

/** Everything a stage's result depends on. Its digest is the run's signature. */
export interface StageInputs {
  readonly run: string;
  /** Dep path → fingerprint (null: missing). */
  readonly deps: Readonly<Record<string, string | null>>;
  /** Dataset name → fingerprint of its files on disk (null: missing). */
  readonly datasets: Readonly<Record<string, string | null>>;
  /** Dotted key → value from the params file (null: missing). */
  readonly params: Readonly<Record<string, unknown>>;
  /** Upstream stage → the signature of its current outputs' run. */
  readonly upstream: Readonly<Record<string, string>>;
}

export interface StageSuccess {
  readonly signature: string;
  readonly inputs: StageInputs;
  /** Output path → fingerprint, as the run left them. */
  readonly outs: Readonly<Record<string, string>>;
  readonly runId: string | undefined;
  readonly finishedAt: string;
  readonly restored: boolean;
}

export interface StageFailure {
  readonly signature: string;
  readonly runId: string | undefined;
  readonly finishedAt: string;
  readonly reason: string;
}

/** A check's last result, and the key of what it judged (its definition and the stages' signatures). */
export interface CheckRecord {
  readonly key: string;
  readonly outcome: 'pass' | 'fail' | 'inconclusive';
  readonly detail: string;
  readonly runId: string | undefined;
}

export interface StageRecord {
  readonly success?: StageSuccess;
  readonly failure?: StageFailure;
}

const FORMAT = 'sluice-stages 1';

export function signatureOf(inputs: StageInputs): string {
  return createHash('sha256').update(JSON.stringify(inputs)).digest('hex');
}

export class PipelineState {
  private readonly records = new Map<string, StageRecord>();
  private readonly checks = new Map<string, CheckRecord>();
  private dirty = false;

  private constructor(private readonly file: string) {}

  static load(file: string): PipelineState {
    const state = new PipelineState(file);
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as {
        format?: string;
        stages?: Record<string, StageRecord>;
        checks?: Record<string, CheckRecord>;
      };
      if (parsed.format === FORMAT && parsed.stages) {
        for (const [id, record] of Object.entries(parsed.stages)) state.records.set(id, record);
        for (const [id, record] of Object.entries(parsed.checks ?? {})) state.checks.set(id, record);
      }
    } catch {
      // Missing or damaged: every stage is looked up in the run cache instead.
    }
    return state;
  }

  get(id: string): StageRecord | undefined {
    return this.records.get(id);
  }

  succeeded(id: string, success: StageSuccess): void {
    this.records.set(id, { success });
    this.dirty = true;
  }

  /** A failure keeps the last success: its outputs are still in the cache and may come back. */
  failed(id: string, failure: StageFailure): void {
    const success = this.records.get(id)?.success;
    this.records.set(id, success ? { success, failure } : { failure });
    this.dirty = true;
  }

  /** The last result of check `id` (`pipeline#name`), when it judged exactly `key`. */
  checkResult(id: string, key: string): CheckRecord | undefined {
    const record = this.checks.get(id);
    return record?.key === key ? record : undefined;
  }

  checked(id: string, record: CheckRecord): void {
    this.checks.set(id, record);
    this.dirty = true;
  }

  get changed(): boolean {
    return this.dirty;
  }

  save(): void {
    if (!this.dirty) return;
    writeFileAtomic(
      this.file,
      JSON.stringify({
        format: FORMAT,
        stages: Object.fromEntries(this.records),
        checks: Object.fromEntries(this.checks),
      }),
    );
    this.dirty = false;
  }
}

/** Why a stage's inputs differ from those of its last successful run, in words. */
export function describeChanges(before: StageInputs, now: StageInputs): string[] {
  const reasons: string[] = [];
  if (before.run !== now.run) reasons.push('its command changed');
  const compare = (
    what: string,
    old: Readonly<Record<string, unknown>>,
    current: Readonly<Record<string, unknown>>,
  ) => {
    for (const [key, value] of Object.entries(current)) {
      if (!(key in old)) reasons.push(`${what} ${key} was added`);
      else if (JSON.stringify(old[key]) !== JSON.stringify(value)) {
        if (value === null) reasons.push(`${what} ${key} is missing`);
        else if (what === 'param')
          reasons.push(`param ${key} changed (${JSON.stringify(old[key])} → ${JSON.stringify(value)})`);
        else reasons.push(`${what} ${key} changed`);
      }
    }
    for (const key of Object.keys(old)) if (!(key in current)) reasons.push(`${what} ${key} was removed`);
  };
  compare('dep', before.deps, now.deps);
  compare('dataset', before.datasets, now.datasets);
  compare('param', before.params, now.params);
  compare('upstream stage', before.upstream, now.upstream);
  return reasons;
}
