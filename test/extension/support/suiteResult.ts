// What passes between the extension-host suite (index.ts, inside VS Code) and
// its launchers (test/e2e/extensionHost.ts, test/e2e/electron.ts): two
// environment variables in, one JSON result file out.

/** The file index.ts writes the outcome to (temp file, then rename): the host's own exit code says too little. */
export const RESULT_FILE_VARIABLE = 'SLUICE_TEST_RESULT';

/** Optional JSON list of substrings: only test files whose path contains one of them run. */
export const FILTER_VARIABLE = 'SLUICE_TEST_FILTER';

export interface SuiteResult {
  readonly passed: number;
  readonly failed: number;
  readonly pending: number;
  readonly failures: readonly { readonly title: string; readonly message: string }[];
  /** What happened, test by test, in the words of a spec reporter. */
  readonly report: readonly string[];
}
