// The Pipelines commands: run a pipeline or a stage (stale stages only, or
// forced), show a stage's last log, reveal a stage in sluice.yaml, open its
// outputs, show a pipeline's graph. Runs call the engine's runPipelines
// in-process, as `sluice run` does: output streams to the Sluice log, progress
// has a Cancel that aborts the runner (it kills the stages' process groups),
// and a message ends the run with its counts. The editor reads a run as
// `sluice run --json` prints it (each stage as it finishes, then the whole run).
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { CancelledError, SluiceError } from '../../core/errors';
import { runCheckJson, runJson, runStageJson, type RunJson } from '../../core/operations/results';
import { openPipelines } from '../../core/pipelines/context';
import type { RunReport } from '../../core/pipelines/runner';
import { runWorkspace } from '../../core/experiments/workspaceRun';
import type { Workspace } from '../../core/workspace';
import { outcome, unchanged, type Changes, type Outcome } from '../changes';
import type { CommandTable } from '../commands';
import type { SluiceContext } from '../context';
import type { WorkspaceModel } from '../model';
import { runCheckLine, runMessage, runStageLine, runSummary } from '../resultMessages';
import {
  manifestName,
  pipelineChildren,
  runTarget,
  type PipelineNode,
  type PipelinesNode,
  type StageNode,
  type TemplateNode,
} from './pipelineNodes';
import { allPipelines, childrenOf, findPipeline } from './pipelinesView';

/** Options a keybinding, another extension or a test may pass to Run Pipeline. */
export interface RunPipelineOptions {
  /** The pipeline's name; without it, the only pipeline, or a quick pick. */
  readonly pipeline?: string;
  /** Run every stage, even those up to date. */
  readonly force?: boolean;
  /** Aborts the run, as the progress notification's Cancel does. */
  readonly signal?: AbortSignal;
}

const RUN = 'run pipelines';

export function pipelineCommands(context: SluiceContext): CommandTable {
  const { model } = context;
  return {
    runPipeline: {
      writes: RUN,
      run: async (arg) => {
        const parsed = parseRunPipelineArgument(arg);
        if (parsed.node !== undefined)
          return runTargets(context, parsed.node, [parsed.node.pipeline.name], false, undefined);
        const { options } = parsed;
        const node = await pickPipeline(model, options.pipeline, 'Run which pipeline?');
        if (node === undefined) return unchanged(undefined);
        return runTargets(context, node, [node.pipeline.name], options.force === true, options.signal);
      },
    },
    forceRunPipeline: {
      writes: RUN,
      run: async (arg) => {
        const node = isNode(arg, 'pipeline')
          ? arg
          : await pickPipeline(model, undefined, 'Force run which pipeline?');
        return node ? runTargets(context, node, [node.pipeline.name], true, undefined) : unchanged(undefined);
      },
    },
    // A stage node runs its stage; a template node, every stage the template generated.
    runStage: {
      writes: RUN,
      run: (arg) => {
        const node = requireStageOrTemplate(arg);
        return runTargets(context, node.parent, [runTarget(node)], false, undefined);
      },
    },
    forceRunStage: {
      writes: RUN,
      run: (arg) => {
        const node = requireStageOrTemplate(arg);
        return runTargets(context, node.parent, [runTarget(node)], true, undefined);
      },
    },
    showStageLog: (arg) => {
      const node = requireStage(arg);
      return context.stageLogs.show(node.parent.root, node.stage.pipeline, node.stage.name);
    },
    revealStageInManifest: (arg) => {
      const node = requireStageOrTemplate(arg);
      const { offset, name } = manifestName(node);
      return revealStage(node.parent.manifestFile, offset, name);
    },
    openStageOutputs: (arg) => openOutputs(requireStage(arg)),
    showPipelineGraph: async (arg) => {
      const node = isNode(arg, 'pipeline')
        ? arg
        : await pickPipeline(model, undefined, 'Show the graph of which pipeline?');
      return node && context.graphs.show(node);
    },
  };
}

/** Reveals a stage or a template by name, for the graph's clicks. */
export async function revealStageByName(
  model: WorkspaceModel,
  root: string,
  pipeline: string,
  name: string,
): Promise<vscode.TextEditor | undefined> {
  const node = findPipeline(model, root, pipeline);
  if (node === undefined) return undefined;
  const found = childrenOf(model, node)
    .flatMap((child) => (child.kind === 'stage' ? [child] : [child, ...child.stages]))
    .find((child) => (child.kind === 'stage' ? child.stage.name : child.template.name) === name);
  if (found === undefined) return undefined;
  const written = manifestName(found);
  return revealStage(node.manifestFile, written.offset, written.name);
}

export function isNode<K extends PipelinesNode['kind']>(
  value: unknown,
  kind: K,
): value is Extract<PipelinesNode, { kind: K }> {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === kind;
}

/** Run Pipeline takes a pipeline node (from the tree) or options (from the palette or another command). */
function parseRunPipelineArgument(
  arg: unknown,
):
  | { readonly node: PipelineNode; readonly options?: undefined }
  | { readonly node?: undefined; readonly options: RunPipelineOptions } {
  if (isNode(arg, 'pipeline')) return { node: arg };
  if (typeof arg !== 'object' || arg === null) return { options: {} };
  const { pipeline, force, signal } = arg as Record<string, unknown>;
  return {
    options: {
      ...(typeof pipeline === 'string' ? { pipeline } : {}),
      ...(force === true ? { force: true } : {}),
      ...(signal instanceof AbortSignal ? { signal } : {}),
    },
  };
}

function requireStage(arg: unknown): StageNode {
  if (!isNode(arg, 'stage')) {
    throw new SluiceError('Choose a stage in the Pipelines view first.', 'usage');
  }
  return arg;
}

function requireStageOrTemplate(arg: unknown): StageNode | TemplateNode {
  if (!isNode(arg, 'stage') && !isNode(arg, 'template')) {
    throw new SluiceError('Choose a stage or a stage template in the Pipelines view first.', 'usage');
  }
  return arg;
}

async function pickPipeline(
  model: WorkspaceModel,
  name: string | undefined,
  placeHolder: string,
): Promise<PipelineNode | undefined> {
  await model.start();
  const all = allPipelines(model);
  if (name !== undefined) {
    const named = all.find((node) => node.pipeline.name === name);
    if (named === undefined) {
      throw new SluiceError(
        `No pipeline named '${name}'.`,
        'usage',
        `Pipelines: ${all.map((node) => node.pipeline.name).join(', ') || '(none)'}.`,
      );
    }
    return named;
  }
  if (all.length === 0) {
    throw new SluiceError(
      'No pipeline is declared in sluice.yaml.',
      'usage',
      'Declare one under `pipelines:`.',
    );
  }
  if (all.length === 1) return all[0];
  const several = new Set(all.map((node) => node.root)).size > 1;
  const picked = await vscode.window.showQuickPick(
    all.map((node) => ({
      label: node.pipeline.name,
      ...(several ? { description: node.root } : {}),
      detail: pipelineOutline(node),
      node,
    })),
    { placeHolder },
  );
  return picked?.node;
}

/** A pipeline's stages in order for a quick pick, each template once with its count (`prepare → train ×4`). */
function pipelineOutline(node: PipelineNode): string {
  return pipelineChildren(node, () => undefined)
    .map((child) =>
      child.kind === 'stage' ? child.stage.name : `${child.template.name} ×${String(child.stages.length)}`,
    )
    .join(' → ');
}

async function runTargets(
  context: SluiceContext,
  node: PipelineNode,
  targets: readonly string[],
  force: boolean,
  callerSignal: AbortSignal | undefined,
): Promise<Outcome<RunJson>> {
  const { model, log } = context;
  const root = node.root;
  const workspace = model.readableWorkspaceAt(root);
  const what = targets.join(', ');
  const title = `${force ? 'Force running' : 'Running'} ${what}`;
  model.runStarted(root);
  let report: RunReport;
  try {
    report = await context.operations.run(title, async (signal, progress) => {
      const aborted = callerSignal === undefined ? signal : AbortSignal.any([signal, callerSignal]);
      const output = new LineBuffers(log);
      const pipelines = openPipelines(workspace);
      try {
        const { report: ran } = await runWorkspace(pipelines, {
          targets,
          force,
          signal: aborted,
          events: {
            stageStarted: (stage) => {
              log.info(`▶ ${stage.id}: ${stage.run}`);
              progress(stage.name);
              model.stageProgress(root, stage.id, { kind: 'running' });
            },
            stageSubmitted: (stage, job) => {
              log.info(`⧗ ${stage.id}: Slurm job ${job}`);
              // The journal holds the job now: the view shows where it is in Slurm's queue while the run follows it.
              void model.refreshJobs(root);
            },
            stageOutput: (stage, text) => {
              output.write(stage.id, text);
            },
            stageFinished: (stage, finished) => {
              output.flush(stage.id);
              const json = runStageJson(finished);
              log.info(runStageLine(json));
              model.stageProgress(root, stage.id, { kind: 'finished', result: json.result });
            },
            checkOutput: (check, text) => {
              output.write(`check ${check.name}`, text);
            },
            checkFinished: (check, result) => {
              output.flush(`check ${check.name}`);
              log.info(runCheckLine(runCheckJson(result)));
            },
          },
        });
        return ran;
      } finally {
        output.flushAll();
      }
    });
  } finally {
    model.runEnded(root);
    context.stageLogs.refresh();
  }
  // What `sluice run --json` prints: from here on, only this is read.
  const json = runJson(report, undefined);
  const summary = runSummary(json);
  log.info(`${what}: ${summary}`);
  if (json.cancelled)
    throw new CancelledError(`The run of ${what}`, {
      message: `The run of ${what} was cancelled (${summary}).`,
      data: { summary },
    });
  announce(context, node, what, json);
  return outcome(json, runChanges(model, workspace, json));
}

/**
 * A run changes stage records and outputs; an output inside a dataset's path
 * (or holding one) changes that dataset too.
 */
function runChanges(model: WorkspaceModel, workspace: Workspace, run: RunJson): Changes {
  const root = workspace.root;
  const outs = new Map(
    allPipelines(model)
      .filter((node) => node.root === root)
      .flatMap((node) => node.pipeline.stages.map((stage) => [stage.id, stage.outs] as const)),
  );
  const written = run.stages
    .filter((stage) => stage.result === 'ran' || stage.result === 'restored')
    .flatMap((stage) => outs.get(`${stage.pipeline}.${stage.stage}`) ?? []);
  const inside = (path: string, folder: string): boolean => path === folder || path.startsWith(`${folder}/`);
  const touched = [...workspace.manifest.datasets.values()].flatMap((dataset) => {
    const path = dataset.path?.value;
    return path !== undefined && written.some((out) => inside(out, path) || inside(path, out))
      ? [dataset.name]
      : [];
  });
  return [
    { kind: 'pipelines', root },
    ...(touched.length > 0 ? [{ kind: 'datasets' as const, root, names: touched }] : []),
  ];
}

/** The end of a run, with the failed stage's log a click away. */
function announce(parts: SluiceContext, node: PipelineNode, what: string, run: RunJson): void {
  const message = runMessage(what, run);
  if (!message.failed) {
    void vscode.window.showInformationMessage(`Sluice: ${message.text}`);
    return;
  }
  const SHOW_LOG = 'Show Log';
  const { failedStage } = message;
  void vscode.window.showErrorMessage(`Sluice: ${message.text}`, SHOW_LOG).then((choice) => {
    if (choice !== SHOW_LOG) return;
    if (failedStage) void parts.stageLogs.show(node.root, failedStage.pipeline, failedStage.stage);
    else parts.log.show(true);
  });
}

/** Output arrives in chunks; the log gets whole lines, each prefixed with its stage. */
class LineBuffers {
  readonly #partial = new Map<string, string>();

  constructor(private readonly log: vscode.LogOutputChannel) {}

  write(source: string, text: string): void {
    const lines = ((this.#partial.get(source) ?? '') + text).split(/\r?\n/);
    this.#partial.set(source, lines.pop() ?? '');
    for (const line of lines) this.log.info(`${source} │ ${line}`);
  }

  flush(source: string): void {
    const rest = this.#partial.get(source);
    if (rest !== undefined && rest !== '') this.log.info(`${source} │ ${rest}`);
    this.#partial.delete(source);
  }

  flushAll(): void {
    for (const source of [...this.#partial.keys()]) this.flush(source);
  }
}

async function revealStage(manifestFile: string, offset: number, name: string): Promise<vscode.TextEditor> {
  const document = await vscode.workspace.openTextDocument(vscode.Uri.file(manifestFile));
  const start = document.positionAt(offset);
  const range = new vscode.Range(start, document.positionAt(offset + name.length));
  const editor = await vscode.window.showTextDocument(document, { selection: range });
  editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  return editor;
}

/** One output: a file opens, a folder is revealed in the Explorer. Several: pick one. */
async function openOutputs(node: StageNode): Promise<unknown> {
  const { stage } = node;
  if (stage.outs.length === 0) {
    throw new SluiceError(`Stage ${stage.id} declares no outputs.`, 'usage');
  }
  const present = stage.outs.filter((out) => existsSync(join(node.parent.root, out)));
  if (present.length === 0) {
    throw new SluiceError(
      `Stage ${stage.id} has not written ${stage.outs.join(', ')} yet.`,
      'failed',
      'Run it first.',
    );
  }
  const chosen =
    present.length === 1
      ? present[0]
      : await vscode.window.showQuickPick(present, { placeHolder: `Open which output of ${stage.id}?` });
  if (chosen === undefined) return undefined;
  const uri = vscode.Uri.file(join(node.parent.root, chosen));
  if (statSync(uri.fsPath).isDirectory()) return vscode.commands.executeCommand('revealInExplorer', uri);
  return vscode.commands.executeCommand('vscode.open', uri);
}
