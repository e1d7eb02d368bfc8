// What a stage may ask Slurm for, in Slurm's own spellings: memory as sbatch's
// --mem takes it and time limits as -t takes them. The manifest checks the
// values with these parsers (a diagnostic with the proposed spelling as its
// quick fix), and submit() checks them again before sbatch sees them. Values
// Slurm would read differently than a person meant ('16gb', '2 hours') are
// refused with the spelling that says it, never guessed at.

/** What a job asks Slurm for: sbatch's options, typed. */
export interface SlurmResources {
  /** --cpus-per-task. */
  readonly cpus?: number;
  /** --mem, in parseSlurmMemory's spellings (16G, 500M, or a number of megabytes). */
  readonly memory?: string | number;
  /** --gres=gpu:N. */
  readonly gpus?: number;
  /** -t, in parseSlurmTime's spellings (90, 1:30:00, 2-00:00:00). */
  readonly time?: string | number;
  /** -p: one partition, or several separated by commas (the first that can start it). */
  readonly partition?: string;
  /** More sbatch options, as separate arguments (`--account=x`, `--qos=y`); the ones Sluice sets itself are refused. */
  readonly extra?: readonly string[];
}

/** A parse that either gives the value or says why not, with the spelling to propose when there is one. */
export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly message: string; readonly suggestion: string | undefined };

export interface SlurmMemory {
  /** As sbatch's --mem takes it: a whole number with K, M, G or T (M when given as a bare number). */
  readonly text: string;
  readonly mebibytes: number;
}

export interface SlurmTime {
  /** As sbatch's -t takes it (the spelling given, trimmed; UNLIMITED for no limit). */
  readonly text: string;
  /** Infinity for UNLIMITED. */
  readonly seconds: number;
}

const MEMORY_UNITS: Readonly<Record<string, number>> = { K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 };

/**
 * Memory as Slurm takes it: `16G`, `500M`, `1T`, `512K`, or a number of
 * megabytes (16000). Slurm documents one letter, K, M, G or T, after a whole
 * number (and reads lower case alike); `16gb`, `16 GB`, `16GiB` and `1.5G`
 * are refused with the spelling that means the same.
 */
export function parseSlurmMemory(value: string | number): Parsed<SlurmMemory> {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value > 0) return ok({ text: `${value}M`, mebibytes: value });
    return refuse(`Memory must be a whole number of megabytes above 0, not ${value}.`, undefined);
  }
  const text = value.trim();
  const exact = /^(\d+)([KMGTkmgt])?$/.exec(text);
  if (exact) {
    const amount = Number(exact[1]);
    const unit = (exact[2] ?? 'M').toUpperCase();
    if (amount === 0)
      return refuse(
        'Memory 0 asks Slurm for all the memory of the node; give an amount, such as 16G.',
        undefined,
      );
    return ok({ text: `${amount}${unit}`, mebibytes: amount * MEMORY_UNITS[unit]! });
  }
  // A person's spelling of an amount: a number, then a unit Slurm does not spell that way.
  const loose = /^(\d+(?:\.\d+)?)\s*([KMGTkmgt])(?:i?[Bb])?$/.exec(text);
  if (loose) {
    const unit = loose[2]!.toUpperCase();
    const suggestion = wholeMemory(Number(loose[1]) * MEMORY_UNITS[unit]!);
    if (suggestion !== undefined)
      return refuse(
        `Slurm writes memory as a whole number and one letter: ${suggestion}, not \`${text}\`.`,
        suggestion,
      );
  }
  return refuse(
    `\`${text}\` is not a memory size Slurm reads: write a whole number and K, M, G or T, such as 16G or 500M.`,
    undefined,
  );
}

/** An amount of MiB in the largest unit that keeps it whole: 1536 → 1536M, 2048 → 2G. */
function wholeMemory(mebibytes: number): string | undefined {
  if (!(mebibytes > 0)) return undefined;
  for (const unit of ['T', 'G', 'M', 'K']) {
    const amount = mebibytes / MEMORY_UNITS[unit]!;
    if (Number.isInteger(amount)) return `${amount}${unit}`;
  }
  return undefined;
}

/**
 * A time limit in one of Slurm's formats: minutes (`90`, or the number 90),
 * `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS`, or UNLIMITED. A field
 * after the first stays below 60 (hours below 24): `1:75:00` is refused as
 * `2:15:00`. Words (`2 hours`, `90m`, `1h30m`) are refused with the format
 * that says the same.
 */
export function parseSlurmTime(value: string | number): Parsed<SlurmTime> {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value > 0) return ok({ text: String(value), seconds: value * 60 });
    return refuse(`A time limit in minutes must be a whole number above 0, not ${value}.`, undefined);
  }
  const text = value.trim();
  if (/^(UNLIMITED|INFINITE)$/i.test(text)) return ok({ text: 'UNLIMITED', seconds: Infinity });
  const fields = slurmTimeFields(text);
  if (fields !== undefined) {
    const { days, hours, minutes, seconds } = fields;
    const total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds;
    if (total === 0)
      return refuse(
        'A time limit of 0 means no limit to Slurm; write UNLIMITED if that is meant.',
        'UNLIMITED',
      );
    if (!fields.inRange) {
      const suggestion = formatSlurmTime(total);
      return refuse(
        `\`${text}\` has a field out of range: Slurm's spelling of that time is ${suggestion}.`,
        suggestion,
      );
    }
    return ok({ text, seconds: total });
  }
  const worded = wordedSeconds(text);
  if (worded !== undefined && worded > 0) {
    const suggestion = formatSlurmTime(worded);
    return refuse(`Slurm does not read \`${text}\` as a time limit: write ${suggestion}.`, suggestion);
  }
  return refuse(
    `\`${text}\` is not a Slurm time limit: write minutes (90), MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS.`,
    undefined,
  );
}

interface TimeFields {
  readonly days: number;
  readonly hours: number;
  readonly minutes: number;
  readonly seconds: number;
  /** Whether every field after the first is within its clock range. */
  readonly inRange: boolean;
}

function slurmTimeFields(text: string): TimeFields | undefined {
  const withDays = /^(\d+)-(\d+)(?::(\d+)(?::(\d+))?)?$/.exec(text);
  if (withDays) {
    const [days, hours, minutes, seconds] = [1, 2, 3, 4].map((index) => Number(withDays[index] ?? 0)) as [
      number,
      number,
      number,
      number,
    ];
    return { days, hours, minutes, seconds, inRange: hours < 24 && minutes < 60 && seconds < 60 };
  }
  const clock = /^(\d+)(?::(\d+)(?::(\d+))?)?$/.exec(text);
  if (!clock) return undefined;
  const parts = [clock[1], clock[2], clock[3]].filter((part) => part !== undefined).map(Number);
  // Slurm reads one number as minutes, two as MM:SS, three as HH:MM:SS.
  if (parts.length === 1) return { days: 0, hours: 0, minutes: parts[0]!, seconds: 0, inRange: true };
  if (parts.length === 2)
    return { days: 0, hours: 0, minutes: parts[0]!, seconds: parts[1]!, inRange: parts[1]! < 60 };
  return {
    days: 0,
    hours: parts[0]!,
    minutes: parts[1]!,
    seconds: parts[2]!,
    inRange: parts[1]! < 60 && parts[2]! < 60,
  };
}

const WORD_SECONDS: readonly (readonly [RegExp, number])[] = [
  [/^(d|days?)$/, 86_400],
  [/^(h|hrs?|hours?)$/, 3600],
  [/^(m|mins?|minutes?)$/, 60],
  [/^(s|secs?|seconds?)$/, 1],
];

/** `2 hours`, `1h30m`, `1.5h`, `90 min`: the seconds they say, or undefined for anything else. */
function wordedSeconds(text: string): number | undefined {
  const parts = [...text.toLowerCase().matchAll(/(\d+(?:\.\d+)?)\s*([a-z]+)\s*,?\s*(?:and\s+)?/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== text.toLowerCase()) return undefined;
  let total = 0;
  for (const part of parts) {
    const unit = WORD_SECONDS.find(([pattern]) => pattern.test(part[2]!));
    if (unit === undefined) return undefined;
    total += Number(part[1]) * unit[1];
  }
  return Math.round(total);
}

/** Seconds in Slurm's spelling: minutes when whole and under an hour, else H:MM:SS or D-HH:MM:SS. */
export function formatSlurmTime(seconds: number): string {
  if (seconds === Infinity) return 'UNLIMITED';
  const whole = Math.ceil(seconds);
  const days = Math.floor(whole / 86_400);
  const hours = Math.floor((whole % 86_400) / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = whole % 60;
  const two = (n: number): string => String(n).padStart(2, '0');
  if (days > 0) return `${days}-${two(hours)}:${two(minutes)}:${two(rest)}`;
  if (hours > 0) return `${hours}:${two(minutes)}:${two(rest)}`;
  return rest === 0 ? String(minutes) : `${minutes}:${two(rest)}`;
}

function ok<T>(value: T): Parsed<T> {
  return { ok: true, value };
}

function refuse<T>(message: string, suggestion: string | undefined): Parsed<T> {
  return { ok: false, message, suggestion };
}
