// The git repository of a new example workspace: `git init` and one commit.
import { execFile } from 'node:child_process';
import { SluiceError } from '../errors';

/** Variables git sets for hooks; inherited, they would point git at another repository. */
const REPOSITORY_VARIABLES = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_COMMON_DIR',
  'GIT_PREFIX',
  'GIT_NAMESPACE',
];

/** Used only when neither the user's git config nor the environment names an author. */
const FALLBACK_IDENTITY = { name: 'Sluice example', email: 'sluice-example@localhost' };

/** Makes `dir` a git repository with every file in it committed; returns the commit id. */
export async function commitNewRepository(dir: string, message: string): Promise<string> {
  await git(dir, ['init', '--quiet']);
  if (!(await hasConfig(dir, 'user.name'))) await git(dir, ['config', 'user.name', FALLBACK_IDENTITY.name]);
  if (!(await hasConfig(dir, 'user.email')))
    await git(dir, ['config', 'user.email', FALLBACK_IDENTITY.email]);
  await git(dir, ['add', '--all']);
  // This first commit is Sluice's, not the user's work: the user's hooks and
  // signing setup are not meant for it and must not make it fail or prompt.
  await git(dir, ['commit', '--quiet', '--no-verify', '--no-gpg-sign', '--message', message]);
  return git(dir, ['rev-parse', 'HEAD']);
}

/** Throws the same error `commitNewRepository` would if git cannot be run at all. */
export async function requireGit(): Promise<void> {
  await git(process.cwd(), ['--version']);
}

async function hasConfig(dir: string, key: string): Promise<boolean> {
  try {
    return (await git(dir, ['config', '--get', key])) !== '';
  } catch {
    return false;
  }
}

function git(cwd: string, args: readonly string[]): Promise<string> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !REPOSITORY_VARIABLES.includes(name)),
  );
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, env, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (!error) {
        resolve(stdout.trim());
        return;
      }
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(
          new SluiceError('git is not installed or not on PATH.', 'failed', 'Install git and try again.'),
        );
        return;
      }
      const reason = stderr.trim().split('\n')[0] || error.message;
      reject(new SluiceError(`git ${args[0] ?? ''} failed in ${cwd}: ${reason}`, 'failed'));
    });
  });
}
