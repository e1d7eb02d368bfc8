// What every command receives: the model it reads and the parts it acts
// through. Commands get no view; the views only render the model.
import type * as vscode from 'vscode';
import type { ExperimentPanels } from './experiments/experimentPanels';
import type { WorkspaceModel } from './model';
import type { PipelineGraphs } from './pipelines/graph/graphPanels';
import type { StageLogs } from './pipelines/stageLogs';
import type { LongOperations } from './progress';
import type { SnapshotContent } from './snapshots/snapshotContent';

export interface SluiceContext {
  /** Every folder's data; commands read it and say what they changed. */
  readonly model: WorkspaceModel;
  readonly log: vscode.LogOutputChannel;
  /** Progress with Cancel, holding the model's refreshes back while the disk is half-written. */
  readonly operations: LongOperations;
  /** Read-only documents: snapshot sides and summaries. */
  readonly content: SnapshotContent;
  /** A stage's last run as a document. */
  readonly stageLogs: StageLogs;
  /** The pipeline graph panels. */
  readonly graphs: PipelineGraphs;
  /** The Experiments panels, one per workspace. */
  readonly experiments: ExperimentPanels;
}
