import { describe, expect, it } from 'vitest';
import { MIN_SAMPLES_PER_SIDE } from '../../../src/compare/compare.js';
import { simulateEquivalence, simulatePower } from '../../../src/compare/power.js';

describe('MIN_SAMPLES_PER_SIDE', () => {
  // A 30 % slowdown of one metric among 50, 10 % lognormal noise, Holm at α = 0.05, and the
  // whole bootstrap CI above the 5 % band (compare's rule for "regressed"): the constant must
  // reach 95 % detection and be the smallest n that does.
  it('is the smallest n per side that confirms a clear 30 % shift 95 % of the time', () => {
    expect(simulatePower(MIN_SAMPLES_PER_SIDE, { trials: 1000 })).toBeGreaterThanOrEqual(0.95);
    expect(simulatePower(MIN_SAMPLES_PER_SIDE - 1, { trials: 1000 })).toBeLessThan(0.95);
  });
});

describe('unchanged is an equivalence claim', () => {
  // docs/compare.md's table: at the quick sample count only quiet metrics can be shown to lie
  // within a 5 % band; at 10 % noise an unchanged metric comes out inconclusive.
  it('needs low noise or many samples', () => {
    expect(simulateEquivalence(MIN_SAMPLES_PER_SIDE, { cv: 0.02, trials: 200 })).toBeGreaterThan(0.9);
    expect(simulateEquivalence(MIN_SAMPLES_PER_SIDE, { cv: 0.1, trials: 200 })).toBeLessThan(0.05);
    expect(simulateEquivalence(100, { cv: 0.1, trials: 200 })).toBeGreaterThan(0.4);
  });
});
