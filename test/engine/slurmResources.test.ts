// Slurm's spellings, without a cluster: the memory and time parsers the
// manifest will use (generated variants of every accepted format, and of the
// spellings people write instead, each refused with one that parses back to
// the same amount), and the parsing of what squeue, jobcomp and the wrapper's
// marker say about a job.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sbatchDirectives } from '../../src/core/process/slurm';
import { formatSlurmTime, parseSlurmMemory, parseSlurmTime } from '../../src/core/process/slurmResources';
import {
  describeEnd,
  durationSeconds,
  parseJobCompLine,
  parseMarker,
  parseSqueueLine,
  unknownStatus,
  unrunnable,
  withMemoryKill,
  type SlurmJobStatus,
} from '../../src/core/process/slurmStates';
import { seededRandom } from '../../src/core/seededRandom';

const random = seededRandom(17);
const integer = (low: number, high: number): number => low + Math.floor(random() * (high - low + 1));
const pick = <T>(items: readonly T[]): T => items[integer(0, items.length - 1)]!;
const two = (n: number): string => String(n).padStart(2, '0');
const FACTOR: Readonly<Record<string, number>> = { K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 };

function accepted<T>(parsed: { ok: true; value: T } | { ok: false; message: string }, input: unknown): T {
  assert.ok(parsed.ok, `${String(input)} is accepted${parsed.ok ? '' : `: ${parsed.message}`}`);
  return parsed.value;
}

void describe('parseSlurmMemory', () => {
  test('the examples: 16G, 500M, 1T and 16000 are accepted; 16gb and 16 GB propose 16G', () => {
    assert.deepEqual(accepted(parseSlurmMemory('16G'), '16G'), { text: '16G', mebibytes: 16384 });
    assert.deepEqual(accepted(parseSlurmMemory('500M'), '500M'), { text: '500M', mebibytes: 500 });
    assert.deepEqual(accepted(parseSlurmMemory('1T'), '1T'), { text: '1T', mebibytes: 1048576 });
    assert.deepEqual(accepted(parseSlurmMemory(16000), 16000), { text: '16000M', mebibytes: 16000 });
    for (const written of ['16gb', '16 GB', '16GiB', '16 g']) {
      const parsed = parseSlurmMemory(written);
      assert.ok(!parsed.ok, written);
      assert.equal(parsed.suggestion, '16G', written);
      assert.match(parsed.message, /16G, not `16/);
    }
  });

  test('generated: every amount in every unit, upper or lower case, and people spellings refused', () => {
    for (let round = 0; round < 400; round++) {
      const amount = integer(1, 200_000);
      const unit = pick(['K', 'M', 'G', 'T']);
      const written = `${amount}${random() < 0.3 ? unit.toLowerCase() : unit}`;
      assert.deepEqual(accepted(parseSlurmMemory(written), written), {
        text: `${amount}${unit}`,
        mebibytes: amount * FACTOR[unit]!,
      });
      const loose = pick([
        `${amount}${unit}B`,
        `${amount} ${unit}B`,
        `${amount}${unit.toLowerCase()}b`,
        `${amount}${unit}iB`,
      ]);
      const refused = parseSlurmMemory(loose);
      assert.ok(!refused.ok, loose);
      assert.ok(refused.suggestion !== undefined, `${loose} gets a proposal`);
      assert.equal(
        accepted(parseSlurmMemory(refused.suggestion), refused.suggestion).mebibytes,
        amount * FACTOR[unit]!,
      );
    }
  });

  test('fractions become a whole smaller unit; zero, negatives and words are refused', () => {
    const fraction = parseSlurmMemory('1.5G');
    assert.ok(!fraction.ok);
    assert.equal(fraction.suggestion, '1536M');
    const zero = parseSlurmMemory('0');
    assert.ok(!zero.ok);
    assert.match(zero.message, /all the memory of the node/);
    for (const bad of ['-1G', '', 'lots', 'G', '16 G B', '16Q'] as const) {
      const parsed = parseSlurmMemory(bad);
      assert.ok(!parsed.ok, bad);
      assert.equal(parsed.suggestion, undefined, bad);
    }
    for (const bad of [0, -5, 1.5, Number.NaN]) assert.ok(!parseSlurmMemory(bad).ok, String(bad));
  });
});

void describe('parseSlurmTime', () => {
  test("the examples: '90', '1:30:00', '2-00:00:00' and '30:00' are accepted; '2 hours' proposes 2:00:00", () => {
    assert.equal(accepted(parseSlurmTime('90'), '90').seconds, 5400);
    assert.equal(accepted(parseSlurmTime('1:30:00'), '1:30:00').seconds, 5400);
    assert.equal(accepted(parseSlurmTime('2-00:00:00'), '2-00:00:00').seconds, 172_800);
    assert.equal(accepted(parseSlurmTime('30:00'), '30:00').seconds, 1800, 'MM:SS: thirty minutes');
    assert.equal(accepted(parseSlurmTime(90), 90).seconds, 5400, 'a YAML number is minutes');
    const hours = parseSlurmTime('2 hours');
    assert.ok(!hours.ok);
    assert.equal(hours.suggestion, '2:00:00');
    assert.match(hours.message, /write 2:00:00/);
  });

  test('generated: each of the six formats of one duration gives the same seconds', () => {
    for (let round = 0; round < 400; round++) {
      const [days, hours, minutes, seconds] = [
        integer(0, 30),
        integer(0, 23),
        integer(0, 59),
        integer(0, 59),
      ];
      const total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds;
      if (total === 0) continue;
      const spellings = [`${days}-${two(hours)}:${two(minutes)}:${two(seconds)}`];
      if (seconds === 0) spellings.push(`${days}-${two(hours)}:${two(minutes)}`);
      if (seconds === 0 && minutes === 0) spellings.push(`${days}-${hours}`);
      if (days === 0) spellings.push(`${hours}:${two(minutes)}:${two(seconds)}`);
      if (days === 0) spellings.push(`${hours * 60 + minutes}:${two(seconds)}`);
      if (seconds === 0) spellings.push(String((days * 24 + hours) * 60 + minutes));
      for (const spelling of spellings)
        assert.equal(accepted(parseSlurmTime(spelling), spelling).seconds, total);
      assert.equal(
        accepted(parseSlurmTime(formatSlurmTime(total)), total).seconds,
        total,
        'formatSlurmTime parses back',
      );
    }
  });

  test('generated: words are refused with a format that means the same', () => {
    for (let round = 0; round < 300; round++) {
      const [days, hours, minutes] = [integer(0, 3), integer(0, 23), integer(0, 59)];
      const parts = [
        days > 0 ? `${days}${pick(['d', ' days', ' day'])}` : '',
        hours > 0 ? `${hours}${pick(['h', ' hours', 'hr', ' hour'])}` : '',
        minutes > 0 ? `${minutes}${pick(['m', ' min', ' minutes', 'mins'])}` : '',
      ].filter((part) => part !== '');
      if (parts.length === 0) continue;
      const written = parts.join(pick(['', ' ', ', ']));
      const parsed = parseSlurmTime(written);
      assert.ok(!parsed.ok, written);
      assert.ok(parsed.suggestion !== undefined, `${written} gets a proposal`);
      assert.equal(
        accepted(parseSlurmTime(parsed.suggestion), parsed.suggestion).seconds,
        ((days * 24 + hours) * 60 + minutes) * 60,
        written,
      );
    }
    const fraction = parseSlurmTime('1.5h');
    assert.ok(!fraction.ok);
    assert.equal(fraction.suggestion, '1:30:00');
  });

  test('fields out of range propose the same time; 0 means no limit; UNLIMITED is taken', () => {
    const over = parseSlurmTime('1:75:00');
    assert.ok(!over.ok);
    assert.equal(over.suggestion, '2:15:00');
    const day = parseSlurmTime('1-30');
    assert.ok(!day.ok);
    assert.equal(day.suggestion, '2-06:00:00');
    const zero = parseSlurmTime('0');
    assert.ok(!zero.ok);
    assert.equal(zero.suggestion, 'UNLIMITED');
    assert.deepEqual(accepted(parseSlurmTime('unlimited'), 'unlimited'), {
      text: 'UNLIMITED',
      seconds: Infinity,
    });
    for (const bad of ['', 'soon', '1:2:3:4', '-5', '1-', '1.5']) {
      const parsed = parseSlurmTime(bad);
      assert.ok(!parsed.ok, bad);
    }
  });
});

void describe('what Slurm says about a job', () => {
  test('squeue lines: the raw wait status is an exit code or a signal; pending has no duration', () => {
    assert.deepEqual(parseSqueueLine('12|FAILED|NonZeroExitCode|768|0:03|'), {
      id: '12',
      state: 'FAILED',
      reason: 'NonZeroExitCode',
      exitCode: 3,
      signal: undefined,
      elapsedSeconds: 3,
      source: 'controller',
    });
    const killed = parseSqueueLine('13|FAILED|JobLaunchFailure|9|1:02|')!;
    assert.deepEqual([killed.exitCode, killed.signal, killed.elapsedSeconds], [undefined, 9, 62]);
    const pending = parseSqueueLine('14|PENDING|Dependency|0|0:00|')!;
    assert.deepEqual(
      [pending.reason, pending.elapsedSeconds, pending.exitCode],
      ['Dependency', undefined, undefined],
    );
    assert.equal(parseSqueueLine('15|RUNNING|None|0|1-02:03:04|')!.elapsedSeconds, 93_784);
    assert.equal(parseSqueueLine('JOBID|STATE|'), undefined);
    assert.equal(parseSqueueLine('16|SOMETHING_NEW|None|0|0:00|')!.state, 'UNKNOWN');
  });

  test('jobcomp lines: the last JobState and ExitCode count, whatever the name holds', () => {
    const line =
      'JobId=7 UserId=root(0) GroupId=root(0) Name=x JobState=COMPLETED ExitCode=0:0 JobState=TIMEOUT Partition=debug ' +
      'TimeLimit=1 StartTime=2026-12-07T18:25:19 EndTime=2026-12-07T18:26:49 NodeList=localhost DerivedExitCode=0:0 ExitCode=0:15 ';
    const status = parseJobCompLine(line)!;
    assert.deepEqual(
      [status.id, status.state, status.exitCode, status.signal, status.elapsedSeconds, status.source],
      ['7', 'TIMEOUT', undefined, 15, 90, 'jobcomp'],
    );
    assert.equal(parseJobCompLine('not a job line'), undefined);
  });

  test("the marker: this job's exit code, a signal as 128+N, another job's marker ignored", () => {
    assert.deepEqual(
      [parseMarker('42 3\n', '42')!.state, parseMarker('42 3\n', '42')!.exitCode],
      ['FAILED', 3],
    );
    assert.equal(parseMarker('42 0\n', '42')!.state, 'COMPLETED');
    assert.deepEqual(
      [parseMarker('42 137\n', '42')!.signal, parseMarker('42 137\n', '42')!.exitCode],
      [9, undefined],
    );
    assert.equal(parseMarker('41 0\n', '42'), undefined);
    assert.equal(parseMarker('42 0', '4'), undefined);
  });

  test('describeEnd says each end in a few words', () => {
    const status = (state: SlurmJobStatus['state'], more: Partial<SlurmJobStatus> = {}): SlurmJobStatus => ({
      ...unknownStatus('1'),
      state,
      ...more,
    });
    assert.equal(describeEnd(status('FAILED', { exitCode: 3 })), 'exit code 3');
    assert.equal(describeEnd(status('FAILED', { signal: 11 })), 'killed by SIGSEGV');
    assert.equal(describeEnd(status('CANCELLED')), 'cancelled');
    assert.equal(
      describeEnd(status('CANCELLED', { reason: 'DependencyNeverSatisfied' })),
      'dependency never satisfied',
    );
    assert.equal(describeEnd(status('OUT_OF_MEMORY')), 'out of memory');
    assert.equal(describeEnd(status('TIMEOUT')), 'time limit');
    assert.equal(describeEnd(status('NODE_FAIL')), 'node failure');
    assert.equal(describeEnd(status('COMPLETED', { exitCode: 0 })), 'completed');
    assert.equal(describeEnd(status('PENDING', { reason: 'Resources' })), 'pending (Resources)');
    assert.match(describeEnd(status('UNKNOWN')), /no record/);
  });

  test("slurmstepd's memory kill turns FAILED by a signal into OUT_OF_MEMORY, nothing else", () => {
    const killed: SlurmJobStatus = { ...unknownStatus('5'), state: 'FAILED', signal: 9 };
    const said = 'slurmstepd-node1: error: Exceeded job memory limit\n';
    assert.equal(withMemoryKill(killed, said).state, 'OUT_OF_MEMORY');
    assert.equal(withMemoryKill(killed, 'Killed\n').state, 'FAILED');
    assert.equal(withMemoryKill({ ...killed, signal: undefined, exitCode: 1 }, said).state, 'FAILED');
    assert.equal(withMemoryKill({ ...killed, state: 'CANCELLED' }, said).state, 'CANCELLED');
  });

  test('pending reasons that never clear are slurm-unsatisfiable; waiting ones are not', () => {
    const pending = (reason: string): SlurmJobStatus => ({ ...unknownStatus('9'), state: 'PENDING', reason });
    for (const reason of ['PartitionConfig', 'PartitionTimeLimit', 'QOSMaxCpuPerJobLimit', 'BadConstraints'])
      assert.equal(unrunnable(pending(reason))?.code, 'slurm-unsatisfiable', reason);
    for (const reason of ['Resources', 'Priority', 'Dependency', 'JobHeldUser', 'ReqNodeNotAvail'])
      assert.equal(unrunnable(pending(reason)), undefined, reason);
  });

  test("durations and a batch script's #SBATCH lines, as sbatch reads them", () => {
    assert.equal(durationSeconds('0:07'), 7);
    assert.equal(durationSeconds('2:00:00'), 7200);
    assert.equal(durationSeconds('INVALID'), undefined);
    assert.deepEqual(
      sbatchDirectives(
        '#!/bin/bash\n#SBATCH -c 4\n\n# a comment\n#SBATCH --mem=1G\necho hi\n#SBATCH --late\n',
      ),
      ['#SBATCH -c 4', '#SBATCH --mem=1G'],
    );
  });
});
