// Entry of dist/server.js: the language server as its own process. The
// transport (--stdio or --node-ipc) comes from the command line.
import { runLanguageServer } from './server';

runLanguageServer();
