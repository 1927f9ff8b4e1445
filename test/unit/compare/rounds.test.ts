/**
 * Rounds as the unit of replication (src/compare/rounds.ts): the Student t distribution against
 * reference values, Welch's test and its interval agreeing by construction, and by seeded
 * simulation the reason rounds exist: when guests differ from each other more than the samples
 * of one guest do, the sample-level test calls identical variants different far more often than
 * α, and the round-level test does not, while still finding a real shift.
 */
import { describe, expect, it } from 'vitest';
import { compareRuns, type Comparison, type LabelledResults } from '../../../src/compare/compare.js';
import { normal, seededRng, type Rng } from '../../../src/compare/random.js';
import { DETECT_POWER } from '../../../src/compare/power.js';
import { incompleteBeta, logGamma, roundDetectableShift, roundMedians, splitRounds, tInv, tSf, welchRounds } from '../../../src/compare/rounds.js';
import { caseResult, makeResults, metric } from '../../helpers/results-fixture.js';

describe('Student t', () => {
  it('matches reference quantiles and tails (R: qt, pt)', () => {
    // qt(0.975, df) for df 1, 2, 4, 10, 30 and qt(0.9995, 4).
    const q: Array<[number, number, number]> = [
      [0.975, 1, 12.7062047],
      [0.975, 2, 4.30265273],
      [0.975, 4, 2.77644511],
      [0.975, 10, 2.22813885],
      [0.975, 30, 2.04227246],
      [0.9995, 4, 8.61030158],
      [0.9, 3.5, 1.5765766], // fractional df (Welch): by numerical integration of the density
    ];
    for (const [p, df, want] of q) expect(tInv(p, df), `qt(${p}, ${df})`).toBeCloseTo(want, 5);
    // 1 - pt(2, 3) and 1 - pt(5, 7), and the lower tail.
    expect(tSf(2, 3)).toBeCloseTo(0.0696629842, 8);
    expect(tSf(5, 7)).toBeCloseTo(0.00078264, 7);
    expect(tSf(-2, 3)).toBeCloseTo(1 - 0.0696629842, 8);
    expect(tSf(0, 5)).toBe(0.5);
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 12);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 12);
    expect(incompleteBeta(0.3, 2, 3)).toBeCloseTo(0.3483, 4);
  });
});

describe('splitting samples into rounds', () => {
  it('cuts by the recorded sizes and skips rounds without finite samples', () => {
    expect(splitRounds([1, 2, 3, 4, 5, 6], [2, 0, 4])).toEqual([[1, 2], [], [3, 4, 5, 6]]);
    expect(roundMedians([1, 2, 3, NaN, 10, 20, 30], [3, 1, 3])).toEqual([2, 20]);
  });
});

describe('Welch on round medians', () => {
  it('rejects at level 1 − L exactly when the L interval excludes no change (1,000 random cases)', () => {
    const rng = seededRng('welch-ci');
    let both = 0;
    for (let i = 0; i < 1000; i++) {
      const n1 = 3 + Math.floor(rng() * 4);
      const n2 = 3 + Math.floor(rng() * 4);
      const shift = (rng() - 0.5) * 0.2;
      const a = Array.from({ length: n1 }, () => 100 * Math.exp(0.05 * normal(rng)));
      const b = Array.from({ length: n2 }, () => 100 * Math.exp(shift + 0.05 * normal(rng)));
      const t = welchRounds(a, b, 0.95);
      const excludes = t.ci[0] > 0 || t.ci[1] < 0;
      expect(t.p < 0.05, `case ${i}: p ${t.p}, ci ${t.ci}`).toBe(excludes);
      expect(t.ci[0]).toBeLessThanOrEqual(t.change);
      expect(t.ci[1]).toBeGreaterThanOrEqual(t.change);
      if (excludes) both++;
    }
    expect(both).toBeGreaterThan(100); // both outcomes occur
    expect(both).toBeLessThan(900);
  });

  it('gives the ratio of geometric means, falls back to the linear scale at medians ≤ 0, and handles zero spread', () => {
    const t = welchRounds([100, 100, 100], [150, 150, 150]);
    expect(t).toMatchObject({ scale: 'log', p: 0 });
    expect(t.change).toBeCloseTo(0.5, 12);
    expect(t.ci[0]).toBeCloseTo(0.5, 12);
    expect(welchRounds([5, 5, 5], [5, 5, 5])).toMatchObject({ p: 1, change: 0 });
    const lin = welchRounds([-2, 0, 2], [8, 10, 12]);
    expect(lin.scale).toBe('linear');
    expect(lin.change).toBe(Number.POSITIVE_INFINITY); // base mean 0: no relative change
    const lin2 = welchRounds([-9, -10, -11], [-19, -20, -21]);
    expect(lin2.change).toBeCloseTo(-1, 12); // −20 against −10: −100 % of |base|
  });
});

/**
 * Runs where every guest has its own offset (between-guest CV `between`) and its samples scatter
 * around it (within-guest CV `within`). `rounds` guests a side, `n` samples each.
 */
function nestedRun(rng: Rng, label: string, o: { metrics: number; rounds: number; n: number; between: number; within: number; shift?: number }): LabelledResults {
  const metrics = Array.from({ length: o.metrics }, (_, i) => {
    const samples: number[] = [];
    for (let r = 0; r < o.rounds; r++) {
      const guest = 1000 * (i + 1) * Math.exp(o.between * normal(rng) + (o.shift ?? 0));
      for (let k = 0; k < o.n; k++) samples.push(guest * Math.exp(o.within * normal(rng)));
    }
    return metric(`m${i}.latency`, samples, o.rounds > 1 ? { rounds: Array.from({ length: o.rounds }, () => o.n) } : {});
  });
  return { label, results: makeResults([caseResult('sim/all', { metrics })]) };
}

function rates(trials: number, seed: string, o: Parameters<typeof nestedRun>[2], shift = 0): { exit4: number; detected: number; cmp: Comparison } {
  const rng = seededRng(seed);
  let exit4 = 0;
  let detected = 0;
  let cmp!: Comparison;
  for (let t = 0; t < trials; t++) {
    cmp = compareRuns([nestedRun(rng, 'A', o), nestedRun(rng, 'B', { ...o, shift })], { bootstrap: 50 });
    if (cmp.regressions > 0) exit4++;
    detected += cmp.pairs[0]!.metrics.filter((m) => m.verdict === 'regressed').length / o.metrics;
  }
  return { exit4: exit4 / trials, detected: detected / trials, cmp };
}

describe('guest-to-guest noise (A/A sessions)', () => {
  const TRIALS = 200;
  const BOUND = 0.05 + 2 * Math.sqrt((0.05 * 0.95) / TRIALS);
  const nested = { metrics: 10, n: 11, between: 0.08, within: 0.01 };

  it('one guest a side, samples as replicates: identical variants come out regressed far more often than α (the defect)', () => {
    const r = rates(TRIALS, 'pseudo', { ...nested, rounds: 1 });
    console.log(`one guest a side, 10 metrics, between-guest CV 8 %, within 1 %: exit 4 in ${(r.exit4 * 100).toFixed(1)} % of ${TRIALS} A/A sessions`);
    expect(r.exit4).toBeGreaterThan(0.3);
    expect(r.cmp.pairs[0]!.warnings.join(' ')).toMatch(/one guest: its samples are tested as if independent/);
  });

  it('three rounds a side, tested round against round: exit 4 stays within α, and every row says so', () => {
    const r = rates(TRIALS, 'rounds', { ...nested, rounds: 3 });
    console.log(`3 rounds a side, same noise: exit 4 in ${(r.exit4 * 100).toFixed(1)} % of ${TRIALS} A/A sessions (bound ${(BOUND * 100).toFixed(1)} %)`);
    expect(r.exit4).toBeLessThanOrEqual(BOUND);
    const p = r.cmp.pairs[0]!;
    expect(r.cmp.test).toBe('welch-rounds');
    expect(p.metrics.every((m) => m.test === 'welch' && m.replicate === 'round' && m.base.rounds === 3 && m.new.rounds === 3)).toBe(true);
    expect(p.warnings).toEqual([]);
    expect(p.power.unit).toBe('rounds');
  });

  it('five rounds a side find a planted 50 % slowdown with the power the power line states', () => {
    const o = { ...nested, rounds: 5 };
    const r = rates(100, 'rounds-power', o, Math.log(1.5));
    const stated = r.cmp.pairs[0]!.power.shift;
    console.log(`5 rounds a side, +50 % planted: regressed in ${(r.detected * 100).toFixed(1)} % of metrics; the power line's shift at ${DETECT_POWER * 100} % power: +${(stated * 100).toFixed(0)} %`);
    expect(r.detected).toBeGreaterThanOrEqual(0.85);
    // The stated detectable shift is in the neighbourhood of what the simulation shows.
    expect(stated).toBeGreaterThan(0.15);
    expect(stated).toBeLessThan(0.8);
  });

  it('boot figures (each sample its own guest) stay sample-level, pooled over rounds, without the warning', () => {
    const rng = seededRng('per-guest');
    const run = (label: string): LabelledResults => ({
      label,
      results: makeResults([caseResult('sim/boot', { metrics: [metric('boot.total', Array.from({ length: 33 }, () => 50 * Math.exp(0.05 * normal(rng))), { unit: 'ms', perGuest: true, rounds: [11, 11, 11] })] })]),
    });
    const cmp = compareRuns([run('A'), run('B')]);
    const m = cmp.pairs[0]!.metrics[0]!;
    expect(m).toMatchObject({ replicate: 'sample', perGuest: true });
    expect(m.test).not.toBe('welch');
    expect(m.base.n).toBe(33);
    expect(cmp.pairs[0]!.warnings).toEqual([]);
  });

  it('rounds on one side only, or fewer than three: samples are tested, and the row says why', () => {
    const rng = seededRng('uneven');
    const cmp = compareRuns([nestedRun(rng, 'A', { ...nested, metrics: 1, rounds: 2 }), nestedRun(rng, 'B', { ...nested, metrics: 1, rounds: 3 })]);
    const m = cmp.pairs[0]!.metrics[0]!;
    expect(m.replicate).toBe('sample');
    expect(m.notes.join(' ')).toMatch(/rounds 2 vs 3: fewer than 3 a side/);
  });
});

describe('the detectable shift for rounds', () => {
  it('grows with the noise and the family and is infinite without a measured spread', () => {
    const base = { se: 0.05, df: 4, family: 10, alpha: 0.05, noiseBand: 0.05, ciLevel: 0.95, power: 0.9 };
    const s = roundDetectableShift(base);
    expect(roundDetectableShift({ ...base, se: 0.1 })).toBeGreaterThan(s);
    expect(roundDetectableShift({ ...base, family: 100 })).toBeGreaterThan(s);
    expect(roundDetectableShift({ ...base, df: 0 })).toBe(Number.POSITIVE_INFINITY);
  });
});
