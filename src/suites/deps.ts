/**
 * What the runner needs from the rest of kvmbench, as interfaces: the accelerator to use, the host
 * fingerprint, the doctor's verdict on `requires:` checks, and the report writer. The composition
 * root (src/app/runner-deps.ts) binds the real ones; the runner's tests bind their own.
 */
import type { HostActions } from '../host/actions.js';
import type { AccelRequest } from '../vmm/accel.js';
import type { Accelerator, Execution, HostFingerprint, Results } from '../results/model.js';

export type { AccelRequest } from '../vmm/accel.js';

export interface RunAccel {
  accel: Accelerator;
  /** E.g. the `auto` fallback to TCG, shown to the user and stored in run.warnings. */
  warnings: string[];
  /** The QEMU `-cpu` every guest of the run gets (default: `host` on KVM, `max` on TCG). */
  cpu?: string;
  /** Why `cpu` is not the first choice (e.g. a CPU feature this KVM refuses). */
  cpuNote?: string;
  /** How the calibration boot's code ran (native / emulated / tcg), with the evidence. */
  execution?: Execution;
}

/** The doctor's answer for one check id: ok, or why not. */
export interface RequirementStatus {
  ok: boolean;
  reason: string;
}

export interface RunnerDeps {
  /** `qemu`: the QEMU binary the run's guests use when it is not the default (a `kvmbench ab` variant's). */
  resolveAccel(requested: AccelRequest, qemu?: string): Promise<RunAccel>;
  fingerprint(): Promise<HostFingerprint>;
  /**
   * Status of the given doctor check ids; undefined when no doctor is available, in which
   * case the runner records a warning and runs the cases anyway.
   */
  checkRequirements?(ids: readonly string[]): Promise<Map<string, RequirementStatus>>;
  writeReports?(results: Results, dir: string): Promise<string[]>;
  /** What executors may start on the host for a check (QEMU over QMP, a raw VM): `CaseContext.hostActions`. */
  hostActions?: HostActions;
}
