// Helpers for the store's tests (storeMaintenance, robustStore): a small
// workspace with a dataset, a one-stage pipeline and a deploying environment,
// and ways to damage its blobs and refs.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { blobPath, createWorkspace, git, sluice, type CliResult } from './workspace';

export const PIPELINE_MANIFEST = `version: 1
datasets:
  raw:
    path: data/raw
params: params.yaml
pipelines:
  main:
    stages:
      build:
        run: node build.js
        datasets: [raw]
        deps: [build.js]
        params: [build.salt]
        outs: [out]
environments:
  staging:
    from: workspace
    pipeline: main
    deploy:
      path: deploy/staging
`;

/** The stage: out/result.txt from the salt and the dataset, out/big.bin a salted block of bytes. */
const BUILD_SCRIPT = `const fs = require('node:fs');
const salt = /salt: (.*)/.exec(fs.readFileSync('params.yaml', 'utf8'))[1];
const files = fs.readdirSync('data/raw').sort();
fs.mkdirSync('out', { recursive: true });
fs.writeFileSync('out/result.txt', salt + '\\n' + files.map((f) => fs.readFileSync('data/raw/' + f, 'utf8')).join(''));
const big = Buffer.alloc(200000);
for (let i = 0; i < big.length; i++) big[i] = (i * 31 + salt.length * 7 + salt.charCodeAt(0)) & 255;
fs.writeFileSync('out/big.bin', big);
`;

/** A workspace with PIPELINE_MANIFEST, its code committed, one snapshot of `raw` recorded. Returns its root. */
export function pipelineWorkspace(made: string[], salt = 'a'): string {
  const root = createWorkspace({}, 'sluice-store-');
  made.push(root);
  writeFileSync(join(root, 'sluice.yaml'), PIPELINE_MANIFEST);
  writeFileSync(join(root, '.gitignore'), '.sluice/\ndata/\nout/\ndeploy/\n');
  writeFileSync(join(root, 'build.js'), BUILD_SCRIPT);
  writeFileSync(join(root, 'params.yaml'), `build:\n  salt: ${salt}\n`);
  mkdirSync(join(root, 'data', 'raw'), { recursive: true });
  writeFileSync(join(root, 'data', 'raw', 'one.csv'), 'id,value\n1,one\n');
  writeFileSync(join(root, 'data', 'raw', 'two.csv'), 'id,value\n2,two\n'.repeat(500));
  git(root, 'add', '--all');
  git(root, 'commit', '--quiet', '-m', 'pipeline');
  expectOk(sluice(['snapshot', 'raw'], root), 'snapshot');
  return root;
}

export function setSalt(root: string, salt: string, commit = false): void {
  writeFileSync(join(root, 'params.yaml'), `build:\n  salt: ${salt}\n`);
  if (commit) {
    git(root, 'add', 'params.yaml');
    git(root, 'commit', '--quiet', '-m', `salt ${salt}`);
  }
}

export function expectOk(result: CliResult, what: string): CliResult {
  assert.equal(result.status, 0, `${what}: ${result.stdout}${result.stderr}`);
  return result;
}

/** The parsed `{error}` of a failed `--json` command. */
export function jsonError(result: CliResult): {
  code: string;
  message: string;
  data: Record<string, unknown>;
} {
  return (
    JSON.parse(result.stdout) as { error: { code: string; message: string; data: Record<string, unknown> } }
  ).error;
}

export type BlobDamage = 'flip' | 'truncate' | 'extend' | 'swap' | 'delete';
export const BLOB_DAMAGES: readonly BlobDamage[] = ['flip', 'truncate', 'extend', 'swap', 'delete'];

/**
 * Damages blob `hash` of the workspace at `root` in place (its file made
 * writable, then read-only again). `random` picks offsets; `other` is the blob
 * whose bytes a swap puts there.
 */
export function damageBlob(
  root: string,
  hash: string,
  damage: BlobDamage,
  random: () => number,
  other: string | undefined,
): void {
  const path = blobPath(root, hash);
  if (damage === 'delete') {
    rmSync(path, { force: true });
    return;
  }
  const bytes = readFileSync(path);
  let damaged: Buffer;
  if (damage === 'flip') {
    damaged = Buffer.from(bytes);
    if (damaged.length === 0) damaged = Buffer.from([1]);
    else damaged[Math.floor(random() * damaged.length)]! ^= 1 << Math.floor(random() * 8);
  } else if (damage === 'truncate') {
    // An empty blob has nothing to cut: it is damaged by growing instead, so every damage changes the bytes.
    damaged = bytes.length === 0 ? Buffer.from([0]) : bytes.subarray(0, Math.floor(random() * bytes.length));
  } else if (damage === 'extend') {
    damaged = Buffer.concat([bytes, Buffer.from([Math.floor(random() * 256)])]);
  } else {
    const swapped = other === undefined ? Buffer.from('another blob') : readFileSync(blobPath(root, other));
    damaged = swapped.equals(bytes) ? Buffer.concat([swapped, Buffer.from('x')]) : swapped;
  }
  const mode = statSync(path).mode;
  chmodSync(path, 0o644);
  writeFileSync(path, damaged);
  chmodSync(path, mode & 0o777);
}

/** What `sluice fsck --json` prints, as far as the store tests read it. */
export interface FsckJson {
  readonly damaged: string[];
  readonly missing: { hash: string }[];
  readonly damagedRefs: { ref: string; reason: string }[];
}
