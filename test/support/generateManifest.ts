// Writes large, valid manifests for benchmarks and tests: `stages` stages in
// pipelines of up to 500, each reading a dataset and the previous stage's output.
export interface GeneratedManifest {
  readonly text: string;
  /** Every path a stage reads that must exist on disk. */
  readonly files: readonly string[];
}

export function generateManifest(stages: number): GeneratedManifest {
  const perPipeline = 500;
  const pipelines = Math.max(1, Math.ceil(stages / perPipeline));
  const lines: string[] = ['version: 1', `name: generated-${stages}`, 'params: params.yaml', '', 'datasets:'];
  const files = new Set<string>(['params.yaml']);
  for (let p = 0; p < pipelines; p++) {
    lines.push(`  raw${p}:`, `    path: data/raw${p}`, `    description: Raw input of pipeline p${p}`);
    files.add(`data/raw${p}/part-0.csv`);
  }
  lines.push('', 'pipelines:');
  let made = 0;
  for (let p = 0; p < pipelines; p++) {
    lines.push(`  p${p}:`, `    description: Generated pipeline ${p}`, '    stages:');
    const count = Math.min(perPipeline, stages - made);
    for (let s = 0; s < count; s++) {
      const name = `s${s}`;
      files.add(`src/p${p}/${name}.js`);
      const deps = [`src/p${p}/${name}.js`, ...(s > 0 ? [`out/p${p}/s${s - 1}.json`] : [])];
      lines.push(
        `      ${name}:`,
        `        run: node src/p${p}/${name}.js --epochs 3`,
        `        datasets: [raw${p}]`,
        `        deps: [${deps.join(', ')}]`,
        `        outs: [out/p${p}/${name}.json]`,
      );
      if (s % 10 === 0) lines.push('        params: [train.epochs]');
    }
    lines.push(`        metrics: [out/p${p}/metrics.json]`);
    lines.push(
      '    checks:',
      `      - name: rows of p${p}`,
      `        run: node checks/rows.js out/p${p}`,
      `      - name: accuracy of p${p}`,
      `        metric: out/p${p}/metrics.json#accuracy`,
      '        min: 0.8',
    );
    made += count;
  }
  lines.push(
    '',
    'environments:',
    '  staging:',
    '    from: workspace',
    '    pipeline: p0',
    '  production:',
    '    from: staging',
    '    gates:',
    '      - checks',
    '      - metric: out/p0/metrics.json#accuracy',
    '        no_regression: 0.01',
    '    deploy:',
    '      path: deploy/production',
    '',
  );
  files.add('checks/rows.js');
  return { text: lines.join('\n'), files: [...files] };
}
