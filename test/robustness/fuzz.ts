// `npm run fuzz -- [--count 5000] [--seed 1] [--cli-count N] [--from I] [--timeout MS]
//                  [--max-failures 20] [--show 10] [--alias-bombs]`:
// random and mutated manifests through one long-lived language server (as
// successive versions of one document, edited incrementally) and a sample
// through `sluice validate --json`. Prints a summary; exits 1 on any failure,
// printing the seed, the failing documents and how they were made (the first
// --show of them in full, all of them grouped by kind of problem).
import { parseArgs } from 'node:util';
import { runFuzz, type FuzzFailure } from './fuzzManifests';

function show(text: string | undefined, limit = 4000): string {
  if (text === undefined) return '(none: the document was opened)';
  const shown = text.length > limit ? `${text.slice(0, limit)}… (${text.length} characters in all)` : text;
  // JSON keeps invisible characters (tabs, NUL, lone \r, …) visible and the text reproducible.
  return JSON.stringify(shown);
}

function printFailure(seed: number, failure: FuzzFailure, flags: string): void {
  console.log(`\n--- failure: seed ${seed}, document ${failure.index} (${failure.recipe.join(' → ')})`);
  console.log(failure.problem);
  console.log(`document: ${show(failure.document)}`);
  console.log(`previous version: ${show(failure.previous, 1500)}`);
  console.log(
    `reproduce: node out/test/robustness/fuzz.js --seed ${seed} --from ${failure.index} --count 1${flags}`,
  );
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '5000' },
      seed: { type: 'string', default: '1' },
      'cli-count': { type: 'string' },
      from: { type: 'string', default: '0' },
      timeout: { type: 'string', default: '5000' },
      'max-failures': { type: 'string', default: '20' },
      show: { type: 'string', default: '10' },
      'alias-bombs': { type: 'boolean', default: false },
    },
  });
  const count = Number(values.count);
  const seed = Number(values.seed);
  const from = Number(values.from);
  const timeoutMs = Number(values.timeout);
  const maxFailures = Number(values['max-failures']);
  const show = Number(values.show);
  const cliCount =
    values['cli-count'] === undefined ? Math.max(1, Math.ceil(count / 50)) : Number(values['cli-count']);
  for (const [name, value] of Object.entries({ count, seed, from, timeoutMs, maxFailures, cliCount, show })) {
    if (!Number.isInteger(value) || value < 0) {
      console.error(`fuzz: --${name} takes a whole number, not ${String(value)}`);
      return 2;
    }
  }
  console.log(
    `fuzz: seed ${seed}, ${count} documents from #${from} through the server, ${cliCount} through the CLI`,
  );
  const report = await runFuzz({
    seed,
    count,
    from,
    cliCount,
    timeoutMs,
    maxFailures,
    aliasBombs: values['alias-bombs'],
    progress: (message) => {
      console.log(`  ${message}`);
    },
  });
  const flags = values['alias-bombs'] ? ' --alias-bombs' : '';
  for (const failure of report.failures.slice(0, show)) printFailure(seed, failure, flags);
  if (report.failures.length > 0) {
    // Kinds of problem: the first line of each, numbers and quoted text left out.
    const kinds = new Map<string, number[]>();
    for (const failure of report.failures) {
      const kind = (failure.problem.split('\n')[0] ?? '')
        .replace(/`[^`]*`|"[^"]*"/g, '…')
        .replace(/\d+/g, 'N')
        .slice(0, 160);
      kinds.set(kind, [...(kinds.get(kind) ?? []), failure.index]);
    }
    console.log('\nfailures by kind (documents):');
    for (const [kind, indexes] of [...kinds].sort((a, b) => b[1].length - a[1].length)) {
      console.log(
        `  ${indexes.length} × ${kind} (${indexes.slice(0, 8).join(', ')}${indexes.length > 8 ? ', …' : ''})`,
      );
    }
    const withCarriageReturn = report.failures.filter((f) => f.document.includes('\r')).length;
    console.log(`  (${withCarriageReturn} of the failing documents contain a carriage return)`);
  }
  console.log(
    `\nfuzz: seed ${seed}: ${report.documents} documents, ${report.changes} changes, ${report.requests} requests ` +
      `through the server in ${(report.ms.server / 1000).toFixed(1)} s` +
      (report.restarts > 0 ? ` (restarted ${report.restarts} times)` : '') +
      `; ${report.cliRuns} CLI runs in ${(report.ms.cli / 1000).toFixed(1)} s; ` +
      `${report.failures.length} failure${report.failures.length === 1 ? '' : 's'}` +
      (report.failures.length >= maxFailures ? ` (stopped at --max-failures ${maxFailures})` : ''),
  );
  return report.failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`fuzz: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 2;
  },
);
