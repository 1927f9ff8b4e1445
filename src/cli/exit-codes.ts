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
  [ExitCode.FAILED, 'checks or tests failed (doctor found a fail, a case failed or errored)'],
  [ExitCode.USAGE, 'usage error or bad input (flags, suite file, results file)'],
  [ExitCode.ENV_UNUSABLE, 'environment not usable for what was asked (e.g. --accel kvm without usable KVM, QEMU missing)'],
  [ExitCode.REGRESSION, 'performance regression confirmed by compare --fail-on-regression (or ab --fail-on-regression)'],
  [ExitCode.INTERRUPTED, 'interrupted (SIGINT/SIGTERM); partial results written'],
];
