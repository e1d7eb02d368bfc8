// The TextMate grammars of the `sluice` language, tokenized for real by
// vscode-textmate and vscode-oniguruma at the versions VS Code 1.100 runs, and
// wired exactly as package.json contributes them.
//
// The YAML grammar underneath is test/models/fixtures/yaml.tmLanguage.json, a
// small stand-in that behaves like VS Code's where an injection notices (no
// package on npm ships VS Code's YAML grammar). To run the same assertions over
// VS Code's own grammar, point SLUICE_VSCODE_YAML_SYNTAXES at the
// `extensions/yaml/syntaxes` folder of a VS Code or code-server install.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { OnigScanner, OnigString, loadWASM } from 'vscode-oniguruma';
import { INITIAL, Registry, parseRawGrammar, type IGrammar } from 'vscode-textmate';

// This file runs from out/test/models/; the repository root is three levels up.
const ROOT = join(__dirname, '../../..');

interface GrammarContribution {
  readonly scopeName: string;
  readonly path: string;
  readonly injectTo?: readonly string[];
}

interface Token {
  readonly line: string;
  readonly text: string;
  readonly scopes: readonly string[];
}

/** A YAML grammar set to test on: grammar files by scope name, `source.yaml` among them. */
interface YamlHost {
  readonly name: string;
  readonly grammarFiles: ReadonlyMap<string, string>;
}

function yamlHosts(): YamlHost[] {
  const hosts: YamlHost[] = [
    {
      name: 'the test YAML grammar',
      grammarFiles: new Map([['source.yaml', join(ROOT, 'test/models/fixtures/yaml.tmLanguage.json')]]),
    },
  ];
  const vscodeSyntaxes = process.env['SLUICE_VSCODE_YAML_SYNTAXES'];
  if (vscodeSyntaxes !== undefined && vscodeSyntaxes !== '') {
    const grammarFiles = new Map<string, string>();
    for (const file of readdirSync(vscodeSyntaxes).filter((name) => name.endsWith('.tmLanguage.json'))) {
      const path = join(vscodeSyntaxes, file);
      grammarFiles.set((JSON.parse(readFileSync(path, 'utf8')) as { scopeName: string }).scopeName, path);
    }
    hosts.push({ name: `VS Code's YAML grammar (${vscodeSyntaxes})`, grammarFiles });
  }
  return hosts;
}

function contributedGrammars(): GrammarContribution[] {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    contributes: { grammars: GrammarContribution[] };
  };
  return manifest.contributes.grammars;
}

let oniguruma: Promise<void> | undefined;

function createRegistry(host: YamlHost): Registry {
  oniguruma ??= loadWASM(
    new Uint8Array(readFileSync(join(ROOT, 'node_modules/vscode-oniguruma/release/onig.wasm'))).buffer,
  );
  const grammarFiles = new Map(host.grammarFiles);
  const injections = new Map<string, string[]>();
  for (const grammar of contributedGrammars()) {
    grammarFiles.set(grammar.scopeName, join(ROOT, grammar.path));
    for (const target of grammar.injectTo ?? []) {
      injections.set(target, [...(injections.get(target) ?? []), grammar.scopeName]);
    }
  }
  return new Registry({
    onigLib: oniguruma.then(() => ({
      createOnigScanner: (sources: string[]) => new OnigScanner(sources),
      createOnigString: (text: string) => new OnigString(text),
    })),
    loadGrammar: (scopeName) => {
      const path = grammarFiles.get(scopeName);
      return Promise.resolve(path === undefined ? null : parseRawGrammar(readFileSync(path, 'utf8'), path));
    },
    getInjections: (scopeName) => injections.get(scopeName),
  });
}

function tokenize(grammar: IGrammar, text: string): Token[] {
  const tokens: Token[] = [];
  let state = INITIAL;
  for (const line of text.split('\n')) {
    const result = grammar.tokenizeLine(line, state);
    for (const token of result.tokens) {
      tokens.push({ line, text: line.slice(token.startIndex, token.endIndex), scopes: token.scopes });
    }
    state = result.ruleStack;
  }
  return tokens;
}

/** The scopes of `text` on the first line that reads exactly `line`. */
function scopesOf(tokens: readonly Token[], line: string, text: string): readonly string[] {
  const token = tokens.find((candidate) => candidate.line === line && candidate.text === text);
  assert.ok(token, `no token "${text}" on the line "${line}"`);
  return token.scopes;
}

function assertScope(tokens: readonly Token[], line: string, text: string, scope: string): void {
  const scopes = scopesOf(tokens, line, text);
  assert.ok(scopes.includes(scope), `"${text}" on "${line}" lacks ${scope}: ${scopes.join(' ')}`);
}

/** Scopes this project's grammars add; the root scope `source.sluice` itself is not one. */
function sluiceScopes(scopes: readonly string[]): string[] {
  return scopes.filter((scope) => scope.endsWith('.sluice') && scope !== 'source.sluice');
}

const MANIFEST = `version: 1
name: churn-model

datasets:
  events:
    path: data/raw/events   # needs: [not-a-reference]

pipelines:
  train:
    stages:
      prepare:
        run: node src/prepare.js
        datasets: [events]
        deps: [src/prepare.js]
        outs: [data/prepared]
      train:
        run: |
          node src/train.js needs: [inside-a-command]
        needs: [prepare]
        datasets:
          - events
        needs:
          - prepare   # the block style
        metrics: [metrics.json]
        plots:
          - path: plots/loss.csv
            template: line
            x: step
        foo: bar
    checks:
      - name: accuracy floor
        metric: metrics.json#accuracy
        min: 0.8

environments:
  staging:
    from: workspace
    pipeline: train
  production:
    from: staging
    gates:
      - checks
      - metric: metrics.json#accuracy
        no_regression: 0.01

remotes:
  archive:
    url: s3://team-bucket/sluice
    endpoint: https://minio.internal:9000
    default: true
`;

for (const host of yamlHosts()) {
  describe(`sluice grammars over ${host.name}`, () => {
    let manifest: Token[];
    let plainYaml: IGrammar;

    before(async () => {
      const registry = createRegistry(host);
      const sluice = await registry.loadGrammar('source.sluice');
      const yaml = await registry.loadGrammar('source.yaml');
      assert.ok(sluice && yaml, 'both grammars load');
      manifest = tokenize(sluice, MANIFEST);
      plainYaml = yaml;
    });

    test('keys carry a Sluice key scope inside the YAML key scopes, which stay intact', () => {
      assertScope(
        manifest,
        '        outs: [data/prepared]',
        'outs',
        'support.type.property-name.stage.sluice',
      );
      assertScope(manifest, '        outs: [data/prepared]', 'outs', 'entity.name.tag.yaml');
      assertScope(manifest, 'pipelines:', 'pipelines', 'support.type.property-name.top-level.sluice');
      assertScope(manifest, '    checks:', 'checks', 'support.type.property-name.pipeline.sluice');
      assertScope(manifest, '    from: workspace', 'from', 'support.type.property-name.environment.sluice');
      const threshold = 'support.type.property-name.threshold.sluice';
      assertScope(manifest, '        no_regression: 0.01', 'no_regression', threshold);
      assertScope(manifest, 'remotes:', 'remotes', 'support.type.property-name.top-level.sluice');
      const remote = 'support.type.property-name.remote.sluice';
      assertScope(manifest, '    url: s3://team-bucket/sluice', 'url', remote);
      assertScope(manifest, '    endpoint: https://minio.internal:9000', 'endpoint', remote);
      assertScope(manifest, '    default: true', 'default', remote);
      assertScope(manifest, '        plots:', 'plots', 'support.type.property-name.stage.sluice');
      const plot = 'support.type.property-name.plot.sluice';
      assertScope(manifest, '            template: line', 'template', plot);
      assertScope(manifest, '            x: step', 'x', plot);
    });

    test('the column tells a top-level key from a stage key of the same name', () => {
      assert.deepEqual(sluiceScopes(scopesOf(manifest, 'datasets:', 'datasets')), [
        'support.type.property-name.top-level.sluice',
      ]);
      assert.deepEqual(sluiceScopes(scopesOf(manifest, '        datasets: [events]', 'datasets')), [
        'support.type.property-name.stage.sluice',
      ]);
    });

    test('items of needs and datasets lists are references, in flow and in block style', () => {
      assertScope(manifest, '        needs: [prepare]', 'prepare', 'variable.other.reference.stage.sluice');
      assertScope(manifest, '        needs: [prepare]', 'prepare', 'string.unquoted.plain.in.yaml');
      assertScope(
        manifest,
        '        datasets: [events]',
        'events',
        'variable.other.reference.dataset.sluice',
      );
      const blockItem = '          - prepare   # the block style';
      assertScope(manifest, blockItem, 'prepare', 'variable.other.reference.stage.sluice');
      assertScope(manifest, '          - events', 'events', 'variable.other.reference.dataset.sluice');
      assert.deepEqual(
        sluiceScopes(scopesOf(manifest, '        deps: [src/prepare.js]', 'src/prepare.js')),
        [],
      );
    });

    test('the YAML grammar takes over again after a block list', () => {
      const blockItem = '          - prepare   # the block style';
      assertScope(manifest, blockItem, '#', 'punctuation.definition.comment.yaml');
      assertScope(manifest, '        metrics: [metrics.json]', 'metrics', 'entity.name.tag.yaml');
      assertScope(
        manifest,
        '        metrics: [metrics.json]',
        'metrics',
        'support.type.property-name.stage.sluice',
      );
    });

    test('from names the upstream environment, or workspace', () => {
      assertScope(manifest, '    from: workspace', 'workspace', 'constant.language.workspace.sluice');
      assertScope(manifest, '    from: staging', 'staging', 'variable.other.environment.sluice');
      assertScope(manifest, '    pipeline: train', 'train', 'variable.other.reference.pipeline.sluice');
    });

    test('a metric reference scopes its file and its key apart', () => {
      const line = '        metric: metrics.json#accuracy';
      assertScope(manifest, line, 'metrics.json', 'entity.name.namespace.metrics-file.sluice');
      assertScope(manifest, line, '#', 'punctuation.separator.metric.sluice');
      assertScope(manifest, line, 'accuracy', 'variable.other.property.metric-key.sluice');
    });

    test('checks as a gate is a constant', () => {
      assertScope(manifest, '      - checks', 'checks', 'constant.language.gate.checks.sluice');
    });

    test('unknown keys, user names, comments and command text get no Sluice scope', () => {
      assert.deepEqual(sluiceScopes(scopesOf(manifest, '        foo: bar', 'foo')), []);
      assert.deepEqual(sluiceScopes(scopesOf(manifest, '      prepare:', 'prepare')), []);
      const comment = manifest.filter(
        (token) =>
          token.line.startsWith('    path:') && token.scopes.some((scope) => scope.startsWith('comment.')),
      );
      const command = manifest.filter(
        (token) => token.line.includes('inside-a-command') && token.text.trim() !== '',
      );
      assert.ok(comment.length > 0 && command.length > 0);
      for (const token of [...comment, ...command]) {
        assert.deepEqual(sluiceScopes(token.scopes), [], `"${token.text}" on "${token.line}"`);
      }
    });

    // The injection targets source.sluice only, so it never colours other YAML:
    // GitHub Actions workflows, for one, have their own `needs`, `run` and `name`.
    test('an ordinary YAML file gets no Sluice scope', () => {
      const workflow = tokenize(
        plainYaml,
        `name: ci
jobs:
  test:
    needs: [build]
    from: workspace
    steps:
      - name: checks
        run: npm test
outs: [dist]
`,
      );
      assert.ok(scopesOf(workflow, 'outs: [dist]', 'outs').includes('entity.name.tag.yaml'));
      for (const token of workflow) assert.deepEqual(sluiceScopes(token.scopes), [], `"${token.text}"`);
    });
  });
}
