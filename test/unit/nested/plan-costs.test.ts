import { describe, expect, it } from 'vitest';
import { NESTED_PLAN_SCHEMA, parsePlan } from '../../../src/nested/plan.js';
import { nestedCostTable, ratioOfMediansCi } from '../../../src/compare/nested-costs.js';
import { nestedCostsHtml, nestedCostsText } from '../../../src/report/nested-costs.js';
import { labelLayer2 } from '../../../src/app/nested.js';
import { compareRuns, IncomparableError } from '../../../src/compare/compare.js';
import { caseResult, makeResults, metric, samplesAround } from '../../helpers/results-fixture.js';

describe('the nested plan', () => {
  it('parses a plan and says what is wrong with one that is not', () => {
    const good = {
      schema: NESTED_PLAN_SCHEMA,
      argv: ['run', 'exits'],
      steps: [{ id: 'main', suite: 'exits', quick: true, deadlineScale: 4 }],
    };
    expect(parsePlan(JSON.stringify(good), 'plan.json').steps[0]!.suite).toBe('exits');
    expect(() => parsePlan('{', 'plan.json')).toThrow(/not JSON/);
    expect(() =>
      parsePlan(JSON.stringify({ ...good, steps: [{ id: '../x', suite: 'exits', quick: true }] }), 'plan.json'),
    ).toThrow(/not a nested plan: \/steps\/0\/id/);
    expect(() => parsePlan(JSON.stringify({ ...good, extra: 1 }), 'plan.json')).toThrow(/not a nested plan/);
  });
});

describe('the nested exit-cost table', () => {
  it('the bootstrap interval of a ratio of medians covers a known ratio and excludes ratios far from it', () => {
    const a = samplesAround('l1', 1000, 15, 0.05);
    const b = samplesAround('l2', 6000, 15, 0.05);
    const [lo, hi] = ratioOfMediansCi(a, b, 'seed');
    expect(lo).toBeLessThan(6);
    expect(hi).toBeGreaterThan(6);
    expect(lo).toBeGreaterThan(5.2);
    expect(hi).toBeLessThan(6.8);
    // Deterministic: the same inputs, the same interval.
    expect(ratioOfMediansCi(a, b, 'seed')).toEqual([lo, hi]);
  });

  it('pairs layer-1 and layer-2 cases by id, with counts from one layer up, and lists the rest', () => {
    const exitsCase = (id: string, median: number, seed: string, exits?: number) =>
      caseResult(`exits/${id}`, {
        metrics: [
          { ...metric(`${id}.latency`, samplesAround(seed, median, 11, 0.03)), headline: true },
          ...(exits === undefined
            ? []
            : [metric(`${id}.exits_per_iteration`, samplesAround(`${seed}x`, exits, 11, 0.001), { unit: 'exits' })]),
        ],
      });
    const l1 = makeResults([exitsCase('cpuid', 2000, 'a'), exitsCase('vmcall', 3000, 'b')], { run: { accelerator: 'tcg' } });
    const l2 = makeResults([exitsCase('cpuid', 40000, 'c', 1.01), caseResult('exits/hlt', { status: 'fail', metrics: [] })], {
      run: { accelerator: 'kvm', layer: 2 },
    });
    l2.run.nested = {
      outerAccelerator: 'tcg',
      l1Cpu: 'EPYC',
      l1MemoryMiB: 2048,
      l1Vcpus: 1,
      l1Kernel: {},
      l1Doctor: {},
      l0Host: {},
    };
    const t = nestedCostTable(l1, 'layer1-run', l2, '.');
    expect(t.rows).toHaveLength(1);
    expect(t.rows[0]!.multiplier).toBeCloseTo(20, 0);
    expect(t.rows[0]!.l2.exitsPerIteration).toBeCloseTo(1.01, 2);
    expect(t.rows[0]!.l1.exitsPerIteration).toBeUndefined();
    expect(t.unpaired.sort()).toEqual(['exits/hlt', 'exits/vmcall']);
    expect(t.meaning).toMatch(/not a hardware figure/);
    const text = nestedCostsText(t);
    expect(text).toMatch(/exits\/cpuid .*20\.\d+×/);
    const html = nestedCostsHtml(t);
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script/i);
  });
});

describe('layer-2 results', () => {
  it('label every metric layer 2 and point logs at the run directory', () => {
    const c = caseResult('exits/cpuid', { metrics: [metric('cpuid.latency', [1, 2, 3])] });
    c.log = 'logs/exits/cpuid.log';
    const out = labelLayer2(c, 'layer1/steps/main');
    expect(out.log).toBe('layer1/steps/main/logs/exits/cpuid.log');
    expect(out.metrics[0]!.labels).toMatchObject({ layer: '2' });
  });

  it('are never compared with layer-1 results, not even with --force', () => {
    const mk = (layer?: number) =>
      makeResults(
        [caseResult('exits/cpuid', { metrics: [metric('cpuid.latency', samplesAround(`s${layer}`, 100, 15, 0.02))] })],
        { run: { accelerator: 'kvm', ...(layer ? { layer } : {}) } },
      );
    expect(() =>
      compareRuns(
        [
          { label: 'l1', results: mk() },
          { label: 'l2', results: mk(2) },
        ],
        { force: true },
      ),
    ).toThrow(IncomparableError);
    expect(() =>
      compareRuns(
        [
          { label: 'a', results: mk(2) },
          { label: 'b', results: mk(2) },
        ],
        {},
      ),
    ).not.toThrow();
  });
});
