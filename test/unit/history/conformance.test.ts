/** Conformance flips over a series (src/history/conformance.ts): pure, on hand-made verdicts. */
import { describe, expect, it } from 'vitest';
import { buildConformanceTrend, conformanceFlips, conformanceSeries } from '../../../src/history/conformance.js';
import type { ConformancePoint } from '../../../src/history/store.js';

function series(statuses: string[], test = 'apic') {
  const points: ConformancePoint[] = statuses.map((status, i) => ({
    runId: `r${i}`,
    startedAt: new Date(Date.UTC(2026, 11, 1, i)).toISOString(),
    hostname: 'h1',
    hostClass: 'c1',
    suite: 'kut',
    caseId: `kut/${test}`,
    test,
    status,
    layer: 1,
    accelerator: 'kvm',
    checksPass: 0,
    checksFail: 0,
    checksOther: 0,
  }));
  return conformanceSeries(points, []);
}

const flips = (statuses: string[], last = 10) =>
  conformanceFlips(series(statuses), last).flips.map((f) => [f.kind, f.before.runId, f.after.runId, f.current]);

describe('conformance flips', () => {
  it('pass → fail is a regression, counted while the test still fails', () => {
    expect(flips(['pass', 'pass', 'fail'])).toEqual([['regression', 'r1', 'r2', true]]);
    expect(conformanceFlips(series(['pass', 'fail', 'fail']), 10).regressions).toBe(1);
  });

  it('a skip between is not a verdict: pass, skip, fail flips from the pass', () => {
    expect(flips(['pass', 'skip', 'error'])).toEqual([['regression', 'r0', 'r2', true]]);
    expect(flips(['pass', 'skip', 'pass'])).toEqual([]);
  });

  it('fail → pass is fixed, and a regression fixed since is listed but not counted', () => {
    const c = conformanceFlips(series(['pass', 'fail', 'pass']), 10);
    expect(c.flips.map((f) => [f.kind, f.current])).toEqual([
      ['fixed', false],
      ['regression', false],
    ]);
    expect(c.regressions).toBe(0);
  });

  it('only flips among the last N runs', () => {
    expect(flips(['pass', 'fail', 'fail', 'fail'], 2)).toEqual([]);
    expect(flips(['pass', 'fail', 'fail', 'fail'], 3)).toEqual([['regression', 'r0', 'r1', true]]);
  });

  it('trend selects by test name, case id or glob, and keeps the last N runs', () => {
    const points = [...series(['pass', 'fail', 'pass'])[0]!.runs].map((r) => ({
      ...r,
      hostClass: 'c1',
      suite: 'kut',
      caseId: 'kut/vmx_apic',
      test: 'vmx_apic',
      layer: 2,
      accelerator: 'kvm',
    }));
    expect(buildConformanceTrend(points, [], 'mem', ['vmx_*']).series).toHaveLength(1);
    expect(buildConformanceTrend(points, [], 'mem', ['kut/vmx_apic'], 2).series[0]!.runs.map((r) => r.runId)).toEqual([
      'r1',
      'r2',
    ]);
    expect(buildConformanceTrend(points, [], 'mem', ['apic']).series).toHaveLength(0);
  });
});
