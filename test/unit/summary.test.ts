import { describe, expect, it } from 'vitest';
import { quantileSorted, summarize } from '../../src/stats/summary.js';

describe('summarize', () => {
  it('matches hand-computed values', () => {
    // 1..10: mean 5.5, sample variance 55/6, median 5.5, type-7 p5 = 1 + 9*0.05 = 1.45
    const s = summarize([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect(s.n).toBe(10);
    expect(s.mean).toBe(5.5);
    expect(s.median).toBe(5.5);
    expect(s.stdev).toBeCloseTo(Math.sqrt(55 / 6), 12);
    expect(s.p5).toBeCloseTo(1.45, 12);
    expect(s.p95).toBeCloseTo(9.55, 12);
    expect(s.cv).toBeCloseTo(Math.sqrt(55 / 6) / 5.5, 12);
    expect([s.min, s.max]).toEqual([1, 10]);
  });

  it('handles one and zero samples without NaN', () => {
    expect(summarize([42])).toMatchObject({ n: 1, median: 42, stdev: 0, cv: 0, p5: 42, p95: 42 });
    expect(summarize([])).toMatchObject({ n: 0, median: 0 });
  });

  it('interpolates quantiles like numpy linear', () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileSorted([1, 2, 3, 4], 0.25)).toBe(1.75);
  });
});
