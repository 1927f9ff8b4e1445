import { describe, expect, it } from 'vitest';
import {
  lastStderrLine,
  neverRanReason,
  startFailureOf,
  startupBudgetMs,
  STARTUP_BUDGET_MS,
  type LaunchEndFacts,
} from '../../../src/vmm/startup.js';

const base: LaunchEndFacts = {
  binary: '/usr/bin/qemu-system-x86_64',
  guestRan: false,
  killedByUs: false,
  exitCode: null,
  signal: null,
  stderr: '',
};

describe('startup budget', () => {
  it('defaults by accelerator and guest, longer under TCG and for Linux; a suite value in seconds wins', () => {
    expect(startupBudgetMs('kvm', 'hello')).toBe(STARTUP_BUDGET_MS.kvm.micro);
    expect(startupBudgetMs('tcg', 'exits')).toBe(STARTUP_BUDGET_MS.tcg.micro);
    expect(startupBudgetMs('tcg', 'linux')).toBe(STARTUP_BUDGET_MS.tcg.linux);
    expect(STARTUP_BUDGET_MS.tcg.micro).toBeGreaterThan(STARTUP_BUDGET_MS.kvm.micro);
    expect(STARTUP_BUDGET_MS.tcg.linux).toBeGreaterThan(STARTUP_BUDGET_MS.tcg.micro);
    expect(startupBudgetMs('tcg', 'linux', 2.5)).toBe(2500);
  });

  it("says the guest never ran, with the budget, the suite field and QMP's run state", () => {
    expect(neverRanReason(10_000, 'prelaunch (not running)')).toBe(
      'QEMU started but the guest never ran: no byte from the guest within the startup budget of 10 s (suite field `startup`); QMP query-status: prelaunch (not running); QEMU was ended by kvmbench',
    );
  });
});

describe('startFailureOf', () => {
  it('is undefined when the guest ran, or when kvmbench ended QEMU for another reason', () => {
    expect(startFailureOf({ ...base, guestRan: true, exitCode: 3 })).toBeUndefined();
    expect(startFailureOf({ ...base, killedByUs: true })).toBeUndefined();
  });

  it('names each way a launch never got to its guest, in words without the case in them', () => {
    expect(startFailureOf({ ...base, execError: 'spawn /x ENOENT' })).toEqual({
      kind: 'not-executable',
      cause: 'QEMU could not be executed (/usr/bin/qemu-system-x86_64: spawn /x ENOENT)',
    });
    expect(
      startFailureOf({ ...base, exitCode: 127, stderr: 'setpriv: failed to execute /nope: No such file or directory\n' })?.kind,
    ).toBe('not-executable');
    expect(startFailureOf({ ...base, neverRanMs: 10_000, killedByUs: true })).toEqual({
      kind: 'never-ran',
      cause: 'QEMU started but the guest never ran within the startup budget of 10 s',
    });
    expect(startFailureOf({ ...base, exitCode: 1, stderr: "qemu-system-x86_64: could not load PC BIOS 'qboot.rom'\n" })).toEqual({
      kind: 'exited-before-guest',
      cause: "QEMU exited with status 1 before the guest ran: qemu-system-x86_64: could not load PC BIOS 'qboot.rom'",
    });
    expect(startFailureOf({ ...base, signal: 'SIGSEGV' })?.cause).toBe('QEMU was ended by signal SIGSEGV before the guest ran');
    // The same instruction stops every case; where it stopped (RIP) is the case's.
    const a = startFailureOf({
      ...base,
      guestRan: true,
      killedByUs: true,
      kvmFailure: 'KVM internal error, suberror 1 (emulation failure) at RIP 0xffffffff81000000: lock cmpxchg16b m128',
    });
    const b = startFailureOf({
      ...base,
      guestRan: true,
      killedByUs: true,
      kvmFailure: 'KVM internal error, suberror 1 (emulation failure) at RIP 0xffffffff81001234: lock cmpxchg16b m128',
    });
    expect(a).toEqual({ kind: 'kvm-failure', cause: 'KVM internal error, suberror 1 (emulation failure): lock cmpxchg16b m128' });
    expect(b).toEqual(a);
  });

  it("takes QEMU's last stderr line, not kvmbench's own notes", () => {
    expect(lastStderrLine('qemu: first\nqemu: last\n\nkvmbench: cannot execute x: not found\n')).toBe('qemu: last');
    expect(lastStderrLine('')).toBeUndefined();
  });
});
