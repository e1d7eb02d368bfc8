// The manifest room's public face: everything other rooms import from here.
export { DIAGNOSTIC_CODES, LineIndex } from './diagnostics';
export type {
  DiagnosticCode,
  ManifestDiagnostic,
  Position,
  QuickFix,
  Severity,
  TextEdit,
} from './diagnostics';
export { analyzeManifest, ManifestDocument, MANIFEST_FILE, readManifestFile } from './analysis';
export type { ManifestAnalysis, AnalyzeOptions } from './analysis';
