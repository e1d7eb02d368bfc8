// The self-contained page `sluice plots show --out FILE.html` writes: the
// document as data, the bundled page script (dist/plots.js, Chart.js inside)
// and the stylesheet, all inline, under a Content-Security-Policy that allows
// exactly those three by their hashes and images only as data: URIs. Nothing
// is fetched when it opens, so it works offline, attached to a CI run or mailed.
import { createHash } from 'node:crypto';
import type { PlotsDocument } from './document';

/**
 * The page's styles, for this file and the editor's Plots webview alike.
 * Colours are VS Code's theme variables, with fallbacks for a browser (light,
 * or dark when the system is dark).
 */
export const PLOTS_PAGE_CSS = `
:root {
  --plots-foreground: var(--vscode-foreground, #24292f);
  --plots-muted: var(--vscode-descriptionForeground, #57606a);
  --plots-background: var(--vscode-editor-background, #ffffff);
  --plots-border: var(--vscode-panel-border, #d0d7de);
  --plots-grid: var(--vscode-editorIndentGuide-background, rgba(127, 127, 127, 0.2));
  --plots-error: var(--vscode-errorForeground, #cf222e);
  --plots-focus: var(--vscode-focusBorder, #0969da);
  --plots-font: var(--vscode-font-family, system-ui, -apple-system, "Segoe UI", sans-serif);
  --plots-accent: var(--vscode-charts-blue, #1f77b4);
}
@media (prefers-color-scheme: dark) {
  :root {
    --plots-foreground: var(--vscode-foreground, #e6edf3);
    --plots-muted: var(--vscode-descriptionForeground, #9da7b3);
    --plots-background: var(--vscode-editor-background, #0d1117);
    --plots-border: var(--vscode-panel-border, #30363d);
    --plots-error: var(--vscode-errorForeground, #ff7b72);
    --plots-focus: var(--vscode-focusBorder, #58a6ff);
    --plots-accent: var(--vscode-charts-blue, #58a6ff);
  }
}
body { margin: 0; padding: 16px 20px; color: var(--plots-foreground); background: var(--plots-background);
  font-family: var(--plots-font); font-size: var(--vscode-font-size, 14px); }
header h1 { font-size: 1.3em; margin: 0 0 4px; font-weight: 600; }
header p { margin: 0 0 16px; color: var(--plots-muted); }
.sources { display: inline-flex; flex-wrap: wrap; gap: 4px 14px; list-style: none; margin: 0; padding: 0; }
.swatch { display: inline-block; width: 18px; height: 0; border-top: 3px solid currentColor; margin-right: 6px; vertical-align: middle; }
.swatch.dash-1 { border-top-style: dashed; } .swatch.dash-2 { border-top-style: dotted; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 440px), 1fr)); gap: 16px; }
figure.plot { margin: 0; padding: 12px; border: 1px solid var(--plots-border); border-radius: 6px; min-width: 0; }
figure.plot:focus { outline: 2px solid var(--plots-focus); outline-offset: 2px; }
figure.plot > figcaption { font-weight: 600; margin-bottom: 8px; overflow-wrap: anywhere; }
figure.plot > figcaption .where { display: block; font-weight: normal; font-size: 0.85em; color: var(--plots-muted); }
.chart { position: relative; height: 300px; }
.panels { display: flex; flex-wrap: wrap; gap: 12px; }
.panel { flex: 1 1 220px; min-width: 0; margin: 0; }
.panel > figcaption, .panel > h3 { font-size: 0.9em; font-weight: normal; margin: 0 0 4px; color: var(--plots-muted); }
.panel .chart { height: 280px; }
.panel img { max-width: 100%; height: auto; display: block; background: #fff; }
.error { color: var(--plots-error); margin: 6px 0 0; overflow-wrap: anywhere; }
.absent { color: var(--plots-muted); margin: 6px 0 0; font-size: 0.9em; overflow-wrap: anywhere; }
.empty { color: var(--plots-muted); }
`;

export interface PlotsPageOptions {
  /** The bundled page script (dist/plots.js). */
  readonly script: string;
}

/** The whole HTML page for `document`. */
export function plotsPageHtml(document: PlotsDocument, options: PlotsPageOptions): string {
  const data = `window.__SLUICE_PLOTS__ = ${jsonForScript(document)};`;
  const script = scriptText(options.script);
  const css = PLOTS_PAGE_CSS;
  const policy = [
    "default-src 'none'",
    'img-src data:',
    `style-src ${hashSource(css)}`,
    `script-src ${hashSource(data)} ${hashSource(script)}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const title = document.name === null ? 'Plots' : `Plots — ${document.name}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${policy}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="Sluice">
<title>${escapeHtml(title)}</title>
<style>${css}</style>
</head>
<body>
<div id="sluice-plots"></div>
<noscript><p>This page draws its charts with JavaScript: allow scripts for this file to see them.</p></noscript>
<script>${data}</script>
<script>${script}</script>
</body>
</html>
`;
}

/** The value of a CSP source for an inline element's exact text. */
function hashSource(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/**
 * JSON as script text: `<` escaped so no value can close the script element
 * (`</script>`) or open a comment (`<!--`), and U+2028/U+2029 escaped for old parsers.
 */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * A bundle as inline script text: `</script` and `<!--` cannot appear in it,
 * since the HTML parser would end or reinterpret the element there. Both only
 * occur inside string literals or regular expressions in bundled code, where
 * `<\/` and `<\x21` (a `!`) mean the same, with or without a regular expression's `u` flag.
 */
/**
 * `//# sourceMappingURL=…`, its M written `\x4d` so that this bundle does not
 * itself hold the comment it removes (the VSIX test refuses bundles that do;
 * a minifier folds `'a' + 'b'`, but keeps a regular expression as written).
 */
const SOURCE_MAP_COMMENT = /^\/\/# source\x4dappingURL=.*$/m;

function scriptText(bundle: string): string {
  return (
    bundle
      // A development build names its source map beside it; the page has nothing beside it.
      .replace(SOURCE_MAP_COMMENT, '')
      .replace(/<\/(script)/gi, '<\\/$1')
      .replace(/<!--/g, '<\\x21--')
  );
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
