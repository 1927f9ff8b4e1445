/**
 * Several NEW runs in one command: the correction spans every metric of every pair, so with no
 * real change `--fail-on-regression` (exit 4) fires in no more than α of the comparisons.
 */
import { describe, expect, it } from 'vitest';
import { compareRuns, type Comparison, type LabelledResults } from '../../../src/compare/compare.js';
import { normal, seededRng } from '../../../src/stats/random.js';
import { caseResult, makeResults, metric } from '../../helpers/results-fixture.js';

const METRICS = 20;
const NEW_RUNS = 5;
const N = 11;
const TRIALS = 300;
const ALPHA = 0.05;
// α plus two binomial standard errors over TRIALS: √(0.05·0.95/300) ≈ 0.0126.
const BOUND = ALPHA + 2 * Math.sqrt((ALPHA * (1 - ALPHA)) / TRIALS);

/** Rates over `trials` null comparisons (1 BASE, NEW_RUNS NEW, all from the same distribution). */
function nullRates(compare: (runs: LabelledResults[]) => Comparison[], trials = TRIALS): { exit4: number; anyRejected: number } {
  const rng = seededRng('family-null');
  const run = (label: string): LabelledResults => ({
    label,
    results: makeResults([
      caseResult('sim/all', {
        metrics: Array.from({ length: METRICS }, (_, i) =>
          metric(
            `m${i}.latency`,
            Array.from({ length: N }, () => 1000 * (i + 1) * Math.exp(0.1 * normal(rng))),
          ),
        ),
      }),
    ]),
  });
  let exit4 = 0;
  let anyRejected = 0;
  for (let t = 0; t < trials; t++) {
    const runs = [run('base'), ...Array.from({ length: NEW_RUNS }, (_, k) => run(`new${k}`))];
    const cmps = compare(runs);
    if (cmps.some((c) => c.regressions > 0)) exit4++;
    if (cmps.some((c) => c.pairs.some((p) => p.metrics.some((m) => m.pAdjusted < ALPHA)))) anyRejected++;
  }
  return { exit4: exit4 / trials, anyRejected: anyRejected / trials };
}

// Noise band 0: any confirmed shift is a regression, so only the correction holds the rate.
// A short bootstrap keeps the test fast; the interval only matters for the rare rejections.
const opts = { noiseBand: 0, bootstrap: 20, alpha: ALPHA };

describe('several NEW runs', () => {
  it('one Holm family over all pairs: with no real change exit 4 stays within α', () => {
    const cmp = compareRuns(
      [0, 1, 2].map((k) => ({
        label: `r${k}`,
        results: makeResults([
          caseResult('sim/all', { metrics: [metric('a', [1, 2, 3, 4, 5, 6]), metric('b', [2, 3, 4, 5, 6, 7])] }),
        ]),
      })),
    );
    expect(cmp.family).toBe(4); // 2 metrics × 2 pairs
    const { exit4, anyRejected } = nullRates((runs) => [compareRuns(runs, opts)]);
    console.log(
      `null, ${NEW_RUNS} NEW runs × ${METRICS} metrics, ${TRIALS} trials: exit 4 in ${(exit4 * 100).toFixed(1)} %, any rejection in ${(anyRejected * 100).toFixed(1)} % (bound ${(BOUND * 100).toFixed(1)} %)`,
    );
    expect(exit4).toBeLessThanOrEqual(BOUND);
    expect(anyRejected).toBeLessThanOrEqual(BOUND);
    expect(anyRejected).toBeGreaterThan(0); // not degenerate: the test does reject sometimes
  }, 120_000); // 300 trials of 5 pairs: CPU-bound, slow on a loaded 2-core machine

  it('corrected per pair instead, the same data breaks the bound (the check above can fail)', () => {
    const { anyRejected } = nullRates(([base, ...others]) => others.map((o) => compareRuns([base!, o], opts)), 150);
    console.log(`null, per-pair correction: any rejection in ${(anyRejected * 100).toFixed(1)} %`);
    expect(anyRejected).toBeGreaterThan(BOUND);
  }, 120_000);
});
