// What import-dvc produces: the Sluice manifest it writes, as plain data in
// the manifest's own syntax, and the list of what it could not carry over.

/** Why something of a DVC project is not in the Sluice manifest; stable, part of `import-dvc --json`. */
export const NOT_CARRIED_CODES = [
  /** a stage's `meta`: free-form data Sluice has no place for. */
  'stage-meta',
  /** a stage's own `vars`: Sluice has values for the whole manifest only. */
  'stage-vars',
  /** a key DVC's stage format does not have (`live`, …), or one beside `foreach`/`do`. */
  'stage-key',
  /** a stage name that is not a Sluice name, written under another. */
  'stage-renamed',
  /** an output option with no Sluice equivalent: `remote`, `push`, `checkpoint`, `desc`, `type`, `labels`, `meta`. */
  'output-option',
  /** a plot option with no Sluice equivalent (`header: false`, …). */
  'plot-option',
  /** a plot template with no Sluice equivalent (a custom one). */
  'plot-template',
  /** a confusion plot without one column for each of actual and predicted. */
  'plot-confusion',
  /** a top-level plot whose file no stage writes. */
  'plot-no-stage',
  /** a top-level plot that draws several files. */
  'plot-several-files',
  /** a top-level plot of a folder: Sluice plots name files. */
  'plot-folder',
  /** a top-level metrics file that no stage writes. */
  'metrics-no-stage',
  /** a top-level params file that no stage reads. */
  'params-file',
  /** a Python params file (stage params or vars): Sluice reads YAML, JSON and TOML. */
  'python-params',
  /** a `vars` entry that takes some keys of a file (`file.json:a,b`): Sluice loads the whole file. */
  'vars-keys',
  /** `foreach: ${name}` naming a value that neither the params file nor `vars` holds. */
  'foreach-source',
  /** a matrix list `${name}` naming a value that neither the params file nor `vars` holds. */
  'matrix-source',
  /** `${dict}` in a command, which DVC unpacks into `--key value` flags. */
  'dict-unpacking',
  /** a top-level `artifacts` entry: Sluice has no model registry. */
  'artifacts',
  /** a top-level key DVC's format does not have. */
  'unknown-key',
  /** stages in another dvc.yaml under the folder. */
  'other-dvc-yaml',
  /** the recorded state of DVC's last run. */
  'dvc-lock',
  /** a remote of .dvc/config. */
  'dvc-remote',
  /** a `.dvc` file that cannot be read. */
  'dvc-file-invalid',
  /** an old-style `.dvc` file that is a stage (it has a `cmd`). */
  'dvc-file-stage',
  /** a `.dvc` file's data outside the folder. */
  'dataset-outside',
  /** an option of a `.dvc` file's output with no Sluice equivalent (`remote`, `push`, `cache: false`, …). */
  'dataset-option',
  /** data `dvc import` brought in: Sluice does not fetch it again from its source. */
  'dataset-import',
] as const;

export type NotCarriedCode = (typeof NOT_CARRIED_CODES)[number];

export interface NotCarried {
  /** Which file, stage or key (`stage 'train': meta`). */
  readonly what: string;
  /** Why, and what to do by hand. */
  readonly reason: string;
  readonly code: NotCarriedCode;
}

/** An output of a Sluice stage: a path, or a path with its options. */
export type SluiceOutput = string | { path: string; cache?: boolean; persist?: boolean };

export type PlotTemplate = 'line' | 'scatter' | 'bar' | 'confusion';

export interface SluicePlotOptions {
  path: string;
  template?: PlotTemplate;
  x?: string;
  y?: string | string[];
  title?: string;
  x_label?: string;
  y_label?: string;
  actual?: string;
  predicted?: string;
}

export type SluicePlot = string | SluicePlotOptions;

/** A stage's params entry: a key of the default params file, or a file with its keys (null: all of it). */
export type SluiceParam = string | Record<string, string[] | null>;

/** The fields of a stage (also the body under a foreach's `do`), in the order they are written. */
export interface SluiceStageBody {
  description?: string;
  run: string;
  wdir?: string;
  datasets?: string[];
  deps?: string[];
  params?: SluiceParam[];
  outs?: SluiceOutput[];
  metrics?: SluiceOutput[];
  plots?: SluicePlot[];
  frozen?: boolean;
  always_changed?: boolean;
}

export interface SluiceStage {
  readonly name: string;
  /** The name in dvc.yaml, when it had to change. */
  readonly dvcName: string;
  readonly foreach?: unknown;
  readonly matrix?: Readonly<Record<string, unknown>>;
  readonly body: SluiceStageBody;
}

export interface SluiceDataset {
  readonly name: string;
  readonly path: string;
  readonly description?: string;
  /** The `.dvc` file it came from. */
  readonly dvcFile: string;
}

/** The manifest import-dvc writes, as data. */
export interface SluiceManifestModel {
  readonly params: string | undefined;
  readonly vars: readonly unknown[];
  readonly datasets: readonly SluiceDataset[];
  readonly pipeline: string;
  readonly stages: readonly SluiceStage[];
  /** Notes written as YAML comments above a plot (a DVC template drawn the nearest Sluice way). */
  readonly plotNotes: ReadonlyMap<SluicePlotOptions, string>;
}

export interface Conversion {
  readonly manifest: SluiceManifestModel;
  readonly notCarried: readonly NotCarried[];
}
