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

/** A manifest of stage templates, and the same stages written out one by one. */
export interface GeneratedTemplates {
  /** `templates` stage templates, each generating `items` stages from `foreach`. */
  readonly text: string;
  /** The stages the templates generate, written out plainly under names the schema allows (`t3-s7`). */
  readonly expanded: string;
  /** Every path a stage reads that must exist on disk, with its content (the params file holds values). */
  readonly files: Readonly<Record<string, string>>;
}

/**
 * Writes `templates` `foreach` templates of `items` stages each, in pipelines
 * of up to 20 templates. Even templates iterate over a list of the params
 * file (`${shards}`) and name a params value (`${train.lr}`), odd ones over
 * the same list written inline; every body names `${item}`. Each generated stage reads the output of the same item of
 * the template before it, as `generateManifest`'s stages do.
 */
export function generateTemplatedManifest(templates: number, items: number): GeneratedTemplates {
  const perPipeline = 20;
  const pipelines = Math.max(1, Math.ceil(templates / perPipeline));
  const shards = Array.from({ length: items }, (_, i) => `s${i}`);
  const head = (kind: string): string[] => [
    'version: 1',
    `name: generated-${kind}-${templates}x${items}`,
    'params: params.yaml',
    '',
    'datasets:',
  ];
  const text = head('templates');
  const expanded = head('expanded');
  const files: Record<string, string> = {
    'params.yaml': `train:\n  epochs: 3\n  lr: 0.1\nshards: [${shards.join(', ')}]\n`,
    'checks/rows.js': '',
  };
  for (let p = 0; p < pipelines; p++) {
    const dataset = [`  raw${p}:`, `    path: data/raw${p}`, `    description: Raw input of pipeline p${p}`];
    text.push(...dataset);
    expanded.push(...dataset);
    files[`data/raw${p}/part-0.csv`] = '';
  }
  text.push('', 'pipelines:');
  expanded.push('', 'pipelines:');
  let made = 0;
  for (let p = 0; p < pipelines; p++) {
    const pipeline = [`  p${p}:`, `    description: Generated pipeline ${p}`, '    stages:'];
    text.push(...pipeline);
    expanded.push(...pipeline);
    const count = Math.min(perPipeline, templates - made);
    for (let t = 0; t < count; t++) {
      const name = `t${t}`;
      const script = `src/p${p}/${name}.js`;
      files[script] = '';
      // The body as written in the template, with `${item}` where a generated stage has its key.
      // In a flow list `{` opens a mapping: a path holding `${item}` is quoted there.
      const path = (value: string): string => (value.includes('${') ? `'${value}'` : value);
      const body = (item: string, before: string | undefined): string[] => [
        `run: node ${script} --shard ${item} --lr ${t % 2 === 0 ? '${train.lr}' : '0.1'} --epochs 3`,
        `datasets: [raw${p}]`,
        `deps: [${[script, ...(before === undefined ? [] : [`out/p${p}/t${t - 1}/${before}.json`])].map(path).join(', ')}]`,
        `outs: [${path(`out/p${p}/${name}/${item}.json`)}]`,
        ...(t % 10 === 0 ? ['params: [train.epochs]'] : []),
      ];
      text.push(
        `      ${name}:`,
        // The same keys either way, so each stage reads the output of the same key before it.
        `        foreach: ${t % 2 === 0 ? '${shards}' : `[${shards.join(', ')}]`}`,
        '        do:',
        ...body('${item}', t === 0 ? undefined : '${item}').map((line) => `          ${line}`),
      );
      for (const key of shards) {
        // `${train.lr}` resolved, as sluice sees the stage.
        const lines = body(key, t === 0 ? undefined : key).map((line) => line.replace('${train.lr}', '0.1'));
        expanded.push(`      ${name}-${key}:`, ...lines.map((line) => `        ${line}`));
      }
    }
    const checks = [
      '    checks:',
      `      - name: rows of p${p}`,
      `        run: node checks/rows.js out/p${p}`,
    ];
    text.push(...checks);
    expanded.push(...checks);
    made += count;
  }
  const environments = ['', 'environments:', '  staging:', '    from: workspace', '    pipeline: p0', ''];
  text.push(...environments);
  expanded.push(...environments);
  return { text: text.join('\n'), expanded: expanded.join('\n'), files };
}
