/**
 * `kvmbench run` without the command line: the suite runner bound to the real dependencies
 * (accelerator choice, fingerprint, doctor, report writer: src/app/runner-deps.ts).
 */
import type { RunnerDeps } from '../suites/deps.js';
import { runSuite, type RunSuiteOptions, type RunSummary } from '../suites/runner.js';
import { defaultDeps } from './runner-deps.js';

export interface RunOptions extends Omit<RunSuiteOptions, 'deps'> {
  /** Default: the real ones. */
  deps?: RunnerDeps;
}

export async function executeRun(opts: RunOptions): Promise<RunSummary> {
  return runSuite({ ...opts, deps: opts.deps ?? defaultDeps() });
}
