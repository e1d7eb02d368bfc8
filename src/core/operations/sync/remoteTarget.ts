// A remote as push, fetch and pull use it: the blob remote (a transport and
// its layout) and the git remote that carries refs/sluice/*.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { SluiceError } from '../../errors';
import { RemoteBlobs } from '../../remotes/remoteBlobs';
import { openTransport, type OpenOptions, type RemoteLocation } from '../../remotes/transport/transport';
import type { Workspace } from '../../workspace';

/** What a sync needs to know of a configured remote. */
export interface SyncRemote {
  readonly name: string;
  readonly location: RemoteLocation;
  /** The git remote that carries refs/sluice/* (normally `origin`). */
  readonly gitRemote: string;
  readonly s3?: OpenOptions['s3'];
}

/** Where fetched refs of a git remote are kept until they are taken in: outside refs/sluice/, so gc never counts on them. */
export function trackingPrefix(gitRemote: string): string {
  return `refs/sluice-remotes/${gitRemote.replace(/[^A-Za-z0-9._-]/g, '_')}/`;
}

/**
 * Per-machine facts about one blob remote (its pack indexes, which refs'
 * data it is known to hold), under .sluice/remotes/, keyed by the URL so an
 * override to another URL starts afresh.
 */
export function remoteCacheDir(workspace: Workspace, remote: SyncRemote): string {
  const key = createHash('sha256').update(remote.location.url).digest('hex').slice(0, 16);
  return join(workspace.sluiceDir, 'remotes', key);
}

/**
 * Opens the blob remote. SSH uses the user's OpenSSH setup; SLUICE_SSH_CONFIG
 * names another ssh_config file (for a CI runner whose keys live elsewhere).
 */
export async function openRemoteBlobs(workspace: Workspace, remote: SyncRemote): Promise<RemoteBlobs> {
  const sshConfigFile = process.env['SLUICE_SSH_CONFIG'];
  const options: OpenOptions = {
    ...(sshConfigFile ? { sshConfigFile } : {}),
    ...(remote.s3 ? { s3: remote.s3 } : {}),
  };
  const transport = await openTransport(remote.location, options);
  return new RemoteBlobs(transport, remoteCacheDir(workspace, remote));
}

/** A connection to a blob remote under way (connectEarly). */
export interface EarlyConnection {
  /** The opened remote (its failure to open, if it failed). */
  take(): Promise<RemoteBlobs>;
  /** Closes it unused; a failure to connect says nothing then, since what needed it failed first. */
  drop(): Promise<void>;
}

/**
 * Starts connecting to the blob remote at once, so the connection's round
 * trips (an SSH handshake is several) overlap the git work done before the
 * first transfer instead of following it.
 */
export function connectEarly(workspace: Workspace, remote: SyncRemote): EarlyConnection {
  const opening = openRemoteBlobs(workspace, remote);
  opening.catch(() => undefined); // reported by take(), or not at all after drop()
  let closing: Promise<void> | undefined;
  return {
    take: () => opening,
    drop: () =>
      (closing ??= opening.then(
        (blobs) => blobs.transport.close(),
        () => undefined, // never connected: nothing to close
      )),
  };
}

/**
 * Runs `work`, and words a transport's failure (which knows the remote by
 * its URL) with the remote's name first, as the user calls it:
 * `Remote team: The bucket … does not exist.` Code, hint and data stay.
 */
export async function namingRemote<T>(remote: SyncRemote, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof SluiceError) || !error.code.startsWith('remote-') || error.kind === 'cancelled')
      throw error;
    if (error.message.startsWith(`Remote ${remote.name}:`)) throw error;
    throw new SluiceError(`Remote ${remote.name}: ${error.message}`, error.kind, error.hint, {
      code: error.code,
      data: { ...error.data, name: remote.name },
    });
  }
}

/** The git remote must exist before anything moves. */
export async function requireGitRemote(workspace: Workspace, remote: SyncRemote): Promise<void> {
  if ((await workspace.git.remoteUrl(remote.gitRemote)) !== undefined) return;
  throw new SluiceError(
    `This repository has no git remote '${remote.gitRemote}', which remote ${remote.name} uses for refs/sluice/*.`,
    'failed',
    `Add it with \`git remote add ${remote.gitRemote} URL\`, or name another with \`git:\` under remotes.${remote.name} in sluice.yaml.`,
    { code: 'git-remote-missing', data: { remote: remote.name, gitRemote: remote.gitRemote } },
  );
}
