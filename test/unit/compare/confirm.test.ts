/**
 * An inconclusive row says how many samples a side would confirm the change it shows, and the
 * figure is the inverse of detectableShift: at that n the change is detectable, one less it is not.
 * A comparison run at that n then confirms a planted change of that size most of the time.
 */
import { describe, expect, it } from 'vitest';
import { compareRuns } from '../../../src/compare/compare.js';
import { replicatesToConfirm } from '../../../src/compare/confirm.js';
import { detectableShift } from '../../../src/compare/power.js';
import { caseResult, makeResults, metric, samplesAround } from '../../helpers/results-fixture.js';

describe('replicates to confirm a change', () => {
  it('inverts detectableShift exactly', () => {
    for (const [change, cv, family] of [
      [0.3, 0.11, 1],
      [0.1, 0.05, 20],
      [0.5, 0.6, 50],
    ] as const) {
      const n = replicatesToConfirm({ change, cv, family, noiseBand: 0.05 })!;
      expect(detectableShift({ n1: n, n2: n, cv, family, noiseBand: 0.05 })).toBeLessThanOrEqual(change);
      expect(detectableShift({ n1: n - 1, n2: n - 1, cv, family, noiseBand: 0.05 })).toBeGreaterThan(change);
      // The guess from a row's own detectable shift changes the search, not the answer.
      for (const k of [6, 11, 40])
        expect(
          replicatesToConfirm({
            change,
            cv,
            family,
            noiseBand: 0.05,
            hint: { n: k, detectable: detectableShift({ n1: k, n2: k, cv, family, noiseBand: 0.05 }) },
          }),
        ).toBe(n);
    }
  });
  it('has no answer inside the noise band', () => {
    expect(replicatesToConfirm({ change: 0.04, cv: 0.1, family: 1, noiseBand: 0.05 })).toBeUndefined();
    expect(replicatesToConfirm({ change: Number.NaN, cv: 0.1, family: 1, noiseBand: 0.05 })).toBeUndefined();
  });
  it('an inconclusive +30 % row names the samples that confirm it, and at that n a planted +30 % is confirmed', () => {
    const run = (seed: string, scale: number, n: number) =>
      makeResults([caseResult('exits/cpuid', { metrics: [metric('cpuid.latency', samplesAround(seed, 100 * scale, n, 0.3))] })]);
    const first = compareRuns([
      { label: 'a', results: run('a', 1, 11) },
      { label: 'b', results: run('b', 1.3, 11) },
    ]);
    const row = first.pairs[0]!.metrics[0]!;
    expect(row.verdict).toBe('inconclusive');
    expect(row.toConfirm).toBeGreaterThan(11);
    expect(row.notes.join(' ')).toMatch(/about \d+ samples a side \(now 11 and 11\) would confirm a change of/);
    // With that many samples a side (the change it saw, its noise): confirmed in most seeds.
    const n = replicatesToConfirm({ change: 0.3, cv: row.cv!, family: 1, noiseBand: 0.05 })!;
    let hits = 0;
    for (let s = 0; s < 10; s++) {
      const c = compareRuns(
        [
          { label: 'a', results: run(`a${s}`, 1, n) },
          { label: 'b', results: run(`b${s}`, 1.3, n) },
        ],
        { bootstrap: 500 },
      );
      if (c.pairs[0]!.metrics[0]!.verdict === 'regressed') hits++;
    }
    expect(hits).toBeGreaterThanOrEqual(7);
  });
});
