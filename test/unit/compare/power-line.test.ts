/**
 * The power line of every compare summary: the smallest shift a comparison could confirm at 90 %
 * power, from its own sample counts, measured noise and family size. The closed form
 * (detectableShift) is checked against compare's own decision rule by simulation (simulatePower),
 * and the line must appear in every view.
 */
import { describe, expect, it } from 'vitest';
import { compareRuns } from '../../../src/compare/compare.js';
import { DETECT_POWER, detectableShift, normalQuantile, robustCv, simulatePower, tQuantile } from '../../../src/compare/power.js';
import { seededRng, normal } from '../../../src/stats/random.js';
import { powerLine, renderComparison } from '../../../src/report/compare/index.js';
import { caseResult, makeResults, metric, samplesAround } from '../../helpers/results-fixture.js';

describe('detectableShift', () => {
  it('is the shift compare confirms with about 90 % probability (closed form against simulation)', () => {
    // n, metrics in the family, CV: the shipped quick count with the family of a quick run, a
    // larger sample with more noise, and a big family.
    for (const [n, m, cv] of [
      [11, 56, 0.1],
      [20, 50, 0.2],
      [11, 200, 0.1],
    ] as const) {
      const shift = detectableShift({ n1: n, n2: n, cv, family: m });
      const power = simulatePower(n, { shift, cv, metrics: m, trials: 300, bootstrap: 1000, seed: `power-line:${n}:${m}:${cv}` });
      console.log(
        `n=${n}, ${m} metrics, CV ${cv * 100} %: detectable +${(shift * 100).toFixed(1)} %, simulated power there ${power.toFixed(3)}`,
      );
      // The closed form is slightly optimistic where few samples meet a big family (the exact
      // test's discreteness): 0.81 at 11 samples and 200 metrics, the worst case in docs/compare.md.
      expect(power, `n=${n} m=${m} cv=${cv}`).toBeGreaterThanOrEqual(DETECT_POWER - 0.1);
      expect(power, `n=${n} m=${m} cv=${cv}`).toBeLessThanOrEqual(DETECT_POWER + 0.07);
    }
  }, 60_000);

  it('grows with noise and the family, shrinks with samples, and is the band for noiseless metrics', () => {
    const base = { n1: 11, n2: 11, cv: 0.1, family: 50 };
    const s = detectableShift(base);
    expect(detectableShift({ ...base, cv: 0.2 })).toBeGreaterThan(s);
    expect(detectableShift({ ...base, family: 500 })).toBeGreaterThan(s);
    expect(detectableShift({ ...base, n1: 30, n2: 30 })).toBeLessThan(s);
    expect(detectableShift({ ...base, cv: 0 })).toBeCloseTo(0.05, 12);
    // Too few samples for any verdict with this family: nothing can be confirmed.
    expect(detectableShift({ ...base, n1: 4, n2: 4 })).toBe(Number.POSITIVE_INFINITY);
  });

  it('takes quantiles that match tables', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.9)).toBeCloseTo(1.281552, 5);
    expect(normalQuantile(1 - 0.0005)).toBeCloseTo(3.290527, 4);
    expect(normalQuantile(1e-6)).toBeCloseTo(-4.753424, 4);
    expect(tQuantile(0.975, 10)).toBeCloseTo(2.228, 2);
    expect(tQuantile(0.975, 20)).toBeCloseTo(2.086, 2);
  });
});

describe('robustCv', () => {
  it('measures lognormal noise, ignores the shift between the sides and a few wild samples', () => {
    const rng = seededRng('cv');
    const sigma = Math.sqrt(Math.log(1 + 0.1 ** 2));
    const a = Array.from({ length: 400 }, () => 100 * Math.exp(sigma * normal(rng)));
    const b = Array.from({ length: 400 }, () => 300 * Math.exp(sigma * normal(rng)));
    expect(robustCv(a, b)).toBeCloseTo(0.1, 1);
    const wild = [...a.slice(0, 390), ...Array(10).fill(1e6)];
    expect(robustCv(wild, b)).toBeCloseTo(0.1, 1);
    expect(robustCv([5, 5, 5], [5, 5])).toBe(0);
  });
});

describe('the power line', () => {
  const run = (seed: string, slower: number) =>
    makeResults([
      caseResult('exits/cpuid', { metrics: [metric('cpuid.latency', samplesAround(`${seed}-c`, 1500 * slower, 11, 0.1))] }),
      caseResult('exits/vmcall', { metrics: [metric('vmcall.latency', samplesAround(`${seed}-v`, 2500, 11, 0.02))] }),
      caseResult('boot-micro/microvm', {
        metrics: [metric('boot.spawn_to_exit', samplesAround(`${seed}-b`, 150, 11, 0.3), { unit: 'ms' })],
      }),
    ]);
  const cmp = compareRuns([
    { label: 'base', results: run('b', 1) },
    { label: 'new', results: run('n', 1.3) },
  ]);
  const p = cmp.pairs[0]!;

  it('summarises the tested rows: family, samples a side, median CV and detectable shift, the range', () => {
    expect(p.power.family).toBe(3);
    expect(p.power.rows).toBe(3);
    expect(p.power.n).toEqual([11, 11]);
    expect(p.power.range[0]).toBeLessThan(p.power.shift);
    expect(p.power.range[1]).toBeGreaterThan(p.power.shift);
    for (const r of p.metrics)
      expect(r.detectable).toBe(detectableShift({ n1: 11, n2: 11, cv: r.cv!, family: 3, noiseBand: 0.05 }));
    const line = powerLine(p);
    expect(line).toMatch(
      /^power: with 3 tested metrics and 11 samples a side, the smallest shift this comparison could confirm at 90 % power is \+\d+(\.\d)? % \(−\d+(\.\d)? % for an improvement\) at the median measured CV of \d+(\.\d)? %; per metric \+\d+(\.\d)? % to \+\d+ %$/,
    );
  });

  it('is in every view: text, Markdown, JSON (as figures and as the line), JUnit and HTML', () => {
    const line = powerLine(p);
    expect(renderComparison(cmp, 'text')).toContain(line);
    expect(renderComparison(cmp, 'md')).toContain(line);
    const json = JSON.parse(renderComparison(cmp, 'json')) as {
      pairs: Array<{ power: { line: string; shift: number; family: number } }>;
    };
    expect(json.pairs[0]!.power.line).toBe(line);
    expect(json.pairs[0]!.power.shift).toBeCloseTo(p.power.shift, 12);
    expect(renderComparison(cmp, 'junit')).toContain('name="power"');
    expect(renderComparison(cmp, 'html')).toContain('class="muted power"');
  });

  it('says so when nothing was tested', () => {
    const one = (s: string) =>
      makeResults([caseResult('exits/cpuid', { metrics: [metric('cpuid.latency', samplesAround(s, 1500, 3))] })]);
    const few = compareRuns([
      { label: 'base', results: one('x') },
      { label: 'new', results: one('y') },
    ]);
    expect(powerLine(few.pairs[0]!)).toBe(
      'power: no metric of this pair was tested (family of 0), so no shift could be confirmed',
    );
  });
});
