// The converted manifest as sluice.yaml text: keys in the order a person
// writes them, short lists of names on one line, and comments that say where
// each part came from and what was not carried over.
import { Document, isMap, isScalar, visit, type Node } from 'yaml';
import type { NotCarried, SluiceManifestModel, SluiceStage, SluiceStageBody } from './model';

/** Lists whose items all fit on one line are written `[a, b]`. */
const FLOW_WIDTH = 72;

export function manifestText(
  model: SluiceManifestModel,
  source: string,
  notCarried: readonly NotCarried[],
): string {
  const content: Record<string, unknown> = { version: 1 };
  if (model.params !== undefined) content['params'] = model.params;
  if (model.vars.length > 0) content['vars'] = model.vars;
  if (model.datasets.length > 0)
    content['datasets'] = Object.fromEntries(
      model.datasets.map((dataset) => [
        dataset.name,
        {
          path: dataset.path,
          ...(dataset.description === undefined ? {} : { description: dataset.description }),
        },
      ]),
    );
  if (model.stages.length > 0)
    content['pipelines'] = {
      [model.pipeline]: {
        stages: Object.fromEntries(model.stages.map((stage) => [stage.name, stageContent(stage)])),
      },
    };
  const document = new Document();
  document.contents = document.createNode(content);
  document.commentBefore = [
    ` Converted from ${source} by \`sluice import-dvc\`. Check it with \`sluice validate\`.`,
    ...(notCarried.length === 0
      ? []
      : [
          ` Not carried over (${notCarried.length}; \`sluice import-dvc --json\` lists them with their reasons):`,
        ]),
    ...notCarried.map((item) => `   - ${item.what} (${item.code})`),
  ].join('\n');
  comment(document, ['datasets'], (name) => {
    const dataset = model.datasets.find((known) => known.name === name);
    return dataset === undefined ? undefined : ` tracked by ${dataset.dvcFile}`;
  });
  comment(document, ['pipelines', model.pipeline, 'stages'], (name) => {
    const stage = model.stages.find((known) => known.name === name);
    if (stage === undefined) return undefined;
    const lines = notCarried.filter(
      (item) => item.code !== 'stage-renamed' && item.what.startsWith(`stage '${stage.dvcName}': `),
    );
    const renamed = stage.name === stage.dvcName ? [] : [` '${stage.dvcName}' in dvc.yaml`];
    const missing = lines.map(
      (item) => ` not carried: ${item.what.replace(`stage '${stage.dvcName}': `, '')}`,
    );
    return [...renamed, ...missing].join('\n') || undefined;
  });
  for (const stage of model.stages) {
    const plots = [
      'pipelines',
      model.pipeline,
      'stages',
      stage.name,
      ...(stage.foreach === undefined ? [] : ['do']),
      'plots',
    ];
    (stage.body.plots ?? []).forEach((plot, index) => {
      const note = typeof plot === 'string' ? undefined : model.plotNotes.get(plot);
      const node = document.getIn([...plots, index], true) as Node | undefined;
      if (note !== undefined && node !== undefined) node.commentBefore = ` ${note}`;
    });
  }
  visit(document, {
    Seq(_, node) {
      // Items a flow list would have to quote (`${…}`, commas, colons) read better one per line.
      const scalars = node.items.every(
        (item) => isScalar(item) && !/[\n{}[\],#]|: /.test(String(item.value)),
      );
      const width = node.items.reduce<number>(
        (sum, item) => sum + String(isScalar(item) ? item.value : '').length + 2,
        0,
      );
      if (scalars && node.items.length > 0 && width <= FLOW_WIDTH) node.flow = true;
    },
  });
  return document.toString({ lineWidth: 0, flowCollectionPadding: false });
}

function stageContent(stage: SluiceStage): Record<string, unknown> {
  const body = bodyContent(stage.body);
  if (stage.foreach !== undefined) return { foreach: stage.foreach, do: body };
  if (stage.matrix !== undefined) return { matrix: stage.matrix, ...body };
  return body;
}

/** The body's fields in the manifest's order, leaving out those not set. */
function bodyContent(body: SluiceStageBody): Record<string, unknown> {
  const order: (keyof SluiceStageBody)[] = [
    'description',
    'run',
    'wdir',
    'datasets',
    'deps',
    'params',
    'outs',
    'metrics',
    'plots',
    'frozen',
    'always_changed',
  ];
  return Object.fromEntries(order.filter((key) => body[key] !== undefined).map((key) => [key, body[key]]));
}

/** Puts `text(key)` as a comment above each key of the mapping at `path`. */
function comment(
  document: Document,
  path: readonly string[],
  text: (key: string) => string | undefined,
): void {
  const node = document.getIn(path, true) as Node | undefined;
  if (!isMap(node)) return;
  for (const pair of node.items) {
    if (!isScalar(pair.key)) continue;
    const line = text(String(pair.key.value));
    if (line !== undefined) pair.key.commentBefore = line;
  }
}
