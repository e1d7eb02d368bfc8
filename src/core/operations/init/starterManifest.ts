// The manifest `sluice init` writes into an existing project: valid as it
// stands in an empty folder (no dep points at a missing file), with comments
// that show where each concept goes, so a user edits it rather than starting
// from the schema.
export const STARTER_MANIFEST = `# Sluice manifest: the datasets, pipelines, checks and environments of this
# workspace. \`sluice validate\` checks it; paths are relative to this folder.
version: 1
name: my-project

# Versioned data: a file or folder inside the workspace. Snapshots record its content.
datasets:
  raw:
    path: data/raw
    description: Input data, as it arrives

# Parameters stages read by dotted key, for example \`train.epochs\`:
# params: params.yaml

pipelines:
  main:
    description: Turn the raw data into something useful
    stages:
      # A stage is a command with its inputs and outputs. It reruns only when
      # its command, deps, datasets or params change, or an output is missing.
      prepare:
        run: mkdir -p data/prepared && cp -R data/raw/. data/prepared/
        datasets: [raw]
        outs: [data/prepared]
        # deps: [src/prepare.py]     # code and files the stage reads
        # params: [prepare.sample]   # keys of the params file
        # needs: [other-stage]       # stages that must run first
        # metrics: [metrics.json]    # JSON or YAML files of metrics
    # Checks gate the results: a command that must exit 0, or a metric threshold.
    checks:
      - name: prepared data exists
        run: test -d data/prepared
      # - name: accuracy floor
      #   metric: metrics.json#accuracy
      #   min: 0.8

# Environments hold releases. One is fed from \`workspace\` (your committed code
# and the latest snapshots); others are fed from an upstream environment,
# behind gates.
environments:
  staging:
    from: workspace
  # production:
  #   from: staging
  #   gates: [checks]
  #   deploy:
  #     path: deploy/production
`;
