import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import {
  IncomparableError,
  classifyHosts,
  comparePair,
  compareRuns,
  parseThreshold,
  samplesNeededForAnyVerdict,
  thresholdFor,
} from '../../../src/compare/compare.js';
import { displayKeys, renderComparison } from '../../../src/report/compare/index.js';
import { caseResult, makeResults, metric, samplesAround } from '../../helpers/results-fixture.js';
import type { Results } from '../../../src/results/model.js';

/** A run with `count` metrics; metric i has median 1000·(i+1); `factor` scales metric `shifted`. */
function run(
  seed: string,
  opts: {
    count?: number;
    n?: number;
    cv?: number;
    shifted?: number;
    factor?: number;
    accelerator?: 'kvm' | 'tcg';
    hostname?: string;
  } = {},
): Results {
  const { count = 5, n = 30, cv = 0.03, shifted = -1, factor = 1 } = opts;
  const metrics = Array.from({ length: count }, (_, i) =>
    metric(`m${i}.latency`, samplesAround(`${seed}-${i}`, 1000 * (i + 1) * (i === shifted ? factor : 1), n, cv)),
  );
  return makeResults([caseResult('exits/all', { metrics })], {
    run: { accelerator: opts.accelerator ?? 'kvm' },
    host: { hostname: opts.hostname ?? 'bench-01', cpuModel: 'Example CPU', cores: 16 },
  });
}

const L = (label: string, results: Results) => ({ label, results });

describe('comparePair', () => {
  it('flags a known 10 % slowdown as regressed and nothing else', () => {
    const p = comparePair(L('base', run('a')), L('new', run('b', { shifted: 2, factor: 1.1 })));
    const byName = new Map(p.metrics.map((m) => [m.name, m]));
    expect(byName.get('m2.latency')!.verdict).toBe('regressed');
    expect(byName.get('m2.latency')!.change).toBeCloseTo(0.1, 1);
    const [lo, hi] = byName.get('m2.latency')!.ci;
    expect(lo).toBeLessThan(0.1);
    expect(hi).toBeGreaterThan(0.1);
    expect(p.counts.regressed).toBe(1);
    expect(p.counts.improved).toBe(0);
    expect(p.geomean.costRatio).toBeGreaterThan(1);
  });

  it('flags a 10 % speed-up as improved, also for higher-is-better metrics', () => {
    const base = run('a');
    const next = run('b', { shifted: 0, factor: 0.9 });
    expect(comparePair(L('a', base), L('b', next)).metrics[0]!.verdict).toBe('improved');
    for (const r of [base, next]) for (const m of r.cases[0]!.metrics) m.better = 'higher';
    expect(comparePair(L('a', base), L('b', next)).metrics[0]!.verdict).toBe('regressed');
  });

  it('calls a significant change inside the noise band unchanged, and honours --threshold', () => {
    const base = run('a', { cv: 0.005 });
    const next = run('b', { cv: 0.005, shifted: 1, factor: 1.03 });
    const p = comparePair(L('a', base), L('b', next));
    expect(p.metrics[1]!.verdict).toBe('unchanged');
    expect(p.metrics[1]!.notes).toContain('significant but within the noise band');
    const q = comparePair(L('a', base), L('b', next), { thresholds: [['m1.*', 0.01]] });
    expect(q.metrics[1]!.verdict).toBe('regressed');
  });

  it('flags same-distribution pairs in no more than about α of many trials', () => {
    // One metric per pair, so no correction: the test alone must hold its level.
    const trials = 400;
    let flagged = 0;
    for (let t = 0; t < trials; t++) {
      const p = comparePair(
        L('a', run(`null-a-${t}`, { count: 1, n: 15, cv: 0.1 })),
        L('b', run(`null-b-${t}`, { count: 1, n: 15, cv: 0.1 })),
        { noiseBand: 0, bootstrap: 50 },
      );
      if (p.metrics[0]!.pAdjusted < 0.05) flagged++;
    }
    // α = 0.05 plus two binomial standard errors (√(0.05·0.95/400) ≈ 0.011).
    expect(flagged / trials).toBeLessThanOrEqual(0.072);
    expect(flagged).toBeGreaterThan(0); // the test is not degenerate (never rejecting)
  });

  it('keeps the family-wise rate under α with many metrics (Holm)', () => {
    const trials = 60;
    let anyFlagged = 0;
    for (let t = 0; t < trials; t++) {
      const p = comparePair(
        L('a', run(`fw-a-${t}`, { count: 20, n: 12, cv: 0.1 })),
        L('b', run(`fw-b-${t}`, { count: 20, n: 12, cv: 0.1 })),
        { noiseBand: 0, bootstrap: 20 },
      );
      if (p.metrics.some((m) => m.pAdjusted < 0.05)) anyFlagged++;
    }
    expect(anyFlagged / trials).toBeLessThanOrEqual(0.05 + 2 * Math.sqrt((0.05 * 0.95) / trials));
  });

  it('says too few samples, and how many are needed', () => {
    const p = comparePair(L('a', run('a', { n: 3 })), L('b', run('b', { n: 3, shifted: 0, factor: 2 })));
    expect(p.metrics.every((m) => m.verdict === 'too-few')).toBe(true);
    expect(p.metrics[0]!.needed).toBe(samplesNeededForAnyVerdict(5));
    // 5 metrics → α/5 = 0.01: 2/C(10,5) = 0.0079 suffices, 2/C(8,4) = 0.029 does not.
    expect(samplesNeededForAnyVerdict(5)).toBe(5);
    expect(renderComparison(compareRuns([L('a', run('a', { n: 3 })), L('b', run('b', { n: 3 }))]), 'text')).toMatch(
      /too few samples \(3 vs 3; need ≥ 5 per side\)/,
    );
  });

  it('shows labels only where they tell two metrics apart', () => {
    const mk = (seed: string) =>
      makeResults([
        caseResult('io/rr', {
          metrics: ['guest', 'host'].map((side) =>
            metric('iops', samplesAround(`${seed}${side}`, 100, 12), { labels: { side } }),
          ),
        }),
        caseResult('exits/cpuid', {
          metrics: [metric('cpuid.latency', samplesAround(`${seed}c`, 100, 12), { labels: { machine: 'q35' } })],
        }),
      ]);
    const p = comparePair(L('a', mk('a')), L('b', mk('b')));
    expect([...displayKeys(p).values()]).toEqual([
      'io/rr/iops{side=guest}',
      'io/rr/iops{side=host}',
      'exits/cpuid/cpuid.latency',
    ]);
  });

  it('lists metrics found on one side only', () => {
    const base = run('a', { count: 3 });
    const next = run('b', { count: 4 });
    next.cases[0]!.metrics.splice(0, 1);
    const p = comparePair(L('a', base), L('b', next));
    expect(p.onlyBase).toEqual(['exits/all/m0.latency']);
    expect(p.onlyNew).toEqual(['exits/all/m3.latency']);
    expect(p.metrics).toHaveLength(2);
  });

  it('refuses kvm against tcg unless forced', () => {
    expect(() => comparePair(L('a', run('a')), L('b', run('b', { accelerator: 'tcg' })))).toThrow(IncomparableError);
    expect(comparePair(L('a', run('a')), L('b', run('b', { accelerator: 'tcg' })), { force: true }).metrics).toHaveLength(5);
  });
});

describe('hosts and thresholds', () => {
  it('classifies host pairs', () => {
    const h = { hostname: 'x', cpuModel: 'CPU A', cores: 8 };
    expect(classifyHosts(h, { ...h })).toBe('same-host');
    expect(classifyHosts(h, { ...h, hostname: 'y' })).toBe('same-hardware');
    expect(classifyHosts(h, { ...h, hostname: 'y', cores: 16 })).toBe('different');
    expect(classifyHosts(h, { hostname: 'x' })).toBe('different');
  });

  it('parses and applies --threshold', () => {
    expect(parseThreshold('cpuid.latency=10')).toEqual(['cpuid.latency', 0.1]);
    expect(parseThreshold('boot.*=2.5%')).toEqual(['boot.*', 0.025]);
    expect(() => parseThreshold('nonsense')).toThrow(UsageError);
    const opts = {
      thresholds: [
        ['boot.*', 0.1],
        ['exits/cpuid/cpuid.latency', 0.2],
      ] as Array<[string, number]>,
    };
    expect(thresholdFor('boot-micro/q35/boot.total', 'boot.total', opts)).toBe(0.1);
    expect(thresholdFor('exits/cpuid/cpuid.latency', 'cpuid.latency', opts)).toBe(0.2);
    expect(thresholdFor('x/y', 'y', opts)).toBe(0.05);
  });

  it('renders every format, highlighting differing host rows', () => {
    const cmp = compareRuns([L('base', run('a')), L('new', run('b', { shifted: 2, factor: 1.1, hostname: 'bench-02' }))]);
    expect(renderComparison(cmp, 'text')).toMatch(/hostname\s+bench-01\s+bench-02\s+\*/);
    expect(renderComparison(cmp, 'md')).toContain('| ✗ | exits/all/m2.latency');
    expect(JSON.parse(renderComparison(cmp, 'json')).regressions).toBe(1);
    expect(renderComparison(cmp, 'junit')).toMatch(/<failure message="regressed \+\d+\.\d%/);
    expect(renderComparison(cmp, 'html')).toContain('<tr class="differs"><th>hostname</th>');
  });
});
