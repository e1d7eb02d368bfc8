// Where a plot's bytes come from: one PlotSource per revision overlaid on the
// same chart: the workspace (the files on disk), or an experiment, release,
// environment or commit (src/core/experiments/revisions.ts).
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { fromSystemError, SluiceError, withPath } from '../errors';
import { formatBytes } from '../format';
import { RealPaths } from '../paths';
import { resolveRevision } from '../experiments/revisions';
import type { Workspace } from '../workspace';

/** One revision to plot: its label in legends and messages, and how to read a file of it. */
export interface PlotSource {
  readonly label: string;
  /** The bytes of a workspace-relative file in this revision; undefined when it has no such file. */
  read(path: string): Promise<Buffer | undefined>;
}

/** The label of the files on disk, as `sluice plots show workspace` names them. */
export const WORKSPACE_SOURCE = 'workspace';

/**
 * The most a source reads of one file, whatever the plot's own limits: the
 * page embeds what it draws, and a file this large is not a plot.
 */
export const MAX_PLOT_FILE_BYTES = 256 * 1024 * 1024;

/** The files on disk. A path that leads out of the workspace through a link is refused, not followed. */
export function workspaceSource(workspace: { readonly root: string }): PlotSource {
  let real: RealPaths | undefined;
  return {
    label: WORKSPACE_SOURCE,
    async read(path) {
      real ??= new RealPaths(workspace.root);
      if (real.of(path) === undefined)
        throw new SluiceError(
          `${path} leads outside the workspace through a link; Sluice does not plot it.`,
          'failed',
          'Replace the link with the file, or point it inside the workspace.',
          { code: 'path-escapes-workspace', data: { file: path } },
        );
      const absolute = join(workspace.root, path);
      try {
        const file = await open(absolute, 'r');
        try {
          const { size } = await file.stat();
          if (size > MAX_PLOT_FILE_BYTES)
            throw new SluiceError(
              `${path} is ${formatBytes(size)}, more than the ${formatBytes(MAX_PLOT_FILE_BYTES)} Sluice reads for a plot.`,
              'failed',
              'Plot a summary of it (fewer rows, a smaller image).',
              { code: 'plot-too-large', data: { file: path, bytes: size, limit: MAX_PLOT_FILE_BYTES } },
            );
          return await file.readFile();
        } finally {
          await file.close();
        }
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw fromSystemError(withPath(error, absolute)) ?? error;
      }
    },
  };
}

/**
 * The sources `sluice plots show REFS…` overlays, in the order given: none
 * means the workspace alone. A ref is `workspace`, an experiment (name or
 * id), a release id, an environment (its live release) or a commit;
 * anything else is refused with `unknown-revision` (a usage error).
 */
export async function plotSources(workspace: Workspace, refs: readonly string[]): Promise<PlotSource[]> {
  const wanted = refs.length === 0 ? [WORKSPACE_SOURCE] : [...new Set(refs)];
  const sources: PlotSource[] = [];
  for (const ref of wanted) {
    if (ref === WORKSPACE_SOURCE) {
      sources.push(workspaceSource(workspace));
      continue;
    }
    const revision = await resolveRevision(workspace, ref);
    sources.push({ label: revision.label, read: (path) => revision.read(path) });
  }
  return sources;
}
