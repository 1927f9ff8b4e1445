import { describe, expect, it } from 'vitest';
import { decideExecution, EMULATED_MIN_TICKS, NATIVE_MAX_TICKS } from '../../../src/vmm/execution.js';

describe('native, emulated or TCG', () => {
  it('is tcg under TCG whatever was measured, and says there are no KVM statistics', () => {
    const e = decideExecution({ accel: 'tcg', nullLoopTicks: 5000 });
    expect(e.mode).toBe('tcg');
    expect(e.evidence[0]).toMatch(/no KVM statistics/);
  });

  it('reads an empty loop of a few ticks an iteration as native, thousands as emulated', () => {
    expect(decideExecution({ accel: 'kvm', nullLoopTicks: 1.2 }).mode).toBe('native');
    expect(decideExecution({ accel: 'kvm', nullLoopTicks: NATIVE_MAX_TICKS }).mode).toBe('native');
    // The PVM development host: about 2,200-8,500 ticks per iteration.
    const pvm = decideExecution({ accel: 'kvm', nullLoopTicks: 6611, source: 'a test' });
    expect(pvm.mode).toBe('emulated');
    expect(pvm.evidence.join('\n')).toMatch(/6,611 TSC ticks per iteration.*emulated/);
    expect(pvm.evidence.at(-1)).toBe('measured in a test');
    expect(decideExecution({ accel: 'kvm', nullLoopTicks: EMULATED_MIN_TICKS }).mode).toBe('emulated');
  });

  it('leaves the gap between the thresholds undecided rather than guess', () => {
    const e = decideExecution({ accel: 'kvm', nullLoopTicks: 80 });
    expect(e.mode).toBe('unknown');
    expect(e.evidence[0]).toMatch(/undecided/);
  });

  it("uses KVM's insn_emulation per empty-loop iteration", () => {
    expect(decideExecution({ accel: 'kvm', emulationsPerIteration: 0 }).mode).toBe('native');
    expect(decideExecution({ accel: 'kvm', emulationsPerIteration: 3.6 }).mode).toBe('emulated');
  });

  it('uses insn_emulation per exit over a whole boot', () => {
    // A natively booting kernel emulates about one instruction per MMIO exit at most.
    expect(decideExecution({ accel: 'kvm', totals: { insnEmulation: 1200, exits: 9000 } }).mode).toBe('native');
    // The field notes' PVM figure: 5,574,129 emulated instructions over 8,742 exits.
    expect(decideExecution({ accel: 'kvm', totals: { insnEmulation: 5_574_129, exits: 8742 } }).mode).toBe('emulated');
  });

  it('says unknown when measurements disagree, and when there are none', () => {
    const d = decideExecution({ accel: 'kvm', nullLoopTicks: 1, emulationsPerIteration: 3 });
    expect(d.mode).toBe('unknown');
    expect(d.evidence.at(-1)).toMatch(/disagree/);
    expect(decideExecution({ accel: 'kvm' })).toEqual({ mode: 'unknown', evidence: [expect.stringMatching(/no measurement/)] });
    expect(decideExecution({ accel: 'kvm', nullLoopTicks: NaN }).mode).toBe('unknown');
  });
});

describe('decideExecution with a short empty loop', () => {
  it('lets a loop of fewer than MIN_TIMING_ITERATIONS iterations give evidence but no vote', () => {
    // One level down under TCG: 8 iterations, 517 ticks each, KVM counted no emulation.
    const d = decideExecution({ accel: 'kvm', nullLoopTicks: 517, nullLoopIterations: 8, emulationsPerIteration: 0 });
    expect(d.mode).toBe('native');
    expect(d.evidence.join(' ')).toMatch(/no vote \(8 iterations, under 64/);
    expect(decideExecution({ accel: 'kvm', nullLoopTicks: 517, nullLoopIterations: 4096, emulationsPerIteration: 0 }).mode).toBe(
      'unknown',
    );
  });
});
