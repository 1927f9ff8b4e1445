/**
 * The startup budget: how long QEMU may run before its guest shows that it runs (its first byte
 * on the console or on any guest channel: a debug port, the firmware's or the kernel's marks),
 * apart from the case deadline that bounds the measurement. A QEMU that starts and then waits
 * (a wrapper stuck on a lock, a device that never opens, a VM left paused) is ended at the
 * budget as "QEMU started but the guest never ran", not at the case deadline.
 *
 * Budgets come from `bench/first-output.mjs` (docs/architecture.md, "Startup budget"): about
 * ten times the slowest first byte measured, so a loaded machine does not end a healthy guest.
 *
 * Also here: what a launch's failure to start says about the VMM (`startFailureOf`), in words
 * that are the same for every case it hits, so a run can tell the same failure from a new one
 * (src/suites/failure-pattern.ts).
 */
import type { Accelerator } from '../results/model.js';

/** Which first output the budget waits for: a micro guest's, or Linux's firmware and setup code. */
export type StartupGuest = 'micro' | 'linux';

/** Default budgets in ms, by accelerator and guest (measured: docs/architecture.md, "Startup budget"). */
export const STARTUP_BUDGET_MS: Record<Accelerator, Record<StartupGuest, number>> = {
  kvm: { micro: 5_000, linux: 10_000 },
  tcg: { micro: 10_000, linux: 15_000 },
};

/** The budget for a case: its suite's `startup:` (seconds) when set, else the default. */
export function startupBudgetMs(accel: Accelerator, guest: string | undefined, suiteSec?: number): number {
  if (suiteSec !== undefined) return suiteSec * 1000;
  return STARTUP_BUDGET_MS[accel][guest === 'linux' ? 'linux' : 'micro'];
}

/** Why a launch never reached its guest, the same for every case it happens to. */
export interface StartFailure {
  kind: 'not-executable' | 'never-ran' | 'exited-before-guest' | 'kvm-failure';
  /** The cause in words, without anything of the case (no test name, no RIP, no log path). */
  cause: string;
}

/** What a launch knows when it ends; see launchQemu. */
export interface LaunchEndFacts {
  binary: string;
  /** The process could not be executed at all (ENOENT, EACCES). */
  execError?: string;
  /** The startup budget expired before the guest's first byte. */
  neverRanMs?: number;
  /** Any byte of the guest arrived (console or a guest channel). */
  guestRan: boolean;
  /** kvmbench ended it (deadline, abort, early stop, a KVM failure report). */
  killedByUs: boolean;
  exitCode: number | null;
  signal: string | null;
  stderr: string;
  /** describeKvmFailure() of a KVM internal error, when there was one. */
  kvmFailure?: string;
}

/** The last line QEMU wrote on stderr (its own error message, as a rule), trimmed. */
export function lastStderrLine(stderr: string): string | undefined {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('kvmbench:'));
  const last = lines.at(-1);
  return last === undefined ? undefined : last.length > 200 ? `${last.slice(0, 200)}…` : last;
}

/**
 * A launch that never got to its guest: QEMU could not be executed, started and ran nothing
 * within the budget, or ended before the guest's first byte; or a KVM internal error (the same
 * instruction stops every case). Undefined when the guest ran and then failed on its own.
 */
export function startFailureOf(f: LaunchEndFacts): StartFailure | undefined {
  if (f.execError) return { kind: 'not-executable', cause: `QEMU could not be executed (${f.binary}: ${f.execError})` };
  if (f.kvmFailure) return { kind: 'kvm-failure', cause: f.kvmFailure.replace(/ at RIP 0x[0-9a-f]+/i, '') };
  if (f.neverRanMs !== undefined) {
    return {
      kind: 'never-ran',
      cause: `QEMU started but the guest never ran within the startup budget of ${seconds(f.neverRanMs)}`,
    };
  }
  if (f.guestRan || f.killedByUs) return undefined;
  // setpriv (src/vmm/processes.ts) execs QEMU: a binary it cannot execute is its exit 126/127.
  const err = lastStderrLine(f.stderr);
  if ((f.exitCode === 126 || f.exitCode === 127) && err && /setpriv|exec|not found|Permission denied/i.test(err)) {
    return { kind: 'not-executable', cause: `QEMU could not be executed (${f.binary}: ${err})` };
  }
  const how = f.exitCode !== null ? `exited with status ${f.exitCode}` : `was ended by signal ${f.signal ?? 'unknown'}`;
  return { kind: 'exited-before-guest', cause: `QEMU ${how} before the guest ran${err ? `: ${err}` : ''}` };
}

/** The reason of a launch ended at its startup budget (the launcher adds QEMU's own last output). */
export function neverRanReason(budgetMs: number, qmpStatus: string | undefined): string {
  const qmp = qmpStatus ? `; QMP query-status: ${qmpStatus}` : '';
  return `QEMU started but the guest never ran: no byte from the guest within the startup budget of ${seconds(budgetMs)} (suite field \`startup\`)${qmp}; QEMU was ended by kvmbench`;
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}
