/**
 * Mapping QEMU's exit status to a case status. Guests exit through isa-debug-exit,
 * so QEMU exits with (code << 1) | 1, the kvm-unit-tests convention:
 *   1 = pass (guest wrote 0), 77 = skip (guest wrote 38), 3 = fail (guest wrote 1),
 *   5 = error: the guest crashed (wrote 2 after an unexpected exception),
 *   any other odd status = fail with guest code (status - 1) / 2,
 *   124 = timeout (set by the host when it kills a guest at its deadline; QEMU never
 *   exits with an even status through isa-debug-exit),
 *   0 = QEMU quit on its own (guest reset or power-off with -no-reboot, e.g. a triple fault),
 *   other even statuses = QEMU itself failed (bad arguments, missing file, no KVM...).
 * QEMU also exits 1 on some startup errors, so `pass` needs the guest's `end` line too.
 * The guest codes come from guests/lib/exit-codes.def (through the generated guest-exit-codes.ts).
 */
import { GUEST_EXIT } from './guest-exit-codes.js';

/** QEMU's exit status when the guest writes `code` to isa-debug-exit. */
export function qemuStatus(code: number): number {
  return (code << 1) | 1;
}

export const STATUS_PASS = qemuStatus(GUEST_EXIT.PASS);
export const STATUS_FAIL = qemuStatus(GUEST_EXIT.FAIL);
export const STATUS_SKIP = qemuStatus(GUEST_EXIT.SKIP);
export const STATUS_CRASH = qemuStatus(GUEST_EXIT.CRASH);
export const STATUS_TIMEOUT = 124;

export type GuestOutcome = 'pass' | 'fail' | 'skip' | 'error';

export interface ExitFacts {
  exitCode: number | null;
  signal?: string | null;
  timedOut: boolean;
  aborted: boolean;
  /** The guest printed its `end` line with status=pass. */
  endPass: boolean;
  /** Reason the guest gave in a FAIL/SKIP line, if any. */
  guestReason?: string;
}

export function mapExitStatus(f: ExitFacts): { status: GuestOutcome; reason?: string } {
  if (f.timedOut) return { status: 'error', reason: `timeout (status ${STATUS_TIMEOUT}): guest killed at its deadline` };
  if (f.aborted) return { status: 'error', reason: 'aborted: guest killed on request' };
  const code = f.exitCode;
  if (code === null || code === undefined) {
    return { status: 'error', reason: `QEMU ended by signal ${f.signal ?? 'unknown'}` };
  }
  if (code === STATUS_PASS) {
    return f.endPass
      ? { status: 'pass' }
      : { status: 'error', reason: "QEMU exited 1 without the guest's end line (a QEMU startup error? see the log)" };
  }
  if (code === STATUS_SKIP) return { status: 'skip', reason: f.guestReason ?? 'guest skipped without a reason' };
  if (code === 0) {
    return { status: 'error', reason: 'QEMU exited 0: the guest reset or powered off without isa-debug-exit (triple fault?)' };
  }
  if (code === STATUS_CRASH) {
    return { status: 'error', reason: `guest crashed: ${f.guestReason ?? 'unexpected exception'} (QEMU status ${code})` };
  }
  if (code % 2 === 1) {
    const guestCode = (code - 1) / 2;
    return { status: 'fail', reason: f.guestReason ?? `guest failed with code ${guestCode} (QEMU status ${code})` };
  }
  return { status: 'error', reason: `QEMU failed with exit status ${code}` };
}
