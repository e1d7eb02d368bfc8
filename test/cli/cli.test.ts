// The `sluice` command as a user meets it: the built dist/cli.js, run in temp
// folders. Exit codes, output formats and one-line errors are the contract.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { assertOneLineError, CLI, ROOT, sluice } from '../support/workspace';

/** Line 2 has an unknown key; line 8 names a dataset that is not declared. */
const BROKEN_MANIFEST = [
  'version: 1',
  'colour: red',
  'pipelines:',
  '  train:',
  '    stages:',
  '      prepare:',
  '        run: node prepare.js',
  '        datasets: [evnts]',
  '        outs: [out.txt]',
  '',
].join('\n');

/** Valid, but the dataset is read by no stage: a warning only. */
const WARNING_ONLY_MANIFEST = ['version: 1', 'datasets:', '  events:', '    path: data/raw', ''].join('\n');

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

void describe('sluice help and version', () => {
  void test('--version prints the version of package.json', () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const result = sluice(['--version'], dir);
    assert.equal(result.status, 0);
    assert.equal(result.stdout.trim(), `sluice ${version}`);
  });

  void test('help lists exactly the commands that exist', () => {
    const result = sluice(['help'], dir);
    assert.equal(result.status, 0);
    const listed = result.stdout
      .split('\nCommands:\n')[1]!
      .split('\n\n')[0]!
      .split('\n')
      .map((line) => line.trim().split(' ')[0]);
    assert.deepEqual(listed, [
      'init',
      'import-dvc',
      'validate',
      'snapshot',
      'log',
      'diff',
      'restore',
      'status',
      'run',
      'exp',
      'metrics',
      'params',
      'logs',
      'stage',
      'promote',
      'rollback',
      'history',
      'monitor',
      'health',
      'envs',
      'fsck',
      'gc',
      'report',
      'plots',
      'remote',
      'push',
      'fetch',
      'pull',
      'lsp',
      'help',
    ]);
    assert.deepEqual(sluice(['--help'], dir).stdout, result.stdout);
  });

  void test('each command explains itself with help COMMAND or --help', () => {
    const viaHelp = sluice(['help', 'validate'], dir);
    assert.equal(viaHelp.status, 0);
    assert.match(viaHelp.stdout, /^Usage: sluice validate \[FILE\] \[--json\]/);
    assert.match(viaHelp.stdout, /--json/);
    const viaFlag = sluice(['validate', '--help'], dir);
    assert.equal(viaFlag.status, 0);
    assert.equal(viaFlag.stdout, viaHelp.stdout);
    assert.match(sluice(['init', '-h'], dir).stdout, /--example NAME[\s\S]*churn/);
  });

  void test('no command shows the overview on stderr and exits 2', () => {
    const result = sluice([], dir);
    assert.equal(result.status, 2);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /Usage: sluice COMMAND/);
  });
});

void describe("the command's code cache", () => {
  /** dist/cli.js and the bundle it loads, copied into a folder of their own. */
  function install(): { cli: string; cache: string } {
    const dist = join(dir, 'dist');
    mkdirSync(dist);
    for (const name of ['cli.js', 'cliMain.js']) copyFileSync(join(ROOT, 'dist', name), join(dist, name));
    return { cli: join(dist, 'cli.js'), cache: join(dist, 'cliMain.js.cache') };
  }
  const version = (cli: string): string => {
    const ran = spawnSync(process.execPath, [cli, '--version'], { encoding: 'utf8' });
    assert.equal(ran.status, 0, ran.stderr);
    assert.equal(ran.stderr, '');
    return ran.stdout;
  };

  void test('the first run writes it, later runs use it, and a damaged or foreign one is replaced', () => {
    const { cli, cache } = install();
    const expected = version(CLI);
    assert.equal(version(cli), expected);
    const written = readFileSync(cache);
    assert.ok(written.length > 1000, 'a cache was written');
    assert.equal(version(cli), expected);
    assert.deepEqual(readFileSync(cache), written, 'a cache V8 accepted is left as it is');
    // Garbage after the right digest: V8 rejects it; the command runs and writes a good one.
    const garbage = Buffer.concat([written.subarray(0, 32), Buffer.alloc(5000, 7)]);
    writeFileSync(cache, garbage);
    assert.equal(version(cli), expected);
    assert.notDeepEqual(readFileSync(cache), garbage);
    // A cache of another bundle (another digest) is not used, and is replaced.
    writeFileSync(cache, Buffer.concat([Buffer.alloc(32), written.subarray(32)]));
    assert.equal(version(cli), expected);
    assert.deepEqual(readFileSync(cache).subarray(0, 32), written.subarray(0, 32));
    assert.deepEqual(readdirSync(join(dir, 'dist')).sort(), ['cli.js', 'cliMain.js', 'cliMain.js.cache']);
  });

  void test('a bundle written again is compiled again, though its length is the same (the cache follows the file)', () => {
    const { cli, cache } = install();
    const expected = version(CLI);
    assert.equal(version(cli), expected);
    const first = readFileSync(cache).subarray(0, 32);
    // Same length, other bytes (its first line, a comment once loaded): V8 alone, which checks only
    // the length, would take the old cache for it.
    const bundle = join(dir, 'dist', 'cliMain.js');
    const text = readFileSync(bundle, 'utf8');
    assert.ok(text.startsWith('#!/usr/bin/env node\n'));
    writeFileSync(bundle, text.replace('#!/usr/bin/env node', '#!/usr/bin/env nodf'));
    assert.equal(version(cli), expected);
    assert.notDeepEqual(readFileSync(cache).subarray(0, 32), first, 'the cache was made again');
  });

  void test('where no cache can be written, commands run all the same', () => {
    const { cli, cache } = install();
    // A folder in its place: writing the cache fails even for root (for whom read-only folders are not).
    mkdirSync(cache);
    assert.equal(version(cli), version(CLI));
    assert.equal(version(cli), version(CLI));
    assert.deepEqual(readdirSync(join(dir, 'dist')).sort(), ['cli.js', 'cliMain.js', 'cliMain.js.cache']);
    assert.deepEqual(readdirSync(cache), []);
  });
});

void describe('sluice usage errors', () => {
  void test('an unknown command is named, with a pointer to help, exit 2', () => {
    const result = sluice(['deploy-everything'], dir);
    assertOneLineError(result, 2, "'deploy-everything'", 'sluice help');
    assert.equal(result.stdout, '');
  });

  void test('an unknown flag is named, with a pointer to help, exit 2', () => {
    assertOneLineError(sluice(['validate', '--bogus'], dir), 2, '--bogus', 'sluice help validate');
    assertOneLineError(sluice(['--bogus', 'validate'], dir), 2, '--bogus', 'sluice help');
    assertOneLineError(sluice(['validate', '--json=yes'], dir), 2, '--json');
  });

  void test('a missing flag value or an extra argument is a usage error', () => {
    assertOneLineError(sluice(['init', '--example'], dir), 2, '--example', 'NAME');
    assertOneLineError(sluice(['init', '--example', '--force'], dir), 2, '--example');
    assertOneLineError(sluice(['validate', 'a.yaml', 'b.yaml'], dir), 2, "'b.yaml'");
  });

  void test('help for an unknown command is a usage error', () => {
    assertOneLineError(sluice(['help', 'frobnicate'], dir), 2, "'frobnicate'");
  });

  void test('a misspelt command or flag gets "did you mean"', () => {
    assertOneLineError(sluice(['statsu'], dir), 2, "Did you mean 'status'?");
    assertOneLineError(sluice(['rollbak', 'production'], dir), 2, "Did you mean 'rollback'?");
    assertOneLineError(sluice(['status', '--jsno'], dir), 2, 'Did you mean --json?');
    assertOneLineError(sluice(['gc', '--dryrun'], dir), 2, 'Did you mean --dry-run?');
    // Nothing close: no guess.
    assert.doesNotMatch(sluice(['xyzzy'], dir).stderr, /Did you mean/);
  });
});

void describe('sluice --json on failure', () => {
  /** Every command that takes --json, with arguments that reach its failure in a folder with no manifest. */
  const jsonCommands = (): string[][] =>
    [
      ['validate'],
      ['snapshot'],
      ['log', 'raw'],
      ['diff', 'raw'],
      ['restore', 'raw', 'abc'],
      ['status'],
      ['run'],
      ['logs', 'p.s'],
      ['stage'],
      ['promote', '--yes'],
      ['rollback', 'production'],
      ['history', 'production'],
      ['envs'],
      ['fsck'],
      ['gc'],
    ].filter((args) => sluice([args[0]!, '--help'], dir).stdout.includes('--json'));

  void test('every command prints exactly one JSON object on stdout when it fails, with code, message, hint and data', () => {
    const commands = jsonCommands();
    assert.ok(commands.length >= 10, `commands with --json: ${commands.length}`);
    for (const args of commands) {
      const result = sluice([...args, '--json'], dir);
      assert.notEqual(result.status, 0, `sluice ${args.join(' ')} --json failed`);
      assert.equal(result.stderr.trimEnd().split('\n').length, 1, `one stderr line: ${result.stderr}`);
      const lines = result.stdout.trimEnd().split('\n');
      assert.equal(lines.length, 1, `one stdout line for ${args.join(' ')}: ${result.stdout}`);
      const printed = JSON.parse(lines[0]!) as { error: Record<string, unknown> };
      assert.deepEqual(Object.keys(printed.error).sort(), ['code', 'data', 'hint', 'message']);
      assert.equal(typeof printed.error['code'], 'string');
      assert.match(String(printed.error['message']), /sluice\.yaml/, `${args.join(' ')} names the manifest`);
    }
  });

  void test('a usage error under --json is an object too, with a code a script can branch on', () => {
    const result = sluice(['status', '--json', '--jsno'], dir);
    assert.equal(result.status, 2);
    const printed = JSON.parse(result.stdout) as { error: { code: string; data: Record<string, unknown> } };
    assert.equal(printed.error.code, 'unknown-flag');
    assert.equal(printed.error.data['suggestion'], '--json');
    // Without --json, stdout stays empty.
    assert.equal(sluice(['status', '--jsno'], dir).stdout, '');
  });

  void test('a failure of the system names the path and what to do, never an internal error', () => {
    // A folder where the manifest file should be: EISDIR from the file system.
    spawnSync('git', ['init', '--quiet'], { cwd: dir });
    mkdirSync(join(dir, 'sluice.yaml'));
    for (const args of [['status'], ['validate', 'sluice.yaml'], ['snapshot']]) {
      const result = sluice([...args, '--json'], dir);
      assertOneLineError(result, result.status ?? -1, 'sluice.yaml');
      assert.doesNotMatch(result.stderr, /internal error/);
      const printed = JSON.parse(result.stdout) as { error: { code: string } };
      assert.notEqual(printed.error.code, 'internal-error');
    }
  });
});

void describe('sluice validate', () => {
  void test('--json prints exactly the diagnostics contract, 1-based, and exits 1 on errors', () => {
    writeFileSync(join(dir, 'sluice.yaml'), BROKEN_MANIFEST);
    const result = sluice(['validate', '--json'], dir);
    assert.equal(result.status, 1, result.stderr);
    assert.equal(result.stderr, '');
    const output = JSON.parse(result.stdout) as {
      file: string;
      diagnostics: Record<string, unknown>[];
      error: { code: string; data: unknown };
    };
    // Exit 1 comes with the shared error, as for every --json command that fails.
    assert.deepEqual(Object.keys(output), ['file', 'diagnostics', 'error']);
    assert.equal(output.error.code, 'manifest-invalid');
    assert.deepEqual(output.error.data, { file: join(dir, 'sluice.yaml'), errors: 2 });
    assert.equal(output.file, join(dir, 'sluice.yaml'));
    for (const diagnostic of output.diagnostics) {
      assert.deepEqual(Object.keys(diagnostic), [
        'severity',
        'line',
        'column',
        'endLine',
        'endColumn',
        'code',
        'message',
      ]);
    }
    const located = output.diagnostics.map(({ message: _message, ...rest }) => rest);
    assert.deepEqual(located, [
      { severity: 'error', line: 2, column: 1, endLine: 2, endColumn: 7, code: 'unknown-key' },
      { severity: 'error', line: 8, column: 20, endLine: 8, endColumn: 25, code: 'unknown-dataset' },
    ]);
    for (const diagnostic of output.diagnostics) assert.equal(typeof diagnostic['message'], 'string');
  });

  void test('text output is FILE:LINE:COL: SEVERITY CODE: message, then a summary', () => {
    writeFileSync(join(dir, 'sluice.yaml'), BROKEN_MANIFEST);
    const result = sluice(['validate'], dir);
    assert.equal(result.status, 1);
    const lines = result.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /^sluice\.yaml:2:1: error unknown-key: .*colour/);
    assert.match(lines[1]!, /^sluice\.yaml:8:20: error unknown-dataset: .*evnts/);
    assert.equal(lines[2], 'sluice.yaml: 2 errors, 0 warnings');
  });

  void test('warnings alone exit 0', () => {
    writeFileSync(join(dir, 'manifest.yaml'), WARNING_ONLY_MANIFEST);
    const json = sluice(['validate', 'manifest.yaml', '--json'], dir);
    assert.equal(json.status, 0, json.stdout);
    const { diagnostics } = JSON.parse(json.stdout) as { diagnostics: { severity: string; code: string }[] };
    assert.ok(diagnostics.length > 0);
    assert.ok(diagnostics.every((diagnostic) => diagnostic.severity === 'warning'));
    const text = sluice(['validate', 'manifest.yaml'], dir);
    assert.equal(text.status, 0);
    assert.match(text.stdout, /^manifest\.yaml:3:3: warning unused-dataset: /);
  });

  void test('a YAML syntax error is an error diagnostic, not a crash', () => {
    writeFileSync(join(dir, 'sluice.yaml'), 'version: 1\npipelines: [unclosed\n');
    const result = sluice(['validate', '--json'], dir);
    assert.equal(result.status, 1);
    const { diagnostics } = JSON.parse(result.stdout) as { diagnostics: { code: string }[] };
    assert.ok(diagnostics.some((diagnostic) => diagnostic.code === 'yaml-syntax'));
  });

  void test('a folder means the sluice.yaml inside it', () => {
    mkdirSync(join(dir, 'project'));
    writeFileSync(join(dir, 'project', 'sluice.yaml'), 'version: 1\nname: tiny\n');
    const result = sluice(['validate', 'project'], dir);
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.equal(result.stdout, `${join('project', 'sluice.yaml')}: no problems\n`);
  });

  void test('a missing file, a folder without a manifest, or an unreadable one: one line, exit 2', () => {
    assertOneLineError(sluice(['validate', 'nowhere.yaml'], dir), 2, 'nowhere.yaml');
    assertOneLineError(sluice(['validate'], dir), 2, 'sluice.yaml');
    mkdirSync(join(dir, 'empty'));
    assertOneLineError(sluice(['validate', 'empty'], dir), 2, 'sluice.yaml');
    // A folder where the file should be cannot be read, even by root.
    mkdirSync(join(dir, 'odd', 'sluice.yaml'), { recursive: true });
    assertOneLineError(sluice(['validate', join('odd', 'sluice.yaml')], dir), 2, 'sluice.yaml');
  });
});

void describe('sluice lsp', () => {
  void test('without a transport it is a usage error', () => {
    assertOneLineError(sluice(['lsp'], dir), 2, '--stdio');
    assertOneLineError(sluice(['lsp', '--stdio', '--node-ipc'], dir), 2, '--stdio');
  });

  void test(
    '--stdio answers initialize and exits after shutdown and exit',
    { timeout: 30_000 },
    async (t) => {
      const server = spawn(process.execPath, [CLI, 'lsp', '--stdio'], { cwd: dir, stdio: 'pipe' });
      t.after(() => server.kill());
      const send = (message: object) => {
        const body = JSON.stringify({ jsonrpc: '2.0', ...message });
        server.stdin.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      };
      const responses = new Map<number, Record<string, unknown>>();
      let buffer = Buffer.alloc(0);
      const received = new Promise<void>((resolve) => {
        server.stdout.on('data', (chunk: Buffer) => {
          buffer = Buffer.concat([buffer, chunk]);
          for (;;) {
            const headerEnd = buffer.indexOf('\r\n\r\n');
            if (headerEnd === -1) return;
            const length = Number(
              /Content-Length: (\d+)/i.exec(buffer.subarray(0, headerEnd).toString())?.[1],
            );
            if (buffer.length < headerEnd + 4 + length) return;
            const message = JSON.parse(buffer.subarray(headerEnd + 4, headerEnd + 4 + length).toString()) as {
              id?: number;
            };
            buffer = buffer.subarray(headerEnd + 4 + length);
            if (typeof message.id === 'number') responses.set(message.id, message);
            if (responses.has(2)) resolve();
          }
        });
      });
      const exited = new Promise<number | null>((resolve) => server.on('exit', resolve));
      send({ id: 1, method: 'initialize', params: { processId: null, rootUri: null, capabilities: {} } });
      send({ method: 'initialized', params: {} });
      send({ id: 2, method: 'shutdown' });
      await received;
      send({ method: 'exit' });
      const initialize = responses.get(1) as { result?: { capabilities?: object } };
      assert.equal(typeof initialize.result?.capabilities, 'object');
      assert.equal(await exited, 0);
    },
  );
});
