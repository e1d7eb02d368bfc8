// Keeps trying the classes of issue 12 with generated inputs:
// - nested and overlapping outs/metrics declarations (folders holding declared
//   files, one file declared twice through different spellings): stage
//   deploys, and `current` holds exactly the declared outputs;
// - release contents with links (inside, escaping by `..`, absolute, escaping
//   through another link): the escaping ones are refused, and nothing outside
//   the deploy folder is reachable through `current`;
// - SIGKILL at random points of promote and rollback: the next read repairs `current`.
//
// SLUICE_ROBUST_TRIALS sets the trials per class (default 3, well under 60 s),
// SLUICE_ROBUST_SEED replays a run.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { after, describe, test } from 'node:test';
import { deployRelease } from '../../src/core/environments/deploy';
import { readHead } from '../../src/core/environments/history';
import { writeRelease } from '../../src/core/environments/releases';
import { SluiceError } from '../../src/core/errors';
import type { TreeEntry } from '../../src/core/pipelines/fingerprint';
import { seededRandom } from '../../src/core/seededRandom';
import { openWorkspace } from '../../src/core/workspace';
import {
  commitEverything,
  environmentWorkspace,
  linkedRelease,
  releaseOf,
  stageJson,
} from '../support/environments';
import {
  clearVariablesRefusedBySimpleGit,
  git,
  readTree,
  removeTree,
  sluiceJson,
  startSluice,
} from '../support/workspace';

clearVariablesRefusedBySimpleGit();

const TRIALS = Number(process.env['SLUICE_ROBUST_TRIALS'] ?? 3);
const SEED = Number(process.env['SLUICE_ROBUST_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const made: string[] = [];
after(() => {
  for (const dir of made.splice(0)) removeTree(dir);
});

const ENVIRONMENTS = `environments:
  staging:
    from: workspace
    deploy:
      path: deploy/staging
  production:
    from: staging
    deploy:
      path: deploy/production
`;

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

/** A different spelling of the same workspace path. */
function respell(random: Random, path: string): string {
  const variants = [path, `./${path}`, path.replace('/', '//'), `${path}/`.replace(/\.json\/$/, '.json')];
  return pick(random, variants);
}

/** Files a stage writes (path → content), and out/metrics declarations that overlap. */
function generateDeclarations(random: Random): {
  files: Map<string, string>;
  outs: string[];
  metrics: string[];
} {
  const folders = ['out', 'out/a', 'out/a/b', 'eval', 'eval/deep'];
  const files = new Map<string, string>();
  const count = 2 + Math.floor(random() * 5);
  for (let i = 0; i < count; i++) {
    const folder = pick(random, folders);
    const json = random() < 0.5;
    files.set(`${folder}/f${i}.${json ? 'json' : 'txt'}`, json ? `{"v":${i}}` : `text ${i}\n`);
  }
  const outs = new Set<string>();
  const metrics = new Set<string>();
  // Folders holding files, some nested in each other.
  for (const folder of folders)
    if ([...files.keys()].some((path) => path.startsWith(`${folder}/`)) && random() < 0.5) outs.add(folder);
  for (const path of files.keys()) {
    if (random() < 0.4) outs.add(path);
    if (path.endsWith('.json') && random() < 0.6) metrics.add(path);
  }
  if (outs.size === 0 && metrics.size === 0) outs.add([...files.keys()][0]!);
  const spelled = (set: Set<string>): string[] => {
    const list = [...set].map((path) => respell(random, path));
    // The same file declared twice, spelled differently.
    if (set.size > 0 && random() < 0.5) list.push(respell(random, pick(random, [...set])));
    return list;
  };
  return { files, outs: spelled(outs), metrics: spelled(metrics) };
}

function covered(path: string, declarations: readonly string[]): boolean {
  return declarations.some((declared) => {
    const normal = declared.replace(/^\.\//, '').replace(/\/+/g, '/').replace(/\/$/, '');
    return path === normal || path.startsWith(`${normal}/`);
  });
}

/** True when `path` resolves outside `folder` (or cannot be resolved at all). */
function outside(folder: string, path: string): boolean {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return false; // dangling: reaches nothing
  }
  const inside = relative(realpathSync(folder), real);
  return inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside);
}

describe(`robust environments (seed ${SEED}, ${TRIALS} trials per class)`, () => {
  test('nested and overlapping outs/metrics: stage deploys, current holds exactly the outputs', () => {
    const random = seededRandom(SEED);
    for (let trial = 0; trial < TRIALS; trial++) {
      const { files, outs, metrics } = generateDeclarations(random);
      const script = [...files]
        .map(
          ([path, content]) =>
            `mkdir -p ${path.replace(/\/[^/]+$/, '')} && printf '%s' '${content}' > ${path}`,
        )
        .join(' && ');
      const manifest = `version: 1
pipelines:
  p:
    stages:
      make:
        run: ${JSON.stringify(script)}
${outs.length > 0 ? `        outs: ${JSON.stringify(outs)}\n` : ''}${metrics.length > 0 ? `        metrics: ${JSON.stringify(metrics)}\n` : ''}${ENVIRONMENTS}`;
      const root = environmentWorkspace(manifest, {}, 'sluice-robust-');
      made.push(root);
      const message = `seed ${SEED}, trial ${trial}: outs ${JSON.stringify(outs)} metrics ${JSON.stringify(metrics)}`;
      const staged = stageJson(root);
      assert.equal(staged.status, 0, `${message}: ${JSON.stringify(staged.json)}`);
      const expected = new Map(
        [...files]
          .filter(([path]) => covered(path, [...outs, ...metrics]))
          .map(([path, content]) => [path, content]),
      );
      const current = join(root, 'deploy/staging/current');
      const actual = new Map<string, string>();
      for (const [path, entry] of readTree(realpathSync(current)))
        if (entry.type === 'file') actual.set(path, readFileSync(join(current, path), 'utf8'));
      assert.deepEqual(actual, expected, message);
      // Deploying the same release again (a promotion, twice) is idempotent.
      sluiceJson(['promote', '--yes', '--release', releaseOf(staged.json)], root);
      sluiceJson(['promote', '--yes', '--release', releaseOf(staged.json)], root);
      assert.equal(linkedRelease(root, 'production'), releaseOf(staged.json), message);
    }
  });

  test('links in releases: escaping ones refused, nothing outside the deploy folder reachable', async () => {
    const random = seededRandom(SEED + 1);
    const root = environmentWorkspace(
      `version: 1\npipelines:\n  p:\n    stages:\n      s:\n        run: mkdir -p out && echo x > out/x\n        outs: [out]\n${ENVIRONMENTS}`,
      {},
      'sluice-robust-',
    );
    made.push(root);
    const workspace = await openWorkspace(root);
    const folder = join(root, 'deploy/staging');
    for (let trial = 0; trial < TRIALS * 4; trial++) {
      const entries: TreeEntry[] = [
        { path: '', type: 'dir', mode: 0o755 },
        { path: 'a', type: 'dir', mode: 0o755 },
        { path: 'a/b', type: 'dir', mode: 0o755 },
      ];
      let escapes = false;
      const links = 1 + Math.floor(random() * 3);
      for (let i = 0; i < links; i++) {
        const at = pick(random, ['', 'a/', 'a/b/']);
        const depth = at.split('/').length; // levels up to the release folder, counting models/
        const kind = pick(random, ['inside', 'inside', 'parent', 'absolute', 'through-link']);
        let target: string;
        if (kind === 'inside') target = pick(random, ['.', 'a', `${'../'.repeat(depth - 1)}a/b`, 'missing']);
        else if (kind === 'parent') target = `${'../'.repeat(depth + 1 + Math.floor(random() * 3))}etc`;
        else if (kind === 'absolute') target = pick(random, ['/etc/passwd', '/', root]);
        else {
          // l → . then l/../.. : lexically inside, out through the link.
          entries.push({ path: `${at}self${i}`, type: 'link', target: '.' });
          target = `self${i}/${'../'.repeat(depth + 1)}`;
        }
        if (kind !== 'inside') escapes = true;
        entries.push({ path: `${at}link${i}`, type: 'link', target });
      }
      const release = await writeRelease(workspace.git, {
        format: 'sluice-release 1',
        pipeline: 'p',
        code: git(root, 'rev-parse', 'HEAD'),
        snapshots: {},
        outputs: [{ path: 'models', kind: 'dir', entries }],
        params: {},
        metrics: {},
        checks: [],
        failures: [],
        time: `${trial}`,
        actor: `seed ${SEED}`,
      });
      const message = `seed ${SEED}, trial ${trial}: ${JSON.stringify(entries.filter((e) => e.type === 'link'))}`;
      const head = await readHead(workspace.git, 'staging');
      try {
        await deployRelease(workspace, 'staging', release, { action: 'stage', expected: head, reason: null });
        assert.equal(escapes, false, `${message}: deployed`);
      } catch (error) {
        if (!(error instanceof SluiceError) || error.code !== 'release-link-escapes') throw error;
        assert.equal(escapes, true, `${message}: refused`);
      }
      // Whatever happened: nothing half-written, and nothing outside reachable through current.
      const releases = join(folder, 'releases');
      assert.deepEqual(
        existsSync(releases) ? readdirSync(releases).filter((name) => name.startsWith('.')) : [],
        [],
        message,
      );
      const current = join(folder, 'current');
      if (linkedRelease(root, 'staging') !== undefined)
        for (const [path, entry] of readTree(realpathSync(current)))
          if (entry.type === 'link')
            assert.equal(outside(folder, join(current, path)), false, `${message}: ${path}`);
    }
  });

  test('SIGKILL at random points of promote and rollback: the next read repairs current', async () => {
    const random = seededRandom(SEED + 2);
    const root = environmentWorkspace(
      `version: 1\npipelines:\n  p:\n    stages:\n      s:\n        run: mkdir -p out && cp note.txt out/\n        deps: [note.txt]\n        outs: [out]\n${ENVIRONMENTS}`,
      { 'note.txt': 'one\n' },
      'sluice-robust-',
    );
    made.push(root);
    const a = releaseOf(stageJson(root).json);
    writeFileSync(join(root, 'note.txt'), 'two\n');
    commitEverything(root, 'two');
    const b = releaseOf(stageJson(root).json);
    sluiceJson(['promote', '--yes', '--release', a], root);
    sluiceJson(['promote', '--yes', '--release', b], root);
    for (let trial = 0; trial < TRIALS; trial++) {
      const head = (sluiceJson(['history', 'production'], root) as { deployments: { release: string }[] })
        .deployments[0]!.release;
      const other = head === a ? b : a;
      const args =
        random() < 0.5
          ? ['promote', '--yes', '--release', other]
          : ['rollback', 'production', '--yes', '--to', other];
      const running = startSluice(args, root);
      await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 900)));
      running.crash();
      await running.done;
      const envs = sluiceJson(['envs'], root) as { environments: { name: string; release: string }[] };
      const live = envs.environments.find((environment) => environment.name === 'production')!.release;
      assert.equal(
        linkedRelease(root, 'production'),
        live,
        `seed ${SEED}, trial ${trial}, ${args.join(' ')}`,
      );
    }
  });
});
