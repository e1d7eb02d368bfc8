// What Slurm says about a job, read from each place that may still know it:
// the controller (squeue), accounting (sacct), the job completion log
// (JobCompLoc, jobcomp/filetxt) and the marker Sluice's wrapper writes beside
// the job's output. Pure parsing and wording; src/core/process/slurm.ts runs
// the commands.
import { constants } from 'node:os';
import { SluiceError } from '../errors';

/** Slurm's job states (squeue(1), JOB STATE CODES), and UNKNOWN when nothing remembers the job. */
export const SLURM_JOB_STATES = [
  'PENDING',
  'CONFIGURING',
  'RUNNING',
  'SUSPENDED',
  'COMPLETING',
  'STOPPED',
  'SIGNALING',
  'STAGE_OUT',
  'RESIZING',
  'REQUEUED',
  'REQUEUE_FED',
  'REQUEUE_HOLD',
  'SPECIAL_EXIT',
  'RESV_DEL_HOLD',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'TIMEOUT',
  'OUT_OF_MEMORY',
  'NODE_FAIL',
  'BOOT_FAIL',
  'DEADLINE',
  'PREEMPTED',
  'REVOKED',
  'UNKNOWN',
] as const;

export type SlurmJobState = (typeof SLURM_JOB_STATES)[number];

/** States a job does not leave (a requeued job comes back as PENDING first). UNKNOWN is not one: it may be a lost record. */
const ENDED: ReadonlySet<SlurmJobState> = new Set<SlurmJobState>([
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'TIMEOUT',
  'OUT_OF_MEMORY',
  'NODE_FAIL',
  'BOOT_FAIL',
  'DEADLINE',
  'PREEMPTED',
  'REVOKED',
]);

/** Where a job's state was read. */
export type SlurmStateSource = 'controller' | 'accounting' | 'marker' | 'jobcomp' | 'nowhere';

export interface SlurmJobStatus {
  readonly id: string;
  readonly state: SlurmJobState;
  /**
   * Slurm's reason: why a pending job waits (Dependency, Resources,
   * PartitionConfig, …) or why a job ended as it did
   * (DependencyNeverSatisfied, ExceededMemoryLimit); undefined for None.
   */
  readonly reason: string | undefined;
  /** The command's exit code, once the job ended and it is known. */
  readonly exitCode: number | undefined;
  /** The signal that ended the job's script, when one did (9 for SIGKILL). */
  readonly signal: number | undefined;
  /** Time the job has run (running) or ran (ended), when known. */
  readonly elapsedSeconds: number | undefined;
  readonly source: SlurmStateSource;
}

export function isEnded(status: SlurmJobStatus): boolean {
  return ENDED.has(status.state);
}

export function stateOf(word: string): SlurmJobState {
  // sacct writes "CANCELLED by 0"; anything unknown to this list is kept as UNKNOWN.
  const head = word.trim().split(/\s+/)[0]?.replace(/\+$/, '') ?? '';
  return (SLURM_JOB_STATES as readonly string[]).includes(head) ? (head as SlurmJobState) : 'UNKNOWN';
}

/** The squeue -O fields jobStates asks for, in order, each followed by SEPARATOR. */
export const SQUEUE_FIELDS = ['JobID', 'State', 'Reason', 'exit_code', 'TimeUsed'] as const;
export const SEPARATOR = '|';

/** One squeue line (`SQUEUE_FIELDS` joined by `|`), or undefined for a line that is not one. */
export function parseSqueueLine(line: string): SlurmJobStatus | undefined {
  const fields = line.split(SEPARATOR).map((field) => field.trim());
  const [id, state, reason, exit, used] = fields;
  if (id === undefined || !/^\d+(_\d+)?$/.test(id) || state === undefined) return undefined;
  const status = stateOf(state);
  // exit_code is the raw wait status: the exit code in the high byte, a signal in the low bits.
  const raw = Number(exit);
  const ended = ENDED.has(status) && Number.isInteger(raw);
  return {
    id,
    state: status,
    reason: reasonOf(reason),
    exitCode: ended && (raw & 0x7f) === 0 ? raw >> 8 : undefined,
    signal: ended && (raw & 0x7f) !== 0 ? raw & 0x7f : undefined,
    // A pending job shows 0:00; it has run no time, which is not a duration.
    elapsedSeconds: status === 'PENDING' ? undefined : durationSeconds(used ?? ''),
    source: 'controller',
  };
}

/** sacct -n -P -X -o JobIDRaw,State,ExitCode,ElapsedRaw,Reason lines, for the ids asked about. */
export function parseSacct(text: string, wanted: ReadonlySet<string>): Map<string, SlurmJobStatus> {
  const found = new Map<string, SlurmJobStatus>();
  for (const line of text.split('\n')) {
    const [id, state, exit, elapsed, reason] = line.split('|');
    if (id === undefined || !wanted.has(id) || state === undefined) continue;
    const code = exitPair(exit ?? '');
    found.set(id, {
      id,
      state: stateOf(state),
      reason: reasonOf(reason),
      exitCode: code?.signal === 0 ? code.exitCode : undefined,
      signal: code !== undefined && code.signal !== 0 ? code.signal : undefined,
      elapsedSeconds: /^\d+$/.test(elapsed ?? '') ? Number(elapsed) : undefined,
      source: 'accounting',
    });
  }
  return found;
}

/**
 * One line of jobcomp/filetxt's JobCompLoc (`JobId=12 … JobState=FAILED …
 * ExitCode=3:0`). A job's name comes before JobState and may hold spaces, so
 * the last match of each key is the real one.
 */
export function parseJobCompLine(line: string): SlurmJobStatus | undefined {
  const id = /^JobId=(\d+)\s/.exec(line)?.[1];
  if (id === undefined) return undefined;
  const last = (key: string): string | undefined => {
    const matches = [...line.matchAll(new RegExp(`(?:^|\\s)${key}=(\\S*)`, 'g'))];
    return matches.at(-1)?.[1];
  };
  const code = exitPair(last('ExitCode') ?? '');
  const start = localTime(last('StartTime'));
  const end = localTime(last('EndTime'));
  return {
    id,
    state: stateOf(last('JobState') ?? ''),
    reason: undefined,
    exitCode: code?.signal === 0 ? code.exitCode : undefined,
    signal: code !== undefined && code.signal !== 0 ? code.signal : undefined,
    elapsedSeconds: start !== undefined && end !== undefined ? Math.max(0, (end - start) / 1000) : undefined,
    source: 'jobcomp',
  };
}

/**
 * The wrapper's marker (`JOBID STATUS`), when it is this job's: the command
 * ended with that status, where a shell writes 128+N for a command killed by
 * signal N (a segfault, the kernel's OOM killer).
 */
export function parseMarker(text: string, id: string): SlurmJobStatus | undefined {
  const match = /^(\S+) (\d+)\s*$/.exec(text);
  if (!match || match[1] !== id) return undefined;
  const status = Number(match[2]);
  return {
    id,
    state: status === 0 ? 'COMPLETED' : 'FAILED',
    reason: undefined,
    exitCode: status > 128 ? undefined : status,
    signal: status > 128 ? status - 128 : undefined,
    elapsedSeconds: undefined,
    source: 'marker',
  };
}

/** Nothing that was asked remembers the job. */
export function unknownStatus(id: string): SlurmJobStatus {
  return {
    id,
    state: 'UNKNOWN',
    reason: undefined,
    exitCode: undefined,
    signal: undefined,
    elapsedSeconds: undefined,
    source: 'nowhere',
  };
}

/**
 * What slurmstepd writes into a job's output when it kills a step for its
 * memory: without cgroups (jobacct_gather's OverMemoryKill) Slurm records
 * such a job as FAILED by SIGKILL, and this line is the only account of why;
 * with cgroups it counts OOM kills and the state is OUT_OF_MEMORY already.
 */
export const MEMORY_KILL = /Exceeded (job|step) memory limit|exceeded memory limit \(|oom[-_ ]kill event/i;

/** A job Slurm recorded as FAILED by a signal, reread as out of memory when its output says slurmstepd killed it for that. */
export function withMemoryKill(status: SlurmJobStatus, outputTail: string): SlurmJobStatus {
  if (status.state !== 'FAILED' || status.signal === undefined) return status;
  if (!MEMORY_KILL.test(outputTail)) return status;
  return { ...status, state: 'OUT_OF_MEMORY', reason: 'ExceededMemoryLimit' };
}

/** How an ended job ended, in the words a user reads in a run's log; a job still going says so. */
export function describeEnd(status: SlurmJobStatus): string {
  switch (status.state) {
    case 'COMPLETED':
      return 'completed';
    case 'FAILED':
      if (status.exitCode !== undefined && status.exitCode !== 0) return `exit code ${status.exitCode}`;
      if (status.signal !== undefined) return `killed by ${signalName(status.signal)}`;
      if (status.reason === 'JobLaunchFailure') return 'the job could not be launched';
      return 'failed';
    case 'CANCELLED':
      return status.reason === 'DependencyNeverSatisfied' ? 'dependency never satisfied' : 'cancelled';
    case 'TIMEOUT':
      return 'time limit';
    case 'OUT_OF_MEMORY':
      return 'out of memory';
    case 'NODE_FAIL':
      return 'node failure';
    case 'BOOT_FAIL':
      return 'node failed to boot';
    case 'DEADLINE':
      return 'deadline passed';
    case 'PREEMPTED':
      return 'preempted';
    case 'REVOKED':
      return 'revoked (it ran on another cluster)';
    case 'UNKNOWN':
      return 'unknown: Slurm has no record of the job';
    case 'PENDING':
      return status.reason === undefined ? 'pending' : `pending (${status.reason})`;
    default:
      return status.state.toLowerCase().replace(/_/g, ' ');
  }
}

/**
 * Pending reasons that do not clear by waiting: the job asks for more than
 * the partition's nodes have, or for what its account or QOS may never get.
 * A cluster without EnforcePartLimits accepts such a job and keeps it pending.
 */
const NEVER_RUNS: readonly RegExp[] = [
  /^PartitionConfig$/,
  /^PartitionNodeLimit$/,
  /^PartitionTimeLimit$/,
  /^BadConstraints$/,
  /^InvalidAccount$/,
  /^InvalidQOS$/,
  /^QOSMax\w*PerJob(Limit)?$/,
  /^AssocMax\w*PerJob(Limit)?$/,
];

/** slurm-unsatisfiable for a pending job Slurm will never start; undefined for any other. */
export function unrunnable(status: SlurmJobStatus, name?: string): SluiceError | undefined {
  if (status.state !== 'PENDING' || status.reason === undefined) return undefined;
  if (!NEVER_RUNS.some((pattern) => pattern.test(status.reason!))) return undefined;
  const job = name === undefined ? `Job ${status.id}` : `Job ${status.id} ('${name}')`;
  return new SluiceError(
    `${job} can never start: Slurm keeps it pending with reason ${status.reason}.`,
    'failed',
    'Ask for no more CPUs, memory, GPUs or time than one node of the partition has (`sinfo -N -l` lists them), then run again.',
    { code: 'slurm-unsatisfiable', data: { job: status.id, name: name ?? null, reason: status.reason } },
  );
}

function reasonOf(reason: string | undefined): string | undefined {
  const text = reason?.trim().replace(/^\((.*)\)$/, '$1');
  return text === undefined || text === '' || text === 'None' ? undefined : text;
}

/** `3:0` (exit code 3) or `0:9` (SIGKILL), as scontrol, sacct and jobcomp write it. */
function exitPair(text: string): { exitCode: number; signal: number } | undefined {
  const match = /^(\d+):(\d+)$/.exec(text.trim());
  return match ? { exitCode: Number(match[1]), signal: Number(match[2]) } : undefined;
}

/** Slurm's durations: `M:SS`, `H:MM:SS`, `D-HH:MM:SS` (squeue %M, TimeUsed). */
export function durationSeconds(text: string): number | undefined {
  const match = /^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+)$/.exec(text.trim());
  if (!match) return undefined;
  const [days, hours, minutes, seconds] = [1, 2, 3, 4].map((index) => Number(match[index] ?? 0)) as [
    number,
    number,
    number,
    number,
  ];
  return ((days * 24 + hours) * 60 + minutes) * 60 + seconds;
}

/** A time Slurm wrote without a zone (2026-12-07T18:25:22): the commands print local time. */
function localTime(text: string | undefined): number | undefined {
  const match = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)$/.exec(text ?? '');
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return new Date(year, month - 1, day, hour, minute, second).getTime();
}

function signalName(signal: number): string {
  const name = Object.entries(constants.signals).find(([, number]) => number === signal)?.[0];
  return name ?? `signal ${signal}`;
}
