/**
 * kvmbench's error and outcome model, shared by the engine and the CLI. Engine code (suites,
 * cases, VMM, results, compare) throws these errors and returns outcomes; it never imports
 * src/cli/. The CLI maps from here: `BaseCommand` (src/cli/base-command.ts) renders a
 * KvmbenchError and exits with its code, and the commands exit with `exitCodeOf(outcome)`.
 *
 * The exit codes are here rather than in src/cli/ because they are an API beyond the process
 * status: `ab.json` records the one its session ends with (docs/compare.md).
 */

/**
 * kvmbench's exit codes. CI pipelines branch on these, so they are an API:
 * never renumber, only add. README.md ("Exit codes") mirrors this table.
 */
export const ExitCode = {
  /** Everything asked for ran and passed. */
  OK: 0,
  /** A check, test case or guest failed (doctor verdict fail, a case failed or errored). */
  FAILED: 1,
  /** Bad usage or bad input: unknown flag, broken suite file, unreadable or foreign results file. */
  USAGE: 2,
  /** The environment cannot do what was asked (e.g. `--accel kvm` with no usable KVM, no QEMU). */
  ENV_UNUSABLE: 3,
  /** `compare --fail-on-regression` (or `ab --fail-on-regression`) found a confirmed performance regression. */
  REGRESSION: 4,
  /** Interrupted by SIGINT or SIGTERM; partial results were written. */
  INTERRUPTED: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export const EXIT_CODE_DOC: ReadonlyArray<[ExitCodeValue, string]> = [
  [ExitCode.OK, 'ok: everything asked for ran and passed'],
  [
    ExitCode.FAILED,
    'checks or tests failed (doctor found a fail, a case failed or errored, or an internal error stopped the run: partial results written)',
  ],
  [ExitCode.USAGE, 'usage error or bad input (flags, suite file, results file)'],
  [ExitCode.ENV_UNUSABLE, 'environment not usable for what was asked (e.g. --accel kvm without usable KVM, QEMU missing)'],
  [ExitCode.REGRESSION, 'performance regression confirmed by compare --fail-on-regression (or ab --fail-on-regression)'],
  [ExitCode.INTERRUPTED, 'interrupted (SIGINT/SIGTERM); partial results written'],
];

/**
 * How a run (or an A/B session) ended, as the engine sees it: `failed` when a case failed or
 * errored, `regression` when an A/B comparison confirmed one and was asked to fail on it,
 * `interrupted` on SIGINT/SIGTERM (whatever else happened).
 */
export type Outcome = 'ok' | 'failed' | 'regression' | 'interrupted';

const OUTCOME_EXIT: Record<Outcome, ExitCodeValue> = {
  ok: ExitCode.OK,
  failed: ExitCode.FAILED,
  regression: ExitCode.REGRESSION,
  interrupted: ExitCode.INTERRUPTED,
};

/** The documented exit code of an outcome. */
export function exitCodeOf(outcome: Outcome): ExitCodeValue {
  return OUTCOME_EXIT[outcome];
}

/**
 * An error meant for a person: what went wrong, what to do about it, and the
 * documented exit code. Engine modules throw these; the base command renders them.
 */
export class KvmbenchError extends Error {
  readonly exitCode: ExitCodeValue;
  readonly hint?: string;

  constructor(message: string, opts: { exitCode?: ExitCodeValue; hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'KvmbenchError';
    this.exitCode = opts.exitCode ?? ExitCode.FAILED;
    this.hint = opts.hint;
  }
}

export class UsageError extends KvmbenchError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.USAGE, hint });
    this.name = 'UsageError';
  }
}

export class EnvironmentError extends KvmbenchError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.ENV_UNUSABLE, hint });
    this.name = 'EnvironmentError';
  }
}

export class InterruptedError extends KvmbenchError {
  constructor(message = 'interrupted') {
    super(message, { exitCode: ExitCode.INTERRUPTED });
    this.name = 'InterruptedError';
  }
}
