// The `churn` example: a small, runnable workspace that predicts which users
// will cancel from their click events. Every script is plain Node.js with no
// npm packages, so it runs wherever Sluice runs. The scripts below are file
// contents, not code of Sluice; they avoid template literals so they can live
// inside this file's template strings unescaped.
import { MANIFEST_FILE } from '../../manifest';
import { churnDataFiles } from './churnData';
import type { WorkspaceFile } from './workspaceFile';

const MANIFEST = `# Sluice manifest of the churn example. Check it with \`sluice validate\`.
version: 1
name: churn-model
description: Predict which users will cancel, from their click events

# Versioned data: files or folders inside this workspace, recorded by snapshots.
datasets:
  events:
    path: data/raw/events
    description: Raw click events, one CSV file per month
  users:
    path: data/raw/users.csv
    description: Users with their plan and whether they churned

# Stages read parameters from here by dotted key; a changed value makes them stale.
params: params.yaml

pipelines:
  train:
    description: Prepare features and train the churn model
    stages:
      prepare:
        description: One row of features per user, split into train and test sets
        run: node src/prepare.js
        datasets: [events, users]
        deps: [src/prepare.js, src/csv.js, src/params.js]
        params: [prepare.test_fraction]
        outs: [data/prepared]
      train:
        description: Logistic regression on the prepared features
        run: node src/train.js
        # \`needs: [prepare]\` is inferred: data/prepared is an output of prepare.
        deps: [src/train.js, src/csv.js, src/params.js, data/prepared]
        params: [train.epochs, train.learning_rate]
        outs: [models/model.json, plots]
        metrics: [metrics.json]
        # Drawn by \`sluice plots show\` and the editor's Plots view, one run over another.
        plots:
          - path: plots/loss.csv
            x: epoch
            y: loss
            title: Training loss
          - path: plots/predictions.csv
            template: confusion
            actual: churned
            predicted: predicted
            title: Test users, churned against predicted
    checks:
      - name: enough rows
        description: A truncated export must not train a model silently
        run: node checks/rows.js data/prepared 100
      - name: accuracy floor
        metric: metrics.json#accuracy
        min: 0.8

environments:
  staging:
    description: Candidates built from committed code and the latest snapshots
    from: workspace
    pipeline: train
  production:
    description: The model the product uses
    from: staging
    gates:
      - checks # every check passed on the release
      - metric: metrics.json#accuracy
        no_regression: 0.01 # at most 0.01 below what production has now
    deploy:
      path: deploy/production
      run: node scripts/reload.js
    health:
      run: node scripts/health.js
      rollback_on_failure: true
`;

const PARAMS = `# Parameters of the churn pipeline. Stages declare the keys they read.
prepare:
  test_fraction: 0.25 # share of users held out to measure accuracy
train:
  epochs: 400
  learning_rate: 0.5
`;

const GITIGNORE = `# Sluice's local cache of snapshot contents and stage outputs.
.sluice/
# Data and pipeline outputs are versioned by Sluice snapshots, not by git.
/data/
/models/
/plots/
/metrics.json
/deploy/
`;

const README = `# Churn example

A Sluice workspace that predicts which users will cancel their subscription
from three months of click events. Created by \`sluice init --example churn\`.

- \`sluice.yaml\`: datasets, the \`train\` pipeline, its checks, and the
  \`staging\` and \`production\` environments.
- \`data/raw/\`: the datasets (\`users.csv\` and one events file per month).
- \`params.yaml\`: the parameters the stages read.
- \`src/\`: the stages, plain Node.js with no npm packages. \`train\` also
  writes \`plots/\`: its loss by epoch and each test user's prediction.
- \`checks/\`, \`scripts/\`: the row-count check, the deploy hook and the
  health check of production.

Check the manifest, then run the stages and the check by hand:

    sluice validate
    node src/prepare.js
    node src/train.js
    node checks/rows.js data/prepared 100
    cat metrics.json
`;

const CSV_JS = `// Reads and writes this example's CSV files: a header row, then one row per
// line, fields separated by commas. The data never holds commas or quotes.
'use strict';
const fs = require('node:fs');

function readCsv(file) {
  const lines = fs.readFileSync(file, 'utf8').split(/\\r?\\n/).filter((line) => line.trim() !== '');
  const header = lines[0].split(',');
  return lines.slice(1).map((line) => {
    const fields = line.split(',');
    const row = {};
    header.forEach((column, index) => {
      row[column] = fields[index];
    });
    return row;
  });
}

function writeCsv(file, columns, rows) {
  const lines = [columns.join(',')];
  for (const row of rows) lines.push(columns.map((column) => String(row[column])).join(','));
  fs.writeFileSync(file, lines.join('\\n') + '\\n');
}

module.exports = { readCsv, writeCsv };
`;

const PARAMS_JS = `// Reads params.yaml without a YAML package, so the example needs nothing but
// Node.js. It understands the shape that file has: sections of \`key: number\`.
'use strict';
const fs = require('node:fs');

function readParams(file = 'params.yaml') {
  const params = {};
  let section;
  for (const line of fs.readFileSync(file, 'utf8').split(/\\r?\\n/)) {
    const text = line.replace(/(^|\\s)#.*$/, '').trimEnd();
    if (text === '') continue;
    const match = /^( *)([A-Za-z_][\\w-]*):\\s*(.*)$/.exec(text);
    if (!match) throw new Error(file + ': cannot read the line "' + line + '"');
    const [, indent, key, value] = match;
    if (indent === '') {
      section = value === '' ? {} : undefined;
      params[key] = section ?? parseValue(value);
    } else if (section) {
      section[key] = parseValue(value);
    } else {
      throw new Error(file + ': "' + key + '" is indented but not inside a section');
    }
  }
  return params;
}

function parseValue(text) {
  const number = Number(text);
  return Number.isNaN(number) ? text.replace(/^(['"])(.*)\\1$/, '$2') : number;
}

module.exports = { readParams };
`;

const PREPARE_JS = `// Stage \`prepare\`: one row of features per user from the raw click events,
// then a train/test split by a stable hash of the user id, so the split is
// the same on every run and does not change when users are added.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { readCsv, writeCsv } = require('./csv');
const { readParams } = require('./params');

const DAY_MS = 24 * 60 * 60 * 1000;
const EVENTS_DIR = 'data/raw/events';
const OUT_DIR = 'data/prepared';
const COLUMNS = ['user_id', 'events', 'active_days', 'days_since_last', 'support_tickets', 'purchases', 'churned'];

const { test_fraction: testFraction } = readParams().prepare;
const users = readCsv('data/raw/users.csv');
const events = fs
  .readdirSync(EVENTS_DIR)
  .filter((name) => name.endsWith('.csv'))
  .sort()
  .flatMap((name) => readCsv(path.join(EVENTS_DIR, name)));

// "Now" is the newest event, not the clock, so features do not depend on when the stage runs.
const newest = Math.max(...events.map((event) => Date.parse(event.timestamp)));
const eventsByUser = new Map(users.map((user) => [user.user_id, []]));
for (const event of events) eventsByUser.get(event.user_id)?.push(event);

const rows = users.map((user) => {
  const own = eventsByUser.get(user.user_id);
  const last = own.length > 0 ? Math.max(...own.map((event) => Date.parse(event.timestamp))) : Date.parse(user.signup_date);
  return {
    user_id: user.user_id,
    events: own.length,
    active_days: new Set(own.map((event) => event.timestamp.slice(0, 10))).size,
    days_since_last: Math.round((newest - last) / DAY_MS),
    support_tickets: own.filter((event) => event.event === 'support_ticket').length,
    purchases: own.filter((event) => event.event === 'purchase').length,
    churned: Number(user.churned),
  };
});

// FNV-1a: a tiny, stable string hash.
function hash(text) {
  let value = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) value = Math.imul(value ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return value;
}

const byHash = [...rows].sort((a, b) => hash(a.user_id) - hash(b.user_id));
const testCount = Math.round(rows.length * testFraction);
const test = byHash.slice(0, testCount).sort((a, b) => a.user_id.localeCompare(b.user_id));
const train = byHash.slice(testCount).sort((a, b) => a.user_id.localeCompare(b.user_id));

fs.mkdirSync(OUT_DIR, { recursive: true });
writeCsv(path.join(OUT_DIR, 'train.csv'), COLUMNS, train);
writeCsv(path.join(OUT_DIR, 'test.csv'), COLUMNS, test);
console.log('prepare: ' + events.length + ' events, ' + train.length + ' train users, ' + test.length + ' test users');
`;

const TRAIN_JS = `// Stage \`train\`: logistic regression on the prepared features, by plain
// gradient descent from zero weights, so the same data and parameters always
// give the same model and the same metrics.
'use strict';
const fs = require('node:fs');
const { readCsv, writeCsv } = require('./csv');
const { readParams } = require('./params');

const FEATURES = ['events', 'active_days', 'days_since_last', 'support_tickets', 'purchases'];
const THRESHOLD = 0.5;

const { epochs, learning_rate: learningRate } = readParams().train;
const toExample = (row) => ({ x: FEATURES.map((feature) => Number(row[feature])), y: Number(row.churned) });
const train = readCsv('data/prepared/train.csv').map(toExample);
const test = readCsv('data/prepared/test.csv').map(toExample);

// Standardize with the training set's statistics; the model keeps them to score new rows the same way.
const means = FEATURES.map((_, j) => train.reduce((sum, example) => sum + example.x[j], 0) / train.length);
const scales = FEATURES.map((_, j) => {
  const variance = train.reduce((sum, example) => sum + (example.x[j] - means[j]) ** 2, 0) / train.length;
  return Math.sqrt(variance) || 1;
});
const standardize = (x) => x.map((value, j) => (value - means[j]) / scales[j]);
const probability = (weights, bias, z) => 1 / (1 + Math.exp(-(bias + z.reduce((sum, v, j) => sum + v * weights[j], 0))));

let weights = FEATURES.map(() => 0);
let bias = 0;
const inputs = train.map((example) => standardize(example.x));
// The mean log loss on the training set, every few epochs: the curve plots/loss.csv draws.
const LOSS_EVERY = Math.max(1, Math.round(epochs / 40));
const losses = [];
const logLoss = () =>
  inputs.reduce((sum, z, i) => {
    const p = Math.min(1 - 1e-9, Math.max(1e-9, probability(weights, bias, z)));
    return sum - (train[i].y === 1 ? Math.log(p) : Math.log(1 - p));
  }, 0) / inputs.length;
for (let epoch = 0; epoch < epochs; epoch++) {
  if (epoch % LOSS_EVERY === 0) losses.push({ epoch, loss: logLoss() });
  const gradient = FEATURES.map(() => 0);
  let biasGradient = 0;
  inputs.forEach((z, i) => {
    const error = probability(weights, bias, z) - train[i].y;
    z.forEach((value, j) => {
      gradient[j] += error * value;
    });
    biasGradient += error;
  });
  weights = weights.map((weight, j) => weight - (learningRate * gradient[j]) / inputs.length);
  bias -= (learningRate * biasGradient) / inputs.length;
}

losses.push({ epoch: epochs, loss: logLoss() });

let truePositives = 0;
let falsePositives = 0;
let falseNegatives = 0;
let correct = 0;
const predictions = [];
for (const example of test) {
  const predicted = probability(weights, bias, standardize(example.x)) >= THRESHOLD ? 1 : 0;
  predictions.push({ churned: example.y, predicted });
  if (predicted === example.y) correct++;
  if (predicted === 1 && example.y === 1) truePositives++;
  if (predicted === 1 && example.y === 0) falsePositives++;
  if (predicted === 0 && example.y === 1) falseNegatives++;
}
const round = (value) => Math.round(value * 10000) / 10000;
const metrics = {
  accuracy: round(correct / test.length),
  precision: round(truePositives / Math.max(1, truePositives + falsePositives)),
  recall: round(truePositives / Math.max(1, truePositives + falseNegatives)),
  train_users: train.length,
  test_users: test.length,
};
const model = {
  kind: 'logistic-regression',
  features: FEATURES,
  means: means.map(round),
  scales: scales.map(round),
  weights: weights.map(round),
  bias: round(bias),
  threshold: THRESHOLD,
};

fs.mkdirSync('models', { recursive: true });
fs.writeFileSync('models/model.json', JSON.stringify(model, null, 2) + '\\n');
fs.writeFileSync('metrics.json', JSON.stringify(metrics, null, 2) + '\\n');
fs.mkdirSync('plots', { recursive: true });
writeCsv('plots/loss.csv', ['epoch', 'loss'], losses.map((row) => ({ epoch: row.epoch, loss: round(row.loss) })));
writeCsv('plots/predictions.csv', ['churned', 'predicted'], predictions);
console.log('train: accuracy ' + metrics.accuracy + ' on ' + test.length + ' test users');
`;

const ROWS_JS = `// Check \`enough rows\`: the CSV files in DIR hold at least MIN data rows in
// total, so a truncated export cannot train a model silently.
// Usage: node checks/rows.js DIR MIN. Exit 0 passes, 1 fails.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const [dir = 'data/prepared', minText = '100'] = process.argv.slice(2);
const min = Number(minText);
try {
  let rows = 0;
  for (const name of fs.readdirSync(dir).filter((entry) => entry.endsWith('.csv'))) {
    const lines = fs.readFileSync(path.join(dir, name), 'utf8').split(/\\r?\\n/);
    rows += Math.max(0, lines.filter((line) => line.trim() !== '').length - 1);
  }
  if (rows < min) {
    console.error('rows: ' + dir + ' has ' + rows + ' rows, fewer than ' + min);
    process.exit(1);
  }
  console.log('rows: ' + dir + ' has ' + rows + ' rows (at least ' + min + ')');
} catch (error) {
  console.error('rows: cannot read ' + dir + ': ' + error.message);
  process.exit(1);
}
`;

const RELOAD_JS = `// Deploy hook of \`production\`, run after \`current\` points at the new release.
// A real service would be told to load the new model here; this one checks
// that the release carries a readable model and says which release is live.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const releaseDir = process.env.SLUICE_RELEASE_DIR || path.join('deploy', 'production', 'current');
let release = process.env.SLUICE_RELEASE || releaseDir;
try {
  release = process.env.SLUICE_RELEASE || path.basename(fs.realpathSync(releaseDir));
  const model = JSON.parse(fs.readFileSync(path.join(releaseDir, 'models', 'model.json'), 'utf8'));
  if (!Array.isArray(model.weights)) throw new Error('models/model.json has no weights');
  console.log('reload: ' + (process.env.SLUICE_ENV || 'production') + ' now serves release ' + release);
} catch (error) {
  console.error('reload: release ' + release + ' has no usable model: ' + error.message);
  process.exit(1);
}
`;

const HEALTH_JS = `// Health check of \`production\`: the live model loads, gives probabilities,
// and rates a user who went quiet as likelier to churn than an active one.
// Exit 0 is healthy; anything else makes Sluice roll back.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const releaseDir = process.env.SLUICE_RELEASE_DIR || path.join('deploy', 'production', 'current');
const ACTIVE = { events: 9, active_days: 8, days_since_last: 2, support_tickets: 0, purchases: 2 };
const QUIET = { events: 2, active_days: 2, days_since_last: 60, support_tickets: 1, purchases: 0 };

function churnProbability(model, user) {
  const z = model.features.reduce(
    (sum, feature, j) => sum + ((user[feature] - model.means[j]) / model.scales[j]) * model.weights[j],
    model.bias,
  );
  return 1 / (1 + Math.exp(-z));
}

try {
  const model = JSON.parse(fs.readFileSync(path.join(releaseDir, 'models', 'model.json'), 'utf8'));
  const active = churnProbability(model, ACTIVE);
  const quiet = churnProbability(model, QUIET);
  const isProbability = (p) => Number.isFinite(p) && p >= 0 && p <= 1;
  if (!isProbability(active) || !isProbability(quiet) || active >= quiet) {
    console.error('health: the model scores active users ' + active + ' and quiet users ' + quiet);
    process.exit(1);
  }
  console.log('health: ok (churn probability active ' + active.toFixed(2) + ', quiet ' + quiet.toFixed(2) + ')');
} catch (error) {
  console.error('health: cannot load the live model from ' + releaseDir + ': ' + error.message);
  process.exit(1);
}
`;

export const CHURN_EXAMPLE = {
  name: 'churn',
  description:
    'predict churn from click events: two datasets, a two-stage pipeline, checks, staging and production',
  files(): WorkspaceFile[] {
    return [
      { path: MANIFEST_FILE, content: MANIFEST },
      { path: 'params.yaml', content: PARAMS },
      { path: '.gitignore', content: GITIGNORE },
      { path: 'README.md', content: README },
      { path: 'src/csv.js', content: CSV_JS },
      { path: 'src/params.js', content: PARAMS_JS },
      { path: 'src/prepare.js', content: PREPARE_JS },
      { path: 'src/train.js', content: TRAIN_JS },
      { path: 'checks/rows.js', content: ROWS_JS },
      { path: 'scripts/reload.js', content: RELOAD_JS },
      { path: 'scripts/health.js', content: HEALTH_JS },
      ...churnDataFiles(),
    ];
  },
} as const;
