// What the runner remembers about each stage: the inputs and outputs of its
// last successful run, and its last failure. One file for the workspace,
// so a no-op `sluice run` reads one file, not one per stage. It is an index:
// the run cache (.sluice/runs/) holds every successful run on its own, so
// losing this file costs restores from the cache, never a wrong result.
import { hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../fs/atomicWrite';

/** Everything a stage's result depends on. Its digest is the run's signature. */
export interface StageInputs {
  /**
   * `pipeline.stage`: the command is told it (SLUICE_PIPELINE, SLUICE_STAGE),
   * so it is an input too; a renamed stage runs again rather than take another
   * stage's outputs. Absent in records written before it was.
   */
  readonly stage?: string;
  readonly run: string;
  /** Dep path → fingerprint (null: missing). */
  readonly deps: Readonly<Record<string, string | null>>;
  /** Dataset name → fingerprint of its files on disk (null: missing). */
  readonly datasets: Readonly<Record<string, string | null>>;
  /** Dotted key → value from the params file (null: missing). */
  readonly params: Readonly<Record<string, unknown>>;
  /** Upstream stage → the signature of its current outputs' run. */
  readonly upstream: Readonly<Record<string, string>>;
  /**
   * The declared outputs (metrics files included) and, of them, the metrics
   * files, sorted: what a run is asked to produce is part of its result, so a
   * changed declaration never matches a run (or a cache entry) made for another.
   * Absent in records written before they were part of the signature.
   */
  readonly outs?: readonly string[];
  readonly metrics?: readonly string[];
  /**
   * The folder the command runs in, and the outputs kept from the run before
   * (`persist`): both change what a run produces. Present only when set, so a
   * stage without them keeps the signature it had before they existed.
   */
  readonly wdir?: string;
  readonly persist?: readonly string[];
}

export interface StageSuccess {
  readonly signature: string;
  readonly inputs: StageInputs;
  /** Output path → fingerprint, as the run left them. */
  readonly outs: Readonly<Record<string, string>>;
  /** The run that produced the outputs (for a restore: the run that the cache entry came from). */
  readonly runId: string | undefined;
  readonly finishedAt: string;
  readonly restored: boolean;
  /** For a restore: when the run that produced the outputs finished. */
  readonly producedAt?: string | undefined;
}

export interface StageFailure {
  readonly signature: string;
  /**
   * Output path → fingerprint, as the failed run left them: bytes a run wrote,
   * cleared without being kept in the trash before the next run.
   */
  readonly outs?: Readonly<Record<string, string>>;
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

const HEADER = 'sluice-stages 3';
/** Summaries as JSON: read still, written again as format 3 by the next run that records something. */
const HEADER_2 = 'sluice-stages 2';

/** What deciding "up to date" needs of a stage's last success, without its whole record. */
export interface SuccessSummary {
  readonly signature: string;
  readonly outs: Readonly<Record<string, string>>;
  readonly runId: string | undefined;
}

/**
 * A stage's line in the file, kept as text until needed: a no-op run of
 * 5,000 stages reads every summary but no whole record.
 */
interface Line {
  /** The line's fields as read (format 3): the summary's are read from them when first asked. */
  fields?: readonly string[];
  /** The summary as JSON (format 2). */
  json?: string;
  /** The summary's fields as written (format 3), once known. */
  summaryText?: string;
  record: string;
  parsedSummary?: SuccessSummary | null;
  parsedRecord?: StageRecord;
}

/** Paths and fingerprints (a link's target) with a tab, a newline or a leading quote are written JSON-quoted. */
const NEEDS_QUOTES = /[\t\n\r]|^"/;

function quoted(text: string): string {
  return NEEDS_QUOTES.test(text) ? JSON.stringify(text) : text;
}

function unquoted(field: string): string {
  return field.startsWith('"') ? (JSON.parse(field) as string) : field;
}

/**
 * A summary as tab-separated fields, cheaper to read than JSON (a no-op run
 * reads one per stage): signature, run id, the number of outputs, then each
 * output's path and fingerprint. No success: an empty signature.
 */
function summaryFields(summary: SuccessSummary | null): string {
  if (summary === null) return '\t\t0';
  const outs = Object.entries(summary.outs);
  const pairs = outs.map(([path, fingerprint]) => `\t${quoted(path)}\t${quoted(fingerprint)}`).join('');
  return `${summary.signature}\t${summary.runId ?? ''}\t${outs.length}${pairs}`;
}

/** The summary in a line's fields (`S`, id, the summary's fields, the record); null when absent or damaged. */
function readSummaryFields(fields: readonly string[]): SuccessSummary | null {
  const signature = fields[2]!;
  const count = Number(fields[4]);
  if (signature === '' || fields.length !== 6 + 2 * count) return null;
  const outs: Record<string, string> = {};
  for (let at = 5; at < 5 + 2 * count; at += 2) outs[unquoted(fields[at]!)] = unquoted(fields[at + 1]!);
  const runId = fields[3]!;
  return { signature, outs, runId: runId === '' ? undefined : runId };
}

export function signatureOf(inputs: StageInputs): string {
  // One call, no Hash object: every decision makes one, for every stage.
  return hash('sha256', JSON.stringify(inputs), 'hex');
}

export class PipelineState {
  private readonly lines = new Map<string, Line>();
  private readonly checks = new Map<string, CheckRecord>();
  private dirty = false;

  private constructor(private readonly file: string) {}

  /**
   * The file: a header line, then one line per stage, `S <tab> id <tab>
   * success summary's fields (summaryFields) <tab> record JSON`, and per check
   * `C <tab> id as JSON <tab> record JSON`. In format 2 the summary was one
   * JSON field.
   */
  static load(file: string): PipelineState {
    const state = new PipelineState(file);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return state; // every stage is looked up in the run cache instead
    }
    const lines = text.split('\n');
    const format = lines[0] === HEADER ? 3 : lines[0] === HEADER_2 ? 2 : undefined;
    if (format === undefined) return state;
    for (let i = 1; i < lines.length; i++) {
      const fields = lines[i]!.split('\t');
      if (fields[0] === 'S' && format === 3 && fields.length >= 6) {
        state.lines.set(fields[1]!, { fields, record: fields[fields.length - 1]! });
      } else if (fields[0] === 'S' && format === 2 && fields.length === 4) {
        state.lines.set(fields[1]!, { json: fields[2]!, record: fields[3]! });
      } else if (fields[0] === 'C' && fields.length === 3) {
        try {
          state.checks.set(JSON.parse(fields[1]!) as string, JSON.parse(fields[2]!) as CheckRecord);
        } catch {
          // A damaged line only costs running that check again.
        }
      }
    }
    return state;
  }

  get(id: string): StageRecord | undefined {
    const line = this.lines.get(id);
    if (!line) return undefined;
    try {
      line.parsedRecord ??= JSON.parse(line.record) as StageRecord;
    } catch {
      line.parsedRecord = {};
    }
    return line.parsedRecord;
  }

  /** The signature and outputs of the last success, read without the rest of the record. */
  lastSuccess(id: string): SuccessSummary | undefined {
    const line = this.lines.get(id);
    if (!line) return undefined;
    if (line.parsedSummary === undefined) {
      try {
        line.parsedSummary = line.fields
          ? readSummaryFields(line.fields)
          : (JSON.parse(line.json ?? 'null') as SuccessSummary | null);
      } catch {
        line.parsedSummary = null;
      }
    }
    return line.parsedSummary ?? undefined;
  }

  succeeded(id: string, success: StageSuccess): void {
    this.set(id, { success });
  }

  /** A failure keeps the last success: its outputs are still in the cache and may come back. */
  failed(id: string, failure: StageFailure): void {
    const success = this.get(id)?.success;
    this.set(id, success ? { success, failure } : { failure });
  }

  private set(id: string, record: StageRecord): void {
    const summary: SuccessSummary | null = record.success
      ? { signature: record.success.signature, outs: record.success.outs, runId: record.success.runId }
      : null;
    this.lines.set(id, {
      summaryText: summaryFields(summary),
      record: JSON.stringify(record),
      parsedSummary: summary,
      parsedRecord: record,
    });
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

  save(): void {
    if (!this.dirty) return;
    // JSON never holds a raw tab or newline, so neither can break a line.
    const lines = [HEADER];
    for (const [id, line] of this.lines) {
      // Lines read and not changed keep their fields; one read as format 2 is written as format 3.
      line.summaryText ??= line.fields
        ? line.fields.slice(2, -1).join('\t')
        : summaryFields(this.lastSuccess(id) ?? null);
      lines.push(`S\t${id}\t${line.summaryText}\t${line.record}`);
    }
    // Check names are free text: the id is JSON-quoted.
    for (const [id, record] of this.checks) lines.push(`C\t${JSON.stringify(id)}\t${JSON.stringify(record)}`);
    writeFileAtomic(this.file, lines.join('\n') + '\n');
    this.dirty = false;
  }
}

/** Why a stage's inputs differ from those of its last successful run, in words. */
export function describeChanges(before: StageInputs, now: StageInputs): string[] {
  const reasons: string[] = [];
  if (before.run !== now.run) reasons.push('its command changed');
  if ((before.wdir ?? '') !== (now.wdir ?? '')) reasons.push('its wdir changed');
  if (JSON.stringify(before.persist ?? []) !== JSON.stringify(now.persist ?? []))
    reasons.push('which outputs persist changed');
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
  if (before.outs === undefined) {
    reasons.push('its outputs were recorded by an older sluice, before they were part of the signature');
  } else {
    const declared = (list: readonly string[] | undefined): Record<string, boolean> =>
      Object.fromEntries((list ?? []).map((path) => [path, true]));
    compare('output', declared(before.outs), declared(now.outs));
    const wasOut = declared(before.outs);
    const wasMetric = declared(before.metrics);
    const isMetric = declared(now.metrics);
    for (const path of now.outs ?? []) {
      if (wasOut[path] !== true) continue;
      if (wasMetric[path] === true && isMetric[path] !== true)
        reasons.push(`${path} is no longer a metrics file`);
      if (wasMetric[path] !== true && isMetric[path] === true) reasons.push(`${path} became a metrics file`);
    }
  }
  return reasons;
}
