import { describe, expect, it } from 'vitest';
import { scalingSection, scalingSeries } from '../../../src/report/scaling-chart.js';
import type { CaseResult, Metric } from '../../../src/results/model.js';

function m(name: string, labels: Record<string, string>, median: number): Metric {
  return {
    name,
    unit: 'ns',
    better: 'lower',
    interval: 'i',
    method: 'm',
    accelerator: 'tcg',
    samples: [median],
    labels,
    summary: { n: 11, mean: median, median, min: median, max: median, p5: median * 0.9, p95: median * 1.1, stdev: 0, cv: 0 },
  };
}

const scaling = {
  id: 'smp/exit-scaling',
  status: 'pass',
  metrics: [
    m('cpuid.latency', { test: 'cpuid', vcpu: 'all', vcpus: '1' }, 10),
    m('cpuid.latency', { test: 'cpuid', vcpu: '0', vcpus: '1' }, 10),
    m('cpuid.latency', { test: 'cpuid', vcpu: 'all', vcpus: '2' }, 14),
    m('cpuid.latency', { test: 'cpuid', vcpu: '1', vcpus: '2' }, 15),
    m('null_loop.ticks', { test: 'cpuid', vcpus: '2' }, 1),
  ],
} as unknown as CaseResult;

describe('figures against vCPUs (HTML)', () => {
  it('one series per metric over its vcpus values; a parallel case is charted by its vcpu=all mean only', () => {
    const s = scalingSeries({ cases: [scaling] });
    expect(s).toHaveLength(1);
    expect(s[0]).toMatchObject({ caseId: 'smp/exit-scaling', name: 'cpuid.latency', labels: 'test=cpuid', parallel: true });
    expect(s[0]!.points.map((p) => [p.vcpus, p.median])).toEqual([
      [1, 10],
      [2, 14],
    ]);
  });

  it('a single vCPU count draws nothing; the section escapes what it prints', () => {
    const one = {
      id: 'boot-micro/x',
      status: 'pass',
      metrics: [m('boot.spawn_to_exit', { vcpus: '2' }, 5)],
    } as unknown as CaseResult;
    expect(scalingSection({ cases: [one] })).toBe('');
    const evil = { ...scaling, id: 'x/<script>' } as CaseResult;
    const html = scalingSection({ cases: [evil] });
    expect(html).toContain('<svg class="chart scaling"');
    expect(html).not.toContain('<script>');
    expect(html).toContain('x/&lt;script&gt;');
    expect((html.match(/class="point"/g) ?? []).length).toBe(2);
  });
});
