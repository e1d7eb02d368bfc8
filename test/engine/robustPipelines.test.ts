// Keeps trying issue 12's class with generated inputs: whatever edits are made
// to a pipeline between runs, `sluice run` and `sluice status` agree with the
// disk and with each other. A seeded random pipeline (Node-script stages
// writing files and folders, deps on earlier stages' outputs, params), then a
// random sequence of manifest edits; after each, `run --json`, `status
// --json` and a second `run --json`, with these promises:
//  - a stage that succeeded is up to date in status, and the second run skips it;
//  - a stage declaring an output nothing writes fails every time and is never up to date;
//  - what depends on a failure does not run and is not up to date;
//  - nothing is moved to .sluice/trash unless the test edited an output by hand.
// SLUICE_ROBUST_TRIALS sets the number of seeds (default 3, under a minute);
// SLUICE_ROBUST_SEED replays one.
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { seededRandom } from '../../src/core/seededRandom';
import { clearVariablesRefusedBySimpleGit, git, removeTree, sluice } from '../support/workspace';

clearVariablesRefusedBySimpleGit();

const TRIALS = Number(process.env['SLUICE_ROBUST_TRIALS'] ?? 3);
const STEPS = 4;

/** `node tools/w.js SALT dep:PATH… out:FORM:BASE…`: each output's content is a digest of the salt, params and deps. */
const WRITER = `
const fs = require('node:fs');
const path = require('node:path');
const [salt, ...args] = process.argv.slice(2);
const read = (p) => fs.statSync(p).isDirectory()
  ? fs.readdirSync(p).sort().map((n) => n + '=' + read(path.join(p, n))).join(',')
  : fs.readFileSync(p, 'utf8');
const input = args.filter((a) => a.startsWith('dep:')).map((a) => read(a.slice(4))).join(';');
const digest = require('node:crypto').createHash('sha256')
  .update(salt + '|' + (process.env.SLUICE_PARAMS || '') + '|' + input).digest('hex').slice(0, 12);
const put = (p, text) => { fs.mkdirSync(path.dirname(p), { recursive: true }); fs.writeFileSync(p, text); };
for (const a of args.filter((a) => a.startsWith('out:'))) {
  const [, form, base] = a.split(':');
  if (form === 'file') put(base + '.txt', digest);
  if (form === 'dir') { put(base + '/data.txt', 'd' + digest); put(base + '/deep/more.txt', 'm' + digest); }
  if (form === 'sub') put(base + '/deep/more.txt', 'm' + digest);
}
`;

/** An output: `o/ID.txt` (file), the folder `o/ID`, or its sub-folder `o/ID/deep` (sub). */
interface Out {
  id: number;
  form: 'file' | 'dir' | 'sub';
}
interface Stage {
  name: string;
  salt: number;
  outs: Out[];
  /** Output ids of earlier stages this one reads. */
  deps: number[];
  /** Its own key in params.yaml, when it reads one. */
  param: string | undefined;
  /** An output nothing writes. */
  phantom: number | undefined;
}
interface Model {
  stages: Stage[];
  params: Record<string, number>;
  next: number;
}

const outPath = (out: Out): string =>
  out.form === 'file' ? `o/${out.id}.txt` : out.form === 'dir' ? `o/${out.id}` : `o/${out.id}/deep`;

function ownerOf(model: Model, id: number): Out | undefined {
  for (const stage of model.stages) for (const out of stage.outs) if (out.id === id) return out;
  return undefined;
}

function manifest(model: Model): string {
  const lines = ['version: 1', 'params: params.yaml', 'pipelines:', '  p:', '    stages:'];
  for (const stage of model.stages) {
    const deps = stage.deps.map((id) => outPath(ownerOf(model, id)!));
    const args = [
      String(stage.salt),
      ...deps.map((dep) => `dep:${dep}`),
      ...stage.outs.map((out) => `out:${out.form}:o/${out.id}`),
    ];
    const outs = [
      ...stage.outs.map(outPath),
      ...(stage.phantom === undefined ? [] : [`o/${stage.phantom}.txt`]),
    ];
    lines.push(
      `      ${stage.name}:`,
      `        run: node tools/w.js ${args.join(' ')}`,
      `        outs: [${outs.join(', ')}]`,
    );
    if (deps.length > 0) lines.push(`        deps: [${deps.join(', ')}]`);
    if (stage.param !== undefined) lines.push(`        params: [${stage.param}.v]`);
  }
  return lines.join('\n') + '\n';
}

function paramsFile(model: Model): string {
  return Object.entries(model.params)
    .map(([key, value]) => `${key}:\n  v: ${value}\n`)
    .join('');
}

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

function initialModel(random: Random): Model {
  const model: Model = { stages: [], params: {}, next: 1 };
  const count = 3 + Math.floor(random() * 2);
  for (let i = 0; i < count; i++) {
    const earlier = model.stages.flatMap((stage) => stage.outs.map((out) => out.id));
    const stage: Stage = {
      name: `s${model.next++}`,
      salt: 1,
      outs: [{ id: model.next++, form: pick(random, ['file', 'dir', 'sub'] as const) }],
      deps: earlier.length > 0 && random() < 0.7 ? [pick(random, earlier)] : [],
      param: random() < 0.5 ? `k${model.next++}` : undefined,
      phantom: undefined,
    };
    if (stage.param !== undefined) model.params[stage.param] = 1;
    model.stages.push(stage);
  }
  return model;
}

/** Applies one random edit; returns its description, and whether it edited an output by hand. */
function edit(model: Model, random: Random, root: string): { what: string; byHand: boolean } {
  const index = Math.floor(random() * model.stages.length);
  const stage = model.stages[index]!;
  const earlierOuts = model.stages.slice(0, index).flatMap((s) => s.outs.map((out) => out.id));
  const dropDeps = (id: number): void => {
    for (const s of model.stages) s.deps = s.deps.filter((dep) => dep !== id);
  };
  const kind = pick(random, [
    'command',
    'add-output',
    'remove-output',
    'rename-output',
    'phantom',
    'sub-folder',
    'parent',
    'add-dep',
    'remove-dep',
    'rename-stage',
    'params',
    'by-hand',
  ] as const);
  const out = pick(random, stage.outs);
  switch (kind) {
    case 'command':
      stage.salt++;
      break;
    case 'add-output':
      stage.outs.push({ id: model.next++, form: pick(random, ['file', 'dir'] as const) });
      break;
    case 'remove-output':
      if (stage.outs.length < 2) return { what: 'nothing (one output left)', byHand: false };
      stage.outs = stage.outs.filter((o) => o !== out);
      dropDeps(out.id);
      break;
    case 'rename-output': {
      const old = out.id;
      out.id = model.next++;
      for (const s of model.stages) s.deps = s.deps.map((dep) => (dep === old ? out.id : dep));
      break;
    }
    case 'phantom':
      stage.phantom = stage.phantom === undefined ? model.next++ : undefined;
      break;
    case 'sub-folder':
      if (out.form !== 'dir') return { what: 'nothing (not a folder)', byHand: false };
      out.form = 'sub';
      break;
    case 'parent':
      if (out.form !== 'sub') return { what: 'nothing (not a sub-folder)', byHand: false };
      out.form = 'dir';
      break;
    case 'add-dep': {
      const candidates = earlierOuts.filter((id) => !stage.deps.includes(id));
      if (candidates.length === 0) return { what: 'nothing (no earlier output)', byHand: false };
      stage.deps.push(pick(random, candidates));
      break;
    }
    case 'remove-dep':
      stage.deps = stage.deps.slice(1);
      break;
    case 'rename-stage':
      stage.name = `s${model.next++}`;
      break;
    case 'params':
      if (stage.param === undefined) {
        stage.param = `k${model.next++}`;
        model.params[stage.param] = 1;
      } else model.params[stage.param]! += 1;
      break;
    case 'by-hand': {
      const path = join(root, out.form === 'file' ? outPath(out) : `o/${out.id}/deep/more.txt`);
      if (!existsSync(path)) return { what: 'nothing (output not on disk)', byHand: false };
      writeFileSync(path, `by hand ${model.next++}`);
      return { what: `${kind} ${stage.name} ${outPath(out)}`, byHand: true };
    }
  }
  return { what: `${kind} ${stage.name} ${outPath(out)}`, byHand: false };
}

/** Which stages must fail (an output nothing writes) and which cannot run (something they read failed). */
function expectations(model: Model): Map<string, 'good' | 'failed' | 'not-run'> {
  const expected = new Map<string, 'good' | 'failed' | 'not-run'>();
  const producer = new Map<number, string>();
  for (const stage of model.stages) {
    for (const out of stage.outs) producer.set(out.id, stage.name);
    const blocked = stage.deps.some((id) => expected.get(producer.get(id)!) !== 'good');
    expected.set(stage.name, blocked ? 'not-run' : stage.phantom !== undefined ? 'failed' : 'good');
  }
  return expected;
}

interface RunJson {
  stages: { stage: string; result: string; reason: string | null }[];
}
interface StatusJson {
  stages: { stage: string; state: string; reasons: string[] }[];
}

function filesUnder(folder: string): string[] {
  if (!existsSync(folder)) return [];
  return readdirSync(folder, { recursive: true })
    .map((name) => join(folder, String(name)))
    .filter((path) => statSync(path).isFile());
}

function trial(seed: number): void {
  const random = seededRandom(seed);
  const root = mkdtempSync(join(tmpdir(), 'sluice-robust-'));
  try {
    const write = (path: string, content: string): void => {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), content);
    };
    git(root, 'init', '--quiet');
    write('tools/w.js', WRITER);
    const model = initialModel(random);
    const history: string[] = ['initial'];
    let handEdits = false;
    for (let step = 0; step <= STEPS; step++) {
      if (step > 0) {
        const change = edit(model, random, root);
        history.push(change.what);
        handEdits ||= change.byHand;
      }
      write('sluice.yaml', manifest(model));
      write('params.yaml', paramsFile(model));
      const where = `seed ${seed}, after ${history.join(' → ')}\n${manifest(model)}`;
      const run = (): RunJson => {
        const result = sluice(['run', '--json', '-j', '2'], root);
        const report = JSON.parse(result.stdout) as RunJson;
        const failed = report.stages.some((s) => s.result === 'failed');
        assert.equal(result.status, failed ? 1 : 0, `exit code; ${where}${result.stderr}`);
        return report;
      };
      const expected = expectations(model);
      const first = run();
      const status = JSON.parse(sluice(['status', '--json'], root).stdout) as StatusJson;
      const second = run();
      const state = new Map(status.stages.map((s) => [s.stage, s]));
      for (const [name, want] of expected) {
        const got = first.stages.find((s) => s.stage === name)!;
        const again = second.stages.find((s) => s.stage === name)!;
        const now = state.get(name)!;
        const about = `${name}: run ${got.result} (${got.reason}), status ${now.state} (${now.reasons.join('; ')}), again ${again.result}; ${where}`;
        if (want === 'good') {
          assert.match(got.result, /^(ran|restored|skipped)$/, about);
          assert.equal(now.state, 'up-to-date', about);
          assert.equal(again.result, 'skipped', about);
        } else {
          assert.equal(got.result, want, about);
          assert.equal(again.result, want, about);
          assert.notEqual(now.state, 'up-to-date', about);
          if (want === 'failed') assert.equal(now.state, 'failed', about);
        }
      }
      // Every output moved to the trash holds a hand edit.
      const trash = join(root, '.sluice', 'trash');
      const moved = existsSync(trash) ? readdirSync(trash) : [];
      if (!handEdits) assert.deepEqual(moved, [], `nothing trashed; ${where}`);
      for (const run of moved) {
        const texts = filesUnder(join(trash, run)).map((file) => readFileSync(file, 'utf8'));
        assert.ok(
          texts.some((text) => text.startsWith('by hand')),
          `${run} holds a hand edit: ${texts.join(', ')}; ${where}`,
        );
      }
    }
  } finally {
    removeTree(root);
  }
}

void describe('run and status agree, whatever is edited between runs', () => {
  const only = process.env['SLUICE_ROBUST_SEED'];
  const seeds =
    only !== undefined ? [Number(only)] : Array.from({ length: TRIALS }, (_, i) => 1201 + i * 7919);
  for (const seed of seeds) {
    void test(`seed ${seed}`, () => {
      trial(seed);
    });
  }
});
