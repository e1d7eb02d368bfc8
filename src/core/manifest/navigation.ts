// Editor features over one analysis: hover, go to definition, references,
// rename, document symbols and links. All offsets; faces convert positions.
import { lexicalEscape, normalizeRelative } from '../paths';
import type { ManifestAnalysis } from './analysis';
import type { TextEdit } from './diagnostics';
import { SluiceError } from '../errors';
import type { Located, PipelineDecl, RemoteDecl, TemplateDecl } from './model';
import { DEFAULT_GIT_REMOTE, locateRemote } from './remotes';
import { describeSchema, schemaAtPath } from './schema';
import { contentOffset, metricFile, pipelineOf } from './semantics';
import type { Occurrence, SymbolKind } from './symbols';
import {
  describeRef,
  refAt,
  refDefinition,
  templateBodyAt,
  type FileTarget,
  type TemplateBody,
} from './templateRefs';
import type { TemplateRef } from './templates';
import { pathAt } from './yamlTree';

export interface Span {
  readonly start: number;
  readonly end: number;
}

/** The range of a name without its quotes, if it is quoted. */
function contentSpan(text: string, span: Span): Span {
  const offset = contentOffset(text, span.start);
  return { start: span.start + offset, end: span.end - offset };
}

export interface Hover extends Span {
  readonly markdown: string;
}

/** Hover lists this many of a template's generated stages, then "…and N more". */
const SHOWN_STAGES = 10;

export function hover(analysis: ManifestAnalysis, offset: number): Hover | undefined {
  const under = refUnderCursor(analysis, offset);
  if (under) {
    // An unknown name has no hover: its diagnostic already says what is known.
    const markdown = describeRef(analysis, under.body, under.ref.name);
    return markdown === undefined ? undefined : { markdown, start: under.ref.start, end: under.ref.end };
  }
  const template = templateNamed(analysis, offset);
  if (template) {
    return {
      markdown: describeTemplate(template.pipeline, template.template),
      start: template.template.nameStart,
      end: template.template.nameEnd,
    };
  }
  const occurrence = analysis.symbols.at(offset);
  if (occurrence) {
    const markdown = describeSymbol(analysis, occurrence);
    if (markdown) return { markdown, start: occurrence.start, end: occurrence.end };
  }
  for (const remote of analysis.manifest.remotes.values()) {
    const url = remote.url;
    if (url && offset >= url.start && offset <= url.end)
      return { markdown: describeRemote(remote, analysis.probe?.root), start: url.start, end: url.end };
  }
  const steps = pathAt(analysis.root, offset);
  const last = steps[steps.length - 1];
  if (!last?.key || last.node !== last.key) return undefined;
  // On a key: the schema's documentation for it.
  const path = steps.slice(1).map((step) => (step.index !== undefined ? '[]' : String(step.key?.value)));
  const schema = schemaAtPath(path);
  const doc = schema ? describeSchema(schema) : undefined;
  if (!doc) return undefined;
  return { markdown: `**${String(last.key.value)}**\n\n${doc}`, start: last.key.start, end: last.key.end };
}

/**
 * The `${…}` under the cursor in a string of the manifest (offsets into the
 * document), and the template body it is in, if any.
 */
function refUnderCursor(
  analysis: ManifestAnalysis,
  offset: number,
): { ref: TemplateRef; body: TemplateBody | undefined } | undefined {
  const steps = pathAt(analysis.root, offset);
  const last = steps[steps.length - 1]?.node;
  // Not in a comment, nor in a number or a mapping: only strings are templates.
  if (last?.kind !== 'scalar' || typeof last.value !== 'string') return undefined;
  const { line, character } = analysis.lineIndex.position(offset);
  const ref = refAt(analysis.lineIndex.lineText(line), character);
  if (!ref) return undefined;
  const lineStart = offset - character;
  const keys = steps.flatMap((step) => (step.key ? [String(step.key.value)] : []));
  return {
    ref: { ...ref, start: lineStart + ref.start, end: lineStart + ref.end },
    body: templateBodyAt(analysis, keys),
  };
}

/** The stage template whose name is at `offset`. */
function templateNamed(
  analysis: ManifestAnalysis,
  offset: number,
): { pipeline: PipelineDecl; template: TemplateDecl } | undefined {
  for (const pipeline of analysis.manifest.pipelines.values()) {
    for (const template of pipeline.templates.values()) {
      if (offset >= template.nameStart && offset <= template.nameEnd) return { pipeline, template };
    }
  }
  return undefined;
}

function describeTemplate(pipeline: PipelineDecl, template: TemplateDecl): string {
  const stages = template.instances;
  const shown = stages
    .slice(0, SHOWN_STAGES)
    .map((name) => `\`${name}\``)
    .join(', ');
  const more = stages.length > SHOWN_STAGES ? `, …and ${stages.length - SHOWN_STAGES} more` : '';
  return [
    `**stage template** \`${template.name}\` of pipeline \`${pipeline.name}\` (\`${template.kind}\`)`,
    template.description,
    stages.length === 0
      ? 'Generates no stage.'
      : `Generates ${stages.length} stage${stages.length === 1 ? '' : 's'}: ${shown}${more}.`,
  ]
    .filter(Boolean)
    .join('\n\n');
}

function list(values: readonly Located[]): string {
  return values.map((v) => `\`${v.value}\``).join(', ');
}

function describeSymbol(analysis: ManifestAnalysis, o: Occurrence): string | undefined {
  const { manifest } = analysis;
  switch (o.kind) {
    case 'dataset': {
      const dataset = manifest.datasets.get(o.name);
      if (!dataset) return `**dataset** \`${o.name}\` — not declared`;
      const readers = [...manifest.pipelines.values()].flatMap((p) =>
        [...p.stages.values()]
          .filter((s) => s.datasets.some((d) => d.value === o.name))
          .map((s) => `\`${p.name}.${s.name}\``),
      );
      return [
        `**dataset** \`${o.name}\`${dataset.path ? ` at \`${dataset.path.value}\`` : ''}`,
        dataset.description,
        readers.length > 0 ? `Read by ${readers.join(', ')}.` : 'No stage reads it yet.',
      ]
        .filter(Boolean)
        .join('\n\n');
    }
    case 'stage': {
      const stage = manifest.pipelines.get(o.scope ?? '')?.stages.get(o.name);
      if (!stage) return `**stage** \`${o.name}\` — not in pipeline \`${o.scope ?? ''}\``;
      const facts = [
        stage.needs.length > 0 ? `needs ${list(stage.needs)}` : undefined,
        stage.deps.length > 0 ? `reads ${list(stage.deps)}` : undefined,
        stage.outs.length > 0 ? `writes ${list(stage.outs)}` : undefined,
        stage.metrics.length > 0 ? `metrics ${list(stage.metrics)}` : undefined,
        stage.plots.length > 0
          ? `plots ${list(stage.plots.flatMap((plot) => (plot.path ? [plot.path] : [])))}`
          : undefined,
      ].filter(Boolean);
      return [
        `**stage** \`${o.name}\` of pipeline \`${stage.pipeline}\``,
        stage.description,
        stage.run ? `\`\`\`sh\n${stage.run.value}\n\`\`\`` : undefined,
        facts.length > 0 ? facts.join(' · ') : undefined,
      ]
        .filter(Boolean)
        .join('\n\n');
    }
    case 'pipeline': {
      const pipeline = manifest.pipelines.get(o.name);
      if (!pipeline) return `**pipeline** \`${o.name}\` — not declared`;
      return [
        `**pipeline** \`${o.name}\``,
        pipeline.description,
        `${pipeline.stages.size} stage${pipeline.stages.size === 1 ? '' : 's'}, ${pipeline.checks.length} check${pipeline.checks.length === 1 ? '' : 's'}.`,
      ]
        .filter(Boolean)
        .join('\n\n');
    }
    case 'environment': {
      const environment = manifest.environments.get(o.name);
      if (!environment) return `**environment** \`${o.name}\` — not declared`;
      const pipeline = pipelineOf(manifest, environment);
      return [
        `**environment** \`${o.name}\`${environment.from ? ` ← \`${environment.from.value}\`` : ''}`,
        environment.description,
        [
          pipeline ? `carries pipeline \`${pipeline}\`` : undefined,
          environment.gates.length > 0
            ? `${environment.gates.length} gate${environment.gates.length === 1 ? '' : 's'}`
            : undefined,
          environment.deploy?.path ? `deploys to \`${environment.deploy.path.value}\`` : undefined,
        ]
          .filter(Boolean)
          .join(' · '),
      ]
        .filter(Boolean)
        .join('\n\n');
    }
    case 'remote': {
      const remote = manifest.remotes.get(o.name);
      return remote
        ? describeRemote(remote, analysis.probe?.root)
        : `**remote** \`${o.name}\` — not declared`;
    }
    case 'metrics-file': {
      const writers = [...manifest.pipelines.values()].flatMap((p) =>
        [...p.stages.values()]
          .filter((s) => s.metrics.some((m) => normalizeRelative(m.value) === normalizeRelative(o.name)))
          .map((s) => `\`${p.name}.${s.name}\``),
      );
      return `**metrics file** \`${o.name}\`\n\n${writers.length > 0 ? `Written by ${writers.join(', ')}.` : 'No stage declares it.'}`;
    }
  }
}

/** A remote as hover shows it: where its URL leads, whether it is the default, the git remote of its refs. */
function describeRemote(remote: RemoteDecl, root: string | undefined): string {
  const location = remote.url ? locateRemote(remote.url.value, root ?? '/') : undefined;
  let where: string | undefined;
  if (location instanceof SluiceError) where = 'Its URL cannot be used (see the problem reported on it).';
  else if (location?.kind === 'folder')
    where = `A folder: \`${root === undefined ? remote.url!.value : location.path}\`.`;
  else if (location?.kind === 'ssh')
    where = `SSH to \`${location.host}\`${location.port === undefined ? '' : ` port ${location.port}`}${location.user === undefined ? '' : ` as \`${location.user}\``}, folder \`${location.path}\`. Logs in with your ~/.ssh/config, keys and agent.`;
  else if (location?.kind === 's3')
    where = `S3 bucket \`${location.bucket}\`${location.prefix === '' ? '' : `, under \`${location.prefix}/\``}${remote.endpoint ? ` on \`${remote.endpoint.value}\`` : ''}. Credentials come from the AWS chain.`;
  return [
    `**remote** \`${remote.name}\`${remote.default?.value === true ? ' (default)' : ''}`,
    remote.description,
    where,
    `Refs travel through the git remote \`${remote.git?.value ?? DEFAULT_GIT_REMOTE}\`; .sluice/remotes.yaml may override this remote on one machine.`,
  ]
    .filter(Boolean)
    .join('\n\n');
}

/** A place in the manifest, or in a params or vars file a `${…}` names. */
export type DefinitionTarget = Span | FileTarget;

export function definition(analysis: ManifestAnalysis, offset: number): DefinitionTarget[] {
  const under = refUnderCursor(analysis, offset);
  if (under) return refDefinition(analysis, under.body, under.ref.name);
  const occurrence = analysis.symbols.at(offset);
  if (!occurrence) return [];
  return analysis.symbols
    .sameSymbol(occurrence)
    .filter((o) => o.definition)
    .map((o) => contentSpan(analysis.text, o));
}

export function references(analysis: ManifestAnalysis, offset: number, includeDeclaration: boolean): Span[] {
  const occurrence = analysis.symbols.at(offset);
  if (!occurrence) return [];
  return analysis.symbols
    .sameSymbol(occurrence)
    .filter((o) => includeDeclaration || !o.definition)
    .map((o) => contentSpan(analysis.text, o));
}

const RENAMEABLE: ReadonlySet<SymbolKind> = new Set(['dataset', 'stage', 'pipeline', 'environment']);
const NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

/** The name under the cursor, if it can be renamed, with its range and current text. */
export function prepareRename(
  analysis: ManifestAnalysis,
  offset: number,
): (Span & { name: string }) | undefined {
  const occurrence = analysis.symbols.at(offset);
  if (!occurrence || !RENAMEABLE.has(occurrence.kind)) return undefined;
  return { ...contentSpan(analysis.text, occurrence), name: occurrence.name };
}

/** Edits renaming the symbol under the cursor everywhere in the manifest; throws a message when refused. */
export function rename(analysis: ManifestAnalysis, offset: number, newName: string): TextEdit[] {
  const occurrence = analysis.symbols.at(offset);
  if (!occurrence || !RENAMEABLE.has(occurrence.kind)) {
    throw new RenameRefused('Only dataset, stage, pipeline and environment names can be renamed.');
  }
  if (!NAME.test(newName)) {
    throw new RenameRefused(
      `\`${newName}\` is not a valid name: use a letter, then letters, digits, \`_\` or \`-\`.`,
    );
  }
  if (occurrence.kind === 'environment' && newName === 'workspace') {
    throw new RenameRefused('`workspace` is reserved for the working tree.');
  }
  const clash = analysis.symbols.occurrences.find(
    (o) => o.definition && o.kind === occurrence.kind && o.name === newName && o.scope === occurrence.scope,
  );
  if (clash) {
    const article = /^[aeiou]/.test(occurrence.kind) ? 'An' : 'A';
    throw new RenameRefused(`${article} ${occurrence.kind} named \`${newName}\` already exists.`);
  }
  return analysis.symbols
    .sameSymbol(occurrence)
    .map((o) => ({ ...contentSpan(analysis.text, o), newText: newName }));
}

export class RenameRefused extends Error {}

export interface OutlineSymbol extends Span {
  readonly name: string;
  readonly detail?: string;
  readonly kind: 'section' | SymbolKind | 'check';
  readonly selection: Span;
  readonly children: readonly OutlineSymbol[];
}

export function documentSymbols(analysis: ManifestAnalysis): OutlineSymbol[] {
  const { manifest, root } = analysis;
  if (root?.kind !== 'map') return [];
  const sections: OutlineSymbol[] = [];
  for (const pair of root.pairs) {
    const key = String(pair.key.value);
    const section = {
      start: pair.start,
      end: pair.end,
      selection: { start: pair.key.start, end: pair.key.end },
    };
    let children: OutlineSymbol[] = [];
    if (key === 'datasets') {
      children = [...manifest.datasets.values()].map((d) => ({
        name: d.name,
        ...(d.path ? { detail: d.path.value } : {}),
        kind: 'dataset' as const,
        start: d.start,
        end: d.end,
        selection: { start: d.nameStart, end: d.nameEnd },
        children: [],
      }));
    } else if (key === 'pipelines') {
      children = [...manifest.pipelines.values()].map((p) => ({
        name: p.name,
        ...(p.description ? { detail: p.description } : {}),
        kind: 'pipeline' as const,
        start: p.start,
        end: p.end,
        selection: { start: p.nameStart, end: p.nameEnd },
        children: [
          ...[...p.stages.values()].map((s) => ({
            name: s.name,
            ...(s.run ? { detail: s.run.value } : {}),
            kind: 'stage' as const,
            start: s.start,
            end: s.end,
            selection: { start: s.nameStart, end: s.nameEnd },
            children: [],
          })),
          ...p.checks.flatMap((c) =>
            c.name
              ? [
                  {
                    name: c.name.value,
                    detail: c.run?.value ?? c.metric?.value ?? '',
                    kind: 'check' as const,
                    start: c.start,
                    end: c.end,
                    selection: { start: c.name.start, end: c.name.end },
                    children: [],
                  },
                ]
              : [],
          ),
        ],
      }));
    } else if (key === 'remotes') {
      children = [...manifest.remotes.values()].map((r) => ({
        name: r.name,
        ...(r.url ? { detail: r.url.value } : {}),
        kind: 'remote' as const,
        start: r.start,
        end: r.end,
        selection: { start: r.nameStart, end: r.nameEnd },
        children: [],
      }));
    } else if (key === 'environments') {
      children = [...manifest.environments.values()].map((e) => ({
        name: e.name,
        ...(e.from ? { detail: `from ${e.from.value}` } : {}),
        kind: 'environment' as const,
        start: e.start,
        end: e.end,
        selection: { start: e.nameStart, end: e.nameEnd },
        children: [],
      }));
    }
    sections.push({ name: key, kind: 'section', ...section, children });
  }
  return sections;
}

export interface PathLink extends Span {
  /** Relative to the workspace root. */
  readonly target: string;
}

/** Links for every path in the manifest that exists on disk. */
export function documentLinks(analysis: ManifestAnalysis): PathLink[] {
  const { manifest, probe, text } = analysis;
  if (!probe) return [];
  const paths: Located[] = [];
  if (manifest.params) paths.push(manifest.params);
  for (const dataset of manifest.datasets.values()) if (dataset.path) paths.push(dataset.path);
  for (const pipeline of manifest.pipelines.values()) {
    for (const stage of pipeline.stages.values()) {
      paths.push(...stage.deps, ...stage.outs, ...stage.metrics);
      for (const plot of stage.plots) if (plot.path) paths.push(plot.path);
    }
    for (const check of pipeline.checks) {
      const file = check.metric ? metricFile(text, check.metric) : undefined;
      if (file) paths.push(file);
    }
  }
  for (const environment of manifest.environments.values()) {
    if (environment.deploy?.path) paths.push(environment.deploy.path);
    for (const gate of environment.gates) {
      const file = gate.kind === 'metric' && gate.metric ? metricFile(text, gate.metric) : undefined;
      if (file) paths.push(file);
    }
  }
  return paths
    .filter((p) => !lexicalEscape(p.value) && probe.exists(p.value) && !probe.escapesThroughLink(p.value))
    .map((p) => ({ ...contentSpan(text, p), target: normalizeRelative(p.value) }));
}
