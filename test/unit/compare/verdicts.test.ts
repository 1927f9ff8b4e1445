/**
 * A verdict agrees with its own interval: regressed / improved only when the corrected test
 * rejects AND the whole CI lies beyond the noise band on that side; unchanged only when the
 * whole CI lies inside the band; inconclusive otherwise. And the geomean that sums them up.
 */
import { describe, expect, it } from 'vitest';
import { compareRuns, judge, type MetricComparison } from '../../../src/compare/compare.js';
import { normal, seededRng } from '../../../src/stats/random.js';
import { renderComparison } from '../../../src/report/compare/index.js';
import type { Results } from '../../../src/results/model.js';
import { exitsResults } from '../../helpers/compare-fixtures.js';
import { caseResult, makeResults, metric, samplesAround } from '../../helpers/results-fixture.js';

const L = (label: string, results: Results) => ({ label, results });

describe('judge', () => {
  const j = (pAdjusted: number, ci: [number, number], better: 'lower' | 'higher' = 'lower', threshold = 0.05) =>
    judge({ pAdjusted, ci, threshold, better }, 0.05);

  it('calls a significant change whose interval reaches back into the band inconclusive', () => {
    // Issue 11: +12 % with CI [−43 %, +120 %] was called regressed.
    expect(j(0.01, [-0.43, 1.2])).toEqual({
      verdict: 'inconclusive',
      note: 'significant, but the interval reaches into the noise band',
    });
    expect(j(0.01, [0.03, 0.2]).verdict).toBe('inconclusive');
  });

  it('regressed / improved only with the whole interval beyond the band on that side', () => {
    expect(j(0.01, [0.08, 0.15]).verdict).toBe('regressed');
    expect(j(0.01, [0.08, 0.15], 'higher').verdict).toBe('improved');
    expect(j(0.01, [-0.15, -0.08]).verdict).toBe('improved');
    expect(j(0.01, [-0.15, -0.08], 'higher').verdict).toBe('regressed');
    expect(j(0.06, [0.08, 0.15])).toEqual({
      verdict: 'inconclusive',
      note: 'the interval lies beyond the noise band but the test does not confirm it after correction',
    });
  });

  it('unchanged only with the whole interval inside the band', () => {
    expect(j(0.5, [-0.03, 0.04])).toEqual({ verdict: 'unchanged' });
    expect(j(0.01, [0.02, 0.04])).toEqual({ verdict: 'unchanged', note: 'significant but within the noise band' });
    expect(j(0.5, [-0.2, 0.2]).verdict).toBe('inconclusive');
    expect(j(0.5, [Number.NaN, Number.NaN]).verdict).toBe('inconclusive');
    expect(j(0.5, [0, 0], 'lower', 0).verdict).toBe('unchanged');
  });
});

type Kind = 'cv2' | 'cv10' | 'cv30' | 'bimodal';

/** Lognormal (CV 2, 10 or 30 %) or bimodal samples; `scale` multiplies them. */
function draw(rng: () => number, kind: Kind, n: number, scale: number): number[] {
  const sigma = kind === 'cv2' ? 0.02 : kind === 'cv30' ? 0.29 : 0.1;
  return Array.from({ length: n }, () => {
    if (kind === 'bimodal') return scale * (rng() < 0.5 ? 100 : 200) * Math.exp(0.03 * normal(rng));
    return scale * 100 * Math.exp(sigma * normal(rng));
  });
}

describe('verdicts agree with their intervals', () => {
  it('in every row of many simulated comparisons (CV 2 %, 10 %, 30 %, bimodal)', () => {
    const rng = seededRng('ci-consistency');
    const seen: Record<string, number> = {};
    let rows = 0;
    for (const kind of ['cv2', 'cv10', 'cv30', 'bimodal'] as const) {
      for (let t = 0; t < 12; t++) {
        const shifts = [1, 1, 1.04, 1.12, 1.3, 0.75, 1.6, 1];
        const mk = (side: 'a' | 'b') =>
          makeResults([
            caseResult('sim/x', {
              metrics: shifts.map((f, i) => metric(`m${i}`, draw(rng, kind, 11 + (i % 3) * 5, side === 'b' ? f : 1))),
            }),
          ]);
        const p = compareRuns([L('a', mk('a')), L('b', mk('b'))], { bootstrap: 400 }).pairs[0]!;
        for (const m of p.metrics) {
          rows++;
          seen[m.verdict] = (seen[m.verdict] ?? 0) + 1;
          const [lo, hi] = m.ci;
          const where = `${kind} ${m.key}: ${m.verdict} p=${m.pAdjusted} CI [${lo}, ${hi}]`;
          if (m.verdict === 'regressed') expect(lo > m.threshold && m.pAdjusted < 0.05, where).toBe(true);
          if (m.verdict === 'improved') expect(hi < -m.threshold && m.pAdjusted < 0.05, where).toBe(true);
          if (m.verdict === 'regressed' || m.verdict === 'improved') expect(lo <= 0 && hi >= 0, where).toBe(false);
          if (m.verdict === 'unchanged') expect(lo >= -m.threshold && hi <= m.threshold, where).toBe(true);
          if (m.verdict === 'inconclusive')
            expect(
              (lo >= -m.threshold && hi <= m.threshold) || (m.pAdjusted < 0.05 && (lo > m.threshold || hi < -m.threshold)),
              where,
            ).toBe(false);
        }
      }
    }
    expect(rows).toBe(4 * 12 * 8);
    // Every verdict the rule can give was reached, so the checks above were exercised.
    for (const v of ['regressed', 'improved', 'unchanged', 'inconclusive']) expect(seen[v], v).toBeGreaterThan(0);
  });

  it('shows inconclusive with its own mark in every view', () => {
    // 12 % slower at CV 30 % on 11 samples: the interval cannot settle it.
    const mk = (seed: string, f: number) =>
      makeResults([caseResult('exits/x', { metrics: [metric('x.latency', samplesAround(seed, 1000 * f, 11, 0.3))] })]);
    const cmp = compareRuns([L('base', mk('a', 1)), L('new', mk('b', 1.12))]);
    const row = cmp.pairs[0]!.metrics[0]!;
    expect(row.verdict).toBe('inconclusive');
    expect(renderComparison(cmp, 'text')).toMatch(/^± exits\/x\/x\.latency .* inconclusive /m);
    expect(renderComparison(cmp, 'text')).toMatch(/0 regressed, 0 improved, 0 unchanged, 1 inconclusive;/);
    expect(renderComparison(cmp, 'md')).toContain('| ± | exits/x/x.latency');
    expect(renderComparison(cmp, 'html')).toContain('<tr class="v-inconclusive"><td>±</td>');
    expect(renderComparison(cmp, 'junit')).toMatch(/<skipped message="inconclusive: /);
    expect(JSON.parse(renderComparison(cmp, 'json')).pairs[0].counts.inconclusive).toBe(1);
  });
});

describe('geomean', () => {
  const rowsIn = (p: { metrics: MetricComparison[] }, names: string[]) => p.metrics.filter((m) => names.includes(m.name));
  const gm = (rows: MetricComparison[]) =>
    Math.exp(rows.reduce((s, m) => s + Math.log(m.new.median / m.base.median), 0) / rows.length);

  it('counts an exit once (ns, not its ticks), and leaves out too-few and not-comparable rows', () => {
    const base = exitsResults('a');
    const next = exitsResults('b', { factor: { vmcall: 1.3 } });
    // A too-few row and a unit mismatch: neither may move the geomean.
    base.cases.push(
      caseResult('boot-micro/q35', {
        metrics: [
          metric('boot.spawn_to_exit', [10, 11, 12], { unit: 'ms' }),
          metric('boot.entry_to_exit', samplesAround('e', 5, 11), { unit: 'ms' }),
        ],
      }),
    );
    next.cases.push(
      caseResult('boot-micro/q35', {
        metrics: [
          metric('boot.spawn_to_exit', [90, 91, 92], { unit: 'ms' }),
          metric('boot.entry_to_exit', samplesAround('f', 0.5, 11), { unit: 's' }),
        ],
      }),
    );
    const p = compareRuns([L('a', base), L('b', next)]).pairs[0]!;
    expect(p.counts['too-few']).toBe(1);
    expect(p.counts['not-comparable']).toBe(1);
    const expected = rowsIn(p, ['cpuid.latency', 'vmcall.latency', 'inl_from_qemu.latency', 'null_loop.ticks']);
    expect(expected).toHaveLength(6);
    expect(p.geomean).toMatchObject({ rows: 6, excludedDuplicate: 3, excludedNonPositive: 0 });
    expect(p.geomean.costRatio).toBeCloseTo(gm(expected), 12);
    expect(renderComparison(compareRuns([L('a', base), L('b', next)]), 'text')).toMatch(
      /geomean \+\d+\.\d% cost \(worse\) over 6 metrics/,
    );
  });

  it('keeps the ticks row when it is the only one tested', () => {
    const base = exitsResults('a', { tests: ['cpuid'] });
    const next = exitsResults('b', { tests: ['cpuid'] });
    next.cases[0]!.metrics[0]!.unit = 'us'; // .latency no longer comparable
    const p = compareRuns([L('a', base), L('b', next)]).pairs[0]!;
    expect(p.geomean).toMatchObject({ rows: 2, excludedDuplicate: 0 });
  });

  it('reports medians ≤ 0 as excluded, with a count', () => {
    const mk = (seed: string) =>
      makeResults([
        caseResult('exits/x', {
          metrics: [
            metric('x.latency', samplesAround(seed, 100, 11)),
            metric(
              'cr8.cost',
              samplesAround(`${seed}n`, 5, 11).map((v) => v - 10),
            ),
          ],
        }),
      ]);
    const cmp = compareRuns([L('a', mk('a')), L('b', mk('b'))]);
    const p = cmp.pairs[0]!;
    expect(p.metrics[1]!.base.median).toBeLessThan(0);
    expect(p.geomean).toMatchObject({ rows: 1, excludedNonPositive: 1 });
    expect(renderComparison(cmp, 'text')).toMatch(/over 1 metric; 1 excluded: median ≤ 0/);
  });
});
