import { describe, expect, it } from 'vitest';
import {
  fixedSampling,
  lowerRank,
  medianInterval,
  parseDuration,
  parsePrecision,
  relativePrecision,
  shouldStop,
} from '../../../src/stats/precision.js';
import { median } from '../../../src/stats/summary.js';

/** Seeded lognormal draws (Box-Muller over mulberry32), so every run of the test sees the same data. */
function lognormal(seed: number, cv: number): () => number {
  let a = seed >>> 0;
  const u = (): number => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) + 1) / 4294967297;
  };
  const sigma = Math.sqrt(Math.log(1 + cv * cv));
  return () => 100 * Math.exp(sigma * Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()));
}

describe('the sign-test interval of the median', () => {
  it('uses the ranks of the binomial table (n=6: 1st and 6th; n=11: 2nd and 10th; n=20: 6th and 15th)', () => {
    expect(lowerRank(5)).toBe(0);
    expect(lowerRank(6)).toBe(1);
    expect(lowerRank(11)).toBe(2);
    expect(lowerRank(20)).toBe(6);
    expect(medianInterval([1, 2, 3, 4, 5])).toBeUndefined();
    expect(medianInterval([5, 1, 4, 2, 3, 6, 7, 8, 9, 10, 11])).toEqual({ low: 2, high: 10, level: 0.95 });
  });
  it('covers the true median at least 95 % of the time on skewed data', () => {
    const draw = lognormal(7, 0.4);
    let hits = 0;
    const trials = 2000;
    for (let t = 0; t < trials; t++) {
      const ci = medianInterval(Array.from({ length: 25 }, draw))!;
      if (ci.low <= 100 && 100 <= ci.high) hits++;
    }
    expect(hits / trials).toBeGreaterThan(0.94);
    expect(hits / trials).toBeLessThan(0.995);
  });
  it('gives the relative half-width, Infinity where no interval exists', () => {
    expect(relativePrecision([1, 2, 3])).toBe(Number.POSITIVE_INFINITY);
    expect(relativePrecision([98, 99, 100, 100, 100, 100, 100, 101, 102, 100, 100])).toBeCloseTo(0.01, 6);
  });
});

describe('the stopping rule', () => {
  it('stops on precision only from 11 samples on, and says so', () => {
    const tight = Array.from({ length: 10 }, () => 100);
    expect(shouldStop(tight, 0, { precision: 0.02, maxSamples: 100 })).toBeUndefined();
    const s = shouldStop([...tight, 100], 5, { precision: 0.02, maxSamples: 100 })!;
    expect(s).toMatchObject({ reason: 'precision', n: 11, target: 0.02 });
    expect(s.note).toBe('precision 0.0 % reached after 11 samples');
  });
  it('stops at the caps with the precision reached', () => {
    const noisy = Array.from({ length: 30 }, lognormal(3, 0.5));
    expect(shouldStop(noisy, 0, { precision: 0.01, maxSamples: 30 })).toMatchObject({ reason: 'max-samples', n: 30 });
    const t = shouldStop(noisy.slice(0, 12), 20_000, { precision: 0.01, maxSamples: 100, maxTimeMs: 20_000 })!;
    expect(t.reason).toBe('max-time');
    expect(t.note).toMatch(/^cap of 20 s reached at \d+\.\d % after 12 samples \(asked 1\.0 %\)$/);
  });
  it('records fixed and cut-short sampling', () => {
    expect(fixedSampling([1, 2, 3]).reason).toBe('fixed');
    expect(fixedSampling([1, 2, 3], { expected: 10, why: 'the guest stopped' })).toMatchObject({ reason: 'cut-short', n: 3 });
  });
  it('does not bias the median: stopped medians average within 1 % of the true median, as fixed-n medians do', () => {
    // Lognormal noise (median 100, CV 30 %), target 8 %, so the precision (not the cap) stops
    // every trial, at about 80 samples. The stopping time depends on the interval's width, which
    // on skewed noise correlates a little with where the median fell: this measures what that leaves.
    const trials = 200;
    let sum = 0,
      ns = 0;
    for (let t = 0; t < trials; t++) {
      const draw = lognormal(5000 + t, 0.3);
      const xs: number[] = [];
      let stop;
      while (!(stop = shouldStop(xs, 0, { precision: 0.08, maxSamples: 1000 }))) xs.push(draw());
      expect(stop.reason).toBe('precision');
      ns += xs.length;
      sum += median(xs);
    }
    expect(ns / trials).toBeGreaterThan(50);
    expect(Math.abs(sum / trials / 100 - 1)).toBeLessThan(0.01);
  });
});

describe('flag values', () => {
  it('reads precisions and durations', () => {
    expect(parsePrecision('3%')).toBeCloseTo(0.03);
    expect(parsePrecision('0.5%')).toBeCloseTo(0.005);
    expect(parsePrecision('0.02')).toBeCloseTo(0.02);
    expect(() => parsePrecision('fast')).toThrow(/percentage/);
    expect(() => parsePrecision('0%')).toThrow(/above 0/);
    expect(parseDuration('20s')).toBe(20_000);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1500ms')).toBe(1500);
    expect(parseDuration('7')).toBe(7000);
    expect(() => parseDuration('soon')).toThrow(/duration/);
  });
});
