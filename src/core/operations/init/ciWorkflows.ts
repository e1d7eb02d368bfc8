// The CI workflows `sluice init --ci github|gitlab` writes: on a fresh runner,
// install Sluice, pull, validate, run, stage, push (on the default branch
// only) and post `sluice report`. Every shell step is a plain command line
// (no CI expression inside it), so the same steps run on any machine: the
// tests run them in a fresh clone. Credentials come from the CI's secrets as
// environment variables, never from the manifest.
import type { WorkspaceFile } from './workspaceFile';

export const CI_PROVIDERS = ['github', 'gitlab'] as const;
export type CiProvider = (typeof CI_PROVIDERS)[number];

/** Where each provider reads its workflow, relative to the repository's root. */
export const CI_FILES: Readonly<Record<CiProvider, string>> = {
  github: '.github/workflows/sluice.yml',
  gitlab: '.gitlab-ci.yml',
};

export function isCiProvider(name: string): name is CiProvider {
  return (CI_PROVIDERS as readonly string[]).includes(name);
}

export interface CiOptions {
  /** The Sluice version the workflow installs by default. */
  readonly version: string;
  /** The workspace's folder relative to the repository's root, `/`-separated; '' when it is the root. */
  readonly workspace: string;
}

/** The workflow file of `provider`, at its path relative to the repository's root. */
export function ciWorkflowFile(provider: CiProvider, options: CiOptions): WorkspaceFile {
  const content = provider === 'github' ? githubWorkflow(options) : gitlabPipeline(options);
  return { path: CI_FILES[provider], content };
}

/** A YAML scalar in double quotes (JSON's escapes are YAML's). */
function quoted(text: string): string {
  return JSON.stringify(text);
}

/** What a user sets up once, in the workflow's header; `variable` is what the CI calls a setting. */
function setupNotes(variable: string): string {
  return `# Set up once:
# - A default remote for the data and the run cache, shared in sluice.yaml:
#   \`sluice remote add NAME URL --default\` (a folder, ssh://host/path or
#   s3://bucket/prefix), then commit sluice.yaml.
# - Its credentials as CI secrets, never in sluice.yaml:
#   s3://   AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the AWS credential
#           chain; a role from OIDC works as well);
#   ssh://  SLUICE_SSH_KEY (a private key) and SLUICE_SSH_KNOWN_HOSTS (the
#           server's lines of \`ssh-keyscan HOST\`: host keys are checked,
#           never ignored).
# - The ${variable} SLUICE (required): the command line that runs
#   Sluice on the runner (for example a path to a build of it).`;
}

function githubWorkflow({ version, workspace }: CiOptions): string {
  const defaults =
    workspace === '' ? '' : `    defaults:\n      run:\n        working-directory: ${quoted(workspace)}\n`;
  return `# Sluice: CI of data, written by \`sluice init --ci github\` (Sluice ${version}).
#
# On every push and pull request, on a fresh runner: install Sluice, pull the
# data and the run cache from the default remote, validate the manifest, run
# the stale stages (what ran before anywhere is restored from the run cache),
# stage a release, push it on the default branch, and post \`sluice report\`
# as the job's summary.
#
${setupNotes('repository variable')}
name: Sluice

on:
  push:
  pull_request:
  workflow_dispatch:

permissions:
  contents: write # sluice push moves refs/sluice/* on origin

concurrency:
  # One job per branch at a time: two pushes of the same environment would refuse each other.
  group: sluice-\${{ github.ref }}
  cancel-in-progress: false

jobs:
  sluice:
    runs-on: ubuntu-latest
${defaults}    env:
      # The command that runs Sluice ${version}: set the repository variable SLUICE (no default:
      # a package name guessed here could be someone else's on the registry).
      SLUICE: \${{ vars.SLUICE }}
      AWS_ACCESS_KEY_ID: \${{ secrets.AWS_ACCESS_KEY_ID }}
      AWS_SECRET_ACCESS_KEY: \${{ secrets.AWS_SECRET_ACCESS_KEY }}
      SLUICE_SSH_KEY: \${{ secrets.SLUICE_SSH_KEY }}
      SLUICE_SSH_KNOWN_HOSTS: \${{ secrets.SLUICE_SSH_KNOWN_HOSTS }}
    steps:
      - name: Check out with full history
        uses: actions/checkout@v4
        with:
          fetch-depth: 0

      - name: Set up Node 20
        uses: actions/setup-node@v4
        with:
          node-version: 20

      - name: Install Sluice
        # A \`sluice\` on the PATH that runs $SLUICE.
        run: |
          test -n "$SLUICE" || { echo '::error::Set the repository variable SLUICE to the command that runs Sluice (for example node tools/sluice/dist/cli.js).'; exit 1; }
          mkdir -p "$RUNNER_TEMP/sluice-bin"
          printf '#!/bin/sh\\nexec %s "$@"\\n' "$SLUICE" > "$RUNNER_TEMP/sluice-bin/sluice"
          chmod +x "$RUNNER_TEMP/sluice-bin/sluice"
          echo "$RUNNER_TEMP/sluice-bin" >> "$GITHUB_PATH"

      - name: Sluice version
        run: sluice --version

      - name: SSH credentials
        # Sluice's ssh reads this config (SLUICE_SSH_CONFIG): the key and the known hosts from the secrets.
        if: env.SLUICE_SSH_KEY != ''
        run: |
          mkdir -p "$RUNNER_TEMP/sluice-ssh"
          chmod 700 "$RUNNER_TEMP/sluice-ssh"
          printf '%s\\n' "$SLUICE_SSH_KEY" > "$RUNNER_TEMP/sluice-ssh/key"
          chmod 600 "$RUNNER_TEMP/sluice-ssh/key"
          printf '%s\\n' "$SLUICE_SSH_KNOWN_HOSTS" > "$RUNNER_TEMP/sluice-ssh/known_hosts"
          printf 'IdentityFile %s\\nIdentitiesOnly yes\\nUserKnownHostsFile %s\\n' "$RUNNER_TEMP/sluice-ssh/key" "$RUNNER_TEMP/sluice-ssh/known_hosts" > "$RUNNER_TEMP/sluice-ssh/config"
          echo "SLUICE_SSH_CONFIG=$RUNNER_TEMP/sluice-ssh/config" >> "$GITHUB_ENV"

      - name: Pull the data and the run cache
        run: sluice pull

      - name: Validate the manifest
        run: sluice validate

      - name: Run the stale stages and the checks
        run: sluice run

      - name: Stage a release
        run: sluice stage

      - name: Push the records and the data
        if: github.ref == format('refs/heads/{0}', github.event.repository.default_branch)
        run: sluice push

      - name: Report
        if: \${{ !cancelled() }}
        run: sluice report >> "$GITHUB_STEP_SUMMARY"
`;
}

/**
 * One item of a GitLab script list: plain when YAML reads it as the same text,
 * else single-quoted (`: ` would make it a mapping, ` #` a comment).
 */
function scriptItem(command: string): string {
  const plain = !/: | #|^[-?:,[\]{}#&*!|>'"%@`]/.test(command) && !/[\s:]$/.test(command);
  return `    - ${plain ? command : `'${command.replace(/'/g, "''")}'`}`;
}

function gitlabPipeline({ version, workspace }: CiOptions): string {
  const tmp = '${TMPDIR:-/tmp}';
  const ssh = `${tmp}/sluice-ssh`;
  const enter = workspace === '' ? [] : [`cd ${quoted(workspace)}`];
  const report = workspace === '' ? 'sluice-report.md' : `${workspace}/sluice-report.md`;
  const items = (lines: readonly string[]) =>
    lines.map((line) => (line.startsWith('#') ? `    ${line}` : scriptItem(line))).join('\n');
  return `# Sluice: CI of data, written by \`sluice init --ci gitlab\` (Sluice ${version}).
#
# On merge requests and on the default branch, on a fresh runner: install
# Sluice, pull the data and the run cache from the default remote, validate
# the manifest, run the stale stages (what ran before anywhere is restored
# from the run cache), stage a release, push it on the default branch, and
# keep \`sluice report\` as an artifact (and a merge request note, given
# SLUICE_NOTE_TOKEN).
#
${setupNotes('CI/CD variable')}
# - On the default branch, sluice push needs to push to this repository:
#   SLUICE_PUSH_TOKEN, a project access token with write_repository.
# - For the merge request note: SLUICE_NOTE_TOKEN, a token with api scope.
sluice:
  image: node:20
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
  variables:
    GIT_DEPTH: "0" # full history
    # The command that runs Sluice ${version}: set the CI/CD variable SLUICE (no default: a
    # package name guessed here could be someone else's on the registry).
    SLUICE: ""
  before_script:
${items([
  '# A `sluice` on the PATH that runs $SLUICE.',
  'test -n "$SLUICE" || { echo "Set the CI/CD variable SLUICE to the command that runs Sluice (for example node tools/sluice/dist/cli.js)."; exit 1; }',
  `mkdir -p "${tmp}/sluice-bin"`,
  `printf '#!/bin/sh\\nexec %s "$@"\\n' "$SLUICE" > "${tmp}/sluice-bin/sluice"`,
  `chmod +x "${tmp}/sluice-bin/sluice"`,
  `export PATH="${tmp}/sluice-bin:$PATH"`,
  'sluice --version',
  "# SSH remotes: the key and the known hosts from the CI/CD variables, in the config Sluice's ssh reads.",
  `if [ -n "$SLUICE_SSH_KEY" ]; then mkdir -p "${ssh}" && chmod 700 "${ssh}"; fi`,
  `if [ -n "$SLUICE_SSH_KEY" ]; then printf '%s\\n' "$SLUICE_SSH_KEY" > "${ssh}/key" && chmod 600 "${ssh}/key"; fi`,
  `if [ -n "$SLUICE_SSH_KEY" ]; then printf '%s\\n' "$SLUICE_SSH_KNOWN_HOSTS" > "${ssh}/known_hosts"; fi`,
  `if [ -n "$SLUICE_SSH_KEY" ]; then printf 'IdentityFile %s\\nIdentitiesOnly yes\\nUserKnownHostsFile %s\\n' "${ssh}/key" "${ssh}/known_hosts" > "${ssh}/config" && export SLUICE_SSH_CONFIG="${ssh}/config"; fi`,
  "# The job's token can fetch but not push: sluice push uses SLUICE_PUSH_TOKEN's.",
  'if [ -n "$SLUICE_PUSH_TOKEN" ]; then git remote set-url --push origin "https://oauth2:$SLUICE_PUSH_TOKEN@$CI_SERVER_HOST/$CI_PROJECT_PATH.git"; fi',
  ...enter,
])}
  script:
${items([
  'sluice pull',
  'sluice validate',
  'sluice run',
  'sluice stage',
  'if [ "$CI_COMMIT_BRANCH" = "$CI_DEFAULT_BRANCH" ]; then sluice push; fi',
])}
  after_script:
${items([
  '# A shell of its own: runs whatever happened to the script, so the report always comes.',
  `export PATH="${tmp}/sluice-bin:$PATH"`,
  ...enter,
  'sluice report --out sluice-report.md',
  'if [ -n "$SLUICE_NOTE_TOKEN" ] && [ -n "$CI_MERGE_REQUEST_IID" ]; then curl --fail --silent --show-error --request POST --header "PRIVATE-TOKEN: $SLUICE_NOTE_TOKEN" --data-urlencode "body@sluice-report.md" "$CI_API_V4_URL/projects/$CI_PROJECT_ID/merge_requests/$CI_MERGE_REQUEST_IID/notes" > /dev/null; fi',
])}
  artifacts:
    when: always
    expose_as: Sluice report
    paths:
      - ${quoted(report)}
`;
}
