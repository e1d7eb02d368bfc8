// `sluice init [DIR] [--example NAME] [--force]`: a starter manifest, or a
// runnable example workspace.
import { shortId } from '../core/format';
import { join } from 'node:path';
import { EXAMPLES, initWorkspace } from '../core/operations/init';
import { MANIFEST_FILE } from '../core/manifest';
import type { Command } from './command';
import { displayPath } from './displayPath';

export const initCommand: Command = {
  name: 'init',
  usage: '[DIR] [--example NAME] [--force]',
  summary: 'Write a starter sluice.yaml, or create a runnable example workspace',
  details: [
    `Without --example, writes a commented starter ${MANIFEST_FILE} into DIR (default: the current folder), ` +
      'and refuses to replace an existing one unless --force is given.',
    'With --example, creates a complete workspace in DIR, which must be new or empty: manifest, data, ' +
      'stage scripts, checks, and a git repository with one commit. Examples:',
    ...EXAMPLES.map((example) => `  ${example.name}  ${example.description}`),
  ],
  flags: [
    {
      name: 'example',
      valueName: 'NAME',
      description: 'Create this example workspace instead of a starter manifest.',
    },
    { name: 'force', description: `Replace an existing ${MANIFEST_FILE} with the starter one.` },
  ],
  maxPositionals: 1,
  async run(args) {
    const result = await initWorkspace(args.positionals[0] ?? '.', {
      example: args.value('example'),
      force: args.has('force'),
    });
    const here = displayPath(result.dir);
    if (result.example) {
      console.log(
        `Created the ${result.example.name} example in ${result.dir}: ${result.files.length} files, ` +
          `committed as ${shortId(result.example.commit)}.`,
      );
      console.log(`Next: cd ${here} && sluice validate`);
    } else {
      console.log(`${result.replaced ? 'Replaced' : 'Wrote'} ${join(result.dir, MANIFEST_FILE)}.`);
      console.log(`Next: edit it, then run 'sluice validate${here === '.' ? '' : ` ${here}`}'.`);
    }
    return 0;
  },
};
