/**
 * A stanza's verdict from how its QEMU ended, by kvm-unit-tests' convention: the guest writes
 * its code C to isa-debug-exit and QEMU exits (C << 1) | 1, so
 *   1 = pass (report_summary() returned 0), 3 = fail (unexpected failures),
 *   77 = skip (every sub-check skipped), 127 = the test called abort(),
 *   0 = QEMU ended without the debug-exit write (reset, triple fault): fail,
 *   a timeout (kvm-unit-tests' 124) or a signal: fail.
 * QEMU also exits 1 when it refuses its arguments; with no console output at all that is
 * kvm-unit-tests' "premature failure", a skip with QEMU's message (e.g. a -cpu flag TCG lacks).
 * The sub-check lines must agree: an exit that says pass with a FAIL line is a fail.
 */
import type { CaseStatus } from '../results/model.js';
import type { KutOutput } from './output.js';

export interface KutExit {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  aborted: boolean;
  stderr: string;
  consoleBytes: number;
  /** The stanza's timeout, seconds. */
  timeoutSec: number;
  /** kvmbench stopped the guest because it printed more than the cap. */
  floodBytes?: number;
  /** KVM could not run the guest (decoded by the launcher). */
  kvmFailure?: string;
}

export interface KutVerdict {
  status: CaseStatus;
  reason?: string;
}

/** QEMU's stderr lines that are not warnings, as kvm-unit-tests' fixup reads them. */
function errorLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/warning/i.test(l) && !l.startsWith('kvmbench:'));
}

function counts(o: KutOutput): string {
  const c = o.counts;
  const parts = [`${c.pass} passed`];
  if (c.fail) parts.push(`${c.fail} failed`);
  if (c.xpass) parts.push(`${c.xpass} unexpectedly passed`);
  if (c.xfail) parts.push(`${c.xfail} expected failures`);
  if (c.kfail) parts.push(`${c.kfail} known failures`);
  if (c.skip) parts.push(`${c.skip} skipped`);
  return parts.join(', ');
}

export function kutVerdict(x: KutExit, o: KutOutput): KutVerdict {
  if (x.aborted) return { status: 'error', reason: 'interrupted: QEMU killed on request' };
  if (x.kvmFailure) return { status: 'error', reason: x.kvmFailure };
  if (x.floodBytes !== undefined)
    return {
      status: 'fail',
      reason: `output flood: the guest printed more than ${x.floodBytes} bytes and was stopped (${counts(o)} before that)`,
    };
  if (x.timedOut)
    return { status: 'fail', reason: `timeout after ${x.timeoutSec} s (kvm-unit-tests' status 124; ${counts(o)} before that)` };
  if (x.exitCode === null) return { status: 'fail', reason: `QEMU terminated on ${x.signal ?? 'a signal'}` };
  const code = x.exitCode;
  const errs = errorLines(x.stderr);
  if (code === 1) {
    if (errs.length && x.consoleBytes === 0)
      return { status: 'skip', reason: `QEMU refused the stanza's configuration: ${errs[errs.length - 1]!.slice(0, 300)}` };
    if (errs.length) return { status: 'error', reason: `QEMU failed: ${errs.slice(-2).join(' | ').slice(0, 300)}` };
    if (o.counts.fail || o.counts.xpass)
      return {
        status: 'fail',
        reason: `exit status says pass, but ${o.counts.fail + o.counts.xpass} sub-check(s) failed, first: ${o.firstFailure}`,
      };
    return { status: 'pass' };
  }
  if (code === 77)
    return { status: 'skip', reason: o.lastSkip ?? o.summary?.text ?? 'the test skipped (status 77) without a SKIP line' };
  if (code === 3) {
    const n = o.counts.fail + o.counts.xpass;
    return {
      status: 'fail',
      reason: n
        ? `${n} sub-check(s) failed (${counts(o)}), first: ${o.firstFailure}`
        : `the test failed (status 3) without a FAIL line${o.summary ? `: ${o.summary.text}` : ''}`,
    };
  }
  if (code === 127)
    return {
      status: 'fail',
      reason: `the test aborted${o.abort ? `: ${o.abort}` : o.exception ? ` after ${o.exception}` : ''} (status 127; ${counts(o)} before that)`,
    };
  if (code === 0)
    return { status: 'fail', reason: 'QEMU exited 0: the guest ended without writing isa-debug-exit (reset or triple fault?)' };
  if (code % 2 === 1)
    return {
      status: 'fail',
      reason: `the test exited with code ${(code - 1) / 2} (QEMU status ${code})${o.firstFailure ? `, first failure: ${o.firstFailure}` : ''}`,
    };
  return {
    status: 'error',
    reason: `QEMU failed with exit status ${code}${errs.length ? `: ${errs[errs.length - 1]!.slice(0, 300)}` : ''}`,
  };
}
