// `sluice import-dvc [PATH] [--pipeline NAME] [--force] [--json]`: a DVC
// project's dvc.yaml, params, vars and .dvc files as the equivalent
// sluice.yaml beside them; then, one line each, what could not be carried over.
import { DEFAULT_PIPELINE, DVC_PIPELINE_FILE, importDvc } from '../core/dvc';
import { MANIFEST_FILE } from '../core/manifest';
import { describeImportDvc, describeNotCarried, importDvcJson } from '../core/operations/results';
import { JSON_FLAG, type Command } from './command';
import { displayPath } from './displayPath';

export const importDvcCommand: Command = {
  name: 'import-dvc',
  usage: '[PATH] [--pipeline NAME] [--force] [--json]',
  summary: `Convert a DVC project's ${DVC_PIPELINE_FILE} into a ${MANIFEST_FILE}`,
  details: [
    `PATH is a folder holding ${DVC_PIPELINE_FILE}, or the path of one (default: the current folder). ` +
      `Reads it with its params and vars files and the .dvc files of tracked data under the folder, and writes ` +
      `the equivalent ${MANIFEST_FILE} beside it: tracked data become datasets, stages one pipeline ` +
      `(foreach, matrix and \${…} templates kept as DVC means them), top-level metrics and plots go to the stage ` +
      'that writes their file. An existing manifest is replaced only with --force.',
    'Prints the file written, then one line for each thing that could not be carried over, saying why and what ' +
      'to do by hand. Exits 0 when everything was carried, 1 when something was not (the manifest is written ' +
      `all the same), 2 when ${DVC_PIPELINE_FILE} is missing or invalid (its line and column named) or the manifest exists.`,
  ],
  flags: [
    {
      name: 'pipeline',
      valueName: 'NAME',
      description: `The name of the pipeline the stages go into (default: ${DEFAULT_PIPELINE}).`,
    },
    { name: 'force', description: `Replace an existing ${MANIFEST_FILE}.` },
    JSON_FLAG,
  ],
  maxPositionals: 1,
  run(args) {
    const result = importDvc(args.positionals[0] ?? '.', {
      pipeline: args.value('pipeline'),
      force: args.has('force'),
    });
    const json = importDvcJson(result);
    if (args.has('json')) {
      console.log(JSON.stringify(json));
    } else {
      console.log(describeImportDvc(json, displayPath(json.written)));
      for (const item of json.notCarried) console.log(describeNotCarried(item));
    }
    return json.notCarried.length === 0 ? 0 : 1;
  },
};
