/** The HTML page of conformance tests over the history (src/report/history/conformance-html.ts), on hand-made verdicts. */
import { describe, expect, it } from 'vitest';
import { buildConformanceTrend } from '../../../src/history/conformance.js';
import type { ConformancePoint } from '../../../src/history/store.js';
import { renderConformanceTrendHtml } from '../../../src/report/history/index.js';

function points(statuses: string[], test: string, hostname = 'h1'): ConformancePoint[] {
  return statuses.map((status, i) => ({
    runId: `${test}-r${i}`,
    startedAt: new Date(Date.UTC(2026, 11, 1, i)).toISOString(),
    hostname,
    hostClass: 'c1',
    suite: 'kut',
    caseId: `kut/${test}`,
    test,
    status,
    layer: 2,
    accelerator: 'kvm',
    checksPass: 3,
    checksFail: status === 'fail' ? 1 : 0,
    checksOther: 0,
    ...(status === 'fail' ? { reason: 'FAIL: apic_id <script>alert(1)</script>' } : {}),
  }));
}

describe('history trend --test --format html', () => {
  it('draws a verdict strip per series, outlines the flips, lists the runs, and escapes what the store holds', () => {
    const t = buildConformanceTrend(
      [...points(['pass', 'skip', 'fail', 'pass'], 'apic', 'host<b>'), ...points(['pass', 'pass'], 'tsc')],
      [],
      '/tmp/kvmbench.db',
      ['kut/*'],
    );
    const html = renderConformanceTrendHtml(t);
    expect(html).toMatch(/^<!doctype html>/);
    const apic = html.split('<section class="series">')[1]!;
    // Oldest first: P, S, F (the flip from the pass, skips are no verdict), P (fixed: also a flip).
    expect(
      [...apic.matchAll(/<span class="v-(\w+)( flip)?"[^>]*>(\w)<\/span>/g)].map((m) => `${m[3]}${m[2] ? '!' : ''}`),
    ).toEqual(['P', 'S', 'F!', 'P!']);
    expect(apic).toContain('pass → fail in apic-r2 (passes again since)');
    expect(apic).toContain('fail → pass (fixed) in apic-r3');
    expect(apic).toContain('layer 2, kvm, 4 runs (2 pass, 1 fail, 0 error, 1 skip)');
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('host<b>');
    expect(html).toContain('FAIL: apic_id &lt;script&gt;alert(1)&lt;/script&gt;');
    const tsc = html.split('<section class="series">')[2]!;
    expect(tsc).toMatch(/<h2>kut\/tsc<\/h2>/);
    expect(tsc).not.toMatch(/ flip"/);
  });

  it('says so when nothing matched', () => {
    expect(renderConformanceTrendHtml(buildConformanceTrend([], [], 's', ['none']))).toContain('<p>no series</p>');
  });
});
