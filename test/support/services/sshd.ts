// A private OpenSSH server for tests, on a free port of 127.0.0.1, with its
// own host key, keys and authorized_keys in a temp folder. It runs in the
// foreground (`sshd -D`) as our child, so its pid is the one we spawned; it
// is stopped by that pid, with the session processes it forked (found by
// their parent pid), never by name. Clients get an ssh_config of their own
// with the host key written into known_hosts beforehand: host-key checking
// stays on, as the product requires.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

const SSHD = '/usr/sbin/sshd';
/** The Host alias every client config of these servers defines. */
export const SSH_ALIAS = 'sluice-test-host';

export type SshIdentity = 'user' | 'stranger';

export interface ClientConfigOptions {
  /** Which key the client offers: `user` is authorized, `stranger` is not. */
  readonly identity?: SshIdentity;
  /** Whether known_hosts holds the server's key (false: the host is unknown). */
  readonly trustHost?: boolean;
  /** Another port (one where nothing listens, say). */
  readonly port?: number;
}

export interface SshServer {
  readonly port: number;
  readonly pid: number;
  /** ssh_config for `ssh -F`: Host SSH_ALIAS with the authorized key and the host key trusted. */
  readonly configFile: string;
  /** Writes another client config (another key, an empty known_hosts, another port) and returns its path. */
  clientConfig(name: string, options: ClientConfigOptions): string;
  /** Logins the server accepted so far: one per ssh connection. */
  acceptedLogins(): number;
  /** SIGKILLs the server and every session it serves, as a dropped network or a crashed host would. */
  kill(): Promise<void>;
  /** Stops the server and its sessions and removes its folder. */
  stop(): Promise<void>;
}

/** Starts a server; fails, saying how to get one, when sshd is not installed. */
export async function startSshd(): Promise<SshServer> {
  if (!existsSync(SSHD))
    throw new Error(
      `${SSHD} is not installed, so the SSH remote tests cannot run. Run .ci/run (as root), or ` +
        '`apt-get install -y openssh-server openssh-client`, then run the tests again.',
    );
  const folder = mkdtempSync(join(tmpdir(), 'sluice-sshd-'));
  for (const key of ['hostkey', 'userkey', 'strangerkey']) keygen(join(folder, key));
  writeFileSync(join(folder, 'authorized_keys'), readFileSync(join(folder, 'userkey.pub')), { mode: 0o600 });
  const hostKey = readFileSync(join(folder, 'hostkey.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
  // sshd refuses to start without its privilege-separation folder.
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true });

  // OpenSSH 9.8 and later refuse an address for a while after failed logins
  // (PerSourcePenalties), which would turn the next test's login from
  // 127.0.0.1 away; older servers do not know the option and stop on it.
  let penalties = ['PerSourcePenalties no'];
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const log = join(folder, `sshd-${port}.log`);
    const config = join(folder, 'sshd_config');
    const write = (): void => {
      writeFileSync(
        config,
        [
          `Port ${port}`,
          'ListenAddress 127.0.0.1',
          `HostKey ${join(folder, 'hostkey')}`,
          `AuthorizedKeysFile ${join(folder, 'authorized_keys')}`,
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'PermitRootLogin prohibit-password',
          'StrictModes no',
          'UsePAM no',
          'LogLevel INFO',
          `PidFile ${join(folder, 'sshd.pid')}`,
          'Subsystem sftp internal-sftp',
          ...penalties,
          '',
        ].join('\n'),
      );
    };
    write();
    if (
      penalties.length > 0 &&
      /PerSourcePenalties/.test(spawnSync(SSHD, ['-t', '-f', config], { encoding: 'utf8' }).stderr)
    ) {
      penalties = [];
      write();
    }
    const child = spawn(SSHD, ['-D', '-f', config, '-E', log], { stdio: 'ignore' });
    const exited = new Promise<void>((resolve) =>
      child.once('exit', () => {
        resolve();
      }),
    );
    if (await listening(port, exited)) return server(folder, port, child, exited, hostKey, log);
    if (attempt === 3) {
      const said = existsSync(log) ? readFileSync(log, 'utf8') : '';
      rmSync(folder, { recursive: true, force: true });
      throw new Error(`sshd did not start on 127.0.0.1: ${said.trim() || 'it exited without a word'}`);
    }
  }
}

function server(
  folder: string,
  port: number,
  child: ChildProcess,
  exited: Promise<void>,
  hostKey: string,
  log: string,
): SshServer {
  const pid = child.pid!;
  const clientConfig = (name: string, options: ClientConfigOptions): string => {
    const knownHosts = join(folder, `${name}.known_hosts`);
    writeFileSync(knownHosts, options.trustHost === false ? '' : `[127.0.0.1]:${port} ${hostKey}\n`);
    const path = join(folder, `${name}.ssh_config`);
    writeFileSync(
      path,
      [
        `Host ${SSH_ALIAS}`,
        '  HostName 127.0.0.1',
        `  Port ${options.port ?? port}`,
        `  User ${userInfo().username}`,
        `  IdentityFile ${join(folder, `${options.identity ?? 'user'}key`)}`,
        '  IdentitiesOnly yes',
        '  IdentityAgent none',
        `  UserKnownHostsFile ${knownHosts}`,
        '  GlobalKnownHostsFile /dev/null',
        '  StrictHostKeyChecking yes',
        '  BatchMode yes',
        '',
      ].join('\n'),
    );
    return path;
  };
  const stopAll = async (signal: NodeJS.Signals): Promise<void> => {
    for (const session of descendants(pid)) signalPid(session, signal);
    signalPid(pid, signal);
    await exited;
  };
  return {
    port,
    pid,
    configFile: clientConfig('client', {}),
    clientConfig,
    acceptedLogins: () => (readFileSync(log, 'utf8').match(/Accepted publickey for /g) ?? []).length,
    kill: () => stopAll('SIGKILL'),
    stop: async () => {
      await stopAll('SIGTERM');
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

function keygen(path: string): void {
  const result = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'sluice-test', '-f', path], {
    encoding: 'utf8',
  });
  if (result.status !== 0)
    throw new Error(
      `ssh-keygen failed (${result.error?.message ?? result.stderr}): install openssh-client (.ci/run does).`,
    );
}

/** A port that was free a moment ago; the caller retries if someone takes it first. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/** Waits until something accepts connections on the port (true), or the server exits first (false). */
async function listening(port: number, exited: Promise<void>): Promise<boolean> {
  const server = { gone: false };
  void exited.then(() => (server.gone = true));
  const deadline = Date.now() + 10_000;
  while (!server.gone && Date.now() < deadline) {
    const accepted = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => {
        resolve(false);
      });
    });
    if (accepted) return !server.gone;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

/** Every process below `pid` (sessions, their sftp servers), read from /proc by parent pid. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // The fields after the command name, which is in parentheses and may hold spaces.
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  for (let queue = [pid]; queue.length > 0;) {
    const next = children.get(queue.pop()!) ?? [];
    found.push(...next);
    queue.push(...next);
  }
  return found;
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}
