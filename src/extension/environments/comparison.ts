// How the editor lays out the engine's comparison of two releases (see
// core/environments/comparison.ts, which computes it and words each line, the
// same words `sluice promote` and `sluice rollback` print): a Markdown document,
// and the short detail of a modal confirmation. No vscode import.
import {
  comparisonVerdict,
  describeComparison,
  sideName,
  type ReleaseComparison,
} from '../../core/environments/comparison';

/** Commits named in a modal confirmation; the document names them all. */
const COMMITS_IN_CONFIRMATION = 5;

/** The comparison document's text (Markdown). */
export function formatComparison(comparison: ReleaseComparison): string {
  const title = `# ${sideName(comparison.fromLabel, comparison.from)} → ${sideName(comparison.toLabel, comparison.to)}`;
  const verdict = comparisonVerdict(comparison);
  const body = describeComparison(comparison).flatMap((section) => [
    '',
    `## ${section.heading}`,
    '',
    ...section.lines.map((line) => (line.nested ? `    ${line.text}` : `- ${line.text}`)),
  ]);
  return [title, ...(verdict === undefined ? [] : ['', `${capitalized(verdict)}.`]), ...body, ''].join('\n');
}

/** A modal confirmation's detail: short, the commits cut at a few. */
export function summarizeComparison(comparison: ReleaseComparison): string {
  const verdict = comparisonVerdict(comparison);
  const sections = describeComparison(comparison, COMMITS_IN_CONFIRMATION).map((section) =>
    [
      `${section.heading}:`,
      ...section.lines.map((line) => `${line.nested ? '    ' : '  '}${line.text}`),
    ].join('\n'),
  );
  return [...(verdict === undefined ? [] : [`${capitalized(verdict)}.`]), ...sections].join('\n\n');
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
