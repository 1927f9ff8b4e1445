/**
 * The seeded Monte Carlo permutation p-value used beyond the exact limit (more than 30 samples a
 * side) when the samples hold ties: it must agree with the exact conditional p where both apply,
 * give the same p for the same seed, take over from the normal approximation only where it
 * should, and be precise enough where the Holm thresholds of the family need it.
 */
import { describe, expect, it } from 'vitest';
import { compareRuns } from '../../../src/compare/compare.js';
import { seededRng } from '../../../src/stats/random.js';
import {
  EXACT_MAX_N,
  MC_MAX_PERMUTATIONS,
  MC_TAIL_HITS,
  mannWhitney,
  minimumP,
  monteCarloRankSumP,
  ranks,
} from '../../../src/compare/stats.js';
import { caseResult, makeResults, metric } from '../../helpers/results-fixture.js';

/** n samples on a coarse grid (step 1 around `centre`), so that the two sides share many values. */
function tied(seed: string, n: number, centre: number, spread = 3): number[] {
  const rng = seededRng(seed);
  return Array.from({ length: n }, () => centre + Math.round((rng() - 0.5) * 2 * spread));
}

describe('Monte Carlo permutation p-values', () => {
  it('agree with the exact conditional p where both apply (tied samples up to 30 a side)', () => {
    let worst = 0;
    for (const [n1, n2, shift, seed] of [
      [8, 8, 1, 'a'],
      [12, 15, 0, 'b'],
      [20, 20, 1, 'c'],
      [30, 30, 0, 'd'],
      [30, 30, 1, 'e'],
      [25, 30, 2, 'f'],
      [10, 30, 1, 'g'],
    ] as const) {
      const a = tied(`${seed}-a`, n1, 100);
      const b = tied(`${seed}-b`, n2, 100 + shift);
      const exact = mannWhitney(a, b, { forceMethod: 'exact' });
      const mc = mannWhitney(a, b, { forceMethod: 'monte-carlo', mc: { rng: seededRng(`mc-${seed}`) } });
      expect(exact.ties).toBe(true);
      expect(mc.method).toBe('monte-carlo');
      // The sequential rule stops at MC_TAIL_HITS hits in the smaller tail: about ±14 % relative,
      // three standard errors here; p-values near 1 are capped alike.
      const tol = Math.max(0.45 * exact.p, 0.01);
      expect(Math.abs(mc.p - exact.p), `${n1}v${n2} shift ${shift}: exact ${exact.p}, mc ${mc.p}`).toBeLessThanOrEqual(tol);
      worst = Math.max(worst, Math.abs(Math.log(mc.p / exact.p)));
    }
    console.log(`Monte Carlo against exact, 7 tied cases up to 30 a side: worst |log ratio| ${worst.toFixed(3)}`);
  });

  it('is reproducible: the same seed gives the same p and the same number of splits, another seed nearly the same p', () => {
    const a = tied('r-a', 40, 50);
    const b = tied('r-b', 45, 51);
    const one = mannWhitney(a, b, { mc: { rng: seededRng('s1') } });
    const again = mannWhitney(a, b, { mc: { rng: seededRng('s1') } });
    const other = mannWhitney(a, b, { mc: { rng: seededRng('s2') } });
    expect(one.method).toBe('monte-carlo');
    expect(again.p).toBe(one.p);
    expect(again.permutations).toBe(one.permutations);
    expect(Math.abs(Math.log(other.p / one.p))).toBeLessThan(0.5);
    // Without an rng the default seed still makes it a function of the data.
    expect(mannWhitney(a, b).p).toBe(mannWhitney(a, b).p);
  });

  it('replaces the normal approximation beyond 30 a side only when there are ties', () => {
    const untiedA = Array.from({ length: 40 }, (_, i) => 100 + i * 0.37);
    const untiedB = Array.from({ length: 40 }, (_, i) => 103 + i * 0.41);
    expect(mannWhitney(untiedA, untiedB).method).toBe('normal');
    expect(mannWhitney(tied('x', 40, 10), tied('y', 40, 10)).method).toBe('monte-carlo');
    expect(mannWhitney(tied('x', EXACT_MAX_N, 10), tied('y', EXACT_MAX_N, 10)).method).toBe('exact');
  });

  it('agrees with the normal approximation on large tied samples near α (the approximation is good there)', () => {
    // 60 a side on 7 distinct values, shifted so that p lands around 0.01-0.1.
    const a = tied('n-a', 60, 20);
    const b = tied('n-b', 60, 21);
    const mc = mannWhitney(a, b, { forceMethod: 'monte-carlo', mc: { rng: seededRng('n') } });
    const normal = mannWhitney(a, b, { forceMethod: 'normal' });
    expect(Math.abs(Math.log(mc.p / normal.p)), `mc ${mc.p}, normal ${normal.p}`).toBeLessThan(0.35);
  });

  it('stops early for p far from zero and spends splits only where the smallest Holm threshold needs them', () => {
    const same = monteCarloRankSumP(
      ranksDoubled(tied('e-a', 50, 30), tied('e-b', 50, 30)),
      50,
      observed(tied('e-a', 50, 30), tied('e-b', 50, 30)),
      { rng: seededRng('e'), family: 100 },
    );
    expect(same.permutations).toBeLessThan(2_000);
    expect(same.p).toBeGreaterThan(0.05);
    // Complete separation of two tied samples: the true p (2 / C(100, 50) ~ 2e-29) is beyond any
    // Monte Carlo; the test stops once p is surely below α / (2 · family), long before the cap.
    const lo = Array.from({ length: 50 }, (_, i) => 10 + (i % 5));
    const hi = Array.from({ length: 50 }, (_, i) => 20 + (i % 5));
    for (const family of [1, 56, 500]) {
      const r = monteCarloRankSumP(ranksDoubled(lo, hi), 50, observed(lo, hi), { rng: seededRng('sep'), family, alpha: 0.05 });
      expect(r.p * family, `family ${family}`).toBeLessThan(0.05 / 2);
      expect(r.permutations).toBeLessThanOrEqual(Math.min(MC_MAX_PERMUTATIONS, Math.ceil((100 * family) / 0.05)));
      expect(r.p).toBeGreaterThanOrEqual(minimumP(50, 50));
    }
    // Elsewhere it runs until the smaller tail has MC_TAIL_HITS hits (p ≈ 2·hits/L), or to the cap.
    const near = mannWhitney(tied('t-a', 40, 10, 4), tied('t-b', 40, 11, 4), {
      forceMethod: 'monte-carlo',
      mc: { rng: seededRng('t'), family: 10 },
    });
    const cap = Math.ceil((100 * 10) / 0.05);
    expect(
      near.permutations === cap || Math.abs(near.p - (2 * MC_TAIL_HITS) / near.permutations!) < 1e-12,
      `p ${near.p} after ${near.permutations}`,
    ).toBe(true);
  });

  it('compare uses it per metric, seeded from --seed and the metric key, and says so', () => {
    const mk = (seed: string, shift: number) =>
      makeResults([
        caseResult('exits/cpuid', {
          metrics: [
            metric('cpuid.ticks', tied(`${seed}-t`, 40, 100 + shift), { unit: 'tsc_ticks' }),
            metric('cpuid.latency', tied(`${seed}-l`, 40, 50)),
          ],
        }),
      ]);
    const runs = [
      { label: 'base', results: mk('base', 0) },
      { label: 'new', results: mk('new', 10) },
    ];
    const one = compareRuns(runs, { seed: 7 });
    const two = compareRuns(runs, { seed: 7 });
    const rows = one.pairs[0]!.metrics;
    expect(rows.every((r) => r.test === 'monte-carlo' && (r.permutations ?? 0) > 0)).toBe(true);
    expect(rows.map((r) => r.p)).toEqual(two.pairs[0]!.metrics.map((r) => r.p));
    expect(rows.find((r) => r.name === 'cpuid.ticks')!.verdict).toBe('regressed');
  });
});

function ranksDoubled(a: readonly number[], b: readonly number[]): Int32Array {
  const { ranks: r } = ranks([...a, ...b]);
  return Int32Array.from(r, (v) => Math.round(2 * v));
}

function observed(a: readonly number[], b: readonly number[]): number {
  const { ranks: r } = ranks([...a, ...b]);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += r[i]!;
  return Math.round(2 * s);
}
