import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeReports } from '../../../src/report/index.js';
import { barChartSvg, bootInterval, chainIntervals, needsLogAxis, renderHtml } from '../../../src/report/html.js';
import { readCaseLog } from '../../../src/report/logs.js';
import { caseResult, makeResults, metric, richResults } from '../../helpers/results-fixture.js';

describe('renderHtml', () => {
  it('has the verdict, the host, every chart kind and one dot per sample', () => {
    const r = richResults();
    const html = renderHtml(r);
    expect(html).toContain('id="verdict"');
    expect(html).toContain('Example CPU 9000');
    expect(html).toMatch(/class="chart bars exits"/);
    expect(html).toMatch(/class="chart stacked"/);
    expect(html).toMatch(/class="chart bars io"/);
    const samples = r.cases.flatMap((c) => c.metrics).reduce((s, m) => s + m.samples.length, 0);
    expect(html.match(/class="sample"/g)).toHaveLength(samples);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org)/); // self-contained
    expect(html).not.toMatch(/<script/i);
  });

  it('escapes every string from guests, hosts and files', () => {
    const evil = '<img src=x onerror=alert(1)>"\'&';
    const r = makeResults(
      [caseResult('exits/x', { status: 'error', reason: evil, log: 'x.log', metrics: [metric(evil, [1, 2], { unit: evil, labels: { side: evil } })] })],
      { host: { hostname: evil, cpuModel: '<script>alert(2)</script>' } },
    );
    const html = renderHtml(r, { logs: new Map([['exits/x', { text: '<script>alert(3)</script>', truncatedBytes: 0 }]]) });
    expect(html).not.toContain('<img');
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('&lt;script&gt;alert(3)&lt;/script&gt;');
  });

  it('switches to a log axis only when medians span more than 50x', () => {
    const bar = (median: number) => ({ label: String(median), median, p5: median * 0.9, p95: median * 1.1, n: 10 });
    expect(needsLogAxis([bar(1), bar(40)])).toBe(false);
    expect(needsLogAxis([bar(1), bar(60)])).toBe(true);
    expect(barChartSvg([bar(2), bar(20000)], 'ns')).toContain('class="chart bars log"');
    expect(barChartSvg([bar(2), bar(20)], 'ns')).not.toContain(' log"');
  });

  it('chains boot intervals and keeps totals off the stack', () => {
    expect(bootInterval(metric('boot.spawn_to_entry', [1]))).toEqual({ from: 'spawn', to: 'entry' });
    expect(bootInterval(metric('x', [1], { labels: { from: 'kernel', to: 'init' } }))).toEqual({ from: 'kernel', to: 'init' });
    expect(bootInterval(metric('cpuid.latency', [1]))).toBeUndefined();
    const iv = (from: string, to: string, value: number) => ({ from, to, value });
    const { chain, rest } = chainIntervals([iv('spawn', 'exit', 30), iv('entry', 'exit', 10), iv('spawn', 'entry', 20)]);
    expect(chain.map((i) => `${i.from}>${i.to}`)).toEqual(['spawn>entry', 'entry>exit']);
    expect(rest.map((i) => `${i.from}>${i.to}`)).toEqual(['spawn>exit']);
  });

  it('marks partial runs', () => {
    expect(renderHtml(makeResults([], { run: { state: 'partial' } }))).toContain('id="partial"');
    expect(renderHtml(makeResults([]))).not.toContain('id="partial"');
  });
});

describe('writeReports', () => {
  it('writes junit.xml and report.html with the failed case log, truncated and confined to the directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvmbench-report-'));
    mkdirSync(join(dir, 'logs'));
    writeFileSync(join(dir, 'logs/exits_ipi.log'), 'HEAD-MARKER\n' + 'x'.repeat(200_000) + '\nTAIL-MARKER <script>alert(1)</script>\n');
    const files = await writeReports(richResults(), dir);
    expect(files).toEqual([join(dir, 'junit.xml'), join(dir, 'report.html')]);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('TAIL-MARKER &lt;script&gt;');
    expect(html).not.toContain('HEAD-MARKER');
    expect(html).toMatch(/log <code>logs\/boot-linux_q35.log<\/code> could not be read: ENOENT/);
    expect(readFileSync(join(dir, 'junit.xml'), 'utf8')).toContain('<testsuites');
    expect((await readCaseLog(dir, '../../etc/passwd')).error).toMatch(/outside/);
  });
});
