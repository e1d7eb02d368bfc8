// A private S3-protocol server for tests: s3rver (npm) serving a temp folder
// on a free port of 127.0.0.1, as a child process whose pid we keep and stop
// by. It checks signatures against the fixed account S3RVER/S3RVER, which
// the tests hand to the AWS SDK through the environment, as a user's shell
// would; the product reads credentials only through the SDK's own chain.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const S3RVER = join(process.cwd(), 'node_modules', 's3rver', 'bin', 's3rver.js');

/** The environment the AWS SDK's credential chain reads, for s3rver's account, and nothing from this user's ~/.aws. */
export function s3rverCredentials(folder: string): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-east-1',
    AWS_CONFIG_FILE: join(folder, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(folder, 'no-aws-credentials'),
    // Never ask an instance-metadata address for credentials: tests talk to 127.0.0.1 only.
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

export interface S3Server {
  /** http://127.0.0.1:PORT, for the SDK's `endpoint`. */
  readonly endpoint: string;
  readonly pid: number;
  /** Where s3rver keeps the buckets; a server started again on it serves the same objects. */
  readonly folder: string;
  /** SIGKILLs the server, as a crash or a dropped network would. */
  kill(): Promise<void>;
  /** Stops the server; `keepFolder` leaves its objects for another server. */
  stop(options?: { keepFolder?: boolean }): Promise<void>;
}

/** Starts s3rver with these buckets (3 to 63 characters each) on an existing folder or a new one. */
export async function startS3rver(buckets: readonly string[], folder?: string): Promise<S3Server> {
  if (!existsSync(S3RVER))
    throw new Error(`${S3RVER} is missing: run \`npm ci\` in the repository (s3rver is a dev dependency).`);
  const data = folder ?? mkdtempSync(join(tmpdir(), 'sluice-s3rver-'));
  const child = spawn(
    process.execPath,
    [
      S3RVER,
      '--directory',
      data,
      '--address',
      '127.0.0.1',
      '--port',
      '0',
      '--silent',
      ...buckets.flatMap((bucket) => ['--configure-bucket', bucket]),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  const port = await listeningPort(child, exited);
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    try {
      process.kill(child.pid!, signal);
    } catch {
      // Already gone.
    }
    await exited;
  };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    folder: data,
    kill: () => stop('SIGKILL'),
    stop: async (options = {}) => {
      await stop('SIGTERM');
      if (options.keepFolder !== true) rmSync(data, { recursive: true, force: true });
    },
  };
}

/** The port from s3rver's "S3rver listening on 127.0.0.1:PORT". */
function listeningPort(child: ChildProcess, exited: Promise<void>): Promise<number> {
  let said = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`s3rver did not start within 20 s: ${said.trim()}`));
    }, 20_000);
    const read = (chunk: Buffer): void => {
      said += chunk.toString('utf8');
      const port = /listening on 127\.0\.0\.1:(\d+)/.exec(said)?.[1];
      if (port !== undefined) {
        clearTimeout(timer);
        resolve(Number(port));
      }
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited before listening: ${said.trim()}`));
    });
  });
}
