// The fingerprint cache behind `sluice run` and `status`: it remembers each
// file's hash with its stat identity, and forgets files that are gone.
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { Fingerprints } from '../../src/core/pipelines/fingerprint';

/** The paths the cache file remembers. */
function remembered(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .slice(1)
    .filter((line) => line !== '')
    .map((line) => line.split('\t')[0]!)
    .sort();
}

void test('files deleted from a folder, or the folder itself, are forgotten when it is fingerprinted again', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'sluice-fingerprints-'));
  t.after(() => {
    rmSync(root, { recursive: true, force: true });
  });
  const cache = join(root, '.sluice/state/fingerprints.json');
  // Old enough not to be "racy": their hashes are remembered.
  const past = new Date(Date.now() - 60_000);
  for (const path of ['data/a.csv', 'data/b.csv', 'data/sub/c.csv', 'src/x.py']) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), `${path}\n`);
    utimesSync(join(root, path), past, past);
  }
  const run = (paths: string[]): (string | undefined)[] => {
    const fingerprints = Fingerprints.load(root, cache);
    const values = paths.map((path) => fingerprints.of(path));
    fingerprints.save();
    return values;
  };

  const [before] = run(['data', 'src/x.py']);
  assert.deepEqual(remembered(cache), ['data/a.csv', 'data/b.csv', 'data/sub/c.csv', 'src/x.py']);

  rmSync(join(root, 'data/b.csv'));
  rmSync(join(root, 'data/sub'), { recursive: true });
  const [after] = run(['data']);
  assert.notEqual(after, before);
  assert.deepEqual(
    remembered(cache),
    ['data/a.csv', 'src/x.py'],
    'only what is still there, and what was not looked at',
  );

  rmSync(join(root, 'data'), { recursive: true });
  assert.deepEqual(run(['data']), [undefined]);
  assert.deepEqual(remembered(cache), ['src/x.py']);

  // A stage rewrites a folder it had fingerprinted: the files it writes are remembered, not forgotten.
  const fingerprints = Fingerprints.load(root, cache);
  mkdirSync(join(root, 'out'));
  assert.notEqual(fingerprints.of('out'), undefined);
  writeFileSync(join(root, 'out/model.bin'), 'weights\n');
  utimesSync(join(root, 'out/model.bin'), past, past);
  fingerprints.invalidate('out');
  fingerprints.remember('out/model.bin', lstatSync(join(root, 'out/model.bin')), 'f'.repeat(64));
  fingerprints.save();
  assert.deepEqual(remembered(cache), ['out/model.bin', 'src/x.py']);
});
