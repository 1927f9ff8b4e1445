import { describe, expect, it } from 'vitest';
import { bestSplit, changePoints, regularizedBeta, studentTwoSidedP } from '../../../src/history/change-points.js';
import { normal, seededRng } from '../../../src/stats/random.js';

function series(seed: string, n: number, cv: number, step?: { at: number; factor: number }): number[] {
  const rng = seededRng(seed);
  return Array.from({ length: n }, (_, i) => 100 * (step && i >= step.at ? step.factor : 1) * (1 + cv * normal(rng)));
}

describe('Student t and the incomplete beta', () => {
  it('match tabulated values', () => {
    expect(studentTwoSidedP(2.228, 10)).toBeCloseTo(0.05, 3); // t(0.975, 10)
    expect(studentTwoSidedP(1.96, 1e6)).toBeCloseTo(0.05, 3);
    expect(studentTwoSidedP(0, 5)).toBeCloseTo(1, 10);
    expect(regularizedBeta(0.5, 2, 2)).toBeCloseTo(0.5, 10);
  });
});

describe('E-Divisive means with a t-test', () => {
  it('finds a +20 % step at run 31 of 60 with 3 % noise within one run, for 20 seeds', () => {
    for (let s = 0; s < 20; s++) {
      const cps = changePoints(series(`step-${s}`, 60, 0.03, { at: 30, factor: 1.2 }));
      expect(cps).toHaveLength(1);
      expect(Math.abs(cps[0]!.index - 30)).toBeLessThanOrEqual(1);
      expect(cps[0]!.change).toBeGreaterThan(0.15);
      expect(cps[0]!.change).toBeLessThan(0.25);
    }
  });

  it('finds nothing on flat series of the same noise, for 50 seeds', () => {
    for (let s = 0; s < 200; s++) expect(changePoints(series(`flat-${s}`, 60, 0.03))).toEqual([]);
  });

  it('ignores a significant but small shift below the minimum magnitude', () => {
    const xs = series('small', 200, 0.01, { at: 100, factor: 1.03 });
    expect(changePoints(xs, { minMagnitude: 0.05 })).toEqual([]);
    expect(changePoints(xs, { minMagnitude: 0.02 }).map((c) => c.index)).toEqual([100]);
  });

  it('finds two steps, and gives the same answer every time', () => {
    const xs = series('two', 90, 0.02).map((v, i) => v * (i >= 30 ? 1.3 : 1) * (i >= 60 ? 0.8 : 1));
    const a = changePoints(xs);
    expect(a.map((c) => c.index)).toEqual([30, 60]);
    expect(changePoints(xs)).toEqual(a);
  });

  it('the incremental split search agrees with the statistic computed directly', () => {
    const xs = series('direct', 25, 0.05, { at: 11, factor: 1.5 });
    const direct = (tau: number) => {
      const X = xs.slice(0, tau);
      const Y = xs.slice(tau);
      let b = 0,
        w1 = 0,
        w2 = 0;
      for (const x of X) for (const y of Y) b += Math.abs(x - y);
      X.forEach((x, i) => X.slice(i + 1).forEach((x2) => (w1 += Math.abs(x - x2))));
      Y.forEach((y, i) => Y.slice(i + 1).forEach((y2) => (w2 += Math.abs(y - y2))));
      const m = X.length,
        k = Y.length;
      return ((m * k) / (m + k)) * ((2 * b) / (m * k) - w1 / ((m * (m - 1)) / 2) - w2 / ((k * (k - 1)) / 2));
    };
    let best = { tau: -1, q: -Infinity };
    for (let t = 3; t <= 22; t++) if (direct(t) > best.q) best = { tau: t, q: direct(t) };
    const got = bestSplit(xs, 0, xs.length, 3)!;
    expect(got.tau).toBe(best.tau);
    expect(got.q).toBeCloseTo(best.q, 8);
  });

  it('a series too short to split has no change point', () => {
    expect(changePoints([1, 2, 3, 4, 10, 11, 12, 13, 14])).toEqual([]);
  });
});
