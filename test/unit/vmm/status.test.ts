import { describe, expect, it } from 'vitest';
import { mapExitStatus, STATUS_TIMEOUT } from '../../../src/vmm/status.js';

const base = { timedOut: false, aborted: false, endPass: true };

describe('mapExitStatus', () => {
  it('maps isa-debug-exit statuses: (code << 1) | 1', () => {
    expect(mapExitStatus({ ...base, exitCode: 1 })).toEqual({ status: 'pass' });
    expect(mapExitStatus({ ...base, exitCode: 77, guestReason: 'no x2APIC' })).toEqual({ status: 'skip', reason: 'no x2APIC' });
    expect(mapExitStatus({ ...base, exitCode: 3 }).status).toBe('fail');
    expect(mapExitStatus({ ...base, exitCode: 11 }).reason).toMatch(/code 5 \(QEMU status 11\)/);
  });

  it('does not trust status 1 without the guest end line (QEMU exits 1 on its own errors)', () => {
    expect(mapExitStatus({ ...base, exitCode: 1, endPass: false })).toMatchObject({
      status: 'error',
      reason: expect.stringMatching(/end line/),
    });
  });

  it('reports timeouts, aborts, resets, signals and QEMU failures as errors', () => {
    expect(mapExitStatus({ ...base, exitCode: null, timedOut: true }).reason).toMatch(
      new RegExp(`timeout \\(status ${STATUS_TIMEOUT}\\)`),
    );
    expect(mapExitStatus({ ...base, exitCode: null, aborted: true }).reason).toMatch(/aborted/);
    expect(mapExitStatus({ ...base, exitCode: 0 }).reason).toMatch(/triple fault/);
    expect(mapExitStatus({ ...base, exitCode: 5, guestReason: 'unexpected exception' })).toMatchObject({
      status: 'error',
      reason: expect.stringMatching(/crashed/),
    });
    expect(mapExitStatus({ ...base, exitCode: null, signal: 'SIGSEGV' }).reason).toMatch(/SIGSEGV/);
    expect(mapExitStatus({ ...base, exitCode: 2 })).toEqual({ status: 'error', reason: 'QEMU failed with exit status 2' });
    // A timeout wins over whatever status the killed process left.
    expect(mapExitStatus({ ...base, exitCode: 1, timedOut: true }).status).toBe('error');
  });
});
