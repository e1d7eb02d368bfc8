// Manifests and workspaces for the protected-path tests (manifestSafety,
// robustManifest): one stage that reads a dataset, a dep and a param, with
// whatever outputs, metrics, command and deploy path a test gives it.
import { lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git } from './workspace';

export interface StageSpec {
  readonly outs?: readonly string[];
  readonly metrics?: readonly string[];
  readonly params?: readonly string[];
  /** Written after `run: ` as is (so it may be a quoted YAML scalar). */
  readonly run?: string;
  readonly deploy?: string;
}

/** Paths the manifest names: the params file, the dataset and the stage's dep. */
export const FIXTURE = {
  params: 'params.yaml',
  dataset: 'data/raw',
  datasetFile: 'data/raw/part.csv',
  dep: 'src/prepare.js',
} as const;

export function stageManifest(spec: StageSpec): string {
  const lines = [
    'version: 1',
    `params: ${FIXTURE.params}`,
    'datasets:',
    '  raw:',
    `    path: ${FIXTURE.dataset}`,
    'pipelines:',
    '  main:',
    '    stages:',
    '      prepare:',
    `        run: ${spec.run ?? 'node src/prepare.js'}`,
    '        datasets: [raw]',
    `        deps: [${FIXTURE.dep}]`,
    `        params: [${(spec.params ?? ['train.epochs']).join(', ')}]`,
  ];
  if (spec.outs) lines.push(`        outs: [${spec.outs.join(', ')}]`);
  if (spec.metrics) lines.push(`        metrics: [${spec.metrics.join(', ')}]`);
  if (spec.deploy !== undefined) {
    lines.push(
      'environments:',
      '  production:',
      '    from: workspace',
      '    deploy:',
      `      path: ${spec.deploy}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Writes the files the manifest names into `root`; returns `root`. */
export function protectedFixture(root: string): string {
  mkdirSync(join(root, 'data', 'raw'), { recursive: true });
  mkdirSync(join(root, 'src'), { recursive: true });
  writeFileSync(join(root, FIXTURE.params), 'train:\n  epochs: 3\n');
  writeFileSync(join(root, FIXTURE.datasetFile), 'a,b\n1,2\n');
  writeFileSync(join(root, FIXTURE.dep), 'require("node:fs").mkdirSync("out", { recursive: true });\n');
  return root;
}

/** Every path below `dir` (links not followed), sorted: compared before and after to prove nothing moved. */
export function listing(dir: string, prefix = ''): string[] {
  let entries: string[];
  try {
    entries = readdirSync(join(dir, prefix));
  } catch {
    return [];
  }
  const result: string[] = [];
  for (const name of entries.sort()) {
    const path = prefix === '' ? name : `${prefix}/${name}`;
    result.push(path);
    if (lstatSync(join(dir, path)).isDirectory()) result.push(...listing(dir, path));
  }
  return result;
}

/** `root` made a git workspace with the fixture's files and `manifest`, all committed; returns `root`. */
export function gitWorkspace(root: string, manifest: string): string {
  protectedFixture(root);
  git(root, 'init', '--quiet');
  git(root, 'config', 'user.name', 'Sluice Test');
  git(root, 'config', 'user.email', 'test@sluice.invalid');
  writeFileSync(join(root, 'sluice.yaml'), manifest);
  writeFileSync(join(root, '.gitignore'), '.sluice/\nout/\ndeploy/\n');
  git(root, 'add', '-A');
  git(root, 'commit', '--quiet', '-m', 'start');
  return root;
}
