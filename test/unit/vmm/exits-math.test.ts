import { describe, expect, it } from 'vitest';
import { netTicksPerIteration, targetMicros } from '../../../src/cases/exits.js';
import { guestWord, machineArgs } from '../../../src/cases/micro.js';

describe('exit sample arithmetic', () => {
  it('subtracts the null loop and divides by the iteration count', () => {
    const s = netTicksPerIteration([
      { ticks: 1_000_000, base: 10_000, iters: 1000 },
      { ticks: 1_100_000, base: 20_000, iters: 1000 },
    ]);
    expect(s.netTicks).toEqual([990, 1080]);
    expect(s.baseTicks).toEqual([10, 20]);
    expect(s.iters).toBe(1000);
  });

  it('samples long on KVM, a small budget on TCG', () => {
    expect(targetMicros('kvm', false)).toBe(100_000);
    expect(targetMicros('tcg', true)).toBeLessThan(targetMicros('kvm', true));
  });

  it('tells the guest its machine', () => {
    expect(machineArgs('q35')).toEqual(['pmtimer=0x608']);
    expect(machineArgs('pc')).toEqual(['pmtimer=0x608']);
    expect(machineArgs('microvm')).toEqual(['nopic']);
  });

  it('refuses guest words that would split the command line', () => {
    expect(guestWord('test', 'cpuid')).toBe('test=cpuid');
    expect(() => guestWord('test', 'a b')).toThrow();
    expect(() => guestWord('test', 'x"y')).toThrow();
  });
});
