// Positions in a workspace file, found by its text, so scenarios say "the
// dataset list of the prepare stage" rather than "line 25, column 20".
import { readFileSync } from 'node:fs';

export interface TextPosition {
  /** 1-based, as the editor's Go to Line and the Problems panel count. */
  readonly line: number;
  readonly column: number;
}

/** Where `word` starts on the one line of `file` that contains `lineText`. */
export function positionOf(file: string, lineText: string, word: string = lineText): TextPosition {
  const lines = readFileSync(file, 'utf8').split(/\r?\n/);
  const matches = lines.flatMap((line, index) => (line.includes(lineText) ? [index] : []));
  if (matches.length !== 1) {
    throw new Error(`Expected one line with "${lineText}" in ${file}, found ${String(matches.length)}.`);
  }
  const index = matches[0]!;
  const column = lines[index]!.indexOf(word, lines[index]!.indexOf(lineText));
  if (column < 0) throw new Error(`Line ${String(index + 1)} of ${file} has no "${word}".`);
  return { line: index + 1, column: column + 1 };
}
