// Reads a dvc.yaml into plain typed data, checking each construct against
// DVC's documented format (stages, foreach/do, matrix, vars, top-level plots,
// metrics, params and artifacts). A file DVC itself would refuse is refused
// here with its line and column and what is wrong: import-dvc never guesses at
// a malformed pipeline.
import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { SluiceError } from '../errors';
import { isMapping } from './values';

/** An output of a stage (`outs`, `metrics` or `plots`): its path and the flags given with it. */
export interface DvcOutput {
  readonly path: string;
  readonly flags: Readonly<Record<string, unknown>>;
}

/** One entry of a stage's `params`: a key of the default params file, or a file with its keys (null: all of it). */
export type DvcParam =
  | { readonly kind: 'key'; readonly key: string }
  | { readonly kind: 'file'; readonly file: string; readonly keys: readonly string[] | null };

/** What a stage runs and reads and writes: a plain stage, the `do` of a foreach, or a matrix stage. */
export interface DvcStageBody {
  readonly cmd: readonly string[];
  readonly wdir: string | undefined;
  readonly desc: string | undefined;
  readonly deps: readonly string[];
  readonly params: readonly DvcParam[];
  readonly outs: readonly DvcOutput[];
  readonly metrics: readonly DvcOutput[];
  readonly plots: readonly DvcOutput[];
  readonly frozen: boolean;
  readonly alwaysChanged: boolean;
  readonly hasMeta: boolean;
  readonly hasVars: boolean;
  /** Keys DVC's format does not have, in the order written. */
  readonly otherKeys: readonly string[];
}

export type DvcStage =
  | { readonly name: string; readonly kind: 'plain'; readonly body: DvcStageBody }
  | {
      readonly name: string;
      readonly kind: 'foreach';
      /** A list, a mapping, or a `${…}` string. */
      readonly foreach: unknown;
      readonly body: DvcStageBody;
      readonly otherKeys: readonly string[];
    }
  | {
      readonly name: string;
      readonly kind: 'matrix';
      /** Each name: a list, or a `${…}` string. */
      readonly matrix: Readonly<Record<string, unknown>>;
      readonly body: DvcStageBody;
    };

export type DvcVar =
  | { readonly kind: 'file'; readonly entry: string }
  | { readonly kind: 'values'; readonly values: Readonly<Record<string, unknown>> };

/** A top-level plot: its id (a path or a name) and its configuration, null when none is given. */
export interface DvcTopPlot {
  readonly id: string;
  readonly flags: Readonly<Record<string, unknown>> | null;
}

export interface DvcArtifact {
  readonly id: string;
  readonly path: string | undefined;
}

export interface DvcYaml {
  readonly file: string;
  readonly vars: readonly DvcVar[];
  readonly stages: readonly DvcStage[];
  readonly plots: readonly DvcTopPlot[];
  readonly metrics: readonly string[];
  readonly params: readonly string[];
  readonly artifacts: readonly DvcArtifact[];
  readonly unknownKeys: readonly string[];
}

const STAGE_KEYS = new Set([
  'cmd',
  'wdir',
  'deps',
  'params',
  'outs',
  'metrics',
  'plots',
  'frozen',
  'always_changed',
  'meta',
  'desc',
  'vars',
]);
const TOP_KEYS = new Set(['stages', 'vars', 'plots', 'metrics', 'params', 'artifacts']);

type Path = readonly (string | number)[];

/** Reads and checks `file`; throws `dvc-yaml-unreadable` or `dvc-yaml-invalid` (exit 2). */
export function readDvcYaml(file: string): DvcYaml {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code;
    const missing = errno === 'ENOENT';
    throw new SluiceError(
      missing
        ? basename(file) === 'dvc.yaml'
          ? `No dvc.yaml in ${dirname(file)}.`
          : `No DVC pipeline at ${file}: it does not exist.`
        : `Cannot read ${file}: ${errno === 'EACCES' ? 'permission denied' : errno === 'EISDIR' ? 'it is a folder' : (errno ?? 'unreadable')}.`,
      'usage',
      missing
        ? 'Pass the folder that holds dvc.yaml, or the path of a dvc.yaml.'
        : 'Check the path and its permissions, then run `sluice import-dvc` again.',
      { code: missing ? 'dvc-yaml-not-found' : 'dvc-yaml-unreadable', data: { file, errno: errno ?? null } },
    );
  }
  return parseDvcYaml(file, text);
}

/** Parses the text of a dvc.yaml (named `file` in messages). */
export function parseDvcYaml(file: string, text: string): DvcYaml {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, merge: true, prettyErrors: false });
  const reader = new DvcYamlReader(file, document, lineCounter);
  const [syntax] = document.errors;
  if (syntax)
    reader.failAtOffset(syntax.pos[0], syntax.message.split('\n')[0]!.replace(/ at line \d+.*$/, ''));
  const root: unknown = document.toJS({ maxAliasCount: 1000 });
  return reader.project(root);
}

class DvcYamlReader {
  constructor(
    private readonly file: string,
    private readonly document: Document,
    private readonly lineCounter: LineCounter,
  ) {}

  project(root: unknown): DvcYaml {
    const top = root === null || root === undefined ? {} : this.mapping(root, [], 'dvc.yaml');
    const stages = this.optionalMapping(top['stages'], ['stages'], '`stages`');
    return {
      file: this.file,
      vars: this.vars(top['vars'], ['vars']),
      stages: Object.entries(stages).map(([name, stage]) => this.stage(name, stage)),
      plots: this.topPlots(top['plots']),
      metrics: this.strings(top['metrics'], ['metrics'], 'a metrics file'),
      params: this.strings(top['params'], ['params'], 'a params file'),
      artifacts: Object.entries(this.optionalMapping(top['artifacts'], ['artifacts'], '`artifacts`')).map(
        ([id, artifact]) => ({
          id,
          path: isMapping(artifact) && typeof artifact['path'] === 'string' ? artifact['path'] : undefined,
        }),
      ),
      unknownKeys: Object.keys(top).filter((key) => !TOP_KEYS.has(key)),
    };
  }

  private stage(name: string, value: unknown): DvcStage {
    const path = ['stages', name];
    const stage = this.mapping(value, path, `stage '${name}'`, 'cmd, deps, outs, …');
    if ('foreach' in stage) {
      const foreach = stage['foreach'];
      if (typeof foreach === 'string') this.template(foreach, [...path, 'foreach'], `'${name}': foreach`);
      else if (!Array.isArray(foreach) && !isMapping(foreach))
        this.fail([...path, 'foreach'], `stage '${name}': foreach must be a list, a mapping or \`\${name}\``);
      if (!('do' in stage)) this.fail(path, `stage '${name}' has foreach but no \`do\``);
      const body = this.body(stage['do'], [...path, 'do'], `stage '${name}': do`);
      const otherKeys = Object.keys(stage).filter((key) => key !== 'foreach' && key !== 'do');
      return { name, kind: 'foreach', foreach, body, otherKeys };
    }
    if ('do' in stage) this.fail([...path, 'do'], `stage '${name}' has \`do\` but no foreach`);
    if ('matrix' in stage) {
      const matrix = this.mapping(stage['matrix'], [...path, 'matrix'], `stage '${name}': matrix`);
      if (Object.keys(matrix).length === 0)
        this.fail([...path, 'matrix'], `stage '${name}': matrix is empty`);
      for (const [variable, values] of Object.entries(matrix)) {
        const at = [...path, 'matrix', variable];
        if (typeof values === 'string') this.template(values, at, `'${name}': matrix ${variable}`);
        else if (!Array.isArray(values))
          this.fail(at, `stage '${name}': matrix ${variable} must be a list or \`\${name}\``);
      }
      const rest = Object.fromEntries(Object.entries(stage).filter(([key]) => key !== 'matrix'));
      return { name, kind: 'matrix', matrix, body: this.body(rest, path, `stage '${name}'`) };
    }
    return { name, kind: 'plain', body: this.body(stage, path, `stage '${name}'`) };
  }

  private body(value: unknown, path: Path, what: string): DvcStageBody {
    const body = this.mapping(value, path, what, 'cmd, deps, outs, …');
    if (!('cmd' in body)) this.fail(path, `${what} has no \`cmd\` (the command DVC runs)`);
    const cmd = body['cmd'];
    const commands = typeof cmd === 'string' ? [cmd] : Array.isArray(cmd) ? cmd : undefined;
    if (commands === undefined || commands.length === 0)
      this.fail([...path, 'cmd'], `${what}: cmd must be a command or a list of commands`);
    commands.forEach((command, index) => {
      if (typeof command !== 'string' || command.trim() === '')
        this.fail([...path, 'cmd', index], `${what}: each command of cmd must be text`);
    });
    return {
      cmd: commands as string[],
      wdir: this.optionalString(body['wdir'], [...path, 'wdir'], `${what}: wdir`),
      desc: this.optionalString(body['desc'], [...path, 'desc'], `${what}: desc`),
      deps: this.strings(body['deps'], [...path, 'deps'], `${what}: each dep`),
      params: this.params(body['params'], [...path, 'params'], what),
      outs: this.outputs(body['outs'], [...path, 'outs'], `${what}: outs`),
      metrics: this.outputs(body['metrics'], [...path, 'metrics'], `${what}: metrics`),
      plots: this.outputs(body['plots'], [...path, 'plots'], `${what}: plots`),
      frozen: this.flag(body['frozen'], [...path, 'frozen'], `${what}: frozen`),
      alwaysChanged: this.flag(
        body['always_changed'],
        [...path, 'always_changed'],
        `${what}: always_changed`,
      ),
      hasMeta: 'meta' in body,
      hasVars: 'vars' in body,
      otherKeys: Object.keys(body).filter((key) => !STAGE_KEYS.has(key)),
    };
  }

  private params(value: unknown, path: Path, what: string): DvcParam[] {
    return this.list(value, path, `${what}: params`)
      .map((entry, index): DvcParam[] => {
        const at = [...path, index];
        if (typeof entry === 'string') return [{ kind: 'key', key: entry }];
        if (!isMapping(entry))
          this.fail(at, `${what}: each params entry must be a key or a mapping of a params file to its keys`);
        return Object.entries(entry).map(([file, keys]): DvcParam => {
          if (keys === null || (Array.isArray(keys) && keys.length === 0))
            return { kind: 'file', file, keys: null };
          return {
            kind: 'file',
            file,
            keys: this.strings(keys, [...at, file], `${what}: each key of ${file}`),
          };
        });
      })
      .flat();
  }

  private outputs(value: unknown, path: Path, what: string): DvcOutput[] {
    return this.list(value, path, what).map((entry, index) => {
      const at = [...path, index];
      if (typeof entry === 'string') return { path: entry, flags: {} };
      if (!isMapping(entry) || Object.keys(entry).length !== 1)
        this.fail(
          at,
          `${what}: each entry must be a path, or one path with its options (\`- file: {cache: false}\`)`,
        );
      const [outputPath, flags] = Object.entries(entry)[0]!;
      if (flags !== null && !isMapping(flags))
        this.fail([...at, outputPath], `${what}: the options of ${outputPath} must be a mapping`);
      return { path: outputPath, flags: flags ?? {} };
    });
  }

  private vars(value: unknown, path: Path): DvcVar[] {
    return this.list(value, path, '`vars`').map((entry, index): DvcVar => {
      if (typeof entry === 'string') return { kind: 'file', entry };
      if (isMapping(entry)) return { kind: 'values', values: entry };
      return this.fail([...path, index], 'each `vars` entry must be a file or a mapping of names to values');
    });
  }

  private topPlots(value: unknown): DvcTopPlot[] {
    // DVC 3 writes a list; DVC 2.x accepted a mapping of ids to configurations.
    const entries: [string, unknown, Path][] = isMapping(value)
      ? Object.entries(value).map(([id, flags]) => [id, flags, ['plots', id]])
      : this.list(value, ['plots'], 'top-level `plots`').flatMap(
          (entry, index): [string, unknown, Path][] => {
            if (typeof entry === 'string') return [[entry, null, ['plots', index]]];
            if (!isMapping(entry))
              this.fail(
                ['plots', index],
                'each top-level plot must be a path or a mapping of an id to its options',
              );
            return Object.entries(entry).map(([id, flags]) => [id, flags, ['plots', index, id]]);
          },
        );
    return entries.map(([id, flags, at]) => {
      if (flags !== null && !isMapping(flags)) this.fail(at, `plot '${id}': its options must be a mapping`);
      return { id, flags };
    });
  }

  private template(text: string, path: Path, what: string): void {
    if (!/^\s*\$\{[^}]+\}\s*$/.test(text))
      this.fail(path, `stage ${what} must be a list, a mapping or \`\${name}\``);
  }

  private mapping(value: unknown, path: Path, what: string, holds?: string): Record<string, unknown> {
    if (isMapping(value)) return value;
    return this.fail(path, `${what} is not a mapping${holds === undefined ? '' : ` (${holds})`}`);
  }

  private optionalMapping(value: unknown, path: Path, what: string): Record<string, unknown> {
    return value === null || value === undefined ? {} : this.mapping(value, path, what);
  }

  private list(value: unknown, path: Path, what: string): unknown[] {
    if (value === null || value === undefined) return [];
    if (Array.isArray(value)) return value;
    return this.fail(path, `${what} must be a list`);
  }

  private strings(value: unknown, path: Path, what: string): string[] {
    return this.list(value, path, what).map((entry, index) => {
      if (typeof entry !== 'string' || entry === '')
        this.fail([...path, index], `${what} must be a path or name (text)`);
      return entry;
    });
  }

  private optionalString(value: unknown, path: Path, what: string): string | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') this.fail(path, `${what} must be text`);
    return value;
  }

  private flag(value: unknown, path: Path, what: string): boolean {
    if (value === undefined || value === null) return false;
    if (typeof value !== 'boolean') this.fail(path, `${what} must be true or false`);
    return value;
  }

  /** Fails pointing at the node at `path`, or at its key when the value is empty or reached through an alias. */
  fail(path: Path, message: string): never {
    const node = this.document.getIn(path, true) as Node | undefined;
    const empty = isScalar(node) && (node.source === '' || node.value === null);
    const offset = node?.range && !empty ? node.range[0] : this.keyOffset(path);
    return this.failAtOffset(offset, message);
  }

  private keyOffset(path: Path): number {
    for (let length = path.length; length > 0; length--) {
      const parent = this.document.getIn(path.slice(0, length - 1), true);
      if (isMap(parent)) {
        const pair = parent.items.find(
          (item) => isScalar(item.key) && String(item.key.value) === String(path[length - 1]),
        );
        if (pair && isScalar(pair.key) && pair.key.range) return pair.key.range[0];
      }
      const node = this.document.getIn(path.slice(0, length - 1), true) as Node | undefined;
      if (node?.range) return node.range[0];
    }
    return 0;
  }

  failAtOffset(offset: number, message: string): never {
    const { line, col } = this.lineCounter.linePos(offset);
    throw new SluiceError(
      `${this.file}:${line}:${col}: ${message}.`,
      'manifest',
      'Fix the dvc.yaml, then run `sluice import-dvc` again.',
      { code: 'dvc-yaml-invalid', data: { file: this.file, line, column: col } },
    );
  }
}
