// `sluice init [DIR] [--example NAME] [--ci github|gitlab] [--force]`: a
// starter manifest, or a runnable example workspace; with --ci, a CI workflow
// that runs the workspace (alone, for a workspace that exists).
import { shortId } from '../core/format';
import { join } from 'node:path';
import { EXAMPLES, initWorkspace } from '../core/operations/init';
import { CI_PROVIDERS } from '../core/operations/init/ciWorkflows';
import { MANIFEST_FILE } from '../core/manifest';
import type { Command } from './command';
import { displayPath } from './displayPath';

export const initCommand: Command = {
  name: 'init',
  usage: '[DIR] [--example NAME] [--ci github|gitlab] [--force]',
  summary: 'Write a starter sluice.yaml, or create a runnable example workspace',
  details: [
    `Without --example, writes a commented starter ${MANIFEST_FILE} into DIR (default: the current folder), ` +
      'and refuses to replace an existing one unless --force is given.',
    'With --example, creates a complete workspace in DIR, which must be new or empty: manifest, data, ' +
      'stage scripts, checks, and a git repository with one commit. Examples:',
    ...EXAMPLES.map((example) => `  ${example.name}  ${example.description}`),
    'With --ci github or --ci gitlab, also writes a CI workflow (.github/workflows/sluice.yml, .gitlab-ci.yml) ' +
      'that, on a fresh runner, installs Sluice, pulls, validates, runs, stages, pushes on the default branch ' +
      'and posts `sluice report`. With --example it is part of the new workspace; without, it is added to the ' +
      'workspace in DIR (at the root of its git repository) and the manifest is left alone. An existing ' +
      'workflow is replaced only with --force.',
  ],
  flags: [
    {
      name: 'example',
      valueName: 'NAME',
      description: 'Create this example workspace instead of a starter manifest.',
    },
    {
      name: 'ci',
      valueName: CI_PROVIDERS.join('|'),
      description: 'Write a CI workflow that pulls, validates, runs, stages, pushes and reports.',
    },
    {
      name: 'force',
      description: `Replace an existing ${MANIFEST_FILE} with the starter one (with --ci: the workflow).`,
    },
  ],
  maxPositionals: 1,
  async run(args) {
    const result = await initWorkspace(args.positionals[0] ?? '.', {
      example: args.value('example'),
      force: args.has('force'),
      ci: args.value('ci'),
    });
    const here = displayPath(result.dir);
    const { ci } = result;
    if (result.example) {
      console.log(
        `Created the ${result.example.name} example in ${result.dir}: ${result.files.length} files, ` +
          `committed as ${shortId(result.example.commit)}.`,
      );
      if (ci === undefined) console.log(`Next: cd ${here} && sluice validate`);
    } else if (ci === undefined) {
      console.log(`${result.replaced ? 'Replaced' : 'Wrote'} ${join(result.dir, MANIFEST_FILE)}.`);
      console.log(`Next: edit it, then run 'sluice validate${here === '.' ? '' : ` ${here}`}'.`);
    }
    if (ci !== undefined) {
      console.log(
        `${ci.replaced ? 'Replaced' : 'Wrote'} ${ci.file}: on a fresh ${ci.provider === 'github' ? 'GitHub' : 'GitLab'} ` +
          'runner it pulls, validates, runs, stages, pushes (on the default branch) and reports.',
      );
      console.log(
        'Next: give the workspace a default remote (`sluice remote add NAME URL --default`), ' +
          'add the credentials the workflow names as CI secrets, and commit.',
      );
    }
    return 0;
  },
};
