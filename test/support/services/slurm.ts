// A one-node Slurm cluster on localhost for tests (the recipe of
// /work/shared/SERVICES.md, made private): its own munge key and socket, free
// ports, StateSaveLocation, spool, logs and JobCompLoc in a temp folder.
// munged, slurmctld and slurmd run in the foreground (-F, -D) as children of
// this process, so their pids are the ones we spawned (slurmctld and slurmd
// also write the pid files slurm.conf names); they are stopped by those pids
// only, never by name.
//
// Slurm's clients read the fixed /etc/slurm/slurm.conf, so one cluster runs on
// the machine at a time: a lock file beside it, held by a live test process,
// makes a second startSlurm wait (test/run.mjs also runs the files that start
// a cluster one at a time). The lock records the owner and the daemons with
// their start times, so a run killed before stop() is cleaned up by the next:
// only those exact processes are signalled, and slurm.conf is put back.
//
// Needs root (it writes /etc/slurm and runs munged as the munge user) and
// Debian's slurm-wlm and munge, which .ci/run installs.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './sshd';

const SLURM_CONF = '/etc/slurm/slurm.conf';
/** Beside the contested file, so every worktree and TMPDIR sees the same lock. */
export const LOCK = '/etc/slurm/.sluice-test-cluster.lock';
const MUNGED = '/usr/sbin/munged';
const SLURMCTLD = '/usr/sbin/slurmctld';
const SLURMD = '/usr/sbin/slurmd';
const PARTITION = 'debug';
/** How long startSlurm waits for another test process's cluster to stop. */
const LOCK_WAIT_MS = 20 * 60_000;
const READY_MS = 30_000;

export interface SlurmCluster {
  readonly folder: string;
  /** JobCompLoc: one line per ended job, written by jobcomp/filetxt. */
  readonly jobCompFile: string;
  /** The default partition, holding the one node. */
  readonly partition: string;
  /** What slurm.conf declares for the node: a request above these can never run. */
  readonly cpus: number;
  readonly memoryMiB: number;
  /** How long the controller remembers an ended job (MinJobAge). */
  readonly minJobAgeSeconds: number;
  /** The slurm.conf this cluster replaced (undefined: there was none), which stop() puts back. */
  readonly slurmConfBefore: string | undefined;
  /** The daemons' pids, as spawned (and as their pid files say). */
  pids(): { readonly munged: number; readonly slurmctld: number; readonly slurmd: number };
  /** Stops slurmctld by its pid and starts it again on its saved state; jobs keep running under slurmd. */
  restartController(): Promise<void>;
  /** SIGSTOPs slurmctld: it stays up but answers nobody, as a hung controller. */
  pauseController(): void;
  /** SIGCONTs it again. */
  resumeController(): void;
  /** Cancels what still runs, stops the daemons by their pids, puts slurm.conf back, removes the folder. */
  stop(): Promise<void>;
}

export interface SlurmOptions {
  /** MinJobAge: low, so tests see the controller forget ended jobs quickly (Slurm's minimum is 2). */
  readonly minJobAgeSeconds?: number;
  /** slurm.conf's SchedulerParameters (a benchmark's `batch_sched_delay=0`); Slurm's defaults when absent. */
  readonly schedulerParameters?: string;
}

/** A process as the lock records it: the start time tells it apart from a later process given the same pid. */
export interface ProcessMark {
  readonly pid: number;
  readonly start: string;
}

export interface LockState {
  readonly owner: ProcessMark;
  readonly folder: string;
  readonly daemons: readonly ProcessMark[];
  /** Whether slurm.conf is ours now, and where the one before it was kept (null: there was none). */
  readonly confWritten: boolean;
  readonly confBefore: string | null;
}

interface Daemon {
  child: ChildProcess;
  exited: Promise<void>;
  gone: boolean;
}

/** Starts a cluster, waiting for one another test process runs; fails saying what to install when Slurm is missing. */
export async function startSlurm(options: SlurmOptions = {}): Promise<SlurmCluster> {
  const missing = [MUNGED, SLURMCTLD, SLURMD].filter((path) => !existsSync(path));
  if (missing.length > 0 || spawnSync('sbatch', ['--version']).error !== undefined)
    throw new Error(
      `Slurm is not installed (${missing.length > 0 ? `no ${missing.join(', ')}` : 'no sbatch on PATH'}), so the ` +
        'Slurm tests cannot run. Run .ci/run (as root), or `apt-get install -y slurm-wlm munge`, then run the tests again.',
    );
  if (process.getuid?.() !== 0)
    throw new Error(
      'The Slurm tests need root: they write /etc/slurm/slurm.conf and run munged as the munge user.',
    );
  const minJobAgeSeconds = Math.max(2, options.minJobAgeSeconds ?? 5);
  await acquireLock();
  const folder = mkdtempSync(join(tmpdir(), 'sluice-slurm-'));
  let state: LockState = {
    owner: markOf(process.pid)!,
    folder,
    daemons: [],
    confWritten: false,
    confBefore: null,
  };
  writeLock(state);
  const daemons: Daemon[] = [];
  const record = (): void => {
    state = { ...state, daemons: daemons.flatMap((daemon) => markOf(daemon.child.pid) ?? []) };
    writeLock(state);
  };
  try {
    const munge = startMunged(folder);
    daemons.push(munge.daemon);
    record();
    await waitFor(
      () => existsSync(munge.socket),
      munge.daemon,
      'munged',
      join(folder, 'munge', 'munged.log'),
    );

    const node = nodeOf();
    const ports = { controller: await freePort(), node: await freePort() };
    const jobCompFile = join(folder, 'log', 'jobcomp.txt');
    for (const sub of ['ctld', 'spool', 'log']) mkdirSync(join(folder, sub));
    // slurm.conf is written once the lock is ours: whatever was there before is kept to be put back.
    const before = existsSync(SLURM_CONF) ? join(folder, 'slurm.conf.before') : null;
    if (before !== null) copyFileSync(SLURM_CONF, before);
    state = { ...state, confWritten: true, confBefore: before };
    writeLock(state);
    writeFileSync(
      SLURM_CONF,
      slurmConf({
        folder,
        socket: munge.socket,
        ports,
        node,
        jobCompFile,
        minJobAgeSeconds,
        schedulerParameters: options.schedulerParameters,
      }),
    );

    const controller = startDaemon(SLURMCTLD, ['-D', '-i'], 'slurmctld');
    daemons.push(controller);
    daemons.push(startDaemon(SLURMD, ['-D', '-N', 'localhost'], 'slurmd'));
    record();
    await waitForNode(daemons, folder, ['idle']);

    const cluster: SlurmCluster = {
      folder,
      jobCompFile,
      partition: PARTITION,
      cpus: node.cpus,
      memoryMiB: node.memoryMiB,
      minJobAgeSeconds,
      slurmConfBefore: before === null ? undefined : readFileSync(before, 'utf8'),
      pids: () => ({
        munged: daemons[0]!.child.pid!,
        slurmctld: daemons[1]!.child.pid!,
        slurmd: daemons[2]!.child.pid!,
      }),
      restartController: async () => {
        await stopDaemon(daemons[1]!);
        // No -i this time: the controller reads back the jobs it saved in StateSaveLocation.
        daemons[1] = startDaemon(SLURMCTLD, ['-D'], 'slurmctld');
        record();
        await waitForNode(daemons, folder, ['idle', 'mix', 'alloc']);
      },
      pauseController: () => {
        signal(daemons[1]!.child.pid!, 'SIGSTOP');
      },
      resumeController: () => {
        signal(daemons[1]!.child.pid!, 'SIGCONT');
      },
      stop: async () => {
        // A paused controller would never answer scancel, nor exit on SIGTERM.
        signal(daemons[1]!.child.pid!, 'SIGCONT');
        await cancelEveryJob();
        await shutDown(daemons, state);
      },
    };
    return cluster;
  } catch (error) {
    await shutDown(daemons, state);
    throw error;
  }
}

function startMunged(folder: string): { daemon: Daemon; socket: string } {
  const ids = spawnSync('id', ['-u', 'munge'], { encoding: 'utf8' });
  const groups = spawnSync('id', ['-g', 'munge'], { encoding: 'utf8' });
  if (ids.status !== 0 || groups.status !== 0)
    throw new Error('There is no munge user: install munge (`apt-get install -y munge`).');
  const uid = Number(ids.stdout.trim());
  const gid = Number(groups.stdout.trim());
  // munged checks every folder above its socket: each must let others through (x) and only its owner write.
  chmodSync(folder, 0o711);
  const home = join(folder, 'munge');
  mkdirSync(home, { mode: 0o711 });
  chownSync(home, uid, gid);
  const key = join(home, 'munge.key');
  writeFileSync(key, randomBytes(1024), { mode: 0o400 });
  chownSync(key, uid, gid);
  const socket = join(home, 'munge.socket');
  // Its own key and socket: a munged the machine runs already (with /etc/munge's key) is left alone.
  const daemon = track(
    spawn(
      MUNGED,
      [
        '--foreground',
        `--socket=${socket}`,
        `--key-file=${key}`,
        `--pid-file=${join(home, 'munged.pid')}`,
        `--log-file=${join(home, 'munged.log')}`,
        `--seed-file=${join(home, 'munged.seed')}`,
      ],
      { uid, gid, stdio: 'ignore' },
    ),
  );
  return { daemon, socket };
}

function startDaemon(path: string, args: readonly string[], name: string): Daemon {
  const daemon = track(spawn(path, args, { stdio: 'ignore' }));
  if (daemon.child.pid === undefined) throw new Error(`${name} could not be started (${path}).`);
  return daemon;
}

function track(child: ChildProcess): Daemon {
  const daemon: Daemon = {
    child,
    gone: false,
    exited: new Promise<void>((resolve) => {
      child.once('exit', () => {
        daemon.gone = true;
        resolve();
      });
      // A spawn that fails (ENOENT) emits 'error' and never 'exit'.
      child.once('error', () => {
        daemon.gone = true;
        resolve();
      });
    }),
  };
  return daemon;
}

/** What `slurmd -C` finds on this machine: declaring more would make slurmd drain the node. */
function nodeOf(): { cpus: number; memoryMiB: number } {
  const found = spawnSync(SLURMD, ['-C'], { encoding: 'utf8' });
  const cpus = Number(/\bCPUs=(\d+)/.exec(found.stdout)?.[1]);
  const memory = Number(/\bRealMemory=(\d+)/.exec(found.stdout)?.[1]);
  if (!(cpus > 0) || !(memory > 0))
    throw new Error(`\`slurmd -C\` did not describe this machine: ${found.stdout}${found.stderr}`);
  // A little memory is left to the system, as a real node's slurm.conf would.
  return { cpus, memoryMiB: Math.max(1024, memory - 1024) };
}

interface ConfFacts {
  readonly folder: string;
  readonly socket: string;
  readonly ports: { readonly controller: number; readonly node: number };
  readonly node: { readonly cpus: number; readonly memoryMiB: number };
  readonly jobCompFile: string;
  readonly minJobAgeSeconds: number;
  readonly schedulerParameters: string | undefined;
}

function slurmConf(facts: ConfFacts): string {
  const { folder } = facts;
  return [
    '# Written by Sluice test/support/services/slurm.ts for a test cluster; put back on stop.',
    'ClusterName=sluicetest',
    'SlurmctldHost=localhost',
    // Free ports, so a real cluster's daemons on 6817/6818 are never in the way.
    `SlurmctldPort=${facts.ports.controller}`,
    `SlurmdPort=${facts.ports.node}`,
    'SlurmUser=root',
    'SlurmdUser=root',
    'AuthType=auth/munge',
    'CredType=cred/munge',
    `AuthInfo=socket=${facts.socket}`,
    `StateSaveLocation=${join(folder, 'ctld')}`,
    `SlurmdSpoolDir=${join(folder, 'spool')}`,
    `SlurmctldPidFile=${join(folder, 'slurmctld.pid')}`,
    `SlurmdPidFile=${join(folder, 'slurmd.pid')}`,
    `SlurmctldLogFile=${join(folder, 'log', 'slurmctld.log')}`,
    `SlurmdLogFile=${join(folder, 'log', 'slurmd.log')}`,
    'ProctrackType=proctrack/linuxproc',
    'TaskPlugin=task/none',
    'SelectType=select/cons_tres',
    'SelectTypeParameters=CR_Core_Memory',
    // Without it a job takes the whole node's memory, and jobs would run one at a time.
    'DefMemPerCPU=256',
    // No cgroups here: the step's memory is sampled every second and a step
    // above its --mem is killed, the way a cluster without cgroups enforces it.
    'JobAcctGatherType=jobacct_gather/linux',
    'JobAcctGatherFrequency=task=1',
    'JobAcctGatherParams=OverMemoryKill',
    'AccountingStorageType=accounting_storage/none',
    'JobCompType=jobcomp/filetxt',
    `JobCompLoc=${facts.jobCompFile}`,
    `MinJobAge=${facts.minJobAgeSeconds}`,
    ...(facts.schedulerParameters === undefined ? [] : [`SchedulerParameters=${facts.schedulerParameters}`]),
    // A job over its time limit gets SIGTERM, then SIGKILL this much later.
    'KillWait=5',
    'ReturnToService=2',
    'MpiDefault=none',
    `NodeName=localhost CPUs=${facts.node.cpus} RealMemory=${facts.node.memoryMiB} State=UNKNOWN`,
    `PartitionName=${PARTITION} Nodes=localhost Default=YES MaxTime=INFINITE State=UP`,
    '',
  ].join('\n');
}

/** Waits until sinfo reports the node in one of these states (no `*`: it answers), failing early if a daemon exits. */
async function waitForNode(
  daemons: readonly Daemon[],
  folder: string,
  states: readonly string[],
): Promise<void> {
  let last = '';
  const ready = (): boolean => {
    const sinfo = spawnSync('sinfo', ['-h', '-o', '%t'], { encoding: 'utf8', timeout: 10_000 });
    last = `${sinfo.stdout}${sinfo.stderr}`.trim();
    return states.includes(sinfo.stdout.trim());
  };
  const deadline = Date.now() + READY_MS;
  while (!ready()) {
    const dead = daemons.find((daemon) => daemon.gone);
    if (dead !== undefined || Date.now() > deadline)
      throw new Error(`The test cluster did not come up (sinfo: ${last || 'nothing'}).\n${logTails(folder)}`);
    await sleep(200);
  }
}

async function waitFor(done: () => boolean, daemon: Daemon, name: string, log: string): Promise<void> {
  const deadline = Date.now() + READY_MS;
  while (!done()) {
    if (daemon.gone || Date.now() > deadline)
      throw new Error(`${name} did not start: ${tail(log) || 'it said nothing'}`);
    await sleep(50);
  }
}

function logTails(folder: string): string {
  return ['slurmctld.log', 'slurmd.log']
    .map((name) => `${name}: ${tail(join(folder, 'log', name)) || '(empty)'}`)
    .join('\n');
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-8).join('\n');
  } catch {
    return '';
  }
}

/** scancel for every job the cluster holds, then a wait until none runs: no job outlives its cluster. */
async function cancelEveryJob(): Promise<void> {
  const list = (): string[] => {
    const squeue = spawnSync('squeue', ['-h', '-o', '%i'], { encoding: 'utf8', timeout: 20_000 });
    return squeue.status === 0 ? squeue.stdout.split('\n').filter((id) => id !== '') : [];
  };
  const ids = list();
  if (ids.length === 0) return;
  spawnSync('scancel', ids, { timeout: 20_000 });
  const deadline = Date.now() + 20_000;
  while (list().length > 0 && Date.now() < deadline) await sleep(200);
}

/** Stops the daemons by the pids we spawned, newest first, puts slurm.conf back, removes the folder, frees the lock. */
async function shutDown(daemons: readonly Daemon[], state: LockState): Promise<void> {
  for (const daemon of [...daemons].reverse()) await stopDaemon(daemon);
  restoreConf(state);
  rmSync(state.folder, { recursive: true, force: true });
  releaseLock();
}

async function stopDaemon(daemon: Daemon): Promise<void> {
  const pid = daemon.child.pid;
  if (daemon.gone || pid === undefined) return;
  signal(pid, 'SIGTERM');
  const stopped = await Promise.race([daemon.exited.then(() => true), sleep(15_000).then(() => false)]);
  if (!stopped) {
    signal(pid, 'SIGKILL');
    await daemon.exited;
  }
}

function restoreConf(state: LockState): void {
  if (!state.confWritten) return;
  if (state.confBefore !== null && existsSync(state.confBefore)) copyFileSync(state.confBefore, SLURM_CONF);
  else rmSync(SLURM_CONF, { force: true });
}

// The lock: a file made with link(2), which is atomic and never half-written.

async function acquireLock(): Promise<void> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    const draft = `${LOCK}.${process.pid}`;
    writeFileSync(draft, JSON.stringify({ owner: markOf(process.pid), folder: '', daemons: [] }));
    try {
      linkSync(draft, LOCK);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      unlinkSync(draft);
    }
    const held = readLock();
    if (held !== undefined && held.owner.pid === process.pid)
      throw new Error('This process already runs a test cluster: stop it before starting another.');
    if (held === undefined || !isRunning(held.owner)) {
      recoverStale();
      continue;
    }
    if (Date.now() > deadline)
      throw new Error(
        `Another test process (pid ${held.owner.pid}) has held the Slurm test cluster for ${LOCK_WAIT_MS / 60_000} minutes.`,
      );
    await sleep(500);
  }
}

function readLock(): LockState | undefined {
  try {
    return JSON.parse(readFileSync(LOCK, 'utf8')) as LockState;
  } catch {
    return undefined;
  }
}

function writeLock(state: LockState): void {
  const draft = `${LOCK}.${process.pid}`;
  writeFileSync(draft, JSON.stringify(state));
  renameSync(draft, LOCK);
}

function releaseLock(): void {
  if (readLock()?.owner.pid === process.pid) rmSync(LOCK, { force: true });
}

/**
 * The lock of a test process that died without stop(): its daemons (only
 * those pids, and only while their start times match), slurm.conf and folder
 * are cleaned up. Whoever renames the lock away first does it.
 */
function recoverStale(): void {
  const taken = `${LOCK}.stale.${process.pid}`;
  try {
    renameSync(LOCK, taken);
  } catch {
    return; // another process took it first; look again
  }
  let stale: LockState | undefined;
  try {
    stale = JSON.parse(readFileSync(taken, 'utf8')) as LockState;
  } catch {
    stale = undefined;
  }
  if (stale !== undefined) {
    for (const daemon of stale.daemons) if (isRunning(daemon)) signal(daemon.pid, 'SIGKILL');
    restoreConf(stale);
    if (stale.folder !== '') rmSync(stale.folder, { recursive: true, force: true });
  }
  rmSync(taken, { force: true });
}

/** The pid with its start time (field 22 of /proc/PID/stat, clock ticks since boot), or undefined when it is gone. */
export function markOf(pid: number | undefined): ProcessMark | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces; the first is field 3.
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return start === undefined ? undefined : { pid, start };
  } catch {
    return undefined;
  }
}

function isRunning(mark: ProcessMark): boolean {
  return markOf(mark.pid)?.start === mark.start;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Gone already.
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
