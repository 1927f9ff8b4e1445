/**
 * Rounds as the unit of replication (src/compare/rounds.ts): round medians through the exact
 * Mann-Whitney test, the Hodges–Lehmann shift with its test-inverted interval agreeing with the
 * test, and by seeded simulation the reason rounds exist: when guests differ from each other more
 * than the samples of one guest do, the sample-level test calls identical variants different far
 * more often than α, and the round-level test does not, while still finding a real shift.
 */
import { describe, expect, it } from 'vitest';
import { compareRuns, type Comparison, type LabelledResults } from '../../../src/compare/compare.js';
import { normal, seededRng, type Rng } from '../../../src/stats/random.js';
import { DETECT_POWER } from '../../../src/compare/power.js';
import { hodgesLehmann, roundMedians, splitRounds } from '../../../src/compare/rounds.js';
import { mannWhitney } from '../../../src/compare/stats.js';
import { caseResult, makeResults, metric } from '../../helpers/results-fixture.js';

describe('splitting samples into rounds', () => {
  it('cuts by the recorded sizes and skips rounds without finite samples', () => {
    expect(splitRounds([1, 2, 3, 4, 5, 6], [2, 0, 4])).toEqual([[1, 2], [], [3, 4, 5, 6]]);
    expect(roundMedians([1, 2, 3, NaN, 10, 20, 30], [3, 1, 3])).toEqual([2, 20]);
  });
});

describe('Hodges–Lehmann shift of round medians', () => {
  it('excludes no change exactly when the exact Mann-Whitney test rejects at 5 % (1,000 random cases)', () => {
    const rng = seededRng('hl-ci');
    let rejected = 0;
    for (let i = 0; i < 1000; i++) {
      const n1 = 4 + Math.floor(rng() * 5);
      const n2 = 4 + Math.floor(rng() * 5);
      const shift = (rng() - 0.5) * 0.3;
      const a = Array.from({ length: n1 }, () => 100 * Math.exp(0.05 * normal(rng)));
      const b = Array.from({ length: n2 }, () => 100 * Math.exp(shift + 0.05 * normal(rng)));
      const hl = hodgesLehmann(a, b, 0.95);
      const excludes = hl.ci[0] > 0 || hl.ci[1] < 0;
      expect(mannWhitney(a, b).p < 0.05, `case ${i}: ci ${hl.ci}`).toBe(excludes);
      expect(hl.ci[0]).toBeLessThanOrEqual(hl.change);
      expect(hl.ci[1]).toBeGreaterThanOrEqual(hl.change);
      if (excludes) rejected++;
    }
    expect(rejected).toBeGreaterThan(100); // both outcomes occur
    expect(rejected).toBeLessThan(900);
  });

  it('gives the ratio for a pure scale change, the linear shift relative to |base| at values ≤ 0, and no interval 3 vs 3', () => {
    const a = [90, 100, 110, 120];
    const hl = hodgesLehmann(
      a,
      a.map((v) => v * 1.5),
    );
    expect(hl.scale).toBe('log');
    expect(hl.change).toBeCloseTo(0.5, 12);
    const lin = hodgesLehmann([-12, -10, -8, -11], [-22, -20, -18, -21]);
    expect(lin.scale).toBe('linear');
    expect(lin.change).toBeCloseTo(-10 / 10.5, 12);
    expect(hodgesLehmann([1, 2, 3], [4, 5, 6]).ci.every(Number.isNaN)).toBe(true); // 2/C(6,3) = 0.1 > 0.05
  });
});

/**
 * Runs where every guest has its own offset (between-guest CV `between`) and its samples scatter
 * around it (within-guest CV `within`). `rounds` guests a side, `n` samples each.
 */
function nestedRun(
  rng: Rng,
  label: string,
  o: { metrics: number; rounds: number; n: number; between: number; within: number; shift?: number },
): LabelledResults {
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

function rates(
  trials: number,
  seed: string,
  o: Parameters<typeof nestedRun>[2],
  shift = 0,
): { exit4: number; detected: number; cmp: Comparison } {
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
    console.log(
      `one guest a side, 10 metrics, between-guest CV 8 %, within 1 %: exit 4 in ${(r.exit4 * 100).toFixed(1)} % of ${TRIALS} A/A sessions`,
    );
    expect(r.exit4).toBeGreaterThan(0.3);
    expect(r.cmp.pairs[0]!.warnings.join(' ')).toMatch(/one guest: its samples are tested as if independent/);
  });

  it('seven rounds a side, tested round against round: exit 4 stays within α, and every row says so', () => {
    const r = rates(TRIALS, 'rounds', { ...nested, rounds: 7 });
    console.log(
      `7 rounds a side, same noise: exit 4 in ${(r.exit4 * 100).toFixed(1)} % of ${TRIALS} A/A sessions (bound ${(BOUND * 100).toFixed(1)} %)`,
    );
    expect(r.exit4).toBeLessThanOrEqual(BOUND);
    const p = r.cmp.pairs[0]!;
    expect(r.cmp.replicates).toBe('rounds');
    expect(
      p.metrics.every((m) => m.test === 'exact' && m.replicate === 'round' && m.base.rounds === 7 && m.new.rounds === 7),
    ).toBe(true);
    expect(p.warnings).toEqual([]);
    expect(p.power.unit).toBe('rounds');
  });

  it('the same with guests in two modes (half fast, half 70 % slower): still within α', () => {
    const rng = seededRng('bimodal');
    let exit4 = 0;
    const run = (label: string): LabelledResults => ({
      label,
      results: makeResults([
        caseResult('sim/all', {
          metrics: Array.from({ length: 6 }, (_, i) => {
            const samples: number[] = [];
            for (let r = 0; r < 7; r++) {
              const guest = 1000 * (i + 1) * (rng() < 0.5 ? 1 : 1.7);
              for (let k = 0; k < 11; k++) samples.push(guest * Math.exp(0.01 * normal(rng)));
            }
            return metric(`m${i}.latency`, samples, { rounds: Array.from({ length: 7 }, () => 11) });
          }),
        }),
      ]),
    });
    for (let t = 0; t < TRIALS; t++) if (compareRuns([run('A'), run('B')], { bootstrap: 50 }).regressions > 0) exit4++;
    console.log(`7 rounds a side, bimodal guests: exit 4 in ${((exit4 / TRIALS) * 100).toFixed(1)} % of ${TRIALS} A/A sessions`);
    expect(exit4 / TRIALS).toBeLessThanOrEqual(BOUND);
  });

  it('seven rounds a side find a planted 50 % slowdown, and the power line states a shift in reach', () => {
    const o = { ...nested, rounds: 7 };
    const r = rates(100, 'rounds-power', o, Math.log(1.5));
    const stated = r.cmp.pairs[0]!.power.shift;
    console.log(
      `7 rounds a side, +50 % planted: regressed in ${(r.detected * 100).toFixed(1)} % of metrics; the power line's shift at ${DETECT_POWER * 100} % power: +${(stated * 100).toFixed(0)} %`,
    );
    expect(r.detected).toBeGreaterThanOrEqual(0.85);
    expect(stated).toBeGreaterThan(0.1);
    expect(stated).toBeLessThan(0.5);
  });

  it('too few rounds for the family: too-few with the rounds needed, not a guess', () => {
    const rng = seededRng('few');
    const cmp = compareRuns([nestedRun(rng, 'A', { ...nested, rounds: 4 }), nestedRun(rng, 'B', { ...nested, rounds: 4 })]);
    const m = cmp.pairs[0]!.metrics[0]!;
    expect(m).toMatchObject({ verdict: 'too-few', replicate: 'round', needed: 6 }); // 2/C(12,6) < 0.05/10
  });

  it('boot figures (each sample its own guest) stay sample-level, pooled over rounds, without the warning', () => {
    const rng = seededRng('per-guest');
    const run = (label: string): LabelledResults => ({
      label,
      results: makeResults([
        caseResult('sim/boot', {
          metrics: [
            metric(
              'boot.total',
              Array.from({ length: 33 }, () => 50 * Math.exp(0.05 * normal(rng))),
              { unit: 'ms', perGuest: true, rounds: [11, 11, 11] },
            ),
          ],
        }),
      ]),
    });
    const cmp = compareRuns([run('A'), run('B')]);
    const m = cmp.pairs[0]!.metrics[0]!;
    expect(m).toMatchObject({ replicate: 'sample', perGuest: true });
    expect(m.base.n).toBe(33);
    expect(cmp.pairs[0]!.warnings).toEqual([]);
  });

  it('rounds on one side only, or fewer than three: samples are tested, and the row says why', () => {
    const rng = seededRng('uneven');
    const cmp = compareRuns([
      nestedRun(rng, 'A', { ...nested, metrics: 1, rounds: 2 }),
      nestedRun(rng, 'B', { ...nested, metrics: 1, rounds: 3 }),
    ]);
    const m = cmp.pairs[0]!.metrics[0]!;
    expect(m.replicate).toBe('sample');
    expect(m.notes.join(' ')).toMatch(/rounds 2 vs 3: fewer than 3 a side/);
  });
});
