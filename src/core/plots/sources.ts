// Where a plot's bytes come from: one PlotSource per revision overlaid on the
// same chart. Today the workspace (the files on disk); experiments, releases,
// environments and commits each become a source here, and nothing that draws
// changes.
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { fromSystemError, SluiceError, withPath } from '../errors';
import { formatBytes } from '../format';
import { RealPaths } from '../paths';

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
 * means the workspace alone. Only `workspace` is known today; any other ref
 * is refused with `unknown-revision` (a usage error) naming what is accepted.
 */
export function plotSources(workspace: { readonly root: string }, refs: readonly string[]): PlotSource[] {
  const wanted = refs.length === 0 ? [WORKSPACE_SOURCE] : [...new Set(refs)];
  return wanted.map((ref) => {
    if (ref === WORKSPACE_SOURCE) return workspaceSource(workspace);
    throw new SluiceError(
      `Unknown revision '${ref}': plots can be drawn from the workspace only for now.`,
      'usage',
      "Run 'sluice plots show' without a revision, or with 'workspace'.",
      { code: 'unknown-revision', data: { ref, known: [WORKSPACE_SOURCE] } },
    );
  });
}
