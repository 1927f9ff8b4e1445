/**
 * Metric identity: case id, metric name and dimension labels. Measured values that older
 * results carried as labels (Linux boot `p90_ms`) must not keep two runs' metrics apart.
 */
import { describe, expect, it } from 'vitest';
import { compareRuns, identityLabels, measurementKey, metricKey } from '../../../src/compare/compare.js';
import { renderComparison } from '../../../src/report/compare/index.js';
import type { Results } from '../../../src/results/model.js';
import { bootLinuxResults } from '../../helpers/compare-fixtures.js';
import { richResults } from '../../helpers/results-fixture.js';

const L = (label: string, results: Results) => ({ label, results });

describe('metric identity', () => {
  it('leaves measured-value labels out of the key', () => {
    const labels = {
      machine: 'microvm',
      from: 'spawn',
      to: 'firmware',
      p90_ms: '123.4',
      wait_ns: '5',
      share_pct: '7',
      tail_us: '9',
    };
    expect(identityLabels(labels)).toEqual({ from: 'spawn', machine: 'microvm', to: 'firmware' });
    expect(metricKey('boot-linux/microvm', { name: 'boot.spawn_to_firmware', labels })).toBe(
      'boot-linux/microvm/boot.spawn_to_firmware{from=spawn,machine=microvm,to=firmware}',
    );
    expect(identityLabels({ p90_ms: '1' })).toBeUndefined();
    // Dimension labels still separate metrics.
    expect(metricKey('io/rr', { name: 'iops', labels: { side: 'guest' } })).not.toBe(
      metricKey('io/rr', { name: 'iops', labels: { side: 'host' } }),
    );
  });

  it('pairs boot-linux metrics whose p90 labels differ, and a 100 → 200 ms boot is a regression', () => {
    // Results from a kvmbench that still put the measured p90 into the labels.
    const base = bootLinuxResults('a', 100, { p90Label: true });
    const next = bootLinuxResults('b', 200, { p90Label: true });
    const a = base.cases[0]!.metrics[0]!.labels!;
    const b = next.cases[0]!.metrics[0]!.labels!;
    expect(a.p90_ms).toBeDefined();
    expect(a.p90_ms).not.toBe(b.p90_ms);
    const cmp = compareRuns([L('base', base), L('new', next)]);
    const p = cmp.pairs[0]!;
    expect(p.onlyBase).toEqual([]);
    expect(p.onlyNew).toEqual([]);
    expect(p.metrics).toHaveLength(3);
    expect(p.metrics.every((m) => m.verdict === 'regressed')).toBe(true);
    expect(cmp.regressions).toBe(3);
    expect(p.metrics[0]!.labels).not.toHaveProperty('p90_ms');
    expect(renderComparison(cmp, 'text')).not.toMatch(/only in/);
  });

  it('a key met twice in one run is compared once and reported, not silently overwritten', () => {
    const base = bootLinuxResults('a', 100, { p90Label: true });
    const dup = { ...base.cases[0]!.metrics[0]!, labels: { ...base.cases[0]!.metrics[0]!.labels, p90_ms: '999.0' } };
    base.cases[0]!.metrics.push(dup);
    const cmp = compareRuns([L('base', base), L('new', bootLinuxResults('b', 100))]);
    expect(cmp.pairs[0]!.warnings).toEqual([
      'base has more than one metric boot-linux/microvm/boot.spawn_to_firmware{from=spawn,machine=microvm,to=firmware}: the first is compared',
    ]);
    expect(cmp.pairs[0]!.metrics).toHaveLength(3);
    expect(renderComparison(cmp, 'text')).toContain('base has more than one metric');
  });

  it('two runs of a realistic mixed run pair every metric', () => {
    const p = compareRuns([L('a', richResults('one')), L('b', richResults('two'))]).pairs[0]!;
    expect(p.onlyBase).toEqual([]);
    expect(p.onlyNew).toEqual([]);
    const metrics = richResults('one')
      .cases.filter((c) => c.status !== 'skip')
      .reduce((s, c) => s + c.metrics.length, 0);
    expect(p.metrics).toHaveLength(metrics);
  });

  it('maps an exit test’s .latency (ns) and .ticks (tsc_ticks) to one measurement', () => {
    const labels = { machine: 'q35', test: 'cpuid' };
    const ns = measurementKey({ caseId: 'exits/cpuid', name: 'cpuid.latency', unit: 'ns', labels });
    expect(measurementKey({ caseId: 'exits/cpuid', name: 'cpuid.ticks', unit: 'tsc_ticks', labels })).toBe(ns);
    expect(measurementKey({ caseId: 'exits/cpuid', name: 'null_loop.ticks', unit: 'tsc_ticks', labels })).not.toBe(ns);
    expect(measurementKey({ caseId: 'exits/vmcall', name: 'cpuid.ticks', unit: 'tsc_ticks', labels })).not.toBe(ns);
    expect(measurementKey({ caseId: 'exits/cpuid', name: 'cpuid.latency', unit: 'ms', labels })).not.toBe(ns);
  });
});
