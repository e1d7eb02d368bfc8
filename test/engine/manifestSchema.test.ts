// The shipped JSON Schema is normative. These tests keep three things in
// agreement: the schema, the TypeScript model, and our structural validator
// (checked against ajv, an independent JSON Schema implementation).
import Ajv from 'ajv';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { analyzeManifest } from '../../src/core/manifest';
import { MODEL_FIELDS } from '../../src/core/manifest/model';
import {
  manifestSchema,
  resolveSchema,
  SUPPORTED_KEYWORDS,
  type JsonSchema,
} from '../../src/core/manifest/schema';
import { CHURN_EXAMPLE } from '../../src/core/operations/init/churnExample';
import { STARTER_MANIFEST } from '../../src/core/operations/init/starterManifest';
import { generateManifest } from '../support/generateManifest';

const STRUCTURAL_CODES = new Set([
  'wrong-type',
  'missing-required',
  'unknown-key',
  'invalid-value',
  'invalid-name',
  'unsupported-version',
  // A key such as `secret_key` is an unknown key to the schema; Sluice names it for what it is.
  'credentials-in-manifest',
]);

function definition(name: string): JsonSchema {
  const found = manifestSchema.definitions?.[name];
  assert.ok(found, `definition ${name}`);
  return found;
}

function propertyNames(schema: JsonSchema): string[] {
  const resolved = resolveSchema(schema);
  const branches = resolved.oneOf ? resolved.oneOf.map(resolveSchema) : [resolved];
  return [...new Set(branches.flatMap((b) => Object.keys(b.properties ?? {})))].sort();
}

/** A stage's `plots:`, valid and not, that the schema alone decides (fields per template are checked beyond it). */
const PLOT_VARIANTS = [
  '        plots: [out/p0/s2.json, out/p0/chart.png]\n',
  '        plots:\n          - path: out/p0/loss.csv\n            template: scatter\n            x: step\n            y: [loss, val_loss]\n            title: Loss\n            x_label: step\n            y_label: loss\n',
  '        plots:\n          - path: out/p0/classes.csv\n            template: confusion\n            actual: truth\n            predicted: guess\n',
  '        plots:\n          - path: out/p0/loss.csv\n            y: loss\n',
  '        plots: out/p0/loss.csv\n',
  '        plots:\n          - path: out/p0/loss.csv\n            template: pie\n',
  '        plots:\n          - path: out/p0/loss.csv\n            colour: red\n',
  '        plots:\n          - template: line\n',
  '        plots:\n          - path: out/p0/loss.csv\n            y: [loss, 3]\n',
  '        plots:\n          - path: out/p0/loss.csv\n            x: ""\n',
  '        plots:\n          - 7\n',
];

/** `remotes:` sections, valid and not, that the schema alone decides (URLs are checked beyond it). */
const REMOTE_VARIANTS = [
  'remotes:\n  team:\n    url: ssh://storage.example.com/srv/sluice\n    default: true\n    git: upstream/team\n',
  'remotes:\n  archive:\n    url: s3://bucket/sluice\n    endpoint: https://minio.internal:9000\n    region: eu-west-1\n    path_style: false\n    description: Old releases\n',
  'remotes: {}\n',
  'remotes:\n  team:\n    default: true\n',
  'remotes:\n  team:\n    url: /mnt/team\n    secret_key: abc\n',
  'remotes:\n  team:\n    url: /mnt/team\n    password: hunter2\n',
  'remotes:\n  team:\n    url: /mnt/team\n    defualt: true\n',
  'remotes:\n  team:\n    url: /mnt/team\n    default: "yes"\n',
  'remotes:\n  team:\n    url: ""\n',
  'remotes:\n  team:\n    url: /mnt/team\n    git: --upload-pack=touch /tmp/x\n',
  'remotes:\n  0team:\n    url: /mnt/team\n',
  'remotes:\n  team: /mnt/team\n',
  'remotes:\n  - team\n',
  'remotes:\n  team:\n    url: s3://bucket/x\n    path_style: 1\n',
];

const exampleManifest = CHURN_EXAMPLE.files().find((file) => file.path === 'sluice.yaml');

describe('manifest JSON Schema', () => {
  it('uses only keywords our validator implements', () => {
    const visit = (node: unknown, where: string): void => {
      if (Array.isArray(node)) {
        node.forEach((item, i) => {
          visit(item, `${where}[${i}]`);
        });
        return;
      }
      if (node === null || typeof node !== 'object') return;
      for (const [key, value] of Object.entries(node)) {
        const isSchemaKeyword = !where.endsWith('.properties') && !where.endsWith('.definitions');
        if (isSchemaKeyword) assert.ok(SUPPORTED_KEYWORDS.has(key), `unsupported keyword ${key} at ${where}`);
        if (key !== 'enum' && key !== 'required' && key !== 'default') visit(value, `${where}.${key}`);
      }
    };
    visit(manifestSchema, '#');
  });

  it('declares the same keys the TypeScript model reads', () => {
    const pairs: [keyof typeof MODEL_FIELDS, JsonSchema][] = [
      ['manifest', manifestSchema],
      ['dataset', definition('dataset')],
      ['pipeline', definition('pipeline')],
      ['stage', definition('stage')],
      ['check', definition('check')],
      ['environment', definition('environment')],
      ['deploy', definition('environment').properties!['deploy']!],
      ['health', definition('environment').properties!['health']!],
      ['monitor', definition('environment').properties!['monitor']!],
      ['monitorCheck', definition('monitorCheck')],
      ['metricGate', resolveSchema(definition('gate')).oneOf![1]!],
      ['remote', definition('remote')],
      ['plot', resolveSchema(definition('plot')).oneOf![1]!],
    ];
    for (const [model, schema] of pairs) {
      assert.deepEqual(Object.keys(MODEL_FIELDS[model]).sort(), propertyNames(schema), `keys of ${model}`);
    }
  });

  it('is a valid draft-07 schema that accepts the starter and example manifests', () => {
    const ajv = new Ajv({ allErrors: true, strict: true });
    const validate = ajv.compile(manifestSchema);
    assert.ok(exampleManifest, 'the churn example has a sluice.yaml');
    for (const text of [STARTER_MANIFEST, exampleManifest.content, generateManifest(20).text]) {
      assert.ok(validate(parse(text)), JSON.stringify(validate.errors));
    }
  });

  it('agrees with our structural validation on valid and invalid manifests', () => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    const validate = ajv.compile(manifestSchema);
    const base = generateManifest(3).text;
    const variants: string[] = [
      base,
      STARTER_MANIFEST,
      base.replace('version: 1', 'version: 2'),
      base.replace('version: 1', 'version: "1"'),
      base.replace('version: 1\n', ''),
      base.replace('    description: Generated pipeline 0\n', '    descripton: Generated pipeline 0\n'),
      base.replace('datasets: [raw0]', 'datasets: raw0'),
      base.replace(/ +run: node src\/p0\/s1\.js[^\n]*\n/, ''),
      base.replace('  raw0:', '  0raw:'),
      base.replace('  staging:', '  workspace:'),
      base.replace('no_regression: 0.01', 'no_regression: -1'),
      base.replace('min: 0.8', 'min: high'),
      base.replace('metric: out/p0/metrics.json#accuracy', 'metric: accuracy'),
      base.replace('      - checks\n', '      - check\n'),
      base.replace('    from: staging\n', ''),
      base.replace('      path: deploy/production', '      path: ""'),
      base.replace('        min: 0.8\n', '        min: 0.8\n        run: node x.js\n'),
      base.replace(
        `      - name: rows of p0\n        run: node checks/rows.js out/p0\n`,
        `      - name: rows of p0\n`,
      ),
      base.replace('pipelines:\n', 'pipelines:\n  extra: 3\n'),
      base.replace('params: params.yaml', 'params: [params.yaml]'),
      `${base}\nhealth: true\n`,
      ...REMOTE_VARIANTS.map((remotes) => `${base}\n${remotes}`),
      ...PLOT_VARIANTS.map((plots) =>
        base.replace(
          '        metrics: [out/p0/metrics.json]\n',
          `        metrics: [out/p0/metrics.json]\n${plots}`,
        ),
      ),
    ];
    variants.forEach((text, index) => {
      const ajvValid = validate(parse(text));
      const ours = analyzeManifest(text).diagnostics.filter((d) => STRUCTURAL_CODES.has(d.code));
      assert.equal(
        ours.length === 0,
        ajvValid,
        `variant ${index}: ajv says ${ajvValid ? 'valid' : JSON.stringify(validate.errors?.[0])}, we say ${JSON.stringify(ours.map((d) => d.message))}`,
      );
    });
  });
});
