// Diagnostics about a manifest, at absolute offsets into its text. Each has a
// stable `code` that editors, the CLI's --json output and tests rely on.

export type Severity = 'error' | 'warning' | 'information';

/** Every diagnostic code Sluice emits. Codes are part of the CLI contract: never rename one. */
export const DIAGNOSTIC_CODES = {
  'yaml-syntax': 'The text is not valid YAML.',
  'yaml-key': 'A key is not a plain name.',
  'duplicate-key': 'A key appears twice in the same mapping.',
  'wrong-type': 'A value has the wrong type.',
  'missing-required': 'A required key is missing.',
  'unknown-key': 'A key Sluice does not know.',
  'invalid-value': 'A value is outside what is allowed.',
  'invalid-name': 'A name has characters Sluice does not allow.',
  'unsupported-version': 'The manifest version is not one this Sluice understands.',
  'unknown-dataset': 'A reference to a dataset that is not declared.',
  'unknown-stage': 'A reference to a stage that is not in the pipeline.',
  'unknown-pipeline': 'A reference to a pipeline that is not declared.',
  'unknown-environment': 'A reference to an environment that is not declared.',
  'unknown-metric-file': 'A metric in a check or gate whose file no stage declares.',
  'ambiguous-pipeline': 'An environment does not say which of several pipelines it carries.',
  'stage-cycle': 'Stages depend on each other in a circle.',
  'environment-cycle': 'Environments feed each other in a circle.',
  'duplicate-output': 'Two stages write the same output.',
  'output-in-dataset': "A stage's output lies inside a dataset's path.",
  'path-escapes-workspace': 'A path leaves the workspace.',
  'protected-output':
    'A stage output is, holds or lies inside .git, .sluice, the manifest, the params file or the workspace itself.',
  'output-overlaps-dep': "A stage output is, holds or lies inside one of the stage's own deps.",
  'protected-deploy-path':
    'A deploy path is, holds or lies inside .git, .sluice, the workspace, the manifest, a dataset, a source folder or an output.',
  'unknown-template-name':
    'A `${…}` names a value that neither the params file, `vars` nor the template item defines.',
  'bad-template':
    'A `${…}` or a stage template (`foreach`, `matrix`) that cannot be resolved: not closed, a list where text is wanted, a name generated twice, a value made of itself.',
  'bad-values-file': 'A params or vars file that does not parse as YAML, JSON or TOML.',
  'manifest-too-large': 'The manifest is beyond the size, depth or node-count limits Sluice reads.',
  'missing-dep': 'A dependency does not exist on disk and no stage writes it.',
  'missing-params-file': 'The params file does not exist.',
  'unknown-param': 'A stage reads a parameter the params file does not have.',
  'unused-dataset': 'A dataset no stage reads.',
  'stage-without-outputs': 'A stage declares no outs and no metrics, so nothing of it can be cached.',
  'credentials-in-manifest':
    'A password, key or token written in the manifest (a key such as `secret_key`, or `user:password@` in a URL).',
  'remote-url-invalid': 'A remote URL that is not a folder, ssh://, host:path or s3:// URL Sluice can use.',
  'remote-option-not-s3':
    'An S3 option (`endpoint`, `region`, `path_style`) on a remote whose URL is not s3://.',
  'remote-endpoint-invalid': 'An S3 endpoint that is not an http:// or https:// URL.',
  'multiple-default-remotes': 'More than one remote is marked `default: true`.',
  'plot-unknown-format': 'A plot whose file is neither an image nor a CSV, TSV or JSON data file.',
  'plot-field-missing':
    'A plot lacks a field its template needs (`actual`/`predicted` of a confusion matrix, `y` beside `x`).',
  'plot-field-unused':
    'A plot field its template or an image does not use (`x` or `y` of a confusion matrix).',
  'plot-not-an-output': "A plot's file is no stage's out or metrics file, nor inside one.",
  'invalid-duration': "A monitor's `every:` is not a number and a unit (`30s`, `15m`, `2h`, `1d`).",
  'unused-baseline': 'A monitor check names a `baseline:` but has no `no_regression:` to use it.',
} as const;

export type DiagnosticCode = keyof typeof DIAGNOSTIC_CODES;

/** A replacement of text[start, end) by `newText`. */
export interface TextEdit {
  readonly start: number;
  readonly end: number;
  readonly newText: string;
}

/** A quick fix an editor can apply. */
export interface QuickFix {
  readonly title: string;
  readonly edits: readonly TextEdit[];
  readonly preferred?: boolean;
}

export interface ManifestDiagnostic {
  readonly severity: Severity;
  readonly code: DiagnosticCode;
  readonly message: string;
  readonly start: number;
  readonly end: number;
  readonly fixes?: readonly QuickFix[];
}

/** Line and character, both 0-based, character counted in UTF-16 code units (as LSP does). */
export interface Position {
  readonly line: number;
  readonly character: number;
}

/**
 * Converts between offsets and line/character positions of one text. Lines
 * end at `\n`, `\r\n` or a lone `\r`, as LSP counts them.
 */
export class LineIndex {
  /** Offset where each line starts. */
  private readonly starts: number[];
  /** Offset where each line's content ends (before its line break). */
  private readonly ends: number[];

  constructor(private readonly text: string) {
    const starts = [0];
    const ends: number[] = [];
    const breaks = /\r\n|\r|\n/g;
    for (let match = breaks.exec(text); match; match = breaks.exec(text)) {
      ends.push(match.index);
      starts.push(match.index + match[0].length);
    }
    ends.push(text.length);
    this.starts = starts;
    this.ends = ends;
  }

  get lineCount(): number {
    return this.starts.length;
  }

  position(offset: number): Position {
    const clamped = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= clamped) lo = mid;
      else hi = mid - 1;
    }
    // An offset inside a line break (between \r and \n) is the end of the line.
    return { line: lo, character: Math.min(clamped, this.ends[lo]!) - this.starts[lo]! };
  }

  offset(position: Position): number {
    if (position.line >= this.starts.length) return this.text.length;
    const line = Math.max(0, position.line);
    return Math.min(this.starts[line]! + Math.max(0, position.character), this.ends[line]!);
  }

  lineStart(line: number): number {
    return this.starts[line] ?? this.text.length;
  }

  /** Leading spaces of a line, or -1 when it is blank or only a comment. */
  indentation(line: number): number {
    const start = this.starts[line] ?? this.text.length;
    const end = this.ends[line] ?? this.text.length;
    let at = start;
    while (at < end && this.text.charCodeAt(at) === 32) at++;
    if (at >= end || this.text.charCodeAt(at) === 35 /* # */) return -1;
    return at - start;
  }

  /** The text of a line, without its line break. */
  lineText(line: number): string {
    if (line >= this.starts.length) return '';
    return this.text.slice(this.starts[line], this.ends[line]);
  }
}
