/**
 * Windows of one job (Metric.windows: fio and iperf3 intervals): with fewer than three rounds a
 * side their samples say how two runs differ, not how far identical runs drift, so compare holds
 * them at inconclusive unless a --threshold names the drift for the row; with rounds they are
 * tested run against run like any other metric. The simulation shows why: runs that drift by
 * 30 % while their windows scatter by 3 % look "regressed" between identical runs by the samples.
 */
import { describe, expect, it } from 'vitest';
import { compareRuns, type LabelledResults } from '../../../src/compare/compare.js';
import { normal, seededRng, type Rng } from '../../../src/stats/random.js';
import { caseResult, makeResults, metric } from '../../helpers/results-fixture.js';
import type { Metric } from '../../../src/results/model.js';

const WINDOWS = { basis: 'synthetic windows of one job' };

/** One run: `rounds` guests, each with its own drift (CV `between`), `n` windows each scattering by `within`. */
function run(
  rng: Rng,
  label: string,
  o: { rounds: number; n: number; between: number; within: number; scale?: number },
  extra: Partial<Metric> = {},
): LabelledResults {
  const samples: number[] = [];
  for (let r = 0; r < o.rounds; r++) {
    const level = 1000 * (o.scale ?? 1) * Math.exp(o.between * normal(rng));
    for (let k = 0; k < o.n; k++) samples.push(level * Math.exp(o.within * normal(rng)));
  }
  const m = metric('io.seqread-1m.guest', samples, {
    unit: 'MiB/s',
    better: 'higher',
    ...(o.rounds > 1 ? { rounds: Array.from({ length: o.rounds }, () => o.n) } : {}),
    ...extra,
  });
  return { label, results: makeResults([caseResult('io/virtio-blk', { metrics: [m] })]) };
}

/** The same run with every metric marked as windows of one job. */
function withWindows(r: LabelledResults): LabelledResults {
  const cases = r.results.cases.map((c) => ({ ...c, metrics: c.metrics.map((m) => ({ ...m, windows: WINDOWS })) }));
  return { label: r.label, results: { ...r.results, cases } };
}

describe('windows of one job in compare', () => {
  it('two single runs that drift apart: the samples call it regressed, the windows rule holds it at inconclusive and says why', () => {
    const rng = seededRng('windows-drift');
    const o = { rounds: 1, n: 15, between: 0, within: 0.03 };
    const a = run(rng, 'a', o);
    const b = run(rng, 'b', { ...o, scale: 0.7 }); // the drift of an identical run, as seen here
    const plain = compareRuns([a, b]).pairs[0]!.metrics[0]!;
    expect(plain.verdict).toBe('regressed');
    const [aw, bw] = [a, b].map(withWindows) as [LabelledResults, LabelledResults];
    const c = compareRuns([aw, bw]);
    const row = c.pairs[0]!.metrics[0]!;
    expect(row.p).toBeLessThan(0.05); // still tested and shown
    expect(row.verdict).toBe('inconclusive');
    expect(row.toConfirm).toBeUndefined(); // more windows cannot bound the drift
    expect(row.notes.join(' ')).toMatch(/windows of one job, fewer than 3 rounds a side: held at inconclusive/);
    expect(c.pairs[0]!.warnings.join(' ')).toMatch(
      /1 row is windows of one job .*synthetic windows of one job.*--rounds \d+ or more/,
    );
    expect(c.regressions).toBe(0);
  });

  it('a --threshold for the row is taken as the drift: a halved disk is regressed, a 10 % drift unchanged', () => {
    const rng = seededRng('windows-threshold');
    const o = { rounds: 1, n: 15, between: 0, within: 0.03 };
    const base = run(rng, 'base', o, { windows: WINDOWS });
    const half = run(rng, 'half', { ...o, scale: 0.5 }, { windows: WINDOWS });
    const drift = run(rng, 'drift', { ...o, scale: 0.9 }, { windows: WINDOWS });
    const opts = { thresholds: [['io.*.guest', 0.3]] as Array<[string, number]> };
    const h = compareRuns([base, half], opts).pairs[0]!.metrics[0]!;
    expect(h.verdict).toBe('regressed');
    expect(h.threshold).toBe(0.3);
    expect(h.notes.join(' ')).toMatch(/judged against the --threshold given for it \(±30 %\)/);
    expect(compareRuns([base, drift], opts).pairs[0]!.metrics[0]!.verdict).toBe('unchanged');
    // A global noise band is not a statement about this row's drift.
    expect(compareRuns([base, half], { noiseBand: 0.3 }).pairs[0]!.metrics[0]!.verdict).toBe('inconclusive');
  });

  it('with enough rounds a side the round medians are the replicates and the windows rule does not apply', () => {
    const rng = seededRng('windows-rounds');
    const o = { rounds: 8, n: 11, between: 0.05, within: 0.03 };
    const base = run(rng, 'base', o, { windows: WINDOWS });
    const half = run(rng, 'half', { ...o, scale: 0.5 }, { windows: WINDOWS });
    const row = compareRuns([base, half]).pairs[0]!.metrics[0]!;
    expect(row.replicate).toBe('round');
    expect(row.verdict).toBe('regressed');
    expect(row.windowsUnbounded).toBeUndefined();
  });
});
