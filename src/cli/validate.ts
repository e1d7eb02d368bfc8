// `sluice validate [FILE] [--json]`: the manifest's diagnostics, in the
// `FILE:LINE:COL` form editors and CI log parsers link to, or as JSON.
import { MANIFEST_FILE, readManifestFile, type LineIndex, type ManifestDiagnostic } from '../core/manifest';
import { findManifest } from '../core/workspace';
import { validateJson, type DiagnosticJson } from '../core/operations/results';
import { JSON_FLAG, type Command } from './command';
import { displayPath } from './displayPath';

export const validateCommand: Command = {
  name: 'validate',
  usage: '[FILE] [--json]',
  summary: 'Diagnose the manifest; exit 1 if any error',
  details: [
    `FILE is a manifest, or a folder holding a ${MANIFEST_FILE}; it defaults to the ${MANIFEST_FILE} of the current folder or the nearest folder above it, as for every other command.`,
    'Prints one line per problem, FILE:LINE:COL: SEVERITY CODE: MESSAGE, then a summary. ' +
      'Exits 1 if any problem is an error (warnings alone exit 0), 2 if the manifest cannot be read.',
  ],
  flags: [JSON_FLAG],
  maxPositionals: 1,
  run(args) {
    // Without FILE, the manifest is looked for upwards, as every other command looks for it.
    const analysis = readManifestFile(args.positionals[0] ?? findManifest(process.cwd()) ?? MANIFEST_FILE);
    const diagnostics = analysis.diagnostics.map((diagnostic) => printable(diagnostic, analysis.lineIndex));
    if (args.has('json')) {
      console.log(JSON.stringify(validateJson(analysis.file, diagnostics)));
    } else {
      const shown = displayPath(analysis.file);
      for (const d of diagnostics)
        console.log(`${shown}:${d.line}:${d.column}: ${d.severity} ${d.code}: ${d.message}`);
      console.log(`${shown}: ${summary(diagnostics)}`);
    }
    return diagnostics.some((d) => d.severity === 'error') ? 1 : 0;
  },
};

function printable(diagnostic: ManifestDiagnostic, lineIndex: LineIndex): DiagnosticJson {
  const start = lineIndex.position(diagnostic.start);
  const end = lineIndex.position(diagnostic.end);
  return {
    severity: diagnostic.severity,
    line: start.line + 1,
    column: start.character + 1,
    endLine: end.line + 1,
    endColumn: end.character + 1,
    code: diagnostic.code,
    message: diagnostic.message,
  };
}

function summary(diagnostics: readonly DiagnosticJson[]): string {
  if (diagnostics.length === 0) return 'no problems';
  const count = (severity: DiagnosticJson['severity']) =>
    diagnostics.filter((d) => d.severity === severity).length;
  const parts = [plural(count('error'), 'error'), plural(count('warning'), 'warning')];
  const information = count('information');
  if (information > 0) parts.push(`${information} information`);
  return parts.join(', ');
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
