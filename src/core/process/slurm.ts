// Sluice's client of a Slurm cluster: submit a stage as a batch job after its
// upstream jobs (afterok), read the states of many jobs in one squeue, cancel
// with one scancel. Every call runs Slurm's own commands (sbatch, squeue,
// scontrol, sacct, scancel) with an argument array, never a shell string, and
// a timeout: a controller that does not answer is `slurm-unreachable`, never
// a hang.
//
// Each job runs a small wrapper (wrapperScript) that runs the command and then
// writes its exit code to a marker beside the output file, so a job's end is
// known after the controller forgot it (MinJobAge) even on a cluster without
// accounting. jobStates asks, in order: the controller (squeue), the marker,
// accounting (sacct, when the cluster has it), the job completion log
// (JobCompLoc, when it is jobcomp/filetxt).
//
// For the runner: submit jobs in dependency order while their upstream jobs
// are still known to the controller. Slurm (22.05, seen here) counts a
// dependency on a job it no longer knows as satisfied, so an upstream that
// has ended must be checked (jobStates) before a downstream job names it.
import { spawn } from 'node:child_process';
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CancelledError, SluiceError } from '../errors';
import {
  commandFailure,
  formatSeconds,
  lines,
  notFound,
  sbatchFailure,
  slurmError,
  type Ran,
} from './slurmErrors';
import { formatSlurmTime, parseSlurmMemory, parseSlurmTime, type SlurmResources } from './slurmResources';
import {
  isEnded,
  parseJobCompLine,
  parseMarker,
  parseSacct,
  parseSqueueLine,
  SEPARATOR,
  SQUEUE_FIELDS,
  unknownStatus,
  withMemoryKill,
  type SlurmJobStatus,
} from './slurmStates';

interface SubmissionBase {
  /** --job-name: the stage's name, as squeue shows it. */
  readonly name: string;
  /** The folder the job runs in (absolute, or relative to this process's). */
  readonly chdir: string;
  /** Where the job's stdout and stderr go; the marker and a script's copy go beside it. */
  readonly outputFile: string;
  /** Jobs that must complete with exit code 0 first (afterok); a job that cannot run because of them is cancelled. */
  readonly dependencies?: readonly string[];
  readonly resources?: SlurmResources;
  /** Variables set for the job on top of the submitting environment. */
  readonly env?: Readonly<Record<string, string>>;
}

/** What the job runs: a command line for /bin/sh, or a batch script (its #SBATCH lines kept). */
export type SlurmSubmission = SubmissionBase &
  (
    | { readonly command: string; readonly script?: never }
    | { readonly script: string; readonly command?: never }
  );

/** A job to ask about: its id, with its output file when this client did not submit it (a run picked up again). */
export type SlurmJobRef = string | { readonly id: string; readonly outputFile: string };

export interface SlurmClientOptions {
  /** The environment of the Slurm commands: PATH finds them; SLURM_CONF and SBATCH_* apply. Default: this process's. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** How long one command may take before the controller counts as not answering. Default 30 s. */
  readonly timeoutMs?: number;
}

/** The wrapper's marker: `JOBID STATUS`, written when the command ends and Slurm did not stop the job. */
export function markerFile(outputFile: string): string {
  return `${outputFile}.exit`;
}

/** Where a batch script is copied at submission, as sbatch copies the script it is given. */
export function scriptCopy(outputFile: string): string {
  return `${outputFile}.script`;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** squeue -j takes a list; more ids than this go in several calls. */
const IDS_PER_CALL = 500;
/** How far back into JobCompLoc to look: Sluice follows jobs that ended recently. */
const JOBCOMP_SCAN_BYTES = 32 * 1024 * 1024;
const OUTPUT_TAIL_BYTES = 16 * 1024;
const JOB_ID = /^\d+(_\d+)?$/;

/** Options Sluice sets itself: from `extra` they would break what it reads back (the output, the marker, the order). */
const RESERVED_OPTIONS =
  /^(--wrap|--output|--error|--chdir|--parsable|--dependency|--kill-on-invalid-dep|--export|--job-name|--wait|--array)(=|$)|^-[oeDdJWa]/;

interface ClusterConfig {
  readonly accounting: boolean;
  readonly jobCompFile: string | undefined;
}

export class SlurmClient {
  /** The output file of each job this client submitted, for its marker and its last lines. */
  private readonly outputs = new Map<string, string>();
  private config: Promise<ClusterConfig> | undefined;

  constructor(private readonly options: SlurmClientOptions = {}) {}

  /** Submits the job with sbatch and returns its id. */
  async submit(job: SlurmSubmission, signal?: AbortSignal): Promise<string> {
    const chdir = resolve(job.chdir);
    const outputFile = resolve(chdir, job.outputFile);
    const args = [...sbatchResources(job), ...sbatchDependencies(job.dependencies ?? [])];
    mkdirSync(dirname(outputFile), { recursive: true });
    // A marker or an output left by an earlier run would be read as this job's end.
    for (const stale of [outputFile, markerFile(outputFile)]) rmSync(stale, { force: true });
    let directives: readonly string[] = [];
    let run: string;
    if (job.script !== undefined) {
      const text = readFileSync(resolve(chdir, job.script), 'utf8');
      directives = sbatchDirectives(text);
      writeFileSync(scriptCopy(outputFile), text, { mode: 0o755 });
      run = shellQuote(scriptCopy(outputFile));
    } else {
      run = `/bin/sh -c ${shellQuote(job.command)}`;
    }
    const ran = await this.run(
      'sbatch',
      [
        ...args,
        `--job-name=${job.name.replace(/\s+/g, ' ')}`,
        `--chdir=${chdir}`,
        // % starts sbatch's file-name patterns (%j); doubled it is a plain %.
        `--output=${outputFile.replace(/%/g, '%%')}`,
        `--error=${outputFile.replace(/%/g, '%%')}`,
        // The job gets the environment sbatch runs in: job.env is set there,
        // because --export's comma-separated list cannot carry a value with a comma.
        '--export=ALL',
        '--parsable',
      ],
      {
        input: wrapperScript(run, markerFile(outputFile), directives),
        // SBATCH_WAIT in the user's environment would make sbatch wait for the job to end.
        env: { ...job.env, SBATCH_WAIT: undefined },
        signal,
      },
    );
    if (ran.code !== 0) throw sbatchFailure(job, ran, this.timeoutMs);
    const id = /^(\d+(?:_\d+)?)(;\S*)?$/.exec(ran.stdout.trim().split('\n').at(-1) ?? '')?.[1];
    if (id === undefined)
      throw slurmError(
        'slurm-refused',
        `sbatch did not give a job id for '${job.name}': ${ran.stdout.trim()}`,
        {
          job: job.name,
          output: lines(ran.stdout + ran.stderr),
        },
      );
    this.outputs.set(id, outputFile);
    return id;
  }

  /**
   * The state of each job, in the order asked: one squeue for all of them
   * (a call per 500 ids), then, for the jobs the controller no longer knows,
   * the marker, sacct and the job completion log. A job none of them knows is
   * UNKNOWN. A job Slurm records as FAILED by a signal, whose output says
   * slurmstepd killed it for its memory, is OUT_OF_MEMORY. One status per
   * distinct id, in the order first asked. slurm-unreachable here is often
   * brief (a controller restarting, failing over): a runner asks again for a
   * while before it gives up on the jobs.
   */
  async jobStates(jobs: readonly SlurmJobRef[], signal?: AbortSignal): Promise<SlurmJobStatus[]> {
    const refs = new Map<string, string | undefined>();
    for (const job of jobs) {
      const id = typeof job === 'string' ? job : job.id;
      if (!JOB_ID.test(id)) throw new SluiceError(`'${id}' is not a Slurm job id.`, 'usage');
      refs.set(id, typeof job === 'string' ? this.outputs.get(id) : resolve(job.outputFile));
    }
    const found = new Map<string, SlurmJobStatus>();
    const ids = [...refs.keys()];
    for (let start = 0; start < ids.length; start += IDS_PER_CALL) {
      const chunk = ids.slice(start, start + IDS_PER_CALL);
      const ran = await this.run(
        'squeue',
        [
          '--noheader',
          '--states=all',
          `--jobs=${chunk.join(',')}`,
          `--Format=${SQUEUE_FIELDS.map((field) => `${field}:${SEPARATOR}`).join(',')}`,
        ],
        { signal },
      );
      // squeue fails this way when it knows none of the ids; it lists the known ones otherwise.
      if (ran.code !== 0 && /Invalid job id/i.test(ran.stderr)) continue;
      if (ran.code !== 0) throw commandFailure('squeue', ran, this.timeoutMs);
      for (const line of ran.stdout.split('\n')) {
        const status = parseSqueueLine(line);
        if (status !== undefined && refs.has(status.id)) found.set(status.id, status);
      }
    }
    const missing = (): string[] => ids.filter((id) => !found.has(id));
    // A marker with an exit code is the command's own end: nothing Slurm kept
    // says more. One for a command killed by a signal (its shell's 128+N) is
    // kept for last: Slurm's records may say why (OUT_OF_MEMORY under cgroups).
    const lastResort = new Map<string, SlurmJobStatus>();
    for (const id of missing()) {
      const output = refs.get(id);
      const marker = output === undefined ? undefined : parseMarker(readText(markerFile(output)) ?? '', id);
      if (marker?.signal !== undefined) lastResort.set(id, marker);
      else if (marker !== undefined) found.set(id, marker);
    }
    if (missing().length > 0) {
      const config = await this.clusterConfig(signal);
      if (config.accounting) {
        const ran = await this.run(
          'sacct',
          [
            '-n',
            '-P',
            '-X',
            `--jobs=${missing().join(',')}`,
            '--format=JobIDRaw,State,ExitCode,ElapsedRaw,Reason',
          ],
          { signal },
        ).catch((error: unknown) => {
          // A machine with squeue but no sacct: the other fallbacks remain.
          if (error instanceof SluiceError && error.code === 'slurm-not-found') return undefined;
          throw error;
        });
        if (ran?.code === 0)
          for (const [id, status] of parseSacct(ran.stdout, new Set(missing()))) found.set(id, status);
      }
      if (config.jobCompFile !== undefined && missing().length > 0)
        for (const [id, status] of scanJobComp(config.jobCompFile, new Set(missing()))) found.set(id, status);
    }
    return ids.map((id) => {
      const status = found.get(id) ?? lastResort.get(id) ?? unknownStatus(id);
      const output = refs.get(id);
      if (output === undefined || !isEnded(status) || status.signal === undefined) return status;
      return withMemoryKill(status, readTail(output, OUTPUT_TAIL_BYTES));
    });
  }

  /** Cancels the jobs with one scancel; jobs that have ended already, or that Slurm forgot, are not an error. */
  async cancel(ids: readonly string[], signal?: AbortSignal): Promise<void> {
    if (ids.length === 0) return;
    for (const id of ids)
      if (!JOB_ID.test(id)) throw new SluiceError(`'${id}' is not a Slurm job id.`, 'usage');
    const ran = await this.run('scancel', [...new Set(ids)], { signal });
    if (ran.code === 0) return;
    const errors = lines(ran.stderr).filter(
      (line) => !/already completing or completed|Invalid job id specified/i.test(line),
    );
    if (errors.length > 0) throw commandFailure('scancel', ran, this.timeoutMs);
  }

  private get timeoutMs(): number {
    return this.options.timeoutMs ?? timeoutFromEnvironment() ?? DEFAULT_TIMEOUT_MS;
  }

  /** What the controller says of accounting and JobCompLoc, asked once per client. */
  private clusterConfig(signal: AbortSignal | undefined): Promise<ClusterConfig> {
    this.config ??= this.run('scontrol', ['show', 'config'], { signal }).then(
      (ran) => {
        // Nothing is known without an answer, and nothing is kept: the next call asks again.
        if (ran.code !== 0) {
          this.config = undefined;
          return { accounting: false, jobCompFile: undefined };
        }
        const value = (key: string): string | undefined =>
          new RegExp(`^${key}\\s*=\\s*(.*)$`, 'm').exec(ran.stdout)?.[1]?.trim();
        return {
          accounting: !/accounting_storage\/none/.test(value('AccountingStorageType') ?? 'none'),
          jobCompFile: value('JobCompType') === 'jobcomp/filetxt' ? value('JobCompLoc') : undefined,
        };
      },
      (error: unknown) => {
        // Asked again next time: a controller that did not answer now may later.
        this.config = undefined;
        throw error;
      },
    );
    return this.config;
  }

  private run(
    command: string,
    args: readonly string[],
    options: {
      input?: string;
      env?: Readonly<Record<string, string | undefined>>;
      signal: AbortSignal | undefined;
    },
  ): Promise<Ran> {
    const timeoutMs = this.timeoutMs;
    const env = Object.fromEntries(
      Object.entries({ ...(this.options.env ?? process.env), ...options.env }).filter(
        (entry): entry is [string, string] => entry[1] !== undefined,
      ),
    );
    return new Promise((resolvePromise, reject) => {
      if (options.signal?.aborted) {
        reject(new CancelledError(`Slurm's ${command}`));
        return;
      }
      const child = spawn(command, args, {
        env,
        stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let failure: Error | undefined;
      const stop = (error: Error): void => {
        failure ??= error;
        child.kill('SIGKILL');
      };
      const timer = setTimeout(() => {
        stop(
          slurmError(
            'slurm-unreachable',
            `The Slurm controller did not answer \`${command}\` within ${formatSeconds(timeoutMs)}.`,
            { command, timeoutMs, output: [] },
          ),
        );
      }, timeoutMs);
      const onAbort = (): void => {
        stop(new CancelledError(`Slurm's ${command}`));
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
      child.stdin?.on('error', () => {
        // sbatch exits without reading its script when it refuses an option; its stderr says why.
      });
      child.stdin?.end(options.input);
      const finish = (): void => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
      };
      child.once('error', (error: NodeJS.ErrnoException) => {
        finish();
        reject(error.code === 'ENOENT' ? notFound(command, env['PATH']) : error);
      });
      child.once('close', (code) => {
        finish();
        if (failure !== undefined) reject(failure);
        else
          resolvePromise({
            code,
            stdout: Buffer.concat(stdout).toString('utf8'),
            stderr: Buffer.concat(stderr).toString('utf8'),
          });
      });
    });
  }
}

/**
 * The batch script sbatch is given: the user's #SBATCH lines (command-line
 * options win over them), the command, then its exit code written to the
 * marker, through a temporary file and a rename so a reader never sees half a
 * line. Slurm ends a job (scancel, time limit, preemption) by signalling
 * every process of it, this shell too: the shell then notes the signal, waits
 * for the command, writes no marker and dies of that signal, so Slurm's own
 * records say why it ended and the marker never claims an exit code for it.
 */
export function wrapperScript(run: string, marker: string, directives: readonly string[] = []): string {
  return [
    '#!/bin/sh',
    ...directives,
    '# Written by Sluice: runs the command, then records its exit code beside the',
    "# output file, so the result outlives the controller's memory of the job.",
    'signalled=',
    ...['HUP', 'INT', 'TERM'].map((name) => `trap 'signalled=${name}' ${name}`),
    run,
    'status=$?',
    'if [ -n "$signalled" ]; then trap - "$signalled"; kill -s "$signalled" $$; fi',
    `marker=${shellQuote(marker)}`,
    'printf \'%s %s\\n\' "$SLURM_JOB_ID" "$status" > "$marker.$SLURM_JOB_ID" && mv -f "$marker.$SLURM_JOB_ID" "$marker"',
    'exit "$status"',
    '',
  ].join('\n');
}

/** The #SBATCH lines at the top of a batch script, where sbatch reads them (up to the first command). */
export function sbatchDirectives(script: string): string[] {
  const directives: string[] = [];
  for (const line of script.split('\n').slice(script.startsWith('#!') ? 1 : 0)) {
    const text = line.trim();
    if (text === '') continue;
    if (!text.startsWith('#')) break;
    if (/^#SBATCH\s/.test(text)) directives.push(text);
  }
  return directives;
}

/** Why an extra sbatch option cannot be given, or undefined when it can (the manifest checks with this too). */
export function extraOptionProblem(option: string): string | undefined {
  if (!option.startsWith('-')) return 'give each option as it is written, starting with -';
  return RESERVED_OPTIONS.test(option) ? 'Sluice sets it itself' : undefined;
}

function sbatchResources(job: SlurmSubmission): string[] {
  const resources = job.resources ?? {};
  const args: string[] = [];
  for (const option of resources.extra ?? []) {
    if (!option.startsWith('-') || RESERVED_OPTIONS.test(option))
      throw invalid(
        job,
        `extra`,
        `\`${option}\` cannot be an extra sbatch option: ${option.startsWith('-') ? 'Sluice sets it itself' : 'give each option as it is written, starting with -'}.`,
      );
    args.push(option);
  }
  if (resources.cpus !== undefined) {
    if (!Number.isInteger(resources.cpus) || resources.cpus < 1)
      throw invalid(job, 'cpus', `cpus must be a whole number above 0, not ${resources.cpus}.`);
    args.push(`--cpus-per-task=${resources.cpus}`);
  }
  if (resources.memory !== undefined) {
    const memory = parseSlurmMemory(resources.memory);
    if (!memory.ok) throw invalid(job, 'memory', memory.message);
    args.push(`--mem=${memory.value.text}`);
  }
  if (resources.gpus !== undefined && resources.gpus !== 0) {
    if (!Number.isInteger(resources.gpus) || resources.gpus < 0)
      throw invalid(job, 'gpus', `gpus must be a whole number, not ${resources.gpus}.`);
    args.push(`--gres=gpu:${resources.gpus}`);
  }
  if (resources.time !== undefined) {
    const time = parseSlurmTime(resources.time);
    if (!time.ok) throw invalid(job, 'time', time.message);
    args.push(`--time=${formatSlurmTime(time.value.seconds)}`);
  }
  if (resources.partition !== undefined) {
    if (!/^[^\s,]+(,[^\s,]+)*$/.test(resources.partition))
      throw invalid(job, 'partition', `\`${resources.partition}\` is not a partition name.`);
    args.push(`--partition=${resources.partition}`);
  }
  return args;
}

function sbatchDependencies(dependencies: readonly string[]): string[] {
  if (dependencies.length === 0) return [];
  for (const id of dependencies)
    if (!JOB_ID.test(id)) throw new SluiceError(`'${id}' is not a Slurm job id to depend on.`, 'usage');
  return [`--dependency=afterok:${[...new Set(dependencies)].join(':')}`, '--kill-on-invalid-dep=yes'];
}

function invalid(job: SlurmSubmission, key: string, message: string): SluiceError {
  return new SluiceError(`Job '${job.name}': ${message}`, 'usage', undefined, {
    code: 'invalid-value',
    data: { job: job.name, key },
  });
}

/** SLUICE_SLURM_TIMEOUT (seconds): how long one Slurm command may take, for a slow site (or a test). */
function timeoutFromEnvironment(): number | undefined {
  const seconds = Number(process.env['SLUICE_SLURM_TIMEOUT']);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined;
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function readTail(path: string, bytes: number): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return '';
  }
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(bytes, size);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    return buffer.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * The last line of each wanted job in the job completion log, read backwards
 * from its end (jobs Sluice follows ended recently) in 64 KiB chunks, up to
 * JOBCOMP_SCAN_BYTES. A file this process cannot read gives nothing.
 */
function scanJobComp(path: string, wanted: ReadonlySet<string>): Map<string, SlurmJobStatus> {
  const found = new Map<string, SlurmJobStatus>();
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return found;
  }
  try {
    const size = fstatSync(fd).size;
    const floor = Math.max(0, size - JOBCOMP_SCAN_BYTES);
    let position = size;
    let carry = Buffer.alloc(0);
    while (position > floor && found.size < wanted.size) {
      const length = Math.min(64 * 1024, position - floor);
      position -= length;
      const chunk = Buffer.alloc(length);
      readSync(fd, chunk, 0, length, position);
      const buffer = Buffer.concat([chunk, carry]);
      // The first line may have begun in the chunk before this one: it waits for that chunk.
      let start = 0;
      if (position > floor) {
        const newline = buffer.indexOf(0x0a);
        if (newline === -1) {
          carry = buffer;
          continue;
        }
        carry = buffer.subarray(0, newline);
        start = newline + 1;
      }
      const text = buffer.subarray(start).toString('utf8').split('\n');
      for (let index = text.length - 1; index >= 0; index--) {
        const status = parseJobCompLine(text[index]!);
        if (status !== undefined && wanted.has(status.id) && !found.has(status.id))
          found.set(status.id, status);
      }
    }
  } finally {
    closeSync(fd);
  }
  return found;
}
