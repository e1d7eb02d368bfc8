// `npm run test:setup`: everything the editor test levels need that npm ci does
// not bring: code-server in .vscode-test/ with the Debian packages it builds
// against, and Debian's Chromium for the UI tests. .ci/run calls it first; the
// test levels call the same functions, which return at once when all is there.
import { ensureBrowser } from './browser';
import { CODE_SERVER_VERSION, ensureCodeServer } from './codeServer';
import { runTool } from './tool';

runTool('test:setup', () => {
  const started = Date.now();
  ensureBrowser();
  const entry = ensureCodeServer();
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`code-server ${CODE_SERVER_VERSION} (${entry}) and Chromium are ready (${seconds}s).`);
  return Promise.resolve(0);
});
