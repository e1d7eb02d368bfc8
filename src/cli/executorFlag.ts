// `--executor local|slurm`, as `run`, `stage` and `exp run` take it.
import { SluiceError } from '../core/errors';
import type { ExecutorName } from '../core/pipelines/plan';
import type { FlagSpec } from './arguments';

export const EXECUTOR_FLAG: FlagSpec = {
  name: 'executor',
  valueName: 'local|slurm',
  description:
    "Run every stage here (local) or as Slurm batch jobs (slurm), whatever the manifest's `executor` says.",
};

/** `--executor`: local or slurm, or undefined when not given. */
export function parseExecutor(value: string | undefined): ExecutorName | undefined {
  if (value === undefined || value === 'local' || value === 'slurm') return value;
  throw new SluiceError(
    `--executor takes local or slurm, not '${value}'.`,
    'usage',
    'Write --executor slurm.',
    {
      code: 'bad-executor',
      data: { value },
    },
  );
}
