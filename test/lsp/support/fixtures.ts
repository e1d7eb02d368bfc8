// The manifest and files the LSP tests share.

/** A valid manifest using most of the schema; with FILES on disk it has no diagnostics at all. */
export const BASE = `version: 1
name: churn-model

datasets:
  events:
    path: data/raw/events
    description: Raw click events

params: params.yaml

pipelines:
  train:
    description: Prepare features and train the model
    stages:
      prepare:
        run: node src/prepare.js
        datasets: [events]
        deps: [src/prepare.js]
        outs: [data/prepared]
      train:
        run: node src/train.js
        needs: [prepare]
        deps: [src/train.js, data/prepared]
        params: [train.epochs]
        outs: [models/model.json]
        metrics: [metrics.json]
    checks:
      - name: enough rows
        run: node checks/rows.js data/prepared
      - name: accuracy floor
        metric: metrics.json#accuracy
        min: 0.8

environments:
  staging:
    from: workspace
    pipeline: train
  production:
    from: staging
    gates:
      - checks
      - metric: metrics.json#accuracy
        no_regression: 0.01
    deploy:
      path: deploy/production
      run: node scripts/reload.js
    health:
      run: node scripts/health.js
      rollback_on_failure: true
`;

export const FILES: Readonly<Record<string, string>> = {
  'src/prepare.js': '',
  'src/train.js': '',
  'params.yaml': 'train:\n  epochs: 3\n',
  'data/raw/events/part-0.csv': 'id\n1\n',
  'metrics.json': '{"accuracy": 0.9}\n',
};
