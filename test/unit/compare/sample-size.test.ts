import { describe, expect, it } from 'vitest';
import { MIN_SAMPLES_PER_SIDE } from '../../../src/compare/compare.js';
import { simulatePower } from '../../../src/compare/power.js';

describe('MIN_SAMPLES_PER_SIDE', () => {
  // A 30 % slowdown of one metric among 50, 10 % lognormal noise, Holm at α = 0.05:
  // the constant must reach 95 % detection and be the smallest n that does.
  it('is the smallest n per side that confirms a clear 30 % shift 95 % of the time', () => {
    expect(simulatePower(MIN_SAMPLES_PER_SIDE, { trials: 1000 })).toBeGreaterThanOrEqual(0.95);
    expect(simulatePower(MIN_SAMPLES_PER_SIDE - 1, { trials: 1000 })).toBeLessThan(0.95);
  });
});
