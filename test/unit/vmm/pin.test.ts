import { describe, expect, it } from 'vitest';
import { allowedCpus, parseCpuList, pinPlan } from '../../../src/vmm/pin.js';

describe('vCPU pinning (--pin)', () => {
  it('reads a kernel CPU list', () => {
    expect(parseCpuList('0-3,8,10-11')).toEqual([0, 1, 2, 3, 8, 10, 11]);
    expect(parseCpuList('5')).toEqual([5]);
    expect(parseCpuList('x')).toEqual([]);
  });

  it('puts vCPU k on the k-th allowed CPU, wrapping round', () => {
    expect(pinPlan(3, [2, 5])).toEqual([
      [0, 2],
      [1, 5],
      [2, 2],
    ]);
    expect(allowedCpus().length).toBeGreaterThan(0);
  });
});
