/**
 * The same failure, once: when consecutive cases of a run fail because their QEMU never got to
 * the guest, for the same cause (QEMU cannot be executed, starts and runs nothing, exits before
 * the guest with the same message, or KVM stops on the same instruction), the run's remaining
 * cases that start QEMU skip at once, naming that cause and the case that reported it in full.
 *
 * Two such cases in a row make a pattern (PATTERN_LENGTH). One is not enough: a single case can
 * fail for its own reasons (its machine type, its firmware, its arguments). A second, different
 * case failing before its guest ran, with the same words, points at what they share: the QEMU
 * binary and the accelerator, the same for every case of a run (or of one `ab` variant, which
 * keeps its own pattern). It costs two startup budgets instead of one per case, and both
 * failures keep their full reports. A case whose guest ran (pass, or a failure of its own) ends
 * the streak; cases that start no QEMU (raw, doctor) or were skipped leave it as it is.
 * `--keep-going` turns this off.
 */
import type { CaseResult } from '../results/model.js';
import type { LaunchReport } from '../vmm/launch-scope.js';

/** How many consecutive cases failing with the same start failure make a pattern. */
export const PATTERN_LENGTH = 2;

export class FailurePattern {
  private cause: string | undefined;
  private ids: string[] = [];

  constructor(private readonly keepGoing = false) {}

  /** Why a case that starts QEMU skips without running, or undefined when it should run. */
  skipReason(): string | undefined {
    if (this.keepGoing || this.cause === undefined || this.ids.length < PATTERN_LENGTH) return undefined;
    return (
      `skipped: every earlier case since ${this.ids[0]} failed the same way (${this.ids.join(', ')}): ${this.cause}; ` +
      `${this.ids[0]} has the full report; --keep-going runs such cases anyway`
    );
  }

  /** A case that ran, with the QEMU launches it made. */
  record(result: Pick<CaseResult, 'id' | 'status'>, launches: readonly LaunchReport[]): void {
    if (launches.length === 0) return;
    const failed = result.status === 'error' || result.status === 'fail';
    const start = [...launches].reverse().find((l) => l.startFailure)?.startFailure;
    if (!failed || !start) {
      this.cause = undefined;
      this.ids = [];
    } else if (start.cause === this.cause) {
      this.ids.push(result.id);
    } else {
      this.cause = start.cause;
      this.ids = [result.id];
    }
  }
}
