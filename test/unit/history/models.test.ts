import { describe, expect, it } from 'vitest';
import { buildFleet } from '../../../src/history/fleet.js';
import { medianInterval } from '../../../src/history/interval.js';
import { numberPlaceholders, redactUrl } from '../../../src/history/postgres.js';
import { hostClassOf } from '../../../src/history/host-class.js';
import { selectKeys } from '../../../src/history/series.js';
import { buildTrend } from '../../../src/history/trend.js';
import { DEFAULT_CHANGE_POINT_OPTIONS } from '../../../src/history/change-points.js';
import type { MetricPoint } from '../../../src/history/store.js';
import { renderHostsText, renderTrendText } from '../../../src/report/history/index.js';
import { renderTrendHtml } from '../../../src/report/history/html.js';

function point(i: number, median: number, extra: Partial<MetricPoint> = {}): MetricPoint {
  return {
    runId: `r${i}`,
    startedAt: new Date(Date.UTC(2026, 0, 1, i)).toISOString(),
    hostname: 'h1',
    hostClass: 'c1',
    suite: 'exits',
    metricKey: 'exits/cpuid/cpuid.latency',
    caseId: 'exits/cpuid',
    name: 'cpuid.latency',
    unit: 'ns',
    better: 'lower',
    accelerator: 'kvm',
    interval: 'cpuid to cpuid',
    n: 15,
    median,
    ciLo: median * 0.98,
    ciHi: median * 1.02,
    ...extra,
  };
}

describe('history models', () => {
  it('the interval of the median holds the median, and is min–max for few samples', () => {
    expect(medianInterval([3, 1, 2])).toEqual({ median: 2, lo: 1, hi: 3 });
    const xs = Array.from({ length: 100 }, (_, i) => i);
    const iv = medianInterval(xs);
    expect(iv.lo).toBeGreaterThan(35);
    expect(iv.hi).toBeLessThan(65);
    expect(iv.lo).toBeLessThan(iv.median);
  });

  it('PostgreSQL placeholders are numbered in order, and URLs lose their password', () => {
    expect(numberPlaceholders("SELECT ? , '?' , ?")).toBe("SELECT $1 , '?' , $2");
    expect(redactUrl('postgres://u:secret@db:5432/x')).toBe('postgres://u:***@db:5432/x');
  });

  it('a host class changes with the kernel and not with the hostname', () => {
    const a = hostClassOf({ hostname: 'a', cpuModel: 'X', kernelRelease: '6.1' });
    expect(hostClassOf({ hostname: 'b', cpuModel: 'X', kernelRelease: '6.1' }).id).toBe(a.id);
    expect(hostClassOf({ hostname: 'a', cpuModel: 'X', kernelRelease: '6.12' }).id).not.toBe(a.id);
  });

  it('selects keys by full key, glob or metric name', () => {
    const keys = ['exits/cpuid/cpuid.latency{machine=q35}', 'exits/cpuid/cpuid.ticks', 'raw/pio/pio.latency'];
    expect(selectKeys(keys, ['cpuid.latency'])).toEqual([keys[0]]);
    expect(selectKeys(keys, ['exits/**'])).toEqual(keys.slice(0, 2));
    expect(selectKeys(keys, ['raw/pio/pio.latency'])).toEqual([keys[2]]);
  });

  it('the fleet flags the one host that is 2× slower, not the others', () => {
    const pts = ['a', 'b', 'c', 'd', 'e'].flatMap((h, k) =>
      [0, 1, 2].map((i) => point(i, (k === 2 ? 2000 : 1000) * (1 + 0.01 * ((i + k) % 3)), { hostname: h })),
    );
    const f = buildFleet(pts, 'mem', { lastRuns: 10 });
    expect(f.hosts.filter((h) => h.outliers).map((h) => h.hostname)).toEqual(['c']);
    expect(f.hosts[2]!.cells[0]).toMatchObject({ outlier: true, worse: true });
    expect(renderHostsText(f)).toContain('outlier hosts: c (1)');
    // two hosts are no fleet
    expect(
      buildFleet(
        pts.filter((p) => ['a', 'c'].includes(p.hostname)),
        'mem',
        { lastRuns: 10 },
      ).hosts.every((h) => h.outliers === 0),
    ).toBe(true);
  });

  it('the trend marks the step, as text and as HTML with everything escaped', () => {
    const pts = Array.from({ length: 20 }, (_, i) =>
      point(i, i >= 10 ? 1300 + (i % 3) : 1000 + (i % 3), { hostname: i === 3 ? '<b>x</b>' : 'h1' }),
    );
    const t = buildTrend(pts, [{ id: 'c1', cpuModel: 'CPU <9000>' }], 'mem', DEFAULT_CHANGE_POINT_OPTIONS);
    expect(t.series[0]!.changes).toMatchObject([{ index: 10, regression: true }]);
    expect(renderTrendText(t)).toContain('── change point: +30.0% regression');
    const html = renderTrendHtml(t);
    expect(html).toContain('CPU &lt;9000&gt;');
    expect(html).not.toContain('<b>x</b>');
    expect(html).toContain('class="change regression"');
  });
});
