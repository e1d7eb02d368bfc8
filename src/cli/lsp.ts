// `sluice lsp --stdio | --node-ipc`: the language server, for VS Code and any
// LSP editor. The server reads its transport from the process arguments.
// It is dist/server.js, the bundle the extension starts, loaded only when
// asked for: every other command starts without it (about 40 ms sooner).
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { SluiceError } from '../core/errors';
import type { Command } from './command';

export const lspCommand: Command = {
  name: 'lsp',
  usage: '--stdio | --node-ipc',
  summary: 'Run the language server for sluice.yaml',
  details: [
    'Speaks the Language Server Protocol over stdin/stdout (--stdio), or over the IPC channel of a ' +
      'parent Node.js process (--node-ipc). Runs until the editor shuts it down.',
  ],
  flags: [
    { name: 'stdio', description: 'Talk over stdin and stdout.' },
    { name: 'node-ipc', description: 'Talk over the Node.js IPC channel of the parent process.' },
    {
      name: 'clientProcessId',
      valueName: 'PID',
      description: "The editor's process id; the server exits when that process does.",
    },
  ],
  maxPositionals: 0,
  run(args) {
    if (args.has('stdio') === args.has('node-ipc')) {
      throw new SluiceError(
        'The language server needs exactly one transport: --stdio or --node-ipc.',
        'usage',
        "Run 'sluice help lsp'.",
      );
    }
    // dist/server.js starts the server as it loads; it sits beside this bundle (dist/cliMain.js).
    // Required, not imported: start.ts runs this bundle as a vm script, which has no import().
    createRequire(__filename)(join(__dirname, 'server.js'));
    return Promise.resolve(0);
  },
};
