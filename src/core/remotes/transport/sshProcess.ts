// The user's own OpenSSH client as a child process, `ssh -s HOST sftp`, and
// what its stderr says when a connection fails: ssh explains a refused login,
// an unknown host key or an unreachable host only there, in words, so they
// are matched here and turned into the transport's error codes.
import { spawn, type ChildProcess } from 'node:child_process';
import { fromSystemError, type SluiceError } from '../../errors';
import { SftpConnectionLost } from './sftp';
import { remoteError, type SshLocation } from './transport';

/** The ssh process and what it said on stderr, which is how a failed connection explains itself. */
export class SshProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  private stderr = '';
  private spawnError: Error | undefined;

  constructor(
    private readonly location: SshLocation,
    configFile: string | undefined,
  ) {
    const args = [
      ...(configFile === undefined ? [] : ['-F', configFile]),
      ...(location.port === undefined ? [] : ['-p', String(location.port)]),
      ...(location.user === undefined ? [] : ['-l', location.user]),
      // Never prompt (there is no terminal to answer), forward no agent or X11
      // to the server, and notice a dead link within a minute instead of
      // waiting on it forever.
      '-o',
      'BatchMode=yes',
      '-o',
      'ServerAliveInterval=15',
      '-o',
      'ServerAliveCountMax=4',
      '-a',
      '-x',
      '-s',
      '--',
      location.host,
      'sftp',
    ];
    this.child = spawn('ssh', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => {
      // The last lines are the ones that explain a failure.
      this.stderr = (this.stderr + chunk).slice(-16384);
    });
    this.exited = new Promise((resolve) => {
      this.child.once('error', (error) => {
        this.spawnError = error;
        resolve();
      });
      this.child.once('close', () => {
        resolve();
      });
    });
  }

  /** Closes ssh's stdin (it then ends the session) and kills it if it lingers. */
  async close(): Promise<void> {
    this.child.stdin?.end();
    const timer = setTimeout(() => {
      this.stop();
    }, 5000);
    await this.exited;
    clearTimeout(timer);
  }

  stop(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
  }

  /** What a lost connection means, from what ssh said before it exited. */
  async failure(cause: unknown): Promise<SluiceError> {
    // ssh writes why it gave up just before exiting: wait a moment for it.
    await Promise.race([this.exited, new Promise((resolve) => setTimeout(resolve, 2000))]);
    const remote = this.location.url;
    const host = this.location.host;
    if (this.spawnError) {
      const errno = (this.spawnError as NodeJS.ErrnoException).code;
      if (errno === 'ENOENT')
        return remoteError(
          'remote-failed',
          remote,
          `Cannot reach ${remote}: OpenSSH's ssh command is not installed here.`,
          'Install the OpenSSH client (openssh-client), then run the command again.',
        );
      return (
        fromSystemError(this.spawnError) ?? remoteError('remote-failed', remote, String(this.spawnError), '')
      );
    }
    const lines = this.stderr
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('Warning: Permanently added'));
    const said = lines.join('\n');
    const last = lines.at(-1) ?? (cause instanceof Error ? cause.message : String(cause));
    const data = { ssh: lines.slice(-5) };
    for (const known of SSH_FAILURES)
      if (known.pattern.test(said))
        return remoteError(
          known.code,
          remote,
          `${known.says(remote)} (ssh: ${last})`,
          known.todo(host),
          data,
        );
    if (cause instanceof SftpConnectionLost && /not SFTP/.test(cause.reason))
      return remoteError(
        'remote-failed',
        remote,
        `${remote} sent text that is not SFTP: ${cause.reason}.`,
        `Make the login quiet for non-interactive sessions (nothing printed by ~/.bashrc on ${host}), then run again.`,
        data,
      );
    return remoteError(
      'remote-unreachable',
      remote,
      `The SSH connection to ${remote} was lost${lines.length > 0 ? ` (ssh: ${last})` : ''}.`,
      `Check the network and that \`ssh ${host}\` works in a terminal, then run the command again.`,
      data,
    );
  }
}

interface KnownSshFailure {
  readonly pattern: RegExp;
  readonly code: 'remote-auth' | 'remote-unreachable' | 'remote-failed';
  readonly says: (remote: string) => string;
  readonly todo: (host: string) => string;
}

/** What ssh prints when it cannot connect, and what the user can do about it. Checked in order. */
const SSH_FAILURES: readonly KnownSshFailure[] = [
  {
    pattern: /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No \S+ host key is known/i,
    code: 'remote-auth',
    says: (remote) => `The host key of ${remote} is not in known_hosts, or has changed`,
    todo: (host) => `Run \`ssh ${host}\` once in a terminal to check the key and accept it, then run again.`,
  },
  {
    pattern:
      /Permission denied \(|Too many authentication failures|no mutual signature|Authentication failed/i,
    code: 'remote-auth',
    says: (remote) => `${remote} refused the SSH login`,
    todo: (host) =>
      `Check that your key is loaded (\`ssh-add -l\`) and authorized there: \`ssh ${host}\` must log in without a password.`,
  },
  {
    pattern:
      /Could not resolve hostname|Name or service not known|nodename nor servname|Temporary failure in name resolution/i,
    code: 'remote-unreachable',
    says: (remote) => `Cannot reach ${remote}: the host name is unknown`,
    todo: () => "Check the host in the remote's URL (or its Host alias in ~/.ssh/config).",
  },
  {
    pattern: /Connection refused/i,
    code: 'remote-unreachable',
    says: (remote) => `Cannot reach ${remote}: the connection was refused`,
    todo: () => 'Check that the SSH server is running and the port is right, then run the command again.',
  },
  {
    pattern:
      /timed out|Timeout|Network is unreachable|No route to host|Connection closed|Connection reset|Broken pipe|kex_exchange_identification|lost connection/i,
    code: 'remote-unreachable',
    says: (remote) => `The SSH connection to ${remote} failed or dropped`,
    todo: () => 'Check the network and the server, then run the command again.',
  },
  {
    pattern: /subsystem request failed/i,
    code: 'remote-failed',
    says: (remote) => `${remote} offers no SFTP`,
    todo: () => 'Enable it in the server\'s sshd_config ("Subsystem sftp internal-sftp").',
  },
];
