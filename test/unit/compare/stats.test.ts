import { describe, expect, it } from 'vitest';
import { seededRng } from '../../../src/stats/random.js';
import {
  bootstrapChangeCI,
  exactRankSumCounts,
  exactUCounts,
  geometricMean,
  holm,
  mannWhitney,
  minimumP,
  normalSf,
  ranks,
  resampleMedian,
  resampleMedianBruteForce,
  tieGroups,
} from '../../../src/compare/stats.js';

/** Largest U whose exact two-sided p is ≤ alpha: the table's critical value (−1 if none). */
function criticalU(n1: number, n2: number, alpha = 0.05): number {
  const counts = exactUCounts(n1, n2);
  const total = counts.reduce((s, c) => s + c, 0);
  let cum = 0;
  let crit = -1;
  for (let u = 0; u < counts.length; u++) {
    cum += counts[u]!;
    if (2 * (cum / total) <= alpha) crit = u;
    else break;
  }
  return crit;
}

/**
 * Two-sided p by brute force: every way of splitting the pooled values into n1 and n2, each
 * equally likely, U counted pair by pair (a > b scores 1, a = b scores ½), p = 2 · smaller tail.
 * Independent of ranks, midranks and the dynamic programme.
 */
function bruteForceP(a: readonly number[], b: readonly number[]): { p: number; splits: number } {
  const pooled = [...a, ...b];
  const n1 = a.length;
  const uOf = (x: readonly number[], y: readonly number[]): number => {
    let u = 0;
    for (const v of x) for (const w of y) u += v > w ? 1 : v === w ? 0.5 : 0;
    return u;
  };
  const observed = uOf(a, b);
  let below = 0;
  let above = 0;
  let splits = 0;
  const pick: number[] = [];
  const walk = (start: number): void => {
    if (pick.length === n1) {
      const x = pick.map((i) => pooled[i]!);
      const y = pooled.filter((_, i) => !pick.includes(i));
      const u = uOf(x, y);
      splits++;
      if (u <= observed + 1e-9) below++;
      if (u >= observed - 1e-9) above++;
      return;
    }
    for (let i = start; i < pooled.length; i++) {
      pick.push(i);
      walk(i + 1);
      pick.pop();
    }
  };
  walk(0);
  return { p: Math.min(1, (2 * Math.min(below, above)) / splits), splits };
}

describe('Mann-Whitney U', () => {
  it('exact null distribution matches hand counts', () => {
    // (3,3): the 20 arrangements give U = 0..9 with counts 1,1,2,3,3,3,3,2,1,1.
    expect(Array.from(exactUCounts(3, 3))).toEqual([1, 1, 2, 3, 3, 3, 3, 2, 1, 1]);
    expect(Array.from(exactUCounts(2, 2))).toEqual([1, 1, 2, 1, 1]);
    expect(Array.from(exactUCounts(4, 6)).reduce((s, c) => s + c, 0)).toBe(210); // C(10,4)
  });

  it('reproduces published two-sided α=0.05 critical values', () => {
    // Standard Mann-Whitney table (two-tailed, α = .05): n1=n2=4 → 0, 5 → 2, 6 → 5, 7 → 8, 8 → 13, 10 → 23, 20 → 127; (5,10) → 8.
    const table: Array<[number, number, number]> = [
      [4, 4, 0],
      [5, 5, 2],
      [6, 6, 5],
      [7, 7, 8],
      [8, 8, 13],
      [10, 10, 23],
      [20, 20, 127],
      [5, 10, 8],
    ];
    for (const [a, b, crit] of table) expect(criticalU(a, b), `n1=${a} n2=${b}`).toBe(crit);
  });

  it('gives hand-computed exact p-values', () => {
    const sep = mannWhitney([1, 2, 3], [4, 5, 6]);
    expect(sep).toMatchObject({ u: 0, method: 'exact' });
    expect(sep.p).toBeCloseTo(0.1, 12); // 2 × 1/20
    const mixed = mannWhitney([1, 3, 5], [2, 4, 6]);
    expect(mixed.u).toBe(3);
    expect(mixed.p).toBeCloseTo(0.7, 12); // 2 × P(U ≤ 3) = 2 × 7/20
    expect(mannWhitney([4, 5, 6], [1, 2, 3]).p).toBeCloseTo(0.1, 12); // symmetric
    expect(minimumP(5, 5)).toBeCloseTo(2 / 252, 14);
  });

  it('normal approximation with ties matches a hand computation', () => {
    // Pooled ranks: 1 | 2,2,2 → 3 | 3,3 → 5.5 | 4,4 → 7.5. R1 = 12.5, U = 2.5, μ = 8,
    // σ² = (16/12)(9 − 36/56) = 11.142857, z = (5.5 − 0.5)/3.338092 = 1.497862, p = 0.13416.
    const r = mannWhitney([1, 2, 2, 3], [2, 3, 4, 4], { forceMethod: 'normal' });
    expect(r.method).toBe('normal');
    expect(r.ties).toBe(true);
    expect(r.u).toBe(2.5);
    expect(r.z).toBeCloseTo(-1.497862, 5);
    expect(r.p).toBeCloseTo(0.13416, 4);
    expect(ranks([2, 1, 2]).tieTerm).toBe(6);
    // At this size the test itself is exact: 7 of the C(8,4) = 70 splits have U ≤ 2.5 → p = 14/70.
    const exact = mannWhitney([1, 2, 2, 3], [2, 3, 4, 4]);
    expect(exact.method).toBe('exact');
    expect(exact.p).toBeCloseTo(14 / 70, 12);
    expect(exact.p).toBeCloseTo(bruteForceP([1, 2, 2, 3], [2, 3, 4, 4]).p, 12);
  });

  it('with ties and small n: the exact conditional p-value, as brute-force enumeration gives it', () => {
    // Issue 11's case: five equal values against five larger equal values. The normal
    // approximation with tie correction said 0.0040; every one of the C(10,5) = 252 splits is
    // equally likely and only the observed one and its mirror are as extreme: 2/252 = 0.0079.
    const sep = mannWhitney([7, 7, 7, 7, 7], [9, 9, 9, 9, 9]);
    expect(sep.method).toBe('exact');
    expect(sep.ties).toBe(true);
    expect(bruteForceP([7, 7, 7, 7, 7], [9, 9, 9, 9, 9])).toEqual({ p: 2 / 252, splits: 252 });
    expect(sep.p).toBeCloseTo(2 / 252, 12);
    expect(sep.p).toBeGreaterThanOrEqual(minimumP(5, 5) - 1e-15); // never below the too-few rule's floor
    expect(mannWhitney([7, 7, 7, 7, 7], [9, 9, 9, 9, 9], { forceMethod: 'normal' }).p).toBeCloseTo(2 / 252, 12); // clamped to that floor
    // 5 vs 5 with ties inside and between the samples: U = 4 (3 vs 3 and 5 vs 5 score ½ each);
    // 14 of the 252 splits have U ≤ 4, so p = 28/252 = 1/9 (enumerated by hand-written brute force).
    const a = [1, 2, 2, 3, 5];
    const b = [3, 4, 4, 5, 6];
    const bf = bruteForceP(a, b);
    expect(bf.splits).toBe(252);
    expect(bf.p).toBeCloseTo(28 / 252, 12);
    expect(mannWhitney(a, b).u).toBe(4);
    expect(mannWhitney(a, b).p).toBeCloseTo(bf.p, 12);
  });

  it('exact conditional p-values agree with brute force on random tied samples', () => {
    const rng = seededRng('ties');
    for (let t = 0; t < 60; t++) {
      const n1 = 2 + Math.floor(rng() * 5);
      const n2 = 2 + Math.floor(rng() * 5);
      const levels = 2 + Math.floor(rng() * 4); // few distinct values: many ties
      const draw = (n: number, shift: number): number[] => Array.from({ length: n }, () => Math.floor(rng() * levels) + shift);
      const a = draw(n1, 0);
      const b = draw(n2, t % 3 === 0 ? 1 : 0);
      expect(mannWhitney(a, b).p, `${a} | ${b}`).toBeCloseTo(bruteForceP(a, b).p, 12);
    }
  });

  it('the rank-sum distribution given ties sums to C(N, n1) and matches the recurrence without ties', () => {
    const c = exactRankSumCounts([2, 3, 1, 4], 4);
    expect(Array.from(c).reduce((s, v) => s + v, 0)).toBe(210); // C(10, 4)
    const noTies = exactRankSumCounts(new Array(9).fill(1), 4); // doubled rank sum 2·(U + 10)
    const u = exactUCounts(4, 5);
    for (let k = 0; k < u.length; k++) expect(noTies[2 * (k + 10)], `U=${k}`).toBe(u[k]);
    expect(tieGroups([3, 1, 3, 2, 3])).toEqual([1, 1, 3]);
  });

  it('normal tail is accurate', () => {
    expect(normalSf(1.959964)).toBeCloseTo(0.025, 6);
    expect(normalSf(0)).toBeCloseTo(0.5, 7);
    expect(normalSf(-1)).toBeCloseTo(0.841345, 6);
  });

  it('exact and normal agree for moderate samples', () => {
    const rng = seededRng(7);
    const a = Array.from({ length: 25 }, () => rng());
    const b = Array.from({ length: 25 }, () => rng() + 0.2);
    const ex = mannWhitney(a, b, { forceMethod: 'exact' }).p;
    const no = mannWhitney(a, b, { forceMethod: 'normal' }).p;
    expect(Math.abs(ex - no)).toBeLessThan(0.01);
  });
});

describe('Holm', () => {
  it('matches a hand computation and stays monotone', () => {
    // sorted 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → max so far 0.06.
    const adj = holm([0.01, 0.04, 0.03, 0.005]);
    expect(adj.map((v) => +v.toFixed(10))).toEqual([0.03, 0.06, 0.06, 0.02]);
    expect(holm([0.02, 0.9])).toEqual([0.04, 0.9]);
    expect(holm([0.5, 0.9])).toEqual([1, 1]); // capped at 1
  });
});

describe('bootstrap', () => {
  it('O(1) resample median has the distribution of resampling and sorting', () => {
    for (const n of [2, 3, 10, 11, 40]) {
      const sorted = Array.from({ length: n }, (_, i) => i * i); // distinct, uneven gaps
      const draws = 20000;
      const fast = new Map<number, number>();
      const slow = new Map<number, number>();
      const r1 = seededRng(`fast${n}`);
      const r2 = seededRng(`slow${n}`);
      for (let i = 0; i < draws; i++) {
        const a = resampleMedian(sorted, r1);
        const b = resampleMedianBruteForce(sorted, r2);
        fast.set(a, (fast.get(a) ?? 0) + 1);
        slow.set(b, (slow.get(b) ?? 0) + 1);
      }
      // Largest gap between the two empirical CDFs (Kolmogorov-Smirnov distance).
      const values = [...new Set([...fast.keys(), ...slow.keys()])].sort((x, y) => x - y);
      let cf = 0;
      let cs = 0;
      let ks = 0;
      for (const v of values) {
        cf += fast.get(v) ?? 0;
        cs += slow.get(v) ?? 0;
        ks = Math.max(ks, Math.abs(cf - cs) / draws);
      }
      // Two-sample KS critical value at α = 0.001 for 20000 + 20000 draws is ≈ 0.0195.
      expect(ks, `n=${n}`).toBeLessThan(0.0195);
    }
  });

  it('is reproducible with a seed and covers the true change', () => {
    const rng = seededRng('data');
    const a = Array.from({ length: 50 }, () => 100 + 10 * rng());
    const b = a.map((v) => v * 1.1);
    const ci1 = bootstrapChangeCI(a, b, seededRng(1));
    const ci2 = bootstrapChangeCI(a, b, seededRng(1));
    expect(ci1).toEqual(ci2);
    expect(ci1[0]).toBeLessThan(0.1);
    expect(ci1[1]).toBeGreaterThan(0.1);
    expect(ci1[1] - ci1[0]).toBeLessThan(0.15);
  });

  it('geometric mean', () => {
    expect(geometricMean([1, 4])).toBeCloseTo(2, 12);
    expect(geometricMean([2, 8, 4])).toBeCloseTo(4, 12);
  });
});
