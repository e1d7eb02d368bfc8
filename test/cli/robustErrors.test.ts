// Raw `internal error: E…` lines must not reach users (issue 12, item 4).
// Generated fault test: each trial copies a small workspace (a snapshot, a
// pipeline that ran, an environment), breaks one thing in a way root cannot
// bypass (a file where a folder is expected and the reverse, a missing path, a
// dangling link, a cache file replaced by a folder, a damaged git ref or
// object, a read-only file system), runs one command, and checks the failure
// contract: exit 0, or exit 1 or 2 with ONE stderr line `sluice: …` that names
// something, no `internal error`, no stack trace, and with --json exactly one
// JSON object on stdout carrying `error.code`.
//
// SLUICE_ROBUST_TRIALS sets the number of trials (default 36, about a minute),
// SLUICE_ROBUST_SEED replays a run (each failure prints its seed and trial),
// SLUICE_ROBUST_ALL=1 tries every fault with every command.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { seededRandom } from '../../src/core/seededRandom';
import { clearVariablesRefusedBySimpleGit, git, removeTree, sluice, sluiceJson } from '../support/workspace';

clearVariablesRefusedBySimpleGit();

const TRIALS = Number(process.env['SLUICE_ROBUST_TRIALS'] ?? 36);
const SEED = Number(process.env['SLUICE_ROBUST_SEED'] ?? Date.now() % 1_000_000);
/** SLUICE_ROBUST_ALL=1: every fault with every command instead of random trials (several minutes). */
const ALL = process.env['SLUICE_ROBUST_ALL'] === '1';

const MANIFEST = `version: 1
datasets:
  events:
    path: data/events
  model:
    path: data/model.bin
params: params.yaml
pipelines:
  main:
    stages:
      count:
        run: node -e "require('fs').mkdirSync('out',{recursive:true});require('fs').writeFileSync('out/n.txt','1')"
        datasets: [events]
        deps: [src/count.js]
        params: [count.n]
        outs: [out/n.txt]
environments:
  staging:
    from: workspace
    pipeline: main
`;

const roots: string[] = [];
const mounts: string[] = [];
after(() => {
  for (const mount of mounts) spawnSync('umount', [mount]);
  for (const root of [...roots, ...mounts]) removeTree(root);
});

/** The workspace every trial copies: two datasets snapshotted, the pipeline run once. */
function template(): string {
  const root = mkdtempSync(join(tmpdir(), 'sluice-robust-'));
  roots.push(root);
  git(root, 'init', '--quiet');
  git(root, 'config', 'user.name', 'Sluice Test');
  git(root, 'config', 'user.email', 'test@sluice.invalid');
  writeFileSync(join(root, 'sluice.yaml'), MANIFEST);
  writeFileSync(join(root, '.gitignore'), '.sluice/\ndata/\nout/\n');
  mkdirSync(join(root, 'data/events/sub'), { recursive: true });
  mkdirSync(join(root, 'src'));
  writeFileSync(join(root, 'src/count.js'), '// counts\n');
  writeFileSync(join(root, 'params.yaml'), 'count:\n  n: 1\n');
  writeFileSync(join(root, 'data/events/a.csv'), 'a\n');
  writeFileSync(join(root, 'data/events/sub/b.csv'), 'b\n');
  writeFileSync(join(root, 'data/model.bin'), 'model\n');
  git(root, 'add', '-A');
  git(root, 'commit', '--quiet', '-m', 'init');
  sluiceJson(['snapshot', '-m', 'one'], root);
  writeFileSync(join(root, 'data/events/a.csv'), 'a2\n');
  sluiceJson(['snapshot', '-m', 'two'], root);
  const ran = sluice(['run'], root);
  assert.equal(ran.status, 0, ran.stderr);
  return root;
}

const isRoot = process.getuid?.() === 0;
const canMount = ((): boolean => {
  if (!isRoot) return false;
  const probe = mkdtempSync(join(tmpdir(), 'sluice-mount-probe-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe]).status === 0;
  if (mounted) spawnSync('umount', [probe]);
  rmSync(probe, { recursive: true, force: true });
  return mounted;
})();

/** Replaces `path` (file or folder) with a folder holding one file. */
function folderInstead(path: string): void {
  rmSync(path, { recursive: true, force: true });
  mkdirSync(join(path, 'inside'), { recursive: true });
}

/** Replaces `path` with a file. */
function fileInstead(path: string): void {
  rmSync(path, { recursive: true, force: true });
  writeFileSync(path, 'not what was expected\n');
}

function danglingLinkInstead(path: string): void {
  rmSync(path, { recursive: true, force: true });
  symlinkSync('/nonexistent/sluice-robust-target', path);
}

/** The ref of a dataset's history, as a loose file (refs are packed by nothing here). */
function datasetRefFile(root: string, name: string): string {
  const refs = git(root, 'for-each-ref', '--format=%(refname)', 'refs/sluice/').split('\n');
  const ref = refs.find((candidate) => candidate.endsWith(`/${name}`));
  assert.ok(ref, `a ref for ${name} among ${refs.join(', ')}`);
  return join(root, '.git', ref);
}

/** A fault: what it breaks, applied to a fresh copy at `root`. */
type Fault = readonly [name: string, apply: (root: string) => void];

const FAULTS: readonly Fault[] = [
  [
    'dataset folder is a file',
    (root) => {
      fileInstead(join(root, 'data/events'));
    },
  ],
  [
    'dataset file is a folder',
    (root) => {
      folderInstead(join(root, 'data/model.bin'));
    },
  ],
  [
    'dataset missing',
    (root) => {
      rmSync(join(root, 'data/events'), { recursive: true });
    },
  ],
  [
    'file in dataset is a dangling link',
    (root) => {
      danglingLinkInstead(join(root, 'data/events/a.csv'));
    },
  ],
  [
    'sub-folder of dataset is a file',
    (root) => {
      fileInstead(join(root, 'data/events/sub'));
    },
  ],
  [
    'dep is a folder',
    (root) => {
      folderInstead(join(root, 'src/count.js'));
    },
  ],
  [
    'dep folder is a file',
    (root) => {
      fileInstead(join(root, 'src'));
    },
  ],
  [
    'params file is a folder',
    (root) => {
      folderInstead(join(root, 'params.yaml'));
    },
  ],
  [
    'sluice.yaml is a folder',
    (root) => {
      folderInstead(join(root, 'sluice.yaml'));
    },
  ],
  [
    '.sluice is a file',
    (root) => {
      fileInstead(join(root, '.sluice'));
    },
  ],
  [
    '.sluice/objects is a file',
    (root) => {
      fileInstead(join(root, '.sluice/objects'));
    },
  ],
  [
    '.sluice/tmp is a file',
    (root) => {
      fileInstead(join(root, '.sluice/tmp'));
    },
  ],
  [
    '.sluice/state is a file',
    (root) => {
      fileInstead(join(root, '.sluice/state'));
    },
  ],
  [
    '.sluice/logs is a file',
    (root) => {
      fileInstead(join(root, '.sluice/logs'));
    },
  ],
  [
    '.sluice/runs is a file',
    (root) => {
      fileInstead(join(root, '.sluice/runs'));
    },
  ],
  [
    'every .sluice/state file is a folder',
    (root) => {
      for (const name of readdirSync(join(root, '.sluice/state')))
        folderInstead(join(root, '.sluice/state', name));
    },
  ],
  [
    'a blob is a folder',
    (root) => {
      const objects = join(root, '.sluice/objects/sha256');
      const fan = readdirSync(objects).find(
        (name) => /^[0-9a-f]{2}$/.test(name) && readdirSync(join(objects, name)).length > 0,
      )!;
      folderInstead(join(objects, fan, readdirSync(join(objects, fan))[0]!));
    },
  ],
  [
    'the dataset ref is garbage',
    (root) => {
      writeFileSync(datasetRefFile(root, 'events'), 'garbage\n');
    },
  ],
  [
    'the dataset ref names a missing commit',
    (root) => {
      writeFileSync(datasetRefFile(root, 'events'), `${'1'.repeat(40)}\n`);
    },
  ],
  [
    'the latest snapshot commit object is damaged',
    (root) => {
      const commit = readFileSync(datasetRefFile(root, 'events'), 'utf8').trim();
      const object = join(root, '.git/objects', commit.slice(0, 2), commit.slice(2));
      rmSync(object, { force: true });
      writeFileSync(object, 'damaged');
    },
  ],
  [
    '.git/HEAD is a folder',
    (root) => {
      folderInstead(join(root, '.git/HEAD'));
    },
  ],
  [
    '.git/info/exclude is a folder and .sluice is gone',
    (root) => {
      rmSync(join(root, '.sluice'), { recursive: true });
      folderInstead(join(root, '.git/info/exclude'));
    },
  ],
];

const COMMANDS: readonly (readonly string[])[] = [
  ['status'],
  ['diff', 'events'],
  ['diff', 'model'],
  ['log', 'events'],
  ['snapshot'],
  ['restore', 'events', 'latest', '--force'],
  ['run'],
  ['validate'],
  ['fsck'],
  ['gc', '--min-age', '0'],
  ['envs'],
  ['history', 'staging'],
  ['remote', 'list'],
  ['remote', 'add', 'mirror', '/srv/mirror'],
  ['remote', 'add', 'mirror', '/srv/mirror', '--local'],
];

type Disk = 'normal' | 'read-only' | 'full';
const READ_ONLY = 'a read-only file system';
const FULL = 'a full disk, with a dataset file changed';

/** A change a snapshot must store (and a scan must hash). */
function modifyDataset(root: string): void {
  writeFileSync(join(root, 'data/events/a.csv'), 'a3, which needs a new blob\n');
}

/** Makes the tmpfs under `root` read-only, or fills it up (dd stops at ENOSPC). */
function breakDisk(root: string, disk: Disk): void {
  const mount = join(root, '..');
  if (disk === 'read-only') assert.equal(spawnSync('mount', ['-o', 'remount,ro', mount]).status, 0);
  if (disk === 'full') spawnSync('dd', ['if=/dev/zero', `of=${join(mount, 'filler')}`, 'bs=64k']);
}

/** Copies `source` to a fresh folder, or onto a tmpfs (made read-only or filled up by `breakDisk`). */
function copyOf(source: string, disk: Disk): { root: string; finish: () => void } {
  if (disk === 'normal') {
    const root = mkdtempSync(join(tmpdir(), 'sluice-robust-trial-'));
    cpSync(source, root, { recursive: true });
    return {
      root,
      finish: () => {
        removeTree(root);
      },
    };
  }
  const mount = mkdtempSync(join(tmpdir(), 'sluice-robust-ro-'));
  assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mount]).status, 0);
  const root = join(mount, 'ws');
  cpSync(source, root, { recursive: true });
  return {
    root,
    finish: () => {
      spawnSync('umount', [mount]);
      rmSync(mount, { recursive: true, force: true });
    },
  };
}

/** The failure contract for one run; returns what is wrong with it, or undefined. */
function isOneObject(stdout: string): boolean {
  try {
    const parsed = JSON.parse(stdout) as unknown;
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
  } catch {
    return false;
  }
}

function contractBreach(
  command: string,
  status: number | null,
  stdout: string,
  stderr: string,
  json: boolean,
): string | undefined {
  if (status === 0) return undefined;
  // A stage that failed, or damage fsck found, is a result (on stdout), not an error.
  if (status === 1 && stderr === '' && (command === 'run' || command === 'fsck'))
    return json && !isOneObject(stdout)
      ? `stdout is not one JSON object: ${stdout.slice(0, 200)}`
      : undefined;
  if (status !== 1 && status !== 2) return `exit code ${String(status)}`;
  const lines = stderr.trimEnd().split('\n');
  // `run` streams each stage's output (`STAGE │ …`) on stderr before any error.
  const progress = command === 'run' ? lines.slice(0, -1).filter((l) => / │ /.test(l)).length : 0;
  if (lines.length - progress !== 1) return `${lines.length} stderr lines`;
  const line = lines[lines.length - 1]!;
  if (!line.startsWith('sluice: ')) return 'stderr does not start with "sluice: "';
  if (/internal error/i.test(line)) return 'an internal error';
  if (/^\s+at /m.test(stderr)) return 'a stack trace';
  // Names a path, a quoted name, a dataset, a stage or an environment.
  if (!/[/'"`]|\b(events|model|main|count|staging)\b/.test(line)) return 'names nothing';
  if (/\(E[A-Z]+\)\.?$/.test(line)) return 'ends with an errno, nothing to do';
  // Node's own wording ("EISDIR: illegal operation on a directory, read") names no next step.
  if (/\bE[A-Z]{2,}: [a-z]/.test(line)) return "Node's raw error message";
  if (json) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(stdout);
    } catch {
      return `stdout is not one JSON object: ${stdout.slice(0, 200)}`;
    }
    const code = (parsed as { error?: { code?: unknown } }).error?.code;
    if (typeof code !== 'string' || code === '') return 'no error.code in the JSON';
  }
  return undefined;
}

describe('every failure is one line naming what went wrong', () => {
  test(`${ALL ? 'every' : TRIALS} random faults × commands (seed ${SEED})`, () => {
    const random = seededRandom(SEED);
    const source = template();
    const breaches: string[] = [];
    const diskFaults: Fault[] = canMount
      ? [
          [READ_ONLY, () => undefined],
          [FULL, modifyDataset],
        ]
      : [];
    const trials = ALL
      ? [...FAULTS, ...diskFaults].flatMap((fault, f) =>
          COMMANDS.map((command, c) => ({ fault, command, json: (f + c) % 2 === 0 })),
        )
      : Array.from({ length: TRIALS }, () => {
          const onDisk = diskFaults.length > 0 && random() < 0.15;
          const fault = onDisk
            ? diskFaults[Math.floor(random() * diskFaults.length)]!
            : FAULTS[Math.floor(random() * FAULTS.length)]!;
          const command = COMMANDS[Math.floor(random() * COMMANDS.length)]!;
          return { fault, command, json: random() < 0.5 };
        });
    for (const [
      trial,
      {
        fault: [fault, apply],
        command,
        json,
      },
    ] of trials.entries()) {
      const disk: Disk = fault === READ_ONLY ? 'read-only' : fault === FULL ? 'full' : 'normal';
      const { root, finish } = copyOf(source, disk);
      try {
        apply(root);
        breakDisk(root, disk);
        const args = json ? [...command, '--json'] : [...command];
        const result = sluice(args, root);
        const breach = contractBreach(command[0]!, result.status, result.stdout, result.stderr, json);
        if (breach !== undefined) {
          if (ALL)
            console.log(`BREACH ${fault}; sluice ${args.join(' ')}: ${breach}: ${result.stderr.trim()}`);
          breaches.push(
            `trial ${trial} (seed ${SEED}): ${fault}; sluice ${args.join(' ')}: ${breach}\n    exit ${String(result.status)}; stderr: ${result.stderr.trim().slice(0, 400)}`,
          );
        }
      } finally {
        finish();
      }
    }
    assert.deepEqual(breaches, [], breaches.join('\n'));
  });
});
