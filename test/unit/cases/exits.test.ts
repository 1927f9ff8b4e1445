import { describe, expect, it } from 'vitest';
import { netTicksPerIteration, targetMicros } from '../../../src/cases/exits.js';
import { guestWord, machineArgs, machineOptionsOf } from '../../../src/cases/micro.js';
import type { CaseSpec } from '../../../src/cases/types.js';

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

describe('machine_options', () => {
  const spec = (v?: string): CaseSpec => ({
    id: 'x',
    suite: 's',
    kind: 'boot-micro',
    machine: 'microvm',
    accel: ['tcg'],
    vcpus: 1,
    memoryMiB: 64,
    args: v === undefined ? {} : { machine_options: v },
    repeat: 1,
    deadlineSec: 1,
    tags: [],
    requires: [],
  });
  it('turns key=value items into machine properties', () => {
    expect(machineOptionsOf(spec('pit=off, rtc=off'))).toEqual({ pit: 'off', rtc: 'off' });
    expect(machineOptionsOf(spec())).toBeUndefined();
  });
  it('rejects items that could smuggle other options', () => {
    expect(machineOptionsOf(spec('pit=off,,rtc=off'))).toEqual({ pit: 'off', rtc: 'off' }); // empty items are dropped
    expect(() => machineOptionsOf(spec('pit=off,x'))).toThrow(/key=value/);
    expect(() => machineOptionsOf(spec('pit'))).toThrow(/key=value/);
    expect(() => machineOptionsOf(spec('a=b=c'))).toThrow();
  });
});
