// One analysis of a manifest text: syntax, structure, semantics, and the
// indexes editor features need. `ManifestDocument` keeps the parser's chunk
// cache between versions so that an edit costs in proportion to its size.
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { SluiceError } from '../errors';
import { DiskProbe, type FileProbe } from '../paths';
import { LineIndex, type ManifestDiagnostic } from './diagnostics';
import { manifestLimitProblem, MAX_MANIFEST_BYTES, type LimitProblem } from './limits';
import { readManifestModel, readModel, type Manifest } from './model';
import { TemplateExpansions } from './expansions';
import type { TemplateScope } from './templates';
import { IncrementalYamlParser } from './parser';
import { checkMonitors } from './monitor';
import { checkSemantics } from './semantics';
import { validateStructure } from './structure';
import { SymbolIndex } from './symbols';
import type { YNode } from './yamlTree';

export const MANIFEST_FILE = 'sluice.yaml';

export interface AnalyzeOptions {
  /** How to look at the workspace's files; without one, checks that need the disk are skipped. */
  readonly probe?: FileProbe;
  /** Params for one run (`run --set`), which `${…}` sees in place of the params file's. */
  readonly overrides?: Readonly<Record<string, unknown>>;
}

export interface ManifestAnalysis {
  readonly text: string;
  /** The editor's document version this analysis belongs to, when there is one. */
  readonly version: number | undefined;
  readonly lineIndex: LineIndex;
  readonly root: YNode | null;
  readonly manifest: Manifest;
  /** Sorted by position. */
  readonly diagnostics: readonly ManifestDiagnostic[];
  readonly symbols: SymbolIndex;
  readonly probe: FileProbe | undefined;
  /** True when some diagnostic is an error. */
  readonly hasErrors: boolean;
  /** Workspace files the model was read from besides the manifest (params and vars files for `${…}`), as read. */
  readonly inputs: ReadonlyMap<string, string | undefined>;
  /** The values `${…}` can name in the whole manifest (the params file and `vars`), read when first asked. */
  readonly templateScope: () => TemplateScope;
  /** Each template's generated stages and the scope each was made in, by `PIPELINE.TEMPLATE`. */
  readonly instanceScopes: ReadonlyMap<
    string,
    readonly { readonly stage: string; readonly scope: TemplateScope }[]
  >;
  /**
   * Set when the text goes past a limit (limits.ts): it was not analyzed, the
   * one diagnostic says why, and editor features have nothing to offer.
   */
  readonly overLimit: LimitProblem | undefined;
}

export class ManifestDocument {
  private readonly parser = new IncrementalYamlParser();
  /** What the templates generated last time: an edit expands again only the template it touched. */
  private readonly expansions = new TemplateExpansions();
  private last: ManifestAnalysis | undefined;

  constructor(private readonly options: AnalyzeOptions = {}) {}

  /** The analysis of `text`, reusing the previous one when nothing changed. */
  update(text: string, version?: number): ManifestAnalysis {
    const steps = this.updateInSteps(text, version);
    for (;;) {
      const step = steps.next();
      if (step.done) return step.value;
    }
  }

  /**
   * The same analysis, in steps of a few tens of milliseconds on the largest
   * manifests: a server runs one step per turn of its event loop, so requests
   * such as completion are answered between steps instead of after them all.
   */
  *updateInSteps(text: string, version?: number): Generator<void, ManifestAnalysis> {
    if (this.last?.text === text) {
      if (this.last.version !== version) this.last = { ...this.last, version };
      return this.last;
    }
    const analysis = yield* analyzeInSteps(text, version, this.parser, this.expansions, this.options);
    this.last = analysis;
    return analysis;
  }

  /** Drops the last analysis, so the next update re-checks even unchanged text (files changed on disk). */
  forget(): void {
    this.last = undefined;
  }

  get analysis(): ManifestAnalysis | undefined {
    return this.last;
  }
}

/** Analyzes a manifest text once. */
export function analyzeManifest(text: string, options: AnalyzeOptions = {}): ManifestAnalysis {
  return new ManifestDocument(options).update(text);
}

function* analyzeInSteps(
  text: string,
  version: number | undefined,
  parser: IncrementalYamlParser,
  expansions: TemplateExpansions,
  options: AnalyzeOptions,
): Generator<void, ManifestAnalysis> {
  const limit = manifestLimitProblem(text);
  if (limit) return refusedAnalysis(text, version, limit, options);
  // YAML 1.2 ends lines at a lone \r too, but the `yaml` package does not: make
  // it see a \n there. Same length, so every offset stays valid for `text`.
  const parsed = parser.parse(text.includes('\r') ? text.replace(/\r(?!\n)/g, '\n') : text);
  const lineIndex = new LineIndex(text);
  const hinted = new Set<number>();
  const diagnostics: ManifestDiagnostic[] = parsed.problems.map((problem) => ({
    severity: 'error',
    code: problem.code,
    message:
      problem.code === 'yaml-syntax'
        ? `YAML syntax: ${problem.message}${flowTemplateHint(text, problem.start, hinted)}`
        : problem.message,
    start: problem.start,
    end: problem.end,
  }));
  yield;
  yield* validateStructure(parsed.root, diagnostics, text.length);
  yield;
  const probe = options.probe;
  const { manifest, templating, scope } = readManifestModel(parsed.root, {
    text,
    ...(probe ? { readText: (path: string) => probe.readText(path) } : {}),
    ...(options.overrides ? { overrides: options.overrides } : {}),
    expansions,
  });
  diagnostics.push(...templating.diagnostics);
  const semantic = {
    text,
    manifest,
    probe: options.probe,
    lineOf: (offset: number) => lineIndex.position(offset).line + 1,
  };
  yield* checkSemantics(semantic, diagnostics);
  checkMonitors(semantic, diagnostics);
  diagnostics.sort((a, b) => a.start - b.start || a.end - b.end);
  // Templates and the params check can find the same unreadable file: say it once.
  for (let i = diagnostics.length - 1; i > 0; i--) {
    const [before, here] = [diagnostics[i - 1]!, diagnostics[i]!];
    if (before.start === here.start && before.end === here.end && before.code === here.code)
      diagnostics.splice(i, 1);
  }
  return {
    text,
    version,
    lineIndex,
    root: parsed.root,
    manifest,
    diagnostics,
    symbols: new SymbolIndex(manifest, text),
    probe: options.probe,
    hasErrors: diagnostics.some((d) => d.severity === 'error'),
    inputs: templating.inputs,
    templateScope: scope,
    instanceScopes: templating.instanceScopes,
    overLimit: undefined,
  };
}

/**
 * `outs: [${item}.txt]` is not YAML: inside `[…]` or `{…}` a `{` opens a
 * mapping. Said once per line, on the first syntax error there, since the
 * parser's own words ("Missing , or :") do not point at the cause.
 */
function flowTemplateHint(text: string, offset: number, hinted: Set<number>): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  if (hinted.has(lineStart)) return '';
  const lineEnd = text.indexOf('\n', offset);
  const line = text.slice(lineStart, lineEnd === -1 ? text.length : lineEnd);
  const template = line.indexOf('${');
  if (template === -1 || !/[[{]/.test(line.slice(0, template))) return '';
  hinted.add(lineStart);
  return '. Inside `[…]` or `{…}`, a value with `${…}` must be quoted (`["${item}.txt"]`), or written as a `- ` list';
}

/**
 * The analysis of a text beyond a limit: one error on its first line, and
 * nothing else. Only the first line is indexed: indexing every line of 50 MB
 * alone takes more than a second.
 */
function refusedAnalysis(
  text: string,
  version: number | undefined,
  limit: LimitProblem,
  options: AnalyzeOptions,
): ManifestAnalysis {
  // Past the size limit the text is not even looked at: in an editor it is a rope of
  // edits, and the first look at any character copies all of it into one string.
  let head = '';
  if (limit.limit !== 'bytes') {
    const lineEnd = text.search(/[\r\n]/);
    head = lineEnd === -1 ? text : text.slice(0, lineEnd);
  }
  const manifest = readModel(null);
  return {
    text,
    version,
    lineIndex: new LineIndex(head),
    root: null,
    manifest,
    diagnostics: [
      {
        severity: 'error',
        code: 'manifest-too-large',
        message: limit.message,
        start: 0,
        end: Math.min(head.length, 200),
      },
    ],
    symbols: new SymbolIndex(manifest, ''),
    probe: options.probe,
    hasErrors: true,
    inputs: new Map(),
    templateScope: () => ({ names: new Map() }),
    instanceScopes: new Map(),
    overLimit: limit,
  };
}

/**
 * Reads and analyzes a manifest file (or the sluice.yaml in a folder). The
 * workspace root is the manifest's folder.
 */
export function readManifestFile(
  path: string,
  options: Pick<AnalyzeOptions, 'overrides'> = {},
): ManifestAnalysis & { readonly file: string } {
  let file = resolve(path);
  try {
    if (statSync(file).isDirectory()) file = resolve(file, MANIFEST_FILE);
  } catch {
    // Reported below, when reading.
  }
  let text: string;
  try {
    // A file past the size limit is refused unread: reading 2 GB would be the problem.
    const size = statSync(file).size;
    const limit = size > MAX_MANIFEST_BYTES ? manifestLimitProblem('', size) : undefined;
    if (limit) return { ...refusedAnalysis('', undefined, limit, {}), file };
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'it does not exist'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'it is a folder'
            : (code ?? 'unreadable');
    throw new SluiceError(
      `Cannot read the manifest ${file}: ${reason}.`,
      'usage',
      'Run `sluice init` to create one, or pass the path of a sluice.yaml.',
      { code: 'manifest-unreadable', data: { file, errno: code ?? null } },
    );
  }
  return { ...analyzeManifest(text, { ...options, probe: new DiskProbe(dirname(file)) }), file };
}
