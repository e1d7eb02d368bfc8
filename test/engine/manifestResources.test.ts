// `executor` and `resources` in the manifest: Slurm's own spellings are
// accepted, the ones Slurm would read otherwise are errors with the right
// spelling as a quick fix, and the plan merges a pipeline's defaults with a
// stage's own.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { analyzeManifest } from '../../src/core/manifest';
import { planWorkspace } from '../../src/core/pipelines/plan';

function manifest(pipelineResources: string, stageResources: string, executor = ''): string {
  return `version: 1\npipelines:\n  p:\n${executor}${pipelineResources}    stages:\n      s:\n        run: echo > o\n        outs: [o]\n${stageResources}`;
}

void describe('resources in Slurm spellings', () => {
  for (const [field, value, fix] of [
    ['memory', '16gb', '16G'],
    ['memory', '16 GB', '16G'],
    ['time', '2 hours', '2:00:00'],
  ] as const) {
    void test(`${field}: ${value} is an error proposing ${fix}`, () => {
      const text = manifest('', `        resources:\n          ${field}: ${value}\n`);
      const found = analyzeManifest(text).diagnostics.filter((d) => d.severity === 'error');
      assert.equal(found.length, 1, JSON.stringify(found));
      assert.equal(text.slice(found[0]!.start, found[0]!.end), value);
      assert.equal(found[0]!.fixes?.[0]?.edits[0]?.newText, fix);
    });
  }
  for (const [field, value] of [
    ['memory', '16G'],
    ['memory', '500M'],
    ['memory', '16000'],
    ['time', '90'],
    ['time', '1:30:00'],
    ['time', '2-00:00:00'],
    ['time', '30:00'],
  ] as const) {
    void test(`${field}: ${value} is fine`, () => {
      const text = manifest('', `        resources:\n          ${field}: ${value}\n`);
      assert.deepEqual(
        analyzeManifest(text).diagnostics.filter((d) => d.severity === 'error'),
        [],
      );
    });
  }

  void test('an sbatch option Sluice sets itself is refused', () => {
    const text = manifest('', '        resources:\n          sbatch: [--account=lab, --output=x.log]\n');
    const found = analyzeManifest(text).diagnostics.filter((d) => d.severity === 'error');
    assert.equal(found.length, 1);
    assert.equal(text.slice(found[0]!.start, found[0]!.end), '--output=x.log');
  });

  void test('a stage takes its pipeline executor and resources, its own over them', () => {
    const text = manifest(
      '    resources:\n      cpus: 4\n      memory: 8G\n      sbatch: [--account=lab]\n',
      '        resources:\n          memory: 16G\n          partition: gpu\n          sbatch: [--qos=high]\n',
      '    executor: slurm\n',
    );
    const analysis = analyzeManifest(text);
    assert.deepEqual(
      analysis.diagnostics.filter((d) => d.severity === 'error'),
      [],
    );
    const stage = planWorkspace(analysis.manifest).pipelines.get('p')!.stages[0]!;
    assert.equal(stage.executor, 'slurm');
    assert.deepEqual(stage.resources, {
      cpus: 4,
      memory: '16G',
      partition: 'gpu',
      extra: ['--account=lab', '--qos=high'],
    });
  });

  void test('an unknown executor is an error', () => {
    const text = manifest('', '        executor: kubernetes\n');
    const found = analyzeManifest(text).diagnostics.filter((d) => d.severity === 'error');
    assert.equal(found.length, 1);
    assert.match(found[0]!.message, /`local` or `slurm`/);
  });
});
