// The command table: every `sluice` command, in the order help lists them.
// Adding a command is one entry here and one file beside this one.
import { SluiceError } from '../core/errors';
import { closestName } from '../core/manifest/spelling';
import type { FlagSpec } from './arguments';
import type { Command } from './command';
import { initCommand } from './init';
import { importDvcCommand } from './importDvc';
import { lspCommand } from './lsp';
import { validateCommand } from './validate';
import { snapshotCommand } from './snapshot';
import { logCommand } from './log';
import { diffCommand } from './diff';
import { restoreCommand } from './restore';
import { fsckCommand } from './fsck';
import { gcCommand } from './gc';
import { reportCommand } from './report';
import { plotsCommand } from './plots';
import { remoteCommand } from './remote';
import { fetchCommand, pullCommand, pushCommand } from './sync';
import { runCommand } from './run';
import { statusCommand } from './status';
import { logsCommand } from './logs';
import { stageCommand } from './stage';
import { promoteCommand } from './promote';
import { rollbackCommand } from './rollback';
import { historyCommand } from './history';
import { healthCommand } from './health';
import { monitorCommand } from './monitor';
import { envsCommand } from './envs';
import { expCommand } from './exp';
import { metricsCommand, paramsCommand } from './metrics';

const helpCommand: Command = {
  name: 'help',
  usage: '[COMMAND]',
  summary: 'Show the commands, or one command in detail',
  details: [],
  flags: [],
  maxPositionals: 1,
  run(args) {
    const name = args.positionals[0];
    if (name === undefined) {
      console.log(overview());
      return 0;
    }
    console.log(commandHelp(findCommand(name)));
    return 0;
  },
};

export const COMMANDS: readonly Command[] = [
  initCommand,
  importDvcCommand,
  validateCommand,
  snapshotCommand,
  logCommand,
  diffCommand,
  restoreCommand,
  statusCommand,
  runCommand,
  expCommand,
  metricsCommand,
  paramsCommand,
  logsCommand,
  stageCommand,
  promoteCommand,
  rollbackCommand,
  historyCommand,
  monitorCommand,
  healthCommand,
  envsCommand,
  fsckCommand,
  gcCommand,
  reportCommand,
  plotsCommand,
  remoteCommand,
  pushCommand,
  fetchCommand,
  pullCommand,
  lspCommand,
  helpCommand,
];

export function findCommand(name: string): Command {
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (!command) {
    const near = closestName(
      name,
      COMMANDS.map((candidate) => candidate.name),
    );
    throw new SluiceError(
      `Unknown command '${name}'.${near === undefined ? '' : ` Did you mean '${near}'?`}`,
      'usage',
      "Run 'sluice help' for the list.",
      { code: 'unknown-command', data: { command: name, suggestion: near ?? null } },
    );
  }
  return command;
}

export function overview(): string {
  const usages = COMMANDS.map((command) => `${command.name} ${command.usage}`.trimEnd());
  const width = Math.max(...usages.map((usage) => usage.length)) + 2;
  return [
    'sluice: versioned datasets, cached pipelines and gated releases for data and ML work.',
    '',
    'Usage: sluice COMMAND [ARGUMENTS] [FLAGS]',
    '',
    'Commands:',
    ...COMMANDS.map((command, index) => `  ${usages[index]!.padEnd(width)}${command.summary}`),
    '',
    'Every command accepts --help. `sluice --version` prints the version.',
    'Exit codes: 0 success, 1 the operation failed or found errors, 2 usage or manifest error, 130 cancelled (Ctrl-C).',
  ].join('\n');
}

export function commandHelp(command: Command): string {
  const flags: FlagSpec[] = [...command.flags, { name: 'help', description: 'Show this help.' }];
  const spelled = flags.map(
    (flag) =>
      `${flag.short ? `-${flag.short}, ` : ''}--${flag.name}${flag.valueName ? ` ${flag.valueName}` : ''}`,
  );
  const width = Math.max(...spelled.map((flag) => flag.length)) + 2;
  return [
    `Usage: sluice ${command.name} ${command.usage}`.trimEnd(),
    '',
    command.summary + '.',
    // Indented details are list items: kept on their own line, right under the paragraph before.
    ...command.details.flatMap((paragraph) =>
      paragraph.startsWith('  ') ? [paragraph] : ['', wrap(paragraph)],
    ),
    '',
    'Flags:',
    ...flags.map((flag, index) => `  ${spelled[index]!.padEnd(width)}${flag.description}`),
  ].join('\n');
}

/** Breaks a paragraph into lines of at most `width` characters, at spaces. */
function wrap(paragraph: string, width = 100): string {
  const lines: string[] = [];
  let line = '';
  for (const word of paragraph.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines.join('\n');
}
