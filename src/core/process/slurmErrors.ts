// How the Slurm client's failures read: each Slurm command's complaint (its
// stderr, the only account of what went wrong) as a SluiceError with a stable
// slurm-* code, one line naming what happened and a next step. The words
// matched are Slurm's own, as 22.05 writes them.
import { SluiceError } from '../errors';
import type { SlurmResources } from './slurmResources';

/** The codes of this client's failures (not outcomes a face branches on yet; see OUTCOME_CODES). */
export const SLURM_ERROR_CODES = [
  /** a Slurm command is not on PATH; data: {command, path}. */
  'slurm-not-found',
  /** the controller did not answer, or a command could not reach it; data: {command, timeoutMs, output}. */
  'slurm-unreachable',
  /** sbatch refused the partition; data: {job, partition, output}. */
  'slurm-bad-partition',
  /** the job asks for what no node can give (at submission, or pending forever); data: {job, …}. */
  'slurm-unsatisfiable',
  /** sbatch refused the job for another reason; data: {job, output}. */
  'slurm-refused',
] as const;

export type SlurmErrorCode = (typeof SLURM_ERROR_CODES)[number];

/** What a command said, as the client's run() collects it. */
export interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The job a refusal names: its name and what it asked for. */
export interface RefusedJob {
  readonly name: string;
  readonly resources?: SlurmResources;
}

interface KnownRefusal {
  readonly pattern: RegExp;
  readonly code: SlurmErrorCode;
  readonly todo: string;
}

/** What Slurm's commands print when they cannot reach the controller (after their own retries). */
const UNREACHABLE =
  /Unable to contact slurm controller|Socket timed out|Zero Bytes were transmitted|Connection refused|Communication connection failure|Transport endpoint|Munge (en|de)code failed|Unable to establish/i;

/** sbatch's refusals, checked in order; the rest is slurm-refused. */
const SBATCH_REFUSALS: readonly KnownRefusal[] = [
  {
    pattern: /invalid partition|Invalid partition name/i,
    code: 'slurm-bad-partition',
    todo: 'List the partitions with `sinfo -s` and name one of them.',
  },
  {
    pattern:
      /Requested node configuration is not available|Memory specification can not be satisfied|Invalid generic resource|Invalid GRES|Requested time limit is invalid|CPU count per node can not be satisfied|More processors requested than permitted|Node count specification invalid|Requested partition configuration not available|Invalid feature specification|exceeds/i,
    code: 'slurm-unsatisfiable',
    todo: 'Ask for no more CPUs, memory, GPUs or time than one node of the partition has (`sinfo -N -l` lists them), then run again.',
  },
];

/** sbatch's refusal of a job, as the slurm-* failure it is. */
export function sbatchFailure(job: RefusedJob, ran: Ran, timeoutMs: number): SluiceError {
  const said = lines(ran.stderr);
  // Slurm's words without its prefixes ("sbatch: error: Batch job submission failed: …"), each once.
  const words = [...new Set(said.map((line) => plain(line).replace(/^Batch job submission failed: /i, '')))];
  const reason = words.join('; ') || `exit code ${String(ran.code)}`;
  // The first line is the specific one ("Memory specification can not be satisfied"), the last a summary.
  const first = words[0] ?? reason;
  if (said.some((line) => UNREACHABLE.test(line))) return commandFailure('sbatch', ran, timeoutMs);
  const known = SBATCH_REFUSALS.find((refusal) => said.some((line) => refusal.pattern.test(line)));
  const data = { job: job.name, output: said };
  if (known?.code === 'slurm-bad-partition')
    return slurmError(
      known.code,
      job.resources?.partition === undefined
        ? `Slurm has no default partition for job '${job.name}' (sbatch: ${first}).`
        : `Slurm has no partition '${job.resources.partition}' for job '${job.name}'.`,
      { ...data, partition: job.resources?.partition ?? null },
      known.todo,
    );
  if (known !== undefined)
    return slurmError(
      known.code,
      `Slurm can never run job '${job.name}' as asked (${asked(job)}): ${first}.`,
      data,
      known.todo,
    );
  return slurmError('slurm-refused', `sbatch refused job '${job.name}': ${reason}.`, data);
}

/** A failed squeue, scancel or sbatch that is not a refusal of the job: unreachable, or Slurm's own words. */
export function commandFailure(command: string, ran: Ran, timeoutMs: number): SluiceError {
  const said = lines(ran.stderr);
  const reason = said.map(plain).at(-1) ?? `exit code ${String(ran.code)}`;
  if (said.some((line) => UNREACHABLE.test(line)))
    return slurmError(
      'slurm-unreachable',
      `\`${command}\` could not reach the Slurm controller: ${reason}.`,
      { command, timeoutMs, output: said },
    );
  return slurmError('slurm-refused', `\`${command}\` failed: ${reason}.`, { command, output: said });
}

/** A Slurm command that is not on PATH. */
export function notFound(command: string, path: string | undefined): SluiceError {
  return slurmError(
    'slurm-not-found',
    `\`${command}\` is not on PATH: running stages on Slurm needs its commands (sbatch, squeue, scancel).`,
    { command, path: path ?? null },
    'Run Sluice on a machine that submits to the cluster (a login node), or install the Slurm client there, then run again.',
  );
}

const NEXT_STEP: Readonly<Record<SlurmErrorCode, string>> = {
  'slurm-not-found': 'Install the Slurm client, then run again.',
  'slurm-unreachable':
    'Check that the controller runs and answers (`scontrol ping`) and that munged runs here, then run again.',
  'slurm-bad-partition': 'List the partitions with `sinfo -s` and name one of them.',
  'slurm-unsatisfiable': 'Ask for less, then run again.',
  'slurm-refused': "Fix what Slurm names (the job's resources or extra options), then run again.",
};

export function slurmError(
  code: SlurmErrorCode,
  message: string,
  data: Record<string, unknown>,
  hint?: string,
): SluiceError {
  return new SluiceError(message, 'failed', hint ?? NEXT_STEP[code], { code, data });
}

/** The resources a refused job asked for, in a few words. */
function asked(job: RefusedJob): string {
  const resources = job.resources ?? {};
  const count = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;
  const parts = [
    resources.cpus === undefined ? undefined : count(resources.cpus, 'CPU'),
    resources.memory === undefined ? undefined : `memory ${String(resources.memory)}`,
    resources.gpus === undefined ? undefined : count(resources.gpus, 'GPU'),
    resources.time === undefined ? undefined : `time ${String(resources.time)}`,
    resources.partition === undefined ? undefined : `partition ${resources.partition}`,
  ].filter((part) => part !== undefined);
  return parts.length === 0 ? 'the defaults' : parts.join(', ');
}

/** A line of Slurm's stderr without its `sbatch: error:` prefix. */
function plain(line: string): string {
  return line
    .replace(/^\w+: (error|fatal): /i, '')
    .replace(/^slurm_load_jobs error: /, '')
    .replace(/\.$/, '');
}

export function lines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

export function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
